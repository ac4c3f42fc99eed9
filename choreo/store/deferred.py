"""The SQLite store's object rows, watch events and records, written when the process would otherwise wait.

Why it exists: a run writes some 27 000 objects at N=1000, and each write's statements (compressing the
body, the row's upsert, the event's insert, a savepoint around the API call) cost about a tenth of the
run. Nobody reads those rows before the transaction commits: the object cache answers every read of the
run. Meanwhile choreo spends about a quarter of a run waiting for reconcile workers. So the statements are
queued here, in order, and run in small slices while a worker computes (``run_some``), and the rest
before anything else reads or writes the same file (``run_all``) and before the commit. What is stored,
and when it becomes visible to others (at the commit), is unchanged.

Records (``put_record``) are queued too: a server writes a reconcile's memo record with its objects, in
one transaction per group of reconciles, and running the queue for each record took about a second of the
N=1000 first pass that a worker's computing could have hidden. A queued record is read from the queue
(``pending_record``); a read of a whole table of records runs the queue first.

Savepoints follow the queue: one begun while statements are queued is only a mark in the queue. Undoing
it drops what was queued after the mark, without a statement; releasing it costs nothing. It becomes a
real SQLite savepoint only when a queued statement after its mark runs, or a statement of the store's
own runs while it is open (``run_all(opening=True)``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from choreo.store.base import Stored

_SLICE = 1
"""Statements run per ``run_some``: tens of microseconds, which is how late a worker's answer can be made."""
_QUEUED_TEXT = 128 * 1024
"""How much body text may wait: beyond it ``add`` runs the oldest statements at once. A run with no worker
to wait for (its load, its stages) writes as before, with the same bounded memory."""


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple[object, ...]
    body: Stored  # packed when it runs (unless ``record``: packed already); bound after ``params``
    revision: int  # an event's revision (0 for an object row): compaction can drop it unwritten
    packed: Callable[[Stored], None] | None  # told the packed body once the statement ran
    record: tuple[str, str] | None = None  # a record's table and key


def _text(statements: list[_Statement]) -> int:
    return sum(len(s.body) for s in statements)


class DeferredWrites:
    """Statements of the open transaction not run yet, and the savepoints (by depth) they fall under."""

    def __init__(self, db: sqlite3.Connection, pack: Callable[[str], Stored]) -> None:
        self._db = db
        self._pack = pack
        self._queue: list[_Statement] = []
        self._queued_text = 0
        # depth -> the queue position where the savepoint began, or None once SQLite has it.
        self._savepoints: dict[int, int | None] = {}
        self._records: dict[tuple[str, str], _Statement] = {}  # the last queued save of each record

    def __bool__(self) -> bool:
        return bool(self._queue)

    def add(
        self,
        sql: str,
        params: tuple[object, ...],
        body: str,
        revision: int = 0,
        packed: Callable[[Stored], None] | None = None,
    ) -> None:
        """Queue a statement; ``packed`` is told the body's packed form once the statement ran."""
        self._queue.append(_Statement(sql, params, body, revision, packed))
        self._queued_text += len(body)
        if self._queued_text > _QUEUED_TEXT:
            self._run(len(self._queue) // 2, opening=False)

    def add_record(self, sql: str, table: str, key: str, stored: Stored) -> None:
        """Queue the save of a record, its value in the storage's form already (``sql`` binds table, key,
        value)."""
        statement = _Statement(sql, (table, key), stored, 0, None, (table, key))
        self._records[(table, key)] = statement
        self._queue.append(statement)
        self._queued_text += len(stored)
        if self._queued_text > _QUEUED_TEXT:
            self._run(len(self._queue) // 2, opening=False)

    def pending_record(self, table: str, key: str) -> Stored | None:
        """The value of the record's last queued save (None: none is queued)."""
        statement = self._records.get((table, key))
        return None if statement is None else statement.body

    @property
    def records(self) -> bool:
        """Whether a record's save is queued."""
        return bool(self._records)

    def begin(self, depth: int) -> None:
        """A savepoint at ``depth`` (> 0) begins here."""
        self._savepoints[depth] = len(self._queue)

    def release(self, depth: int) -> None:
        """The savepoint at ``depth`` ends well: what it queued belongs to the level below."""
        if self._savepoints.pop(depth) is None:
            self._db.execute(f"RELEASE sp{depth}")

    def roll_back(self, depth: int) -> None:
        """Undo what was written since the savepoint at ``depth`` began."""
        mark = self._savepoints.pop(depth)
        if mark is not None:
            self._queued_text -= _text(self._queue[mark:])
            del self._queue[mark:]
            self._records = {s.record: s for s in self._queue if s.record is not None}
            return
        # Every statement still queued came after SQLite's savepoint was set.
        self._queue, self._queued_text = [], 0
        self._records.clear()
        self._db.execute(f"ROLLBACK TO sp{depth}")
        self._db.execute(f"RELEASE sp{depth}")

    def drop_events_through(self, revision: int) -> None:
        """Queued events that compaction would delete are never written (the transaction's end only: with a
        savepoint open, taking statements out of the queue would move the position its mark names)."""
        assert not self._savepoints, "events are compacted only when the outermost transaction ends"
        self._queue = [s for s in self._queue if not 0 < s.revision <= revision]
        self._queued_text = _text(self._queue)

    def forget(self) -> None:
        """The transaction rolled back or its statements ran: nothing is queued, no savepoint is open."""
        self._queue, self._queued_text = [], 0
        self._records.clear()
        self._savepoints.clear()

    def run_some(self) -> bool:
        """Run a slice of the queue; whether any is left."""
        self._run(min(_SLICE, len(self._queue)), opening=False)
        return bool(self._queue)

    def run_all(self, *, opening: bool) -> None:
        """Run the whole queue, before a statement of the store's own. ``opening``: that statement writes,
        so the savepoints open now must be SQLite's first (a read needs only the rows)."""
        self._run(len(self._queue), opening=opening)

    def _run(self, count: int, *, opening: bool) -> None:
        starts = sorted((mark, depth) for depth, mark in self._savepoints.items() if mark is not None)
        pending = iter(starts)
        start = next(pending, None)
        db, pack, queue = self._db, self._pack, self._queue
        for position in range(count):
            while start is not None and start[0] <= position:
                self._open(start[1])
                start = next(pending, None)
            statement = queue[position]
            if statement.record is None:
                body = pack(statement.body)  # type: ignore[arg-type]  # an object's text
                db.execute(statement.sql, (*statement.params, body))
                if statement.packed is not None:
                    statement.packed(body)
            else:
                db.execute(statement.sql, (*statement.params, statement.body))
                if self._records.get(statement.record) is statement:
                    del self._records[statement.record]
        self._queued_text -= _text(queue[:count])
        del queue[:count]
        while opening and start is not None and start[0] <= count:
            self._open(start[1])
            start = next(pending, None)
        for depth, mark in self._savepoints.items():
            if mark is not None:
                self._savepoints[depth] = mark - count

    def _open(self, depth: int) -> None:
        self._db.execute(f"SAVEPOINT sp{depth}")
        self._savepoints[depth] = None
