"""Incremental reconciles: what makes a reconcile run again, and what lets its last result stand."""

from __future__ import annotations

import json
import re
from typing import Any

from choreo.apiserver.server import APIServer
from choreo.lang.base import ReconcileClient, ReconcileOutput
from choreo.runtime.controller import BoundReconciler, Controller
from choreo.runtime.memo import TASKS_TABLE, ReconcileMemo, written_state
from tests.runtime.conftest import api as new_api
from tests.runtime.test_controller import _clock, _obj, _reconciler

# Lists the red Gadgets (a kind it does not watch), reads Gadget "g0" and owns one Gadget per Widget.
CODE = """
def reconcile(self):
    red = client_list(get_resource("example.com/v1", "Gadget")["resource"], {"spec.team": "red"})
    names = sorted([g["metadata"]["name"] for g in red["resource"]["items"]])
    g0 = client_get("g0", "default", get_resource("example.com/v1", "Gadget")["resource"])
    if not g0["error"]:
        names.append("g0 " + str(g0["resource"]["spec"].get("size", 0)))
    client_create({"apiVersion": "example.com/v1", "kind": "Gadget",
                   "metadata": {"name": self["metadata"]["name"] + "-part"}, "spec": {"team": "none"}})
    self["status"] = {"seen": names}
    return reconcile_result(self, False, 0, "", False)
"""


# Fails its first reconcile of an object (an error result is requeued), succeeds from then on.
WAITING = """
def reconcile(self):
    if self.get("status", {}).get("count"):
        return reconcile_result(self, False, 0, "", False)
    self["status"] = {"count": 1}
    return reconcile_result(self, False, 0, "not yet", False)
"""


# Any HEAD-style reconciler adds its finalizer to its for-object: on a Gadget another reconciler made, a field
# that reconciler does not own (as interface-config does to the Interfaces of the fabric's loopback reconciler).
TAGGER = """
def reconcile(self):
    return reconcile_result(self, False, 0, "", False)
"""


def _run(
    api: APIServer, *reconcilers: BoundReconciler, salt: str = "salt", full: bool = False, concurrent: bool = False,
    memo: ReconcileMemo | None = None,
) -> tuple[int, int]:
    """(reconciles executed, reused) of one batch run (with a memo of its own unless ``memo``)."""
    memo = memo or ReconcileMemo(api, salt, full=full, concurrent=concurrent)
    outcome = Controller(api, list(reconcilers), now=_clock(), memo=memo).run()
    assert outcome.success, outcome.failure
    return sum(e.operation == "START" for e in outcome.events), outcome.reused


def _comparable(api: APIServer) -> str:
    """Every stored object, without what differs between two servers (uids, times)."""
    text = json.dumps(list(api.stored_objects()))
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uid>", text)
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<time>", text)


def _seen(api: APIServer, name: str = "w") -> list[str]:
    return api.get("example.com", "Widget", "default", name)["status"]["seen"]


def _gadget(name: str, **spec: Any) -> dict[str, Any]:
    return _obj("Gadget", name, **spec)


def test_unchanged_inputs_are_reused_until_a_read_object_changes(api: APIServer) -> None:
    api.create(_obj("Widget", "w"))
    r = _reconciler("seer", CODE, owns=["Gadget"])
    assert _run(api, r) == (1, 0)
    stored = api.get("example.com", "Widget", "default", "w")
    assert _run(api, r) == (0, 1)
    assert api.get("example.com", "Widget", "default", "w") == stored  # nothing written either
    api.create(_gadget("g0", size=1))  # absent before: the get saw "absent"
    assert _run(api, r) == (1, 0) and _seen(api) == ["g0 1"]
    api.apply(_gadget("g0", size=2), manager="user")  # changed
    assert _run(api, r) == (1, 0) and _seen(api) == ["g0 2"]
    api.delete("example.com", "Gadget", "default", "g0")  # deleted
    assert _run(api, r) == (1, 0) and _seen(api) == []
    assert _run(api, r) == (0, 1)


