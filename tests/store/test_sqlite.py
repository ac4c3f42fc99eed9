"""What only the SQLite backend promises: persistence, crash safety, schema checks, other processes."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

import choreo
from choreo.errors import ChoreoError
from choreo.store import Gone, StoreDamaged
from choreo.store import sqlite as sqlite_module
from choreo.store._common import BaseBackend
from choreo.store.head import head_of, head_text
from choreo.store.memory import MemoryBackend
from choreo.store.sqlite import SCHEMA_VERSION, SqliteBackend

from .conftest import GROUP, KIND, key, obj, put

Opener = Callable[..., SqliteBackend]

REPO_ROOT = Path(choreo.__file__).resolve().parents[1]

PRELUDE = """
import sys, time
from pathlib import Path
from choreo.api.objects import ObjectKey
from choreo.store.sqlite import SqliteBackend

store = SqliteBackend(Path(sys.argv[1]))

def widget(name, batch):
    meta = {"name": name, "namespace": "default", "labels": {"batch": str(batch)}}
    return ObjectKey("example.com", "Widget", "default", name), {"kind": "Widget", "metadata": meta}
"""

ONE_BIG_TRANSACTION = """
with store.transaction():
    for i in range(500):
        store.create(*widget(f"w{i}", 0))
        store.put_record("batches", f"k{i}", i)
    print("written", flush=True)
    time.sleep(60)
"""

MANY_TRANSACTIONS = """
batch = 0
while True:
    with store.transaction():
        for i in range(20):
            store.create(*widget(f"b{batch}-{i}", batch))
        store.put_record("batches", str(batch), 20)
    batch += 1
    if batch == 5:
        print("running", flush=True)
