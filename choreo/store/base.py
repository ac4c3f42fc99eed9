"""The backend contract. Implementations: ``memory.MemoryBackend`` and ``sqlite.SqliteBackend``.

Rules every backend honours (the conformance suite checks each one):
- Objects are JSON-compatible dicts. What goes in is copied; what ``get``/``list``/writes return is a fresh
  copy. ``view``/``view_list`` return the store's own objects, shared and never to be mutated, for readers
  that only look (the engine's indexes and digests): no copy at all.
- A single global, strictly increasing revision counter. Every create/update/delete takes the next
  value; the stored object's ``metadata.resourceVersion`` is that value as a string.
- ``update``/``delete`` with ``expected_rv`` fail with ``choreo.errors.Conflict`` when the stored
  object's resourceVersion differs; a missing object is ``NotFound``; ``create`` of an existing key is
  ``AlreadyExists``.
- Keys are namespace-aware: (group, kind, namespace, name), namespace "" for cluster-scoped objects.
- Every write is atomic; ``transaction()`` groups several writes into one atomic unit (nested calls join
  the outer transaction; an exception rolls everything in it back, including revisions and events).
- Every write records a watch event; ``events_since(rv)`` returns the events with a revision > rv in
  order. Records (``put_record``...) are a plain key/value side table for run records, snapshots and
  allocator state; they share the transaction of object writes.
"""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from choreo.api.objects import ObjectKey
from choreo.errors import ChoreoError
from choreo.store.head import Head


class Gone(ChoreoError):
    """A watch asked for events older than the backend still keeps (HTTP 410)."""

    reason = "Expired"
    code = 410


@dataclass(frozen=True)
class WatchEvent:
    type: str  # "ADDED" | "MODIFIED" | "DELETED"
    object: dict[str, Any]
    revision: int


Stored = str | bytes
"""A canonical JSON text in the form a backend keeps it (SQLite: compressed bytes when long)."""


