"""What both store backends share: the write rules, transactions, watch history, encoding and the cache.

``BaseBackend`` implements the whole ``Backend`` contract (revision stamping, AlreadyExists / NotFound /
Conflict checks, watch events, history compaction, nested transactions, ``wait_for_change``) on top of a
handful of storage primitives. ``MemoryBackend`` and ``SqliteBackend`` only supply those primitives, so
the two cannot drift apart in behaviour.

Storage format: objects, event objects and record values are kept as canonical JSON (sorted keys,
compact separators). A stored text that is not JSON (a store edited or damaged outside choreo) is a
``StoreDamaged`` error naming the store and the entry, never a decoder traceback.

Reads of objects go through the backend's ``ObjectCache`` (``cache.py``): each kind is loaded whole on
first touch and each object decoded once until it changes; writes go to the storage and the cache
together, inside the transaction, and a rollback restores both. ``get`` / ``list`` hand out copies;
``view`` / ``view_list`` / ``dependents`` hand out the cached objects themselves, for callers that only
read. When other processes can write the same storage (SQLite), the cache is checked against the
storage's revision counter before each read outside a transaction and when a transaction begins (from
then on nobody else can write until it ends), and dropped when they differ.
"""

from __future__ import annotations

import builtins
import json
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple

import orjson

from choreo.api.objects import ObjectKey, clone
from choreo.environment import positive_count
from choreo.errors import AlreadyExists, ChoreoError, Conflict, Invalid, NotFound
from choreo.store.base import Gone, Stored, StoredText, WatchEvent, content_key
from choreo.store.cache import KindObjects, ObjectCache
from choreo.store.head import Head, head_of

DEFAULT_MAX_EVENTS = 5_000
"""How many watch events a backend keeps before compacting the oldest ones away (``CHOREO_EVENT_HISTORY``
overrides it). Watches and the server's controller resume from any of them; a watcher further behind gets
410 Gone and lists again, as with a compacted Kubernetes API server (whose watch cache keeps 100 events
per resource by default). Older events are not needed by any command (run records and snapshots are kept
apart) and what follows the events since a run or a server pass (the snapshot's delta, the server's stage
memory) falls back to reading the objects when they are gone, so the history only bounds the store's
size: about 0.7 KB per event on the N=1000 fabric."""
EVENT_HISTORY_VARIABLE = "CHOREO_EVENT_HISTORY"


def event_history() -> int:
    """The number of events to keep: ``$CHOREO_EVENT_HISTORY`` or the default."""
    return positive_count(EVENT_HISTORY_VARIABLE, DEFAULT_MAX_EVENTS, expected="a whole number of events (1 or more)")


class StoreLock:
    """The store's lock (reentrant), counting the threads that wait for it.

    A server's runner holds the store for many reconciles at a time (``choreo.server.runner`` commits its
    writes in groups) and lets go as soon as another thread asks for it (``waiting``): an HTTP request
    waits for the reconcile in flight, not for the whole group. A ``threading.Condition`` can wait on it;
    a thread that wakes up and waits to take it back counts too."""

    __slots__ = ("_counting", "_lock", "waiting")

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._counting = threading.Lock()
        self.waiting = 0  # threads blocked in ``acquire`` (or taking the lock back after a ``Condition.wait``)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._lock.acquire(False):
            return True
        if not blocking:
            return False
        self._count(1)
        try:
            return self._lock.acquire(True, timeout)
        finally:
            self._count(-1)

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self._lock.acquire(False) or self.acquire()

    def __exit__(self, *_exc: object) -> None:
        self._lock.release()

    def _count(self, step: int) -> None:
        with self._counting:
            self.waiting += step

    # What ``threading.Condition`` uses of an ``RLock``.

    def _is_owned(self) -> bool:
        return bool(self._lock._is_owned())  # type: ignore[attr-defined]

    def _release_save(self) -> Any:
        return self._lock._release_save()  # type: ignore[attr-defined]

    def _acquire_restore(self, state: Any) -> None:
        self._count(1)
        try:
            self._lock._acquire_restore(state)  # type: ignore[attr-defined]
        finally:
            self._count(-1)


class StoredEvent(NamedTuple):
    """A watch event as a backend keeps it: the object is still canonical JSON."""

    revision: int
    type: str
    group: str
    kind: str
    body: str


