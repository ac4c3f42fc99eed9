"""A store path or content that choreo cannot use is a one-line error naming it, never a traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from choreo.errors import ChoreoError
from choreo.store import StoreDamaged
from choreo.store.sqlite import SqliteBackend

from .conftest import GROUP, KIND, key, obj, put


def test_state_folder_being_a_file(tmp_path: Path) -> None:
    (tmp_path / ".choreo").write_text("")
    with pytest.raises(ChoreoError, match=r"/\.choreo: cannot create the state folder \(a file is in the way\)$"):
        SqliteBackend(tmp_path / ".choreo" / "choreo.db")


def test_store_file_being_a_folder(tmp_path: Path) -> None:
    (tmp_path / "choreo.db").mkdir()
    with pytest.raises(ChoreoError, match=r"/choreo\.db: is a folder, not a store file"):
        SqliteBackend(tmp_path / "choreo.db")


def test_store_file_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "choreo.db").write_text("garbage " * 1000)
    with pytest.raises(StoreDamaged, match=r"/choreo\.db: the store is damaged \(file is not a database\); delete it"):
        SqliteBackend(tmp_path / "choreo.db")


def test_damaged_pages_name_the_store_at_any_statement(tmp_path: Path) -> None:
    """SQLite finds a damaged page only when a statement reads it, long after the file was opened: that was an
    internal error (``DatabaseError: database disk image is malformed``) naming neither the file nor a way out."""
    path = tmp_path / "choreo.db"
    store = SqliteBackend(path)
    for n in range(200):
        put(store, f"object-{n}", note="x" * 300)
    store.close()
    with path.open("r+b") as file:  # the header and schema page stay, every later page is overwritten
        file.seek(4096)
        file.write(b"\xde\xad\xbe\xef" * (path.stat().st_size // 4))
    with pytest.raises(StoreDamaged) as err:
        store = SqliteBackend(path)
        store.list(GROUP, KIND)
    assert str(err.value) == (
        f"{path}: the store is damaged (database disk image is malformed); delete it (the project's .choreo "
        "folder) to start afresh"
    )


@pytest.fixture
def damaged(tmp_path: Path) -> SqliteBackend:
    """A store whose one object and one record were overwritten with text that is not JSON."""
    path = tmp_path / "choreo.db"
    store = SqliteBackend(path)
    put(store, "a")
    store.put_record("runs", "r1", {"ok": True})
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE objects SET body = 'not json'")
        db.execute("UPDATE records SET value = '{'")
        db.execute("UPDATE events SET body = ''")
    return SqliteBackend(path)


def test_a_stored_body_that_is_not_json_names_store_and_object(damaged: SqliteBackend) -> None:
    for read in (lambda: damaged.get(key("a")), lambda: damaged.list(GROUP, KIND)):
        with pytest.raises(StoreDamaged) as err:
            read()
        message = str(err.value)
        assert message.startswith(f"{damaged.path}: stored ") and "is not valid JSON" in message
        assert ".choreo" in message and "\n" not in message
    with pytest.raises(StoreDamaged, match=r"default/a is not valid JSON"):
        damaged.update(key("a"), obj("a"))


def test_damaged_records_and_events_are_named(damaged: SqliteBackend) -> None:
    with pytest.raises(StoreDamaged, match=r"stored record runs/r1 is not valid JSON"):
        damaged.get_record("runs", "r1")
    with pytest.raises(StoreDamaged, match=r"stored record runs/r1 is not valid JSON"):
        list(damaged.list_records("runs"))
    with pytest.raises(StoreDamaged, match=r"stored event 1 is not valid JSON"):
        damaged.events_since(0)


def test_packed_bodies_and_counters_that_choreo_did_not_write_name_the_store(tmp_path: Path) -> None:
    """Bytes that do not inflate, or a revision that is not a number, were an internal error (zlib's or
    int()'s) naming neither the store nor what to do."""
    path = tmp_path / "choreo.db"
    store = SqliteBackend(path)
    put(store, "a")
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE objects SET body = x'00112233'")
    with pytest.raises(StoreDamaged, match=rf"^{path}: a stored body is not one choreo wrote \(.*\); the store is "
                                           r"damaged: delete it"):
        SqliteBackend(path).get(key("a"))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = 'abc' WHERE name = 'revision'")
    with pytest.raises(StoreDamaged, match=rf"^{path}: the stored revision is 'abc', not a number choreo wrote"):
        SqliteBackend(path).current_revision()


def test_a_store_that_cannot_be_written_names_it_and_what_choreo_needs(tmp_path: Path) -> None:
    """A store file or folder choreo may not write (a read-only mount, an immutable file) ended a run in an
    internal error, ``OperationalError: attempt to write a readonly database``."""
    path = tmp_path / "choreo.db"
    store = SqliteBackend(path)
    put(store, "a")
    store._db.execute("PRAGMA query_only=ON")  # SQLite then answers a write as for a read-only file
    with pytest.raises(ChoreoError) as err:
        put(store, "b")
    assert str(err.value) == (
        f"{path}: cannot use the store (attempt to write a readonly database): choreo must be able to write it "
        "and its folder"
    )


def test_a_stored_text_that_is_not_utf8_names_the_store(tmp_path: Path) -> None:
    """Bytes that are no UTF-8 in a text column (a damaged page's head) made the sqlite3 module fail, with no
    SQLite code, in an internal error quoting the garbage: ``OperationalError: Could not decode to UTF-8``."""
    path = tmp_path / "choreo.db"
    store = SqliteBackend(path)
    put(store, "a")
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE objects SET head = CAST(x'ff41' AS TEXT)")
    with pytest.raises(StoreDamaged) as err:
        SqliteBackend(path).list(GROUP, KIND)
    assert str(err.value) == (
        f"{path}: the store is damaged (a stored head is not UTF-8 text); delete it (the project's .choreo folder) "
        "to start afresh"
    )
