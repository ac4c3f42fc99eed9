"""The SQLite store's deferred writes (``choreo.store.deferred``): object rows and events of an open
transaction are written later — in slices while choreo waits (``background``), before any other statement,
at the commit — and what is stored, read and undone is exactly what writing at once gave."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from choreo.store import deferred as deferred_module
from choreo.store._common import BaseBackend
from choreo.store.memory import MemoryBackend
from choreo.store.sqlite import SqliteBackend

from .conftest import GROUP, key, obj, put

Opener = Callable[..., SqliteBackend]


class _Undone(Exception):
    pass


def _everything(backend: BaseBackend) -> tuple[object, ...]:
    objects = [(o["metadata"]["name"], o) for o in backend.list(GROUP, "Widget")]
    events = [(e.revision, e.type, e.object) for e in backend.events_since(backend._compacted_through())]
    return objects, events, list(backend.list_records("t")), backend.current_revision()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_writes_savepoints_and_background_slices_at_random_store_what_writing_at_once_stores(
    open_sqlite: Opener, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    monkeypatch.setattr(deferred_module, "_QUEUED_TEXT", 2000)  # a few bodies: ``add`` runs some itself too
    store, reference = open_sqlite(max_events=30), MemoryBackend(max_events=30)
    rng = random.Random(seed)
    seen: list[list[object]] = [[], []]

    def write(backend: BaseBackend, choice: int, name: str, size: int) -> None:
        if choice == 0 and backend.view(key(name)) is not None:
            backend.delete(key(name))
        elif choice == 1:
            backend.put_record("t", name, size)
        elif backend.view(key(name)) is None:
            put(backend, name, size=size, padding="x" * (size * 6))
        else:
            backend.update(key(name), obj(name, size=size))

    def level(backend: BaseBackend, plan: list[tuple[int, ...]], depth: int) -> None:
        for choice, name, size, nest, undo, idle in plan:
            if nest and depth < 4:
                inner = [(c, n, s, nn // 2, u, i) for c, n, s, nn, u, i in plan[:4]]
                try:
                    with backend.transaction():
                        level(backend, inner, depth + 1)
                        if undo:
                            raise _Undone
                except _Undone:
                    pass
            write(backend, choice, f"w{name}", size)
            for _ in range(idle):
                backend.background()
            seen[backend is store].append((backend.current_revision(), [
                (e.revision, e.type, e.object) for e in backend.events_since(max(backend.current_revision() - 5, 0))
            ]))

    for round_ in range(4):
        # (write, name, size, nested levels, undo them, background slices after)
        plan = [tuple(rng.randrange(n) for n in (4, 8, 100, 3, 2, 4)) for _ in range(30)]
        for backend in (store, reference):
            try:
                with backend.transaction():
                    level(backend, plan, 1)
                    if round_ == 2:
                        raise _Undone  # a whole run rolled back
            except _Undone:
                pass
    assert seen[0] == seen[1] and len(seen[0]) > 100
    assert _everything(store) == _everything(reference)
    store.close()
    assert _everything(open_sqlite()) == _everything(reference)  # as committed to the file


def _traced(store: SqliteBackend) -> list[str]:
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    return statements


def test_a_nested_write_that_is_undone_before_its_rows_are_written_costs_no_statement(open_sqlite: Opener) -> None:
    store = open_sqlite()
    with store.transaction():
        put(store, "a")
        statements = _traced(store)
        with pytest.raises(_Undone), store.transaction():
            put(store, "b")
            store.update(key("a"), obj("a", size=1))
            raise _Undone
        with store.transaction():
            put(store, "c")
        assert statements == []  # no savepoint, no row, no event yet
        while store.background():
            pass
        assert [s.split(" (")[0] for s in statements] == ["INSERT INTO objects", "INSERT INTO events"] * 2
    assert [o["metadata"]["name"] for o in store.list(GROUP, "Widget")] == ["a", "c"]
    assert [e.type for e in store.events_since(0)] == ["ADDED", "ADDED"]


def test_a_savepoint_whose_rows_were_written_is_undone_by_sqlite(open_sqlite: Opener) -> None:
    store = open_sqlite()
    with store.transaction():
        put(store, "a")
        with pytest.raises(_Undone), store.transaction():
            put(store, "b")
            store.background()  # a's row
            store.background()  # a's event
            store.background()  # the savepoint is set, then b's row
            put(store, "c")  # queued inside the same savepoint
            statements = _traced(store)
            raise _Undone
        assert statements == ["ROLLBACK TO sp1", "RELEASE sp1"]
    assert [o["metadata"]["name"] for o in store.list(GROUP, "Widget")] == ["a"]


def test_events_that_compaction_drops_at_the_end_are_never_written(open_sqlite: Opener) -> None:
    store = open_sqlite(max_events=2)
    statements = _traced(store)
    with store.transaction():
        for name in "abcdefgh":
            put(store, name)
    assert sum(s.startswith("INSERT INTO events") for s in statements) == 2
    assert sum(s.startswith("INSERT INTO objects") for s in statements) == 8
    assert [e.object["metadata"]["name"] for e in store.events_since(store._compacted_through())] == ["g", "h"]


def test_another_connection_sees_nothing_of_the_open_transaction_and_everything_after_it(
    open_sqlite: Opener, store_path: Path
) -> None:
    store = open_sqlite()
    with store.transaction():
        put(store, "a")
        while store.background():
            pass
        put(store, "b")
        other = sqlite3.connect(store_path)
        assert other.execute("SELECT COUNT(*) FROM objects").fetchone() == (0,)
    assert other.execute("SELECT name FROM objects ORDER BY name").fetchall() == [("a",), ("b",)]
    other.close()


def test_the_queue_holds_a_bounded_amount_of_text(open_sqlite: Opener) -> None:
    store = open_sqlite()
    with store.transaction():
        for number in range(300):
            put(store, f"w{number}", padding="x" * 1000)
            assert store._deferred._queued_text <= deferred_module._QUEUED_TEXT