# --- encoding -------------------------------------------------------------------------------------


_CANONICAL = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
)
_NUMBER_SHAPES = bytes.maketrans(b"123456789]}", b"000000000,,")
"""Digits to 0 and the ends of values to a comma: a short exponent (``1e-7``) is ``0e-0,`` then."""


def _refuse(value: Any) -> Any:
    raise TypeError(type(value).__name__)


def _canonical_text(value: Any) -> str | None:
    """``value`` written by orjson when that is certainly the text ``json`` writes, else None.

    orjson is several times faster, and for strings, integers, booleans, lists and dicts with string keys it
    writes the same text. It differs where ``json`` is the reference: it refuses integers beyond 64 bits,
    non-string keys, subclasses of str, int, dict and list (passed to ``_refuse`` here) and deep nesting; it
    writes NaN and infinities as ``null`` where ``json`` refuses them; and a float below 1e-4 in another form
    (``0.00001``, ``1e-7`` for ``1e-05``, ``1e-07``). Those come back as None: a refusal, a ``null`` that
    does not read back as the value had it (a NaN or an infinity; a tuple also reads back unequal, and only
    costs the slower path), and a float whose texts differ: a ``0.0000`` or digit-``e-``-digit ending a value
    in the text makes every float of ``value`` be compared (such text inside a string is common: a
    timestamp's ``10.000042``; a run record has thousands), and None when one differs.
    Values both accept but write differently (enum members without a str or int base, UUIDs: orjson writes
    them, ``json`` refuses them) never reach the store: its values come from JSON, YAML and Starlark.

    The text is returned as str: orjson's bytes keep the 4 KiB buffer they were written in."""
    try:
        out = orjson.dumps(value, option=_CANONICAL, default=_refuse)
    except TypeError:  # orjson.JSONEncodeError included
        return None
    if b"null" in out and orjson.loads(out) != value:
        return None
    shapes = out.translate(_NUMBER_SHAPES)
    suspect = b"0.0000" in out or b"0e-0," in shapes or shapes.endswith(b"0e-0")
    if suspect and not _floats_written_alike(value):
        return None
    return out.decode()


def _floats_written_alike(value: Any) -> bool:
    """Whether orjson writes every float in ``value`` (JSON data orjson accepted) as ``json`` does."""
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is dict:
            pending.extend(item.values())
        elif kind is list or kind is tuple:
            pending.extend(item)
        elif kind is float and orjson.dumps(item) != json.dumps(item).encode():
            return False
    return True


def encode(value: Any, what: str) -> str:
    """Canonical JSON text of ``value`` (sorted keys, no spaces, non-ASCII as is); ``Invalid`` (naming
    ``what``) when it is not JSON-compatible. The text is ``json``'s, written by orjson where that is the
    same (``_canonical_text``)."""
    fast = _canonical_text(value)
    if fast is not None:
        return fast
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise Invalid(f"{what}: value is not JSON-compatible ({exc})") from exc


def encode_listing(value: Mapping[str, Any], field: str, items: Iterable[Any], what: str) -> Iterator[str]:
    """The text of ``encode({**value, field: list(items)})``, in pieces: each item is encoded on its own as
    ``items`` yields it, so neither the list's JSON values nor the whole text need to be held at once.
    The same text: canonical JSON writes a map as its fields in key order and a list as its items, each
    as it would be alone (``value`` must not have ``field``)."""
    assert field not in value, f"{what}: {field!r} is given twice"
    yield "{"
    for position, name in enumerate(sorted([*value, field])):
        yield f"{',' if position else ''}{encode(name, what)}:"
        if name != field:
            yield encode(value[name], what)
            continue
        yield "["
        for index, item in enumerate(items):
            yield f"{',' if index else ''}{encode(item, what)}"
        yield "]"
    yield "}"


class StoreDamaged(ChoreoError):
    """A stored text is not the JSON choreo wrote: the store was changed behind choreo's back."""


def _damaged(where: str, what: str, exc: Exception) -> StoreDamaged:
    return StoreDamaged(
        f"{where}: stored {what} is not valid JSON ({exc}); the store is damaged: "
        "delete it (the project's .choreo folder) to start afresh"
    )


