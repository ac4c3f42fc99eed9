"""The store keeps the last CHOREO_KEEP_RUNS runs: older records, snapshots and what only they referred to
are pruned in batches, and everything kept still loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from choreo.apiserver.server import APIServer
from choreo.errors import ChoreoError
from choreo.results.record import RUNS_TABLE, RunRecord
from choreo.results.retention import PRUNE_SLACK
from choreo.results.snapshot import MANIFESTS_TABLE, OBJECTS_TABLE, load_snapshot
from choreo.runtime.pipeline import Pipeline, RunOptions
from tests.results.test_snapshot import api, message

__all__ = ["api"]  # the fixture, shared with the snapshot tests


def keep_run(api: APIServer, number: int) -> None:
    """A run that changed Message b to a new text, kept as the pipeline keeps every run."""
    api.apply(message("b", f"text {number}"), manager="test")
    Pipeline.keep(api, RunRecord(f"run-{number:02d}", "p", f"2026-12-04T00:00:{number:02d}+00:00"))


def test_runs_beyond_the_kept_number_go_in_a_batch_with_what_only_they_used(
    api: APIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHOREO_KEEP_RUNS", "3")
    for number in range(1, 4 + PRUNE_SLACK):
        keep_run(api, number)
    assert len(api.records.record_keys(RUNS_TABLE)) == 3 + PRUNE_SLACK  # not yet: pruning waits for a batch
    keep_run(api, 4 + PRUNE_SLACK)
    kept = [key.partition("|")[2] for key in api.records.record_keys(RUNS_TABLE)]
    assert kept == [f"run-{n:02d}" for n in range(2 + PRUNE_SLACK, 5 + PRUNE_SLACK)]
    assert load_snapshot(api.records, "run-01") is None
    texts = []
    for run in kept:
        items = load_snapshot(api.records, run)
        assert items is not None
        texts.append(next(i.obj["spec"]["text"] for i in items if i.obj["metadata"]["name"] == "b"))
    assert texts == [f"text {n}" for n in range(2 + PRUNE_SLACK, 5 + PRUNE_SLACK)]
    # a, c and the CRD never changed (one object each); b has one version per kept run
    assert len(api.records.record_keys(OBJECTS_TABLE)) == 3 + 3
    assert len(api.records.record_keys(MANIFESTS_TABLE)) == 3


def test_a_mistaken_keep_runs_value_is_refused_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHOREO_KEEP_RUNS", "0")
    with pytest.raises(ChoreoError, match=r"\$CHOREO_KEEP_RUNS: expected a whole number of runs"):
        Pipeline(Path("."), RunOptions())


def test_pruning_keeps_the_chain_of_a_kept_delta_and_drops_what_only_pruned_runs_used(
    api: APIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHOREO_KEEP_RUNS", "2")
    for name in "defghij":
        api.apply(message(name, f"hi {name}"), manager="test")
    for number in range(1, 4 + PRUNE_SLACK):  # one base, then a delta per run
        keep_run(api, number)
    kept = [key.partition("|")[2] for key in api.records.record_keys(RUNS_TABLE)]
    assert kept == [f"run-{n:02d}" for n in (2 + PRUNE_SLACK, 3 + PRUNE_SLACK)]
    for number, run in zip((2 + PRUNE_SLACK, 3 + PRUNE_SLACK), kept, strict=True):
        items = load_snapshot(api.records, run)
        assert items is not None and len(items) == 11
        assert next(i.obj["spec"]["text"] for i in items if i.obj["metadata"]["name"] == "b") == f"text {number}"
    # the kept runs' deltas reach back to run-01's base through every run between: all those manifests stay,
    # while the versions of b that only pruned runs had are gone: 10 unchanged objects and the 2 kept b's
    assert len(api.records.record_keys(MANIFESTS_TABLE)) == 3 + PRUNE_SLACK
    assert len(api.records.record_keys(OBJECTS_TABLE)) == 10 + 2
