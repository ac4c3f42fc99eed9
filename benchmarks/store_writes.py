"""Benchmark: the store's write path (choreo/store) against the committed version, in one run.

Every API write of a run is, in the store, a read of the live object, an update with its resourceVersion as
precondition, and a watch event, all inside the run's one transaction. This times that sequence on objects
the size of a fabric's (about 1.3 kB of canonical JSON: labels, owner references, a spec and a status with
conditions and managedFields) for both backends:

* ``create``: a new object (existence check, revision, object row, event);
* ``get+update``: what the API server does for a changed object;
* ``get``: a read of an object written earlier in the same transaction;
* ``no-op write``: a nested transaction that only reads (an apply that changes nothing);
* ``write+events``: an update and then the events since the revision before it, as the controller and the
  reconcile memo read them after every reconcile;
* ``record``: a run record of the object's size (``put_record``), as the reconcile memo keeps one per reconcile;
* ``content``: the object as a content record (``put_content``), as a snapshot keeps every object.

Times are CPU seconds of this process (the machine is shared; wall clock would mostly measure the others).

The baseline is ``_common.py``, ``sqlite.py`` and ``memory.py`` of ``--rev`` (default HEAD) loaded beside
the current ones. Both run the same operations on their own fresh store; the stores' objects and events are
checked to be identical afterwards, so a speed-up cannot come from doing less.

    .venv/bin/python -m benchmarks.store_writes            # 2000 objects
    .venv/bin/python -m benchmarks.store_writes 5000 --rev HEAD~2
"""

from __future__ import annotations

import argparse
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.baseline import module_from_git
from choreo.api.objects import ObjectKey
from choreo.store import memory, sqlite

Object = dict[str, Any]
Backend = Any  # a BaseBackend of either version


def load_baseline(rev: str) -> dict[str, types.ModuleType]:
    """``memory`` and ``sqlite`` modules of ``rev`` over that revision's ``_common``."""
    common = module_from_git(rev, "choreo/store/_common.py")
    replacing = {"choreo.store._common": common}
    return {
        "memory": module_from_git(rev, "choreo/store/memory.py", replacing),
        "sqlite": module_from_git(rev, "choreo/store/sqlite.py", replacing),
    }


def fabric_object(i: int, generation: int) -> Object:
    """An interface-like object as a fabric run writes it (its size and shape, not its meaning)."""
    name = f"leaf{i}.ethernet-1-{i % 48}"
    return {
        "apiVersion": "infra.kuid.dev/v1alpha1",
        "kind": "Interface",
        "metadata": {
            "name": name,
            "namespace": "default",
            "labels": {"inv.kuid.dev/node": f"leaf{i}", "inv.kuid.dev/port": f"ethernet-1/{i % 48}"},
            "ownerReferences": [
                {"apiVersion": "infra.kuid.dev/v1alpha1", "kind": "Link", "name": f"link{i}", "uid": f"u-{i}"}
            ],
            "managedFields": [
                {
                    "apiVersion": "infra.kuid.dev/v1alpha1",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:spec": {"f:node": {}, "f:port": {}, "f:ipv4": {}, "f:mtu": {}}},
                    "manager": "link-reconciler",
                    "operation": "Apply",
                    "time": "2024-01-01T00:00:00Z",
                }
            ],
        },
        "spec": {
            "node": f"leaf{i}",
            "port": f"ethernet-1/{i % 48}",
            "ipv4": f"10.0.{i % 250}.{i % 128}/31",
            "mtu": 9000,
        },
        "status": {
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "Ready", "message": f"generation {generation}"}
            ]
        },
    }


def key(i: int) -> ObjectKey:
    return ObjectKey("infra.kuid.dev", "Interface", "default", f"leaf{i}.ethernet-1-{i % 48}")


def workload(backend: Backend, n: int) -> dict[str, float]:
    """Seconds per phase for ``n`` objects, all in one transaction as a run does."""
    times: dict[str, float] = {}
    with backend.transaction():
        started = time.process_time()
        for i in range(n):
            backend.create(key(i), fabric_object(i, 1))
        times["create"] = time.process_time() - started
        started = time.process_time()
        for i in range(n):
            live = backend.get(key(i))
            backend.update(key(i), fabric_object(i, 2), live["metadata"]["resourceVersion"])
        times["get+update"] = time.process_time() - started
        started = time.process_time()
        for i in range(n):
            backend.get(key(i))
        times["get"] = time.process_time() - started
        started = time.process_time()
        for i in range(n):
            with backend.transaction():  # the API server's apply of an unchanged object: read, no write
                backend.get(key(i))
        times["no-op write"] = time.process_time() - started
        started = time.process_time()
        for i in range(n):
            before = backend.current_revision()
            backend.update(key(i), fabric_object(i, 3))
            backend.events_since(before)
        times["write+events"] = time.process_time() - started
        started = time.process_time()
        for i in range(n):
            backend.put_record("reconciles", str(i), fabric_object(i, 4))
        times["record"] = time.process_time() - started
        started = time.process_time()
        for i in range(n):
            backend.put_content("contents", fabric_object(i, 5))
        times["content"] = time.process_time() - started
    return times


def contents(backend: Backend) -> tuple[list[Object], list[tuple[str, Object, int]], list[tuple[str, Any]]]:
    objects = backend.list("infra.kuid.dev", "Interface")
    events = [(e.type, e.object, e.revision) for e in backend.events_since(0)]
    records = [*backend.list_records("reconciles"), *backend.list_records("contents")]
    return objects, events, records


def run(
    label: str,
    make: Callable[[types.ModuleType, Path], Backend],
    baseline: types.ModuleType,
    current: types.ModuleType,
    n: int,
    rounds: int,
) -> None:
    best: dict[str, dict[str, float]] = {"baseline": {}, "current": {}}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(rounds):  # interleaved, so a noisy neighbour hits both versions alike
            for version, module in (("baseline", baseline), ("current", current)):
                backend = make(module, Path(tmp) / f"{version}{round_}.db")
                try:
                    for phase, seconds in workload(backend, n).items():
                        best[version][phase] = min(best[version].get(phase, seconds), seconds)
                    results[version] = contents(backend)
                finally:
                    backend.close()
    if results["baseline"] != results["current"]:
        raise SystemExit(f"{label}: the current store holds different objects or events than the baseline")
    print(f"  {label}")
    for phase, old in best["baseline"].items():
        new = best["current"][phase]
        print(f"    {phase:<12} {old / n * 1e6:10.1f} {new / n * 1e6:10.1f} {old / new:8.2f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=2000, help="objects (default 2000)")
    parser.add_argument("--rev", default="HEAD", help="git revision of the baseline (default HEAD)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per version; the best counts (default 3)")
    args = parser.parse_args()
    baseline = load_baseline(args.rev)
    print(f"store writes, µs per object ({args.n} objects, best of {args.rounds}; baseline {args.rev})")
    print(f"    {'phase':<12} {'baseline':>10} {'current':>10} {'speed-up':>8}")
    run("sqlite", lambda mod, path: mod.SqliteBackend(path), baseline["sqlite"], sqlite, args.n, args.rounds)
    run("memory", lambda mod, _path: mod.MemoryBackend(), baseline["memory"], memory, args.n, args.rounds)


if __name__ == "__main__":
    main()