def test_a_new_object_a_list_returns_runs_it_again_and_one_it_does_not_return_does_not(api: APIServer) -> None:
    api.create(_obj("Widget", "w"))
    r = _reconciler("seer", CODE, owns=["Gadget"])
    _run(api, r)
    api.create(_gadget("blue", team="blue"))
    assert _run(api, r) == (0, 1)
    api.create(_gadget("red", team="red"))
    assert _run(api, r) == (1, 0) and _seen(api) == ["red"]
    api.apply(_gadget("red", team="blue"), manager="user")  # leaves the list
    assert _run(api, r) == (1, 0) and _seen(api) == []


def test_a_deleted_or_changed_child_is_written_again_by_a_new_memo(api: APIServer) -> None:
    api.create(_obj("Widget", "w"))
    r = _reconciler("seer", CODE, owns=["Gadget"])
    _run(api, r)
    api.delete("example.com", "Gadget", "default", "w-part")
    assert _run(api, r) == (1, 0)
    assert api.get("example.com", "Gadget", "default", "w-part")["spec"] == {"team": "none"}
    api.apply(_gadget("w-part", extra=1), manager="user")  # a field the reconcile does not own: it stays
    assert _run(api, r) == (1, 0)
    assert api.get("example.com", "Gadget", "default", "w-part")["spec"] == {"team": "none", "extra": 1}
    assert _run(api, r) == (0, 1)


def test_a_child_changed_only_where_the_reconciler_owns_nothing_leaves_it_reused_in_the_same_run(
    api: APIServer,
) -> None:
    seer, tagger = _reconciler("seer", CODE, owns=["Gadget"]), _reconciler("tagger", TAGGER, for_kind="Gadget")
    full = new_api.__wrapped__()  # type: ignore[attr-defined]
    for server in (api, full):
        server.create(_obj("Widget", "w"))
    # seer makes w-part, tagger adds its finalizer to it, which queues seer again: reused, not executed
    assert _run(api, seer, tagger) == (2, 1)
    assert _run(full, seer, tagger, full=True) == (3, 0)
    assert api.get("example.com", "Gadget", "default", "w-part")["metadata"]["finalizers"] == ["tagger"]
    assert _comparable(api) == _comparable(full)  # what executing it again gives, resourceVersions included
    assert _run(api, seer, tagger) == (0, 2)  # the record moved to the child's new version


def test_one_memo_writes_a_child_again_when_a_field_its_reconciler_owns_changed(api: APIServer) -> None:
    """A memo that lives on (a server's): a child's change where its reconciler owns nothing leaves it reused;
    a value it owns changed by any write, a taken-over field, a deleted child run it again."""
    api.create(_obj("Widget", "w"))
    seer = _reconciler("seer", CODE, owns=["Gadget"])
    memo = ReconcileMemo(api, "salt")
    assert _run(api, seer, memo=memo) == (1, 0)

    def part() -> dict[str, Any]:
        return api.get("example.com", "Gadget", "default", "w-part")

    changed = part()
    changed["metadata"]["labels"] = {"tier": "gold"}
    api.update(changed, manager="other")  # a field seer does not own
    assert _run(api, seer, memo=memo) == (0, 1)
    changed = part()
    changed["spec"]["team"] = "blue"  # a value seer owns, changed by a write without a field manager
    api.update(changed)
    assert _run(api, seer, memo=memo) == (1, 0) and part()["spec"]["team"] == "none"
    assert _run(api, seer, memo=memo) == (0, 1)
    api.apply(_gadget("w-part", team="none"), manager="other", force=True)  # same value, now owned by other too
    assert _run(api, seer, memo=memo) == (0, 1)
    api.apply(_gadget("w-part", team="green"), manager="other", force=True)  # taken over: seer loses the field
    outcome = Controller(api, [seer], now=_clock(), memo=memo).run()  # executed: its apply conflicts now
    assert outcome.failure == 'Apply failed with 1 conflict: conflict with "other": .spec.team'
    api.delete("example.com", "Gadget", "default", "w-part")
    assert _run(api, seer, memo=memo) == (1, 0) and part()["spec"]["team"] == "none"
    changed = part()
    changed["metadata"]["finalizers"] = ["keep"]
    api.update(changed, manager="other")
    assert _run(api, seer) == (1, 0)  # a new memo does not know how seer's write left the child: it runs


