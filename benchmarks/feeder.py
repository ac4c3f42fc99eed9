"""Feeder benchmark: how long an edit of a served project's ``in/`` takes to reach the server's objects.

Issue 14's goal: an edited file in ``in/`` is served within a second, without a restart. Measured against a
real ``choreo server start`` process on the greeting example (plus N extra greetings), in one invocation:

* baseline: ``POST /choreo/v1/run/load`` — the same load path, asked for over HTTP (no watching, no debounce);
* feeder: from writing ``in/example.com.greeting.alice.yaml`` until a GET of alice shows the new value
  (polled every 10 ms); this adds the watch latency and the burst gathering (``DEBOUNCE_MS``) to the load.

Each is repeated and the median printed, with the feeder's share of the one-second goal.

    .venv/bin/python -m benchmarks.feeder          # N = 0
    .venv/bin/python -m benchmarks.feeder 500
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "greeting"
ALICE = "/apis/example.com/v1alpha1/namespaces/default/greetings/alice"
GOAL = 1.0  # seconds


def call(url: str, method: str = "GET") -> dict:
    request = urllib.request.Request(url, data=b"{}" if method == "POST" else None, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def start(project: Path, *options: str) -> tuple[subprocess.Popen[str], str]:
    """A ``choreo server start PROJECT [OPTIONS]`` on a free port, once it has loaded and listens; and its URL."""
    server = subprocess.Popen(
        [sys.executable, "-m", "choreo.cli.main", "server", "start", str(project), *options,
         "--address", "127.0.0.1:0", "--log-format", "json"],
        stderr=subprocess.PIPE, text=True, cwd=EXAMPLE.parents[1],
    )
    assert server.stderr is not None
    for line in server.stderr:
        event = json.loads(line)
        if event.get("event") == "listening":
            url = f"http://{event['address']}"
        if event.get("event") == "ready":
            drain_log(server)
            return server, url
    raise SystemExit("the server did not start")


def drain_log(server: subprocess.Popen[str]) -> None:
    """Keep reading the server's log so that it never blocks on a full pipe."""
    assert server.stderr is not None
    stream = server.stderr
    threading.Thread(target=lambda: [None for _ in stream], daemon=True).start()


def edit_and_wait(project: Path, url: str, name: str) -> float:
    source = project / "in" / "example.com.greeting.alice.yaml"
    head, _spec, _rest = source.read_text().partition("spec:\n")
    started = time.perf_counter()
    source.write_text(f"{head}spec:\n  name: {name}\n  language: fr\n")
    deadline = started + 60
    while call(url + ALICE)["spec"]["name"] != name:
        if time.perf_counter() > deadline:
            raise SystemExit(f"the edit ({name}) was not served within 60 s")
        time.sleep(0.01)
    return time.perf_counter() - started


def run(extra: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "greeting"
        shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".choreo"))
        for i in range(extra):
            (project / "in" / f"g{i:04}.yaml").write_text(
                f"apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata:\n  name: g{i:04}\nspec:\n"
                f"  name: Person {i}\n"
            )
        server, url = start(project)
        try:
            loads = []
            for _ in range(repeats):
                started = time.perf_counter()
                call(url + "/choreo/v1/run/load", "POST")
                loads.append(time.perf_counter() - started)
            feeds = [edit_and_wait(project, url, f"Alice{i}") for i in range(repeats)]
        finally:
            server.terminate()
            server.wait(timeout=60)
    load, feed = statistics.median(loads), statistics.median(feeds)
    print(f"greeting + {extra} greetings, median of {repeats}")
    print(f"  run load over HTTP (baseline)   {load:7.3f} s")
    print(f"  edit in/ until served (feeder)  {feed:7.3f} s  {feed / GOAL:6.1%} of the {GOAL:g} s goal, "
          f"{feed - load:+.3f} s over the baseline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("extra", nargs="?", type=int, default=0, help="extra greetings in in/")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    run(args.extra, args.repeats)


if __name__ == "__main__":
    main()
