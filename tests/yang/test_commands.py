"""The schema plug-in's commands on the fabric example: `config show` prints exactly the files the stage
wrote, a failed device has no final config, and `config validate` checks a standalone file."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import EXAMPLES, choreo


@pytest.fixture(scope="module")
def fabric(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("cmd") / "fabric"
    shutil.copytree(EXAMPLES / "fabric", project)
    done = choreo("run", str(project), "-r", "-s")
    assert done.code == 0 and done.out.splitlines()[-1] == "run succeeded"
    return project


def test_config_show_prints_the_output_files_byte_for_byte(fabric):
    shown = choreo("config", "show", "leaf1", "-C", str(fabric), "-o", "json")
    assert shown.code == 0 and shown.out == (fabric / "out" / "leaf1.json").read_text()
    xml = choreo("config", "show", "leaf1", "-C", str(fabric), "-o", "xml")
    assert xml.out == (fabric / "out" / "leaf1.xml").read_text()
    bare = choreo("config", "show", "leaf1", "-C", str(fabric), "-o", "xml-data")
    assert bare.out.startswith('<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces">')
    first = next(iter(json.loads(shown.out)["ietf-interfaces:interfaces"]["interface"][0]))
    assert first == "name"  # list keys first, as RFC 7951 printers (libyang) write them


def test_config_validate_checks_a_standalone_file(fabric, tmp_path):
    valid = choreo("config", "validate", str(fabric / "out" / "leaf1.json"), "--device", "leaf1", "-C", str(fabric))
    assert valid.code == 0 and valid.out.splitlines()[-1].startswith("leaf1.json: valid (ietf-1.0.0, ")
    broken = tmp_path / "broken.json"
    text = (fabric / "out" / "leaf1.json").read_text()
    broken.write_text(text.replace('"prefix-length": 31', '"prefix-length": "31"'))
    result = choreo("config", "validate", str(broken), "--profile", "ietf-1.0.0", "-C", str(fabric))
    assert result.code == 1
    assert "prefix-length: RFC 7951 encodes uint8 values as a JSON number, got a string" in result.out
    assert "broken.json: 2 error(s)" in result.out and "broken.json:14)]" in result.out  # file and line
    choice = [line for line in result.out.splitlines() if "Mandatory choice" in line]
    assert len(choice) == 2 and all(line.startswith("    follow-on: ") for line in choice)  # consequences only
    neither = choreo("config", "validate", str(broken), "-C", str(fabric))
    assert neither.code == 1 and "exactly one of --profile and --device" in neither.err


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: [\n", "snippet.yaml:2: invalid YAML: did not find expected node content"),
        ("x: 1\nx: 2\n", 'snippet.yaml:2: invalid YAML: duplicate key "x" (first at line 1)'),
        ("a: &a [*a]\n", "snippet.yaml:1: invalid YAML: recursive alias"),
        ("a: 1\n---\nb: 2\n", "snippet.yaml: expected one YAML document, found 2"),
    ],
)
def test_config_validate_reads_yaml_as_strictly_as_project_files(fabric, tmp_path, text, line):
    snippet = tmp_path / "snippet.yaml"
    snippet.write_text(text)
    result = choreo("config", "validate", str(snippet), "--profile", "ietf-1.0.0", "-C", str(fabric))
    assert (result.code, result.out.splitlines()) == (1, [line])


def test_a_failed_device_has_no_final_config_and_its_commands_say_so(fabric, tmp_path):
    project = tmp_path / "fabric"
    shutil.copytree(fabric, project)
    link = project / "in" / "infra.kuid.dev.link.leaf1-spine1.yaml"
    link.write_text(link.read_text().replace("spec:\n", "spec:\n  mtu: 40\n"))
    failed = choreo("run", str(project), "-r", "-s")
    assert failed.code == 1 and failed.out.splitlines()[1].startswith("execution success")  # reconciling did
    assert failed.out.splitlines()[-1] == "run failed: schema (2 error(s))"  # the verdict comes last
    assert not (project / "out" / "leaf1.json").exists()
    assert choreo("get", "configs", "leaf1", "-C", str(project)).code == 1  # the previous good one was deleted
    shown = choreo("config", "show", "leaf1", "-C", str(project))
    assert shown.code == 1 and "leaf1 failed validation in the last run with 1 error(s)" in shown.err
    blame = choreo("config", "blame", "leaf1", "-C", str(project))
    assert blame.code == 1 and "warning: device leaf1 failed validation" in blame.err and blame.out
    assert choreo("config", "show", "leaf2", "-C", str(project)).code == 0


def test_config_validate_takes_the_netconf_payload_of_out_xml_too(fabric, tmp_path):
    valid = choreo("config", "validate", str(fabric / "out" / "leaf1.xml"), "--device", "leaf1", "-C", str(fabric))
    assert valid.code == 0 and valid.out.startswith("leaf1.xml: valid (ietf-1.0.0, ")
    broken = tmp_path / "leaf1.xml"
    broken.write_text((fabric / "out" / "leaf1.xml").read_text().replace("<mtu>9000</mtu>", "<mtu>10</mtu>", 1))
    line = next(i for i, text in enumerate(broken.read_text().splitlines(), start=1) if "<mtu>10<" in text)
    result = choreo("config", "validate", str(broken), "--device", "leaf1", "-C", str(fabric))
    assert result.code == 1 and f"leaf1.xml:{line})]" in result.out and "Unsatisfied range" in result.out


def test_config_validate_reports_each_bad_xml_element_with_its_path_and_line(fabric, tmp_path):
    bare = choreo("config", "show", "leaf1", "-C", str(fabric), "-o", "xml-data").out
    broken = tmp_path / "leaf1.xml"
    broken.write_text(bare.replace("<enabled>true</enabled>", "<enabled>yes</enabled>", 1))
    result = choreo("config", "validate", str(broken), "--profile", "ietf-1.0.0", "-C", str(fabric))
    assert result.code == 1
    line = next(i for i, text in enumerate(broken.read_text().splitlines(), start=1) if "<enabled>yes" in text)
    enabled = "/ietf-interfaces:interfaces/interface[name='ethernet-1/1']/enabled"
    assert f'leaf1.xml: {enabled}: Invalid boolean value "yes" [from File leaf1.xml (' in result.out
    assert f"leaf1.xml:{line})]" in result.out and result.out.splitlines()[-1].startswith("leaf1.xml: 1 error(s)")


@pytest.mark.skipif(shutil.which("yanglint") is None, reason="yanglint (libyang2-tools) is not installed")
def test_yanglint_accepts_the_json_output_and_the_bare_xml_and_agrees_on_a_broken_copy(fabric, tmp_path):
    from yang.profiles import standard_module_dirs

    ietf, iana = standard_module_dirs()
    modules = [str(ietf / "ietf-interfaces.yang"), str(ietf / "ietf-ip.yang"), str(iana / "iana-if-type.yang")]

    def yanglint(data: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["yanglint", "-D", "-p", str(ietf), "-p", str(iana), "-e", "-t", "config", *modules,
                               str(data)], capture_output=True, text=True, timeout=60, check=False)

    bare = tmp_path / "leaf1-data.xml"
    bare.write_text(choreo("config", "show", "leaf1", "-C", str(fabric), "-o", "xml-data").out)
    assert yanglint(fabric / "out" / "leaf1.json").returncode == 0
    assert yanglint(bare).returncode == 0
    assert yanglint(fabric / "out" / "leaf1.xml").returncode != 0  # the NETCONF <config> payload is not data
    broken = tmp_path / "broken.xml"
    broken.write_text(bare.read_text().replace("<mtu>9000</mtu>", "<mtu>10</mtu>", 1))
    lint = yanglint(broken)
    ours = choreo("config", "validate", str(broken), "--profile", "ietf-1.0.0", "-C", str(fabric))
    path = "/ietf-interfaces:interfaces/interface[name='ethernet-1/1']/ietf-ip:ipv4/mtu"
    assert lint.returncode != 0 and f'Data location "{path}"' in lint.stderr
    assert ours.code == 1 and f"broken.xml: {path}: Unsatisfied range" in ours.out
