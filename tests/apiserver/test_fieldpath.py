"""fieldsV1 encoding: path elements, the managedFields tree and the human path rendering."""

from __future__ import annotations

import json

import pytest

from choreo.apiserver.fieldpath import (
    PathElement,
    format_path,
    from_fields_v1,
    to_fields_v1,
)
from choreo.errors import Invalid

F = PathElement.field
K = PathElement.key
V = PathElement.value
I = PathElement.at  # noqa: E741


CONDITIONS_SET = {
    (F("spec"), F("replicas")),
    (F("status"), F("conditions"), K({"type": "Ready"})),
    (F("status"), F("conditions"), K({"type": "Ready"}), F("type")),
    (F("status"), F("conditions"), K({"type": "Ready"}), F("status")),
    (F("metadata"), F("finalizers"), V("a")),
    (F("spec"), F("ports"), I(0)),
}

CONDITIONS_TREE = {
    "f:metadata": {"f:finalizers": {'v:"a"': {}}},
    "f:spec": {"f:ports": {"i:0": {}}, "f:replicas": {}},
    "f:status": {
        "f:conditions": {'k:{"type":"Ready"}': {".": {}, "f:status": {}, "f:type": {}}},
    },
}


def test_to_fields_v1_matches_kubernetes_layout() -> None:
    assert to_fields_v1(CONDITIONS_SET) == CONDITIONS_TREE


def test_to_fields_v1_keys_are_sorted_for_stable_bytes() -> None:
    tree = to_fields_v1(CONDITIONS_SET)
    assert list(tree) == ["f:metadata", "f:spec", "f:status"]
    assert list(tree["f:spec"]) == ["f:ports", "f:replicas"]
    assert list(tree["f:status"]["f:conditions"]['k:{"type":"Ready"}']) == [".", "f:status", "f:type"]


def test_each_tree_to_fields_v1_returns_is_the_callers_own() -> None:
    # A caller changing what it got (the API server stores it) never changes what the next caller gets.
    fields = {(F("spec"), F("owner"), K({"uid": "tree-test-4711"})), (F("spec"), F("size"))}
    expected = {"f:spec": {"f:owner": {'k:{"uid":"tree-test-4711"}': {}}, "f:size": {}}}
    for _ in range(4):
        tree = to_fields_v1(fields)
        assert tree == expected
        tree["f:spec"]["f:owner"].clear()
        tree["f:spec"]["f:changed"] = {}


def test_every_map_of_a_tree_is_sorted_by_its_encoded_keys_with_the_member_mark_first() -> None:
    # Kinds and texts that sort differently as elements than a careless encoding would (an index, a value,
    # a key and a field under one parent; "a" before "a.b" before "b"); a member with members below it.
    spec = F("spec")
    fields = [
        (spec, F("b")),
        (spec, F("a.b")),
        (spec, F("a")),
        (spec, F("a"), V("x")),
        (spec, F("a"), I(3)),
        (spec, F("a"), K({"name": "z"})),
        (spec, F("a"), I(10)),
        (spec, F("a"), V("x")),  # named twice
    ]
    tree = to_fields_v1(fields)

    def check(node: dict) -> None:
        assert list(node) == sorted(node)
        for child in node.values():
            check(child)

    check(tree)
    assert list(tree["f:spec"]["f:a"]) == [".", "i:10", "i:3", 'k:{"name":"z"}', 'v:"x"']
    assert from_fields_v1(tree) == set(fields)


@pytest.mark.parametrize(
    "fields",
    [
        set(),
        {(F("spec"),)},
        {(F("spec"), F("a")), (F("spec"), F("b"), F("c"))},
        CONDITIONS_SET,
        {(F("spec"), F("ports"), K({"port": 80, "protocol": "TCP"}))},
        {(F("spec"), F("tags"), V({"b": 1, "a": [1, 2]}))},
        {(F("spec"), F("x")), (F("spec"), F("x"), F("y"))},
    ],
    ids=["empty", "single", "nested", "conditions", "multi-key", "object-value", "member-with-child"],
)
def test_round_trip(fields: set) -> None:
    encoded = to_fields_v1(fields)
    assert from_fields_v1(encoded) == fields
    assert from_fields_v1(json.loads(json.dumps(encoded))) == fields


def test_from_fields_v1_canonicalises_foreign_json() -> None:
    tree = {"f:spec": {"f:ports": {'k:{"protocol": "TCP", "port": 80}': {".": {}}}}}
    assert from_fields_v1(tree) == {(F("spec"), F("ports"), K({"port": 80, "protocol": "TCP"}))}


@pytest.mark.parametrize(
    "tree",
    [
        {"spec": {}},
        {"x:spec": {}},
        {"f:spec": {"k:not-json": {}}},
        {"f:spec": {"k:[1]": {}}},
        {"f:spec": {"i:one": {}}},
        {"f:spec": "leaf"},
    ],
)
def test_from_fields_v1_rejects_garbage(tree: dict) -> None:
    with pytest.raises(Invalid):
        from_fields_v1(tree)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((F("spec"), F("x")), ".spec.x"),
        (
            (F("status"), F("conditions"), K({"type": "Ready"}), F("status")),
            '.status.conditions[type="Ready"].status',
        ),
        ((F("metadata"), F("finalizers"), V("a")), '.metadata.finalizers[="a"]'),
        ((F("spec"), F("ports"), K({"protocol": "TCP", "port": 80})), '.spec.ports[port=80,protocol="TCP"]'),
        ((F("spec"), F("items"), I(2), F("name")), ".spec.items[2].name"),
        ((), ""),
    ],
)
def test_format_path(path: tuple, text: str) -> None:
    assert format_path(path) == text


@pytest.mark.parametrize(
    ("element", "encoded"),
    [
        (F("spec"), "f:spec"),
        (K({"type": "Ready"}), 'k:{"type":"Ready"}'),
        (V("x"), 'v:"x"'),
        (V(3), "v:3"),
        (I(4), "i:4"),
    ],
)
def test_element_encode_decode(element: PathElement, encoded: str) -> None:
    assert element.encode() == encoded
    assert PathElement.decode(encoded) == element