def test_salt_full_and_a_changed_for_object_run_it_again(api: APIServer) -> None:
    api.create(_obj("Widget", "w"))
    r = _reconciler("seer", CODE, owns=["Gadget"])
    _run(api, r)
    assert _run(api, r, salt="another salt") == (1, 0)
    assert _run(api, r, salt="another salt", full=True) == (1, 0)
    assert _run(api, r, salt="another salt") == (0, 1)
    changed = _reconciler("seer", CODE.replace('"none"', '"changed"'), owns=["Gadget"])
    assert _run(api, changed, salt="another salt") == (1, 0)  # the reconciler's code is part of its salt
    api.apply(_obj("Widget", "w", size=3), manager="user")
    assert _run(api, changed, salt="another salt") == (1, 0)


def test_requeued_reconciles_run_again_and_records_of_gone_objects_are_dropped(api: APIServer) -> None:
    api.create(_obj("Widget", "w"))
    api.create(_obj("Widget", "v"))
    waiting = _reconciler("waiting", WAITING)
    assert _run(api, waiting) == (4, 0)  # each object: an error (requeued, run again), then done
    assert _run(api, waiting) == (0, 2)
    r = _reconciler("seer", CODE, owns=["Gadget"])
    _run(api, r)
    assert [key.split("\x1f")[2] for key, _ in api.records.list_records(TASKS_TABLE)] == ["v", "w"]
    api.delete("example.com", "Widget", "default", "v")  # deleting: seer releases it, "waiting" still holds it
    assert _run(api, r) == (1, 1)
    assert [key.split("\x1f")[2] for key, _ in api.records.list_records(TASKS_TABLE)] == ["w"]
    assert _run(api, r) == (1, 1)  # a deleting object is never reused
    api.update({**api.get("example.com", "Widget", "default", "v"), "metadata": {
        **api.get("example.com", "Widget", "default", "v")["metadata"], "finalizers": []}})
    assert _run(api, r) == (0, 1) and api.try_get("example.com", "Widget", "default", "v") is None
    assert [key.split("\x1f")[2] for key, _ in api.records.list_records(TASKS_TABLE)] == ["w"]


class Meddled:
    """An engine during whose reconcile someone else changes the for-object's spec (a server's client)."""

    def __init__(self, api: APIServer) -> None:
        self.api, self.writes = api, 0

    def reconcile(self, obj: dict[str, Any], client: ReconcileClient) -> ReconcileOutput:
        self.writes += 1
        self.api.apply(_obj("Widget", "w", size=self.writes), manager="someone-else")
        return ReconcileOutput(obj)


def test_a_concurrent_write_to_what_a_reconcile_read_is_not_taken_for_its_own(api: APIServer) -> None:
    api.create(_obj("Widget", "w"))
    seer = _reconciler("seer", CODE, owns=["Gadget"])
    meddled = BoundReconciler(seer.config, Meddled(api))
    assert _run(api, meddled, concurrent=True) == (1, 0)
    assert _run(api, meddled, concurrent=True) == (1, 0)  # it never saw size 1: not recorded, run again
    assert _run(api, meddled) == (1, 0)  # a batch run has no one else writing: what happened is its own
    assert _run(api, meddled) == (0, 1)


