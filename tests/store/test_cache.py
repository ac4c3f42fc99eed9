"""The object cache every backend reads through: shared views, copies, exact rollback, the owner index, and
freshness when another process writes the same SQLite file."""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from choreo.api.objects import ObjectKey
from choreo.store._common import BaseBackend
from choreo.store.cache import UNREAD, KindObjects
from choreo.store.head import head_of
from choreo.store.sqlite import SqliteBackend

from .conftest import GROUP, KIND, key, obj, put

Opener = Callable[..., SqliteBackend]


class Boom(Exception):
    pass


def owned(name: str, *owners: str, size: int = 1) -> dict[str, Any]:
    child = obj(name, size=size)
    child["metadata"]["ownerReferences"] = [{"uid": uid, "kind": "Owner", "name": uid} for uid in owners]
    return child


def state(backend: BaseBackend) -> tuple[Any, ...]:
    """Everything a reader can see of the objects: views, copies, listings per namespace, owners."""
    return (
        backend.view_list(GROUP, KIND),
        backend.list(GROUP, KIND),
        backend.view_list(GROUP, KIND, "default"),
        backend.view_list(GROUP, KIND, "other"),
        [backend.view(key(n)) for n in ("a", "b", "c")],
        [backend.dependents(uid) for uid in ("u1", "u2", "u3")],
        backend.kinds(),
        backend.current_revision(),
    )


def test_mutating_any_returned_object_never_changes_the_store(backend: BaseBackend) -> None:
    # Reads are served from decoded objects kept in memory: each answer must still be the caller's own.
    put(backend, "a", labels={"app": "web"}, size=1)
    answers = [
        backend.get(key("a")),
        backend.list(GROUP, KIND)[0],
        backend.list(GROUP, KIND, "default", {"app": "web"})[0],
        backend.update(key("a"), obj("a", labels={"app": "web"}, size=1)),
    ]
    with backend.transaction():
        answers.append(backend.get(key("a")))
        answers.append(backend.list(GROUP, KIND)[0])
    for answer in answers:
        answer["spec"]["size"] = 99
        answer["metadata"]["labels"]["app"] = "changed"
        answer["metadata"]["resourceVersion"] = "0"
    for seen in (backend.get(key("a")), backend.view(key("a")), backend.view_list(GROUP, KIND)[0]):
        assert seen["spec"] == {"size": 1}
        assert seen["metadata"]["labels"] == {"app": "web"}
        assert seen["metadata"]["resourceVersion"] == "2"
    deleted = backend.delete(key("a"))
    deleted["spec"]["size"] = 98
    assert [e.object["spec"]["size"] for e in backend.events_since(0)] == [1, 1, 1]


def test_views_are_the_stored_objects_themselves_until_they_change(backend: BaseBackend) -> None:
    put(backend, "a", size=1)
    first = backend.view(key("a"))
    assert first is backend.view(key("a")) is backend.view_list(GROUP, KIND)[0]
    assert backend.get(key("a")) == first and backend.get(key("a")) is not first
    backend.update(key("a"), obj("a", size=2))
    assert backend.view(key("a"))["spec"] == {"size": 2}
    assert first["spec"] == {"size": 1}  # a view taken earlier is a snapshot, never changed in place
    assert backend.view(key("missing")) is None


def test_rollbacks_at_any_depth_restore_exactly_what_readers_saw(backend: BaseBackend) -> None:
    put(backend, "a", size=1)
    backend.create(key("b"), owned("b", "u1"))
    before = state(backend)
    with pytest.raises(Boom), backend.transaction():
        backend.update(key("a"), obj("a", size=2))
        with backend.transaction():
            backend.create(key("c"), owned("c", "u1", "u2"))
            backend.create(key("x", "other"), obj("x", "other"))
        with pytest.raises(Boom), backend.transaction():
            backend.delete(key("b"))
            backend.update(key("c"), owned("c", "u3"))
            assert backend.dependents("u3") == [key("c")]
            raise Boom
        middle = state(backend)
        assert backend.dependents("u1") == [key("b"), key("c")]
        assert backend.dependents("u2") == [key("c")]
        assert backend.dependents("u3") == []
        raise Boom
    assert state(backend) == before
    assert before[5] == [[key("b")], [], []]
    assert middle != before


def test_an_object_written_many_times_in_a_transaction_keeps_one_version_to_undo(open_sqlite: Opener) -> None:
    # A batch run is one transaction: the versions of an object in between must not stay in memory until it ends.
    backend = open_sqlite()
    put(backend, "a", size=0)
    padding = ["x" * 20] * 500  # each version, decoded, takes about 40 KB
    with pytest.raises(Boom), backend.transaction():
        backend.view(key("a"))
        tracemalloc.start()
        for size in range(1, 100):
            with backend.transaction():
                backend.update(key("a"), obj("a", size=size, padding=padding))
            assert backend.view(key("a"))["spec"]["size"] == size  # the cached version is decoded now
        held, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        raise Boom
    assert backend.view(key("a"))["spec"] == {"size": 0}
    assert held < 500_000  # a few versions; one per write would be about 4 MB


