"""Runs a project's reconcilers until the system is quiet.

One reconcile per object at a time, in a stable order: every for-object is enqueued once (reconcilers
by name, objects by namespace/name), then store events drive further work through the for / owns /
watches wiring. The run ends when the queue is empty and no timer is left (not on a timer, unlike the
reference), fails on the first reconcile ERROR, and fails with a loop report when one object is
reconciled more often than ``max_reconciles`` without the system becoming quiet. Given a
``ReconcileMemo``, a reconcile whose inputs are unchanged since its last execution is not executed
(``choreo.runtime.memo`` says why that gives the same results).
"""

from __future__ import annotations

import contextlib
import functools
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from choreo.api.conditions import get_condition, set_condition
from choreo.api.objects import ObjectKey, clone, meta
from choreo.apiserver import ssa
from choreo.apiserver.interface import ObjectAPI
from choreo.apiserver.registry import Registry
from choreo.errors import ChoreoError, Invalid, LoadError, ReconcileError
from choreo.lang.base import ReconcileOutput, ReconcilerEngine
from choreo.loader.project import ReconcilerConfig, ResourceSelector
from choreo.runtime.client import DECIDED_BY_OWN_RECONCILE, Client
from choreo.runtime.eventlog import EventLog
from choreo.runtime.events import ERROR, REQUEUE, START, STOP, RunEvent, RunOutcome
from choreo.runtime.memo import ReconcileMemo
from choreo.runtime.queue import WorkQueue
from choreo.runtime.quiet import QuietPoint
from choreo.runtime.selectors import Selector, WatchSelector, compile_selector
from choreo.store.base import WatchEvent
from choreo.store.head import Head

Object = dict[str, Any]
WorkKey = tuple[str, str, str]  # reconciler name, namespace, name
GROUPED_CHILDREN = 100
"""The most children a reconcile's result writes are committed together with (``Controller._writes_together``):
while a transaction is open a server answers no other request, and a hundred writes take tens of
milliseconds. A reconcile with more children commits each write on its own, so that the API keeps answering."""
_Built = TypeVar("_Built")


@dataclass
class BoundReconciler:
    """A reconciler config with its engine and compiled selectors."""

    config: ReconcilerConfig
    engine: ReconcilerEngine
    for_selector: Selector = field(init=False)
    watch_selectors: list[tuple[ResourceSelector, WatchSelector]] = field(init=False)
    ex_era: bool = False  # learned from the first 6-argument reconcile_result

    def __post_init__(self) -> None:
        self.for_selector = self._selector("spec.for", lambda: compile_selector(self.config.for_.selector))
        for i, owned in enumerate(self.config.owns):
            self._selector(f"spec.owns[{i}]", functools.partial(compile_selector, owned.selector))
        self.watch_selectors = [
            (w, self._selector(f"spec.watches[{i}]", functools.partial(WatchSelector, w.selector)))
            for i, w in enumerate(self.config.watches)
        ]

    def _selector(self, field_path: str, build: Callable[[], _Built]) -> _Built:
        """Build one selector of the config; a mistake in it (a CEL syntax error, an unknown operator) is a
        load error naming the config file and the field, not a reconciler that silently never runs."""
        try:
            return build()
        except Invalid as exc:
            raise LoadError(f"{self.config.source}: {field_path}.selector: {exc}") from None

    @property
    def name(self) -> str:
        return self.config.name


class LoopDetected(ChoreoError):
    reason = "LoopDetected"


def check_kinds(registry: Registry, reconcilers: Iterable[BoundReconciler]) -> None:
    """Every kind a reconciler is wired to (for, owns, watches) must be served, or it would silently
    never run. Checked when the controller is built: by then every kind is registered — plug-in kinds
    (``-r``), the project's CRDs and those of its upstream refs."""
    for r in reconcilers:
        for field_path, wired in _wiring(r.config):
            problem = _kind_problem(registry, wired)
            if problem:
                raise LoadError(f"{r.config.source}: {field_path}: {problem}")


