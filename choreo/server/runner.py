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
  reconcile does (the object's generation moved or a deletion started);
* its writes are committed in groups (``GROUP_SECONDS``), as a batch run commits its whole run at once.

Why groups: a commit costs far more than a reconcile's writes (a sync to disk, about 200 µs with
``synchronous=FULL``, and the pages it rewrites), and the store is checked for other processes' writes
before every read outside a transaction. One commit per reconcile made a server's first pass of the N=1000
fabric about 10 s longer than the batch run doing the same work. A group is one store transaction, open
from a reconcile's start until ``GROUP_SECONDS`` have passed, another thread waits for the store (an HTTP
request: it waits for the reconcile in flight, not for the group), the reconcile's worker stalls
(``STALL_SECONDS``: user code that computes long does not hold the API), a reconcile is about to write
more than ``GROUPED_CHILDREN`` children, or the queue has nothing ready. What a client may observe is
unchanged: a request is answered from committed state only (it waits while a group is open), its own
write is its own transaction, committed and synced before it is answered, and a watcher sees the
runner's events once their group is committed. A crash loses at most the open group, a set of whole
reconciles (their objects and memo records together), which the restarted server runs again. A group
whose commit fails is rolled back the same way: the runner takes the store as it is again (memo records,
events) and enqueues everything, committing each reconcile on its own until its next quiet point.

Each time the queue drains after a change (``choreo.runtime.quiet`` says which changes count: a reconcile,
any write to the store but the previous pass's own, and the start itself, so a project with nothing to
reconcile still gets its stages) the controller reports the events since the previous pass to ``on_quiet``
(the server runs the stages and records them as a run, with the objects still waiting for a retry).
``Runner`` owns the thread and stops it between two reconciles.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from choreo.abandon import Abandonable, Abandoned
from choreo.apiserver.interface import ObjectAPI
from choreo.runtime.controller import BoundReconciler, Controller, WorkKey
from choreo.runtime.events import RunOutcome
from choreo.runtime.queue import WorkQueue
from choreo.server.failures import FailureHandler, Retry
from choreo.store.base import Gone

Object = dict[str, Any]
Log = Callable[..., None]
IDLE_WAIT = 0.1  # seconds between two looks at the stop flag when idle: a stop waits no longer
GROUP_SECONDS = 0.1
"""The longest a group of reconciles stays uncommitted: what a watcher may wait for the runner's events, and
what a crash may lose of its work. At one reconcile a millisecond about a hundred reconciles share a commit."""
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
        self.staging = False  # reporting a pass to ``on_quiet`` (the stages and the run record)
        self.revision = 0  # every event up to here has been dispatched
        self._group: contextlib.ExitStack | None = None  # the open group's transaction
        self._group_began = 0.0
        self._grouping = True  # off from a group's failed commit until the next quiet point
        self._lost = False  # a group's commit failed: the store went back to before it
        self.core.let_others_in = self._end_group

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
        try:
            self._serve(stop)
        finally:
            self._end_group()
        if self._lost:
            self._recover()
        if self._stepped and not self.queue.has_ready():
            self._quiet()
        # Stopped with work still queued (a SIGTERM or a load of the folder in the middle of a burst): this is
        # no quiet point. Its stages would validate and write out/ from a half-reconciled state (a device's
        # config without the interfaces not reconciled yet) and record it as a successful run; the next start
        # of the runner reconciles what is left and reaches the real one.

    def _serve(self, stop: threading.Event) -> None:
        while not stop.is_set():
            key = self.queue.pop()
            if key is None:
                self._end_group()
                if self._lost:
                    self._recover()
                    continue
                if self.core.quiet.due:
                    self._quiet()
                    self.revision = self._dispatch_since(self.revision, None)
                    continue
                due = self.queue.next_due()
                self.api.events.wait_for_change(self.revision, IDLE_WAIT if due is None else min(due, IDLE_WAIT))
                self.revision = self._dispatch_since(self.revision, None)
                continue
            self._stepped = True
            self._begin_group()
            self._step(key)
            if self._lost:  # the group was lost while this reconcile ran (its worker stalled)
                self._forget(key)
                self._recover()
                continue
            self.revision = self._dispatch_since(self.revision, key)
            if time.monotonic() - self._group_began >= GROUP_SECONDS or self.api.contended():
                self._end_group()
                if self._lost:
                    self._recover()

    # ---------------------------------------------------------------- groups of reconciles

    def _begin_group(self) -> None:
        """Open a group for the reconciles that follow, unless one is open or another thread waits."""
        if self._group is not None or not self._grouping or self.api.contended():
            return
        group = contextlib.ExitStack()
        try:
            group.enter_context(self.api.transaction())
        except Exception:  # the store cannot begin one (another process holds it): the reconcile, on its
            return  # own, fails the same way and is retried (``_step``)
        self._group, self._group_began = group, time.monotonic()

    def _end_group(self) -> None:
        """Commit the open group, if any (never inside a transaction of a reconcile's own). A commit that
        fails has rolled the group back: logged, and made up for by ``_recover``."""
        group, self._group = self._group, None
        if group is None:
            return
        try:
            group.close()
        except Exception as exc:
            self._lost = True
            self._log("group-lost", level="error", error=repr(exc), trace=traceback.format_exc())

    def _forget(self, key: WorkKey) -> None:
        """The reconcile of ``key`` outlived its group's failed commit: what it wrote after it rests on writes
        that are gone, so its memo record goes (it runs again)."""
        memo = self.core.memo
        if memo is None:
            return
        try:
            memo.forget(key)
        except Exception as exc:  # the storage fails on: nothing of the record is kept
            self._log("group-lost", level="error", error=repr(exc), trace=traceback.format_exc())

    def _recover(self) -> None:
        """After a group's failed commit: everything it wrote is gone, its revisions are used again. Take the
        store as it is (memo records, revision), reconcile everything again, and commit each reconcile on its
        own until the next quiet point (a storage that keeps failing fails reconciles, which back off)."""
        self._lost = False
        self._grouping = False
        if self.core.memo is not None:
            self.core.memo.reload()
        self.revision = self.api.events.current_revision()
        self.core.quiet.changed(None)
        self.core.enqueue_all()

    def _quiet(self) -> None:
        """Report the pass to ``on_quiet`` in one transaction: no other writer gets in meanwhile, so the
        revisions it spans are the pass's own writes, which do not make the next pass due."""
        outcome, errors = self.core.outcome, self._errors
        self.core.outcome, self._errors = RunOutcome(), []
        self.core.counts.clear()
        self._stepped = False
        first = last = self.api.events.current_revision()
        self.staging = True
        try:
            with self.api.transaction():  # a stop abandons the stages here (``Abandoned``): all of it undone
                first = self.api.events.current_revision()
                self._on_quiet(outcome, errors, self.failures.pending())
                last = self.api.events.current_revision()
        except Exception as exc:  # rolled back: its revisions will be used again by others' writes
            last = first
            self._log("record-error", level="error", error=repr(exc), trace=traceback.format_exc())
        else:
            self._grouping = True
        self.staging = False
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
        current = self.api.view(f.group, f.kind, key[1], key[2])  # only read
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
        except Abandoned:  # the server is stopping: the work runs again when it starts again
            if self.controller.staging:  # the pass's stages and record, undone: the next start's pass does them
                self._log("stages-abandoned")
            else:
                self._log("reconcile-abandoned", key="/".join(self.controller.current or ()))
        except Exception as exc:
            self._log("runner-crashed", level="error", error=repr(exc), trace=traceback.format_exc())
        self._log("runner-stopped")
