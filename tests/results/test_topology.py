"""run deps --topology: devices and Links from the inventory, tiers, --root/--depth, text, DOT and Mermaid."""

from __future__ import annotations

from typing import Any

import pytest

from choreo.errors import ChoreoError
from choreo.results import topology
from choreo.results.inventory import Item
from tests.results.dot import node_attributes, parse_dot


def node(name: str, namespace: str = "default", ready: str | None = None) -> Item:
    obj: dict[str, Any] = {
        "apiVersion": "infra.kuid.dev/v1alpha1", "kind": "Node",
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{namespace}-{name}"},
        "spec": {"provider": "ietf.choreo.dev", "version": "1.0.0"},
    }
    if ready:
        obj["status"] = {"conditions": [{"type": "Ready", "status": ready}]}
    return Item(obj)


def link(name: str, *ends: tuple[str, str], namespace: str = "default", ready: str | None = None) -> Item:
    obj: dict[str, Any] = {
        "apiVersion": "infra.kuid.dev/v1alpha1", "kind": "Link",
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-link-{name}"},
        "spec": {"endpoints": [{"node": device, "port": port} for device, port in ends]},
    }
    if ready:
        obj["status"] = {"conditions": [{"type": "Ready", "status": ready}]}
    return Item(obj)


def fabric(leaves: int = 2, spines: int = 2) -> list[Item]:
    """Every leaf linked to every spine, ports numbered per device."""
    items = [node(f"spine{s}") for s in range(1, spines + 1)] + [node(f"leaf{n}") for n in range(1, leaves + 1)]
    for n in range(1, leaves + 1):
        items += [link(f"leaf{n}-spine{s}", (f"leaf{n}", f"e1/{s}"), (f"spine{s}", f"e1/{n}"))
                  for s in range(1, spines + 1)]
    return items


def test_text_has_one_line_per_link_and_names_lonely_and_missing_devices() -> None:
    items = [*fabric(1, 1), node("spare"), link("leaf1-ghost", ("leaf1", "e1/9"), ("ghost", ""))]
    assert topology.render(topology.build(items), "tree") == [
        "Link leaf1-ghost: leaf1 e1/9 -- ghost (no such Node)",
        "Link leaf1-spine1: leaf1 e1/1 -- spine1 e1/1",
        "Node spare: no link",
    ]


def test_endpoints_resolve_in_the_links_namespace() -> None:
    items = [node("a", "lab"), node("b", "lab"), node("a"), link("ab", ("a", "p1"), ("b", "p2"), namespace="lab")]
    net = topology.build(items)
    assert topology.render(net, "tree") == ["Link lab/ab: lab/a p1 -- lab/b p2", "Node a: no link"]


def test_tiers_put_known_roles_top_down_then_others_by_connectedness_in_natural_order() -> None:
    items = [*fabric(11, 2), node("server2"), node("server10"), node("border1")]
    items += [link("s2", ("server2", ""), ("leaf1", "")), link("s10", ("server10", ""), ("leaf2", ""))]
    names = [[key[1] for key in tier] for tier in topology.tiers(topology.build(items))]
    assert names[0] == ["spine1", "spine2"] and names[1] == ["border1"]
    assert names[2][:3] == ["leaf1", "leaf2", "leaf3"] and names[2][-1] == "leaf11"
    assert names[3] == ["server2", "server10"]
    assert topology.role("dc1-leaf-12") == "dc1-leaf" and topology.role("core") == "core"


def test_root_and_depth_keep_a_devices_neighbourhood() -> None:
    items = [*fabric(3, 2), node("server1"), link("s1", ("server1", "eth0"), ("leaf1", "e1/9"))]
    net = topology.build(items)

    def names(roots: list[str], depth: int | None) -> list[str]:
        return [key[1] for key in topology.select(net, roots, depth).all_devices()]

    assert names(["server1"], 0) == ["server1"]
    assert names(["node/server1"], 1) == ["leaf1", "server1"]
    assert names(["server1"], 2) == ["leaf1", "server1", "spine1", "spine2"]
    assert len(names(["server1"], None)) == 6  # all it is connected to
    kept = topology.select(net, ["server1"], 1)
    assert [link.name for link in kept.links] == ["s1"]
    with pytest.raises(ChoreoError, match="--root nope: no such device"):
        topology.select(net, ["nope"], None)
    with pytest.raises(ChoreoError, match=r"--depth with --topology .* give --root"):
        topology.select(net, [], 1)


