"""A run that changes one Link reads whole only what it needs: how many objects it decodes does not grow with
the network (what only needs uids, versions, owners or labels reads the objects' heads)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from benchmarks.fabric import generate
from benchmarks.incremental import change_one_port
from choreo.plugins import INTERNAL_RECONCILERS, SCHEMA
from choreo.runtime.pipeline import RunOptions
from choreo.runtime.session import run_project
from choreo.store._common import BaseBackend

GROWS_WITH_THE_NETWORK = {"Node", "IPClaim"}
"""Read whole on every run: the -s stage fingerprints each device's Node (its spec), and the IP allocator
rebuilds its engine from every claim of its index."""


def decodes_of_a_one_link_change(tmp_path: Path, devices: int, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    project = tmp_path / f"fabric{devices}"
    generate(project, devices)
    options = RunOptions(plugins=[INTERNAL_RECONCILERS, SCHEMA], stage_options={"out": None, "reports": {}})
    assert run_project(project, options).success
    change_one_port(project, devices)
    decoded: Counter[str] = Counter()
    with monkeypatch.context() as patched:
        original = BaseBackend._decode_stored

        def counting(self: BaseBackend, stored: str | bytes, what: object) -> dict:
            decoded[getattr(what, "kind", "?")] += 1
            return original(self, stored, what)

        patched.setattr(BaseBackend, "_decode_stored", counting)
        assert run_project(project, options).success
    return decoded


def test_a_one_link_change_decodes_as_many_objects_in_a_network_twice_the_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small, large = (decodes_of_a_one_link_change(tmp_path, devices, monkeypatch) for devices in (40, 80))
    for counts in (small, large):
        assert counts["Link"] >= 1 and counts["Interface"] >= 1  # what the change touched is read
    assert {k: n for k, n in small.items() if k not in GROWS_WITH_THE_NETWORK} == {
        k: n for k, n in large.items() if k not in GROWS_WITH_THE_NETWORK
    }
    assert large["Node"] == 80 and sum(large.values()) < 3 * (large["Node"] + large["IPClaim"])
