"""The one run pipeline every mode shares: load → reconcile until quiet → post-reconcile stages → record.

Why: ``choreo run`` (the local store), ``choreo server start`` (choreo's own HTTP API, static or dynamic)
and ``choreo run start --kubeconfig`` (any Kubernetes API server) must load a project the same way
(plug-in kinds, CRDs, libraries, reconcilers, upstream refs, inputs, clean-up of removed inputs, garbage
collection), bind the same reconcilers, run the same stages and record runs the same way. The modes differ
only in the ``APIServer`` they hand to the pipeline (where objects live) and in how they drive the
controller (once until quiet, or continuously); both are the caller's business.

One batch run is one store transaction (see ``choreo.runtime.session``); a server pass is not: clients
see objects change while it runs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from choreo.abandon import checkpoint
from choreo.apiserver.interface import ObjectAPI
from choreo.apiserver.server import APIServer
from choreo.errors import ChoreoError
from choreo.lang.engines import make_engine
from choreo.lang.limits import Limits
from choreo.loader.loading import load_project
from choreo.loader.project import Project
from choreo.loader.sync import ProjectLoad
from choreo.loader.yamlio import ParsedDocuments
from choreo.plugins import Plugin, StageContext, load_plugin
from choreo.results.record import RunRecord, StageResult, save_record
from choreo.results.retention import kept_runs, prune_history
from choreo.results.snapshot import take_snapshot
from choreo.runtime import fixpoint
from choreo.runtime.controller import BoundReconciler, Controller
from choreo.runtime.events import RunOutcome
from choreo.runtime.fixpoint import Fixpoint
from choreo.runtime.kept_files import KeptFiles
from choreo.runtime.memo import ReconcileMemo, reconciler_salt, run_salt
from choreo.runtime.options import RunOptions

Progress = Callable[[str, int, int], None]  # (phase, done, total)


class Pipeline:
    """One project folder and its run options: the steps of a run, for any ``APIServer``."""

    def __init__(self, root: Path, options: RunOptions) -> None:
        self.root = root.resolve()
        self.options = options
        self.plugins: list[Plugin] = [load_plugin(name) for name in options.plugins]
        kept_runs()  # a mistaken $CHOREO_KEEP_RUNS is an error before any work, not after the run
        self.limits = Limits.from_environment(time=options.time_limit)  # so is a mistaken $CHOREO_*_LIMIT

    def load(self, api: ObjectAPI) -> Project:
        """Plug-in kinds and hooks first, then the project folder: everything synced atomically
        (``ChoreoError`` naming the file on the first mistake; nothing of the load is kept then)."""
        loaded = self.read(api)
        loaded.sync()
        self.warn(loaded.project)
        return loaded.project

    def read(self, api: ObjectAPI) -> ProjectLoad:
        """Plug-in kinds and hooks, then the project folder, its kinds registered and its inputs prepared:
        the load, with nothing written yet (``sync`` writes it)."""
        plugin_crds = []
        for plugin in self.plugins:
            if not isinstance(api, APIServer):  # hooks and stages work on choreo's own store
                raise ChoreoError(f"the plug-in {plugin.name} runs only against choreo's own API server")
            for crd in plugin.crds():
                api.register_crd(crd, source=f"plug-in {plugin.name}")
                plugin_crds.append(crd)
            plugin.install(api)
        kept = KeptFiles(api.records)
        parsed = ParsedDocuments(kept.before())
        project = load_project(self.root, parsed)
        kept.keep(parsed.kept)  # for the next load
        return ProjectLoad(api, project, plugin_crds)

    def warn(self, project: Project) -> None:
        """Tell the project's warnings, unasked as kubectl tells an API server's (after reading the project:
        the upstream projects' are in by then)."""
        for warning in project.warnings:
            self.options.notice(f"warning: {warning}")

    def reconcilers(self, project: Project) -> list[BoundReconciler]:
        """The project's reconcilers, each bound to its language engine."""
        log, limits = self.options.log, self.limits
        bound = []
        for config in project.reconcilers:
            checkpoint()  # binding compiles the reconciler's code
            bound.append(BoundReconciler(config, make_engine(config, project.libraries, log=log, limits=limits)))
        return bound

    def memo(
        self, api: APIServer, project: Project, *, concurrent: bool = False, started_at: int | None = None,
    ) -> ReconcileMemo:
        """The recorded reconciles of the project in ``api``'s store, for reconciling incrementally: call it
        after ``read`` (the salt covers the served kinds). ``concurrent``: others write while the controller
        runs (a server). ``started_at``: the store's revision when this batch run began (before its load);
        when the last run ended at a fixpoint there, every record held then (``ReconcileMemo``)."""
        last = fixpoint.recorded(api) if started_at is not None and not self.options.full else None
        held_at = last.revision if last is not None and last.revision == started_at else None
        return ReconcileMemo(api, self._run_salt(api, project), full=self.options.full, concurrent=concurrent,
                             held_at=held_at)

    def _run_salt(self, api: APIServer, project: Project) -> str:
        """Of the options, the plug-ins (``-r``, ``-s``) and the limits can change what a reconcile does (a
        lower limit can fail one that passed); the stage options (output folder, reports) cannot."""
        packages = [type(plugin).__module__.partition(".")[0] for plugin in self.plugins]
        flags = {"plugins": sorted(self.options.plugins), "limits": asdict(self.limits)}
        return run_salt(api, project, flags, packages)

    def unchanged(self, api: APIServer, loaded: ProjectLoad) -> Fixpoint | None:
        """The fixpoint the last run ended at, when this run starts from it (``runtime.fixpoint``): its load
        would write nothing and every reconcile would be reused. Never for ``--full``."""
        last = fixpoint.recorded(api)
        if self.options.full or last is None:
            return None
        now = Fixpoint(api.events.current_revision(), loaded.fingerprint, self._salts(api, loaded.project),
                       last.reconciles)
        return last if now == last else None

    def settle(self, api: APIServer, loaded: ProjectLoad, controller: Controller, memo: ReconcileMemo) -> None:
        """At the end of a batch run that went well (stages included): record whether it ended at a
        fixpoint, bringing the records of the load up to date on the way."""
        work = controller.work()
        ended = loaded.settled() and memo.settled(work)
        fixpoint.remember(api, Fixpoint(
            api.events.current_revision(), loaded.fingerprint, self._salts(api, loaded.project), len(work),
        ) if ended else None)

    def _salts(self, api: APIServer, project: Project) -> str:
        run = self._run_salt(api, project)
        return fixpoint.salts_digest([run, *(reconciler_salt(run, config) for config in project.reconcilers)])

    def stages(self, api: APIServer, *, last_pass: bool = False) -> list[StageResult]:
        """Run the plug-ins' post-reconcile stages (``-r``, ``-s``) once the reconcilers are quiet and well;
        ``last_pass``: the process runs them no more (a batch run), so they keep nothing for a next pass."""
        context = StageContext(
            api, self.root, dict(self.options.stage_options), self.options.log, _abandonable(self.options.progress),
            self.options.full, last_pass,
        )
        results = []
        for plugin in self.plugins:
            checkpoint()
            stage = plugin.after_reconcile(context)
            if stage is not None:
                results.append(stage)
        return results

    def new_record(self, outcome: RunOutcome, stages: list[StageResult], started: float) -> RunRecord:
        """The record of a run that started at ``started`` (``time.perf_counter``) and ends now."""
        record = RunRecord(str(uuid.uuid4()), self.root.name, datetime.now(UTC).isoformat())
        record.events, record.failure, record.failed_task = outcome.events, outcome.failure, outcome.failed_task
        record.stages, record.reused = stages, outcome.reused
        record.wall_seconds = time.perf_counter() - started
        return record

    @staticmethod
    def keep(api: APIServer, record: RunRecord, *, snapshot: bool = True, saved: bool = False) -> None:
        """Store the run record (unless it is ``saved`` already, by ``save``) and, for a run whose objects are
        kept, the snapshot of every object; the oldest runs beyond what the store keeps go
        (``results/retention.py``)."""
        with api.transaction():
            if snapshot:
                take_snapshot(api, record.id)
            if not saved:
                Pipeline.save(api, record)
            prune_history(api.records, kept_runs())

    @staticmethod
    def save(api: APIServer, record: RunRecord) -> None:
        """Store the run record. A batch run stores it as soon as it is complete (in the run's transaction, like
        everything it keeps), before the settle and the snapshot: at N=1000 its 21 000 events are encoded
        through 8 MiB of dicts and text, which the decoding that follows then reuses, where after the snapshot
        they came on top of the run's peak."""
        save_record(api.records, record)


def _abandonable(progress: Progress) -> Progress:
    """``progress`` as the stages are given it: a stage reports after each device, which is where a server that
    stops abandons it (``choreo.abandon``; the plug-ins know nothing of that)."""

    def report(phase: str, done: int, total: int) -> None:
        checkpoint()
        progress(phase, done, total)

    return report
