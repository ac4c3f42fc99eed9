"""run deps: forest building, the reference's tree format, DOT and Mermaid output, --root/--kind/--depth."""

from __future__ import annotations

from typing import Any

import pytest

from choreo.errors import ChoreoError
from choreo.results.deps import Selection, build_forest, kind_key, render, select
from choreo.results.graphviz import colours
from choreo.results.inventory import Item
from tests.results.dot import dot_edges, dot_nodes, node_attributes, parse_dot


def obj(kind: str, name: str, *owners: dict[str, Any], api_version: str = "example.com/v1alpha1") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{kind}-{name}"}
    if owners:
        metadata["ownerReferences"] = [owner_ref(o) for o in owners]
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


def owner_ref(owner: dict[str, Any]) -> dict[str, Any]:
    md = owner["metadata"]
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": md["name"], "uid": md["uid"]}


def tree(*objects: dict[str, Any]) -> list[str]:
    return render(build_forest([Item(o) for o in objects]), "tree")


def test_greeting_tree_matches_reference_format() -> None:
    alice, bob = obj("Greeting", "alice"), obj("Greeting", "bob")
    out = tree(obj("Message", "bob-message", bob), bob, obj("Message", "alice-message", alice), alice)
    assert out == [
        "Greeting.example.com/v1alpha1 alice",
        "+-Message.example.com/v1alpha1 alice-message",
        "Greeting.example.com/v1alpha1 bob",
        "+-Message.example.com/v1alpha1 bob-message",
    ]


def test_deeper_levels_indent_two_spaces_per_level() -> None:
    top = obj("Top", "t")
    mid = obj("Mid", "m", top)
    low = obj("Low", "l", mid)
    assert tree(low, mid, top, obj("Leaf", "f", low)) == [
        "Top.example.com/v1alpha1 t",
        "+-Mid.example.com/v1alpha1 m",
        "  +-Low.example.com/v1alpha1 l",
        "    +-Leaf.example.com/v1alpha1 f",
    ]


def test_siblings_sorted_case_insensitively_by_kind_apiversion_name() -> None:
    top = obj("Top", "t")
    kids = [obj("beta", "x", top), obj("Alpha", "z", top), obj("Alpha", "a", top, api_version="b.io/v1")]
    assert tree(top, *kids)[1:] == [
        "+-Alpha.b.io/v1 a",
        "+-Alpha.example.com/v1alpha1 z",
        "+-beta.example.com/v1alpha1 x",
    ]


def test_orphans_are_hidden_and_shared_children_appear_under_each_owner() -> None:
    a, b = obj("Owner", "a"), obj("Owner", "b")
    shared = obj("Child", "shared", a, b)
    orphan = obj("Child", "orphan", {"apiVersion": "x/v1", "kind": "Gone", "metadata": {"name": "g", "uid": "gone"}})
    assert tree(a, b, shared, orphan) == [
        "Owner.example.com/v1alpha1 a",
        "+-Child.example.com/v1alpha1 shared",
        "Owner.example.com/v1alpha1 b",
        "+-Child.example.com/v1alpha1 shared",
    ]


def test_ownership_cycle_below_a_root_terminates() -> None:
    root = obj("Root", "r")
    x = obj("X", "x", root)
    y = obj("Y", "y", x)
    x["metadata"]["ownerReferences"].append({"apiVersion": "example.com/v1alpha1", "kind": "Y", "name": "y",
                                             "uid": y["metadata"]["uid"]})
    assert tree(root, x, y) == [
        "Root.example.com/v1alpha1 r",
        "+-X.example.com/v1alpha1 x",
        "  +-Y.example.com/v1alpha1 y",
    ]


def test_dot_output_parses_with_one_node_per_object_and_owner_edges() -> None:
    a, b = obj("Owner", "a"), obj("Owner", "b")
    shared = obj("Child", "sh\"ared", a, b)
    graph = parse_dot("\n".join(render(build_forest([Item(a), Item(b), Item(shared)]), "dot")))
    assert dot_nodes(graph) == {"n0": "Owner\\na", "n1": 'Child\\nsh\\"ared', "n2": "Owner\\nb"}
    assert dot_edges(graph) == [("n0", "n1"), ("n2", "n1")]
    attrs = node_attributes(graph)
    assert attrs["n0"]["tooltip"] == "Owner.example.com/v1alpha1 a"
    assert attrs["n0"]["fillcolor"] == attrs["n2"]["fillcolor"] != attrs["n1"]["fillcolor"]  # a colour per kind
    layout = graph.get_node("graph")[0].get_attributes()
    assert layout["rankdir"] == '"TB"' and layout["packmode"] == '"array_u"'  # trees packed in a grid


def test_colours_given_for_all_kinds_stay_when_the_picture_is_filtered() -> None:
    top = obj("Top", "t")
    objects = [Item(top), Item(obj("Mid", "m", top)), Item(obj("Low", "l", top))]
    fills = colours(kind_key(item) for item in objects)
    forest = select(build_forest(objects), Selection(kinds=["Low"]))
    attrs = node_attributes(parse_dot("\n".join(render(forest, "dot", fills))))
    assert attrs == {"n0": attrs["n0"]} and attrs["n0"]["fillcolor"] == fills["Low.example.com/v1alpha1"]


