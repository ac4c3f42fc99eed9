"""One project served by a long-running server: its store, its API server, and its runner modes.

A ``ProjectRuntime`` opens the project's state (``<project>/.choreo/choreo.db``), loads the folder into an
API server, and runs the reconcilers in one of the reference's modes (spec §3.1): ``Stopped``, ``Once``
(load, reconcile until quiet, record the run — what ``choreo run once`` asks a server for) or ``Running``
(load, then reconcile continuously as objects change — production). Every mode change holds one lock, so
a stop waits for a ``run once`` or the reconcile in flight to finish.

Kinds created through the API (a CustomResourceDefinition POSTed by a client, as ``run --kubeconfig``
does) are validated on admission and registered once stored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from choreo.apiserver.hooks import BaseHook
from choreo.apiserver.interface import ObjectAPI
from choreo.apiserver.registry import resource_from_crd
from choreo.apiserver.server import APIServer
from choreo.errors import ChoreoError, Conflict, Invalid
from choreo.loader.project import Project
from choreo.results.record import RunRecord, StageResult, latest_record
from choreo.runtime.controller import Controller
from choreo.runtime.events import RunOutcome
from choreo.runtime.pipeline import Pipeline, RunOptions
from choreo.runtime.session import open_state
from choreo.server.runner import ContinuousController, Runner
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
        api.register_crd(new, source=f"CustomResourceDefinition {new['metadata']['name']}")


def install_hooks(api: APIServer) -> None:
    api.add_hook("apiextensions.k8s.io", "CustomResourceDefinition", CRDRegistration())


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
        self.status = STOPPED
        self.reason = ""
        self.runner: Runner | None = None
        self._lock = threading.RLock()

    # ---------------------------------------------------------------- modes

    def load(self) -> APIServer:
        """(Re)load the project folder into the store; the previous API keeps serving until this succeeds."""
        with self._lock:
            try:
                api = APIServer(self.store)
                project = self.pipeline.load(api)
            except ChoreoError as exc:
                self.reason = str(exc)
                self.log("load-failed", level="error", project=str(self.root), error=str(exc))
                raise
            install_hooks(api)
            self.api, self.project, self.reason = api, project, ""
            self.log("loaded", project=str(self.root), kinds=len(api.registry.resources()))
            return api

    def once(self) -> tuple[RunRecord, list[StageResult]]:
        with self._lock:
            if self.status != STOPPED:
                raise Conflict(f"runner is already running, status {self.status}")
            self.status = ONCE
            try:
                return self._once()
            finally:
                self.status = STOPPED

    def _once(self) -> tuple[RunRecord, list[StageResult]]:
        started = time.perf_counter()
        api = self.load()
        assert self.project is not None
        controller = Controller(
            api, self.pipeline.reconcilers(self.project), max_reconciles=self.options.max_reconciles
        )
        outcome = controller.run()
        stages = self.pipeline.stages(api) if outcome.success else []
        return self._record(outcome, stages, started), stages

    def start(self) -> None:
        with self._lock:
            if self.status == RUNNING:
                return
            if self.status == ONCE:
                raise Conflict("runner is running once; wait for it to finish")
            api = self.load()
            assert self.project is not None
            controller = ContinuousController(
                api,
                self.pipeline.reconcilers(self.project),
                max_reconciles=self.options.max_reconciles,
                log=self.log,
                on_quiet=self._on_quiet,
            )
            self.runner = Runner(controller, self.log)
            self.runner.start()
            self.status = RUNNING

    def bring_up(self, *, run: bool) -> None:
        """Reconcile continuously (``run``, production) or only load the folder (development, ``--no-run``)."""
        if run:
            self.start()
        else:
            self.load()

    def stop(self) -> None:
        with self._lock:
            if self.runner is not None:
                self.runner.stop()
                self.runner = None
            self.status = STOPPED

    def close(self) -> None:
        self.stop()
        with self._lock:
            self.store.close()

    # ---------------------------------------------------------------- reporting

    def _record(self, outcome: RunOutcome, stages: list[StageResult], started: float) -> RunRecord:
        record = self.pipeline.new_record(outcome, stages, started)
        Pipeline.keep(self.api or APIServer(self.store), record, snapshot=self.api is not None)
        return record

    def _on_quiet(self, outcome: RunOutcome, errors: list[str]) -> None:
        """The continuous runner drained its queue: run the stages and record the burst as a run."""
        if errors:
            outcome.failure = errors[-1] if len(errors) == 1 else f"{len(errors)} reconciles failed: {errors[-1]}"
        stages = self.pipeline.stages(self.api) if self.api is not None and not errors else []
        record = self._record(outcome, stages, time.perf_counter())
        self.log("quiet", reconciles=len(outcome.events), success=record.success)

    def latest(self) -> RunRecord | None:
        return latest_record(self.store)

    def describe(self) -> Object:
        info: Object = {"project": str(self.root), "status": self.status, "reason": self.reason}
        revision = self.store.current_revision()
        info["revision"] = revision
        if self.runner is not None:
            controller = self.runner.controller
            busy = controller.busy or len(controller.queue) > 0 or controller.revision < revision
            info["idle"] = not busy
            info["reconciles"] = controller.reconciles
        return info