def content_key(text: str) -> str:
    """The key of a canonical JSON text in a content-addressed record table: the sha256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode()).hexdigest()


class StoredText:
    """A stored object's canonical JSON text in the form its backend keeps it (``stored``). The same backend's
    content tables keep that form as it is (``RecordStore.put_texts``): an object is snapshotted without
    being encoded or compressed again. ``key`` is its content key; the text itself is only unpacked when
    asked for (and when the key is first asked for, unless the cache still held it)."""

    __slots__ = ("_key", "_known_text", "_text_of", "origin", "stored")

    def __init__(self, stored: Stored, origin: object, text_of: Callable[[Stored], str], text: str | None) -> None:
        self.stored = stored
        self.origin = origin
        """The backend whose storage form ``stored`` is."""
        self._text_of = text_of
        self._known_text = text
        self._key: str | None = None

    @property
    def text(self) -> str:
        return self._text_of(self.stored) if self._known_text is None else self._known_text

    @property
    def key(self) -> str:
        if self._key is None:
            self._key = content_key(self.text)
        return self._key


class EventSource(Protocol):
    """What a watcher needs of the store: the revision, the changes since one, and waiting for the next."""

    rollbacks: int
    """How many transactions (or savepoints) were rolled back so far. A rollback makes revision numbers
    available again, so caches keyed by revision compare this too."""

    def current_revision(self) -> int: ...

    def oldest_revision(self) -> int:
        """The oldest revision ``events_since`` still answers from (the events up to it were let go)."""
        ...

    def events_since(
        self, revision: int, group: str | None = None, kind: str | None = None
    ) -> builtins.list[WatchEvent]: ...

    def wait_for_change(self, revision: int, timeout: float) -> bool:
        """Block until the current revision is above ``revision`` (True) or the timeout passes (False)."""
        ...


class RecordStore(Protocol):
    """The key/value side tables: run records, snapshots, stage records, allocator state."""

    def put_record(self, table: str, key: str, value: Any) -> None: ...

    def put_record_listing(
        self, table: str, key: str, value: Mapping[str, Any], field: str, items: Iterable[Any]
    ) -> None:
        """``put_record`` of ``{**value, field: list(items)}``, the list encoded as ``items`` yields it: a long
        list is never held whole, as JSON values or as text."""
        ...

    def put_content(self, table: str, value: Any) -> str:
        """Keep ``value`` in a content-addressed table: under the sha256 of its canonical JSON, written only
        when the table does not have that key yet (a key names one value). Returns the key."""
        ...

    def put_texts(self, table: str, texts: Iterable[StoredText]) -> None:
        """Keep each of the store's own texts (``Backend.stored_texts``) in a content-addressed table, as
        ``put_content`` keeps their values: under their key, in the form the store already holds them."""
        ...

    def get_record(self, table: str, key: str) -> Any | None: ...

    def delete_record(self, table: str, key: str) -> None: ...

    def list_records(self, table: str) -> Iterator[tuple[str, Any]]:
        """(key, value) pairs of a table in key order."""
        ...

    def record_keys(self, table: str) -> builtins.list[str]:
        """The keys of a table in key order, without decoding any value (for pruning large tables)."""
        ...


class Backend(EventSource, RecordStore, Protocol):
    """A whole store: objects, watch events and records, with transactions."""

    def get(self, key: ObjectKey) -> dict[str, Any] | None: ...

    def list(
        self,
        group: str,
        kind: str,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> builtins.list[dict[str, Any]]:
        """Objects of one kind sorted by (namespace, name); ``namespace=None`` means all namespaces;
        ``labels`` keeps objects carrying every given label with that exact value."""
        ...

    def view(self, key: ObjectKey, *, keep: bool = True) -> dict[str, Any] | None:
        """``get`` without the copy: the stored object itself, which the caller must not mutate.
        ``keep=False``: the read of the object's last reader (a batch run's last stage): an object not
        decoded yet is decoded for this caller alone, so it does not stay decoded in memory after it."""
        ...

    def view_list(
        self,
        group: str,
        kind: str,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> builtins.list[dict[str, Any]]:
        """``list`` without the copies: the stored objects themselves, which the caller must not mutate."""
        ...

    def head_at_start(self, key: ObjectKey) -> Head | None:
        """The head the object had when the outermost open transaction began (None: there was no such
        object then); the current head outside a transaction."""
        ...

    def head(self, key: ObjectKey) -> Head | None:
        """The head of the object stored under ``key`` (``head.py``), without decoding the object."""
        ...

    def background(self) -> bool:
        """Run a slice of the writes the storage put off (``choreo.store.deferred``); whether any is left."""
        ...

    def contended(self) -> bool:
        """Whether another thread waits for the store (a thread holding a transaction open keeps it out)."""
        ...

    def peek_revision(self) -> int | None:
        """``current_revision``, or None while another thread holds the store (its transaction is going on):
        for a look that must neither wait for it nor make a holder that lets waiters in let go early."""
        ...

    def heads(self, group: str, kind: str) -> builtins.list[tuple[ObjectKey, Head]]:
        """The key and head of every object of one kind, in ``list``'s order, without decoding any object."""
        ...

    def dependents(self, uid: str) -> builtins.list[ObjectKey]:
        """Keys of the objects whose ownerReferences name ``uid``, sorted."""
        ...

    def kinds(self) -> builtins.list[tuple[str, str]]:
        """Every (group, kind) with at least one stored object, sorted."""
        ...

    def stored_texts(self) -> Iterator[tuple[Head, StoredText]]:
        """Every stored object's head and stored text (no object is decoded), by group, kind, namespace and
        name."""
        ...

    def create(self, key: ObjectKey, obj: dict[str, Any]) -> dict[str, Any]: ...

    def update(self, key: ObjectKey, obj: dict[str, Any], expected_rv: str | None = None) -> dict[str, Any]: ...

    def delete(self, key: ObjectKey, expected_rv: str | None = None) -> dict[str, Any]:
        """Remove the object and return its last stored state."""
        ...

    def transaction(self) -> AbstractContextManager[None]: ...

    def close(self) -> None: ...
