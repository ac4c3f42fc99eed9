"""Server-mode benchmark: from applying one changed Link over the HTTP API to quiet, on a generated fabric.

Issue 10's goal: a ``choreo server start DIR -r -s`` serving the N=1000 fabric (benchmarks/fabric.py) is
quiet again within 0.5 s of a client applying one changed Link, re-validating only the devices it touches.

The fabric is generated with its last Link left out of ``in/``: objects loaded from the folder belong to
their files (the server refuses API writes to them), so that Link is created through the API, as
``kubectl apply --server-side`` does (a PATCH with ``application/apply-patch+yaml``), and then changed the
same way. A client learns that the server is quiet from ``GET /choreo/v1/status`` (``idle``: nothing
queued or being reconciled, every store event dispatched) and ``GET /choreo/v1/run/result`` (the newest run
record: the server records each burst of reconciles, with its ``-s`` stage, as a run once its queue
drains). Quiet here is both: idle, and a run recorded after the apply. Polled every ``POLL`` seconds.

Measured, in one server process: the first pass (load, every reconcile, the stage), then ``--repeats``
times each, the median shown:

- baseline: applying the Link unchanged (the HTTP round trip of an apply that changes nothing, plus one
  look at the status: the floor of what a client can measure);
- one Link changed: the Link's first endpoint moved to a new port (alternating between two ports), until
  quiet; with the reconciles of that run and the devices its stage validated (its summary line), and the
  CPU time the server process and its reconcile worker used meanwhile (from ``/proc``): on a busy machine
  the wall clock mostly measures the wait for a core, the CPU time what the pass costs.

Then, once: the server stopped, ``choreo run -r -s --full`` of its state, and a new server started on what
that batch run recorded, to quiet: it should reconcile and validate nothing (before the modes served the
same kinds it redid everything: 15 400 reconciles, 19.7 s at N=1000).

    .venv/bin/python -m benchmarks.server_incremental           # N = 200
    .venv/bin/python -m benchmarks.server_incremental 1000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: benchmarks/ is importable from the repository root

from benchmarks.fabric import LINK, generate, topology  # noqa: E402
from benchmarks.feeder import start  # noqa: E402

GOAL = 0.5  # seconds from the apply to quiet
POLL = 0.02  # seconds between two looks at the server's status
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
LINKS = "/apis/infra.kuid.dev/v1alpha1/namespaces/default/links"


def call(url: str, method: str = "GET", body: str | None = None, content_type: str = "application/json") -> Any:
    request = urllib.request.Request(url, data=body.encode() if body is not None else None, method=method)
    request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read())


def cpu_seconds(root: int) -> float:
    """CPU time (user + system) used so far by process ``root`` and its descendants (the reconcile worker
    it forks), from ``/proc``: unlike wall clock it hardly depends on how busy the machine is. Linux only
    (0 elsewhere)."""
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent pid, CPU seconds)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # the process ended meanwhile
        stats[int(stat.parent.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    tree: set[int] = set()
    grown = {root}
    while grown:
        tree |= grown
        grown = {pid for pid, (parent, _cpu) in stats.items() if parent in tree and pid not in tree}
    return sum(stats[pid][1] for pid in tree if pid in stats)


def latest_run(url: str) -> dict[str, Any] | None:
    try:
        record: dict[str, Any] = call(url + "/choreo/v1/run/result")["record"]
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise
    return record


def wait_quiet(url: str, after: str | None, timeout: float = 3600) -> dict[str, Any]:
    """The run record of the burst that follows the run ``after``, once the server is idle."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if call(url + "/choreo/v1/status").get("idle"):
            record = latest_run(url)
            if record is not None and record["id"] != after:
                return record
        time.sleep(POLL)
    raise SystemExit(f"the server was not quiet within {timeout:g} s")


def link_yaml(link: tuple[str, str, str, str, str]) -> str:
    name, a, pa, b, pb = link
    return LINK.format(name=name, a=a, pa=pa, b=b, pb=pb)