def _wiring(config: ReconcilerConfig) -> Iterator[tuple[str, ResourceSelector]]:
    yield "spec.for", config.for_
    for i, owned in enumerate(config.owns):
        yield f"spec.owns[{i}]", owned
    for i, watched in enumerate(config.watches):
        yield f"spec.watches[{i}]", watched


def _kind_problem(registry: Registry, wired: ResourceSelector) -> str | None:
    resource = registry.get(wired.group, wired.kind)
    if resource is None:
        api_version = f"{wired.group}/{wired.version}" if wired.group else wired.version
        elsewhere = sorted(r.group or '""' for r in registry.resources() if r.kind == wired.kind)
        hint = f" (CRDs define it in group {', '.join(elsewhere)})" if elsewhere else ""
        return f"kind {wired.kind} of {api_version} is not defined by any CRD{hint}"
    if wired.version not in resource.served_versions:
        served = ", ".join(resource.served_versions) or "none"
        return f"version {wired.version} of {wired.kind}.{wired.group} is not served (served: {served})"
    return None


def _check_output(registry: Registry, r: BoundReconciler, obj: Object, output: ReconcileOutput) -> None:
    """A reconcile returns its own for-object, in a served version, and sensible timers. Anything else was
    silently dropped (a renamed or re-kinded object matched nothing to write), ignored (a negative
    requeueAfter) or written under another version (an apiVersion no CRD serves)."""
    who = f"reconciler {r.name}: {_object_name(obj)}"
    if output.requeue_after < 0:
        raise ReconcileError(f"{who}: requeueAfter must not be negative, got {output.requeue_after}")
    returned = output.obj or {}
    if _identity(returned) != _identity(obj):
        raise ReconcileError(
            f"{who}: reconcile returned {_object_name(returned)}; a reconcile must not change the "
            "apiVersion group, kind, namespace or name of its for-object"
        )
    version = str(returned.get("apiVersion") or "").rpartition("/")[2]
    group, kind = _identity(obj)[:2]
    resource = registry.get(group, kind)
    if resource is not None and version not in resource.served_versions:
        served = ", ".join(resource.served_versions) or "none"
        raise ReconcileError(
            f"{who}: reconcile returned apiVersion {returned.get('apiVersion')}, a version of {kind}.{group} "
            f"that is not served (served: {served})"
        )


def _identity(obj: Object) -> tuple[str, str, str, str]:
    md: Object = obj["metadata"] if isinstance(obj.get("metadata"), dict) else {}
    group = str(obj.get("apiVersion") or "").rpartition("/")[0]
    return group, str(obj.get("kind") or ""), str(md.get("namespace") or ""), str(md.get("name") or "")


def _object_name(obj: Object) -> str:
    group, kind, namespace, name = _identity(obj)
    return f"{kind}.{group} {namespace}/{name}" if namespace else f"{kind}.{group} {name}"