def test_the_owner_index_follows_every_write(backend: BaseBackend) -> None:
    assert backend.dependents("u1") == []  # built now, on an empty store, and kept current from then on
    backend.create(key("b"), owned("b", "u1"))
    backend.create(key("a", "other"), owned("a", "u1", "u2"))
    assert backend.dependents("u1") == [key("b"), key("a", "other")]
    backend.update(key("b"), owned("b", "u2"))
    assert backend.dependents("u1") == [key("a", "other")]
    assert backend.dependents("u2") == [key("b"), key("a", "other")]
    backend.delete(key("a", "other"))
    assert backend.dependents("u2") == [key("b")]


def test_another_process_writing_the_file_is_seen_by_every_read(open_sqlite: Opener) -> None:
    first, second = open_sqlite(), open_sqlite()
    put(first, "a", size=1)
    first.create(key("b"), owned("b", "u1"))
    assert first.view(key("a"))["spec"] == {"size": 1} and first.dependents("u1") == [key("b")]
    second.update(key("a"), obj("a", size=2))
    second.delete(key("b"))
    put(second, "c")
    assert first.get(key("a"))["spec"] == {"size": 2}
    assert [o["metadata"]["name"] for o in first.view_list(GROUP, KIND)] == ["a", "c"]
    assert first.dependents("u1") == []
    second.update(key("c"), obj("c", size=5))
    with first.transaction():  # a transaction checks the file once, when it begins
        assert first.view(key("c"))["spec"] == {"size": 5}
        first.update(key("c"), obj("c", size=6), expected_rv="6")
    assert second.get(key("c"))["spec"] == {"size": 6}