def test_dot_pins_tiers_as_rows_with_ports_at_the_link_ends() -> None:
    graph = parse_dot("\n".join(topology.render(topology.build(fabric(2, 2)), "dot")))
    assert graph.get_type() == "graph"  # undirected: a Link has no direction
    attrs = node_attributes(graph)
    y = {a["label"]: float(a["pos"].rstrip("!").split(",")[1]) for a in attrs.values()}
    assert y["spine1"] == y["spine2"] > y["leaf1"] == y["leaf2"]
    assert attrs["d0"]["fillcolor"] == attrs["d1"]["fillcolor"] != attrs["d2"]["fillcolor"]  # a colour per role
    edges = {(e.get_source(), e.get_destination()): e.get_attributes() for e in graph.get_edges()}
    names = {name: a["label"] for name, a in attrs.items()}
    labelled = {(names[a], names[b], e["taillabel"], e["headlabel"]) for (a, b), e in edges.items()}
    assert ("leaf2", "spine1", '"e1/1"', '"e1/2"') in labelled and len(labelled) == 4


def test_ports_are_written_only_where_they_do_not_pile_up() -> None:
    items = [node("spine1"), *(node(f"leaf{n}") for n in range(1, 11))]
    items += [link(f"l{n}", (f"leaf{n}", "up"), ("spine1", f"down{n}")) for n in range(1, 11)]
    graph = parse_dot("\n".join(topology.render(topology.build(items), "dot")))
    ends = {(e.get("taillabel"), e.get("headlabel")) for e in graph.get_edges()}
    assert ends == {('"up"', '""')}  # spine1 has 10 Links: its ports only in the tooltips
    assert all("down" in e.get("tooltip") for e in graph.get_edges())


def test_dot_marks_missing_devices_and_links_or_nodes_not_ready() -> None:
    items = [node("a", ready="False"), node("b"), link("ab", ("a", "1"), ("b", "1"), ready="False"),
             link("bz", ("b", "2"), ("z", "1"))]
    graph = parse_dot("\n".join(topology.render(topology.build(items), "dot")))
    attrs = {a["label"]: a for a in node_attributes(graph).values()}
    assert attrs["a"]["color"] == "red" and attrs["b"]["color"] == "black"
    assert attrs["z"]["style"] == "rounded,dashed" and attrs["z"]["tooltip"] == "no such Node"
    colours = sorted(e.get_attributes()["color"] for e in graph.get_edges())
    assert colours == ['"gray40"', '"red"']


def test_a_link_with_more_than_two_ends_is_a_hub() -> None:
    items = [node("a"), node("b"), node("c"), link("lag", ("a", "1"), ("b", "1"), ("c", "1"))]
    net = topology.build(items)
    graph = parse_dot("\n".join(topology.render(net, "dot")))
    assert node_attributes(graph)["l0"]["shape"] == "point"
    assert sorted((e.get_source(), e.get_destination()) for e in graph.get_edges()) == [
        ("l0", "d0"), ("l0", "d1"), ("l0", "d2")]
    assert topology.render(net, "mermaid")[-4:] == ['  l0(("lag"))', "  l0 --- d0", "  l0 --- d1", "  l0 --- d2"]


def test_a_wide_tier_wraps_into_columns_under_its_neighbours() -> None:
    net = topology.build(fabric(100, 4))
    places = topology.positions(net)
    leaves = [places[key] for key in net.all_devices() if key[1].startswith("leaf")]
    columns, rows = {x for x, _ in leaves}, {y for _, y in leaves}
    assert len(columns) <= topology.ROW and len(rows) == 5  # 100 leaves in rows of at most ROW
    spines = [places[key] for key in net.all_devices() if key[1].startswith("spine")]
    assert min(y for _, y in spines) > max(rows)
    width = max(x for x, _ in places.values()) - min(x for x, _ in places.values())
    assert width <= topology.ROW * topology.COLUMN_STEP


def test_mermaid_is_a_flowchart_with_a_labelled_line_per_link() -> None:
    assert topology.render(topology.build(fabric(1, 1)), "mermaid") == [
        "flowchart TB",
        '  d0["leaf1"]',
        '  d1["spine1"]',
        "  d0 ---|leaf1-spine1| d1",
    ]


def test_long_device_names_get_room() -> None:
    short = topology.positions(topology.build([node("a1"), node("a2")]))
    long = topology.positions(topology.build([node("dc1-border-leaf-a1"), node("dc1-border-leaf-a2")]))
    assert abs(short[("default", "a1")][0] - short[("default", "a2")][0]) == topology.COLUMN_STEP
    assert abs(long[("default", "dc1-border-leaf-a1")][0] - long[("default", "dc1-border-leaf-a2")][0]) > 2.2
