"""config-templates end to end: the same device-config snippets rendered by Jinja2 and by Go templates,
and template mistakes reported as one line naming the template file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import EXAMPLES, choreo, get_json

ENGINES = ("jinja2", "gotemplate")
VOLATILE = ("uid", "resourceVersion", "creationTimestamp", "managedFields")


def _configs(project: Path) -> dict[str, dict]:
    """Rendered Config children by name, without the fields that differ between any two runs."""
    configs = {}
    for config in get_json(project, "configs")["items"]:
        meta = config["metadata"]
        for key in VOLATILE:
            meta.pop(key, None)
        for ref in meta.get("ownerReferences", []):
            ref.pop("uid")
        configs[meta["name"]] = config
    return configs


def _run(example, engine: str) -> Path:
    project: Path = example(f"config-templates/{engine}")
    result = choreo("run", str(project))
    assert result.code == 0, result.out + result.err
    assert result.out.splitlines()[3:5] == ["interface    2     2    0       0", "subinterface 2     2    0       0"]
    return project


def test_both_engines_render_identical_children(example) -> None:
    jinja, gotemplate = (_configs(_run(example, engine)) for engine in ENGINES)
    assert sorted(jinja) == [
        "interface.node1.e1-1", "interface.node2.e1-1", "subinterface.node1.e1-1.10", "subinterface.node1.e1-1.20",
    ]
    assert jinja == gotemplate


def test_rendered_snippet_shape(example) -> None:
    configs = _configs(_run(example, "gotemplate"))
    routed = configs["subinterface.node1.e1-1.10"]
    assert routed["metadata"]["labels"] == {
        "config.sdcio.dev/targetName": "node1", "config.sdcio.dev/targetNamespace": "default",
    }
    assert routed["metadata"]["ownerReferences"] == [
        {"apiVersion": "device.example.com/v1alpha1", "kind": "SubInterface", "name": "node1.e1-1.10",
         "controller": True}
    ]
    assert routed["spec"] == {
        "priority": 20,
        "config": [{"path": "/", "value": {"interface": [{"name": "ethernet-1/1", "subinterface": [{
            "index": 10, "type": "routed", "admin-state": "enable",
            "vlan": {"encap": {"single-tagged": {"vlan-id": 10}}},
            "ipv4": {"admin-state": "enable", "address": [{"ip-prefix": "10.0.0.1/31"}]},
            "ipv6": {"admin-state": "enable", "address": [{"ip-prefix": "2001:db8::1/127"}]},
        }]}]}}],
    }
    uplink = configs["interface.node1.e1-1"]["spec"]["config"][0]["value"]["interface"][0]
    assert uplink == {"name": "ethernet-1/1", "admin-state": "enable", "description": "uplink to spine1",
                      "mtu": 9000, "vlan-tagging": True}


def test_both_projects_share_the_same_apis_and_inputs() -> None:
    root = EXAMPLES / "config-templates"
    for folder in ("crds", "in"):
        files = {p.name: p.read_text() for p in (root / "jinja2" / folder).iterdir()}
        assert files == {p.name: p.read_text() for p in (root / "gotemplate" / folder).iterdir()}


def test_removing_an_input_removes_its_config(example) -> None:
    project = _run(example, "jinja2")
    (project / "in" / "device.example.com.subinterface.node1.e1-1.20.yaml").unlink()
    assert choreo("run", str(project)).code == 0
    assert "subinterface.node1.e1-1.20" not in _configs(project)


J, G = "reconcilers/interface/main.jinja2", "reconcilers/interface/main.tpl"


@pytest.mark.parametrize(
    ("engine", "edit", "message"),
    [
        ("jinja2", ("{%- if spec.mtu", "{%- if spec.mtu ==="), f"{J}:16: syntax error:"),
        ("jinja2", ("{{ spec.name }}", "{{ spec.nmae }}"), f"{J}:11: undefined:"),
        ("jinja2", ("kind: Config", "kind: Config\n---"), f"{J}: output must be exactly one"),
        ("jinja2", ("kind: Config", "kind: Secret"), f"{J}: output is a config.sdcio"),
        ("gotemplate", ("{{- with .spec.mtu }}", "{{- with .spec.mtu }"), f"{G}:15: unexpected"),
        ("gotemplate", ("{{ .spec.name }}", "{{ .spec.name.x }}"),
         f'{G}:10:22: executing "main.tpl" at <.spec.name.x>'),
        ("gotemplate", ("kind: Config", "- kind: Config"), f"{G}: output is not valid YAML"),
        ("gotemplate", ("kind: Config", "kind: Secret"), "which the reconciler does not own"),
    ],
)
def test_template_mistakes_fail_the_run_with_one_line(
    example, engine: str, edit: tuple[str, str], message: str
) -> None:
    project: Path = example(f"config-templates/{engine}")
    entry = project / "reconcilers" / "interface" / ("main.jinja2" if engine == "jinja2" else "main.tpl")
    entry.write_text(entry.read_text().replace(*edit, 1))
    result = choreo("run", str(project))
    assert result.code != 0
    output = result.out + result.err
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if message in line]
    assert len(lines) == 1, output