_LONG_DIGITS = b"0" * 19
"""A run of 19 digits, once ``_NUMBER_SHAPES`` made every digit a 0: a number that may lie beyond 64 bits."""


def json_value(text: str) -> Any:
    """The value of a JSON text, exactly as ``json.loads`` reads it (``ValueError`` when it is not JSON).

    orjson decodes about three times faster than ``json`` and keeps one copy of each short key for all
    the objects it decodes (a third less memory for the cached objects). An integer beyond 64 bits, which
    ``json`` writes, orjson reads as a float (10**30 would come back as 1e+30): a text with a run of 19
    digits or more (also inside a string, where it only costs the slower path) is decoded by ``json``, and
    so is a text orjson refuses (a lone surrogate, ``NaN``), for ``json``'s value or error."""
    data = text.encode("utf-8", "surrogatepass")
    if _LONG_DIGITS not in data.translate(_NUMBER_SHAPES):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def decode(text: str, where: str = "store", what: str = "value") -> Any:
    """The value of a stored JSON text (``json_value``); ``StoreDamaged`` naming ``where`` and ``what`` when
    it is not JSON."""
    try:
        return json_value(text)
    except (TypeError, ValueError) as exc:
        raise _damaged(where, what, exc) from None


def stamped(obj: Mapping[str, Any], revision: int) -> dict[str, Any]:
    """A shallow copy of ``obj`` whose metadata (also copied) carries ``revision`` as resourceVersion."""
    out = dict(obj)
    md = out.get("metadata")
    md = dict(md) if isinstance(md, Mapping) else {}
    md["resourceVersion"] = str(revision)
    out["metadata"] = md
    return out


# --- messages -------------------------------------------------------------------------------------


def _where(key: ObjectKey) -> str:
    return f' in namespace "{key.namespace}"' if key.namespace else ""


def not_found(key: ObjectKey) -> NotFound:
    return NotFound(f'{key.kind} "{key.name}" not found{_where(key)}')


def already_exists(key: ObjectKey) -> AlreadyExists:
    return AlreadyExists(f'{key.kind} "{key.name}" already exists{_where(key)}')


