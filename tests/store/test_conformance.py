"""The backend contract of ``choreo.store.base``, checked against every backend (see conftest)."""

from __future__ import annotations

import hashlib
import json
import threading
import time

import pytest

from choreo.errors import AlreadyExists, Conflict, Invalid, NotFound
from choreo.store import Gone
from choreo.store._common import BaseBackend, encode
from choreo.store.head import Head, head_of
from choreo.store.memory import MemoryBackend

from .conftest import GROUP, KIND, BackendFactory, key, obj, put


class Boom(Exception):
    pass


def rv(o: dict) -> str:
    return o["metadata"]["resourceVersion"]


def names(objects: list[dict]) -> list[tuple[str, str]]:
    return [(o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in objects]


# --- CRUD -------------------------------------------------------------------------------------------


def test_create_stamps_resource_version_and_get_returns_it(backend: BaseBackend) -> None:
    created = backend.create(key("a"), obj("a", size=3))
    assert rv(created) == "1"
    assert created["spec"] == {"size": 3}
    assert backend.get(key("a")) == created
    assert backend.current_revision() == 1


def test_empty_store(backend: BaseBackend) -> None:
    assert backend.get(key("missing")) is None
    assert backend.list(GROUP, KIND) == []
    assert backend.kinds() == []
    assert backend.current_revision() == 0
    assert backend.events_since(0) == []


def test_create_existing_key_is_already_exists(backend: BaseBackend) -> None:
    put(backend, "a")
    with pytest.raises(AlreadyExists, match=r'Widget "a" already exists in namespace "default"'):
        put(backend, "a")
    assert backend.current_revision() == 1


def test_update_replaces_the_object(backend: BaseBackend) -> None:
    put(backend, "a", size=1)
    updated = backend.update(key("a"), obj("a", size=2))
    assert rv(updated) == "2"
    assert backend.get(key("a")) == updated
    assert updated["spec"] == {"size": 2}


def test_update_and_delete_of_missing_object_are_not_found(backend: BaseBackend) -> None:
    with pytest.raises(NotFound, match=r'Widget "ghost" not found in namespace "default"'):
        backend.update(key("ghost"), obj("ghost"))
    with pytest.raises(NotFound, match=r'Widget "ghost" not found'):
        backend.delete(key("ghost"))
    with pytest.raises(NotFound, match=r'^Node "n1" not found$'):
        backend.delete(key("n1", "", kind="Node"))
    assert backend.current_revision() == 0


def test_stale_expected_rv_is_conflict(backend: BaseBackend) -> None:
    put(backend, "a")
    backend.update(key("a"), obj("a", size=2), expected_rv="1")
    message = (
        'Operation cannot be fulfilled on Widget "a": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    with pytest.raises(Conflict) as update_error:
        backend.update(key("a"), obj("a", size=3), expected_rv="1")
    with pytest.raises(Conflict) as delete_error:
        backend.delete(key("a"), expected_rv="1")
    assert str(update_error.value) == str(delete_error.value) == message
    assert backend.get(key("a"))["spec"] == {"size": 2}
    assert backend.current_revision() == 2


def test_matching_expected_rv_succeeds(backend: BaseBackend) -> None:
    put(backend, "a")
    updated = backend.update(key("a"), obj("a", size=2), expected_rv="1")
    backend.delete(key("a"), expected_rv=rv(updated))
    assert backend.get(key("a")) is None


def test_delete_returns_last_state_and_removes(backend: BaseBackend) -> None:
    put(backend, "a", size=1)
    updated = backend.update(key("a"), obj("a", size=2))
    assert backend.delete(key("a")) == updated
    assert backend.get(key("a")) is None
    assert backend.list(GROUP, KIND) == []
    put(backend, "a")  # the key is free again


def test_revision_is_global_and_strictly_increasing(backend: BaseBackend) -> None:
    assert rv(put(backend, "a")) == "1"
    assert rv(put(backend, "b", kind="Gadget")) == "2"
    assert rv(backend.update(key("a"), obj("a"))) == "3"
    backend.delete(key("b", kind="Gadget"))
    assert backend.current_revision() == 4
    assert rv(put(backend, "c", "other")) == "5"


def test_concurrent_writers_get_distinct_revisions(backend: BaseBackend) -> None:
    def writer(n: int) -> None:
        for i in range(20):
            put(backend, f"w{n}-{i}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    revisions = sorted(int(rv(o)) for o in backend.list(GROUP, KIND))
    assert revisions == list(range(1, 121))
    assert [e.revision for e in backend.events_since(0)] == revisions


# --- copies -----------------------------------------------------------------------------------------


def test_input_is_copied_and_not_modified(backend: BaseBackend) -> None:
    original = obj("a", labels={"app": "web"}, size=1)
    backend.create(key("a"), original)
    assert "resourceVersion" not in original["metadata"]
    original["spec"]["size"] = 99
    original["metadata"]["labels"]["app"] = "changed"
    stored = backend.get(key("a"))
    assert stored["spec"] == {"size": 1}
    assert stored["metadata"]["labels"] == {"app": "web"}


def test_returned_objects_are_copies(backend: BaseBackend) -> None:
    created = put(backend, "a", labels={"app": "web"}, size=1)
    created["spec"]["size"] = 10
    backend.get(key("a"))["spec"]["size"] = 11
    backend.list(GROUP, KIND)[0]["metadata"]["labels"]["app"] = "x"
    backend.events_since(0)[0].object["spec"]["size"] = 12
    stored = backend.get(key("a"))
    assert stored["spec"] == {"size": 1}
    assert stored["metadata"]["labels"] == {"app": "web"}
    assert backend.events_since(0)[0].object["spec"] == {"size": 1}

    updated = backend.update(key("a"), obj("a", size=2))
    updated["spec"]["size"] = 13
    deleted = backend.delete(key("a"))
    deleted["spec"]["size"] = 14
    assert [e.object["spec"]["size"] for e in backend.events_since(0)] == [1, 2, 2]


def test_non_json_values_are_rejected(backend: BaseBackend) -> None:
    with pytest.raises(Invalid, match=r"Widget\.example\.com default/a"):
        backend.create(key("a"), obj("a", ports={1, 2}))
    with pytest.raises(Invalid, match="record t/k"):
        backend.put_record("t", "k", object())
    assert backend.get(key("a")) is None
    assert backend.current_revision() == 0
    assert backend.events_since(0) == []


# --- list, kinds, namespaces ------------------------------------------------------------------------


def test_list_sorted_by_namespace_then_name(backend: BaseBackend) -> None:
    for ns, name in [("zeta", "a"), ("alpha", "b"), ("alpha", "a"), ("", "c"), ("mid", "z")]:
        put(backend, name, ns)
    assert names(backend.list(GROUP, KIND)) == [
        ("", "c"),
        ("alpha", "a"),
        ("alpha", "b"),
        ("mid", "z"),
        ("zeta", "a"),
    ]


def test_list_by_namespace(backend: BaseBackend) -> None:
    put(backend, "b", "one")
    put(backend, "a", "one")
    put(backend, "a", "two")
    put(backend, "c", "")
    assert names(backend.list(GROUP, KIND, namespace="one")) == [("one", "a"), ("one", "b")]
    assert names(backend.list(GROUP, KIND, namespace="")) == [("", "c")]
    assert backend.list(GROUP, KIND, namespace="nowhere") == []


def test_list_only_returns_the_requested_kind_and_group(backend: BaseBackend) -> None:
    put(backend, "w")
    put(backend, "g", kind="Gadget")
    backend.create(key("other", group="other.io"), obj("other"))
    assert names(backend.list(GROUP, KIND)) == [("default", "w")]
    assert names(backend.list(GROUP, "Gadget")) == [("default", "g")]
    assert names(backend.list("other.io", KIND)) == [("default", "other")]


def test_list_by_labels_requires_every_label(backend: BaseBackend) -> None:
    put(backend, "both", labels={"app": "web", "tier": "front"})
    put(backend, "app-only", labels={"app": "web"})
    put(backend, "other-app", labels={"app": "db", "tier": "front"})
    put(backend, "unlabelled")
    assert names(backend.list(GROUP, KIND, labels={"app": "web"})) == [
        ("default", "app-only"),
        ("default", "both"),
    ]
    assert names(backend.list(GROUP, KIND, labels={"app": "web", "tier": "front"})) == [("default", "both")]
    assert backend.list(GROUP, KIND, labels={"app": "nope"}) == []
    assert len(backend.list(GROUP, KIND, labels={})) == 4
    assert names(backend.list(GROUP, KIND, namespace="elsewhere", labels={"app": "web"})) == []


def test_kinds_lists_group_kinds_with_objects(backend: BaseBackend) -> None:
    put(backend, "w")
    put(backend, "g", kind="Gadget")
    backend.create(key("n", "", kind="Node", group=""), obj("n", ""))
    assert backend.kinds() == [("", "Node"), (GROUP, "Gadget"), (GROUP, KIND)]
    backend.delete(key("g", kind="Gadget"))
    assert backend.kinds() == [("", "Node"), (GROUP, KIND)]


def test_keys_are_namespace_aware(backend: BaseBackend) -> None:
    put(backend, "same", "one", size=1)
    put(backend, "same", "two", size=2)
    put(backend, "same", "", size=3)
    assert backend.get(key("same", "one"))["spec"] == {"size": 1}
    assert backend.get(key("same", "two"))["spec"] == {"size": 2}
    assert backend.get(key("same", ""))["spec"] == {"size": 3}
    backend.delete(key("same", "one"))
    assert backend.get(key("same", "one")) is None
    assert names(backend.list(GROUP, KIND)) == [("", "same"), ("two", "same")]


# --- heads ------------------------------------------------------------------------------------------


def managed(name: str, *managers: str, owners: tuple[str, ...] = (), **metadata: object) -> dict:
    widget = obj(name, labels={"app": "web", "size": 3})  # a label that is not a string: no selector matches it
    md = widget["metadata"]
    md.update(metadata, uid=f"uid-{name}")
    md["managedFields"] = [{"manager": m, "operation": "Apply", "fieldsV1": {"f:spec": {}}} for m in managers]
    md["ownerReferences"] = [{"uid": uid, "kind": "Owner", "name": uid} for uid in owners]
    return widget


def test_a_head_holds_what_the_engine_reads_of_an_object_without_it(backend: BaseBackend) -> None:
    stored = backend.create(
        key("a"),
        managed("a", "loader", "x", "loader", owners=("u2", "u1"), deletionTimestamp="2026-01-01T00:00:00Z",
                annotations={"z/note": "1", "origin": "{}"}),
    )
    assert backend.head(key("a")) == Head(
        uid="uid-a", version=rv(stored), deleting=True, owners=("u1", "u2"), owner=(None, "Owner", "u2"),
        managers=("loader", "x"), labels={"app": "web"}, annotations=("origin", "z/note"),
    )
    assert backend.head(key("a")) == head_of(backend.view(key("a")))
    assert backend.head(key("missing")) is None
    assert head_of({"kind": "Bare"}) == Head("", "", False, (), None, (), {}, ())
    controlled = managed("c", "m", "l", owners=("u1", "u2"))
    controlled["metadata"]["ownerReferences"][1].update(controller=True, apiVersion="example.com/v1")
    assert head_of(controlled).owner == ("example.com/v1", "Owner", "u2")
    assert head_of(controlled).managers == ("m", "l")


def test_heads_follow_every_write_in_list_order(backend: BaseBackend) -> None:
    for name in ("c", "a", "b"):
        backend.create(key(name), managed(name, "m"))
    backend.create(key("z", "another"), managed("z", "m"))
    updated = backend.update(key("b"), managed("b", "n", owners=("uid-a",)))
    backend.delete(key("c"))
    assert [(k, h.version, h.managers) for k, h in backend.heads(GROUP, KIND)] == [
        (key("z", "another"), "4", ("m",)), (key("a"), "2", ("m",)), (key("b"), rv(updated), ("n",))
    ]
    assert [head_of(o) for o in backend.view_list(GROUP, KIND)] == [h for _k, h in backend.heads(GROUP, KIND)]
    assert backend.heads(GROUP, "Gadget") == []


def test_rollbacks_restore_heads_and_the_owner_index(backend: BaseBackend) -> None:
    backend.create(key("a"), managed("a", "m", owners=("u1",)))
    before = (backend.heads(GROUP, KIND), backend.dependents("u1"), backend.dependents("u2"))
    with pytest.raises(Boom), backend.transaction():
        backend.update(key("a"), managed("a", "n", owners=("u2",)))
        backend.create(key("b"), managed("b", "m", owners=("u1",)))
        with backend.transaction():
            backend.delete(key("a"))
        raise Boom
    assert (backend.heads(GROUP, KIND), backend.dependents("u1"), backend.dependents("u2")) == before


def test_a_label_filter_reads_only_the_objects_it_returns(backend: BaseBackend) -> None:
    put(backend, "web", labels={"app": "web"})
    put(backend, "db", labels={"app": "db"})
    backend.view_list(GROUP, KIND)  # the kind is loaded, nothing is decoded yet past this point
    decoded: list[str] = []
    original = backend._decode_object

    def counting(body: str, what: object) -> dict:
        decoded.append(str(what))
        return original(body, what)

    backend._cache._decode = lambda stored, what: counting(backend._text_of(stored), what)
    for name in ("web", "db"):
        backend.update(key(name), obj(name, labels={"app": name}, size=2))
    decoded.clear()
    assert names(backend.view_list(GROUP, KIND, labels={"app": "web"})) == [("default", "web")]
    assert decoded == [str(key("web"))]


# --- watch ------------------------------------------------------------------------------------------


def test_events_record_every_write_in_order(backend: BaseBackend) -> None:
    put(backend, "a", size=1)
    backend.update(key("a"), obj("a", size=2))
    deleted = backend.delete(key("a"))
    events = backend.events_since(0)
    assert [(e.type, e.revision) for e in events] == [("ADDED", 1), ("MODIFIED", 2), ("DELETED", 3)]
    assert [rv(e.object) for e in events] == ["1", "2", "3"]
    assert events[2].object["spec"] == deleted["spec"] == {"size": 2}
    assert rv(deleted) == "2"  # delete() returns the last stored state; the event carries the delete rv


def test_events_since_a_revision(backend: BaseBackend) -> None:
    for name in "abcd":
        put(backend, name)
    assert [e.revision for e in backend.events_since(2)] == [3, 4]
    assert backend.events_since(4) == []
    assert backend.events_since(100) == []


def test_events_filtered_by_group_and_kind(backend: BaseBackend) -> None:
    put(backend, "w1")
    put(backend, "g1", kind="Gadget")
    backend.create(key("o1", group="other.io"), obj("o1"))
    put(backend, "w2")
    assert [e.object["metadata"]["name"] for e in backend.events_since(0, GROUP, KIND)] == ["w1", "w2"]
    assert [e.revision for e in backend.events_since(1, GROUP, KIND)] == [4]
    assert [e.object["metadata"]["name"] for e in backend.events_since(0, kind=KIND)] == ["w1", "o1", "w2"]
    assert [e.object["metadata"]["name"] for e in backend.events_since(0, group=GROUP)] == ["w1", "g1", "w2"]


def test_history_is_compacted_and_old_revisions_are_gone(backend_factory: BackendFactory) -> None:
    backend = backend_factory(max_events=3)
    for name in "abcdef":
        put(backend, name)
    assert [e.revision for e in backend.events_since(3)] == [4, 5, 6]
    assert [e.revision for e in backend.events_since(5)] == [6]
    with pytest.raises(Gone, match="too old resource version: 2"):
        backend.events_since(2)
    with pytest.raises(Gone):
        backend.events_since(0, GROUP, KIND)


def test_history_without_compaction_is_never_gone(backend_factory: BackendFactory) -> None:
    backend = backend_factory(max_events=10)
    for name in "abc":
        put(backend, name)
    assert len(backend.events_since(0)) == 3


def test_wait_for_change_wakes_up_on_a_write_from_another_thread(backend: BaseBackend) -> None:
    put(backend, "a")
    writer = threading.Timer(0.1, lambda: put(backend, "b"))
    started = time.monotonic()
    writer.start()
    try:
        assert backend.wait_for_change(1, timeout=5.0) is True
    finally:
        writer.join()
    assert time.monotonic() - started < 2.0
    assert backend.current_revision() == 2


def test_wait_for_change_times_out(backend: BaseBackend) -> None:
    put(backend, "a")
    started = time.monotonic()
    assert backend.wait_for_change(1, timeout=0.2) is False
    assert 0.15 <= time.monotonic() - started < 2.0


def test_wait_for_change_returns_at_once_when_already_past(backend: BaseBackend) -> None:
    put(backend, "a")
    started = time.monotonic()
    assert backend.wait_for_change(0, timeout=5.0) is True
    assert time.monotonic() - started < 1.0


# --- transactions -----------------------------------------------------------------------------------


def test_transaction_commits_all_writes(backend: BaseBackend) -> None:
    with backend.transaction():
        put(backend, "a")
        put(backend, "b")
        backend.put_record("t", "k", 1)
    assert names(backend.list(GROUP, KIND)) == [("default", "a"), ("default", "b")]
    assert backend.get_record("t", "k") == 1
    assert [e.revision for e in backend.events_since(0)] == [1, 2]


def test_exception_in_transaction_rolls_everything_back(backend: BaseBackend) -> None:
    put(backend, "keep", size=1)
    put(backend, "doomed")
    backend.put_record("t", "k", "old")
    with pytest.raises(Boom), backend.transaction():
        put(backend, "new")
        backend.update(key("keep"), obj("keep", size=2))
        backend.delete(key("doomed"))
        backend.put_record("t", "k", "new")
        backend.put_record("t", "k2", "new")
        backend.delete_record("t", "k")
        raise Boom
    assert names(backend.list(GROUP, KIND)) == [("default", "doomed"), ("default", "keep")]
    assert backend.get(key("keep"))["spec"] == {"size": 1}
    assert backend.current_revision() == 2
    assert [e.revision for e in backend.events_since(0)] == [1, 2]
    assert list(backend.list_records("t")) == [("k", "old")]
    assert rv(put(backend, "after")) == "3"  # the revision counter was rolled back too


def test_failed_single_write_changes_nothing(backend: BaseBackend) -> None:
    put(backend, "a")
    with pytest.raises(Conflict):
        backend.update(key("a"), obj("a", size=9), expected_rv="7")
    assert backend.current_revision() == 1
    assert len(backend.events_since(0)) == 1


def test_nested_transactions_join_the_outer_one(backend: BaseBackend) -> None:
    with pytest.raises(Boom), backend.transaction():
        put(backend, "outer")
        with backend.transaction():
            put(backend, "inner")
            backend.put_record("t", "inner", True)
        assert backend.get(key("inner")) is not None  # visible inside the outer transaction
        raise Boom
    assert backend.list(GROUP, KIND) == []
    assert backend.get_record("t", "inner") is None
    assert backend.current_revision() == 0
    assert backend.events_since(0) == []


def test_nested_transactions_commit_with_the_outer_one(backend: BaseBackend) -> None:
    with backend.transaction():
        put(backend, "outer")
        with backend.transaction():
            put(backend, "inner")
    assert names(backend.list(GROUP, KIND)) == [("default", "inner"), ("default", "outer")]
    assert backend.current_revision() == 2


def test_caught_inner_failure_undoes_only_the_inner_writes(backend: BaseBackend) -> None:
    with backend.transaction():
        put(backend, "outer")
        with pytest.raises(Boom), backend.transaction():
            put(backend, "inner")
            backend.put_record("t", "inner", 1)
            raise Boom
        with pytest.raises(AlreadyExists):
            put(backend, "outer")
        put(backend, "later")
    assert names(backend.list(GROUP, KIND)) == [("default", "later"), ("default", "outer")]
    assert [o["metadata"]["resourceVersion"] for o in backend.list(GROUP, KIND)] == ["2", "1"]
    assert backend.get_record("t", "inner") is None
    assert [e.revision for e in backend.events_since(0)] == [1, 2]


def test_a_caught_inner_failure_forgets_what_the_transaction_remembered(backend: BaseBackend) -> None:
    # Objects read or written inside a transaction are remembered until it ends: an inner rollback must
    # not leave the rolled-back state (texts, resourceVersions, the revision counter) remembered.
    with backend.transaction():
        put(backend, "a", size=1)
        put(backend, "gone")
        assert rv(backend.get(key("a"))) == "1"
        with pytest.raises(Boom), backend.transaction():
            backend.update(key("a"), obj("a", size=2), expected_rv="1")
            backend.delete(key("gone"))
            assert backend.get(key("gone")) is None
            raise Boom
        assert backend.get(key("a"))["spec"] == {"size": 1}
        assert backend.get(key("gone")) is not None
        with pytest.raises(Conflict):
            backend.update(key("a"), obj("a", size=3), expected_rv="3")
        assert rv(backend.update(key("a"), obj("a", size=3), expected_rv="1")) == "3"
    assert backend.get(key("a"))["spec"] == {"size": 3}
    assert [e.revision for e in backend.events_since(0)] == [1, 2, 3]


def test_a_nested_transaction_that_wrote_only_deeper_down_still_undoes_it(backend: BaseBackend) -> None:
    # Savepoints are set when something writes: a write two levels down sets both missing ones.
    with backend.transaction():
        put(backend, "a")
        with pytest.raises(Boom), backend.transaction():
            assert backend.get(key("a")) is not None  # reads only, at first
            with backend.transaction():
                put(backend, "b")
                backend.put_record("t", "b", 1)
            assert backend.get(key("b")) is not None
            raise Boom
        with pytest.raises(Boom), backend.transaction():  # reads only: nothing to undo
            assert backend.get(key("a")) is not None
            raise Boom
        put(backend, "c")
    assert names(backend.list(GROUP, KIND)) == [("default", "a"), ("default", "c")]
    assert backend.get_record("t", "b") is None
    assert [e.revision for e in backend.events_since(0)] == [1, 2]


def test_levels_begun_by_one_write_each_undo_back_to_their_own_start(backend: BaseBackend) -> None:
    # A first write begins every open level at once (a run, an API call, the store's own write); undoing an
    # inner one keeps the levels around it open: they still commit, or undo their own writes, later.
    with backend.transaction():
        put(backend, "a")
        with pytest.raises(Boom), backend.transaction():
            with pytest.raises(Boom), backend.transaction():
                with backend.transaction():
                    put(backend, "b")
                    backend.put_record("t", "b", 1)
                raise Boom
            assert backend.get(key("b")) is None and backend.get_record("t", "b") is None
            assert rv(put(backend, "c")) == "2"
            with backend.transaction(), backend.transaction():
                put(backend, "kept-until-the-middle-fails")
            raise Boom
        assert backend.get(key("c")) is None
        assert rv(put(backend, "d")) == "2"
    assert names(backend.list(GROUP, KIND)) == [("default", "a"), ("default", "d")]
    assert [e.revision for e in backend.events_since(0)] == [1, 2]
    assert backend.current_revision() == 2


def test_other_threads_do_not_see_an_open_transaction(backend: BaseBackend) -> None:
    seen: list[dict | None] = []
    inside = threading.Event()

    def reader() -> None:
        inside.wait()
        seen.append(backend.get(key("a")))

    thread = threading.Thread(target=reader)
    thread.start()
    with backend.transaction():
        put(backend, "a")
        inside.set()
        time.sleep(0.1)
        backend.update(key("a"), obj("a", size=2))
    thread.join()
    assert seen[0] is not None
    assert seen[0]["spec"] == {"size": 2}  # the reader waited for the commit


# --- records ----------------------------------------------------------------------------------------


def test_records_crud(backend: BaseBackend) -> None:
    assert backend.get_record("runs", "r1") is None
    backend.put_record("runs", "r2", {"ok": True, "steps": [1, 2]})
    backend.put_record("runs", "r1", "first")
    backend.put_record("alloc", "r1", 42)
    assert backend.get_record("runs", "r2") == {"ok": True, "steps": [1, 2]}
    assert list(backend.list_records("runs")) == [("r1", "first"), ("r2", {"ok": True, "steps": [1, 2]})]
    assert backend.record_keys("runs") == ["r1", "r2"] and backend.record_keys("empty") == []
    backend.put_record("runs", "r1", "second")
    assert backend.get_record("runs", "r1") == "second"
    backend.delete_record("runs", "r1")
    backend.delete_record("runs", "never-there")
    assert list(backend.list_records("runs")) == [("r2", {"ok": True, "steps": [1, 2]})]
    assert list(backend.list_records("alloc")) == [("r1", 42)]
    assert list(backend.list_records("empty")) == []


def test_content_records_are_kept_once_under_the_hash_of_their_canonical_json(backend: BaseBackend) -> None:
    value = {"b": [1, "é"], "a": {"y": None, "x": True}}
    key = backend.put_content("blobs", value)
    assert key == hashlib.sha256('{"a":{"x":true,"y":null},"b":[1,"é"]}'.encode()).hexdigest()
    assert backend.put_content("blobs", {"a": {"x": True, "y": None}, "b": [1, "é"]}) == key  # key order is not content
    assert list(backend.list_records("blobs")) == [(key, value)]
    backend.put_record("blobs", key, "left alone")  # a key already there is not written again
    assert backend.put_content("blobs", value) == key and backend.get_record("blobs", key) == "left alone"
    with pytest.raises(Boom), backend.transaction():
        other = backend.put_content("blobs", [2])
        raise Boom
    assert backend.get_record("blobs", other) is None
    with pytest.raises(Invalid, match="record blobs: value is not JSON-compatible"):
        backend.put_content("blobs", {"x": float("nan")})


def test_stored_texts_are_every_object_with_its_canonical_json(backend: BaseBackend) -> None:
    put(backend, "b", size=2)
    put(backend, "a", namespace="other", kind="Gadget")
    put(backend, "a", size=1)
    backend.get(key("b"))  # decoded in the cache: its text comes from the storage
    decode = backend._cache._decode
    backend._cache._decode = lambda _stored, what: pytest.fail(f"{what} was decoded")
    found = list(backend.stored_texts())  # heads and texts: nothing is decoded for them
    backend._cache._decode = decode
    stored = [o for g, k in backend.kinds() for o in backend.view_list(g, k)]
    assert [head for head, _text in found] == [head_of(o) for o in stored]
    for stored_object, (_head, text) in zip(stored, found, strict=True):
        assert text.text == encode(stored_object, "x")
        assert text.key == hashlib.sha256(text.text.encode()).hexdigest()


def test_stored_texts_are_kept_as_put_content_keeps_their_objects(backend: BaseBackend) -> None:
    put(backend, "a", size=1)
    put(backend, "b", text="long " * 100)  # stored compressed by the SQLite backend
    texts = [text for _obj, text in backend.stored_texts()]
    with pytest.raises(Boom), backend.transaction():
        backend.put_texts("blobs", texts)
        raise Boom
    assert backend.record_keys("blobs") == []
    backend.put_record("blobs", texts[0].key, "left alone")  # a key already there is not written again
    backend.put_texts("blobs", texts)
    assert dict(backend.list_records("blobs")) == {texts[0].key: "left alone", texts[1].key: backend.get(key("b"))}
    backend.put_texts("blobs", [])
    other = MemoryBackend()
    other.put_texts("blobs", texts)  # another store's texts are kept in this one's form (SQLite's are packed)
    assert [other.put_content("blobs", o) for o in backend.view_list(GROUP, KIND)] == other.record_keys("blobs")
    assert dict(other.list_records("blobs")) == {text.key: json.loads(text.text) for text in texts}


def test_records_do_not_touch_revisions_or_events(backend: BaseBackend) -> None:
    backend.put_record("t", "k", 1)
    backend.delete_record("t", "k")
    assert backend.current_revision() == 0
    assert backend.events_since(0) == []


def test_record_values_are_copies(backend: BaseBackend) -> None:
    value = {"items": [1]}
    backend.put_record("t", "k", value)
    value["items"].append(2)
    backend.get_record("t", "k")["items"].append(3)
    next(iter(backend.list_records("t")))[1]["items"].append(4)
    assert backend.get_record("t", "k") == {"items": [1]}


def test_record_rollback(backend: BaseBackend) -> None:
    backend.put_record("t", "a", 1)
    with pytest.raises(Boom), backend.transaction():
        backend.put_record("t", "a", 2)
        backend.put_record("t", "b", 2)
        backend.delete_record("t", "a")
        raise Boom
    assert list(backend.list_records("t")) == [("a", 1)]


def test_record_writes_roll_back_with_the_level_that_made_them(backend: BaseBackend) -> None:
    with backend.transaction():
        backend.put_record("t", "outer", 1)
        with pytest.raises(Boom), backend.transaction():
            backend.put_record("t", "inner", 1)
            with backend.transaction():
                backend.put_content("c", {"x": 1})
                backend.delete_record("t", "outer")
            raise Boom
        with backend.transaction():
            with pytest.raises(Boom), backend.transaction():
                backend.put_record("t", "deep", 1)
                raise Boom
            backend.put_record("t", "kept", 2)
        with pytest.raises(Boom), backend.transaction():
            backend.delete_record("t", "kept")
            raise Boom
    assert list(backend.list_records("t")) == [("kept", 2), ("outer", 1)]
    assert list(backend.list_records("c")) == []


def test_close_wakes_up_waiters(backend: BaseBackend) -> None:
    closer = threading.Timer(0.1, backend.close)
    started = time.monotonic()
    closer.start()
    try:
        assert backend.wait_for_change(0, timeout=5.0) is False
    finally:
        closer.join()
    assert time.monotonic() - started < 2.0
    backend.close()  # closing twice is harmless
