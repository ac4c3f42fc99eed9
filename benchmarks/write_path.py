"""Benchmark: the API write path of a fabric run, replayed on its own, against a baseline revision.

A first ``choreo run -r -s`` spends a third of its time in API writes (server-side apply, managedFields,
OpenAPI and metadata validation, the allocator's admission hooks, the store's encoding), mixed with
Starlark, sockets and the YANG stage. To measure only the writes, this records every API write a run makes
from outside the API server (the loader's inputs, the reconcilers' children and status writes, the stage's
results; what admission hooks write inside them is not recorded, it happens again on replay), then replays
that sequence on a fresh SQLite store, in one transaction as a run does, with a fixed clock and
deterministic uids:

* with the current tree, and
* with ``--rev`` (default ``main``) unpacked by ``git archive`` into a temporary folder,

each in its own processes, alternating, ``--repeat`` processes of ``--rounds`` replays each; the CPU time of
the fastest replay of each is reported. Both must leave byte-identical stores (every object and every watch
event, compared by digest), so a speed-up cannot come from writing something else.

    .venv/bin/python -m benchmarks.write_path            # N = 200 fabric
    .venv/bin/python -m benchmarks.write_path 100 --rev HEAD~2 --repeat 5
    .venv/bin/python -m benchmarks.write_path --profile  # also: cProfile of one replay of the current tree
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
WRITES = ("apply", "apply_status", "create", "update", "delete", "register_crd")
EVENT_HISTORY = "CHOREO_EVENT_HISTORY"
Call = tuple[str, tuple[Any, ...], dict[str, Any], str]  # method, args, keyword args, outcome (error type or "")


# ------------------------------------------------------------------------------------------------ record


def record(project: Path, out: Path) -> None:
    """Run ``choreo run project -r -s`` in this process and pickle its top-level API writes into ``out``."""
    from choreo.apiserver.server import APIServer
    from choreo.cli.main import main

    calls: list[Call] = []
    depth = [0]

    def recording(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: APIServer, *args: Any, **kwargs: Any) -> Any:
            if depth[0]:
                return method(self, *args, **kwargs)
            entry: Call = (name, copy.deepcopy(args), copy.deepcopy(kwargs), "")
            depth[0] += 1
            try:
                result = method(self, *args, **kwargs)
            except Exception as exc:
                calls.append((*entry[:3], type(exc).__name__))
                raise
            finally:
                depth[0] -= 1
            calls.append(entry)
            return result

        return wrapper

    for name in WRITES:
        setattr(APIServer, name, recording(name, getattr(APIServer, name)))
    sys.argv = ["choreo", "run", str(project), "-r", "-s", "-q"]
    try:
        main()
    except SystemExit as done:
        if done.code:
            raise
    out.write_bytes(pickle.dumps(calls))


# ------------------------------------------------------------------------------------------------ replay


def replay(calls_file: Path, profile: Path | None, rounds: int) -> None:
    """Replay the recorded writes ``rounds`` times, each on a fresh store; print the CPU seconds of the fastest
    round (one process, several rounds: the machine is shared) and the digest of what was stored."""
    _freeze_clock()
    os.environ[EVENT_HISTORY] = str(10**9)  # every event stays to be compared (a run's store compacts them)
    calls: list[Call] = pickle.loads(calls_file.read_bytes())
    results = [_replay_once(calls, profile if i == 0 else None) for i in range(rounds)]
    digests = {digest for _seconds, digest in results}
    if len(digests) != 1:
        raise AssertionError("the rounds of one replay stored different things")
    seconds = min(seconds for seconds, _digest in results)
    print(json.dumps({"seconds": seconds, "writes": len(calls), "digest": digests.pop()}))


def _replay_once(calls: list[Call], profile: Path | None) -> tuple[float, str]:
    from choreo.apiserver.server import APIServer
    from choreo.plugins import load_plugin
    from choreo.store.sqlite import SqliteBackend

    with tempfile.TemporaryDirectory() as tmp:
        backend = SqliteBackend(Path(tmp) / "choreo.db")
        uids = iter(range(10**9))
        api = APIServer(backend, clock=lambda: "2024-01-01T00:00:00Z", new_uid=lambda: f"uid-{next(uids):08d}")
        for plugin in ("internal-reconcilers", "schema"):
            load_plugin(plugin).install(api)
        profiler = None
        if profile is not None:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.process_time()
        with api.transaction():
            for name, args, kwargs, outcome in calls:
                try:
                    getattr(api, name)(*args, **kwargs)
                except Exception as exc:
                    if type(exc).__name__ != outcome:
                        raise
                else:
                    if outcome:
                        raise AssertionError(f"{name} raised {outcome} when recorded, nothing on replay")
        seconds = time.process_time() - started
        if profiler is not None and profile is not None:
            profiler.disable()
            profiler.dump_stats(str(profile))
        digest = hashlib.sha256()
        for obj in api.stored_objects():
            digest.update(json.dumps(obj, sort_keys=True).encode())
        for event in backend.events_since(0):
            digest.update(json.dumps([event.type, event.revision, event.object], sort_keys=True).encode())
        backend.close()
    return seconds, digest.hexdigest()


def _freeze_clock() -> None:
    """Every timestamp the API server or a plug-in (through ``plugin_api.utc_now``) makes is the same one."""
    from datetime import datetime

    from choreo.apiserver import server

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Frozen:
            return cls(2024, 1, 1, tzinfo=tz)

    server.datetime = Frozen  # type: ignore[misc]


# ------------------------------------------------------------------------------------------------ driver


def _python(tree: Path, *args: str) -> str:
    """This script (of the current tree, whatever ``tree`` is) run with ``tree``'s choreo on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, __file__, *args], cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{tree}: {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("devices", nargs="?", type=int, default=200)
    parser.add_argument("--rev", default="main", help="baseline revision (default: main)")
    parser.add_argument("--repeat", type=int, default=3, help="replay processes per tree, alternating")
    parser.add_argument("--rounds", type=int, default=3, help="replays in each process (its fastest counts)")
    parser.add_argument("--profile", action="store_true", help="write write_path.prof (current tree) here")
    parser.add_argument("--record", nargs=2, metavar=("PROJECT", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--replay", metavar="CALLS", help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.record:
        record(Path(args.record[0]), Path(args.record[1]))
        return
    if args.replay:
        replay(Path(args.replay), Path(args.profile_to) if args.profile_to else None, args.rounds)
        return

    from benchmarks.fabric import generate

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        generate(work / "fabric", args.devices)
        calls = work / "calls.pickle"
        _python(REPO, "--record", str(work / "fabric"), str(calls))
        base = work / "base"
        base.mkdir()
        archive = subprocess.run(["git", "archive", args.rev], cwd=REPO, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        best: dict[str, float] = {}
        digests: dict[str, str] = {}
        writes = 0
        for _ in range(args.repeat):
            for label, tree in ((args.rev, base), ("current", REPO)):
                result = json.loads(_python(tree, "--replay", str(calls), "--rounds", str(args.rounds)))
                best[label] = min(best.get(label, float("inf")), result["seconds"])
                digests[label] = result["digest"]
                writes = result["writes"]
        if args.profile:
            _python(REPO, "--replay", str(calls), "--rounds", "1", "--profile-to", str(Path.cwd() / "write_path.prof"))
    print(f"N={args.devices}: {writes} recorded API writes, replayed on a fresh store (best of {args.repeat}, CPU s)")
    for label, seconds in best.items():
        print(f"  {label:<10} {seconds:7.3f} s  {seconds / writes * 1e6:7.1f} us/write")
    print(f"  ratio current/{args.rev}: {best['current'] / best[args.rev]:.2f}")
    same = digests["current"] == digests[args.rev]
    print(f"  stored objects and events identical: {'yes' if same else 'NO'}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
