"""One ``choreo run`` of a project folder: open its state, load it, reconcile until quiet, record it.

State lives in ``<project>/.choreo/choreo.db`` (SQLite). The run record (events, outcome) is stored
there too, so ``choreo run result`` works from a later process.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from choreo.apiserver.server import APIServer
from choreo.errors import ChoreoError
from choreo.lang.engines import make_engine
from choreo.loader.loading import load_project
from choreo.loader.project import STATE_DIR, Project
from choreo.loader.sync import sync_project
from choreo.plugins import Plugin, StageContext, load_plugin
from choreo.results.record import RunRecord, latest_record, save_record
from choreo.results.snapshot import take_snapshot
from choreo.runtime.controller import BoundReconciler, Controller
from choreo.store import Backend, open_backend


def state_path(root: Path) -> Path:
    return root / STATE_DIR / "choreo.db"


def open_state(root: Path) -> Backend:
    path = state_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    return open_backend(path)


@dataclass
class RunOptions:
    max_reconciles: int = 100
    time_limit: float = 10.0
    log: Callable[[str], None] = lambda _msg: None
    plugins: list[str] = field(default_factory=list)  # entry point names: "internal-reconcilers", "schema"
    stage_options: dict[str, Any] = field(default_factory=dict)
    progress: Callable[[str, int, int], None] = lambda _phase, _done, _total: None  # (phase, done, total)


def load_api(root: Path, backend: Backend, plugins: list[Plugin] | None = None) -> tuple[APIServer, Project]:
    """Load the project folder into an API server over ``backend`` (atomically), plug-ins first."""
    api = APIServer(backend)
    plugin_crds = []
    for plugin in plugins or []:
        for crd in plugin.crds():
            api.register_crd(crd, source=f"plug-in {plugin.name}")
            plugin_crds.append(crd)
        plugin.install(api)
    project = load_project(root)
    sync_project(api, project, plugin_crds)
    return api, project


class _ReconcilingFailed(Exception):
    """Leaves the run's transaction so that it is rolled back; carries the record to save instead."""

    def __init__(self, record: RunRecord) -> None:
        super().__init__(record.failure)
        self.record = record


def run_project(root: Path, options: RunOptions | None = None) -> RunRecord:
    """Load and reconcile ``root``; raises ``ChoreoError`` for load errors (nothing is changed then).

    What a run keeps: the whole run is one store transaction. A load error, a crash, an interrupt or a
    bug leave the previous run's state and add nothing. When reconciling fails (a reconcile error, a
    fatal result, a loop, a time limit) no object is changed either: the transaction is rolled back and
    only the run record — failure, failed task, message and events — is added, so ``run result`` and
    ``run list`` explain the failure while ``get`` still shows the last good state. Post-reconcile stage
    errors (``-s`` validation) are verdicts on a completed run: its objects are kept.
    """
    options = options or RunOptions()
    root = root.resolve()
    started = time.perf_counter()
    plugins = [load_plugin(name) for name in options.plugins]
    backend = open_state(root)
    try:
        # One transaction for the whole run: a crash or a bug at any point leaves the state of the previous
        # run, never half of this one (and the store syncs to disk once, not after every write).
        try:
            with backend.transaction():
                return _run_loaded(root, backend, plugins, options, started)
        except _ReconcilingFailed as failed:
            with backend.transaction():
                save_record(backend, failed.record)
            return failed.record
    finally:
        backend.close()


def _run_loaded(root: Path, backend: Backend, plugins: list[Plugin], options: RunOptions, started: float) -> RunRecord:
    api, project = load_api(root, backend, plugins)
    for warning in project.warnings:
        options.log(f"warning: {warning}")
    bound = [
        BoundReconciler(config, make_engine(config, project.libraries, log=options.log, time_limit=options.time_limit))
        for config in project.reconcilers
    ]
    record = RunRecord(str(uuid.uuid4()), root.name, datetime.now(UTC).isoformat())
    controller = Controller(
        api, bound, max_reconciles=options.max_reconciles, log=options.log, progress=options.progress
    )
    outcome = controller.run()
    record.events, record.failure, record.failed_task = outcome.events, outcome.failure, outcome.failed_task
    if not outcome.success:
        record.wall_seconds = time.perf_counter() - started
        raise _ReconcilingFailed(record)
    context = StageContext(api, root, dict(options.stage_options), options.log, progress=options.progress)
    for plugin in plugins:
        stage = plugin.after_reconcile(context)
        if stage is not None:
            record.stages.append(stage)
    record.wall_seconds = time.perf_counter() - started
    take_snapshot(api, record.id)
    save_record(backend, record)
    return record


__all__ = ["ChoreoError", "RunOptions", "RunRecord", "latest_record", "load_api", "open_state", "run_project"]
