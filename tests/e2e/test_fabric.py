"""End to end: the fabric example through ``choreo run -r -s`` and the schema plug-in's commands."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.e2e.conftest import choreo, get_json

LO0 = "/ietf-interfaces:interfaces/interface[name='lo0']"
DEVICES = ("leaf1", "leaf2", "spine1", "spine2")
# What the allocators hand out, in reconcile order (Links, then Nodes, each by name).
P2P = {"leaf1-spine1": "10.1.0.0/31", "leaf1-spine2": "10.1.0.2/31", "leaf2-spine1": "10.1.0.4/31",
       "leaf2-spine2": "10.1.0.6/31"}
LOOPBACKS = {"leaf1": "10.0.0.0/32", "leaf2": "10.0.0.1/32", "spine1": "10.0.0.2/32", "spine2": "10.0.0.3/32"}


def run(project: Path, *extra: str):
    return choreo("run", str(project), "-r", "-s", *extra)


def allocations(project: Path) -> dict[str, str]:
    """Claim name -> allocated value, for every IPClaim of the project."""
    claims = get_json(project, "ipclaims")["items"]
    return {c["metadata"]["name"]: c["status"].get("address") or c["status"].get("prefix") for c in claims}


def addresses(config: dict) -> dict[str, dict]:
    return {i["name"]: i["ietf-ip:ipv4"]["address"][0] for i in config["ietf-interfaces:interfaces"]["interface"]}


def test_fabric_allocates_validates_and_writes_every_device_config(example):
    project = example("fabric")
    result = run(project)
    assert result.code == 0, result.out + result.err
    assert "schema: 4 device(s), 4 valid, 0 failed" in result.out
    assert allocations(project) == {
        "fabric.10.0.0.0-16": "10.0.0.0/16", "fabric.10.1.0.0-16": "10.1.0.0/16",
        **{f"{link}.p2p": prefix for link, prefix in P2P.items()},
        **{f"{node}.loopback": address for node, address in LOOPBACKS.items()}}
    claim = get_json(project, "ipclaims", "leaf1-spine1.p2p")
    assert claim["metadata"]["ownerReferences"][0]["kind"] == "Link"
    assert [c["status"] for c in claim["status"]["conditions"] if c["type"] == "Ready"] == ["True"]
    assert get_json(project, "links", "leaf1-spine1")["status"]["prefix"] == "10.1.0.0/31"
    out = project / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{d}.{s}" for d in DEVICES for s in ("json", "xml"))
    leaf1 = json.loads((out / "leaf1.json").read_text())
    assert addresses(leaf1) == {"ethernet-1/1": {"ip": "10.1.0.0", "prefix-length": 31},
                                "ethernet-1/2": {"ip": "10.1.0.2", "prefix-length": 31},
                                "lo0": {"ip": "10.0.0.0", "prefix-length": 32}}
    spine1 = json.loads((out / "spine1.json").read_text())
    assert addresses(spine1)["ethernet-1/1"] == {"ip": "10.1.0.1", "prefix-length": 31}
    root = ET.fromstring((out / "spine1.xml").read_text())
    assert root.tag == "{urn:ietf:params:xml:ns:netconf:base:1.0}config"
    final = get_json(project, "configs", "leaf1")
    assert final["metadata"]["labels"] == {
        "config.sdcio.dev/targetName": "leaf1", "config.sdcio.dev/targetNamespace": "default",
        "config.sdcio.dev/finalconfig": "true"}
    assert final["metadata"]["ownerReferences"][0]["kind"] == "Node"
    assert final["spec"]["config"][0]["value"] == leaf1


def test_allocations_and_outputs_are_identical_across_fresh_runs_and_reruns(example, tmp_path):
    first, second = example("fabric"), tmp_path / "again" / "fabric"
    shutil.copytree(first, second)
    for project in (first, second):
        assert run(project).code == 0
    outputs = {p.name: p.read_bytes() for p in (first / "out").iterdir()}
    assert {p.name: p.read_bytes() for p in (second / "out").iterdir()} == outputs
    assert allocations(first) == allocations(second)
    assert run(first).code == 0
    assert {p.name: p.read_bytes() for p in (first / "out").iterdir()} == outputs
    assert allocations(first) == allocations(second)


def test_deps_show_claims_and_entries_under_their_intent(example):
    project = example("fabric")
    assert run(project).code == 0
    deps = choreo("run", "deps", str(project))
    assert deps.code == 0
    lines = deps.out.splitlines()
    at = lines.index("Node.infra.kuid.dev/v1alpha1 leaf1")
    assert lines[at + 1:at + 6] == [
        "+-Config.config.sdcio.dev/v1alpha1 leaf1",
        "+-Interface.fabric.example.com/v1alpha1 leaf1-lo0",
        "  +-Config.config.sdcio.dev/v1alpha1 leaf1-lo0",
        "+-IPClaim.ipam.be.kuid.dev/v1alpha1 leaf1.loopback",
        "  +-IPEntry.ipam.be.kuid.dev/v1alpha1 default.fabric.10.0.0.0-32"]


def test_broken_intent_reports_every_device_with_path_and_source(example):
    project = example("fabric")
    link = project / "in" / "infra.kuid.dev.link.leaf1-spine1.yaml"
    link.write_text(link.read_text().replace("spec:\n", "spec:\n  mtu: 40\n"))
    node = project / "in" / "infra.kuid.dev.node.spine2.yaml"
    node.write_text(node.read_text().replace("version: 1.0.0", "version: 9.9.9"))
    junit, report = project / "junit.xml", project / "report.json"
    result = run(project, "--report", f"junit={junit}", "--report", f"json={report}")
    assert result.code == 1
    assert "Traceback" not in result.out + result.err
    assert "schema failed with 3 error(s)" in result.out
    mtu = "/ietf-interfaces:interfaces/interface[name='ethernet-1/1']/ietf-ip:ipv4/mtu"
    assert (f"  leaf1: {mtu}: Unsatisfied range - value \"40\" is out of the allowed range [from Config "
            "default/leaf1-ethernet-1-1 (reconciler interface-config, intent Interface default/leaf1-ethernet-1-1 "
            "<- Link default/leaf1-spine1)]") in result.out
    assert "  spine2: /: no schema profile for provider 'ietf.choreo.dev' version '9.9.9'" in result.out
    assert sorted(p.name for p in (project / "out").iterdir()) == ["leaf2.json", "leaf2.xml"]
    assert junit.read_text().startswith('<?xml version="1.0" encoding="UTF-8"?>\n')  # as a run's own report
    suite = ET.parse(junit).getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert [(c.get("name"), len(c.findall("failure"))) for c in cases] == [
        ("leaf1", 1), ("leaf2", 0), ("spine1", 1), ("spine2", 1)]
    assert (suite.get("tests"), suite.get("failures")) == ("4", "3")
    data = json.loads(report.read_text())
    assert data["valid"] is False
    assert data["devices"][0]["name"] == "leaf1"
    assert data["devices"][0]["errors"][0] == {
        "path": mtu, "message": 'Unsatisfied range - value "40" is out of the allowed range',
        "sources": [{"resource": "Config default/leaf1-ethernet-1-1", "reconciler": "interface-config",
                     "intent": "Interface default/leaf1-ethernet-1-1 <- Link default/leaf1-spine1"}]}


def test_a_port_used_by_two_links_is_reported(example):
    project = example("fabric")
    link = project / "in" / "infra.kuid.dev.link.leaf2-spine2.yaml"
    link.write_text(link.read_text().replace("{node: leaf2, port: ethernet-1/2}", "{node: leaf2, port: ethernet-1/1}"))
    result = run(project)
    assert result.code == 1
    assert "Traceback" not in result.out + result.err
    assert ("reason task link.Link.infra.kuid.dev.leaf2-spine2 message port ethernet-1/1 of leaf2 is already used "
            "by Link leaf2-spine1") in result.out + result.err


def test_an_exhausted_pool_is_reported_with_the_claim(example):
    project = example("fabric")
    index = project / "in" / "ipam.be.kuid.dev.ipindex.fabric.yaml"
    index.write_text(index.read_text().replace("10.1.0.0/16", "10.1.0.0/30"))
    result = run(project)
    assert result.code == 1
    assert "Traceback" not in result.out + result.err
    assert ("reason task link.Link.infra.kuid.dev.leaf2-spine1 message IPClaim leaf2-spine1.p2p: cannot claim ip "
            "err no free prefix found") in result.out + result.err


MGMT = """\
apiVersion: config.sdcio.dev/v1alpha1
kind: Config
metadata:
  name: leaf1
  namespace: default
  labels: {config.sdcio.dev/targetName: leaf1, config.sdcio.dev/targetNamespace: default}
