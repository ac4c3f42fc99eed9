"""Store-size benchmark: how big ``.choreo/`` gets over a series of CI-like runs of the fabric.

A CI job that gates config changes runs ``choreo run -r -s`` once per change, on the same state folder.
This generates the N-device fabric (benchmarks/fabric.py), runs it once, then runs it again after each of
``--changes`` edits that move one Link to another port, and prints the size of the state folder after each
run. The baseline, measured on the same state, is the size of the objects themselves: every stored object
as compact JSON, what a plain dump of the current state would take. The issue's goal for N=1000 and ten
runs is at most 50 MB.

    .venv/bin/python -m benchmarks.store_size              # N = 200, 9 changes
    .venv/bin/python -m benchmarks.store_size 1000
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: benchmarks/ is importable from the repository root

from benchmarks.fabric import generate, topology  # noqa: E402


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def objects_as_json(store: Path) -> int:
    """Bytes of every stored object as compact JSON (bodies may be stored compressed: unpacked here)."""
    total = 0
    with sqlite3.connect(store) as db:
        for (body,) in db.execute("SELECT body FROM objects"):
            text = zlib.decompress(body).decode() if isinstance(body, bytes) else body
            total += len(json.dumps(json.loads(text), separators=(",", ":")))
    return total


def move_one_link(project: Path, change: int) -> None:
    """Give the ``change``-th link's first endpoint a port no other link uses."""
    links = sorted((project / "in").glob("link.*.yaml"))
    path = links[change % len(links)]
    text = path.read_text()
    path.write_text(re.sub(r"port: ethernet-1/\d+", f"port: ethernet-1/{100 + change}", text, count=1))


def run(devices: int, changes: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "fabric"
        generate(project, devices)
        print(f"N={devices} devices, {len(topology(devices)[1])} links; {changes} one-link changes", flush=True)
        for step in range(changes + 1):
            if step:
                move_one_link(project, step)
            started = time.perf_counter()
            command = [sys.executable, "-m", "choreo.cli.main", "run", str(project), "-r", "-s", "-q"]
            proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
            seconds = time.perf_counter() - started
            if proc.returncode:
                sys.exit(f"run {step} failed:\n{proc.stderr}")
            state = folder_bytes(project / ".choreo")
            objects = objects_as_json(project / ".choreo" / "choreo.db")
            print(
                f"  run {step + 1:2}: {seconds:7.2f} s  .choreo {state / 1e6:8.1f} MB  "
                f"objects as JSON {objects / 1e6:6.1f} MB  ratio {state / objects:5.2f} x",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("devices", nargs="?", type=int, default=200)
    parser.add_argument("--changes", type=int, default=9)
    args = parser.parse_args()
    run(args.devices, args.changes)


if __name__ == "__main__":
    main()
