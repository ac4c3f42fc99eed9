"""The controller: outcomes, conditions, finalizer eras, requeues, watches, order and loop detection."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from choreo.apiserver.server import APIServer
from choreo.lang.starlark_engine import StarlarkReconciler
from choreo.loader.project import ReconcilerConfig, ResourceSelector
from choreo.runtime.controller import GROUPED_CHILDREN, BoundReconciler, Controller
from choreo.runtime.memo import ReconcileMemo
from choreo.store.memory import MemoryBackend
from tests.runtime.conftest import _crd


def _obj(kind: str, name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": kind, "metadata": {"name": name, "namespace": "default"},
            "spec": spec}


def _sel(kind: str, selector: dict[str, Any] | None = None) -> ResourceSelector:
    return ResourceSelector("example.com", "v1", kind, selector if selector is not None else {})


def _reconciler(name: str, code: str, *, for_kind: str = "Widget", condition_type: str = "",
                owns: list[str] = (), watches: list[ResourceSelector] = ()) -> BoundReconciler:
    config = ReconcilerConfig(name=name, source=f"{name}.star", type="starlark", for_=_sel(for_kind),
                              owns=[_sel(k) for k in owns], watches=list(watches),
                              code={"reconciler.star": code}, condition_type=condition_type)
    return BoundReconciler(config, StarlarkReconciler(name, code, f"{name}.star", {}, time_limit=5))


def _clock():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ticks = itertools.count()
    return lambda: start + timedelta(seconds=next(ticks))


def _run(api: APIServer, *reconcilers: BoundReconciler, **kwargs: Any):
    return Controller(api, list(reconcilers), now=_clock(), **kwargs).run()


def _ops(outcome) -> list[tuple[str, str, str]]:
    return [(e.reconciler, e.resource, e.operation) for e in outcome.events]


COUNT = """
def reconcile(self):
    status = self.get("status", {})
    status["count"] = status.get("count", 0) + 1
    self["status"] = status
    return reconcile_result(self, False, 0, "", False)
"""


def test_success_sets_ready_and_keeps_transition_time(api: APIServer) -> None:
    api.create(_obj("Widget", "w"))
    r = _reconciler("count", COUNT, condition_type="Ready")
    assert _run(api, r).success
    first = api.get("example.com", "Widget", "default", "w")
    ready = first["status"]["conditions"][0]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "True", "Ready")
    assert first["metadata"]["finalizers"] == ["count"]
    _run(api, _reconciler("count", COUNT, condition_type="Ready"))
    second = api.get("example.com", "Widget", "default", "w")
    assert second["status"]["count"] == 2
    assert second["status"]["conditions"][0]["lastTransitionTime"] == ready["lastTransitionTime"]


def test_error_result_sets_failed_condition_and_requeues_until_bound(api: APIServer) -> None:
    api.create(_obj("Widget", "w"))
    code = 'def reconcile(self):\n    return reconcile_result(self, True, 0, "not yet", False)\n'
    outcome = _run(api, _reconciler("wait", code, condition_type="Ready"), max_reconciles=5)
    assert not outcome.success
    assert "reconcile loop" in outcome.failure
    assert "its last message: not yet" in outcome.failure
    assert [op for _, _, op in _ops(outcome)].count("REQUEUE") == 5
    cond = api.get("example.com", "Widget", "default", "w")["status"]["conditions"][0]
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Failed", "not yet")


def test_requeue_after_runs_in_virtual_time(api: APIServer) -> None:
    api.create(_obj("Widget", "w"))
    code = """
def reconcile(self):
    status = self.get("status", {})
    n = status.get("count", 0) + 1
    self["status"] = {"count": n}
    if n < 3:
        return reconcile_result(self, False, 30, "Ready", "", False)
    return reconcile_result(self, False, 0, "Ready", "", False)
