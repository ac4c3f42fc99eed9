"""Server-side apply: merging, ownership, conflicts, removal and managedFields bookkeeping."""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from choreo.apiserver import ssa
from choreo.apiserver.fieldpath import format_path
from choreo.apiserver.ssa import (
    ApplyConflict,
    apply,
    fields_owned_by,
    prune_to_manager,
    remove_foreign_fields,
    strip_managed_fields,
    update,
    with_own_fields,
)
from choreo.errors import Conflict, Invalid


class FakeSchema:
    """Stands in for openapi.SchemaInfo: the metadata rules plus a few spec/status lists."""

    LISTS: dict[tuple[str, ...], tuple[str, tuple[str, ...]]] = {
        ("metadata", "finalizers"): ("set", ()),
        ("metadata", "ownerReferences"): ("map", ("uid",)),
        ("metadata", "managedFields"): ("atomic", ()),
        ("status", "conditions"): ("map", ("type",)),
        ("spec", "tags"): ("set", ()),
    }
    ATOMIC_MAPS = {("spec", "selector")}

    def list_type(self, path: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
        return self.LISTS.get(path, ("atomic", ()))

    def map_type(self, path: tuple[str, ...]) -> str:
        return "atomic" if path in self.ATOMIC_MAPS else "granular"


SEM = FakeSchema()


def widget(metadata: dict[str, Any] | None = None, **sections: Any) -> dict[str, Any]:
    """A Widget named default/w with the given extra metadata and top-level sections."""
    meta = {"name": "w", "namespace": "default", **(metadata or {})}
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": meta, **sections}


def cond(kind: str, status: str) -> dict[str, str]:
    return {"type": kind, "status": status}


def ref(uid: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Parent", "name": name, "uid": uid, **extra}


def owned(obj: dict[str, Any], manager: str) -> set[str]:
    return {format_path(path) for path in fields_owned_by(obj, manager)}


def entries(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(e["manager"], e["operation"], e["time"]) for e in obj["metadata"].get("managedFields", [])]


def run(steps: list[tuple[str, dict[str, Any]]], live: dict[str, Any] | None = None) -> dict[str, Any]:
    """Apply each (manager, intent) in turn at times t1, t2, ...; intent is widget() keyword args."""
    for i, (manager, intent) in enumerate(steps, start=1):
        live = apply(live, widget(**intent), manager, SEM, now=f"t{i}")
    assert live is not None
    return live


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True)


# --------------------------------------------------------------------------------------------------
# merge and ownership scenarios


@dataclass
class Case:
    id: str
    steps: list[tuple[str, dict[str, Any]]]
    want: dict[str, Any]
    owners: dict[str, set[str]]
    live: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case(
        "create",
        [("alice", {"spec": {"x": 1, "y": {"z": 2}}})],
        widget(spec={"x": 1, "y": {"z": 2}}),
        {"alice": {".spec.x", ".spec.y.z"}},
    ),
    Case(
        "two-managers-different-fields",
        [("alice", {"spec": {"x": 1}}), ("bob", {"spec": {"y": 2}})],
        widget(spec={"x": 1, "y": 2}),
        {"alice": {".spec.x"}, "bob": {".spec.y"}},
    ),
    Case(
        "dropped-field-is-removed",
        [("alice", {"spec": {"x": 1, "y": 2}}), ("alice", {"spec": {"x": 1}})],
        widget(spec={"x": 1}),
        {"alice": {".spec.x"}},
    ),
    Case(
        "nested-map-removal-prunes-empty-parents",
        [("alice", {"spec": {"a": {"b": {"c": 1}}, "x": 1}}), ("alice", {"spec": {"x": 1}})],
        widget(spec={"x": 1}),
        {"alice": {".spec.x"}},
    ),
    Case(
        "dropping-everything-removes-the-section",
        [("alice", {"spec": {"a": {"b": 1}}}), ("alice", {})],
        widget(),
        {"alice": set()},
    ),
    Case(
        "dropping-co-owned-field-keeps-it",
        [("alice", {"spec": {"x": 1}}), ("bob", {"spec": {"x": 1}}), ("alice", {})],
        widget(spec={"x": 1}),
        {"alice": set(), "bob": {".spec.x"}},
    ),
    Case(
        "shared-ownership-on-same-value",
        [("alice", {"spec": {"x": 1, "y": 1}}), ("bob", {"spec": {"x": 1}})],
        widget(spec={"x": 1, "y": 1}),
        {"alice": {".spec.x", ".spec.y"}, "bob": {".spec.x"}},
    ),
    Case(
        "unowned-fields-are-kept",
        [("alice", {"spec": {"x": 1}}), ("alice", {"spec": {"y": 2}})],
        widget(spec={"legacy": True, "y": 2}),
        {"alice": {".spec.y"}},
        live=widget(spec={"legacy": True}),
    ),
    Case(
        "conditions-list-map-two-managers",
        [
            ("alice", {"status": {"conditions": [cond("Ready", "True")]}}),
            ("bob", {"status": {"conditions": [cond("Synced", "True")]}}),
            ("alice", {"status": {"conditions": [cond("Ready", "False")]}}),
        ],
        widget(status={"conditions": [cond("Ready", "False"), cond("Synced", "True")]}),
        {
            "alice": {
                '.status.conditions[type="Ready"]',
                '.status.conditions[type="Ready"].type',
                '.status.conditions[type="Ready"].status',
            },
            "bob": {
                '.status.conditions[type="Synced"]',
                '.status.conditions[type="Synced"].type',
                '.status.conditions[type="Synced"].status',
            },
        },
    ),
    Case(
        "conditions-dropped-item-is-removed",
        [
            ("alice", {"status": {"conditions": [cond("Ready", "True")]}}),
            ("bob", {"status": {"conditions": [cond("Synced", "True")]}}),
            ("alice", {"status": {"phase": "Running"}}),
        ],
        widget(status={"conditions": [cond("Synced", "True")], "phase": "Running"}),
        {
            "alice": {".status.phase"},
            "bob": {
                '.status.conditions[type="Synced"]',
                '.status.conditions[type="Synced"].type',
                '.status.conditions[type="Synced"].status',
            },
        },
    ),
    Case(
        "condition-item-fields-merge-per-field",
        [
            ("alice", {"status": {"conditions": [cond("Ready", "True")]}}),
            ("bob", {"status": {"conditions": [{"type": "Ready", "message": "ok"}]}}),
        ],
        widget(status={"conditions": [{"type": "Ready", "status": "True", "message": "ok"}]}),
        {
            "alice": {
                '.status.conditions[type="Ready"]',
                '.status.conditions[type="Ready"].type',
                '.status.conditions[type="Ready"].status',
            },
            "bob": {
                '.status.conditions[type="Ready"]',
                '.status.conditions[type="Ready"].type',
                '.status.conditions[type="Ready"].message',
            },
        },
    ),
    Case(
        "finalizers-set-union",
        [
            ("alice", {"metadata": {"finalizers": ["a", "b"]}}),
            ("bob", {"metadata": {"finalizers": ["c", "a"]}}),
        ],
        widget(metadata={"finalizers": ["a", "b", "c"]}),
        {
            "alice": {'.metadata.finalizers[="a"]', '.metadata.finalizers[="b"]'},
            "bob": {'.metadata.finalizers[="a"]', '.metadata.finalizers[="c"]'},
        },
    ),
    Case(
        "finalizer-dropped-unless-co-owned",
        [
            ("alice", {"metadata": {"finalizers": ["a", "b"]}}),
            ("bob", {"metadata": {"finalizers": ["c", "a"]}}),
            ("alice", {"metadata": {"labels": {"app": "w"}}}),
        ],
        widget(metadata={"finalizers": ["a", "c"], "labels": {"app": "w"}}),
        {
            "alice": {".metadata.labels.app"},
            "bob": {'.metadata.finalizers[="a"]', '.metadata.finalizers[="c"]'},
        },
    ),
    Case(
        "owner-references-merged-by-uid",
        [
            ("alice", {"metadata": {"ownerReferences": [ref("u1", "p1")]}}),
            ("bob", {"metadata": {"ownerReferences": [ref("u2", "p2")]}}),
            ("alice", {"metadata": {"ownerReferences": [ref("u1", "p1", controller=True)]}}),
        ],
        widget(metadata={"ownerReferences": [ref("u1", "p1", controller=True), ref("u2", "p2")]}),
        {
            "alice": {
                '.metadata.ownerReferences[uid="u1"]',
                *(
                    f'.metadata.ownerReferences[uid="u1"].{name}'
                    for name in ("apiVersion", "kind", "name", "uid", "controller")
                ),
            },
            "bob": {
                '.metadata.ownerReferences[uid="u2"]',
                *(
                    f'.metadata.ownerReferences[uid="u2"].{name}'
                    for name in ("apiVersion", "kind", "name", "uid")
                ),
            },
        },
    ),
    Case(
        "atomic-list-replaced-whole",
        [("alice", {"spec": {"ports": [80, 443]}}), ("alice", {"spec": {"ports": [8080]}})],
        widget(spec={"ports": [8080]}),
        {"alice": {".spec.ports"}},
    ),
    Case(
        "atomic-map-replaced-whole",
        [
            ("alice", {"spec": {"selector": {"a": "1", "b": "2"}}}),
            ("alice", {"spec": {"selector": {"a": "1"}}}),
        ],
        widget(spec={"selector": {"a": "1"}}),
        {"alice": {".spec.selector"}},
    ),
    Case(
        "set-list-in-spec-keeps-live-order-appends-new",
        [("alice", {"spec": {"tags": ["x", "y"]}}), ("bob", {"spec": {"tags": ["z", "y", "w"]}})],
        widget(spec={"tags": ["x", "y", "z", "w"]}),
        {
            "alice": {'.spec.tags[="x"]', '.spec.tags[="y"]'},
            "bob": {'.spec.tags[="y"]', '.spec.tags[="z"]', '.spec.tags[="w"]'},
        },
    ),
    Case(
        "empty-map-in-intent-is-owned",
        [("alice", {"spec": {"opts": {}}})],
        widget(spec={"opts": {}}),
        {"alice": {".spec.opts"}},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_apply_scenarios(case: Case) -> None:
    result = run(case.steps, live=copy.deepcopy(case.live))
    assert strip_managed_fields(result) == case.want
    for manager, paths in case.owners.items():
        assert owned(result, manager) == paths, manager


# --------------------------------------------------------------------------------------------------
# conflicts


CONFLICTS = [
    (
        "single-field",
        [("alice", {"spec": {"x": 1}})],
        {"spec": {"x": 2}},
        [("alice", ".spec.x")],
        'Apply failed with 1 conflict: conflict with "alice": .spec.x',
    ),
    (
        "two-managers",
        [("alice", {"spec": {"x": 1}}), ("carol", {"spec": {"y": 1}})],
        {"spec": {"x": 2, "y": 2}},
        [("alice", ".spec.x"), ("carol", ".spec.y")],
        'Apply failed with 2 conflicts: conflict with "alice": .spec.x; conflict with "carol": .spec.y',
    ),
    (
        "condition-status",
        [("alice", {"status": {"conditions": [cond("Ready", "True")]}})],
        {"status": {"conditions": [cond("Ready", "False")]}},
        [("alice", '.status.conditions[type="Ready"].status')],
        'Apply failed with 1 conflict: conflict with "alice": .status.conditions[type="Ready"].status',
    ),
    (
        "atomic-list",
        [("alice", {"spec": {"ports": [80]}})],
        {"spec": {"ports": [80, 443]}},
        [("alice", ".spec.ports")],
        'Apply failed with 1 conflict: conflict with "alice": .spec.ports',
    ),
    (
        "atomic-map",
        [("alice", {"spec": {"selector": {"a": "1"}}})],
        {"spec": {"selector": {"b": "2"}}},
        [("alice", ".spec.selector")],
        'Apply failed with 1 conflict: conflict with "alice": .spec.selector',
    ),
    (
        "map-replaced-by-scalar",
        [("alice", {"spec": {"a": {"b": 1}}})],
        {"spec": {"a": 5}},
        [("alice", ".spec.a.b")],
        'Apply failed with 1 conflict: conflict with "alice": .spec.a.b',
    ),
]


@pytest.mark.parametrize(
    ("setup", "intent", "conflicts", "message"),
    [c[1:] for c in CONFLICTS],
    ids=[c[0] for c in CONFLICTS],
)
def test_apply_conflicts(setup: list, intent: dict, conflicts: list, message: str) -> None:
    live = run(setup)
    before = copy.deepcopy(live)
    with pytest.raises(ApplyConflict) as info:
        apply(live, widget(**intent), "bob", SEM, now="t9")
    assert info.value.conflicts == conflicts
    assert str(info.value) == message
    assert isinstance(info.value, Conflict) and info.value.code == 409
    assert live == before


def test_conflict_with_update_manager() -> None:
    live = update(None, widget(spec={"x": 1}), "kubectl-edit", SEM, now="t1")
    with pytest.raises(ApplyConflict) as info:
        apply(live, widget(spec={"x": 2}), "alice", SEM, now="t2")
    assert info.value.conflicts == [("kubectl-edit", ".spec.x")]


def test_force_takes_over_ownership() -> None:
    live = run([("alice", {"spec": {"x": 1, "y": 1}})])
    result = apply(live, widget(spec={"x": 2}), "bob", SEM, now="t2", force=True)
    assert result["spec"] == {"x": 2, "y": 1}
    assert owned(result, "alice") == {".spec.y"}
    assert owned(result, "bob") == {".spec.x"}
    # The loser keeps its timestamp: only its field set shrank.
    assert entries(result) == [("alice", "Apply", "t1"), ("bob", "Apply", "t2")]


def test_force_with_all_fields_taken_removes_the_losers_entry() -> None:
    live = run([("alice", {"spec": {"x": 1}})])
    result = apply(live, widget(spec={"x": 2}), "bob", SEM, now="t2", force=True)
    assert entries(result) == [("bob", "Apply", "t2")]


def test_same_manager_never_conflicts_with_itself() -> None:
    live = update(None, widget(spec={"x": 1}), "alice", SEM, now="t1")
    result = apply(live, widget(spec={"x": 2}), "alice", SEM, now="t2")
    assert result["spec"] == {"x": 2}
    assert entries(result) == [("alice", "Apply", "t2")]


# --------------------------------------------------------------------------------------------------
# update()


def test_update_transfers_ownership_of_changed_fields() -> None:
    live = run([("alice", {"spec": {"x": 1, "y": 1}})])
    edited = strip_managed_fields(live)
    edited["spec"]["x"] = 5
    result = update(live, edited, "kubectl-edit", SEM, now="t2")
    assert strip_managed_fields(result) == edited
    assert owned(result, "alice") == {".spec.y"}
    assert owned(result, "kubectl-edit") == {".spec.x"}
    assert entries(result) == [("alice", "Apply", "t1"), ("kubectl-edit", "Update", "t2")]
    # alice re-asserting her old value now conflicts with the editor.
    with pytest.raises(ApplyConflict, match=r'conflict with "kubectl-edit": \.spec\.x'):
        apply(result, widget(spec={"x": 1, "y": 1}), "alice", SEM, now="t3")


@pytest.mark.parametrize(
    ("change", "alice", "editor"),
    [
        (lambda o: o["spec"].pop("y"), {".spec.x"}, set()),
        (lambda o: o["spec"].update(z=3), {".spec.x", ".spec.y"}, {".spec.z"}),
        (
            lambda o: o.update(status={"conditions": [cond("Ready", "True")]}),
            {".spec.x", ".spec.y"},
            {
                '.status.conditions[type="Ready"]',
                '.status.conditions[type="Ready"].type',
                '.status.conditions[type="Ready"].status',
            },
        ),
        (lambda o: None, {".spec.x", ".spec.y"}, set()),
    ],
    ids=["removed-field-leaves-all-sets", "added-field", "added-list-item", "no-change"],
)
def test_update_ownership(change: Any, alice: set[str], editor: set[str]) -> None:
    live = run([("alice", {"spec": {"x": 1, "y": 1}})])
    edited = strip_managed_fields(live)
    change(edited)
    result = update(live, edited, "editor", SEM, now="t2")
    assert owned(result, "alice") == alice
    assert owned(result, "editor") == editor


def test_update_create_and_subresource_entry() -> None:
    created = update(None, widget(spec={"x": 1}), "creator", SEM, now="t1")
    assert owned(created, "creator") == {".spec.x"}
    with_status = copy.deepcopy(created)
    with_status["status"] = {"phase": "Ready"}
    result = update(created, with_status, "ctrl", SEM, now="t2", subresource="status")
    assert result["metadata"]["managedFields"][1] == {
        "apiVersion": "example.com/v1",
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:status": {"f:phase": {}}},
        "manager": "ctrl",
        "operation": "Update",
        "subresource": "status",
        "time": "t2",
    }


def test_update_noop_keeps_managed_fields_and_time() -> None:
    live = update(None, widget(spec={"x": 1}), "creator", SEM, now="t1")
    again = update(live, strip_managed_fields(live), "creator", SEM, now="t2")
    assert dumps(again) == dumps(live)


# --------------------------------------------------------------------------------------------------
# managedFields bookkeeping


def test_create_writes_one_apply_entry() -> None:
    result = run([("alice", {"metadata": {"labels": {"app": "w"}}, "spec": {"x": 1}})])
    assert result == {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {
            "name": "w",
            "namespace": "default",
            "labels": {"app": "w"},
            "managedFields": [
                {
                    "apiVersion": "example.com/v1",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:x": {}}},
                    "manager": "alice",
                    "operation": "Apply",
                    "time": "t1",
                }
            ],
        },
        "spec": {"x": 1},
    }


def test_noop_apply_is_byte_identical() -> None:
    live = run(
        [
            ("alice", {"spec": {"x": 1}, "status": {"conditions": [cond("Ready", "True")]}}),
            ("bob", {"metadata": {"finalizers": ["b"]}, "spec": {"y": 2}}),
        ]
    )
    again = apply(
        live, widget(spec={"x": 1}, status={"conditions": [cond("Ready", "True")]}), "alice", SEM, now="t9"
    )
    assert again == live
    assert dumps(again) == dumps(live)
    assert again is live  # nothing changes: the live object itself, no copy


@pytest.mark.parametrize(
    ("second", "alice_time"),
    [
        ({"spec": {"x": 1}}, "t1"),
        ({"spec": {"x": 2}}, "t2"),
        ({"spec": {"x": 1, "y": 2}}, "t2"),
        ({"spec": {"x": 1, "legacy": True}}, "t2"),
    ],
    ids=["same-intent", "value-changed", "field-added", "unowned-value-claimed"],
)
def test_entry_time_moves_only_on_change(second: dict, alice_time: str) -> None:
    start = widget(spec={"legacy": True})
    live = apply(start, widget(spec={"x": 1}), "alice", SEM, now="t1")
    result = apply(live, widget(**second), "alice", SEM, now="t2")
    assert entries(result) == [("alice", "Apply", alice_time)]


def test_other_managers_apply_keeps_entry_order_and_times() -> None:
    live = run([("alice", {"spec": {"x": 1}}), ("bob", {"spec": {"y": 1}}), ("alice", {"spec": {"x": 2}})])
    assert entries(live) == [("alice", "Apply", "t3"), ("bob", "Apply", "t2")]


def test_empty_entry_is_removed() -> None:
    live = run([("alice", {"spec": {"x": 1}}), ("alice", {})])
    assert "managedFields" not in live["metadata"]
    assert live == widget()


def test_subresource_apply_gets_its_own_entry() -> None:
    live = run([("alice", {"spec": {"x": 1}})])
    result = apply(live, widget(status={"phase": "Ready"}), "alice", SEM, now="t2", subresource="status")
    managed = result["metadata"]["managedFields"]
    assert [(e["manager"], e.get("subresource", "")) for e in managed] == [("alice", ""), ("alice", "status")]
    assert managed[1]["fieldsV1"] == {"f:status": {"f:phase": {}}}
    # Dropping the status intent of the status entry leaves the main entry alone.
    cleared = apply(result, widget(), "alice", SEM, now="t3", subresource="status")
    assert strip_managed_fields(cleared) == widget(spec={"x": 1})


def test_identity_fields_are_never_owned_or_removed() -> None:
    live = widget(
        metadata={"uid": "u-1", "resourceVersion": "7", "generation": 2, "creationTimestamp": "t0"},
        spec={"x": 1},
    )
    intent = widget(metadata={"uid": "ignored", "resourceVersion": "ignored"}, spec={"x": 1})
    result = apply(live, intent, "alice", SEM, now="t1")
    assert result["metadata"] | {"managedFields": None} == live["metadata"] | {"managedFields": None}
    assert owned(result, "alice") == {".spec.x"}
    assert apply(result, widget(), "alice", SEM, now="t2")["metadata"]["uid"] == "u-1"


def test_apply_is_deterministic_and_pure() -> None:
    live = run([("alice", {"spec": {"x": 1}, "metadata": {"finalizers": ["a"]}})])
    intent = widget(
        metadata={"finalizers": ["c", "b"]}, status={"conditions": [cond("B", "1"), cond("A", "2")]}
    )
    snapshot = (dumps(live), dumps(intent))
    first = apply(live, intent, "bob", SEM, now="t2")
    second = apply(copy.deepcopy(live), copy.deepcopy(intent), "bob", SEM, now="t2")
    assert dumps(first) == dumps(second)
    assert (dumps(live), dumps(intent)) == snapshot
    assert first["metadata"]["finalizers"] == ["a", "c", "b"]
    first["status"]["conditions"].append("mutated")
    assert intent["status"]["conditions"] == [cond("B", "1"), cond("A", "2")]


def _containers(value: Any) -> set[int]:
    """The ids of every dict and list in ``value``, itself included."""
    if isinstance(value, dict):
        return {id(value)}.union(*(_containers(v) for v in value.values()))
    if isinstance(value, list):
        return {id(value)}.union(*(_containers(v) for v in value))
    return set()


def test_apply_result_shares_no_container_with_live_or_intent() -> None:
    # The API server passes its intent without copying it and then defaults and stamps the result.
    live = run([("alice", {"spec": {"x": {"y": [1]}}, "metadata": {"labels": {"a": "b"}}})])
    intents = [
        widget(spec={"x": {"y": [1]}}, metadata={"labels": {"a": "b"}}),  # alice's no-op
        widget(spec={"w": {"y": [2]}, "z": [{"k": 1}]}, status={"conditions": [cond("A", "1")]}),  # a change
    ]
    for manager, intent in zip(("alice", "bob"), intents, strict=True):
        for base in (live, None):
            result = apply(base, intent, manager, SEM, now="t2")
            if result is base:  # alice's no-op on live: the caller tells it by identity and copies nothing
                assert (manager, base) == ("alice", live)
                continue
            assert not _containers(result) & (_containers(intent) | _containers(base))


# --------------------------------------------------------------------------------------------------
# helpers for reconcilers


def test_prune_to_manager_keeps_only_own_fields() -> None:
    live = run(
        [
            ("alice", {"spec": {"x": 1, "a": {"b": 2}}, "status": {"conditions": [cond("Ready", "True")]}}),
            (
                "bob",
                {
                    "spec": {"y": 2},
                    "status": {"conditions": [{"type": "Ready", "message": "m"}]},
                    "metadata": {"finalizers": ["f"]},
                },
            ),
        ]
    )
    assert prune_to_manager(live, "alice", SEM) == widget(
        spec={"x": 1, "a": {"b": 2}}, status={"conditions": [cond("Ready", "True")]}
    )
    assert prune_to_manager(live, "bob", SEM) == widget(
        metadata={"finalizers": ["f"]},
        spec={"y": 2},
        status={"conditions": [{"type": "Ready", "message": "m"}]},
    )
    assert prune_to_manager(live, "nobody", SEM) == widget()
    # Re-applying the pruned intent is a no-op.
    assert apply(live, prune_to_manager(live, "alice", SEM), "alice", SEM, now="t9") == live


def test_strip_managed_fields_copies() -> None:
    live = run([("alice", {"spec": {"x": 1}})])
    stripped = strip_managed_fields(live)
    assert stripped == widget(spec={"x": 1})
    assert "managedFields" in live["metadata"]


def test_fields_owned_by_unions_all_entries_of_a_manager() -> None:
    live = run([("alice", {"spec": {"x": 1}})])
    edited = strip_managed_fields(live)
    edited["spec"]["y"] = 2
    live = update(live, edited, "alice", SEM, now="t2")
    assert owned(live, "alice") == {".spec.x", ".spec.y"}
    assert [(m, op) for m, op, _ in entries(live)] == [("alice", "Apply"), ("alice", "Update")]


# --------------------------------------------------------------------------------------------------
# a create copies its intent instead of merging it node by node


CREATE_INTENTS = {
    "plain": widget({"labels": {"a": "b"}}, spec={"x": {"y": [1, {"z": None}]}, "tags": ["a", "b"]}),
    "identity-fields-sent": widget({"uid": "u", "resourceVersion": "9", "generation": 3}, spec={"x": 1}),
    "unusual-key-order": {"spec": {"b": 1, "a": 2}, "metadata": {"labels": {}, "name": "w"}, "kind": "Widget",
                          "apiVersion": "example.com/v1"},
    "no-metadata-identity": {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"labels": {"a": "b"}}},
    "atomic-map": widget(spec={"selector": {"matchLabels": {"a": "b"}}}),
    "empty-containers": widget({"finalizers": []}, spec={}, status={"conditions": []}),
    "repeated-set-value": widget({"finalizers": ["f", "f"]}, spec={"tags": ["a", "b", "a"]}),
    "repeated-list-map-key": widget(status={"conditions": [cond("A", "1"), cond("B", "2"), cond("A", "3")]}),
    "repeated-owner": widget({"ownerReferences": [ref("u1", "p"), ref("u1", "q")]}),
    "list-map-item-not-an-object": widget(status={"conditions": [cond("A", "1"), "text", ["x", "x"]]}),
    "metadata-not-a-map": {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": None, "spec": {"x": 1}},
}


@pytest.mark.parametrize("intent", CREATE_INTENTS.values(), ids=CREATE_INTENTS.keys())
def test_a_create_is_what_merging_into_nothing_makes(intent: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    copied = apply(None, intent, "alice", SEM, now="t1")
    monkeypatch.setattr("choreo.apiserver.ssa._copy_of_intent", lambda _applied: None)  # always merge
    merged = apply(None, intent, "alice", SEM, now="t1")
    assert json.dumps(copied) == json.dumps(merged)  # key order included
    assert not _containers(copied) & _containers(intent)


# --------------------------------------------------------------------------------------------------
# shortcuts against the long way, on random objects


class RandomSchema(FakeSchema):
    """FakeSchema with more list kinds under spec, for random objects."""

    LISTS = {
        **FakeSchema.LISTS,
        ("spec", "items"): ("map", ("name",)),
        ("spec", "pairs"): ("map", ("k1", "k2")),
        ("spec", "m", "tags"): ("set", ()),
    }


RANDOM_SEM = RandomSchema()


def _random_scalar(rng: random.Random) -> Any:
    return rng.choice(["a", "b", "", 0, 1, 1.0, 2.5, True, False, None])


def _random_map(rng: random.Random, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in rng.sample(["a", "b", "c", "m", "tags", "items", "pairs", "selector", "raw"], rng.randint(0, 4)):
        out[name] = _random_value(rng, name, depth)
    return out


def _random_value(rng: random.Random, name: str, depth: int) -> Any:
    roll = rng.random()
    if roll < 0.15 or depth > 2:
        return _random_scalar(rng)
    if name == "tags":
        return [rng.choice(["x", "y", "z", 1, {"o": 1}]) for _ in range(rng.randint(0, 3))]
    if name == "items":
        return [{"name": rng.choice(["p", "q", "r"]), **_random_map(rng, depth + 1)} for _ in range(rng.randint(0, 3))]
    if name == "pairs":
        return [{"k1": rng.choice(["x", 1]), "k2": rng.choice([True, None]), "v": _random_scalar(rng)}
                for _ in range(rng.randint(0, 2))]
    if name == "raw":
        return [_random_scalar(rng) for _ in range(rng.randint(0, 2))]
    return _random_map(rng, depth + 1)


def _random_intent(rng: random.Random, before: dict[str, Any] | None) -> dict[str, Any]:
    """An intent: often one applied before (no-op candidates), or one changed a little, or a new one."""
    roll = rng.random()
    if before is not None and roll < 0.3:
        return copy.deepcopy(before)
    if before is not None and roll < 0.6:
        return _with_lookalike(rng, copy.deepcopy(before))
    if before is not None and roll < 0.8:
        changed = copy.deepcopy(before)
        section = changed.setdefault("spec", {})
        if isinstance(section, dict):
            name = rng.choice(["a", "b", "m", "tags", "items", "selector"])
            if name in section and rng.random() < 0.5:
                del section[name]
            else:
                section[name] = _random_value(rng, name, 1)
        return changed
    metadata: dict[str, Any] = {}
    if rng.random() < 0.3:
        metadata["finalizers"] = rng.sample(["f1", "f2", "f3"], rng.randint(0, 2))
    if rng.random() < 0.3:
        metadata["labels"] = {rng.choice(["l1", "l2"]): rng.choice(["v", "w"])}
    sections = {"spec": _random_map(rng, 0)}
    if rng.random() < 0.3:
        sections["status"] = {"conditions": [cond(rng.choice(["Ready", "Synced"]), rng.choice(["True", "False"]))]}
    return widget(metadata, **sections)


LOOKALIKES: list[Any] = [1, 1.0, True, "1", 0, 0.0, False, None, "", [], {}]


def _with_lookalike(rng: random.Random, intent: dict[str, Any]) -> dict[str, Any]:
    """``intent`` with one scalar replaced by another that Python may find equal (1, 1.0, True) or not."""
    leaves: list[tuple[Any, Any]] = []

    def collect(node: Any) -> None:
        for place, value in (node.items() if isinstance(node, dict) else enumerate(node)):
            if isinstance(value, dict | list):
                collect(value)
            elif place not in ("name", "namespace", "apiVersion", "kind"):
                leaves.append((node, place))

    collect(intent)
    if leaves:
        node, place = rng.choice(leaves)
        node[place] = rng.choice(LOOKALIKES)
    return intent


def _with_item_twice(rng: random.Random, live: dict[str, Any]) -> None:
    """A stored list-map with an item twice, the copy a little different (stored under an older schema)."""
    items = live.get("spec", {}).get("items") if isinstance(live.get("spec"), dict) else None
    if isinstance(items, list) and items and isinstance(items[0], dict):
        twin = {**items[0], rng.choice(["a", "b"]): rng.choice(LOOKALIKES)}
        if len(twin) > 1 and rng.random() < 0.5:
            del twin[rng.choice([name for name in twin if name != "name"])]
        items.insert(rng.choice([0, len(items)]), twin)


def _no_op_the_long_way(live: dict[str, Any], intent: dict[str, Any], manager: str, subresource: str) -> bool:
    """Whether an apply changes nothing, by flattening both objects whole: the definition the shortcut keeps."""
    sem = ssa._Semantics(RANDOM_SEM)
    owned: set[Any] = set()
    applied_flat = ssa._flatten(intent, sem, owned)
    entries = ssa._read_entries(live)
    previous = ssa._find_or_add(entries, (manager, ssa.APPLY, subresource)).fields
    live_flat = ssa._flatten(live, sem)
    return owned == previous and all(live_flat.get(p) == applied_flat.get(p) for p in owned)


def _outcome(call: Any) -> Any:
    try:
        return json.dumps(call())  # key order included
    except ApplyConflict as conflict:
        return str(conflict)


def test_shortcuts_give_what_the_long_way_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    """An apply tells a no-op by following the live object along its intent, and flattens only what the intent
    and the fields it drops can change: on random objects, intents and managers, it does what flattening both
    objects whole does (the same no-op verdicts, the same results, the same conflicts)."""
    rng = random.Random(20261204)
    verdicts = {True: 0, False: 0}
    for _round in range(50):
        live: dict[str, Any] | None = None
        last: dict[tuple[str, str], dict[str, Any]] = {}
        for step in range(12):
            manager, subresource = rng.choice(["alice", "bob"]), rng.choice(["", "", "", "", "", "status"])
            intent = _random_intent(rng, last.get((manager, subresource)))
            force = rng.random() < 0.5
            if live is not None and rng.random() < 0.15:
                _with_item_twice(rng, live)

            def call(live: Any = live, intent: Any = intent, manager: str = manager, subresource: str = subresource,
                     force: bool = force, step: int = step) -> dict[str, Any]:
                return apply(live, intent, manager, RANDOM_SEM, now=f"t{step}", force=force, subresource=subresource)

            if live is not None:
                try:
                    verdict = call() is live
                except ApplyConflict:
                    verdict = False
                assert verdict == _no_op_the_long_way(live, intent, manager, subresource), (live, intent, manager)
                verdicts[verdict] += 1
            fast = _outcome(call)
            with monkeypatch.context() as patched:
                patched.setattr(ssa, "_restricted", lambda value, *_args, **_kwargs: value)
                assert _outcome(call) == fast
            if not fast.startswith("Apply failed"):
                live = json.loads(fast)
                last[(manager, subresource)] = intent
    assert min(verdicts.values()) > 20  # both outcomes were tried many times


def test_a_damaged_entry_of_another_manager_is_refused_by_a_no_op_apply_too() -> None:
    live = apply(None, widget(spec={"x": 1}), "alice", SEM, now="t1")
    live["metadata"]["managedFields"].insert(
        0, {"manager": "bob", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"spec": {}}}
    )
    with pytest.raises(Invalid, match="managedFields: invalid field path element 'spec'"):
        apply(live, widget(spec={"x": 1}), "alice", SEM, now="t2")


def test_remove_foreign_fields_drops_what_other_appliers_own() -> None:
    live = apply(None, widget(spec={"x": 1, "y": 2}), "alice", SEM, now="t1")
    live = apply(live, widget(spec={"z": 3}), "bob", SEM, now="t2")
    live = update(live, {**live, "spec": {**live["spec"], "w": 4}}, "editor", SEM, now="t3")
    returned = widget({"finalizers": ["bob"]}, spec={"x": 9, "z": 3, "w": 5, "new": 6})
    kept = remove_foreign_fields(returned, live, "bob", SEM)
    # alice applied x: not bob's to set; the editor's w (an Update) and what nobody owns stay in bob's intent
    assert kept == widget({"finalizers": ["bob"]}, spec={"z": 3, "w": 5, "new": 6})
    assert remove_foreign_fields(widget(), live, "bob", SEM) == widget()


def test_with_own_fields_adds_what_the_manager_applied_before_outside_or_under_the_named_paths() -> None:
    live = apply(None, widget({"labels": {"a": "1"}}, spec={"x": 1}), "alice", SEM, now="t1")
    live = apply(live, widget({"finalizers": ["bob"]}, spec={"y": 2}, status={"s": 1}), "bob", SEM, now="t2")
    live = apply(live, widget(status={"t": 2}), "bob", SEM, now="t3", subresource="status")
    # bob's main-resource Apply entry holds spec.y, the finalizer and status.s; its status entry and alice's
    # fields are never added
    assert with_own_fields(widget(status={"s": 5}), live, "bob", SEM, besides=[("status",)]) == widget(
        {"finalizers": ["bob"]}, spec={"y": 2}, status={"s": 5})
    assert with_own_fields(widget(spec={"y": 3}), live, "bob", SEM, under=[("status",)]) == widget(
        spec={"y": 3}, status={"s": 1})
    assert with_own_fields(widget(spec={"y": 3}), live, "bob", SEM,
                           under=[("status",), ("metadata", "finalizers")], besides=[("status",)]) == widget(
        {"finalizers": ["bob"]}, spec={"y": 3})
    assert with_own_fields(widget(), live, "carol", SEM) == widget()


def test_remove_foreign_fields_refuses_damaged_managed_fields_even_for_an_empty_intent() -> None:
    live = apply(None, widget(spec={"x": 1}), "alice", SEM, now="t1")
    live["metadata"]["managedFields"].append({"manager": "bob", "operation": "Update", "fieldsV1": {"f:spec": []}})
    for intent in (widget(), widget(spec={"y": 1})):
        with pytest.raises(Invalid, match="fieldsV1 node 'f:spec' must be a JSON object"):
            remove_foreign_fields(intent, live, "carol", SEM)