"""

LATE_WRITE = """
time.sleep(0.3)
store.create(*widget("from-elsewhere", 0))
"""


def start_writer(script: str, path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    code = textwrap.dedent(PRELUDE) + textwrap.dedent(script)
    return subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )


def kill_after_line(process: subprocess.Popen[str], expected: str, delay: float = 0.0) -> None:
    assert process.stdout is not None
    assert process.stdout.readline().strip() == expected
    time.sleep(delay)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    process.stdout.close()
    assert process.returncode == -signal.SIGKILL


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


# --- persistence ------------------------------------------------------------------------------------


def test_everything_survives_reopen(open_sqlite: Opener) -> None:
    first = open_sqlite()
    put(first, "a", size=1)
    put(first, "b", "other")
    first.update(key("a"), obj("a", size=2))
    first.delete(key("b", "other"))
    first.put_record("runs", "r1", {"ok": True})
    first.close()

    second = open_sqlite()
    assert second.get(key("a"))["spec"] == {"size": 2}
    assert second.get(key("b", "other")) is None
    assert second.current_revision() == 4
    assert second.get_record("runs", "r1") == {"ok": True}
    assert [(e.type, e.revision) for e in second.events_since(0)] == [
        ("ADDED", 1),
        ("ADDED", 2),
        ("MODIFIED", 3),
        ("DELETED", 4),
    ]
    assert put(second, "c")["metadata"]["resourceVersion"] == "5"  # the counter continues


def test_rolled_back_transaction_is_not_persisted(open_sqlite: Opener) -> None:
    first = open_sqlite()
    put(first, "a")
    with pytest.raises(RuntimeError), first.transaction():
        put(first, "b")
        raise RuntimeError("stop")
    first.close()
    second = open_sqlite()
    assert [o["metadata"]["name"] for o in second.list(GROUP, KIND)] == ["a"]
    assert second.current_revision() == 1


def test_the_counter_a_transaction_moved_is_saved_with_it(open_sqlite: Opener) -> None:
    # The counter is written once per transaction (and savepoint), not per write: what an inner rollback
    # undid must not be saved, what the outer transaction wrote before and after it must be.
    first = open_sqlite()
    with first.transaction():
        put(first, "a")
        with first.transaction():
            put(first, "b")
        with pytest.raises(RuntimeError), first.transaction():
            put(first, "gone")
            raise RuntimeError("stop")
        put(first, "c")
        with first.transaction():
            put(first, "d")
    first.close()
    second = open_sqlite()
    assert second.current_revision() == 4
    assert [o["metadata"]["resourceVersion"] for o in second.list(GROUP, KIND)] == ["1", "2", "3", "4"]
    assert put(second, "e")["metadata"]["resourceVersion"] == "5"


def test_compaction_point_survives_reopen(open_sqlite: Opener) -> None:
    first = open_sqlite(max_events=2)
    for name in "abcde":
        put(first, name)
    first.close()
    second = open_sqlite(max_events=1000)
    with pytest.raises(Gone):
        second.events_since(1)
    assert [e.revision for e in second.events_since(3)] == [4, 5]


def test_layout_and_pragmas(open_sqlite: Opener, store_path: Path) -> None:
    put(open_sqlite(), "a")
    with sqlite3.connect(store_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"schema_version", "meta", "objects", "events", "records"} <= tables


def test_short_objects_are_stored_as_canonical_json(open_sqlite: Opener, store_path: Path) -> None:
    open_sqlite().create(key("a"), {"metadata": {"name": "a"}, "apiVersion": "v1", "kind": KIND})
    with sqlite3.connect(store_path) as db:
        (body,) = db.execute("SELECT body FROM objects").fetchone()
    assert body == '{"apiVersion":"v1","kind":"Widget","metadata":{"name":"a","resourceVersion":"1"}}'


def test_long_bodies_are_stored_compressed_and_read_back_whole(open_sqlite: Opener, store_path: Path) -> None:
    store = open_sqlite()
    big = obj("big", spec={"description": "interface to spine " * 200})
    stored = store.create(key("big"), big)
    store.put_record("runs", "r1", {"events": ["START reconciler x"] * 100})
    with sqlite3.connect(store_path) as db:
        (body,) = db.execute("SELECT body FROM objects").fetchone()
        (event,) = db.execute("SELECT body FROM events").fetchone()
        (record,) = db.execute("SELECT value FROM records").fetchone()
    assert all(isinstance(column, bytes) for column in (body, event, record))
    assert len(body) < len(json.dumps(big)) / 4
    assert store.get(key("big")) == stored and store.events_since(0)[0].object == stored
    assert store.get_record("runs", "r1") == {"events": ["START reconciler x"] * 100}


def test_a_stored_text_is_kept_as_the_very_row_put_content_writes(open_sqlite: Opener, store_path: Path) -> None:
    store = open_sqlite()
    for name, spec in (("short", {}), ("long", {"description": "to spine " * 100})):
        store.create(key(name), obj(name, **spec))
    texts = [text for _obj, text in store.stored_texts()]
    store.put_texts("copied", texts)
    for stored in store.view_list(GROUP, KIND):
        store.put_content("encoded", stored)
    with sqlite3.connect(store_path) as db:
        rows = {
            table: db.execute("SELECT key, value FROM records WHERE tbl = ? ORDER BY key", (table,)).fetchall()
            for table in ("copied", "encoded")
        }
    assert rows["copied"] == rows["encoded"] and {type(value) for _key, value in rows["copied"]} == {str, bytes}


VERSION_1 = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE objects (grp TEXT NOT NULL, kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    body TEXT NOT NULL, PRIMARY KEY (grp, kind, namespace, name)) WITHOUT ROWID;
CREATE TABLE events (revision INTEGER PRIMARY KEY, type TEXT NOT NULL, grp TEXT NOT NULL, kind TEXT NOT NULL,
    body TEXT NOT NULL);
CREATE INDEX events_by_kind ON events (grp, kind, revision);
CREATE TABLE records (tbl TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (tbl, key))
    WITHOUT ROWID;
INSERT INTO schema_version VALUES (1);
INSERT INTO meta VALUES ('revision', 7), ('compacted_through', 3);
"""


def test_a_version_1_store_is_upgraded_in_place_with_everything_kept(open_sqlite: Opener, store_path: Path) -> None:
    store_path.parent.mkdir(parents=True)
    widget = {**obj("a", spec={"text": "x" * 1000}), "metadata": {"name": "a", "namespace": "default",
                                                                    "resourceVersion": "7"}}
    body = json.dumps(widget, sort_keys=True, separators=(",", ":"))
    with sqlite3.connect(store_path) as db:
        db.executescript(VERSION_1)
        db.execute("INSERT INTO objects VALUES (?, ?, 'default', 'a', ?)", (GROUP, KIND, body))
        db.execute("INSERT INTO events VALUES (7, 'ADDED', ?, ?, ?)", (GROUP, KIND, body))
        db.execute("INSERT INTO records VALUES ('runs', 'r1', '{\"ok\":true}')")
    store = open_sqlite()
    assert store.get(key("a")) == widget and store.head(key("a")) == head_of(widget)
    assert [(e.type, e.revision, e.object) for e in store.events_since(3)] == [("ADDED", 7, widget)]
    assert store.get_record("runs", "r1") == {"ok": True} and store.current_revision() == 7
    with pytest.raises(Gone):
        store.events_since(2)
    put(store, "b")
    assert store.current_revision() == 8
    store.close()
    with sqlite3.connect(store_path) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not {t for t in tables if t.endswith("_v1")}