"""
    outcome = _run(api, _reconciler("later", code))
    assert outcome.success
    assert [op for _, _, op in _ops(outcome)] == ["START", "REQUEUE", "START", "REQUEUE", "START", "STOP"]
    assert api.get("example.com", "Widget", "default", "w")["status"]["count"] == 3


def test_fatal_result_fails_the_run_with_task_id(api: APIServer) -> None:
    api.create(_obj("Widget", "w"))
    code = 'def reconcile(self):\n    return reconcile_result(self, False, 0, "broken beyond repair", True)\n'
    outcome = _run(api, _reconciler("boom", code))
    assert outcome.failure == "broken beyond repair"
    assert outcome.failed_task == "boom.Widget.example.com.w"


EX_ERA = """
FIN = "example.com/cleanup"

def reconcile(self):
    if self["metadata"].get("deletionTimestamp"):
        client_delete()
        self = del_finalizer(self, FIN)["resource"]
        return reconcile_result(self, False, 0, "Ready", "", False)
    self = add_finalizer(self, FIN)["resource"]
    client_create({"apiVersion": "example.com/v1", "kind": "Gadget",
                   "metadata": {"name": self["metadata"]["name"] + "-g", "namespace": "default"}, "spec": {}})
    client_apply()
    return reconcile_result(self, False, 0, "Ready", "", False)
"""


def test_ex_era_user_finalizers_and_deletion(api: APIServer) -> None:
    api.create(_obj("Widget", "w"))
    r = _reconciler("ex", EX_ERA, owns=["Gadget"])
    assert _run(api, r).success
    w = api.get("example.com", "Widget", "default", "w")
    assert w["metadata"]["finalizers"] == ["example.com/cleanup"]  # no reconciler-name finalizer in EX era
    assert w["status"]["conditions"][0]["type"] == "Ready"
    assert api.get("example.com", "Gadget", "default", "w-g")["metadata"]["ownerReferences"][0]["name"] == "w"
    api.delete("example.com", "Widget", "default", "w")
    assert _run(api, _reconciler("ex", EX_ERA, owns=["Gadget"])).success
    assert api.list("example.com", "Widget") == []
    assert api.list("example.com", "Gadget") == []


def test_children_no_longer_produced_are_removed(api: APIServer) -> None:
    api.create(_obj("Widget", "w", parts=["a", "b"]))
    code = """
def reconcile(self):
    for part in self["spec"]["parts"]:
        client_create({"apiVersion": "example.com/v1", "kind": "Gadget",
                       "metadata": {"name": part}, "spec": {"of": self["metadata"]["name"]}})
    return reconcile_result(self, False, 0, "", False)
"""
    assert _run(api, _reconciler("parts", code, owns=["Gadget"])).success
    assert [g["metadata"]["name"] for g in api.list("example.com", "Gadget")] == ["a", "b"]
    api.apply(_obj("Widget", "w", parts=["b"]), manager="user", force=True)
    assert _run(api, _reconciler("parts", code, owns=["Gadget"])).success
    gadgets = api.list("example.com", "Gadget")
    assert [g["metadata"]["name"] for g in gadgets] == ["b"]
    assert len(gadgets[0]["metadata"]["ownerReferences"]) == 1


SELF_KIND = """
def reconcile(self):
    md = self["metadata"]
    if not md["name"].endswith("-part"):
        client_create({"apiVersion": "example.com/v1", "kind": "Widget",
                       "metadata": {"name": md["name"] + "-part"}, "spec": {"size": self["spec"]["size"] * 2}})
    self["status"] = {"count": 1}
    return reconcile_result(self, False, 0, "", False)
