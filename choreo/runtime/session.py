"""One batch ``choreo run`` of a project folder: the pipeline over the local store, in one transaction.

State lives in ``<project>/.choreo/choreo.db`` (SQLite; ``choreo.runtime.state`` opens it). The run record
(events, outcome) is stored there too, so ``choreo run result`` works from a later process.

What a run keeps: the whole run is one store transaction. A load error, a crash, an interrupt or a bug
leave the previous run's state and add nothing. When reconciling fails (a reconcile error, a fatal
result, a loop, a time limit) no object is changed either: the transaction is rolled back and only the
run record — failure, failed task, message and events — is added, so ``run result`` and ``run list``
explain the failure while ``get`` still shows the last good state. Post-reconcile stage errors (``-s``
validation) are verdicts on a completed run: its objects are kept.
"""

from __future__ import annotations

import time
from pathlib import Path

from choreo.apiserver.server import APIServer
from choreo.errors import ChoreoError
from choreo.loader.project import PROJECT_FOLDERS, has_project_parts
from choreo.results.record import RunRecord, latest_record
from choreo.runtime import fixpoint
from choreo.runtime.controller import Controller
from choreo.runtime.events import RunOutcome
from choreo.runtime.folder_lock import FolderLock
from choreo.runtime.options import RunOptions
from choreo.runtime.pipeline import Pipeline
from choreo.runtime.state import open_api, state_folder


class _ReconcilingFailed(Exception):
    """Leaves the run's transaction so that it is rolled back; carries the record to save instead."""

    def __init__(self, record: RunRecord) -> None:
        super().__init__(record.failure)
        self.record = record


def run_project(root: Path, options: RunOptions | None = None) -> RunRecord:
    """Load and reconcile ``root``; raises ``ChoreoError`` for load errors (nothing is changed then)."""
    pipeline = Pipeline(root, options or RunOptions())
    if not has_project_parts(pipeline.root):
        parts = ", ".join(f"{name}/" for name in PROJECT_FOLDERS)
        raise ChoreoError(f"{pipeline.root}: not a choreo project: it has none of {parts} (make one, or name the "
                          "project folder: `choreo run DIR`)")
    lock = FolderLock(pipeline.root, state_folder(pipeline.root))
    lock.take("run", waiting=lambda holder: pipeline.options.notice(
        f"waiting for another choreo run of {pipeline.root} to end ({holder})"))
    try:
        return _run_locked(pipeline, time.perf_counter())  # the time it waited is not the run's
    finally:
        lock.release()


def _run_locked(pipeline: Pipeline, started: float) -> RunRecord:
    api, backend = open_api(pipeline.root)
    try:
        # One transaction for the whole run: a crash or a bug at any point leaves the state of the previous
        # run, never half of this one (and the store syncs to disk once, not after every write).
        try:
            with api.transaction():
                return _run(pipeline, api, started)
        except _ReconcilingFailed as failed:
            Pipeline.keep(api, failed.record, snapshot=False)
            return failed.record
    finally:
        backend.close()


def _run(pipeline: Pipeline, api: APIServer, started: float) -> RunRecord:
    record = _reconcile(pipeline, api, started)
    Pipeline.keep(api, record, saved=True)
    return record


def _reconcile(pipeline: Pipeline, api: APIServer, started: float) -> RunRecord:
    """Load, reconcile and run the stages: the run's record, stored (``Pipeline.save``). Everything else it built
    (the load, the reconcile memo, the controller and its engines) is dropped when it returns, before the
    snapshot: the snapshot reads every object, and the run's peak memory was there."""
    started_at = api.events.current_revision()
    loaded = pipeline.read(api)
    project = loaded.project
    settled = pipeline.unchanged(api, loaded)
    if settled is not None:  # nothing to load or reconcile: runtime.fixpoint says why
        pipeline.warn(project)
        stages = pipeline.stages(api, last_pass=True)
        record = pipeline.new_record(RunOutcome(reused=settled.reconciles), stages, started)
        Pipeline.save(api, record)
        if api.events.current_revision() != settled.revision:  # a stage wrote: the fixpoint is left
            fixpoint.remember(api, None)
        return record
    loaded.sync()
    pipeline.warn(project)
    options = pipeline.options
    memo = pipeline.memo(api, project, started_at=started_at)
    controller = Controller(api, pipeline.reconcilers(project), max_reconciles=options.max_reconciles, log=options.log,
                            progress=options.progress, memo=memo)
    outcome = controller.run()
    if not outcome.success:
        raise _ReconcilingFailed(pipeline.new_record(outcome, [], started))
    record = pipeline.new_record(outcome, pipeline.stages(api, last_pass=True), started)
    Pipeline.save(api, record)
    pipeline.settle(api, loaded, controller, memo)
    return record


__all__ = ["ChoreoError", "RunOptions", "RunRecord", "latest_record", "run_project"]
