"""Strategic merge patch on Namespaces: what kubectl sends for ``apply``, ``diff`` and ``label`` of core kinds."""

from __future__ import annotations

import pytest

from choreo.errors import BadRequest
from choreo.server.strategic import strategic_merge_patch

LIVE = {
    "metadata": {
        "name": "lab",
        "labels": {"a": "b", "old": "x"},
        "finalizers": ["one", "two"],
        "ownerReferences": [{"uid": "u1", "name": "p1"}, {"uid": "u2", "name": "p2"}],
    },
    "spec": {"finalizers": ["kubernetes"]},
}


def test_maps_merge_and_null_removes() -> None:
    patched = strategic_merge_patch(LIVE, {"metadata": {"labels": {"a": "c", "old": None}}})
    assert patched["metadata"]["labels"] == {"a": "c"}
    assert LIVE["metadata"]["labels"] == {"a": "b", "old": "x"}  # the input is left alone


def test_metadata_lists_merge_by_their_strategy_and_others_are_replaced() -> None:
    patch = {
        "metadata": {
            "finalizers": ["two", "three"],
            "$deleteFromPrimitiveList/finalizers": ["one"],
            "$setElementOrder/finalizers": ["two", "three"],
            "ownerReferences": [{"uid": "u2", "name": "renamed"}, {"uid": "u1", "$patch": "delete"}, {"uid": "u3"}],
        },
        "spec": {"finalizers": ["mine"]},
    }
    patched = strategic_merge_patch(LIVE, patch)
    assert patched["metadata"]["finalizers"] == ["two", "three"]
    assert patched["metadata"]["ownerReferences"] == [{"uid": "u2", "name": "renamed"}, {"uid": "u3"}]
    assert patched["spec"] == {"finalizers": ["mine"]}


def test_replace_delete_and_retain_directives() -> None:
    assert strategic_merge_patch(LIVE, {"spec": {"$patch": "delete"}}).get("spec") is None
    replaced = strategic_merge_patch(LIVE, {"metadata": {"labels": {"$patch": "replace", "z": "1"}}})
    assert replaced["metadata"]["labels"] == {"z": "1"}
    retained = strategic_merge_patch(LIVE, {"metadata": {"$retainKeys": ["name"], "name": "lab"}})
    assert retained["metadata"] == {"name": "lab"}


@pytest.mark.parametrize(
    "patch",
    [{"metadata": {"$patch": "merge-somehow"}}, {"metadata": {"ownerReferences": [{"name": "no uid"}]}}],
)
def test_a_patch_it_cannot_apply_is_refused(patch: dict) -> None:
    with pytest.raises(BadRequest, match="strategic merge patch"):
        strategic_merge_patch(LIVE, patch)
