"""One project served by a long-running server: its store, its API server, and its runner modes.

A ``ProjectRuntime`` opens the project's state (``<project>/.choreo/choreo.db``), loads the folder into an
API server, and runs the reconcilers in one of the reference's modes (spec §3.1): ``Stopped``, ``Once``
(load, reconcile until quiet, record the run — what ``choreo run once`` asks a server for) or ``Running``
(load, then reconcile continuously as objects change — production). Every mode change holds one lock, so
a stop waits for a ``run once`` or the reconcile in flight to finish.

A load (``run load``, the folder feeder of ``choreo.server.feeder``, every mode change) is one path: the
folder is synced atomically into a fresh API server and its reconcilers are bound and their wiring checked,
and it replaces the serving one only once all of that succeeded; a Running runner is paused around it
(after the reconcile in flight) and resumed on the new kinds and reconcilers. A folder that does not load
when the server starts leaves it serving the store as an earlier server left it (``serving``: the kinds of its
stored CRDs, nothing reconciled), so that a client can read it and delete the object that blocks the load;
the first load that succeeds starts the runner then.
A ``run once`` on a Running server pauses it the same way, runs one whole pass and resumes it.

Who owns what: an object loaded from the folder (``in/``, ``crds/``, ``refs/`` and what upstream refs
bring) is owned by its file — ``check_write`` refuses API writes to it, naming the file to edit; objects
created through the API are the store's and survive loads and restarts. While no load has succeeded, which
file owns what is unknown: only objects the store owns (``taken_by_api``) may be written or deleted, and
nothing may be created (a file may name it).

Kinds created through the API (a CustomResourceDefinition POSTed by a client, as ``run --kubeconfig``
does) are validated on admission, registered once stored, served again after every load and restart,
and deleted with their objects.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from choreo.abandon import Abandonable, Abandoned
from choreo.api.objects import ObjectKey
from choreo.apiserver.hooks import BaseHook, delete_every
from choreo.apiserver.interface import ObjectAPI
from choreo.apiserver.registry import crd_group_kind, resource_from_crd
from choreo.apiserver.server import APIServer
from choreo.errors import ChoreoError, Invalid
from choreo.loader.project import Project
from choreo.loader.sync import TakeOverRefused, taken_by_api
from choreo.results.record import RunRecord, StageResult, latest_record
from choreo.runtime.controller import BoundReconciler, Controller, check_kinds
from choreo.runtime.events import RunOutcome
from choreo.runtime.folder_lock import FolderLock
from choreo.runtime.options import RunOptions
from choreo.runtime.pipeline import Pipeline
from choreo.runtime.state import open_state
from choreo.server import refusals
from choreo.server.failures import Retry
from choreo.server.feeder import FolderFeeder
from choreo.server.protocol import Unavailable
from choreo.server.runner import ContinuousController, Failure, Runner
from choreo.store.base import Backend

Object = dict[str, Any]
Log = Callable[..., None]

STOPPED, ONCE, RUNNING = "Stopped", "Once", "Running"


class CRDRegistration(BaseHook):
    """Registers the kind of every CustomResourceDefinition stored through the API."""

    def admit(self, api: ObjectAPI, old: Object | None, new: Object) -> None:
        resource = resource_from_crd(new, source="CustomResourceDefinition")
        existing = api.registry.get(resource.group, resource.kind)
        if existing is not None and existing.choreo_api:
            raise Invalid(f"kind {resource.group_kind} is built in and cannot be redefined")

    def stored(self, api: ObjectAPI, old: Object | None, new: Object) -> None:
        # objects stored at a version the CRD no longer serves move to its storage version there, in this write
        api.register_crd(new, source=f"CustomResourceDefinition {new['metadata']['name']}")

    def deleting(self, api: ObjectAPI, obj: Object) -> None:
        """The objects of a kind go with its CRD, as in Kubernetes (the HTTP layer stops serving the kind
        once the delete is done: a dry run or a failed delete keeps it)."""
        kind = crd_group_kind(obj)
        if api.registry.get(kind.group, kind.kind) is not None:
            delete_every(api, kind.group, kind.kind)


def install_hooks(api: APIServer) -> None:
    api.add_hook("apiextensions.k8s.io", "CustomResourceDefinition", CRDRegistration())


def register_api_kinds(api: APIServer, project: Project) -> list[tuple[str, str]]:
    """Serve again the kinds whose CRDs were created through the API (a fresh API server knows only the
    folder's and the plug-ins'); returns the (CRD, error) of any that can no longer be served."""
    from_folder = {str((item.obj.get("metadata") or {}).get("name", "")) for item in project.crds}
    refused = []
    for crd in api.list("apiextensions.k8s.io", "CustomResourceDefinition"):
        name, kind = crd["metadata"]["name"], crd_group_kind(crd)
        if name in from_folder or api.registry.get(kind.group, kind.kind) is not None:
            continue
        try:
            api.register_crd(crd, source=f"CustomResourceDefinition {name}")
        except ChoreoError as exc:
            refused.append((name, str(exc)))
    return refused


class FileOwned(ChoreoError):
    """An API write to an object the project folder owns."""

    reason = "Forbidden"
    code = 403


def owned_files(api: APIServer, project: Project) -> dict[ObjectKey, str]:
    """Every object the folder loads, with the file it comes from (namespaces defaulted as the load does)."""
    owned: dict[ObjectKey, str] = {}
    for item in [*project.crds, *project.refs, *project.inputs]:
        obj = item.obj
        md = obj.get("metadata") or {}
        group = str(obj.get("apiVersion") or "").rpartition("/")[0]
        resource = api.registry.get(group, str(obj.get("kind") or ""))
        namespace = (md.get("namespace") or "default") if resource is not None and resource.namespaced else ""
        owned[ObjectKey(group, str(obj.get("kind") or ""), namespace, str(md.get("name") or ""))] = item.source
    return owned


def stage_json(stage: StageResult) -> Object:
    return {"name": stage.name, "errors": stage.errors, "lines": stage.lines}


class ProjectRuntime:
    """One project folder's state, API server and runner, switched between Stopped, Once and Running."""

    def __init__(self, root: Path, options: RunOptions, log: Log) -> None:
        self.root = root.resolve()
        self.options = options
        self.log = log
        self.pipeline = Pipeline(self.root, options)
        self.store: Backend = open_state(self.root)
        self.api: APIServer | None = None
        self.project: Project | None = None
        self.reconcilers: list[BoundReconciler] = []  # the project's, bound to their engines by the load
        self.file_owned: dict[ObjectKey, str] = {}
        self.status = STOPPED
        self.reason = ""
        self.runner: Runner | None = None
        self.run_when_loaded = False  # asked to run while no load had succeeded yet
        self.feeder: FolderFeeder | None = None
        self.reconciles = Abandonable()  # its reconciles, loads and stages: ``abandon`` when the server stops
        self.unblocker = refusals.Unblocker(self.serving, self._unblocked, log)  # a load a client's object blocks
        self._stored: APIServer | None = None  # the store as it is, served while no load has succeeded
        self.folder_lock: FolderLock | None = None  # a dynamic context's (static mode: the server's own)
        self._lock = threading.RLock()
        self._stored_lock = threading.Lock()

    # ---------------------------------------------------------------- modes

    def load(self, refused: str = "load-failed", **said: Any) -> APIServer:
        """(Re)load the project folder: ``run load`` and the folder feeder. A Running runner is paused around
        the load and resumed on what was loaded (or, when the load failed, on what was there before). A
        failure is logged once, as ``refused`` with ``said``'s fields, and raised."""
        with self._lock:
            running = self._pause()
            try:
                return self._load(refused, **said)
            finally:
                if running:
                    self._resume()

    def _load(self, refused: str = "load-failed", **said: Any) -> APIServer:
        """Sync the folder into a fresh API server and bind its reconcilers, all or nothing; the previous one
        keeps serving until this succeeds."""
        try:
            api = APIServer(self.store)
            # a reconciler wired to a kind nobody serves undoes the sync, and so does a stop (``abandon``)
            with self.reconciles.within(), api.transaction():
                project = self.pipeline.load(api)
                reconcilers = self.pipeline.reconcilers(project)
                check_kinds(api.registry, reconcilers)
        except Abandoned:  # the server is stopping: the load is undone (the next start loads the folder)
            self.log("load-abandoned", project=str(self.root))
            raise Unavailable("the server is stopping: the load of the project folder was abandoned") from None
        except ChoreoError as exc:
            self.reason = str(exc)
            self.log(refused, level="error", project=str(self.root), **said, error=str(exc))
            refusals.report(self.serving(), exc, self.log)
            self.unblocker.blocked(exc if isinstance(exc, TakeOverRefused) else None)
            raise
        self.unblocker.blocked(None)
        for crd, error in register_api_kinds(api, project):
            self.log("crd-not-served", level="warning", crd=crd, error=error)
        install_hooks(api)
        self.api, self.project, self.reconcilers, self.reason = api, project, reconcilers, ""
        self._stored = None
        self.file_owned = owned_files(api, project)
        self.log("loaded", project=str(self.root), kinds=len(api.registry.resources()))
        return api

    def once(self) -> tuple[RunRecord, list[StageResult]]:
        """One whole pass (load, reconcile until quiet, stages, record); a Running runner is paused after the
        reconcile in flight and resumed afterwards."""
        with self._lock:
            running = self._pause()
            self.status = ONCE
            try:
                with self.reconciles.within():
                    return self._once()
            except Abandoned:
                raise Unavailable("the server is stopping: the pass was abandoned") from None
            finally:
                self.status = STOPPED
                if running:
                    self._resume()

    def _once(self) -> tuple[RunRecord, list[StageResult]]:
        started = time.perf_counter()
        api = self._load()
        assert self.project is not None
        controller = Controller(
            api,
            self.reconcilers,
            max_reconciles=self.options.max_reconciles,
            memo=self.pipeline.memo(api, self.project, concurrent=True),
        )
        outcome = controller.run()
        # One transaction, as the runner's quiet pass: the stages see one moment, and a stop that abandons them
        # undoes what they wrote (no final Config of half the devices, no run recorded).
        with api.transaction():
            stages = self.pipeline.stages(api) if outcome.success else []
            return self._record(outcome, stages, started), stages

    def start(self) -> None:
        with self._lock:
            if self.runner is not None:
                return
            self.run_when_loaded = True  # also when the folder does not load yet: the load that does starts it
            self._load()
            self._start_runner()

    def _start_runner(self) -> None:
        assert self.api is not None and self.project is not None
        if self.reconciles.abandoned:  # the server is stopping
            return
        controller = ContinuousController(
            self.api,
            self.reconcilers,
            max_reconciles=self.options.max_reconciles,
            log=self.log,
            on_quiet=self._on_quiet,
        )
        controller.core.memo = self.pipeline.memo(self.api, self.project, concurrent=True)  # clients write meanwhile
        self.runner = Runner(controller, self.log, self.reconciles)
        self.runner.start()
        self.status = RUNNING

    def _pause(self) -> bool:
        """Stop the runner for a load or a pass (after the reconcile in flight); whether to ``_resume`` it."""
        running = self.runner is not None or self.run_when_loaded
        self._stop_runner()
        return running

    def _resume(self) -> None:
        """Run again on what is loaded; while nothing has loaded yet, as soon as something does."""
        if self.api is None:
            self.run_when_loaded = True
        else:
            self._start_runner()

    def _stop_runner(self) -> None:
        if self.runner is not None:
            self.runner.stop()
            self.runner = None
        self.status = STOPPED
        self.run_when_loaded = False

    def bring_up(self, *, run: bool) -> None:
        """Reconcile continuously (``run``, production) or only load the folder (development, ``--no-run``)."""
        if run:
            self.start()
        else:
            self.load()

    def stop(self) -> None:
        with self._lock:
            self._stop_runner()

    def abandon(self) -> None:
        """The server is stopping: end the reconcile in flight now (its worker is killed; it runs again at the
        next start), a load of the folder or the stages of a pass at their next step (their transaction
        undone: the next start does them again), instead of waiting for them, and start none after them.
        Takes no lock: a load or a ``run once`` holding it is waiting for that work."""
        self.reconciles.abandon()

    def close(self) -> None:
        if self.feeder is not None:
            self.feeder.stop()
        self.unblocker.stop()
        self.stop()
        with self._lock:
            self.store.close()
        if self.folder_lock is not None:
            self.folder_lock.release()

    # ---------------------------------------------------------------- the folder feeder

    def watch_folder(self) -> None:
        """Load the folder again after every burst of edits (``choreo.server.feeder``)."""
        if self.feeder is None:
            self.feeder = FolderFeeder(self.root, self.feed, self.log)
            self.feeder.start()

    def feed(self, paths: list[str]) -> None:
        """Load a burst of edits; a bad file is logged and changes nothing (the previous load keeps serving)."""
        try:
            self.load("feed-refused", files=paths)
        except ChoreoError:  # logged: the previous load keeps serving
            return
        self.log("fed", files=paths)

    def _unblocked(self, refusal: TakeOverRefused) -> None:
        """The object that blocked the last load is gone (or no longer the store's): load the folder again, as
        a save of the file it blocked would."""
        files = [refusal.source]
        try:
            self.load("feed-refused", files=files)
        except ChoreoError:  # logged (and watched again when another client's object blocks it)
            return
        self.log("fed", files=files, reason=f"{refusal.key} no longer blocks the file")

    def serving(self) -> APIServer:
        """The API clients are served: the last load's, else (no load has succeeded yet) the store as an earlier
        server left it, with the kinds of its stored CRDs (the Events of a refusal are written there too)."""
        api = self.api
        if api is not None:
            return api
        with self._stored_lock:
            if self._stored is None:
                stored = APIServer(self.store)
                try:
                    stored.register_stored_crds()  # reads only: no stored object is moved to another version
                except ChoreoError as exc:  # a CRD this choreo cannot serve: its kind is not served meanwhile
                    self.log("stored-kinds-failed", level="warning", project=str(self.root), error=str(exc))
                install_hooks(stored)
                self._stored = stored
            return self._stored

    # ---------------------------------------------------------------- ownership

    def check_write(self, group: str, kind: str, namespace: str, name: str) -> None:
        """Refuse an API write to an object the project folder owns, naming the file to edit instead."""
        key = ObjectKey(group, kind, namespace, name)
        if self.api is None:
            self._check_unloaded_write(key)
            return
        source = self.file_owned.get(key)
        if source is None:
            return
        raise FileOwned(
            f"{key} is loaded from the project folder and owned by its file: edit the file {source} "
            "instead (the server loads the change; objects created through the API can be written here)"
        )

    def check_create(self, group: str, kind: str, namespace: str, name: str) -> None:
        """Refuse an API create while the folder does not load: one of its files may name the object."""
        if self.api is None:
            self._refuse_unloaded(ObjectKey(group, kind, namespace, name), exists=False)

    def check_delete(self, group: str, kind: str, namespace: str, name: str) -> None:
        """Refuse an API delete ``check_write`` refuses and, while the folder does not load, the delete of an
        object holding finalizers: no reconciler runs to remove them, so it would be left being deleted, the
        client waiting (``kubectl delete`` does) and the load it blocks still refused."""
        self.check_write(group, kind, namespace, name)
        if self.api is not None:
            return
        stored = self.serving().view(group, kind, namespace, name)
        md = (stored or {}).get("metadata") or {}
        finalizers = [str(f) for f in md.get("finalizers") or []]
        if not finalizers or md.get("deletionTimestamp"):
            return
        key = ObjectKey(group, kind, namespace, name)
        resource = f"{kind.lower()}.{group}" if group else kind.lower()
        where = f" -n {namespace}" if namespace else ""
        raise Unavailable(
            f"{key} holds the finalizers {', '.join(finalizers)}, and no reconciler runs while the project folder "
            f"does not load ({self.reason}): remove them first (kubectl patch {resource} {name}{where} --type=merge "
            """-p '{"metadata":{"finalizers":null}}'; what the object owns is deleted with it, nothing else its """
            "reconcilers would withdraw is), then delete it"
        )

    def _check_unloaded_write(self, key: ObjectKey) -> None:
        """While the folder does not load, which of its files names what is unknown: a write or delete is
        allowed only on an object that belongs to the store (what a refusal asks to delete is one), never on
        one an earlier load brought or another object owns, and nothing is created (a file may name it)."""
        api = self.serving()
        if taken_by_api(api, key) is None:  # not stored, or not the store's
            self._refuse_unloaded(key, exists=api.view(key.group, key.kind, key.namespace, key.name) is not None)

    def _refuse_unloaded(self, key: ObjectKey, *, exists: bool) -> None:
        what = ("only objects created through the API can be changed or deleted until it loads" if exists
                else "nothing can be created until it loads")
        raise Unavailable(f"{key}: the project folder does not load ({self.reason}): {what}")

    # ---------------------------------------------------------------- reporting

    def _record(self, outcome: RunOutcome, stages: list[StageResult], started: float) -> RunRecord:
        record = self.pipeline.new_record(outcome, stages, started)
        Pipeline.keep(self.api or APIServer(self.store), record, snapshot=self.api is not None)
        return record

    def _on_quiet(self, outcome: RunOutcome, failures: list[Failure], retries: list[Retry]) -> None:
        """The continuous runner drained its queue: run the stages and record the burst as a run, logging the
        stages' errors. The run failed when a reconcile of the burst failed or an object is still waiting for
        its retry."""
        if failures:
            outcome.failed_task, message = failures[-1]
            outcome.failure = message if len(failures) == 1 else f"{len(failures)} reconciles failed: {message}"
        elif retries:
            outcome.failed_task = retries[0].task
            outcome.failure = f"{len(retries)} object(s) still failing, retried with backoff: {retries[0].message}"
        # The runner calls this in one transaction: the stage sees one moment, its writes and the run record
        # land together, and the store checks once (not on every read) that no other process changed it.
        api = self.api or APIServer(self.store)
        stages = self.pipeline.stages(api) if self.api is not None and outcome.success else []
        record = self._record(outcome, stages, time.perf_counter())
        errors = [f"{stage.name}: {error}" for stage in stages for error in stage.errors]  # the stages' verdicts
        said = {"errors": errors} if errors else {}
        level = "info" if record.success else "warning"
        self.log("quiet", level=level, reconciles=len(outcome.events), success=record.success, **said)

    def latest(self) -> RunRecord | None:
        return latest_record(self.store)

    def retries(self) -> list[Retry]:
        """The objects whose reconcile failed and that wait for a retry (Running only)."""
        runner = self.runner
        return runner.controller.failures.pending() if runner is not None else []

    def describe(self) -> Object:
        info: Object = {"project": str(self.root), "status": self.status, "reason": self.reason}
        runner = self.runner
        if runner is None:
            info["revision"] = self.store.current_revision()
        else:
            # A look at the status neither waits for the runner's group of reconciles nor ends it early
            # (``choreo.server.runner``; a client polling every 20 ms made the first pass of the N=300 fabric
            # about 1 s longer): while another thread holds the store a transaction is going on, so the
            # runner is busy, and the revision shown is the last one it dispatched.
            controller = runner.controller
            revision = self.store.peek_revision()
            info["revision"] = controller.revision if revision is None else revision
            retrying = len(controller.failures.retries)  # their timers are no work to wait for
            busy = (revision is None or controller.busy or len(controller.queue) > retrying
                    or controller.revision < revision)
            info["idle"] = not busy
            info["reconciles"] = controller.reconciles
            info["failing"] = len(controller.failures.retries)
        return info
