"""Incremental benchmark: re-runs of a generated fabric against its first run, in the same invocation.

The fabric is benchmarks/fabric.py's (N devices, ``choreo run -r -s``). Measured, each in its own process,
wall clock: the first run, a re-run with nothing changed, a run after one Link's port changed (its
interfaces must then be in ``out/``), and a ``--full`` run of that same state. The issue's goals: the
re-run ≤ 5 % and the one-Link change ≤ 10 % of the first run. ``--profile`` prints where the time of the
re-run goes (cProfile, top functions by cumulative time).

    .venv/bin/python -m benchmarks.incremental           # N = 1000
    .venv/bin/python -m benchmarks.incremental 200 --profile
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks.fabric import generate, measure, topology


def choreo_run(project: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "choreo.cli.main", "run", str(project), "-r", "-s", "-q", *extra]


def change_one_port(project: Path, devices: int) -> tuple[str, str]:
    """Move the first endpoint of the last Link to a port no other Link uses: (node, new port)."""
    name, a, pa, _b, _pb = topology(devices)[1][-1]
    path = project / "in" / f"link.{name}.yaml"
    path.write_text(path.read_text().replace(f"{{node: {a}, port: {pa}}}", f"{{node: {a}, port: ethernet-1/99}}"))
    return a, "ethernet-1/99"


def profile(project: Path) -> None:
    profiled = [sys.executable, "-m", "cProfile", "-s", "cumulative", "-m", "choreo.cli.main", *choreo_run(project)[3:]]
    import subprocess

    out = subprocess.run(profiled, capture_output=True, text=True, check=False).stdout
    print("\n".join(out.splitlines()[:60]))


def run(devices: int, with_profile: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "fabric"
        generate(project, devices)
        first = measure(choreo_run(project))
        unchanged = measure(choreo_run(project))
        if with_profile:
            profile(project)
        node, port = change_one_port(project, devices)
        one_link = measure(choreo_run(project))
        in_out = port in (project / "out" / f"{node}.json").read_text()
        full = measure(choreo_run(project, "--full"))
    print(f"N={devices} devices", flush=True)
    for label, m in (
        ("first run", first), ("re-run, nothing changed", unchanged), ("one Link's port changed", one_link),
        ("--full, same state", full),
    ):
        print(f"  {label:<25} {m.seconds:8.2f} s {m.cpu:8.2f} s CPU {m.peak_mib:8.1f} MiB  "
              f"{m.seconds / first.seconds:6.1%} of the first run ({m.cpu / first.cpu:.1%} by CPU)  exit {m.code}")
    print(f"  the changed port is in out/{node}.json: {in_out}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1000])
    parser.add_argument("--profile", action="store_true", help="profile the re-run with nothing changed")
    args = parser.parse_args()
    for devices in args.sizes:
        run(devices, args.profile)


if __name__ == "__main__":
    main()