def apply(url: str, link: tuple[str, str, str, str, str]) -> None:
    """``kubectl apply --server-side`` of the Link."""
    query = "?fieldManager=kubectl&force=true"
    call(f"{url}{LINKS}/{link[0]}{query}", "PATCH", link_yaml(link), "application/apply-patch+yaml")


def reconciles(record: dict[str, Any]) -> int:
    return sum(1 for event in record.get("events", []) if event.get("operation") == "START")


def validated(record: dict[str, Any]) -> str:
    """The schema stage's line saying how many devices it validated (or its summary)."""
    lines = [line for stage in record.get("stages", []) for line in stage.get("lines", [])]
    counted = [line for line in lines if "validated" in line]
    return (counted or lines or ["(no stage line)"])[-1]


def run(devices: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "fabric"
        generate(project, devices)
        link = topology(devices)[1][-1]
        (project / "in" / f"link.{link[0]}.yaml").unlink()  # created through the API below
        started = time.perf_counter()
        server, url = start(project, "-r", "-s", "--no-watch")
        try:
            first = wait_quiet(url, None)
            first_seconds = time.perf_counter() - started
            apply(url, link)
            created = wait_quiet(url, first["id"])
            last = created["id"]
            empty, changed, cpu_used, details = [], [], [], []
            for repeat in range(repeats):
                began = time.perf_counter()
                apply(url, link)
                call(url + "/choreo/v1/status")
                empty.append(time.perf_counter() - began)
                name, a, _pa, b, pb = link
                moved = (name, a, f"ethernet-1/{90 + repeat % 2}", b, pb)
                began, cpu = time.perf_counter(), cpu_seconds(server.pid)
                apply(url, moved)
                record = wait_quiet(url, last)
                changed.append(time.perf_counter() - began)
                cpu_used.append(cpu_seconds(server.pid) - cpu)
                details.append((reconciles(record), validated(record)))
                last = record["id"]
            time.sleep(1.0)
            settled = latest_run(url)
            extra = settled is not None and settled["id"] != last
        finally:
            server.terminate()
            server.wait(timeout=120)
        restart_seconds, restarted = restart_after_batch(project)
    print(f"N={devices} devices, server mode (-r -s), median of {repeats}", flush=True)
    print(f"  first pass (start to quiet)            {first_seconds:8.2f} s  {reconciles(first)} reconciles")
    print(f"  apply of the unchanged Link (baseline) {statistics.median(empty):8.3f} s")
    median = statistics.median(changed)
    print(f"  one changed Link applied, to quiet     {median:8.3f} s  {median / GOAL:6.1%} of the {GOAL:g} s goal"
          f"  (min {min(changed):.3f}, max {max(changed):.3f})")
    print(f"    CPU time of the server (and its worker) meanwhile: median {statistics.median(cpu_used):.3f} s "
          "(what the wall clock would be on an idle machine, polling included)")
    count, line = details[len(details) // 2]
    print(f"    reconciles {count}; {line}")
    if extra:
        print("  warning: the server recorded another run after the last measured one (it was not quiet yet)")
    share = restart_seconds / first_seconds
    print(f"  restarted on a batch run's state       {restart_seconds:8.2f} s  {share:6.1%} of the first pass; "
          f"reconciles {reconciles(restarted)}; {validated(restarted)}")


def restart_after_batch(project: Path) -> tuple[float, dict[str, Any]]:
    """A ``choreo run -r -s --full`` of the server's state (every reconcile recorded by a batch run), then a
    server started on it, to quiet: what the batch run recorded stands (seconds, the server's first run)."""
    subprocess.run([sys.executable, "-m", "choreo.cli.main", "run", str(project), "-r", "-s", "--full", "-q"],
                   check=True, cwd=REPO)
    started = time.perf_counter()
    server, url = start(project, "-r", "-s", "--no-watch")
    try:
        record = wait_quiet(url, None)
        return time.perf_counter() - started, record
    finally:
        server.terminate()
        server.wait(timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[200])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for devices in args.sizes:
        run(devices, args.repeats)


if __name__ == "__main__":
    main()