def test_a_version_2_store_gets_the_heads_of_its_objects_when_opened(open_sqlite: Opener, store_path: Path) -> None:
    # A version 2 file is a version 3 one without the head column (the layout is otherwise the same).
    first = open_sqlite()
    owner = first.create(key("owner"), obj("owner"))
    child = obj("child", labels={"app": "web"}, text="x" * 1000)  # long: its body is stored compressed
    child["metadata"].update(uid="uid-child", ownerReferences=[{"uid": "uid-owner", "kind": KIND, "name": "owner"}])
    first.create(key("child"), child)
    first.close()
    with sqlite3.connect(store_path) as db:
        db.execute("ALTER TABLE objects DROP COLUMN head")
        db.execute("UPDATE schema_version SET version = 2")
        db.execute("UPDATE objects SET body = 'not json' WHERE name = 'owner'")  # damaged behind choreo's back

    store = open_sqlite()
    with sqlite3.connect(store_path) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    with pytest.raises(StoreDamaged, match=r"stored head of .*owner is not one choreo wrote"):
        store.heads(GROUP, KIND)
    store.close()
    with sqlite3.connect(store_path) as db:
        db.execute("UPDATE objects SET body = ?, head = ? WHERE name = 'owner'",
                   (json.dumps(owner, sort_keys=True, separators=(",", ":")), head_text(head_of(owner))))
    store = open_sqlite()
    assert store.head(key("child")) == head_of(store.view(key("child")))
    assert store.head(key("child")).owners == ("uid-owner",) and store.dependents("uid-owner") == [key("child")]
    assert store.view_list(GROUP, KIND, labels={"app": "web"}) == [store.view(key("child"))]


def test_each_row_holds_the_head_of_its_body_after_a_killed_writer(open_sqlite: Opener, store_path: Path) -> None:
    kill_after_line(start_writer(MANY_TRANSACTIONS, store_path), "running", 0.05)
    with sqlite3.connect(store_path) as db:
        rows = db.execute("SELECT body, head FROM objects").fetchall()
    assert rows and all(head == head_text(head_of(json.loads(sqlite_module._unpack(body)))) for body, head in rows)


def test_close_releases_the_file(open_sqlite: Opener, store_path: Path) -> None:
    backend = open_sqlite()
    put(backend, "a")
    backend.close()
    backend.close()  # idempotent
    assert not store_path.with_name(store_path.name + "-wal").exists()  # last connection checkpointed
    with sqlite3.connect(store_path, isolation_level=None) as db:
        db.execute("BEGIN EXCLUSIVE")
        db.execute("ROLLBACK")


# --- refusing files it cannot read ------------------------------------------------------------------


def test_a_file_that_is_not_a_database_is_a_clear_error(store_path: Path) -> None:
    store_path.parent.mkdir(parents=True)
    store_path.write_text("this is not sqlite, just some text that is long enough\n" * 20)
    with pytest.raises(ChoreoError, match=r"store\.db: the store is damaged \(file is not a database\); delete it"):
        SqliteBackend(store_path)


def test_a_newer_schema_version_is_refused(open_sqlite: Opener, store_path: Path) -> None:
    open_sqlite().close()
    with sqlite3.connect(store_path) as db:
        db.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(ChoreoError, match="schema version 99 is not supported"):
        SqliteBackend(store_path)


# --- other processes and crashes --------------------------------------------------------------------


