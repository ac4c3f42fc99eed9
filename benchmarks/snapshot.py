"""Snapshot benchmark: a first run's snapshot of an N-device fabric, now and as an earlier snapshot.py took it.

At the end of a run, ``take_snapshot`` keeps every object whose resourceVersion the stored digests do not
have (on a first run: all of them) in the ``snapshot-objects`` table. This generates the fabric
(benchmarks/fabric.py), runs ``choreo run -r -s`` on it once to get a real store, removes that run's
snapshot rows, and then times ``take_snapshot`` on fresh copies of that store, every object already
decoded as at the end of a run, alternating the current code with ``choreo/results/snapshot.py`` of
``--rev`` over the same store code (by default ``BEFORE_STORED_TEXTS``, the last one that encoded and
compressed every object again). Times are CPU seconds of this process (SQLite works in it; the machine is
shared, wall clock would mostly measure the others). After each round the two copies' record tables are
compared row by row: a speed-up cannot come from storing other bytes.

    .venv/bin/python -m benchmarks.snapshot              # N = 1000, 5 rounds
    .venv/bin/python -m benchmarks.snapshot 3000 --rounds 3
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from benchmarks.baseline import module_from_git
from benchmarks.fabric import generate
from choreo.apiserver.server import APIServer
from choreo.results import snapshot
from choreo.store.sqlite import SqliteBackend

REPO = Path(__file__).resolve().parents[1]
TakeSnapshot = Callable[[APIServer, str], str]
BEFORE_STORED_TEXTS = "52fd010^"
"""The commit before snapshots kept objects as the store holds their text."""


def fabric_store(folder: Path, devices: int) -> Path:
    """The store of a first ``choreo run -r -s`` of the N-device fabric, without its snapshot."""
    project = folder / "fabric"
    generate(project, devices)
    subprocess.run(
        [sys.executable, "-m", "choreo.cli.main", "run", str(project), "-r", "-s"],
        cwd=REPO, check=True, stdout=subprocess.DEVNULL,
    )
    store = project / ".choreo" / "choreo.db"
    with closing(sqlite3.connect(store)) as db, db:
        db.execute("DELETE FROM records WHERE tbl LIKE 'snapshot%'")
    return store


def timed(take: TakeSnapshot, store: Path) -> float:
    """CPU seconds of one snapshot of ``store``, every object decoded beforehand (as at the end of a run)."""
    backend = SqliteBackend(store)
    try:
        api = APIServer(backend)
        with api.transaction():
            objects = sum(1 for _ in api.stored_objects())
            started = time.process_time()
            take(api, "benchmark")
            spent = time.process_time() - started
        assert objects
        return spent
    finally:
        backend.close()


def records(store: Path) -> list[tuple[str, str, object]]:
    with closing(sqlite3.connect(store)) as db:
        return db.execute("SELECT tbl, key, value FROM records ORDER BY tbl, key").fetchall()


def median(times: list[float]) -> float:
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("devices", nargs="?", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rev", default=BEFORE_STORED_TEXTS, help="git revision of the baseline snapshot.py")
    args = parser.parse_args()
    baseline: TakeSnapshot = module_from_git(args.rev, "choreo/results/snapshot.py").take_snapshot
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = fabric_store(folder, args.devices)
        versions: list[tuple[str, TakeSnapshot]] = [(args.rev, baseline), ("current", snapshot.take_snapshot)]
        spent: dict[str, list[float]] = {name: [] for name, _take in versions}
        for round_number in range(args.rounds):
            for name, take in versions[:: 1 if round_number % 2 == 0 else -1]:  # each goes first every other round
                shutil.copyfile(store, folder / f"{name}.db")
                spent[name].append(timed(take, folder / f"{name}.db"))
            assert records(folder / f"{args.rev}.db") == records(folder / "current.db"), "other rows were stored"
        print(f"N={args.devices}: snapshot of a first run, CPU seconds over {args.rounds} rounds (min / median)")
        for name, times in spent.items():
            print(f"  {name:>10}: {min(times):.3f} / {median(times):.3f}")
        print(f"  current / {args.rev} (medians): {median(spent['current']) / median(spent[args.rev]):.2f}")


if __name__ == "__main__":
    main()
