"""examples/interface through the real CLI with -r: every README step, its addresses and its deps tree."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.e2e.conftest import choreo, get_json

INDEX_FILE = "in/ipam.be.kuid.dev.ipindex.kubenet.yaml"


def run(project: Path) -> None:
    result = choreo("run", "-r", str(project))
    assert result.code == 0, result.err + result.out
    assert "execution success" in result.out


def addresses(project: Path) -> dict[str, tuple[list[str], list[str]]]:
    items = get_json(project, "subinterfaces")["items"]
    return {o["spec"]["node"]: (o["spec"]["ipv4"], o["spec"]["ipv6"]) for o in items}


def tree(project: Path) -> list[str]:
    result = choreo("run", "deps", str(project))
    assert result.code == 0, result.err
    return result.out.splitlines()


def node_block(node: str, ipv4_entry: str | None, ipv6_entry: str | None) -> list[str]:
    lines = [f"Node.example.com/v1alpha1 {node}", f"+-Interface.example.com/v1alpha1 {node}.system0",
             f"+-IPClaim.ipam.be.kuid.dev/v1alpha1 {node}.loopback.ipv4"]
    if ipv4_entry:
        lines.append(f"  +-IPEntry.ipam.be.kuid.dev/v1alpha1 default.kubenet.{ipv4_entry}")
    lines.append(f"+-IPClaim.ipam.be.kuid.dev/v1alpha1 {node}.loopback.ipv6")
    if ipv6_entry:
        lines.append(f"  +-IPEntry.ipam.be.kuid.dev/v1alpha1 default.kubenet.{ipv6_entry}")
    lines.append(f"+-SubInterface.example.com/v1alpha1 {node}.system0.0")
    return lines


def index_block(*subnets: str) -> list[str]:
    lines = ["IPIndex.ipam.be.kuid.dev/v1alpha1 kubenet"]
    for subnet in subnets:
        lines += [f"+-IPClaim.ipam.be.kuid.dev/v1alpha1 kubenet.{subnet}",
                  f"  +-IPEntry.ipam.be.kuid.dev/v1alpha1 default.kubenet.{subnet}"]
    return lines


def test_interface_readme_steps(example) -> None:
    project = example("interface")

    # 1. first run: IPv4 only; the IPv6 claims are not Ready and say why
    run(project)
    assert addresses(project) == {"node1": (["10.0.0.0/32"], []), "node2": (["10.0.0.1/32"], [])}
    assert tree(project) == [*index_block("10.0.0.0-24"), *node_block("node1", "10.0.0.0-32", None),
                             *node_block("node2", "10.0.0.1-32", None)]
    node1 = get_json(project, "nodes", "node1")
    assert node1["status"]["pending"] == [
        "ipv6: cannot claim ip err dynamic claim: no available routes based on the selector labels "
        "map[ipam.be.kuid.dev/address-family:ipv6 purpose:loopback]"]
    claim = get_json(project, "ipclaims", "node1.loopback.ipv6")
    assert [c["status"] for c in claim["status"]["conditions"]] == ["False"]

    # running again changes nothing
    run(project)
    assert addresses(project) == {"node1": (["10.0.0.0/32"], []), "node2": (["10.0.0.1/32"], [])}

    # 2. add a node
    result = choreo("apply", "-f", str(project / "steps/2-node3.yaml"), "-C", str(project))
    assert result.code == 0, result.err
    run(project)
    assert addresses(project) == {"node1": (["10.0.0.0/32"], []), "node2": (["10.0.0.1/32"], []),
                                  "node3": (["10.0.0.2/32"], [])}
    assert tree(project)[-6:] == node_block("node3", "10.0.0.2-32", None)

    # 3. add an IPv6 prefix: the failed claims are retried in name order
    applied = choreo("apply", "-f", str(project / "steps/3-kubenet-dual-stack.yaml"), "-C", str(project))
    assert applied.out == "applying ipam.be.kuid.dev/v1alpha1 IPIndex kubenet\n", applied.err
    assert (project / INDEX_FILE).read_text() == (project / "steps/3-kubenet-dual-stack.yaml").read_text()
    run(project)
    assert addresses(project) == {"node1": (["10.0.0.0/32"], ["1000::/128"]),
                                  "node2": (["10.0.0.1/32"], ["1000::1/128"]),
                                  "node3": (["10.0.0.2/32"], ["1000::2/128"])}
    assert tree(project) == [*index_block("10.0.0.0-24", "1000---64"),
                             *node_block("node1", "10.0.0.0-32", "1000---128"),
                             *node_block("node2", "10.0.0.1-32", "1000--1-128"),
                             *node_block("node3", "10.0.0.2-32", "1000--2-128")]

    # 4. remove the IPv4 prefix: the IPv4 claims lose their addresses and turn not Ready
    applied = choreo("apply", "-f", str(project / "steps/4-kubenet-ipv6-only.yaml"), "-C", str(project))
    assert applied.out == "applying ipam.be.kuid.dev/v1alpha1 IPIndex kubenet\n", applied.err
    assert (project / INDEX_FILE).read_text() == (project / "steps/4-kubenet-ipv6-only.yaml").read_text()
    run(project)
    assert addresses(project) == {"node1": ([], ["1000::/128"]), "node2": ([], ["1000::1/128"]),
                                  "node3": ([], ["1000::2/128"])}
    assert tree(project) == [*index_block("1000---64"), *node_block("node1", None, "1000---128"),
                             *node_block("node2", None, "1000--1-128"), *node_block("node3", None, "1000--2-128")]
    assert get_json(project, "nodes", "node1")["status"]["pending"][0].startswith("ipv4: cannot claim ip err")

    # 5. remove a node: its claims and entries go, the others keep their values
    result = choreo("delete", "node", "node2", "-C", str(project))
    assert result.code == 0, result.err
    run(project)
    assert addresses(project) == {"node1": ([], ["1000::/128"]), "node3": ([], ["1000::2/128"])}
    assert tree(project) == [*index_block("1000---64"), *node_block("node1", None, "1000---128"),
                             *node_block("node3", None, "1000--2-128")]
    entries = [o["metadata"]["name"] for o in get_json(project, "ipentries")["items"]]
    assert entries == ["default.kubenet.1000---128", "default.kubenet.1000---64", "default.kubenet.1000--2-128"]


def test_interface_from_scratch_gives_the_same_values(example, tmp_path: Path) -> None:
    first = example("interface")
    run(first)
    second = tmp_path / "again"
    shutil.copytree(first, second, ignore=shutil.ignore_patterns(".choreo"))
    run(second)
    assert addresses(first) == addresses(second)