def test_a_failed_commit_leaves_nothing_of_the_transaction_in_the_cache(
    open_sqlite: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_sqlite()
    put(store, "a", size=1)

    def refuse(depth: int) -> None:
        store._rollback(depth)
        raise OSError("disk full")

    monkeypatch.setattr(store, "_commit", refuse)
    with pytest.raises(OSError, match="disk full"):
        store.update(key("a"), obj("a", size=2))
    monkeypatch.undo()
    assert store.get(key("a"))["spec"] == {"size": 1}
    assert store.current_revision() == 1


def test_values_json_can_hold_come_back_whole(backend: BaseBackend) -> None:
    # The fast decoder cannot hold integers beyond 64 bits; such texts are decoded the standard way.
    spec = {"big": 2**70, "negative": -(2**65), "float": 0.1, "text": "ü\u2028", "nested": [{"n": None}]}
    put(backend, "a", **spec)
    backend.put_record("t", "k", spec)
    assert backend.get(key("a"))["spec"] == spec
    assert backend.get_record("t", "k") == spec
    assert backend.events_since(0)[0].object["spec"] == spec


def test_names_stay_in_store_order_through_any_mix_of_writes_removals_and_reads() -> None:
    """A kind's names are settled when read: whatever was added, removed and added again since the last
    read, the listing is every entry once, sorted."""
    rng = random.Random(7)
    empty = head_of({})
    objects = KindObjects([("default", f"n{i}", empty) for i in range(0, 40, 3)])
    for _step in range(3000):
        name = (rng.choice(["default", "other"]), f"n{rng.randrange(40)}")
        action = rng.random()
        if action < 0.35:
            objects.set(name, "{}", empty)
        elif action < 0.45:
            objects.set(name, UNREAD, empty)  # an undo restoring an entry whose body was not read
        elif action < 0.8:
            objects.remove(name)
        elif action < 0.85:
            objects.fill((ns, n, "{}") for ns, n in sorted(objects.entries))
        else:
            assert objects.names == sorted(objects.entries) == sorted(objects.heads)
        assert objects.unread == sum(entry is UNREAD for entry in objects.entries.values())
    assert objects.names == sorted(objects.entries) == sorted(objects.heads)


def test_a_kind_loaded_for_its_heads_reads_a_body_only_when_its_object_is_read(
    open_sqlite: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = open_sqlite()
    for i in range(50):
        put(writer, f"n{i}", labels={"pair": str(i // 2)}, index=i)
    writer.close()
    store = open_sqlite()
    one_by_one: list[ObjectKey] = []
    whole_kinds: list[tuple[str, str]] = []
    read_body, read_bodies = store._read_body, store._scan_bodies
    monkeypatch.setattr(store._cache, "_read_body", lambda k: one_by_one.append(k) or read_body(k))
    monkeypatch.setattr(store._cache, "_read_bodies", lambda g, k: whole_kinds.append((g, k)) or read_bodies(g, k))

    assert len(store.heads(GROUP, KIND)) == 50
    assert (one_by_one, whole_kinds) == ([], [])
    assert store.view(key("n7"))["spec"] == {"index": 7}
    assert one_by_one == [key("n7")]
    assert [o["spec"]["index"] for o in store.view_list(GROUP, KIND, labels={"pair": "4"})] == [8, 9]
    assert one_by_one == [key("n7"), key("n8"), key("n9")] and whole_kinds == []  # a few: one at a time
    everything = store.view_list(GROUP, KIND)
    assert sorted(o["spec"]["index"] for o in everything) == list(range(50))
    assert whole_kinds == [(GROUP, KIND)] and len(one_by_one) == 3  # many: the kind's bodies at once
    with pytest.raises(Boom), store.transaction():
        store.update(key("n7"), obj("n7", index=-7))
        raise Boom
    assert store.view(key("n7"))["spec"] == {"index": 7}


def _reopened(open_sqlite: Opener, **sizes: int) -> SqliteBackend:
    """A store in which another backend wrote a Widget of each size, opened afresh: nothing of it is cached."""
    writer = open_sqlite()
    for name, size in sizes.items():
        put(writer, name, size=size)
    writer.close()
    return open_sqlite()


def test_a_rolled_back_write_leaves_an_unread_object_readable(open_sqlite: Opener) -> None:
    store = _reopened(open_sqlite, a=1, b=2)
    assert [k.name for k, _head in store.heads(GROUP, KIND)] == ["a", "b"]  # loaded, bodies unread
    with pytest.raises(Boom), store.transaction():
        store.delete(key("a"))
        store.update(key("b"), obj("b", size=3))
        raise Boom
    assert store.view(key("a"))["spec"] == {"size": 1}
    assert store.view(key("b"))["spec"] == {"size": 2}


def test_an_object_whose_row_went_after_its_head_was_read_reads_as_absent(open_sqlite: Opener) -> None:
    """Another process may remove a row between the check a read begins with and the read of its body: that
    object reads as gone (the next read's check sees the new revision and starts afresh)."""
    store = _reopened(open_sqlite, a=1, b=2)
    assert len(store.heads(GROUP, KIND)) == 2
    store._db.execute("DELETE FROM objects WHERE name = 'a'")  # as if in between: the revision did not move
    assert store.view(key("a")) is None
    assert [o["metadata"]["name"] for o in store.view_list(GROUP, KIND)] == ["b"]


def test_a_last_readers_read_leaves_the_object_as_the_cache_held_it(open_sqlite: Opener) -> None:
    store = _reopened(open_sqlite, read=1, unread=2)
    put(store, "written", size=3)  # cached as the text this process wrote
    entries = store._cache.kind(GROUP, KIND).entries  # type: ignore[union-attr]
    decoded = store.view(key("read"))
    assert store.view(key("read"), keep=False) is decoded  # decoded already: the shared object itself
    assert store.view(key("unread"), keep=False)["spec"] == {"size": 2}
    assert entries[("default", "unread")] is UNREAD
    assert store.view(key("written"), keep=False)["spec"] == {"size": 3}
    assert isinstance(entries[("default", "written")], str)
    assert store.view(key("missing"), keep=False) is None
    assert store.view(key("unread"))["spec"] == {"size": 2}  # a later reader still finds it


def test_a_written_object_is_held_packed_once_its_row_is_written(open_sqlite: Opener) -> None:
    """A batch run writes thousands of objects it never reads again: once the storage has packed one's text,
    the cache holds that smaller form instead, and reads, rollbacks and later writes see the same objects."""
    store = open_sqlite()
    padding = ["interface ethernet-1/1 description uplink"] * 40  # a body well over the packing threshold
    put(store, "kept", size=0)
    entries = store._cache.kind(GROUP, KIND).entries  # type: ignore[union-attr]
    with pytest.raises(Boom), store.transaction():
        store.create(key("a"), obj("a", size=1, padding=padding))
        store.create(key("b"), obj("b", size=2, padding=padding))
        assert isinstance(entries[("default", "a")], str)  # queued: its row is not written yet
        while store.background():  # the rows are written in slices, as while a worker computes
            pass
        packed = entries[("default", "a")]
        assert isinstance(packed, bytes)
        assert len(packed) < len(store._text_of(packed)) / 3
        assert store.view(key("a"))["spec"] == {"size": 1, "padding": padding}
        assert isinstance(entries[("default", "a")], dict)  # decoded on first read, from the packed form
        store.update(key("b"), obj("b", size=3, padding=padding))  # written again: the new text is held
        assert isinstance(entries[("default", "b")], str)
        assert store.view(key("b"))["spec"]["size"] == 3
        raise Boom
    assert store.view(key("a")) is None and store.view(key("b")) is None
    assert store.view(key("kept"))["spec"] == {"size": 0}
    store.create(key("a"), obj("a", size=4, padding=padding))
    assert store.view(key("a"))["spec"]["size"] == 4
