"""Input libyang's own JSON and XML parsers reject (as ``yanglint`` does) is an error naming its path in choreo
too, in ``config validate`` and in the ``-s`` stage, where the other devices are still processed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.yang.conftest import FIXTURES
from tests.yang.test_stage_incremental import make_project, run, write_config


def text_project(root: Path) -> Path:
    """The stage's fixture project, its Config values allowed to be text (RFC 7951 JSON or XML)."""
    project = make_project(root, FIXTURES / "good")
    crd = project / "crds" / "config.sdcio.dev_configs.yaml"
    crd.write_text(crd.read_text().replace("value:\n                      type: object\n", "value:\n"))
    return project


def test_a_lone_surrogate_is_an_error_on_its_leaf_and_the_other_devices_are_processed(tmp_path):
    project = text_project(tmp_path / "fx")
    (project / "runningconfigs" / "dev1.json").write_text('{"fx-net:system": {"hostname": "a\\ud800"}}')
    write_config(project, "dev2-system", "dev2", json.dumps('{"fx-net:system": {"hostname": "\\udc00"}}'))
    write_config(project, "dev3-system", "dev3", json.dumps('{"fx-net:system": {"x\\ud800": "y"}}'))
    stage = run(project)
    assert not stage.success
    assert stage.errors == [
        'dev1: /fx-net:system/hostname: Invalid character reference "\\ud800" (0x0000d800) '
        "[from RunningConfig default/dev1 (runningconfigs/dev1.json:1)]",
        'dev2: /fx-net:system/hostname: Invalid character reference "\\udc00" (0x0000dc00) '
        "[from Config default/dev2-system]",
        'dev3: /fx-net:system/x\\ud800: unknown node "x\\ud800": not in the schema [from Config default/dev3-system]',
    ]
    assert "  dev1: 1 error(s)" in stage.lines


def test_null_in_a_running_config_is_an_error_while_a_snippet_s_null_deletes(tmp_path):
    project = text_project(tmp_path / "fx")
    (project / "runningconfigs" / "dev1.json").write_text(
        '{"fx-net:network": {"port": [{"name": "e9", "mtu": 1400}]},\n "fx-net:system": {"hostname": null}}')
    deletes = '{"fx-net:network": {"port": [{"name": "e1", "mtu": null}]}}'
    write_config(project, "dev2-ports", "dev2", json.dumps(deletes))
    stage = run(project)
    assert stage.errors == [
        "dev1: /fx-net:system/hostname: null is no value of hostname (RFC 7951 has none; only a Config snippet's "
        "null deletes) [from RunningConfig default/dev1 (runningconfigs/dev1.json:2)]"]
    assert json.loads((project / "out" / "dev2.json").read_text())["fx-net:network"] == {"port": [{"name": "e1"}]}


def test_json_text_is_one_value_without_a_byte_order_mark_and_exponent_forms_are_integers(tmp_path):
    """A running config and a Config value given as JSON text are read as ``config validate`` reads a ``.json``
    file: a byte order mark and text after the value are errors (yanglint: the first, not the second), and
    ``1.5e3`` for an integer leaf is 1500 (yanglint too)."""
    project = text_project(tmp_path / "fx")
    running = '{"fx-net:network": {"port": [{"name": "e9", "mtu": 1400}]}}'
    (project / "runningconfigs" / "dev1.json").write_bytes(b"\xef\xbb\xbf" + running.encode())
    ports = '{"fx-net:network": {"port": [{"name": "e1", "mtu": 1.5e3}]}}'
    write_config(project, "dev2-ports", "dev2", json.dumps(ports + "\n]"))
    write_config(project, "dev3-ports", "dev3", json.dumps(ports))
    stage = run(project)
    assert stage.errors == [
        "dev1: /: runningconfigs/dev1.json: JSON text must not start with a byte order mark (U+FEFF): RFC 8259 (8.1) "
        "has none, and libyang (yanglint) refuses it",
        "dev2: /: spec.config[0].value: text after the JSON value at line 2 column 1: JSON text is one value "
        "(RFC 8259, section 2) [from Config default/dev2-ports]"]
    assert json.loads((project / "out" / "dev3.json").read_text())["fx-net:network"]["port"][0]["mtu"] == 1500


def test_a_running_config_that_is_no_json_object_is_one_error(tmp_path):
    """A running config holding a list was reported twice: as no mapping of top-level members, and again when
    the stage wrote it as a RunningConfig, whose ``status.value`` the CRD refuses."""
    project = text_project(tmp_path / "fx")
    (project / "runningconfigs" / "dev1.json").write_text("[1, 2]\n")
    stage = run(project)
    assert stage.errors == [
        "dev1: /: a config value must be a mapping of top-level members, got a list "
        "[from RunningConfig default/dev1 (runningconfigs/dev1.json:1)]"]
