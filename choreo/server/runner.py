"""Continuous reconciliation (production mode): the controller keeps running and reacts to store events.

``ContinuousController`` drives the same reconcile core as a batch run (``Controller.step``: wiring of
for / owns / watches, one reconcile per object at a time, child handling, conditions, loop detection) and
changes only what a long-running process needs changed:

* delayed requeues wait in real time instead of jumping virtual time;
* when the queue is empty it waits for the store to change instead of ending, so writes made through the
  HTTP API (or by another process on the same store) are reconciled as they arrive;
* an ERROR or a reconcile loop is logged, reported as Kubernetes shows failures (the for-object's condition
  turns False, a Warning Event) and retried with capped exponential backoff (``choreo.server.failures``);
  the runner carries on with other objects meanwhile;
* a reconcile's own writes to its for-object do not re-trigger it, but a write by someone else during that
  reconcile does (the object's generation moved or a deletion started).

Each time the queue drains after a change (``choreo.runtime.quiet`` says which changes count: a reconcile,
any write to the store but the previous pass's own, and the start itself, so a project with nothing to
reconcile still gets its stages) the controller reports the events since the previous pass to ``on_quiet``
(the server runs the stages and records them as a run, with the objects still waiting for a retry).
``Runner`` owns the thread and stops it between two reconciles.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from choreo.apiserver.interface import ObjectAPI
from choreo.lang.isolation import Abandonable, Abandoned
from choreo.runtime.controller import BoundReconciler, Controller, WorkKey
from choreo.runtime.events import RunOutcome
from choreo.runtime.queue import WorkQueue
from choreo.server.failures import FailureHandler, Retry
from choreo.store.base import Gone

Object = dict[str, Any]
Log = Callable[..., None]
IDLE_WAIT = 0.1  # seconds between two looks at the stop flag when idle: a stop waits no longer
Failure = tuple[str, str]  # task, message
OnQuiet = Callable[[RunOutcome, list[Failure], list[Retry]], None]


class ContinuousController:
    """A long-running driver of the reconcile core (``Controller.step``): it waits for store events instead
    of ending when quiet, and carries on after a failure."""

    def __init__(
        self,
        api: ObjectAPI,
        reconcilers: list[BoundReconciler],
        *,
        max_reconciles: int = 100,
        log: Log,
        on_quiet: OnQuiet,
    ) -> None:
        self.api = api
        self.core = Controller(
            api,
            reconcilers,
            max_reconciles=max_reconciles,
            log=lambda m: log("reconciler-log", msg=m),
            queue=WorkQueue(clock=time.monotonic),
        )
        self._log = log
        self._on_quiet = on_quiet
        self.failures = FailureHandler(api, self.core, log)
        self._seen: dict[WorkKey, tuple[int, bool]] = {}
        self._errors: list[Failure] = []
        self._stepped = False  # reconciles ran since the last pass: a stop with nothing queued reports them
        self.reconciles = 0
        self.current: WorkKey | None = None  # the latest reconcile begun
        self.revision = 0  # every event up to here has been dispatched

    @property
    def queue(self) -> WorkQueue[WorkKey]:
        return self.core.queue

    @property
    def busy(self) -> bool:
        """Something changed that the stages have not seen yet (the next quiet moment runs them)."""
        return self.core.quiet.due

    def serve(self, stop: threading.Event) -> None:
        """Reconcile until ``stop`` is set; it is checked between two reconciles."""
        self.revision = self.api.events.current_revision()
        self.core.enqueue_all()
        while not stop.is_set():
            key = self.queue.pop()
            if key is None:
                if self.core.quiet.due:
                    self._quiet()
                    self.revision = self._dispatch_since(self.revision, None)
                    continue
                due = self.queue.next_due()
                self.api.events.wait_for_change(self.revision, IDLE_WAIT if due is None else min(due, IDLE_WAIT))
                self.revision = self._dispatch_since(self.revision, None)
                continue
            self._stepped = True
            self._step(key)
            self.revision = self._dispatch_since(self.revision, key)
        if self._stepped and not self.queue.has_ready():
            self._quiet()
        # Stopped with work still queued (a SIGTERM or a load of the folder in the middle of a burst): this is
        # no quiet point. Its stages would validate and write out/ from a half-reconciled state (a device's
        # config without the interfaces not reconciled yet) and record it as a successful run; the next start
        # of the runner reconciles what is left and reaches the real one.

    def _quiet(self) -> None:
        """Report the pass to ``on_quiet`` in one transaction: no other writer gets in meanwhile, so the
        revisions it spans are the pass's own writes, which do not make the next pass due."""
        outcome, errors = self.core.outcome, self._errors
        self.core.outcome, self._errors = RunOutcome(), []
        self.core.counts.clear()
        self._stepped = False
        first = last = self.api.events.current_revision()
        try:
            with self.api.transaction():
                first = self.api.events.current_revision()
                self._on_quiet(outcome, errors, self.failures.pending())
                last = self.api.events.current_revision()
        except Exception as exc:  # rolled back: its revisions will be used again by others' writes
            last = first
            self._log("record-error", level="error", error=repr(exc), trace=traceback.format_exc())
        self.core.quiet.passed(first, last)

    def _step(self, key: WorkKey) -> None:
        self._remember(key)
        self.reconciles += 1
        self.current = key
        try:
            failure = self.core.step(key)
        except Exception as exc:  # a bug in a reconciler binding must not stop production
            trace = traceback.format_exc()
            self._log("reconcile-crash", level="error", key="/".join(key), error=repr(exc), trace=trace)
            failure = f"internal error: {exc!r}"
        if failure is None:
            self.failures.succeeded(key)
            return
        self._report(key, failure)
        self.core.outcome.failure, self.core.outcome.failed_task = None, ""
        self.queue.add_after(key, self.failures.failed(key, failure))

    def _remember(self, key: WorkKey) -> None:
        """The for-object's generation and deletion state as this reconcile starts (see ``_changed_by_others``)."""
        f = self.core.reconcilers[key[0]].config.for_
        current = self.api.try_get(f.group, f.kind, key[1], key[2])
        if current is not None:
            md = current["metadata"]
            self._seen[key] = (int(md.get("generation") or 0), bool(md.get("deletionTimestamp")))

    def _report(self, key: WorkKey, message: str) -> None:
        task = self.core.task_id(key)
        self._errors.append((task, message))
        self._log("reconcile-error", level="error", task=task, error=message)

    def _dispatch_since(self, revision: int, cause: WorkKey | None) -> int:
        seen = self.api.events.current_revision()
        try:
            events = self.api.events.events_since(revision)
        except Gone:
            self._log("events-compacted", level="warning", revision=revision)
            self.core.quiet.changed(None)
            self.core.enqueue_all()
            return seen
        for event in events:
            self.core.dispatch(event, cause, self._changed_by_others)
            revision = event.revision
        return max(revision, seen)

    def _changed_by_others(self, key: WorkKey, obj: Object) -> bool:
        """Whether an event on the object being reconciled was caused by someone else's write."""
        f = self.core.reconcilers[key[0]].config.for_
        md = obj.get("metadata") or {}
        same = obj.get("kind") == f.kind and (md.get("namespace", ""), md.get("name")) == (key[1], key[2])
        if not same or key not in self._seen:
            return False
        generation, deleting = self._seen[key]
        return int(md.get("generation") or 0) > generation or (bool(md.get("deletionTimestamp")) and not deleting)


class Runner:
    """The thread running a ``ContinuousController``; its reconciles run within ``scope``, which the server
    abandons when it stops (``Abandonable``)."""

    def __init__(self, controller: ContinuousController, log: Log, scope: Abandonable | None = None) -> None:
        self.controller = controller
        self._log = log
        self._scope = scope or Abandonable()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="choreo-runner", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after the reconcile in flight, if any (at once, when its scope was abandoned)."""
        self._stop.set()
        self._thread.join()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _main(self) -> None:
        self._log("runner-started")
        try:
            with self._scope.within():
                self.controller.serve(self._stop)
        except Abandoned:  # the server is stopping: the reconcile runs again when it starts again
            self._log("reconcile-abandoned", key="/".join(self.controller.current or ()))
        except Exception as exc:
            self._log("runner-crashed", level="error", error=repr(exc), trace=traceback.format_exc())
        self._log("runner-stopped")
