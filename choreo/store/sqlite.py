"""The durable backend: one SQLite file holding objects, watch events, records and the revision counter.

Why SQLite: a single file, atomic multi-row transactions and crash safety without running a server.
The write rules live in ``_common.BaseBackend``; this module maps its primitives onto tables:

- ``objects``  unique on (grp, kind, namespace, name): get is one index lookup, list one range scan. Each
  row holds the object's body and its head (``head.py``), written by one statement.
- ``events``   keyed by revision (plus an index on (grp, kind, revision) for filtered watches).
- ``records``  unique on (tbl, key).
Bodies over a couple of hundred bytes are stored zlib-compressed (``_pack``); a version 1 file (plain
text bodies, WITHOUT ROWID tables) or version 2 file (no heads) is upgraded in place, in one transaction,
when it is first opened.
- ``meta``     the revision counter and the compaction point; ``schema_version`` the layout version.
The open transaction's latest events are also kept in memory as text (``RECENT_EVENT_TEXT``), for the
readers that ask for them within it.

One connection is shared by every thread (``check_same_thread=False``); the base class lock serialises
its use and keeps a transaction's writes invisible to other threads until commit. The connection runs in
autocommit mode and the backend issues ``BEGIN IMMEDIATE`` / ``SAVEPOINT`` / ``COMMIT`` itself, so every
write outside an explicit transaction is still its own atomic transaction.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import zlib
from collections import deque
from collections.abc import Iterable
from pathlib import Path

from choreo.api.objects import ObjectKey
from choreo.errors import ChoreoError
from choreo.store._common import BaseBackend, StoreDamaged, StoredEvent, decode
from choreo.store.base import Stored
from choreo.store.deferred import DeferredWrites
from choreo.store.head import Head, head_from_text, head_of, head_text

SCHEMA_VERSION = 3
"""Version 2: rowid tables with a unique key index (version 1's WITHOUT ROWID tables packed bodies of a
kilobyte or more about three times less densely) and bodies over ``_PACK_OVER`` bytes zlib-compressed.
Version 3: each object row also holds the object's head."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS objects (
    id INTEGER PRIMARY KEY,
    grp TEXT NOT NULL,
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    body BLOB NOT NULL,
    head TEXT NOT NULL,
    UNIQUE (grp, kind, namespace, name)
);
CREATE TABLE IF NOT EXISTS events (
    revision INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    grp TEXT NOT NULL,
    kind TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_kind ON events (grp, kind, revision);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY,
    tbl TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    UNIQUE (tbl, key)
);
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0), ('compacted_through', 0);
"""

_INCREMENTAL = 2  # PRAGMA auto_vacuum's value for INCREMENTAL
_SCHEMA_NAMES = frozenset(re.findall(r"CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)", _SCHEMA))

# Bodies are canonical JSON text; a long one is stored as zlib-compressed bytes (level 1: object bodies
# shrink about 2.5 times at a few microseconds each), a short one as text. The column's type says which.
_PACK_OVER = 200
# The body is bound last: ``DeferredWrites`` packs it when the statement runs.
_SAVE_OBJECT = (
    "INSERT INTO objects (grp, kind, namespace, name, head, body) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (grp, kind, namespace, name) DO UPDATE SET body = excluded.body, head = excluded.head"
)
_ADD_EVENT = "INSERT INTO events (revision, type, grp, kind, body) VALUES (?, ?, ?, ?, ?)"
_SAVE_RECORD = (
    "INSERT INTO records (tbl, key, value) VALUES (?, ?, ?) ON CONFLICT (tbl, key) DO UPDATE SET value = excluded.value"
)
RECENT_EVENT_TEXT = 64 * 1024
"""How much text of the open transaction's latest watch events is also kept in memory, to answer
``events_since`` from there. Readers inside a run ask for the few events since a reconcile began (the
controller and the reconcile memo, after every reconcile): from the table each was a query and a
decompression per event. About fifty events of the N=1000 fabric's objects."""
# Free pages a closed store may keep (1 MiB at 4 KiB a page): below that, giving them back is not worth a write.
_KEEP_FREE_PAGES = 256


def _pack(body: str) -> Stored:
    return zlib.compress(body.encode(), 1) if len(body) > _PACK_OVER else body


