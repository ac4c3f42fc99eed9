"""Benchmark: reconciles run in the worker process (choreo/lang/isolation.py) against the committed version.

Every reconcile of user code crosses a socket to a forked worker, and every client call the code makes
crosses it again: each exchange costs both processes a pickle, a system call and a wake-up of the other.
This times a Link-like Starlark reconcile (a read that finds nothing, three children created, the object
returned) with the real runtime client and API server, through ``isolation.py`` of ``--rev`` (default
HEAD) loaded beside the current one. CPU time counts both processes: choreo's and the worker's (read from
/proc); exchanges are choreo's socket reads (one per message or batch of messages from the worker). Both
versions must record the same children and return the same object.

    .venv/bin/python -m benchmarks.isolation                 # 300 reconciles per version and round
    .venv/bin/python -m benchmarks.isolation 1000 --rev HEAD~3
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.baseline import module_from_git
from choreo.apiserver.server import APIServer
from choreo.lang import isolation
from choreo.lang.limits import Limits
from choreo.lang.starlark_engine import StarlarkReconciler
from choreo.loader.project import ReconcilerConfig, ResourceSelector
from choreo.loader.yamlio import read_yaml_documents
from choreo.runtime.client import Client
from choreo.store.memory import MemoryBackend

Object = dict[str, Any]
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fabric"
SOURCE = "reconcilers/link/reconciler.star"
RECONCILER = """
def reconcile(self):
    md = self["metadata"]
    seen = client_get(md["name"], md["namespace"], {"apiVersion": "fabric.example.com/v1alpha1", "kind": "Interface"})
    for i in range(3):
        client_create({
            "apiVersion": "fabric.example.com/v1alpha1",
            "kind": "Interface",
            "metadata": {"name": "%s-%d" % (md["name"], i)},
            "spec": {"index": i, "address": "10.0.0.%d" % i, "prefixLength": 31, "missing": seen["error"]},
        })
    self["status"] = {"prefix": "10.0.0.0/31"}
    return reconcile_result(self, False, 0, "", False)
"""


def setup() -> tuple[APIServer, ReconcilerConfig, Object]:
    """The example fabric's Link and Interface kinds, one Link, and a reconciler of Links owning Interfaces."""
    api = APIServer(MemoryBackend())
    for kind in ("infra.kuid.dev_links", "fabric.example.com_interfaces"):
        for crd in read_yaml_documents(EXAMPLE / "crds" / f"{kind}.yaml"):
            api.register_crd(crd.obj)
    config = ReconcilerConfig(
        name="link", source="reconcilers/link/config.yaml", type="starlark",
        for_=ResourceSelector("infra.kuid.dev", "v1alpha1", "Link", {}),
        owns=[ResourceSelector("fabric.example.com", "v1alpha1", "Interface", {})],
        code={"reconciler.star": RECONCILER},
    )
    owner = api.create({
        "apiVersion": "infra.kuid.dev/v1alpha1", "kind": "Link",
        "metadata": {"name": "leaf1-spine1-1", "namespace": "default", "labels": {"fabric": "yes"}},
        "spec": {"endpoints": [{"node": "leaf1", "port": "ethernet-1/1"}, {"node": "spine1", "port": "ethernet-1/7"}]},
    })
    return api, config, owner


class Version:
    """One isolation module with its own engine (and so its own worker)."""

    def __init__(self, module: types.ModuleType, world: tuple[APIServer, ReconcilerConfig, Object]) -> None:
        self.module = module
        self.api, self.config, self.owner = world
        limits = Limits()
        self.engine = module.IsolatedEngine(StarlarkReconciler("link", RECONCILER, SOURCE, {}, limits=limits),
                                            SOURCE, limits)

    def one(self) -> tuple[Object | None, list[Object]]:
        client = Client(self.api, self.config, self.owner, lambda _message: None)
        return self.engine.reconcile(dict(self.owner), client).obj, client.children

    def timed(self, calls: int) -> tuple[float, int]:
        """(CPU seconds of both processes, socket reads of choreo) for ``calls`` reconciles."""
        self.one()  # the worker exists and is idle
        pid = int(self.module._POOL._idle[0].pid)
        with counting_reads(self.module) as reads:
            before = time.process_time() + worker_cpu(pid)
            for _ in range(calls):
                self.one()
            return time.process_time() + worker_cpu(pid) - before, reads[0]


def worker_cpu(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()  # noqa: SIM115 - a /proc read
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def counting_reads(module: types.ModuleType) -> Iterator[list[int]]:
    """Count choreo's socket reads in ``module`` (one per message from the worker, or per batch of them
    sent together) while in the block; its worker exists already and keeps the uncounted method."""
    reads = [0]
    fill = module._Channel._fill

    def counted(channel: Any, deadline: float | None) -> None:
        reads[0] += 1
        fill(channel, deadline)

    module._Channel._fill = counted
    try:
        yield reads
    finally:
        module._Channel._fill = fill


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("calls", nargs="?", type=int, default=300, help="reconciles per version and round")
    parser.add_argument("--rev", default="HEAD", help="git revision of the baseline (default HEAD)")
    args = parser.parse_args()
    world = setup()
    baseline = Version(module_from_git(args.rev, "choreo/lang/isolation.py"), world)
    current = Version(isolation, world)
    if baseline.one() != current.one():
        raise SystemExit(f"the current isolation gives a different result than {args.rev}")
    old = new = (float("inf"), 0)
    for _ in range(3):  # interleaved, so a noisy neighbour hits both versions alike; the best round counts
        old = min(old, baseline.timed(args.calls))
        new = min(new, current.timed(args.calls))
    print(f"Isolated Starlark reconciles, CPU µs per reconcile of choreo + worker (best of 3 rounds of "
          f"{args.calls}; baseline {args.rev})")
    print(f"  baseline {old[0] / args.calls * 1e6:9.1f}   current {new[0] / args.calls * 1e6:9.1f}   "
          f"{old[0] / new[0]:5.2f}x")
    print(f"  socket reads per reconcile: baseline {old[1] / args.calls:.1f}, current {new[1] / args.calls:.1f}")


if __name__ == "__main__":
    main()