def test_settled_means_the_next_run_reuses_every_reconcile(api: APIServer) -> None:
    api.create(_obj("Widget", "w"))
    r = _reconciler("seer", CODE, owns=["Gadget"])
    memo = ReconcileMemo(api, "salt")
    controller = Controller(api, [r], now=_clock(), memo=memo)
    assert controller.run().success
    assert memo.settled(controller.work())
    api.create(_gadget("blue", team="blue"))  # no reconcile reads it
    assert memo.settled(controller.work())
    api.create(_gadget("red", team="red"))  # the list of red Gadgets changed: w would run again
    assert not memo.settled(controller.work())
    assert _run(api, r) == (1, 0)
    memo = ReconcileMemo(api, "salt")
    assert memo.settled(Controller(api, [r], now=_clock(), memo=memo).work())
    api.create(_obj("Widget", "v"))  # a reconcile without a record
    assert not memo.settled(Controller(api, [r], now=_clock(), memo=memo).work())
    assert not ReconcileMemo(api, "another salt").settled(Controller(api, [r], now=_clock()).work())


def test_what_a_memo_observed_is_seen_again_after_each_write_that_concerns_it(api: APIServer) -> None:
    """One memo across writes: its kept observations follow each change (a get, a list, a child that loses
    its owner reference, a rolled-back write)."""
    api.create(_obj("Widget", "w"))
    r = _reconciler("seer", CODE, owns=["Gadget"])
    _run(api, r)  # a first run: its memo drops what it observed at each write
    memo = ReconcileMemo(api, "salt")  # one that starts with records follows the writes
    controller = Controller(api, [r], now=_clock(), memo=memo)
    assert controller.run().success and memo.settled(controller.work())
    api.create(_gadget("other", team="blue"))  # concerns nothing it observed
    assert memo.settled(controller.work())
    part = api.get("example.com", "Gadget", "default", "w-part")
    part["metadata"]["ownerReferences"] = []
    api.update(part, manager="someone")  # w's children changed, though the event does not name w
    assert not memo.settled(controller.work())
    assert controller.run().success and memo.settled(controller.work())
    api.create(_gadget("g0", size=1))  # the get of g0 saw it absent
    assert not memo.settled(controller.work())
    assert controller.run().success and memo.settled(controller.work())
    try:
        with api.transaction():
            api.apply(_gadget("red", team="red"), manager="user")  # would change the list of red Gadgets
            assert not memo.settled(controller.work())
            raise RuntimeError("undo")
    except RuntimeError:
        pass
    assert memo.settled(controller.work())


# Owns one Gadget per Widget and reads nothing else: only its children query concerns the Gadgets.
MAKER = """
def reconcile(self):
    client_create({"apiVersion": "example.com/v1", "kind": "Gadget",
                   "metadata": {"name": self["metadata"]["name"] + "-part"}, "spec": {"team": "none"}})
    return reconcile_result(self, False, 0, "", False)
"""


def test_a_run_from_a_fixpoint_checks_only_the_records_a_write_since_concerns(api: APIServer) -> None:
    """Every record held at the revision the run starts from: only those a later write concerns are looked at
    again — also through an owner reference the write removed (its event no longer names the owner), and
    through a write made after a rolled-back one reused its revision."""
    api.create(_obj("Widget", "w"))
    api.create(_obj("Widget", "v"))
    r = _reconciler("maker", MAKER, owns=["Gadget"])
    memo = ReconcileMemo(api, "salt")
    controller = Controller(api, [r], now=_clock(), memo=memo)
    assert controller.run().success and memo.settled(controller.work())
    held_at = api.events.current_revision()
    with api.transaction():  # a batch run: one transaction, begun at the fixpoint
        memo = ReconcileMemo(api, "salt", held_at=held_at)
        looked_at: list[tuple[str, ...]] = []
        seen_now = memo._seen_now
        memo._seen_now = lambda queries: looked_at.append(tuple(queries)) or seen_now(queries)  # type: ignore[method-assign]
        controller = Controller(api, [r], now=_clock(), memo=memo)
        assert memo.settled(controller.work()) and looked_at == []
        api.create(_gadget("loose", team="blue"))  # owned by nobody, read by nobody
        assert memo.settled(controller.work()) and looked_at == []
        part = api.get("example.com", "Gadget", "default", "w-part")
        part["metadata"]["ownerReferences"] = []
        api.update(part, manager="someone")  # w's children changed; the event names no owner
        assert not memo.settled(controller.work())
        assert [q for queries in looked_at for q in queries if '"children"' in q] != []
        looked_at.clear()
        assert controller.run().success and memo.settled(controller.work())
        try:
            with api.transaction():
                api.apply(_gadget("spare", team="red"), manager="user")
                assert memo.settled(controller.work())  # the memo follows the events up to this write
                raise RuntimeError("undo")
        except RuntimeError:
            pass
        looked_at.clear()
        api.delete("example.com", "Gadget", "default", "v-part")  # at the revision the undone write had
        assert not memo.settled(controller.work())
        assert any(_run_key_of(queries) == "v" for queries in looked_at)