def test_killed_writer_leaves_none_of_its_open_transaction(open_sqlite: Opener, store_path: Path) -> None:
    before = open_sqlite()
    put(before, "committed-before")
    before.close()

    kill_after_line(start_writer(ONE_BIG_TRANSACTION, store_path), "written")

    assert integrity(store_path) == "ok"
    after = open_sqlite()
    assert [o["metadata"]["name"] for o in after.list(GROUP, KIND)] == ["committed-before"]
    assert after.current_revision() == 1
    assert [e.revision for e in after.events_since(0)] == [1]
    assert list(after.list_records("batches")) == []
    assert put(after, "next")["metadata"]["resourceVersion"] == "2"


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.13])
def test_killed_writer_leaves_whole_transactions_only(
    open_sqlite: Opener, store_path: Path, delay: float
) -> None:
    kill_after_line(start_writer(MANY_TRANSACTIONS, store_path), "running", delay)

    assert integrity(store_path) == "ok"
    after = open_sqlite()
    objects = after.list(GROUP, KIND)
    per_batch = Counter(o["metadata"]["labels"]["batch"] for o in objects)
    records = dict(after.list_records("batches"))
    assert len(per_batch) >= 5
    assert set(per_batch.values()) == {20}
    assert records == dict(per_batch)
    assert after.current_revision() == len(objects) == len(after.events_since(0))


def test_wait_for_change_sees_writes_of_another_process(open_sqlite: Opener, store_path: Path) -> None:
    backend = open_sqlite()
    put(backend, "a")
    writer = start_writer(LATE_WRITE, store_path)
    try:
        assert backend.wait_for_change(1, timeout=20.0) is True
    finally:
        assert writer.wait(timeout=20) == 0
        assert writer.stdout is not None
        writer.stdout.close()
    assert backend.get(key("from-elsewhere")) is not None