class Controller:
    def __init__(
        self,
        api: ObjectAPI,
        reconcilers: list[BoundReconciler],
        *,
        max_reconciles: int = 100,
        log: Callable[[str], None] = lambda _msg: None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        progress: Callable[[str, int, int], None] = lambda _phase, _done, _total: None,
        queue: WorkQueue[WorkKey] | None = None,
        memo: ReconcileMemo | None = None,
    ) -> None:
        check_kinds(api.registry, reconcilers)
        self.api = api
        self.reconcilers = {r.name: r for r in sorted(reconcilers, key=lambda r: r.name)}
        self.max_reconciles = max_reconciles
        self.log = log
        self.now = now
        self.progress = progress  # ("reconcile", reconciles done, done + queued) after each reconcile
        self.reconciled = 0
        self.queue: WorkQueue[WorkKey] = queue if queue is not None else WorkQueue()
        self.counts: Counter[WorkKey] = Counter()
        self.recent: deque[WorkKey] = deque(maxlen=50)
        self.outcome = RunOutcome()
        self.memo = memo  # None: every reconcile is executed and nothing is recorded for the next run
        self.quiet = QuietPoint()  # whether the next quiet moment owes the stages a pass (a continuous driver asks)
        # Called where a reconcile is about to take a while with no transaction of its own open (its worker
        # computes on, or a hundred writes follow, each its own transaction): a continuous driver that holds
        # the store for many reconciles at a time lets others in there (``choreo.server.runner``).
        self.let_others_in: Callable[[], None] | None = None
        self._events = EventLog(api.events)

    # ------------------------------------------------------------------ driving

    def run(self) -> RunOutcome:
        """A batch run: reconcile until the queue is empty (quiet) or the first failure."""
        events = self.memo.events if self.memo is not None else self._events  # decoded once for both
        revision = events.current_revision()
        self.enqueue_all()
        while (key := self.queue.pop()) is not None:
            before = events.current_revision()
            if self.step(key) is not None:
                break
            revision = max(revision, before)
            for event in events.since(revision):
                self.dispatch(event, key)
            revision = events.current_revision()
        if self.memo is not None:
            if self.outcome.success:
                self.memo.prune()
            self.memo.flush()
        return self.outcome

    def step(self, key: WorkKey) -> str | None:
        """Reconcile ``key`` once — the core every driver (batch or continuous) shares. Returns the failure
        message (also in ``outcome``) when the reconcile failed or ``key`` reconciled more than
        ``max_reconciles`` times (a loop: its count starts over), None when it went well."""
        self.counts[key] += 1
        self.recent.append(key)
        self.quiet.reconciled()
        if self.counts[key] > self.max_reconciles:
            message = self._loop_report(key)
            self.counts[key] = 0
            self._fail(self.task_id(key), message)
            return message
        if not self._reconcile(key):
            return self.outcome.failure or "reconcile failed"
        self.reconciled += 1
        self.progress("reconcile", self.reconciled, self.reconciled + len(self.queue))
        return None

    def enqueue_all(self) -> None:
        """Every for-object of every reconciler: reconcilers by name, objects by namespace and name."""
        for key, _config, _obj in self.work():
            self.queue.add(key)

    def work(self) -> list[tuple[WorkKey, ReconcilerConfig, Head]]:
        """Every reconcile there is in the current state: its key, its reconciler's config and its for-object's
        head."""
        return [
            ((r.name, key.namespace, key.name), r.config, head)
            for r in self.reconcilers.values() for key, head in self._for_heads(r)
        ]

    def dispatch(
        self, event: WatchEvent, cause: WorkKey | None, again: Callable[[WorkKey, Object], bool] = lambda _k, _o: False,
    ) -> None:
        """Enqueue what an event concerns, and note the change for the next quiet point. A reconcile's own
        writes (``cause``) do not re-trigger that same reconcile — it has just seen and written the state the
        event reports — unless ``again`` says someone else's write is in the event too."""
        self.quiet.changed(event.revision)
        for key in self.keys_for(event.object):
            if key != cause or again(key, event.object):
                self.queue.add(key)

    def keys_for(self, obj: Object) -> list[WorkKey]:
        """The work an object's change concerns: its for-reconciles, its owners' and its watchers'."""
        group = obj.get("apiVersion", "").rpartition("/")[0]
        kind = obj.get("kind", "")
        namespace = obj["metadata"].get("namespace", "")
        keys: list[WorkKey] = []
        for r in self.reconcilers.values():
            f = r.config.for_
            if (f.group, f.kind) == (group, kind) and r.for_selector.matches(obj):
                keys.append((r.name, namespace, obj["metadata"]["name"]))
            if any((o.group, o.kind) == (group, kind) for o in r.config.owns):
                for ref in obj["metadata"].get("ownerReferences") or []:
                    if ref.get("kind") == f.kind and ref.get("apiVersion", "").rpartition("/")[0] == f.group:
                        keys.append((r.name, namespace, ref.get("name", "")))
            for watch, selector in r.watch_selectors:
                if (watch.group, watch.kind) == (group, kind):
                    for target in selector.targets(obj, self._for_objects(r), r.for_selector):
                        keys.append((r.name, target["metadata"].get("namespace", ""), target["metadata"]["name"]))
        return keys

    def _for_objects(self, r: BoundReconciler) -> list[Object]:
        f = r.config.for_
        if self.api.registry.get(f.group, f.kind) is None:
            return []
        return [o for o in self.api.view_list(f.group, f.kind) if r.for_selector.matches(o)]

    def _for_heads(self, r: BoundReconciler) -> list[tuple[ObjectKey, Head]]:
        """The keys and heads of ``_for_objects``, as the store keeps them: no object is decoded when the
        selector takes every object of the kind, only the matching is done on objects otherwise."""
        f = r.config.for_
        if self.api.registry.get(f.group, f.kind) is None:
            return []
        heads = self.api.heads(f.group, f.kind)
        if r.for_selector.everything:
            return heads
        selected = {(o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in self._for_objects(r)}
        return [(key, head) for key, head in heads if (key.namespace, key.name) in selected]

    # ------------------------------------------------------------------ one reconcile

    def _reconcile(self, key: WorkKey) -> bool:
        """Reconcile one object; False when the run must stop."""
        r = self.reconcilers[key[0]]
        f = r.config.for_
        since = self.api.events.current_revision()  # before anything is read: see ReconcileMemo.remember
        if self.memo is not None:  # read the head first: a reused reconcile needs nothing else of its for-object
            head = self.api.head(f.group, f.kind, key[1], key[2])
            if head is None:
                return True
            if self.memo.reusable(key, r.config, head):
                self.outcome.reused += 1
                return True
        obj = self.api.try_get(f.group, f.kind, key[1], key[2])
        if obj is None:
            return True
        resource = self._resource_name(r, key)
        self._emit(r.name, resource, START)
        client = Client(self.api, r.config, obj, self.log, note_writes=self.memo is not None and self.memo.concurrent,
                        let_others_in=self.let_others_in)
        try:
            output = self._evaluate(r, obj, client)
            with self._writes_together(grouped=len(client.children) <= GROUPED_CHILDREN):
                requeue, requeue_after, message = self._store(r, obj, client, output)
                if self.memo is not None:
                    if requeue or requeue_after > 0 or obj["metadata"].get("deletionTimestamp"):
                        self.memo.forget(key)
                    else:
                        self.memo.remember(key, r.config, client.queries, since=since, own=client.written,
                                           written=client.written_children)
        except ChoreoError as exc:
            self._emit(r.name, resource, ERROR, str(exc))
            self._fail(self.task_id(key), str(exc))
            if self.memo is not None:
                self.memo.forget(key)
            return False
        if requeue_after > 0:
            self._emit(r.name, resource, REQUEUE, message)
            self.queue.add_after(key, requeue_after)
        elif requeue:
            self._emit(r.name, resource, REQUEUE, message)
            self.queue.add(key)
        else:
            self._emit(r.name, resource, STOP)
        return True

    @staticmethod
    def _withdrawing(r: BoundReconciler, obj: Object) -> bool:
        """``obj`` is being deleted and still holds ``r``'s finalizer: ``r`` withdraws what it applied instead
        of being asked."""
        md = obj["metadata"]
        return bool(md.get("deletionTimestamp")) and r.name in (md.get("finalizers") or [])

    def _evaluate(self, r: BoundReconciler, obj: Object, client: Client) -> ReconcileOutput | None:
        """What the reconciler returns for ``obj`` (the writes it makes meanwhile go through ``client``); None
        when it is not asked: an object being deleted, unless a Starlark reconciler is to see it."""
        if self._withdrawing(r, obj) or (obj["metadata"].get("deletionTimestamp") and r.config.type != "starlark"):
            return None
        return r.engine.reconcile(clone(obj), client)

    @contextlib.contextmanager
    def _writes_together(self, *, grouped: bool) -> Iterator[None]:
        """One store transaction for what a reconcile writes once its reconciler returned (children, the
        for-object, the memo's record): a server commits, and syncs to disk, once per reconcile instead of
        once per write, and no client write comes in between. What the writes did before one of them failed
        is kept, as when each was a transaction of its own (the failure is raised after the commit); a batch
        run's enclosing transaction makes this one a savepoint. Not ``grouped``: each write is a transaction
        of its own (``GROUPED_CHILDREN``)."""
        if not grouped:
            if self.let_others_in is not None:
                self.let_others_in()
            yield
            return
        failure: ChoreoError | None = None
        with self.api.transaction():
            try:
                yield
            except ChoreoError as exc:
                failure = exc
        if failure is not None:
            raise failure

    def _store(
        self, r: BoundReconciler, obj: Object, client: Client, output: ReconcileOutput | None,
    ) -> tuple[bool, int, str]:
        """Write what the reconcile of ``obj`` came to (``output``: see ``_evaluate``); (requeue, requeue
        after, message)."""
        if output is None:
            if self._withdrawing(r, obj):
                client.delete_children()
                self._release(r, obj)
            return False, 0, ""
        deleting = bool(obj["metadata"].get("deletionTimestamp"))
        if output.ex_era:
            r.ex_era = True
        if output.obj is None:
            raise ReconcileError(f"reconciler {r.name}: reconcile_result carries no object")
        _check_output(self.api.registry, r, obj, output)
        condition_type = output.condition_type if output.condition_type is not None else r.config.condition_type
        if output.fatal:
            self._write_for_object(r, output, condition_type, output.error or "fatal error", add_finalizer=False)
            raise ReconcileError(output.error or f"reconciler {r.name}: fatal error")
        if output.error:
            self._write_for_object(r, output, condition_type, output.error, add_finalizer=False)
            return True, output.requeue_after, output.error
        if client.children_pending or not output.ex_era:
            client.apply_children()
        add_finalizer = not output.ex_era and not deleting
        client.write(lambda: self._write_for_object(r, output, condition_type, "", add_finalizer=add_finalizer))
        if output.ex_era:
            return output.requeue, output.requeue_after, ""
        return False, 0, ""

    def _write_for_object(
        self,
        r: BoundReconciler,
        output: ReconcileOutput,
        condition_type: str,
        message: str,
        *,
        add_finalizer: bool,
    ) -> Object | None:
        """Apply what the reconciler owns of its for-object: status (spec if allowed), finalizer, condition.
        Returns the stored for-object (None when it is gone)."""
        returned = output.obj or {}
        f = r.config.for_
        md = returned.get("metadata") or {}
        current = self.api.view(f.group, f.kind, md.get("namespace", ""), md.get("name", ""))  # only read
        if current is None:
            return None
        semantics = self.api.semantics(self.api.registry.for_object(current))
        applied: Object = {
            "apiVersion": current["apiVersion"],
            "kind": current["kind"],
            "metadata": {"name": current["metadata"]["name"]},
        }
        if current["metadata"].get("namespace"):
            applied["metadata"]["namespace"] = current["metadata"]["namespace"]
        # What the reconcile decides: its status, its spec if it may update it, its finalizer (below); what
        # else the reconciler applied to this object (as a child of its own kind) is applied again, as it is.
        decided = list(DECIDED_BY_OWN_RECONCILE)
        if isinstance(returned.get("status"), dict):
            applied["status"] = clone(returned["status"])
        if (r.config.spec_update or output.ex_era) and "spec" in returned:
            applied["spec"] = clone(returned["spec"])
            decided.append(("spec",))
        if output.ex_era:
            decided += [("metadata", "labels"), ("metadata", "annotations")]
            for field_name in ("labels", "annotations", "finalizers"):
                if md.get(field_name):
                    applied["metadata"][field_name] = clone(md[field_name])
        applied = ssa.with_own_fields(applied, current, r.name, semantics, besides=decided)
        applied = ssa.remove_foreign_fields(applied, current, r.name, semantics)
        finalizers = list(applied["metadata"].get("finalizers") or [])
        if add_finalizer and r.name not in finalizers:
            finalizers.append(r.name)
        if finalizers:
            applied["metadata"]["finalizers"] = finalizers
        if condition_type:
            status = applied.setdefault("status", {})
            existing = get_condition(current, condition_type)
            status["conditions"] = [clone(existing)] if existing else []
            set_condition(applied, condition_type, message, self._timestamp())
        with self.api.ratcheting():  # a for-object the kind's new schema refuses still gets its status
            return self.api.apply(applied, manager=r.name)

    def _release(self, r: BoundReconciler, obj: Object) -> None:
        """Withdraw everything the reconciler applied to a deleting object, its finalizer included.

        An empty apply drops the fields only this reconciler owned; a finalizer someone else also
        claims is then removed with a plain update."""
        f = r.config.for_
        namespace = obj["metadata"].get("namespace", "")
        applied: Object = {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "metadata": {"name": obj["metadata"]["name"]},
        }
        if namespace:
            applied["metadata"]["namespace"] = namespace
        with self.api.ratcheting():  # and can go, whatever the kind's schema says of it now
            self.api.apply(applied, manager=r.name, force=True)
            fresh = self.api.try_get(f.group, f.kind, namespace, obj["metadata"]["name"])
            if fresh is not None and r.name in (fresh["metadata"].get("finalizers") or []):
                meta(fresh)["finalizers"] = [x for x in fresh["metadata"]["finalizers"] if x != r.name]
                self.api.update(fresh)

    # ------------------------------------------------------------------ reporting

    def _emit(self, reconciler: str, resource: str, operation: str, message: str = "") -> None:
        self.outcome.events.append(RunEvent(self.now(), reconciler, resource, operation, message))

    def _fail(self, task: str, message: str) -> None:
        self.outcome.failure = message
        self.outcome.failed_task = task

    def _resource_name(self, r: BoundReconciler, key: WorkKey) -> str:
        f = r.config.for_
        return f"{f.group}.{f.kind}.{key[1]}.{key[2]}"

    def task_id(self, key: WorkKey) -> str:
        """The reference's task name of a piece of work: ``<reconciler>.<Kind>.<group>.<name>``."""
        f = self.reconcilers[key[0]].config.for_
        return f"{key[0]}.{f.kind}.{f.group}.{key[2]}"

    def _loop_report(self, key: WorkKey) -> str:
        involved = sorted({(k[0], self._describe(k)) for k in self.recent})
        pairs = ", ".join(f"{name} on {what}" for name, what in involved)
        resource = self._resource_name(self.reconcilers[key[0]], key)
        last = next(
            (
                e.message
                for e in reversed(self.outcome.events)
                if e.reconciler == key[0] and e.resource == resource and e.message
            ),
            "",
        )
        said = f"; its last message: {last}" if last else ""
        return (
            f"reconcile loop: reconciler {key[0]} reconciled {self._describe(key)} {self.max_reconciles} "
            f"times without the system becoming quiet{said}; reconciles still going: {pairs}"
        )

    def _describe(self, key: WorkKey) -> str:
        f = self.reconcilers[key[0]].config.for_
        where = f"{key[1]}/{key[2]}" if key[1] else key[2]
        return f"{f.kind}.{f.group} {where}"

    def _timestamp(self) -> str:
        return self.now().strftime("%Y-%m-%dT%H:%M:%SZ")
