"""Benchmark: ``choreo run`` overhead on the hello-world example.

Reports, as the median of N runs, the execution time the run summary prints (first to last reconcile
event, the number the Go reference reports as about 12 ms for its hello-world) and the whole-process
time of ``choreo run``. The baseline measured in the same run is the whole-process time of
``python -c pass`` with the same interpreter, so the interpreter start-up cost can be read off.

Usage: .venv/bin/python -m benchmarks.hello_world [--runs 7]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "hello-world"
_UNITS = {"ns": 1e-9, "µs": 1e-6, "ms": 1e-3, "s": 1.0}


def parse_go_duration(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(ns|µs|ms|s)", text)
    if not match:
        raise ValueError(f"unexpected duration {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    baseline, execution, process, fresh = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            project = Path(tmp) / f"hw{i}"
            shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".choreo"))
            baseline.append(timed([sys.executable, "-c", "pass"])[0])
            cmd = [sys.executable, "-m", "choreo.cli.main", "run", str(project)]
            wall, out = timed(cmd)  # first run: empty state
            fresh.append(wall)
            wall, out = timed(cmd)  # second run: existing state, the usual edit-run loop
            process.append(wall)
            line = next(x for x in out.splitlines() if x.startswith("execution success"))
            execution.append(parse_go_duration(line.rsplit(" ", 1)[1]))
    ms = lambda values: f"{statistics.median(values) * 1000:8.1f} ms"  # noqa: E731
    print(f"hello-world, median of {args.runs} runs")
    print(f"  execution time (summary)          {ms(execution)}   (Go reference: ~12 ms)")
    print(f"  choreo run, existing state        {ms(process)}")
    print(f"  choreo run, first run             {ms(fresh)}")
    print(f"  baseline: python -c pass          {ms(baseline)}")
    print(f"  choreo run / baseline             {statistics.median(process) / statistics.median(baseline):8.1f} x")


if __name__ == "__main__":
    main()
