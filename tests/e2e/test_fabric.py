"""End to end: the fabric example through ``choreo run -s`` and the schema plug-in's commands."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.e2e.conftest import choreo, get_json

LO0 = "/ietf-interfaces:interfaces/interface[name='lo0']"


def test_fabric_validates_and_writes_every_device_config(example):
    project = example("fabric")
    result = choreo("run", str(project), "-s")
    assert result.code == 0, result.out + result.err
    assert "schema: 4 device(s), 4 valid, 0 failed" in result.out
    out = project / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{d}.{s}" for d in ("leaf1", "leaf2", "spine1", "spine2") for s in ("json", "xml"))
    leaf1 = json.loads((out / "leaf1.json").read_text())
    interfaces = {i["name"]: i for i in leaf1["ietf-interfaces:interfaces"]["interface"]}
    assert interfaces["lo0"]["ietf-ip:ipv4"]["address"] == [{"ip": "10.255.0.1", "prefix-length": 32}]
    assert interfaces["ethernet-1/1"]["ietf-ip:ipv4"]["address"] == [{"ip": "10.0.0.2", "prefix-length": 31}]
    root = ET.fromstring((out / "spine1.xml").read_text())
    assert root.tag == "{urn:ietf:params:xml:ns:netconf:base:1.0}config"
    final = get_json(project, "configs", "leaf1")
    assert final["metadata"]["labels"] == {
        "config.sdcio.dev/targetName": "leaf1", "config.sdcio.dev/targetNamespace": "default",
        "config.sdcio.dev/finalconfig": "true"}
    assert final["metadata"]["ownerReferences"][0]["kind"] == "Node"
    assert final["spec"]["config"][0]["value"] == leaf1


def test_outputs_are_byte_identical_across_runs(example, tmp_path):
    project = example("fabric")
    assert choreo("run", str(project), "-s").code == 0
    first = {p.name: p.read_bytes() for p in (project / "out").iterdir()}
    assert choreo("run", str(project), "-s").code == 0
    assert {p.name: p.read_bytes() for p in (project / "out").iterdir()} == first


def test_broken_intent_reports_every_device_with_path_and_source(example):
    project = example("fabric")
    link = project / "in" / "infra.kuid.dev.link.leaf1-spine1.yaml"
    link.write_text(link.read_text().replace("  index: 1\n", "  index: 1\n  mtu: 40\n"))
    node = project / "in" / "infra.kuid.dev.node.spine2.yaml"
    node.write_text(node.read_text().replace("version: 1.0.0", "version: 9.9.9"))
    junit, report = project / "junit.xml", project / "report.json"
    result = choreo("run", str(project), "-s", "--report", f"junit={junit}", "--report", f"json={report}")
    assert result.code == 1
    assert "Traceback" not in result.out + result.err
    assert "schema failed with 3 error(s)" in result.out
    mtu = "/ietf-interfaces:interfaces/interface[name='ethernet-1/1']/ietf-ip:ipv4/mtu"
    assert (f"  leaf1: {mtu}: Unsatisfied range - value \"40\" is out of the allowed range [from Config "
            "default/leaf1-ethernet-1-1 (reconciler interface-config, intent Interface default/leaf1-ethernet-1-1 "
            "<- Link default/leaf1-spine1)]") in result.out
    assert "  spine2: /: no schema profile for provider 'ietf.choreo.dev' version '9.9.9'" in result.out
    assert sorted(p.name for p in (project / "out").iterdir()) == ["leaf2.json", "leaf2.xml"]
    cases = ET.parse(junit).getroot().find("testsuite").findall("testcase")
    assert [(c.get("name"), len(c.findall("failure"))) for c in cases] == [
        ("leaf1", 1), ("leaf2", 0), ("spine1", 1), ("spine2", 1)]
    data = json.loads(report.read_text())
    assert data["valid"] is False
    error = data["devices"][0]["errors"][0]
    assert error["path"] == mtu and error["sources"][0]["reconciler"] == "interface-config"


def test_config_show_blame_and_final_config_diff(example):
    project = example("fabric")
    assert choreo("run", str(project), "-s").code == 0
    shown = choreo("config", "show", "leaf1", "-C", str(project), "-o", "xml")
    assert shown.code == 0 and "<ip>10.255.0.1</ip>" in shown.out
    blame = choreo("config", "blame", "leaf1", LO0, "-C", str(project))
    assert blame.code == 0
    assert f'{LO0}/description = "loopback of leaf1"  Config default/leaf1-lo0 (priority 10, reconciler ' \
           "interface-config, intent Interface default/leaf1-lo0 <- Node default/leaf1)" in blame.out.splitlines()
    missing = choreo("config", "show", "nope", "-C", str(project))
    assert missing.code == 1 and missing.err.startswith("error: device 'nope' has no final config")
    diff = _final_config_diff(project)
    assert diff[0] == "+ config.sdcio.dev/v1alpha1, Kind=Config leaf1 (against previous run)"
    assert choreo("run", str(project), "-s").code == 0
    assert _final_config_diff(project)[0] == "= config.sdcio.dev/v1alpha1, Kind=Config leaf1 (against previous run)"


def _final_config_diff(project: Path) -> list[str]:
    result = choreo("run", "diff", str(project), "-c")
    assert result.code == 0, result.err
    return result.out.splitlines()


def test_schema_tree_and_lint(example):
    project = example("fabric")
    tree = choreo("schema", "tree", "ietf-1.0.0", "--path", "/interfaces/interface/ipv4/address", "-C", str(project))
    assert tree.code == 0
    assert tree.out.splitlines()[:3] == ["rw address* [ip]", "+--rw ip    inet:ipv4-address-no-zone",
                                         "+--rw prefix-length    uint8"]
    unknown = choreo("schema", "tree", "nope", "-C", str(project))
    assert unknown.code == 1 and unknown.err == "error: schema profile 'nope' not found (profiles: ietf-1.0.0)\n"
    fixtures = Path(__file__).resolve().parents[1] / "yang" / "fixtures"
    lint = choreo("schema", "lint", str(fixtures / "broken" / "fx-broken.yang"))
    assert lint.code == 1 and "fx-broken.yang:7: error: premature end of file" in lint.out
