"""Merge patch (RFC 7386) and JSON patch (RFC 6902)."""

from __future__ import annotations

import pytest

from choreo.errors import BadRequest, Invalid
from choreo.server.patch import json_patch, merge_patch

DOC = {"spec": {"a": 1, "b": {"c": 2}, "items": [1, 2, 3]}, "status": {"x": "y"}}


def test_merge_patch_merges_removes_and_replaces() -> None:
    out = merge_patch(DOC, {"spec": {"a": None, "b": {"d": 4}, "items": [9]}, "status": None})
    assert out == {"spec": {"b": {"c": 2, "d": 4}, "items": [9]}}
    assert DOC["spec"]["a"] == 1  # input untouched


def test_json_patch_operations() -> None:
    ops = [
        {"op": "add", "path": "/spec/items/-", "value": 4},
        {"op": "replace", "path": "/spec/a", "value": 10},
        {"op": "remove", "path": "/spec/items/0"},
        {"op": "copy", "from": "/spec/b", "path": "/spec/e"},
        {"op": "move", "from": "/status/x", "path": "/status/z"},
        {"op": "test", "path": "/spec/a", "value": 10},
    ]
    out = json_patch(DOC, ops)
    assert out == {"spec": {"a": 10, "b": {"c": 2}, "items": [2, 3, 4], "e": {"c": 2}}, "status": {"z": "y"}}


@pytest.mark.parametrize(
    ("ops", "error", "fragment"),
    [
        ({"op": "add"}, BadRequest, "JSON array"),
        ([{"op": "remove", "path": "/spec/nope"}], BadRequest, "no member 'nope'"),
        ([{"op": "add", "path": "/spec/items/9", "value": 1}], BadRequest, "out of range"),
        ([{"op": "frobnicate", "path": "/spec"}], BadRequest, "unknown operation"),
        ([{"op": "test", "path": "/spec/a", "value": 2}], Invalid, "test operation failed"),
        ([{"op": "add", "path": "spec", "value": 1}], BadRequest, "must start with '/'"),
    ],
)
def test_json_patch_errors(ops, error, fragment) -> None:
    with pytest.raises(error, match=fragment):
        json_patch(DOC, ops)