spec:
  priority: 10
  config:
  - path: /
    value:
      interfaces:
        interface:
        - {name: mgmt0, description: management, type: "iana-if-type:ethernetCsmacd", enabled: true}
"""


def test_a_config_named_like_its_device_is_a_snippet_the_stage_does_not_write_over(example):
    """The stage writes each device's final Config under the device's name. A user's Config of that name was
    left out of the merge and then overwritten by the final one, every run; it is a snippet like any other now,
    and the device fails, saying so, until that Config is renamed."""
    project = example("fabric")
    (project / "in" / "config.leaf1.yaml").write_text(MGMT)
    result = run(project)
    assert result.code == 1, result.out + result.err
    assert ("  leaf1: /: Config default/leaf1 has the name of the device's final Config, which the stage does not "
            "write over: give that Config another name") in result.out
    assert "schema: 4 device(s), 3 valid, 1 failed" in result.out
    mine = get_json(project, "configs", "leaf1")
    assert "config.sdcio.dev/finalconfig" not in mine["metadata"]["labels"]
    assert mine["spec"]["config"][0]["value"]["interfaces"]["interface"][0]["name"] == "mgmt0"
    (project / "in" / "config.leaf1.yaml").unlink()
    (project / "in" / "config.leaf1-mgmt.yaml").write_text(MGMT.replace("name: leaf1\n", "name: leaf1-mgmt\n", 1))
    result = run(project)
    assert result.code == 0, result.out + result.err
    leaf1 = json.loads((project / "out" / "leaf1.json").read_text())
    assert "mgmt0" in {i["name"] for i in leaf1["ietf-interfaces:interfaces"]["interface"]}
    assert get_json(project, "configs", "leaf1")["metadata"]["labels"]["config.sdcio.dev/finalconfig"] == "true"


def test_an_out_that_is_a_file_is_refused_naming_it_and_kept(example):
    """A file named ``out`` where the stage writes its folder ended in the bare OSError ``out: File exists``."""
    project = example("fabric")
    assert run(project).code == 0
    runs = choreo("run", "list", str(project)).out
    shutil.rmtree(project / "out")
    (project / "out").write_text("my notes\n")
    result = run(project)
    assert result.code == 1
    assert result.err == f"error: {project / 'out'}: is a file, not a folder for the configs; remove it or choose " \
                         "another with --out\n"
    assert (project / "out").read_text() == "my notes\n"
    assert choreo("run", "list", str(project)).out == runs  # the failed run kept nothing


def test_config_show_blame_and_final_config_diff(example):
    project = example("fabric")
    assert run(project).code == 0
    shown = choreo("config", "show", "leaf1", "-C", str(project), "-o", "xml")
    assert shown.code == 0 and "<ip>10.0.0.0</ip>" in shown.out
    blame = choreo("config", "blame", "leaf1", LO0, "-C", str(project))
    assert blame.code == 0
    assert f'{LO0}/description = "loopback of leaf1"  Config default/leaf1-lo0 (priority 10, reconciler ' \
           "interface-config, intent Interface default/leaf1-lo0 <- Node default/leaf1)" in blame.out.splitlines()
    missing = choreo("config", "show", "nope", "-C", str(project))
    assert (missing.code, missing.err) == (1, "error: device 'nope' has no final config (the last run has 4: leaf1, "
                                              "leaf2, spine1, spine2)\n")
    typo = choreo("config", "blame", "lef1", "-C", str(project))
    assert typo.err == "error: device 'lef1' has no final config (did you mean leaf1, leaf2?)\n"
    diff = _final_config_diff(project)
    assert diff[0] == "+ config.sdcio.dev/v1alpha1, Kind=Config leaf1 (against previous run)"
    assert run(project).code == 0
    assert _final_config_diff(project)[0] == "= config.sdcio.dev/v1alpha1, Kind=Config leaf1 (against previous run)"


def _final_config_diff(project: Path) -> list[str]:
    result = choreo("run", "diff", str(project), "-c")
    assert result.code == 0, result.err
    return result.out.splitlines()


def test_schema_tree_and_lint(example):
    project = example("fabric")
    tree = choreo("schema", "tree", "ietf-1.0.0", "--path", "/interfaces/interface/ipv4/address", "-C", str(project))
    assert tree.code == 0
    assert tree.out.splitlines()[3:6] == ["        +--rw ip:ipv4!", "           +--rw ip:address* [ip]",
                                          "              +--rw ip:ip                     inet:ipv4-address-no-zone"]
    unknown = choreo("schema", "tree", "nope", "-C", str(project))
    assert unknown.code == 1 and unknown.err == "error: schema profile 'nope' not found (profiles: ietf-1.0.0)\n"
    fixtures = Path(__file__).resolve().parents[1] / "yang" / "fixtures"
    lint = choreo("schema", "lint", str(fixtures / "broken" / "fx-broken.yang"))
    assert lint.code == 1 and "fx-broken.yang:7: error: premature end of file" in lint.out