"""


def test_a_child_of_the_reconcilers_own_kind_keeps_its_spec_and_its_status(api: APIServer) -> None:
    # The parent's reconcile applies the child's spec, the child's own reconcile its status and finalizer, both
    # as manager "w": neither write may drop what the other applied, or they undo each other without end.
    api.create(_obj("Widget", "w", size=3))
    outcome = _run(api, _reconciler("w", SELF_KIND, owns=["Widget"], condition_type="Ready"))
    assert outcome.success
    starts = [resource for _, resource, op in _ops(outcome) if op == "START"]
    assert starts == ["example.com.Widget.default.w", "example.com.Widget.default.w-part",
                      "example.com.Widget.default.w"]  # the last one re-applies the child as it is
    part = api.get("example.com", "Widget", "default", "w-part")
    assert part["spec"] == {"size": 6}
    assert [ref["name"] for ref in part["metadata"]["ownerReferences"]] == ["w"]
    assert part["status"]["count"] == 1 and part["status"]["conditions"][0]["status"] == "True"
    assert part["metadata"]["finalizers"] == ["w"]
    api.apply(_obj("Widget", "w", size=5), manager="user", force=True)
    assert _run(api, _reconciler("w", SELF_KIND, owns=["Widget"], condition_type="Ready")).success
    part = api.get("example.com", "Widget", "default", "w-part")
    assert part["spec"] == {"size": 10} and part["status"]["count"] == 1 and part["metadata"]["finalizers"] == ["w"]


@pytest.mark.parametrize(("touched", "expected"), [("trigger", 2), ("other", 1)])
def test_literal_watch_selector_filters_the_watched_object(api: APIServer, touched: str, expected: int) -> None:
    for name in ("w1", "w2"):
        api.create(_obj("Widget", name))
    api.create(_obj("Gadget", "trigger"))
    api.create(_obj("Gadget", "other"))
    watch = _sel("Gadget", {"match": {"metadata.name": "trigger"}})
    code = """
def reconcile(self):
    g = client_list(get_resource("example.com/v1", "Gadget")["resource"], {})["resource"]["items"]
    self["status"] = {"seen": sorted([x["metadata"]["name"] for x in g])}
    return reconcile_result(self, False, 0, "", False)
"""
    bump = """
def reconcile(self):
    client_update({"apiVersion": "example.com/v1", "kind": "Gadget",
                   "metadata": {"name": self["metadata"]["name"], "namespace": "default"},
                   "spec": {"touched": True}})
    return reconcile_result(self, False, 0, "", False)
"""
    toucher = _reconciler("b-toucher", bump, for_kind="Gadget")
    toucher.config.for_ = _sel("Gadget", {"match": {"metadata.name": touched}})
    toucher = BoundReconciler(toucher.config, toucher.engine)
    outcome = _run(api, _reconciler("a-watcher", code, watches=[watch]), toucher)
    assert outcome.success
    starts = [(r, res) for r, res, op in _ops(outcome) if op == "START"]
    assert starts.count(("a-watcher", "example.com.Widget.default.w1")) == expected
    assert starts.count(("a-watcher", "example.com.Widget.default.w2")) == expected


def test_processing_order_is_stable() -> None:
    def fresh_run() -> list[tuple[str, str, str]]:
        api = APIServer(MemoryBackend())
        api.register_crd(_crd("Widget", "widgets"))
        for name in ("c", "a", "b"):
            api.create(_obj("Widget", name))
        return _ops(_run(api, _reconciler("z", COUNT), _reconciler("y", COUNT)))

    first = fresh_run()
    starts = [(r, res.rsplit(".", 1)[1]) for r, res, op in first if op == "START"]
    assert starts[:6] == [("y", "a"), ("y", "b"), ("y", "c"), ("z", "a"), ("z", "b"), ("z", "c")]
    assert fresh_run() == first


def test_a_child_controlled_by_another_object_is_not_taken_over(api: APIServer) -> None:
    for name in ("a", "b"):
        api.create(_obj("Widget", name))
    code = """
def reconcile(self):
    client_create({"apiVersion": "example.com/v1", "kind": "Gadget",
                   "metadata": {"name": "shared"}, "spec": {}})
    return reconcile_result(self, False, 0, "", False)