def _pack_pieces(pieces: Iterable[str]) -> Stored:
    """``_pack`` of the text ``pieces`` make, compressed as they come: that text is never held whole."""
    pieces = iter(pieces)  # the pieces after the first few are taken from where the first loop left off
    short: list[str] = []
    length = 0
    for piece in pieces:
        short.append(piece)
        length += len(piece)
        if length > _PACK_OVER:
            break
    else:
        return "".join(short)
    compressor = zlib.compressobj(1)
    packed = [compressor.compress("".join(short).encode())]
    packed.extend(compressor.compress(piece.encode()) for piece in pieces)
    packed.append(compressor.flush())
    return b"".join(packed)


def _unpack(stored: Stored, where: object = "store") -> str:
    """The text of a stored body; ``StoreDamaged`` naming ``where`` (the store file) when it is not one
    choreo packed (bytes that do not inflate to UTF-8 text: the file was changed behind choreo's back)."""
    if not isinstance(stored, bytes):
        return stored
    try:
        return zlib.decompress(stored).decode()
    except (zlib.error, UnicodeDecodeError) as exc:
        raise StoreDamaged(
            f"{where}: a stored body is not one choreo wrote ({exc}); the store is damaged: delete it (the "
            "project's .choreo folder) to start afresh"
        ) from None


def _head_of_stored(stored: Stored) -> str:
    """The head text of a stored body, for a store upgraded to heads; "" (a damaged head, reported when its
    kind is read) for a body that is not an object's JSON."""
    try:
        obj = decode(_unpack(stored))
    except (StoreDamaged, zlib.error, UnicodeDecodeError):
        return ""
    return head_text(head_of(obj)) if isinstance(obj, dict) else ""


_DAMAGE_CODES = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})
"""The answers of SQLite meaning the file is not (or no longer) a database it can read."""
_UNDECODABLE = re.compile(r"Could not decode to UTF-8 column '(\w+)'")
_ACCESS_CODES = ("SQLITE_READONLY", "SQLITE_CANTOPEN")
"""The answers (with their extended codes) meaning the file or its folder cannot be written: a store in WAL
mode writes the file and creates its -wal and -shm files beside it, also to read."""


def _damage(path: Path, exc: sqlite3.Error) -> ChoreoError | None:
    """The one-line error for ``exc`` when it says what is wrong with the store file (damaged, or not
    writable), else None (raise it as it is)."""
    code = getattr(exc, "sqlite_errorname", None) or ""
    undecodable = _UNDECODABLE.match(str(exc))  # the sqlite3 module's own error, without a code
    if code in _DAMAGE_CODES or undecodable:
        what = f"a stored {undecodable[1]} is not UTF-8 text" if undecodable else str(exc)
        return StoreDamaged(
            f"{path}: the store is damaged ({what}); delete it (the project's .choreo folder) to start afresh"
        )
    if code.startswith(_ACCESS_CODES):
        return ChoreoError(f"{path}: cannot use the store ({exc}): choreo must be able to write it and its folder")
    return None


class _Cursor(sqlite3.Cursor):
    """A cursor whose rows, read from a damaged file, end in ``StoreDamaged`` naming the file. Rows are read
    with ``fetchone``/``fetchall``: iterating the cursor would cost a Python call per row to check the same."""

    path: Path

    def fetchone(self) -> object:
        try:
            return super().fetchone()
        except sqlite3.DatabaseError as exc:
            raise (_damage(self.path, exc) or exc) from None

    def fetchall(self) -> list[object]:
        try:
            return super().fetchall()
        except sqlite3.DatabaseError as exc:
            raise (_damage(self.path, exc) or exc) from None


class _Connection(sqlite3.Connection):
    """The store's connection: a statement on a damaged file (SQLite finds the damage only when it reads the
    page, at any statement of any command) ends in ``StoreDamaged`` naming the file, not in an internal error."""

    path: Path

    def execute(self, sql: str, parameters: object = (), /) -> sqlite3.Cursor:
        cursor = self.cursor(_Cursor)
        cursor.path = self.path
        try:
            return cursor.execute(sql, parameters)  # type: ignore[arg-type]
        except sqlite3.DatabaseError as exc:
            raise (_damage(self.path, exc) or exc) from None

    def executemany(self, sql: str, parameters: Iterable[object], /) -> sqlite3.Cursor:
        try:
            return super().executemany(sql, parameters)  # type: ignore[arg-type]
        except sqlite3.DatabaseError as exc:
            raise (_damage(self.path, exc) or exc) from None

    def executescript(self, script: str, /) -> sqlite3.Cursor:
        try:
            return super().executescript(script)
        except sqlite3.DatabaseError as exc:
            raise (_damage(self.path, exc) or exc) from None


