"""Fabric benchmark: ``choreo run -r -s`` on a generated N-device fabric against the bare pipeline.

The fabric is examples/fabric scaled up: N devices (N/20 spines, every leaf linked to two spines), the
example's IPIndex, reconcilers and schema profile. choreo claims every loopback and every /31 from the
IPIndex (``-r``), renders the interface snippets with Jinja2 and validates and writes every device config
(``-s``). The baseline (benchmarks/fabric_bare.py) renders the same snippets with plain Jinja2, with the
same addresses computed in plain Python, and validates each device with libyang directly: no API server, no
reconcilers, no allocator, no ownership. Both run in the same invocation, each in its own process, so the
ratio is meaningful on a noisy machine; time is wall clock, memory the child's peak RSS.

With several sizes it also prints how choreo scales: each size's time and peak memory against the first
size's. Issue 10's scaling goal is t(10 000)/t(1 000) ≤ 11 with a peak of at most 2 GiB; that run takes
about 8 minutes and 2 GiB of free memory on the 2-core development machine.

A single run of one size varies by up to a tenth on that machine, so a ratio of two single runs can move
by a fifth. ``--repeat K`` runs each size K times (choreo and the baseline alternately) and reports the
median of each, with the fastest and slowest run beside it.

    .venv/bin/python -m benchmarks.fabric                          # N = 100 and 1000
    .venv/bin/python -m benchmarks.fabric 300                      # other sizes
    .venv/bin/python -m benchmarks.fabric 1000 10000               # the scaling goal, on demand
    .venv/bin/python -m benchmarks.fabric 1000 10000 --repeat 3    # the same, each size's median of three
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "fabric"
INDEX_FILE = "ipam.be.kuid.dev.ipindex.fabric.yaml"

NODE = """apiVersion: infra.kuid.dev/v1alpha1
kind: Node
metadata: {{name: {name}, namespace: default}}
spec: {{node: {name}, provider: ietf.choreo.dev, version: 1.0.0, platformType: generic}}
"""
LINK = """apiVersion: infra.kuid.dev/v1alpha1
kind: Link
metadata: {{name: {name}, namespace: default}}
spec:
  endpoints:
  - {{node: {a}, port: {pa}}}
  - {{node: {b}, port: {pb}}}
"""

Link = tuple[str, str, str, str, str]  # name, node a, port a, node b, port b


def topology(devices: int) -> tuple[list[str], list[Link]]:
    """Node names and links (name, node a, port a, node b, port b)."""
    spines = max(2, devices // 20)
    names = [f"spine{i + 1}" for i in range(spines)] + [f"leaf{i + 1}" for i in range(devices - spines)]
    ports = {name: 0 for name in names}
    links = []
    for leaf in names[spines:]:
        number = int(leaf[4:])
        for spine in (names[(number - 1) % spines], names[number % spines]):
            ports[leaf] += 1
            ports[spine] += 1
            name = f"{leaf}-{spine}-{len(links) + 1}"
            links.append((name, leaf, f"ethernet-1/{ports[leaf]}", spine, f"ethernet-1/{ports[spine]}"))
    return names, links


def generate(target: Path, devices: int) -> None:
    """A copy of examples/fabric with its IPIndex and ``devices`` Nodes and their Links in in/."""
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".choreo", "out", "in", "README.md"))
    (target / "in").mkdir()
    shutil.copy(EXAMPLE / "in" / INDEX_FILE, target / "in" / INDEX_FILE)
    names, links = topology(devices)
    for name in names:
        (target / "in" / f"node.{name}.yaml").write_text(NODE.format(name=name))
    for name, a, pa, b, pb in links:
        (target / "in" / f"link.{name}.yaml").write_text(LINK.format(name=name, a=a, pa=pa, b=b, pb=pb))


def compile_sources() -> None:
    """Cache the bytecode of choreo's own modules, as installing a package does, before measuring.

    pip compiles a package's modules when it installs them, so a user's ``choreo`` reads bytecode. A
    development shell may set PYTHONDONTWRITEBYTECODE, and then every measured child compiled about 140
    modules from source: some 0.25 s a run, a fifth of a small re-run. Python reads existing bytecode
    even with that setting, so compiling once here makes each child start as an installed choreo does.
    """
    for package in ("choreo", "reconcilers", "yang", "benchmarks"):
        compileall.compile_dir(REPO / package, quiet=1)


class Measured(NamedTuple):
    """One child process: wall clock, CPU time (user + system, its reaped children such as the reconcile
    worker included: what the run costs whatever else the machine does), peak RSS, exit code."""

    seconds: float
    cpu: float
    peak_mib: float
    code: int


def measure(command: list[str]) -> Measured:
    """Run ``command`` as a child process, choreo's bytecode cached first."""
    compile_sources()
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0 and proc.stderr is not None:
        sys.stderr.write(proc.stderr.read().decode())
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(elapsed, cpu, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status))


def median(runs: list[Measured]) -> Measured:
    """The median of each measure on its own."""
    return Measured(
        statistics.median(m.seconds for m in runs),
        statistics.median(m.cpu for m in runs),
        statistics.median(m.peak_mib for m in runs),
        max(runs, key=lambda m: abs(m.code)).code,  # any failure shows
    )


def run(devices: int, repeat: int = 1) -> Measured:
    """Measure and print one size, ``repeat`` times each (the median); returns choreo's measurement."""
    choreo_runs: list[Measured] = []
    bare_runs: list[Measured] = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            project = Path(tmp) / "fabric"
            generate(project, devices)
            choreo_runs.append(measure([sys.executable, "-m", "choreo.cli.main", "run", str(project), "-r", "-s"]))
            bare_runs.append(measure([sys.executable, "-m", "benchmarks.fabric_bare", str(devices)]))
    choreo, bare = median(choreo_runs), median(bare_runs)
    links = len(topology(devices)[1])
    runs = f", median of {repeat} runs" if repeat > 1 else ""
    print(f"N={devices} devices, {links} links, {devices + 2 * links} interfaces{runs}", flush=True)
    for label, m, each in (("choreo run -r -s", choreo, choreo_runs), ("bare jinja2+libyang", bare, bare_runs)):
        spread = f"  ({min(r.seconds for r in each):.2f} to {max(r.seconds for r in each):.2f} s)" if repeat > 1 else ""
        print(f"  {label:<22} {m.seconds:8.2f} s {m.cpu:8.2f} s CPU {m.peak_mib:8.1f} MiB peak RSS  exit {m.code}"
              f"{spread}")
    print(f"  {'ratio choreo/bare':<22} {choreo.seconds / bare.seconds:8.1f} x {choreo.cpu / bare.cpu:8.1f} x CPU"
          f" {choreo.peak_mib / bare.peak_mib:8.1f} x", flush=True)
    return choreo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[100, 1000])
    parser.add_argument("--repeat", type=int, default=1, metavar="K",
                        help="run each size K times and report the medians (default 1)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    measured = [(devices, run(devices, args.repeat)) for devices in args.sizes]
    first, base = measured[0]
    for devices, m in measured[1:]:
        print(f"scaling N={first} -> N={devices} ({devices / first:g} x the devices): time "
              f"{m.seconds / base.seconds:.1f} x, CPU {m.cpu / base.cpu:.1f} x, peak memory "
              f"{m.peak_mib / base.peak_mib:.1f} x ({m.peak_mib / 1024:.2f} GiB)")

if __name__ == "__main__":
    main()
