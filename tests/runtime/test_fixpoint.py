"""A re-run from the fixpoint the last run ended at loads and reconciles nothing; anything that moves the
state or the inputs (an edited input, the allocator index, a write between runs) takes the whole way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks.fabric import INDEX_FILE, generate
from choreo.apiserver.server import APIServer
from choreo.cli.common import plugin_names
from choreo.loader.project import INPUT_MANAGER
from choreo.loader.sync import ProjectLoad
from choreo.runtime.controller import Controller
from choreo.runtime.fixpoint import recorded
from choreo.runtime.session import RunOptions, RunRecord, run_project
from choreo.runtime.state import open_api


def run(root: Path) -> RunRecord:
    record = run_project(root, RunOptions(plugins=plugin_names(True, True)))
    assert record.failure is None, record.failure
    return record


def state(root: Path) -> tuple[int, list[Any]]:
    api, backend = open_api(root)
    try:
        return api.events.current_revision(), list(api.stored_objects())
    finally:
        backend.close()


@pytest.fixture
def applied(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The kinds the loader applies (input applies and trial applies alike)."""
    kinds: list[str] = []
    original = APIServer.apply

    def apply(self: APIServer, obj: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if kwargs.get("manager") == INPUT_MANAGER:
            kinds.append(obj["kind"])
        return original(self, obj, **kwargs)

    monkeypatch.setattr(APIServer, "apply", apply)
    return kinds


def test_a_rerun_at_the_fixpoint_loads_and_reconciles_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "fabric"
    generate(root, 4)
    first = run(root)
    before = state(root)
    api, backend = open_api(root)
    try:
        fixpoint = recorded(api)
    finally:
        backend.close()
    assert fixpoint is not None and fixpoint.revision == before[0] and fixpoint.reconciles > first.reused

    def untouched(*_args: Any) -> None:
        raise AssertionError("a run at the fixpoint neither syncs nor reconciles")

    with monkeypatch.context() as patched:
        patched.setattr(ProjectLoad, "sync", untouched)
        patched.setattr(Controller, "run", untouched)
        again = run(root)
    assert again.reused == fixpoint.reconciles and again.events == []
    assert state(root) == before


def test_a_changed_index_is_applied_and_admitted_again(tmp_path: Path, applied: list[str]) -> None:
    root = tmp_path / "fabric"
    generate(root, 4)
    run(root)
    index = root / "in" / INDEX_FILE
    index.write_text(index.read_text().replace("10.1.0.0/16", "10.7.0.0/16"))
    applied.clear()
    changed = run(root)
    assert "IPIndex" in applied and changed.events  # admitted: the links' addresses are allocated again
    api, backend = open_api(root)
    try:
        claims = [o for o in api.stored_objects() if o["kind"] == "IPClaim"]
    finally:
        backend.close()
    addresses = [str(claim.get("status", {}).get("address") or claim.get("status", {}).get("prefix") or "")
                 for claim in claims]
    assert any(address.startswith("10.7.") for address in addresses)
    assert not any(address.startswith("10.1.") for address in addresses)
    applied.clear()
    assert run(root).events == [] and applied == []  # and the run after it is at the fixpoint again


def test_a_write_between_runs_leaves_the_fixpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "fabric"
    generate(root, 4)
    run(root)
    before = state(root)[1]
    api, backend = open_api(root)
    try:
        api.register_stored_crds()
        child = next(o for o in api.stored_objects() if o["metadata"].get("ownerReferences"))
        group = child["apiVersion"].rpartition("/")[0]
        api.delete(group, child["kind"], child["metadata"].get("namespace", ""), child["metadata"]["name"])
    finally:
        backend.close()
    synced: list[bool] = []
    original = ProjectLoad.sync
    monkeypatch.setattr(ProjectLoad, "sync", lambda self: synced.append(True) or original(self))
    run(root)
    assert synced == [True]
    after = state(root)[1]  # the deleted object is back
    assert [(o["kind"], o["metadata"]["name"]) for o in after] == [(o["kind"], o["metadata"]["name"]) for o in before]


def test_another_limit_leaves_the_fixpoint_and_reuses_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lower limit could fail a reconcile that passed under the old one: the limits are among the flags."""
    root = tmp_path / "fabric"
    generate(root, 4)
    first = run(root)
    assert run(root).reused > first.reused  # at the fixpoint: every reconcile reused
    monkeypatch.setenv("CHOREO_DEPTH_LIMIT", "500")
    lowered = run(root)
    assert lowered.reused == 0 and lowered.events
    assert run(root).reused > 0  # and the same limit again is a fixpoint again
