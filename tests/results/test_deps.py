"""run deps: forest building, the reference's tree format, DOT and Mermaid output."""

from __future__ import annotations

from typing import Any

from choreo.results.deps import build_forest, render
from choreo.results.inventory import Item
from tests.results.dot import dot_edges, dot_nodes, parse_dot


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
    text = "\n".join(render(build_forest([Item(a), Item(b), Item(shared)]), "dot"))
    graph = parse_dot(text)
    assert dot_nodes(graph) == {
        "n0": "Owner.example.com/v1alpha1 a",
        "n1": 'Child.example.com/v1alpha1 sh\\"ared',
        "n2": "Owner.example.com/v1alpha1 b",
    }
    assert dot_edges(graph) == [("n0", "n1"), ("n2", "n1")]


def test_mermaid_output_is_a_top_down_flowchart() -> None:
    a = obj("Owner", "a")
    assert render(build_forest([Item(a), Item(obj("Child", "c", a))]), "mermaid") == [
        "flowchart TD",
        '  n0["Owner.example.com/v1alpha1 a"]',
        '  n1["Child.example.com/v1alpha1 c"]',
        "  n0 --> n1",
    ]