"""
    outcome = _run(api, _reconciler("grab", code, owns=["Gadget"]))
    assert outcome.failed_task == "grab.Widget.example.com.b"
    assert outcome.failure == (
        "reconciler grab: Gadget.example.com default/shared is already controlled by Widget a; "
        "two objects cannot own the same child"
    )
    owner = api.get("example.com", "Gadget", "default", "shared")["metadata"]["ownerReferences"]
    assert [ref["name"] for ref in owner] == ["a"]


class _CountingBackend(MemoryBackend):
    """Counts the transactions committed to the storage (the outermost ones): a server's store syncs to disk
    once for each."""

    def __init__(self) -> None:
        super().__init__()
        self.commits = 0

    def _commit(self, depth: int) -> None:
        super()._commit(depth)
        self.commits += depth == 0


def _counting_api() -> tuple[APIServer, _CountingBackend]:
    backend = _CountingBackend()
    api = APIServer(backend)
    for crd in (_crd("Widget", "widgets"), _crd("Gadget", "gadgets")):
        api.register_crd(crd)
    return api, backend


PARTS = """
def reconcile(self):
    for part in self["spec"]["parts"]:
        client_create({"apiVersion": "example.com/v1", "kind": "Gadget",
                       "metadata": {"name": part}, "spec": {"of": self["metadata"]["name"]}})
    self["status"] = {"count": len(self["spec"]["parts"])}
    return reconcile_result(self, False, 0, "", False)
"""


def test_what_a_reconcile_writes_after_its_reconciler_returned_is_committed_once() -> None:
    """Outside a run's transaction (a server), a reconcile's children, its for-object's status and condition
    and its memo record reach the storage in one commit, not one each."""
    api, backend = _counting_api()
    api.create(_obj("Widget", "w", parts=["a", "b", "c"]))
    backend.commits = 0
    outcome = _run(api, _reconciler("parts", PARTS, owns=["Gadget"], condition_type="Ready"),
                   memo=ReconcileMemo(api, "salt", concurrent=True))
    assert outcome.success
    assert _ops(outcome) == [("parts", "example.com.Widget.default.w", op) for op in ("START", "STOP")]
    assert backend.commits == 1
    assert [g["metadata"]["name"] for g in api.list("example.com", "Gadget")] == ["a", "b", "c"]
    widget = api.get("example.com", "Widget", "default", "w")
    assert widget["status"]["count"] == 3
    assert widget["status"]["conditions"][0]["type"] == "Ready"


def test_the_writes_before_a_failed_one_are_kept_as_when_each_was_committed_alone() -> None:
    """A child the API refuses fails the reconcile; the children applied before it stay stored."""
    api, _backend = _counting_api()
    api.create(_obj("Widget", "w", parts=["a", "Not_A_Name", "c"]))
    outcome = _run(api, _reconciler("parts", PARTS, owns=["Gadget"]))
    assert not outcome.success
    assert outcome.failed_task == "parts.Widget.example.com.w"
    assert "Not_A_Name" in outcome.failure
    assert [g["metadata"]["name"] for g in api.list("example.com", "Gadget")] == ["a"]


def test_a_reconcile_with_more_children_than_grouped_commits_each_write_on_its_own() -> None:
    """A server answers nothing else while a transaction is open: past ``GROUPED_CHILDREN`` children, each
    write of a reconcile's results (every child, the status, the memo's record) is committed alone."""
    api, backend = _counting_api()
    parts = [f"p{i}" for i in range(GROUPED_CHILDREN + 1)]
    api.create(_obj("Widget", "w", parts=parts))
    backend.commits = 0
    outcome = _run(api, _reconciler("parts", PARTS, owns=["Gadget"], condition_type="Ready"),
                   memo=ReconcileMemo(api, "salt", concurrent=True))
    assert outcome.success
    assert backend.commits == len(parts) + 2
    assert len(api.list("example.com", "Gadget")) == len(parts)
