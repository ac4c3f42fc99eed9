"""``run deps`` pictures through the real CLI: the fabric example's ownership forest narrowed by --root,
--kind and --depth, its topology (Nodes and Links), SVG/PNG through Graphviz, and a 400-device network
that still gives a picture of sensible size."""

from __future__ import annotations

import os
import pty
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.fabric import LINK, NODE, topology
from tests.e2e.conftest import EXAMPLES, choreo
from tests.results.dot import dot_edges, dot_nodes, node_attributes, parse_dot


def run_once(project: Path, *args: str) -> Path:
    """``choreo run`` on ``project`` for a whole module's tests (they only draw it), with no server or
    config of the machine running the tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(project.parent))
        patch.delenv("CHOREO_SERVER", raising=False)
        result = choreo("run", str(project), *args)
    assert result.code == 0, result.out + result.err
    return project


@pytest.fixture(scope="module")
def fabric(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fabric example after one ``run -r -s``."""
    project = tmp_path_factory.mktemp("pictures") / "fabric"
    shutil.copytree(EXAMPLES / "fabric", project, ignore=shutil.ignore_patterns(".choreo", "out"))
    return run_once(project, "-r", "-s")


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 Nodes and their 760 Links as benchmarks/fabric.py generates them, loaded without reconcilers."""
    project = tmp_path_factory.mktemp("pictures") / "net400"
    (project / "in").mkdir(parents=True)
    shutil.copytree(EXAMPLES / "fabric" / "crds", project / "crds",
                    ignore=lambda _dir, names: [n for n in names if not n.startswith("infra.kuid.dev_")])
    names, links = topology(400)
    for name in names:
        (project / "in" / f"node.{name}.yaml").write_text(NODE.format(name=name))
    for name, a, pa, b, pb in links:
        (project / "in" / f"link.{name}.yaml").write_text(LINK.format(name=name, a=a, pa=pa, b=b, pb=pb))
    return run_once(project)


def deps(project: Path, *args: str) -> str:
    result = choreo("run", "deps", str(project), *args)
    assert result.code == 0, result.err
    return result.out


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the PNG header."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def labels(dot_text: str) -> set[str]:
    """``Kind name`` of every object drawn."""
    return {label.replace("\\n", " ") for label in dot_nodes(parse_dot(dot_text)).values()}


def test_whole_fabric_is_one_colour_per_kind_packed_in_a_grid(fabric: Path, tmp_path: Path) -> None:
    graph = parse_dot(deps(fabric, "-o", "dot"))
    attrs = node_attributes(graph)
    assert len(attrs) == 57  # the objects of the README's tree
    fills: dict[str, set[str]] = {}
    for node in attrs.values():
        fills.setdefault(node["label"].split("\\n")[0], set()).add(node["fillcolor"])
    assert all(len(colours) == 1 for colours in fills.values())
    assert len({colour for colours in fills.values() for colour in colours}) == len(fills) == 7
    picture = tmp_path / "deps.png"
    assert deps(fabric, "-o", "png", "--out", str(picture)) == ""
    width, height = png_size(picture)
    assert width < 2500 and height < 1500 and width / height < 4  # it was 13997 x 251: one row of trees


def test_root_kind_and_depth_narrow_the_tree(fabric: Path) -> None:
    leaf1 = deps(fabric, "--root", "node/leaf1", "-o", "dot")
    assert labels(leaf1) == {"Node leaf1", "Config leaf1", "Interface leaf1-lo0", "Config leaf1-lo0",
                             "IPClaim leaf1.loopback", "IPEntry default.fabric.10.0.0.0-32"}
    assert len(dot_edges(parse_dot(leaf1))) == 5
    kinds = parse_dot(deps(fabric, "--kind", "Node", "--kind", "config", "-o", "dot"))
    names = dot_nodes(kinds)
    assert {label.split("\\n")[0] for label in names.values()} == {"Node", "Config"}
    # a Link's Configs have no Node above them; an Interface's Config moves up to the Node owning it
    edges = {(names[a], names[b]) for a, b in dot_edges(kinds)}
    assert edges == {(f"Node\\n{d}", f"Config\\n{d}{suffix}") for d in ("leaf1", "leaf2", "spine1", "spine2")
                     for suffix in ("", "-lo0")}
    tops = deps(fabric, "--depth", "0").splitlines()
    assert len(tops) == 9 and not any(line.startswith("+-") for line in tops)
    assert deps(fabric, "--root", "leaf1-spine1", "--kind", "Link, IPEntry", "--depth", "1").splitlines() == [
        "Link.infra.kuid.dev/v1alpha1 leaf1-spine1",
        "+-IPEntry.ipam.be.kuid.dev/v1alpha1 default.fabric.10.1.0.0-31",
    ]


def test_a_filter_that_matches_nothing_is_a_one_line_error(fabric: Path) -> None:
    for args, message in (
        (("--root", "node/leaf9"), "error: --root node/leaf9: no such object"),
        (("--kind", "Router"), "error: --kind Router: no object of that kind (kinds shown here: Config, IPClaim,"),
        (("--topology", "--kind", "Node"), "error: --kind does not apply to --topology"),
        (("--topology", "--root", "leaf9"), "error: --root leaf9: no such device"),
    ):
        result = choreo("run", "deps", str(fabric), *args)
        assert result.code == 1 and result.err.startswith(message) and result.err.count("\n") == 1, result.err
    assert choreo("run", "deps", str(fabric), "--depth", "-1").code == 2  # a usage error


def test_topology_is_the_network_of_nodes_and_links(fabric: Path, tmp_path: Path) -> None:
    assert deps(fabric, "--topology").splitlines() == [
        "Link leaf1-spine1: leaf1 ethernet-1/1 -- spine1 ethernet-1/1",
        "Link leaf1-spine2: leaf1 ethernet-1/2 -- spine2 ethernet-1/1",
        "Link leaf2-spine1: leaf2 ethernet-1/1 -- spine1 ethernet-1/2",
        "Link leaf2-spine2: leaf2 ethernet-1/2 -- spine2 ethernet-1/2",
    ]
    graph = parse_dot(deps(fabric, "--topology", "-o", "dot"))
    attrs = node_attributes(graph)
    height = {node["label"]: float(node["pos"].rstrip("!").split(",")[1]) for node in attrs.values()}
    assert height["spine1"] == height["spine2"] > height["leaf1"] == height["leaf2"]  # spines on top
    name = {node_id: node["label"] for node_id, node in attrs.items()}
    ends = {(name[e.get_source()], e.get("taillabel"), name[e.get_destination()], e.get("headlabel"))
            for e in graph.get_edges()}
    assert ("leaf1", '"ethernet-1/2"', "spine2", '"ethernet-1/1"') in ends and len(ends) == 4
    near = deps(fabric, "--topology", "--root", "spine1", "--depth", "1").splitlines()
    assert near == ["Link leaf1-spine1: leaf1 ethernet-1/1 -- spine1 ethernet-1/1",
                    "Link leaf2-spine1: leaf2 ethernet-1/1 -- spine1 ethernet-1/2"]
    svg = tmp_path / "fabric.svg"
    deps(fabric, "--topology", "-o", "svg", "--out", str(svg))
    text = svg.read_text()
    assert text.count('class="node"') == 4 and text.count('class="edge"') == 4 and ">spine1</text>" in text


def test_400_devices_give_a_topology_picture_of_sensible_size(network: Path, tmp_path: Path) -> None:
    picture = tmp_path / "net.png"
    result = choreo("run", "deps", str(network), "--topology", "-o", "png", "--out", str(picture))
    assert (result.code, result.out, result.err) == (0, "", "")  # no "too large, scaling" from Graphviz
    width, height = png_size(picture)
    assert 2000 < width < 6000 and 1000 < height < 3000, (width, height)
    graph = parse_dot(deps(network, "--topology", "-o", "dot"))
    assert len(node_attributes(graph)) == 400 and len(graph.get_edges()) == 760
    ends = [edge.get(end) for edge in graph.get_edges() for end in ("taillabel", "headlabel")]
    assert set(ends) == {'""'}  # so many Links: their ports are in the tooltips only


def test_a_big_picture_says_how_to_narrow_it(network: Path) -> None:
    result = choreo("run", "deps", str(network), "-o", "dot")
    assert result.code == 0
    assert result.err == "note: 1160 objects in one picture; --root, --kind and --depth narrow it\n"
    assert choreo("run", "deps", str(network)).err == ""  # the text tree needs no advice


def test_out_writes_any_format_and_pictures_need_graphviz(fabric: Path, tmp_path: Path, monkeypatch) -> None:
    text = tmp_path / "links.txt"
    assert deps(fabric, "--topology", "--out", str(text)) == ""
    assert text.read_text() == deps(fabric, "--topology")
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` program to be found
    missing = choreo("run", "deps", str(fabric), "-o", "svg")
    assert missing.code == 1
    assert missing.err == "error: -o svg needs Graphviz's `dot` program on PATH (apt install graphviz), or use -o dot\n"
    assert choreo("run", "deps", str(fabric), "-o", "dot").code == 0  # DOT text needs no Graphviz


def test_png_is_not_written_to_a_terminal(fabric: Path) -> None:
    main, terminal = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "choreo.cli.main", "run", "deps", str(fabric), "-o", "png"],
                              stdout=terminal, stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    finally:
        os.close(main)
        os.close(terminal)
    assert proc.returncode == 1
    assert proc.stderr == "error: -o png is binary: give --out FILE or redirect the output\n"
