"""The in-memory backend: everything in dicts, gone when the process ends.

Used for tests, ``--store memory:`` dry runs and anywhere durability does not matter. It follows the
same contract as the SQLite backend (see ``_common.BaseBackend``); transactions are implemented with an
undo log: every change pushes a closure that reverts it, and a savepoint remembers how long the undo
log, the event list and the revision counter were when it began.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from choreo.api.objects import ObjectKey
from choreo.store._common import BaseBackend, StoredEvent
from choreo.store.base import Stored
from choreo.store.head import Head

GroupKind = tuple[str, str]
NamespacedName = tuple[str, str]


@dataclass(frozen=True)
class _Savepoint:
    undo_len: int
    events_len: int
    revision: int


class MemoryBackend(BaseBackend):
    def __init__(self, *, max_events: int | None = None) -> None:
        super().__init__(max_events=max_events)
        self._objects: dict[GroupKind, dict[NamespacedName, tuple[str, Head]]] = {}
        self._records: dict[str, dict[str, str]] = {}
        self._events: list[StoredEvent] = []
        self._revision = 0
        self._compacted = 0
        self._undo: list[Callable[[], object]] = []
        self._savepoints: list[_Savepoint] = []

    # --- raw mutations: each returns the previous value so it can be undone ---

    def _set_object(self, key: ObjectKey, body: tuple[str, Head] | None) -> tuple[str, Head] | None:
        by_name = self._objects.setdefault((key.group, key.kind), {})
        name = (key.namespace, key.name)
        previous = by_name.pop(name, None)
        if body is not None:
            by_name[name] = body
        elif not by_name:
            del self._objects[(key.group, key.kind)]
        return previous

    def _set_record(self, table: str, key: str, body: str | None) -> str | None:
        rows = self._records.setdefault(table, {})
        previous = rows.pop(key, None)
        if body is not None:
            rows[key] = body
        elif not rows:
            del self._records[table]
        return previous

    def _change_object(self, key: ObjectKey, body: tuple[str, Head] | None) -> None:
        previous = self._set_object(key, body)
        self._undo.append(lambda: self._set_object(key, previous))

    def _change_record(self, table: str, key: str, body: str | None) -> None:
        previous = self._set_record(table, key, body)
        self._undo.append(lambda: self._set_record(table, key, previous))

    # --- objects ---

    def _save(self, key: ObjectKey, body: str, head: Head) -> None:
        self._change_object(key, (body, head))

    def _remove(self, key: ObjectKey) -> None:
        self._change_object(key, None)

    def _scan_heads(self, group: str, kind: str) -> list[tuple[str, str, Head]]:
        return [(ns, name, head) for (ns, name), (_body, head) in sorted(self._objects.get((group, kind), {}).items())]

    def _scan_bodies(self, group: str, kind: str) -> list[tuple[str, str, Stored]]:
        return [(ns, name, body) for (ns, name), (body, _head) in sorted(self._objects.get((group, kind), {}).items())]

    def _read_body(self, key: ObjectKey) -> Stored | None:
        found = self._objects.get((key.group, key.kind), {}).get((key.namespace, key.name))
        return None if found is None else found[0]

    def _text_of(self, stored: Stored) -> str:
        assert isinstance(stored, str), "this backend keeps every text as it is"
        return stored

    def _storage_form(self, text: str) -> Stored:
        return text

    def _storage_form_of(self, pieces: Iterable[str]) -> Stored:
        return "".join(pieces)

    def _kinds(self) -> list[tuple[str, str]]:
        return list(self._objects)

    # --- revisions and events ---

    def _read_revision(self) -> int:
        return self._revision

    def _write_revision(self, revision: int) -> None:
        self._revision = revision

    def _append_event(self, event: StoredEvent) -> None:
        self._events.append(event)

    def _events_after(self, revision: int, group: str | None, kind: str | None) -> list[StoredEvent]:
        start = bisect_right(self._events, revision, key=lambda event: event.revision)
        return [
            event
            for event in self._events[start:]
            if (group is None or event.group == group) and (kind is None or event.kind == kind)
        ]

    def _compacted_through(self) -> int:
        return self._compacted

    def _drop_events_through(self, revision: int) -> None:
        del self._events[: bisect_right(self._events, revision, key=lambda event: event.revision)]
        self._compacted = revision

    # --- records ---

    def _record_load(self, table: str, key: str) -> str | None:
        return self._records.get(table, {}).get(key)

    def _record_save(self, table: str, key: str, body: Stored) -> None:
        self._change_record(table, key, self._text_of(body))

    def _record_add_stored(self, table: str, rows: list[tuple[str, Stored]]) -> None:
        for key, body in rows:
            if self._record_load(table, key) is None:
                self._change_record(table, key, self._text_of(body))

    def _record_remove(self, table: str, key: str) -> None:
        if self._record_load(table, key) is not None:
            self._change_record(table, key, None)

    def _record_scan(self, table: str) -> list[tuple[str, str]]:
        return sorted(self._records.get(table, {}).items())

    def _record_keys(self, table: str) -> list[str]:
        return sorted(self._records.get(table, {}))

    # --- transactions and lifetime ---

    def _begin(self, depth: int) -> None:
        self._savepoints.append(_Savepoint(len(self._undo), len(self._events), self._revision))

    def _commit(self, depth: int) -> None:
        self._savepoints.pop()
        if not self._savepoints:
            self._undo.clear()

    def _rollback(self, depth: int) -> None:
        savepoint = self._savepoints.pop()
        while len(self._undo) > savepoint.undo_len:
            self._undo.pop()()
        del self._events[savepoint.events_len :]
        self._revision = savepoint.revision

    def _release(self) -> None:
        """Nothing to release: the data lives as long as this object."""