def conflict(key: ObjectKey) -> Conflict:
    return Conflict(
        f'Operation cannot be fulfilled on {key.kind} "{key.name}": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )


def resource_version(obj: Mapping[str, Any]) -> str:
    md = obj.get("metadata")
    return str(md.get("resourceVersion", "")) if isinstance(md, Mapping) else ""


# --- the shared backend -----------------------------------------------------------------------------


class BaseBackend(ABC):
    """The ``Backend`` contract written once over abstract storage primitives.

    Concurrency: one re-entrant lock serialises every operation; a transaction holds it from begin to
    commit, so other threads never see (or write into) half a transaction. Transactions nest through
    savepoints: an exception leaving an inner ``transaction()`` undoes just the inner writes and
    re-raises; if it keeps propagating, the outer one undoes everything. Writes become visible to other
    threads, and waiters are woken, when the outermost transaction commits.

    Deletes: ``delete`` returns the last stored state (its old resourceVersion); the DELETED watch event
    carries that state stamped with the delete's own revision, so a watcher can resume from it.

    ``expected_rv`` of ``None`` or ``""`` means "no precondition" (as an empty resourceVersion does in
    Kubernetes).
    """

    _poll_interval: float = float("inf")
    """Longest single sleep of ``wait_for_change``; finite when writers in other processes can exist."""

    location: str = "memory:"
    """Where the data lives, as messages name it (the SQLite file's path)."""

    def __init__(self, *, max_events: int | None = None) -> None:
        max_events = event_history() if max_events is None else max_events
        if max_events < 1:
            raise ValueError(f"max_events must be at least 1, got {max_events}")
        self._max_events = max_events
        self._lock = StoreLock()
        self._changed = threading.Condition(self._lock)  # type: ignore[arg-type]
        self._depth = 0
        self._closed = False
        self.rollbacks = 0
        self._cache = ObjectCache(self._decode_stored, self._read_body, self._scan_bodies)
        self._written: int | None = None  # the revision counter, once the open transaction has written
        self._open = 0  # how many of the ``_depth`` nested transactions have begun in the storage
        self._sharing: set[int] = set()  # begun levels that use the savepoint of the level below (``_writing``)
        self._compacted_once = False

    # --- primitives supplied by each backend (always called with the lock held) ---

    @abstractmethod
    def _save(self, key: ObjectKey, body: str, head: Head) -> None:
        """Store ``body`` and ``head`` (both of the same object) together: no reader may see one without
        the other, not even after a crash."""

    @abstractmethod
    def _remove(self, key: ObjectKey) -> None: ...

    @abstractmethod
    def _scan_heads(self, group: str, kind: str) -> builtins.list[tuple[str, str, Head]]:
        """(namespace, name, head) of every stored object of one kind, sorted by (namespace, name): no body is
        read."""

    @abstractmethod
    def _scan_bodies(self, group: str, kind: str) -> builtins.list[tuple[str, str, Stored]]:
        """(namespace, name, stored body) of every stored object of one kind, in the order of ``_scan_heads``."""

    @abstractmethod
    def _read_body(self, key: ObjectKey) -> Stored | None:
        """The stored body of one object (None: not stored)."""

    @abstractmethod
    def _text_of(self, stored: Stored) -> str:
        """The canonical JSON text of a body in the storage's form."""

    @abstractmethod
    def _storage_form(self, text: str) -> Stored:
        """A canonical JSON text in the form the storage keeps object bodies and record values in."""

    @abstractmethod
    def _storage_form_of(self, pieces: Iterable[str]) -> Stored:
        """``_storage_form`` of the text ``pieces`` make, without holding that text whole."""

    @abstractmethod
    def _kinds(self) -> builtins.list[tuple[str, str]]: ...

    @abstractmethod
    def _read_revision(self) -> int: ...

    @abstractmethod
    def _write_revision(self, revision: int) -> None: ...

    @abstractmethod
    def _append_event(self, event: StoredEvent) -> None: ...

    @abstractmethod
    def _events_after(self, revision: int, group: str | None, kind: str | None) -> builtins.list[StoredEvent]: ...

    @abstractmethod
    def _compacted_through(self) -> int:
        """Highest revision whose event was dropped by compaction (0 when none was)."""

    @abstractmethod
    def _drop_events_through(self, revision: int) -> None:
        """Forget events with a revision <= ``revision`` and remember it as the compaction point."""

    @abstractmethod
    def _record_load(self, table: str, key: str) -> str | None: ...

    @abstractmethod
    def _record_save(self, table: str, key: str, body: Stored) -> None:
        """Save (or replace) a record value, given in the storage's form."""

    @abstractmethod
    def _record_add_stored(self, table: str, rows: builtins.list[tuple[str, Stored]]) -> None:
        """Save each (key, body in the storage's form) unless the table has the key already."""

    @abstractmethod
    def _record_remove(self, table: str, key: str) -> None: ...

    @abstractmethod
    def _record_scan(self, table: str) -> builtins.list[tuple[str, str]]: ...

    @abstractmethod
    def _record_keys(self, table: str) -> builtins.list[str]: ...

    @abstractmethod
    def _begin(self, depth: int) -> None:
        """Start a transaction (depth 0) or a savepoint inside one (depth > 0)."""

    @abstractmethod
    def _commit(self, depth: int) -> None: ...

    @abstractmethod
    def _rollback(self, depth: int) -> None: ...

    @abstractmethod
    def _release(self) -> None:
        """Free what the backend holds (files, connections); called once by ``close``."""

    # --- transactions ---

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """See the class docstring. A nested transaction's savepoint is only set once something writes
        in it (``_writing``): most nested transactions only read, and one that wrote nothing has nothing
        to undo or release. The cache's changes are undone with the storage's."""
        with self._lock:
            depth = self._depth
            if depth == 0:
                self._begin(0)
                self._open = 1
                self._check_cache()
            mark = self._cache.mark()
            self._depth = depth + 1
            try:
                yield
                if depth == 0:
                    self._compact_events()
            except BaseException:
                self._depth = depth
                self._written = None
                self._cache.undo(mark)
                if self._open > depth:
                    self._open = depth
                    self._undo_level(depth)
                self.rollbacks += 1
                raise
            self._depth = depth
            if depth == 0:
                self._written = None
            if self._open > depth:
                self._open = depth
                if depth in self._sharing:
                    self._sharing.discard(depth)
                else:
                    try:
                        self._commit(depth)
                    except BaseException:
                        self._cache.clear(None)  # the storage rolled back what the cache holds
                        if depth == 0:
                            self.rollbacks += 1  # so did its revisions: they will be used again
                        raise
            self._cache.release(mark)
            if depth == 0:
                self._changed.notify_all()

    def _writing(self, *, atomic: bool = False) -> None:
        """Set the savepoints of the open transactions that have none yet; called before every write.

        Of several levels begun here at once only the outermost sets a savepoint: nothing is written
        between them, so undoing an inner one means going back to that same point (``_undo_level``). The
        usual API write is three levels (the run, the API call, the store's own write): one savepoint
        instead of two, and two statements fewer per write.

        ``atomic``: the innermost level writes one statement, which the storage undoes by itself when it
        fails, so that level needs no savepoint of its own (a record write: two statements fewer each)."""
        first = self._open
        last = self._depth - 1 if atomic else self._depth
        while self._open < last:
            level = self._open
            if level > first:
                self._sharing.add(level)
            else:
                self._begin(level)
            self._open += 1

    def _undo_level(self, depth: int) -> None:
        """Undo what the transaction at ``depth`` wrote. A level sharing the savepoint of the one below goes
        back to it and sets it again for that level (an error path: the extra statement does not matter)."""
        if depth not in self._sharing:
            self._rollback(depth)
            return
        self._sharing.discard(depth)
        owner = depth - 1
        while owner in self._sharing:
            owner -= 1
        self._rollback(owner)
        self._begin(owner)

    def _compact_events(self) -> None:
        """Drop the events beyond the history; only after a write (or once per backend: the history's
        length may have changed since the last process wrote)."""
        if self._written is None and self._compacted_once:
            return
        self._compacted_once = True
        cutoff = self._counter() - self._max_events
        if cutoff > self._compacted_through():
            self._writing()
            self._drop_events_through(cutoff)

    # --- the cache ---

    _others_write: bool = False
    """Whether other processes may write the same storage (then the cache is checked against it)."""

    def _check_cache(self) -> None:
        """Drop the cache when the storage changed behind it. Inside a transaction nobody else can write:
        the check is made when it begins."""
        if self._others_write and not self._depth:
            revision = self._read_revision()
            if revision != self._cache.revision:
                self._cache.clear(revision)

    def _kind(self, group: str, kind: str) -> KindObjects:
        """The cached objects of a kind, loaded whole (as heads) on first touch."""
        objects = self._cache.kind(group, kind)
        if objects is None:
            objects = self._cache.add_kind(group, kind, self._scan_heads(group, kind))
        return objects

    def _shared(self, key: ObjectKey) -> dict[str, Any] | None:
        return self._cache.shared(self._kind(key.group, key.kind), key)

    def _decode(self, body: str, what: object) -> Any:
        """A stored JSON value (an event's object, or a record of any JSON type)."""
        return decode(body, self.location, str(what))

    def _decode_object(self, body: str, what: object) -> dict[str, Any]:
        decoded: dict[str, Any] = self._decode(body, what)
        return decoded

    def _decode_stored(self, stored: Stored, what: object) -> dict[str, Any]:
        return self._decode_object(self._text_of(stored), what)

    # --- objects ---

    def get(self, key: ObjectKey) -> dict[str, Any] | None:
        found = self.view(key)
        return None if found is None else clone(found)

    def view(self, key: ObjectKey, *, keep: bool = True) -> dict[str, Any] | None:
        with self._lock:
            self._check_cache()
            if keep:
                return self._shared(key)
            return self._cache.unkept(self._kind(key.group, key.kind), key)

    def list(
        self,
        group: str,
        kind: str,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> builtins.list[dict[str, Any]]:
        return [clone(obj) for obj in self.view_list(group, kind, namespace, labels)]

    def view_list(
        self,
        group: str,
        kind: str,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> builtins.list[dict[str, Any]]:
        with self._lock:
            self._check_cache()
            return builtins.list(self._cache.objects_of(group, kind, self._kind(group, kind), namespace, labels))

    def head(self, key: ObjectKey) -> Head | None:
        with self._lock:
            self._check_cache()
            return self._kind(key.group, key.kind).heads.get((key.namespace, key.name))

    def background(self) -> bool:
        return False  # a storage that defers nothing

    def contended(self) -> bool:
        return self._lock.waiting > 0

    def head_at_start(self, key: ObjectKey) -> Head | None:
        with self._lock:
            self._check_cache()
            objects = self._kind(key.group, key.kind)
            return self._cache.head_at_start(objects, key)

    def heads(self, group: str, kind: str) -> builtins.list[tuple[ObjectKey, Head]]:
        with self._lock:
            self._check_cache()
            objects = self._kind(group, kind)
            heads = objects.heads
            return [(ObjectKey(group, kind, *name), heads[name]) for name in objects.names]

    def dependents(self, uid: str) -> builtins.list[ObjectKey]:
        with self._lock:
            self._check_cache()
            if not self._cache.owners_indexed:
                self._cache.index_owners((group, kind, self._kind(group, kind)) for group, kind in self._kinds())
            return self._cache.dependents(uid)

    def kinds(self) -> builtins.list[tuple[str, str]]:
        with self._lock:
            return sorted(self._kinds())

    def stored_texts(self) -> Iterator[tuple[Head, StoredText]]:
        """Each kind's heads are read from the cache and its bodies from the storage together, under the lock;
        no object is decoded, and a text the cache still holds is not unpacked again."""
        for group, kind in self.kinds():
            with self._lock:
                self._check_cache()
                objects = self._kind(group, kind)
                entries, heads = objects.entries, objects.heads  # a loaded kind's cache holds every stored object
                found = []
                for namespace, name, body in self._scan_bodies(group, kind):
                    entry = entries[(namespace, name)]
                    text = entry if isinstance(entry, str) else None  # a text, not a compressed form or a dict
                    found.append((heads[(namespace, name)], StoredText(body, self, self._text_of, text)))
            yield from found

    def create(self, key: ObjectKey, obj: dict[str, Any]) -> dict[str, Any]:
        with self.transaction():
            if self._kind(key.group, key.kind).entries.get((key.namespace, key.name)) is not None:
                raise already_exists(key)
            return self._write(key, obj, "ADDED")

    def update(self, key: ObjectKey, obj: dict[str, Any], expected_rv: str | None = None) -> dict[str, Any]:
        with self.transaction():
            current = self._shared(key)  # decoding also finds a damaged text
            if current is None:
                raise not_found(key)
            if expected_rv and resource_version(current) != str(expected_rv):
                raise conflict(key)
            return self._write(key, obj, "MODIFIED")

    def delete(self, key: ObjectKey, expected_rv: str | None = None) -> dict[str, Any]:
        with self.transaction():
            last = self._shared(key)
            if last is None:
                raise not_found(key)
            if expected_rv and resource_version(last) != str(expected_rv):
                raise conflict(key)
            revision = self._next_revision()
            self._remove(key)
            self._cache.put(key, None)
            body = encode(stamped(last, revision), str(key))
            self._append_event(StoredEvent(revision, "DELETED", key.group, key.kind, body))
            return clone(last)

    def _write(self, key: ObjectKey, obj: Mapping[str, Any], event_type: str) -> dict[str, Any]:
        """Store ``obj`` at the next revision. The cache keeps the text (or the storage's form of it, once
        stored: ``ObjectCache.packed``), decoded when first read: the caller gets a decoding of its own, so
        nothing it does to it reaches the store."""
        revision = self._next_revision()
        stored = stamped(obj, revision)
        body = encode(stored, str(key))
        head = head_of(stored)
        self._save(key, body, head)
        self._cache.put(key, (body, head))
        self._append_event(StoredEvent(revision, event_type, key.group, key.kind, body))
        return self._decode_object(body, key)

    def _counter(self) -> int:
        """The revision counter: remembered once this transaction has written one (nobody else can write
        while it is open), else read; ``_compact_events`` tells a transaction that wrote by it."""
        written = self._written if self._depth else None
        return self._read_revision() if written is None else written

    def _next_revision(self) -> int:
        self._writing()
        revision = self._counter() + 1
        self._write_revision(revision)
        self._written = revision
        self._cache.revision = revision
        return revision

    # --- revisions and watch ---

    def current_revision(self) -> int:
        with self._lock:
            return self._counter()

    def peek_revision(self) -> int | None:
        if not self._lock.acquire(blocking=False):
            return None
        try:
            return self._counter()
        finally:
            self._lock.release()

    def oldest_revision(self) -> int:
        with self._lock:
            return self._compacted_through()

    def events_since(
        self, revision: int, group: str | None = None, kind: str | None = None
    ) -> builtins.list[WatchEvent]:
        with self._lock:
            compacted = self._compacted_through()
            if revision < compacted:
                raise Gone(
                    f"too old resource version: {revision} (events up to {compacted} were compacted); "
                    "list again and watch from the returned resourceVersion"
                )
            stored = self._events_after(revision, group, kind)
        return [WatchEvent(e.type, self._decode_object(e.body, f"event {e.revision}"), e.revision) for e in stored]

    def wait_for_change(self, revision: int, timeout: float) -> bool:
        deadline = time.monotonic() + max(timeout, 0.0)
        if not self._lock.acquire(timeout=max(timeout, 0.0)):
            return False
        try:
            while self._closed or self._read_revision() <= revision:
                remaining = deadline - time.monotonic()
                # Inside our own transaction nobody else can write: waiting would only deadlock.
                if remaining <= 0 or self._depth > 0 or self._closed:
                    return False
                self._changed.wait(min(remaining, self._poll_interval))
            return True
        finally:
            self._lock.release()

    # --- records ---

    def put_record(self, table: str, key: str, value: Any) -> None:
        self._put_stored_record(table, key, self._storage_form(encode(value, f"record {table}/{key}")))

    def put_record_listing(
        self, table: str, key: str, value: Mapping[str, Any], field: str, items: Iterable[Any]
    ) -> None:
        """``put_record`` of ``{**value, field: list(items)}``, its list encoded and stored as ``items`` yields
        it (``encode_listing``): a run record's 210 000 events at N=10 000 were 170 MB of transient values and
        text at once, the peak of the whole run."""
        pieces = encode_listing(value, field, items, f"record {table}/{key}")
        self._put_stored_record(table, key, self._storage_form_of(pieces))

    def _put_stored_record(self, table: str, key: str, stored: Stored) -> None:
        with self.transaction():
            self._writing(atomic=True)
            self._record_save(table, key, stored)

    def put_content(self, table: str, value: Any) -> str:
        body = encode(value, f"record {table}")
        key = content_key(body)
        self._add_contents(table, [(key, self._storage_form(body))])
        return key

    def put_texts(self, table: str, texts: Iterable[StoredText]) -> None:
        """A text of this backend is kept in the form it is stored in; one of another backend is converted."""
        self._add_contents(
            table,
            [(text.key, text.stored if text.origin is self else self._storage_form(text.text)) for text in texts],
        )

    def _add_contents(self, table: str, rows: builtins.list[tuple[str, Stored]]) -> None:
        """Add the (key, stored body) rows that ``table`` does not have yet, in key order: a content key is
        random, and inserting many in order keeps the table's key index from being written all over."""
        if not rows:
            return
        with self.transaction():
            self._writing(atomic=len(rows) == 1)  # several rows are several statements: a savepoint undoes them
            self._record_add_stored(table, sorted(rows, key=lambda row: row[0]))

    def get_record(self, table: str, key: str) -> Any | None:
        with self._lock:
            body = self._record_load(table, key)
        return None if body is None else self._decode(body, f"record {table}/{key}")

    def delete_record(self, table: str, key: str) -> None:
        with self.transaction():
            self._writing(atomic=True)
            self._record_remove(table, key)

    def list_records(self, table: str) -> Iterator[tuple[str, Any]]:
        with self._lock:
            rows = self._record_scan(table)
        return ((key, self._decode(body, f"record {table}/{key}")) for key, body in rows)

    def record_keys(self, table: str) -> builtins.list[str]:
        with self._lock:
            return self._record_keys(table)

    def close(self) -> None:
        """Release the backend; idempotent. Threads blocked in ``wait_for_change`` return False."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._cache.clear(None)
            self._release()
            self._changed.notify_all()