def _run_key_of(queries: tuple[str, ...]) -> str:
    """The for-object a record's queries name (its get of a Widget)."""
    return next(json.loads(q)[4] for q in queries if q.startswith('["get","example.com","Widget"'))


# Reads Gadget "g0" and nothing else.
GETTER = """
def reconcile(self):
    g0 = client_get("g0", "default", get_resource("example.com/v1", "Gadget")["resource"])
    self["status"] = {"seen": [] if g0["error"] else ["g0"]}
    return reconcile_result(self, False, 0, "", False)
"""


def test_a_run_from_a_fixpoint_sees_a_new_object_a_list_or_a_get_would_return(api: APIServer) -> None:
    api.create(_obj("Widget", "w"))
    lister = _reconciler("seer", CODE, owns=["Gadget"])  # lists the red Gadgets (and reads g0)
    getter = _reconciler("getter", GETTER)
    for r, new in ((lister, _gadget("red", team="red")), (getter, _gadget("g0", size=1))):
        memo = ReconcileMemo(api, "salt")
        controller = Controller(api, [r], now=_clock(), memo=memo)
        assert controller.run().success and memo.settled(controller.work())
        held_at = api.events.current_revision()
        try:
            with api.transaction():  # a batch run from the fixpoint, undone after the look
                memo = ReconcileMemo(api, "salt", held_at=held_at)
                controller = Controller(api, [r], now=_clock(), memo=memo)
                assert memo.settled(controller.work())
                api.create(_gadget("loose", team="blue"))  # of the kind, but neither listed nor read
                assert memo.settled(controller.work())  # looked at again (a list of its kind) or not, it holds
                api.create(new)
                assert not memo.settled(controller.work()), new["metadata"]["name"]
                raise RuntimeError("undo")
        except RuntimeError:
            pass


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    owned = {"f:spec": {f"f:{name}": {} for name in spec}}
    return {
        "apiVersion": "example.com/v1", "kind": "Gadget", "spec": spec,
        "metadata": {"name": "g", "uid": "u1", "managedFields": [
            {"manager": "r", "operation": "Apply", "fieldsV1": owned},
        ]},
    }


def test_written_state_tells_apart_every_value_the_store_can_hold() -> None:
    """The digest of what a reconcile wrote changes with any owned value: null, numbers of each JSON type,
    and integers beyond 64 bits (which the store keeps exactly) among them."""
    values = [None, 0, 1, 1.0, True, "1", "", [], {}, [None], 2**64, 2**70, 2**70 + 1, -(2**70)]
    digests = [written_state(_child({"size": value}), "r") for value in values]
    assert None not in digests
    assert len(set(digests)) == len(values)
    assert written_state(_child({"size": 2**70}), "r") == written_state(_child({"size": 2**70}), "r")
    assert written_state(_child({"size": 1}), "other") != written_state(_child({"size": 1}), "r")