def test_mermaid_output_is_a_top_down_flowchart_with_a_class_per_kind() -> None:
    a = obj("Owner", "a")
    out = render(build_forest([Item(a), Item(obj("Child", "c", a))]), "mermaid")
    assert out[:4] == [
        "flowchart TD",
        '  n0["Owner.example.com/v1alpha1 a"]',
        '  n1["Child.example.com/v1alpha1 c"]',
        "  n0 --> n1",
    ]
    assert "  class n1 k0" in out and "  class n0 k1" in out


# ------------------------------------------------------------------------------------------ selection


def fabric() -> list[Item]:
    """Two Nodes, a Link between them, what they own (an Interface per end, each with its Config)."""
    leaf, spine = obj("Node", "leaf1"), obj("Node", "spine1")
    link = obj("Link", "leaf1-spine1")
    interfaces = [obj("Interface", "leaf1-e1", link), obj("Interface", "spine1-e1", link)]
    configs = [obj("Config", f"{i['metadata']['name']}-cfg", i) for i in interfaces]
    loopback = obj("Interface", "leaf1-lo0", leaf)
    lab = obj("Node", "leaf1")
    lab["metadata"] |= {"namespace": "lab", "uid": "uid-lab-leaf1"}
    objects = [leaf, spine, link, *interfaces, *configs, loopback, obj("Config", "leaf1-lo0-cfg", loopback), lab]
    return [Item(o) for o in objects]


def selected(**selection: Any) -> list[str]:
    return render(select(build_forest(fabric()), Selection(**selection)), "tree")


def test_root_keeps_the_subtrees_of_the_named_objects() -> None:
    assert selected(roots=["link/leaf1-spine1"]) == [
        "Link.example.com/v1alpha1 leaf1-spine1",
        "+-Interface.example.com/v1alpha1 leaf1-e1",
        "  +-Config.example.com/v1alpha1 leaf1-e1-cfg",
        "+-Interface.example.com/v1alpha1 spine1-e1",
        "  +-Config.example.com/v1alpha1 spine1-e1-cfg",
    ]
    # a bare NAME matches any kind and namespace; an object inside another root's subtree is not repeated
    assert selected(roots=["leaf1", "interface/leaf1-lo0"]) == [
        "Node.example.com/v1alpha1 lab/leaf1",
        "Node.example.com/v1alpha1 leaf1",
        "+-Interface.example.com/v1alpha1 leaf1-lo0",
        "  +-Config.example.com/v1alpha1 leaf1-lo0-cfg",
    ]
    assert selected(roots=["Node.example.com/lab/leaf1"]) == ["Node.example.com/v1alpha1 lab/leaf1"]


def test_kind_leaves_other_kinds_out_and_lifts_their_children() -> None:
    assert selected(kinds=["node", "config"]) == [  # the Link's Configs have no shown owner: roots
        "Config.example.com/v1alpha1 leaf1-e1-cfg",
        "Config.example.com/v1alpha1 spine1-e1-cfg",
        "Node.example.com/v1alpha1 lab/leaf1",
        "Node.example.com/v1alpha1 leaf1",
        "+-Config.example.com/v1alpha1 leaf1-lo0-cfg",
        "Node.example.com/v1alpha1 spine1",
    ]
    assert selected(kinds=["Config"]) == [
        "Config.example.com/v1alpha1 leaf1-e1-cfg",
        "Config.example.com/v1alpha1 leaf1-lo0-cfg",
        "Config.example.com/v1alpha1 spine1-e1-cfg",
    ]


def test_depth_counts_shown_levels_after_root_and_kind() -> None:
    assert selected(depth=0) == [
        "Link.example.com/v1alpha1 leaf1-spine1",
        "Node.example.com/v1alpha1 lab/leaf1",
        "Node.example.com/v1alpha1 leaf1",
        "Node.example.com/v1alpha1 spine1",
    ]
    assert selected(roots=["link/leaf1-spine1"], depth=1) == [
        "Link.example.com/v1alpha1 leaf1-spine1",
        "+-Interface.example.com/v1alpha1 leaf1-e1",
        "+-Interface.example.com/v1alpha1 spine1-e1",
    ]
    assert selected(roots=["link/leaf1-spine1"], kinds=["Link", "Config"], depth=1)[1:] == [
        "+-Config.example.com/v1alpha1 leaf1-e1-cfg",
        "+-Config.example.com/v1alpha1 spine1-e1-cfg",
    ]


def test_a_root_or_kind_that_matches_nothing_is_an_error_naming_it() -> None:
    with pytest.raises(ChoreoError, match=r"--root node/nope: no such object"):
        selected(roots=["node/nope"])
    with pytest.raises(ChoreoError, match=r"--root link/leaf1: no such object"):
        selected(roots=["link/leaf1"])  # leaf1 exists, but not as a Link
    with pytest.raises(ChoreoError, match=r"--kind Nope: no object of that kind \(kinds shown here: Config, "
                                          r"Interface, Link, Node\)"):
        selected(kinds=["Nope"])
