"""The store's events of a run, fetched and decoded once for every reader.

Why it exists: after each reconcile the controller dispatches the store events it caused, and the reconcile
memo (``runtime.memo``) follows the same events to know which objects changed. Each asking the store would
decode every event twice; reading through one log decodes it once.

What it keeps: the events after the revision the last reader asked from, up to the store's revision when
it asked. A reader asking from an earlier revision, or after a rollback (revisions are then reused), gets
the events fetched again. A store that compacted the events asked for raises ``Gone`` as it does.
"""

from __future__ import annotations

from choreo.store.base import EventSource, WatchEvent


class EventLog:
    def __init__(self, source: EventSource) -> None:
        self.source = source
        self._events: list[WatchEvent] = []
        self._after = -1  # the events held are those after this revision...
        self._through = -1  # ...up to this one
        self._rollbacks = -1

    def since(self, revision: int) -> list[WatchEvent]:
        """The store's events after ``revision``, in order."""
        current, rollbacks = self.source.current_revision(), self.source.rollbacks
        if rollbacks != self._rollbacks or current < self._through or not self._after <= revision <= self._through:
            self._events = self.source.events_since(revision)
        else:
            if current > self._through:
                self._events.extend(self.source.events_since(self._through))
            if revision > self._after:
                self._events = [event for event in self._events if event.revision > revision]
        self._after, self._through, self._rollbacks = revision, current, rollbacks
        return list(self._events)

    def drop(self) -> None:
        """Let go of the events held (the next reader fetches what it asks for)."""
        self._events, self._after, self._through, self._rollbacks = [], -1, -1, -1

    def current_revision(self) -> int:
        return self.source.current_revision()
