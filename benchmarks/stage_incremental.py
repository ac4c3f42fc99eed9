"""Incremental ``-s`` benchmark: the schema stage and the snapshot on a generated fabric, full against incremental.

A fabric of N devices (benchmarks/fabric.py) is run once with ``choreo run -r -s``. Then, on that state and
in this one process, each step is timed both ways, the same number of times, inside a transaction that is
rolled back so every repetition starts from the same state:

- the schema stage with ``full`` (every device merged and validated: what every run did before) and
  incremental (nothing changed: every device keeps its verdict);
- the snapshot of the run with and without the digests the previous snapshot left (without them every
  object is encoded and hashed, as before).

Whole runs, each its own process: the first run, a re-run with nothing changed (before the steps above:
it also settles what a device's first run leaves to settle once) and a run after one Link's ports changed.
Step times are wall clock, the best of ``--repeat``.

    .venv/bin/python -m benchmarks.stage_incremental            # N = 100
    .venv/bin/python -m benchmarks.stage_incremental 300 1000
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.fabric import generate as generate_fabric
from benchmarks.fabric import topology
from choreo.apiserver.server import APIServer
from choreo.plugins import SCHEMA, StageContext, load_plugin
from choreo.results import snapshot
from choreo.runtime.state import stored_api

RUN = [sys.executable, "-m", "choreo.cli.main", "run"]


class _RollBack(Exception):
    """Leaves the measuring transaction so that nothing of the measured step is kept."""


def best_of(repeat: int, api: APIServer, step: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            with api.transaction():
                step()
                times.append(time.perf_counter() - started)
                raise _RollBack
        except _RollBack:
            pass
    return min(times)


def stage_and_snapshot(project: Path, repeat: int) -> list[tuple[str, float, float]]:
    """(step, seconds full, seconds incremental) of the schema stage and of the snapshot."""
    plugin = load_plugin(SCHEMA)
    with stored_api(project) as api:

        def stage(full: bool) -> Callable[[], object]:
            return lambda: plugin.after_reconcile(StageContext(api, project, {"out": None, "reports": {}}, full=full))

        def snap(digests: bool) -> Callable[[], object]:
            def take() -> object:
                if not digests:
                    api.records.delete_record(snapshot.DIGESTS_TABLE, snapshot.LATEST)
                return snapshot.take_snapshot(api, "benchmark")

            return take

        # Incremental first: the full stage rewrites the files (same bytes, new times), which a later
        # incremental pass would have to read back to recognise.
        stage_incremental = best_of(repeat, api, stage(False))
        stage_full = best_of(repeat, api, stage(True))
        return [
            ("schema stage", stage_full, stage_incremental),
            ("snapshot", best_of(repeat, api, snap(False)), best_of(repeat, api, snap(True))),
        ]


def timed_run(project: Path) -> tuple[float, str]:
    """Seconds of one ``choreo run -r -s`` and the stage's count line."""
    started = time.perf_counter()
    proc = subprocess.run([*RUN, str(project), "-r", "-s"], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"choreo run failed with exit {proc.returncode}")
    found = re.search(r"schema: \d+ device\(s\) validated, \d+ unchanged since the last run", proc.stdout)
    return seconds, found[0] if found else "(no count line)"


def change_one_link(project: Path, devices: int) -> None:
    name = topology(devices)[1][0][0]
    path = project / "in" / f"link.{name}.yaml"
    path.write_text(path.read_text().replace("port: ethernet-1/1}", "port: ethernet-1/99}"))


def run(devices: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "fabric"
        generate_fabric(project, devices)
        first, first_line = timed_run(project)
        print(f"N={devices} devices; first run {first:.2f} s ({first_line})", flush=True)
        again, again_line = timed_run(project)  # also settles what the first run left to settle once
        print(f"  {'step (in one process)':<24} {'full':>9} {'incremental':>12} {'ratio':>7}")
        for step, full, incremental in stage_and_snapshot(project, repeat):
            print(f"  {step:<24} {full:8.3f}s {incremental:11.3f}s {incremental / full:6.1%}", flush=True)
        change_one_link(project, devices)
        link, link_line = timed_run(project)
        print(f"  re-run, nothing changed  {again:8.2f} s = {again / first:6.1%} of the first run ({again_line})")
        print(f"  re-run, one Link changed {link:8.2f} s = {link / first:6.1%} of the first run ({link_line})",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[100])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each in-process step (best kept)")
    args = parser.parse_args()
    for devices in args.sizes:
        run(devices, args.repeat)


if __name__ == "__main__":
    main()