def test_the_event_history_is_bounded_by_choreo_event_history(
    open_sqlite: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHOREO_EVENT_HISTORY", "3")
    store = open_sqlite()
    for name in "abcdef":
        put(store, name)
    assert [e.revision for e in store.events_since(3)] == [4, 5, 6]
    with pytest.raises(Gone):
        store.events_since(2)
    monkeypatch.setenv("CHOREO_EVENT_HISTORY", "lots")
    with pytest.raises(ChoreoError, match=r"\$CHOREO_EVENT_HISTORY: expected a whole number"):
        open_sqlite()


def test_a_transaction_sees_what_another_connection_committed_before_it(open_sqlite: Opener) -> None:
    # What one transaction remembers (object texts, resourceVersions, the revision) ends with it: the next
    # transaction reads the file again and sees another writer's commits.
    first, second = open_sqlite(), open_sqlite()
    with first.transaction():
        put(first, "a", size=1)
        assert first.get(key("a"))["spec"] == {"size": 1}
    second.update(key("a"), obj("a", size=2), expected_rv="1")
    put(second, "b")
    with first.transaction():
        assert first.get(key("a"))["spec"] == {"size": 2}
        assert first.get(key("a"))["metadata"]["resourceVersion"] == "2"
        assert first.create(key("c"), obj("c"))["metadata"]["resourceVersion"] == "4"
        assert [e.revision for e in first.events_since(0)] == [1, 2, 3, 4]  # the other writer's events too
    assert [e.revision for e in second.events_since(0)] == [1, 2, 3, 4]


def test_closing_gives_many_free_pages_back_to_the_filesystem(open_sqlite: Opener, store_path: Path) -> None:
    store = open_sqlite()
    for number in range(600):  # about 4 KiB each once compressed: hex digits of random bytes
        store.put_record("runs", f"r{number:03}", {"events": os.urandom(4000).hex()})
    store.close()
    full = store_path.stat().st_size
    store = open_sqlite()
    for number in range(600):
        store.delete_record("runs", f"r{number:03}")
    store.close()
    with sqlite3.connect(store_path) as db:
        assert db.execute("PRAGMA freelist_count").fetchone()[0] <= 256
    assert store_path.stat().st_size < full / 2


class _Undone(Exception):
    pass


def test_events_read_inside_a_transaction_are_the_stored_ones_after_nested_rollbacks(
    open_sqlite: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The open transaction's latest events are answered from memory (``RECENT_EVENT_TEXT`` of them): after writes,
    deletes and rolled back savepoints at random, every read sees what the memory backend sees, older events
    coming from the table."""
    monkeypatch.setattr(sqlite_module, "RECENT_EVENT_TEXT", 400)  # three or four events
    store, reference = open_sqlite(), MemoryBackend()
    rng = random.Random(3)
    seen: list[tuple[object, ...]] = []

    def read(backend: BaseBackend, kind: str | None) -> list[tuple[object, ...]]:
        head = backend.current_revision()
        return [
            (head, since, e.revision, e.type, e.object)
            for since in range(max(head - 7, 0), head + 1)
            for e in backend.events_since(since, GROUP, kind)
        ]

    def step(backend: BaseBackend, choice: int, name: str, depth: int) -> None:
        if choice == 0 and backend.view(key(name)) is not None:
            backend.delete(key(name))
        elif backend.view(key(name)) is None:
            put(backend, name)
        else:
            backend.update(key(name), obj(name, size=depth))

    for _ in range(3):
        plan = [(rng.randrange(3), f"w{rng.randrange(6)}", rng.randrange(3)) for _ in range(40)]
        for backend in (store, reference):
            with backend.transaction():
                for choice, name, nested in plan:
                    kind = None if nested else KIND
                    if nested:
                        with pytest.raises(_Undone), backend.transaction():
                            step(backend, choice, name, nested)
                            seen.append(("inner", backend is store, *read(backend, kind)))
                            raise _Undone
                    step(backend, choice, name, nested)
                    seen.append(("outer", backend is store, *read(backend, kind)))
    for backend in (store, reference):
        with pytest.raises(_Undone), backend.transaction():  # a whole transaction rolled back
            put(backend, "gone-1")
            put(backend, "gone-2")
            raise _Undone
        with backend.transaction():
            put(backend, "kept")
            seen.append(("after", backend is store, *read(backend, None)))
    from_store = [entry[2:] for entry in seen if entry[1]]
    from_reference = [entry[2:] for entry in seen if not entry[1]]
    assert from_store == from_reference and len(from_store) > 100


def test_a_record_write_inside_a_transaction_sets_no_savepoint_of_its_own(open_sqlite: Opener) -> None:
    # One statement is atomic by itself; the levels around it that have no savepoint yet get one.
    store = open_sqlite()
    statements: list[str] = []
    with store.transaction():
        store.put_record("t", "first", 1)
        with store.transaction():
            store._db.set_trace_callback(statements.append)
            store.put_record("t", "a", 1)
            store.put_content("c", {"b": 2})
            store.delete_record("t", "first")
            store._db.set_trace_callback(None)
    savepoints = [s for s in statements if s.startswith(("SAVEPOINT", "RELEASE"))]
    assert savepoints == ["SAVEPOINT sp1"] and len(statements) == 5
    # The outer level's record save was queued (``choreo.store.deferred``): it runs before the savepoint.
    assert "'first'" in statements[0] and statements[1] == "SAVEPOINT sp1"
    assert list(store.list_records("t")) == [("a", 1)]


def test_the_compaction_point_is_read_once_per_transaction_and_anew_in_the_next(open_sqlite: Opener) -> None:
    reader, writer = open_sqlite(), open_sqlite(max_events=2)
    put(writer, "a")
    statements: list[str] = []
    reader._db.set_trace_callback(statements.append)
    with reader.transaction():
        for since in range(2):
            reader.events_since(since)
    reader._db.set_trace_callback(None)
    assert sum("compacted_through" in s for s in statements) <= 1
    for name in "bcde":
        put(writer, name)  # another connection compacts: events up to 3 are gone
    with reader.transaction(), pytest.raises(Gone):
        reader.events_since(1)
    with pytest.raises(Gone):
        reader.events_since(1)


def test_a_queued_record_save_is_read_back_and_undone_with_its_savepoint(open_sqlite: Opener) -> None:
    store = open_sqlite()
    with store.transaction():
        store.put_record("t", "a", 1)
        assert store.get_record("t", "a") == 1  # from the queue: nothing ran yet
        with pytest.raises(RuntimeError), store.transaction():
            store.put_record("t", "a", 2)
            store.put_record("t", "b", 3)
            assert store.get_record("t", "a") == 2
            raise RuntimeError
        assert store.get_record("t", "a") == 1 and store.get_record("t", "b") is None
        assert store.record_keys("t") == ["a"]  # a whole table's read runs the queue first
        store.put_record("t", "a", 4)
    assert store.get_record("t", "a") == 4 and dict(store.list_records("t")) == {"a": 4}
