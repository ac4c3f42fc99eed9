"""Server mode with ``-r -s``: one changed Link re-validates only the devices it touches."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from choreo.abandon import Abandoned
from choreo.plugins import INTERNAL_RECONCILERS, SCHEMA
from choreo.results.record import RUNS_TABLE, RunRecord
from choreo.runtime.pipeline import RunOptions
from choreo.server.project import ProjectRuntime
from choreo.server.protocol import Unavailable
from tests.e2e.conftest import EXAMPLES
from tests.yang.test_stage_incremental import counts

WAIT = 60.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def schema_runs(runtime: ProjectRuntime) -> list[RunRecord]:
    """The kept runs (one per quiet burst) that ran the schema stage, oldest first."""
    runs = [RunRecord.from_json(v) for _k, v in runtime.store.list_records(RUNS_TABLE)]
    return [r for r in runs if any(s.name == SCHEMA for s in r.stages)]


def settled(runtime: ProjectRuntime, runs: int) -> bool:
    """At least ``runs`` schema runs and nothing left to reconcile."""
    return len(schema_runs(runtime)) >= runs and bool(runtime.describe().get("idle"))


def test_one_changed_link_revalidates_only_its_two_devices(tmp_path: Path) -> None:
    project = tmp_path / "fabric"
    shutil.copytree(EXAMPLES / "fabric", project, ignore=shutil.ignore_patterns(".choreo", "out"))
    runtime = ProjectRuntime(project, RunOptions(plugins=[INTERNAL_RECONCILERS, SCHEMA]), lambda *_a, **_k: None)
    try:
        runtime.start()
        wait_for(lambda: settled(runtime, 1), "the first pass")
        time.sleep(0.5)  # a second burst (the stage's own writes) would show here
        before = len(schema_runs(runtime))
        assert sum(counts(stage)[0] for r in schema_runs(runtime) for stage in r.stages if stage.name == SCHEMA) == 4
        link = yaml.safe_load((project / "in" / "infra.kuid.dev.link.leaf1-spine1.yaml").read_text())
        link["spec"]["endpoints"] = [{"node": node, "port": "ethernet-1/7"} for node in ("leaf1", "spine1")]
        assert runtime.api is not None
        runtime.api.apply(link, manager="kubectl", force=True)
        wait_for(lambda: settled(runtime, before + 1), "the pass after the change")
        time.sleep(0.5)
        wait_for(lambda: settled(runtime, before + 1), "quiet")
        after = [s for r in schema_runs(runtime)[before:] for s in r.stages if s.name == SCHEMA]
        assert all(stage.success for stage in after)
        assert sum(counts(stage)[0] for stage in after) == 2  # leaf1 and spine1, nothing else
        assert "ethernet-1/7" in (project / "out" / "leaf1.json").read_text()
        assert "ethernet-1/7" in (project / "out" / "spine1.json").read_text()
    finally:
        runtime.close()


def test_a_run_once_abandoned_in_its_stages_keeps_nothing_of_them(tmp_path: Path) -> None:
    """A stop that abandons a server's ``run once`` in its stages undoes what they wrote, as it does for the
    runner's pass: no final Config of the devices already done, no run recorded."""
    project = tmp_path / "fabric"
    shutil.copytree(EXAMPLES / "fabric", project, ignore=shutil.ignore_patterns(".choreo", "out"))
    runtime = ProjectRuntime(project, RunOptions(plugins=[INTERNAL_RECONCILERS, SCHEMA]), lambda *_a, **_k: None)
    stages = runtime.pipeline.stages

    def stages_then_stop(api: Any, **options: Any) -> Any:
        done = stages(api, **options)
        assert any(stage.name == SCHEMA and stage.success for stage in done)  # every device's final Config written
        raise Abandoned()

    runtime.pipeline.stages = stages_then_stop  # type: ignore[method-assign]
    try:
        with pytest.raises(Unavailable, match="abandoned"):
            runtime.once()
        assert runtime.api is not None
        finals = [c for c in runtime.api.list("config.sdcio.dev", "Config")
                  if (c["metadata"].get("labels") or {}).get("config.sdcio.dev/finalconfig") == "true"]
        assert finals == []
        assert runtime.latest() is None
        assert runtime.api.list("ipam.be.kuid.dev", "IPClaim")  # the reconciles' own writes are kept
    finally:
        runtime.close()