def _connect(path: Path) -> sqlite3.Connection:
    """A connection to the store file, its folder created; a path that cannot be one is a one-line error.

    The usual mistakes — the state folder (or a parent) being a file, the store file being a folder, a
    folder without write permission — surface from sqlite as "unable to open database file" or from the
    filesystem as a bare ``OSError``; both are turned into a ``ChoreoError`` naming the path.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ChoreoError(f"{path.parent}: cannot create the state folder ({_reason(exc)})") from None
    if path.is_dir():
        raise ChoreoError(f"{path}: is a folder, not a store file (remove it to start afresh)")
    try:
        # isolation_level=None: the sqlite3 module never opens transactions behind our back.
        db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False, factory=_Connection)
    except sqlite3.Error as exc:
        raise (_damage(path, exc) or ChoreoError(f"{path}: cannot open the store ({exc})")) from None
    db.path = path
    return db


def _reason(exc: OSError) -> str:
    if isinstance(exc, FileExistsError | NotADirectoryError):
        return "a file is in the way"
    return exc.strerror or str(exc)


class SqliteBackend(BaseBackend):
    # Another process may write to the same file (e.g. a CLI command next to a running server); its
    # commits cannot notify our condition variable, so waiters re-read the revision this often.
    _poll_interval = 0.25

    def __init__(self, path: Path, *, max_events: int | None = None) -> None:
        super().__init__(max_events=max_events)
        self.path = Path(path)
        self.location = str(self.path)
        self._last_packed: tuple[str, Stored] = ("", "")
        # The revision counter as this transaction last moved it, not yet written to the meta table: written
        # once when the transaction commits, not once per object write. Each savepoint remembers what it was
        # when the savepoint began, to put it back when the savepoint is rolled back.
        self._unsaved_revision: int | None = None
        self._revision_at: dict[int, int | None] = {}
        # The open transaction's latest events, with consecutive revisions up to the counter, and their length.
        self._recent: deque[StoredEvent] = deque()
        self._recent_text = 0
        self._compaction_point: int | None = None  # the meta table's, as the open transaction read it
        self._db = _connect(self.path)
        self._deferred = DeferredWrites(self._db, self._packed)
        try:
            self._configure()
            self._migrate()
            # From now on the cache is checked against the file's revision, which another process may move.
            self._others_write = True
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise (_damage(self.path, exc) or ChoreoError(f"{self.path}: cannot open the store ({exc})")) from exc
        except BaseException:
            self._db.close()
            raise

    def _configure(self) -> None:
        # Free pages (left by compacted events, pruned runs, rewritten objects) can be given back to the
        # filesystem (see ``_release``); this takes effect for a new file and at the upgrade's VACUUM.
        # Each is set only where it differs: setting one writes to the file, which waits for the write lock,
        # and a command that only reads must not wait for a batch run holding that lock.
        if self._db.execute("PRAGMA auto_vacuum").fetchone()[0] != _INCREMENTAL:
            self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        if self._db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self._db.execute("PRAGMA journal_mode=WAL")
        # FULL rather than NORMAL: in WAL mode NORMAL never corrupts the file but a power cut can lose
        # the last transactions that had already been acknowledged. A lost acknowledged write here means
        # a client was told "created" (or an address was handed out) and the store later forgot it, so
        # we pay one fsync per commit; writes are small and rare next to reads.
        self._db.execute("PRAGMA synchronous=FULL")
        # Every API write inside a run sets a savepoint, and SQLite copies each page a savepoint changes into
        # a statement journal first, a temporary file by default: about 180 000 page copies, two writes
        # each, on the N=1000 fabric's first run. That journal only ever serves rolling back a savepoint
        # (recovery after a crash uses the WAL), so it is kept in memory, like any temporary table.
        self._db.execute("PRAGMA temp_store=MEMORY")

    def _migrate(self) -> None:
        """Create the tables of a new store, or upgrade a version 1 store in place (then compact the file).

        A store that is already current is only looked at, without the write lock: a command that reads the
        store (``get``, ``run list``) never waits for a batch run, which holds that lock for its whole length."""
        if self._is_current():
            return
        with self.transaction():  # the version is read under the write lock: two openers cannot both upgrade
            version = self._layout_version()
            if version is not None and version not in (1, 2, SCHEMA_VERSION):
                raise ChoreoError(
                    f"{self.path}: store schema version {version} is not supported "
                    f"(this choreo reads versions 1 to {SCHEMA_VERSION})"
                )
            self._db.create_function("choreo_head", 1, _head_of_stored, deterministic=True)
            if version == 1:
                self._upgrade_from_1()
            elif version == 2:
                self._upgrade_from_2()
            self._create_schema()
            if version is None:
                self._db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        if version == 1:
            self._db.execute("VACUUM")  # give the old tables' pages back to the filesystem

    def _is_current(self) -> bool:
        """Whether the file has this version's layout: its version and every table and index of ``_SCHEMA``."""
        if self._layout_version() != SCHEMA_VERSION:
            return False
        present = {name for (name,) in self._db.execute("SELECT name FROM sqlite_master").fetchall()}
        return _SCHEMA_NAMES.issubset(present)

    def _layout_version(self) -> int | None:
        exists = self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")
        if exists.fetchone() is None:
            return None
        row = self._db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return None if row[0] is None else int(row[0])

    def _upgrade_from_1(self) -> None:
        """Version 1's tables are renamed, copied into version 2's (bodies packed) and dropped, in one
        transaction: a crash half-way leaves version 1 as it was."""
        for table in ("objects", "events", "records"):
            self._db.execute(f"ALTER TABLE {table} RENAME TO {table}_v1")
        self._db.execute("DROP INDEX IF EXISTS events_by_kind")
        self._create_schema()
        self._db.create_function("choreo_pack", 1, _pack, deterministic=True)
        self._db.execute(
            "INSERT INTO objects (grp, kind, namespace, name, body, head) "
            "SELECT grp, kind, namespace, name, choreo_pack(body), choreo_head(body) FROM objects_v1 "
            "ORDER BY grp, kind, namespace, name"
        )
        self._db.execute(
            "INSERT INTO events (revision, type, grp, kind, body) "
            "SELECT revision, type, grp, kind, choreo_pack(body) FROM events_v1"
        )
        self._db.execute(
            "INSERT INTO records (tbl, key, value) "
            "SELECT tbl, key, choreo_pack(value) FROM records_v1 ORDER BY tbl, key"
        )
        for table in ("objects", "events", "records"):
            self._db.execute(f"DROP TABLE {table}_v1")
        self._db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

    def _upgrade_from_2(self) -> None:
        """Version 2's object rows get their heads, in one transaction (the caller's): a crash half-way
        leaves version 2 as it was."""
        self._db.execute("ALTER TABLE objects ADD COLUMN head TEXT NOT NULL DEFAULT ''")
        self._db.execute("UPDATE objects SET head = choreo_head(body)")
        self._db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

    def _create_schema(self) -> None:
        # executescript() would COMMIT the open transaction first, so run the statements one by one.
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                self._db.execute(statement)

    def _release(self) -> None:
        """Close the file, first giving its free pages back when there are many (a no-op for a file made
        before ``auto_vacuum`` was set). Skipped, not waited for, while another process writes."""
        try:
            if self._db.execute("PRAGMA freelist_count").fetchone()[0] > _KEEP_FREE_PAGES:
                self._db.execute("PRAGMA busy_timeout=100")
                self._db.executescript("PRAGMA incremental_vacuum;")  # runs it to the end (execute: one page)
        except sqlite3.Error:
            pass  # busy or read-only: the pages are reused by later writes anyway
        self._db.close()

    # --- objects ---

    def _save(self, key: ObjectKey, body: str, head: Head) -> None:
        params = (key.group, key.kind, key.namespace, key.name, head_text(head))
        self._deferred.add(_SAVE_OBJECT, params, body, packed=functools.partial(self._cache.packed, key, body))

    def _reading(self) -> sqlite3.Connection:
        """The connection, for a statement that reads objects or events: the deferred writes run first."""
        if self._deferred:
            self._deferred.run_all(opening=False)
        return self._db

    def _changing(self) -> sqlite3.Connection:
        """The connection, for a statement that writes: the deferred writes and savepoints run first."""
        self._deferred.run_all(opening=True)
        return self._db

    def background(self) -> bool:
        if not self._deferred or not self._lock.acquire(blocking=False):  # another thread's turn: not now
            return False
        try:
            return self._deferred.run_some()
        finally:
            self._lock.release()

    def _packed(self, body: str) -> Stored:
        """``_pack(body)``, compressed once for the object row and its watch event (the same text)."""
        last_body, last_packed = self._last_packed
        if body is not last_body:
            last_packed = _pack(body)
            self._last_packed = (body, last_packed)
        return last_packed

    def _remove(self, key: ObjectKey) -> None:
        self._changing().execute(
            "DELETE FROM objects WHERE grp = ? AND kind = ? AND namespace = ? AND name = ?",
            (key.group, key.kind, key.namespace, key.name),
        )

    def _scan_heads(self, group: str, kind: str) -> list[tuple[str, str, Head]]:
        rows = self._reading().execute(
            "SELECT namespace, name, head FROM objects WHERE grp = ? AND kind = ? ORDER BY namespace, name",
            (group, kind),
        ).fetchall()
        found = []
        for namespace, name, text in rows:
            head = head_from_text(text)
            if head is None:
                raise StoreDamaged(
                    f"{self.path}: stored head of {ObjectKey(group, kind, namespace, name)} is not one choreo "
                    "wrote; the store is damaged: delete it (the project's .choreo folder) to start afresh"
                )
            found.append((namespace, name, head))
        return found

    def _scan_bodies(self, group: str, kind: str) -> list[tuple[str, str, Stored]]:
        return self._reading().execute(
            "SELECT namespace, name, body FROM objects WHERE grp = ? AND kind = ? ORDER BY namespace, name",
            (group, kind),
        ).fetchall()

    def _read_body(self, key: ObjectKey) -> Stored | None:
        row = self._reading().execute(
            "SELECT body FROM objects WHERE grp = ? AND kind = ? AND namespace = ? AND name = ?",
            (key.group, key.kind, key.namespace, key.name),
        ).fetchone()
        return None if row is None else row[0]

    def _text_of(self, stored: Stored) -> str:
        return _unpack(stored, self.path)

    def _storage_form(self, text: str) -> Stored:
        """Object bodies and record values are packed alike: a record can keep an object's body as it is."""
        return _pack(text)

    def _storage_form_of(self, pieces: Iterable[str]) -> Stored:
        return _pack_pieces(pieces)

    def _kinds(self) -> list[tuple[str, str]]:
        return [(g, k) for g, k in self._reading().execute("SELECT DISTINCT grp, kind FROM objects").fetchall()]

    # --- revisions and events ---

    def _meta(self, name: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        if row is None or type(row[0]) is not int:
            raise StoreDamaged(
                f"{self.path}: the stored {name} is {'missing' if row is None else repr(row[0])}, not a number "
                "choreo wrote; the store is damaged: delete it (the project's .choreo folder) to start afresh"
            )
        return row[0]

    def _set_meta(self, name: str, value: int) -> None:
        self._changing().execute("UPDATE meta SET value = ? WHERE name = ?", (value, name))

    def _read_revision(self) -> int:
        unsaved = self._unsaved_revision
        return self._meta("revision") if unsaved is None else unsaved

    def _write_revision(self, revision: int) -> None:
        self._unsaved_revision = revision  # only ever inside a transaction: saved by _save_revision

    def _save_revision(self) -> None:
        """Write the counter the open transaction moved, before it commits."""
        if self._unsaved_revision is not None:
            self._set_meta("revision", self._unsaved_revision)
            self._unsaved_revision = None

    def _append_event(self, event: StoredEvent) -> None:
        params = (event.revision, event.type, event.group, event.kind)
        self._deferred.add(_ADD_EVENT, params, event.body, event.revision)
        self._recent.append(event)
        self._recent_text += len(event.body)
        while self._recent_text > RECENT_EVENT_TEXT:
            self._recent_text -= len(self._recent.popleft().body)

    def _events_after(self, revision: int, group: str | None, kind: str | None) -> list[StoredEvent]:
        recent = self._recent
        if recent and recent[0].revision <= revision + 1:  # every event after ``revision`` is in ``recent``
            return [
                event
                for event in recent
                if event.revision > revision
                and (group is None or event.group == group)
                and (kind is None or event.kind == kind)
            ]
        sql = "SELECT revision, type, grp, kind, body FROM events WHERE revision > ?"
        params: tuple[object, ...] = (revision,)
        if group is not None:
            sql += " AND grp = ?"
            params += (group,)
        if kind is not None:
            sql += " AND kind = ?"
            params += (kind,)
        rows = self._reading().execute(sql + " ORDER BY revision", params).fetchall()
        return [StoredEvent(rev, change, grp, kind, _unpack(body, self.path)) for rev, change, grp, kind, body in rows]

    def _forget_transaction(self) -> None:
        """The transaction ends: another process may write next."""
        self._recent.clear()
        self._recent_text = 0
        self._compaction_point = None

    def _compacted_through(self) -> int:
        """Read once per transaction (inside one only this connection writes), every time outside."""
        if self._compaction_point is not None:
            return self._compaction_point
        point = self._meta("compacted_through")
        if self._db.in_transaction:
            self._compaction_point = point
        return point

    def _drop_events_through(self, revision: int) -> None:
        self._deferred.drop_events_through(revision)
        self._changing().execute("DELETE FROM events WHERE revision <= ?", (revision,))
        self._set_meta("compacted_through", revision)
        self._compaction_point = revision

    # --- records ---

    def _record_load(self, table: str, key: str) -> str | None:
        pending = self._deferred.pending_record(table, key)
        if pending is not None:
            return _unpack(pending, self.path)
        row = self._db.execute("SELECT value FROM records WHERE tbl = ? AND key = ?", (table, key)).fetchone()
        return None if row is None else _unpack(row[0], self.path)

    def _record_save(self, table: str, key: str, body: Stored) -> None:
        self._deferred.add_record(_SAVE_RECORD, table, key, body)

    def _records_read(self) -> sqlite3.Connection:
        """The connection, for a statement that reads many records: their queued saves run first."""
        if self._deferred.records:
            self._deferred.run_all(opening=False)
        return self._db

    def _record_add_stored(self, table: str, rows: list[tuple[str, Stored]]) -> None:
        self._changing().executemany(
            "INSERT INTO records (tbl, key, value) VALUES (?, ?, ?) ON CONFLICT (tbl, key) DO NOTHING",
            [(table, key, value) for key, value in rows],
        )

    def _record_remove(self, table: str, key: str) -> None:
        self._changing().execute("DELETE FROM records WHERE tbl = ? AND key = ?", (table, key))

    def _record_scan(self, table: str) -> list[tuple[str, str]]:
        rows = self._records_read().execute("SELECT key, value FROM records WHERE tbl = ? ORDER BY key", (table,))
        return [(key, _unpack(value, self.path)) for key, value in rows.fetchall()]

    def _record_keys(self, table: str) -> list[str]:
        rows = self._records_read().execute("SELECT key FROM records WHERE tbl = ? ORDER BY key", (table,))
        return [key for (key,) in rows.fetchall()]

    # --- transactions ---

    def _begin(self, depth: int) -> None:
        # IMMEDIATE takes the write lock up front, so a transaction never fails half-way on a busy file.
        if depth > 0:
            self._revision_at[depth] = self._unsaved_revision
            self._deferred.begin(depth)
        else:
            self._db.execute("BEGIN IMMEDIATE")

    def _commit(self, depth: int) -> None:
        if depth > 0:
            self._deferred.release(depth)
            self._revision_at.pop(depth, None)
            return
        self._forget_transaction()
        try:
            self._deferred.run_all(opening=True)
            self._save_revision()
            self._db.execute("COMMIT")
        except BaseException:
            self._unsaved_revision = None
            self._revision_at.clear()
            self._deferred.forget()
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def _rollback(self, depth: int) -> None:
        if depth == 0:
            self._unsaved_revision = None  # the meta table's counter is rolled back with everything else
            self._revision_at.clear()
            self._forget_transaction()
            self._deferred.forget()
            if self._db.in_transaction:  # SQLite may already have rolled back after an I/O error
                self._db.execute("ROLLBACK")
        else:
            self._unsaved_revision = restored = self._revision_at.pop(depth, None)
            while self._recent and (restored is None or self._recent[-1].revision > restored):
                self._recent_text -= len(self._recent.pop().body)
            self._deferred.roll_back(depth)
