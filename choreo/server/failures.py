"""What server mode does with a failed reconcile, so that Kubernetes clients see it and it heals itself.

A batch run stops at the first failure and rolls back; a long-running server cannot. For each failed
reconcile of an object it:

* sets the for-object's condition (the reconciler's ``conditionType``, else ``Ready``) to ``False`` with a
  reason (``ApplyConflict``, ``ReconcileLoop`` or ``ReconcileFailed``) and a message naming the
  reconciler (an apply conflict's message names the other field manager);
* records a ``Warning`` Event about the object (``kubectl describe`` lists it; repeats count up);
* retries it after a delay that doubles with every failure of that object, capped.

The next success of that object clears its retry state, sets the condition ``True`` again and records a
``Normal`` Event. The condition is written as the reconciler's own field manager, re-applying exactly the
fields it already owns, so that nothing of its status is dropped and its own next apply never conflicts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from choreo.api.conditions import get_condition, set_condition
from choreo.apiserver import ssa
from choreo.apiserver.interface import ObjectAPI
from choreo.apiserver.server import utc_now
from choreo.errors import ChoreoError
from choreo.runtime.controller import Controller, WorkKey
from choreo.server.events import NORMAL, WARNING, EventRecorder

Object = dict[str, Any]
Log = Callable[..., None]

BASE_DELAY = 0.5  # seconds before the first retry
MAX_DELAY = 300.0  # the cap: a failing object is still retried every five minutes
DEFAULT_CONDITION = "Ready"
RECOVERED = "Reconciled"


REASONS = ("ApplyConflict", "ReconcileLoop", "ReconcileFailed")


def failure_reason(message: str) -> str:
    """The condition and Event reason of a failure message (one of ``REASONS``)."""
    if "Apply failed with" in message:
        return "ApplyConflict"
    if message.startswith("reconcile loop"):
        return "ReconcileLoop"
    return "ReconcileFailed"


@dataclass
class Retry:
    """One object whose reconcile keeps failing: what failed, how often, and when it is tried again."""

    task: str
    reconciler: str
    object: str
    attempts: int
    delay: float
    next_at: datetime
    message: str

    def to_json(self) -> Object:
        return {
            "task": self.task,
            "reconciler": self.reconciler,
            "object": self.object,
            "attempts": self.attempts,
            "delaySeconds": self.delay,
            "nextAttempt": self.next_at.isoformat(timespec="seconds"),
            "message": self.message,
        }


class FailureHandler:
    """Retry state, conditions and Events of the failing objects of one continuous controller."""

    def __init__(
        self, api: ObjectAPI, core: Controller, log: Log, *, base: float = BASE_DELAY, cap: float = MAX_DELAY
    ) -> None:
        self.api = api
        self.core = core
        self.events = EventRecorder(api)
        self._log = log
        self.base, self.cap = base, cap
        self.retries: dict[WorkKey, Retry] = {}
        self._seen_ok: set[WorkKey] = set()  # reconciled well at least once since this handler started

    def failed(self, key: WorkKey, message: str) -> float:
        """Report a failed reconcile of ``key``; returns the delay before it is tried again."""
        r = self.core.reconcilers[key[0]]
        previous = self.retries.get(key)
        attempts = previous.attempts + 1 if previous else 1
        delay = min(self.base * 2 ** (attempts - 1), self.cap)
        reason = failure_reason(message)
        if not message.startswith(f"reconciler {r.name}"):
            message = f"reconciler {r.name}: {message}"
        self.retries[key] = Retry(
            self.core.task_id(key),
            r.name,
            _object(self.core, key),
            attempts,
            delay,
            datetime.now(UTC) + timedelta(seconds=delay),
            message,
        )
        self._tell(key, message, reason, WARNING)
        return delay

    def succeeded(self, key: WorkKey) -> None:
        """A reconcile of ``key`` went well: if it was failing, say it recovered. The first success of an
        object after a (re)start also looks at its stored condition, which may carry a failure reported
        before the restart."""
        retry = self.retries.pop(key, None)
        if retry is not None:
            note = f"reconciler {retry.reconciler}: reconciled after {retry.attempts} failed attempt(s)"
            self._tell(key, "", RECOVERED, NORMAL, note)
        elif key not in self._seen_ok and self._reported_before(key):
            self._tell(key, "", RECOVERED, NORMAL, f"reconciler {key[0]}: reconciled")
        self._seen_ok.add(key)

    def _reported_before(self, key: WorkKey) -> bool:
        r = self.core.reconcilers[key[0]]
        f = r.config.for_
        current = self.api.view(f.group, f.kind, key[1], key[2])  # only read
        condition = get_condition(current, r.config.condition_type or DEFAULT_CONDITION) if current else None
        return condition is not None and condition.get("status") == "False" and condition.get("reason") in REASONS

    def pending(self) -> list[Retry]:
        return sorted(self.retries.values(), key=lambda retry: retry.task)

    def _tell(self, key: WorkKey, message: str, reason: str, type_: str, note: str = "") -> None:
        """Set the condition (``message`` empty: True) and record the Event; a write that fails is logged."""
        r = self.core.reconcilers[key[0]]
        f = r.config.for_
        try:
            current = self.api.try_get(f.group, f.kind, key[1], key[2])
            if current is None:
                return
            self._set_condition(current, r.name, r.config.condition_type or DEFAULT_CONDITION, message, reason)
            obj = self.api.try_get(f.group, f.kind, key[1], key[2]) or current
            self.events.record(obj, type_=type_, reason=reason, message=message or note)
        except ChoreoError as exc:
            self._log("failure-report-failed", level="error", task=self.core.task_id(key), error=str(exc))

    def _set_condition(self, current: Object, manager: str, condition_type: str, message: str, reason: str) -> None:
        semantics = self.api.semantics(self.api.registry.for_object(current))
        applied = ssa.prune_to_manager(current, manager, semantics)
        set_condition(applied, condition_type, message, utc_now(), reason=reason if message else None)
        self.api.apply(applied, manager=manager)


def _object(core: Controller, key: WorkKey) -> str:
    """The for-object of a piece of work as people name it: ``Kind.group namespace/name``."""
    f = core.reconcilers[key[0]].config.for_
    return f"{f.kind}.{f.group} {key[1]}/{key[2]}" if key[1] else f"{f.kind}.{f.group} {key[2]}"
