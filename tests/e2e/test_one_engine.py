"""One engine, three places for objects: the same project gives the same objects in every mode.

The upstream-ref example (Greeting kinds, library and reconciler from a pinned local git repository) runs
through ``choreo run`` (the local store), ``choreo server start`` + ``choreo run once`` (choreo's own API),
and ``choreo run start --kubeconfig`` against a choreo server started without the project (any Kubernetes
API). Then one input is removed and the project is loaded again: every mode must clean up the removed
Greeting and garbage-collect the Message it owned, and end with the same objects — the upstream ref's
objects, the stored Reconciler and Library objects and origin annotations included.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import EXAMPLES, choreo, get_json
from tests.e2e.test_server import kubeconfig
from tests.e2e.test_upstream_ref import EXAMPLE_URL, edit_ref
from tests.server.harness import Http, ServerProcess, idle, wait_for

ORIGIN = "api.choreo.kform.dev/origin"
PATHS = {
    "Greeting": "/apis/example.com/v1alpha1/greetings",
    "Message": "/apis/example.com/v1alpha1/messages",
    "UpstreamRef": "/apis/choreo.kform.dev/v1alpha1/upstreamrefs",
    "Reconciler": "/apis/choreo.kform.dev/v1alpha1/reconcilers",
    "Library": "/apis/choreo.kform.dev/v1alpha1/libraries",
}


def essence(obj: dict[str, Any]) -> tuple[Any, ...]:
    """What must agree across modes: identity, spec, origin and what the reconciler wrote (no times, uids)."""
    md = obj["metadata"]
    status = obj.get("status") or {}
    conditions = sorted((c["type"], c["status"], c.get("reason", "")) for c in status.get("conditions") or [])
    return (obj["kind"], md.get("namespace", ""), md["name"], repr(obj.get("spec")),
            (md.get("annotations") or {}).get(ORIGIN), status.get("messageRef"), tuple(conditions))


def _local(project: Path) -> set[tuple[Any, ...]]:
    return {essence(o) for resource in ("greetings", "messages", "upstreamrefs", "reconcilers", "libraries")
            for o in get_json(project, resource)["items"]}


def _served(http: Http) -> set[tuple[Any, ...]]:
    found = set()
    for path in PATHS.values():
        code, listing = http.call("GET", path)
        assert code == 200, listing
        found |= {essence(o) for o in listing["items"]}
    return found


@pytest.fixture
def project(example, tmp_path: Path) -> Path:
    upstream = tmp_path / "upstream"
    subprocess.run([str(EXAMPLES / "upstream-ref" / "make-upstream.sh"), str(upstream)], check=True,
                   capture_output=True)
    folder: Path = example("upstream-ref")
    edit_ref(folder, EXAMPLE_URL, upstream.as_uri())
    return folder


def _remove_dave(project: Path) -> None:
    (project / "in" / "example.com.greeting.dave.yaml").unlink()


def batch(project: Path, _tmp: Path) -> tuple[set, set]:
    assert choreo("run", str(project)).code == 0
    first = _local(project)
    _remove_dave(project)
    assert choreo("run", str(project)).code == 0
    return first, _local(project)


def server_once(project: Path, _tmp: Path) -> tuple[set, set]:
    server = ServerProcess(str(project), "--address", "127.0.0.1:0", "--no-run")
    try:
        url = server.wait_ready()
        assert choreo("run", "once", "--server", url).code == 0
        first = _served(Http(url))
        _remove_dave(project)
        assert choreo("run", "once", "--server", url).code == 0
        return first, _served(Http(url))
    finally:
        server.stop()


def remote(project: Path, tmp: Path) -> tuple[set, set]:
    empty = tmp / "empty"
    empty.mkdir()
    server = ServerProcess(str(empty), "--address", "127.0.0.1:0")
    try:
        url = server.wait_ready()
        config = kubeconfig(tmp / "kubeconfig", url)
        http = Http(url)
        first = _remote_pass(project, config, http, lambda found: any(k[2] == "dave-message" for k in found))
        _remove_dave(project)
        second = _remote_pass(project, config, http, lambda found: not any(k[2] == "dave" for k in found))
        return first, second
    finally:
        server.stop()


def _remote_pass(project: Path, config: Path, http: Http, done: Any) -> set:
    runner = subprocess.Popen(
        [sys.executable, "-m", "choreo.cli.main", "run", "start", "--kubeconfig", str(config), str(project)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_for(lambda: runner.poll() is None and _settled(http, done), "the remote runner to settle")
    except AssertionError:
        runner.kill()
        raise AssertionError(f"the remote runner did not settle: {runner.communicate(timeout=30)[1]}") from None
    runner.terminate()
    _out, err = runner.communicate(timeout=30)
    assert runner.returncode == 0, err
    return _served(http)


def _settled(http: Http, done: Any) -> bool:
    found = {essence(o) for path in PATHS.values() for o in (http.call("GET", path)[1].get("items") or [])}
    greetings = [k for k in found if k[0] == "Greeting"]
    return idle(http) and done(found) and bool(greetings) and all(k[5] for k in greetings)


def test_every_mode_gives_the_same_objects(project: Path, tmp_path: Path) -> None:
    results = {}
    for mode in (batch, server_once, remote):
        copy = tmp_path / mode.__name__
        subprocess.run(["cp", "-r", str(project), str(copy)], check=True)
        work = tmp_path / f"{mode.__name__}-tmp"
        work.mkdir()
        results[mode.__name__] = mode(copy, work)
    first, second = results["batch"]
    assert {k[2] for k in first} >= {"carol", "dave", "carol-message", "dave-message", "greeting",
                                     "example.com.greetings.star"}
    assert {k[2] for k in second} & {"dave", "dave-message"} == set()  # cleaned up, then collected
    assert results["server_once"] == (first, second)
    assert results["remote"] == (first, second)


def test_plugins_against_a_cluster_are_refused_clearly(example, tmp_path: Path) -> None:
    project = example("greeting")
    remote_run = choreo("run", "start", "--kubeconfig", str(tmp_path / "none"), str(project), "-r", "-s")
    assert (remote_run.code, remote_run.err) == (1, (
        "error: -r/-s do not run against a Kubernetes API server yet: run the project with "
        "`choreo run DIR -r -s` or `choreo server start DIR -r -s`\n"))
    on_server = choreo("run", "start", "-r", "--server", "http://127.0.0.1:9")
    assert (on_server.code, on_server.err) == (1, "error: -r/-s are set when the server starts: "
                                                  "`choreo server start DIR -r -s`\n")


def test_a_server_reuses_what_a_batch_run_did_and_the_other_way_round(example) -> None:
    """The state a ``choreo run -r -s`` left is the one a server starts from: nothing is reconciled or validated
    again; and a ``choreo run`` after that server reuses every reconcile too."""
    project = example("fabric")
    first = choreo("run", str(project), "-r", "-s")
    assert first.code == 0 and "\nlink " in first.out, first.err  # the link reconciles ran
    server = ServerProcess(str(project), "-r", "-s", "--address", "127.0.0.1:0")
    try:
        server.wait_ready()
        quiet = wait_for(lambda: server.event("quiet"), "the first pass")
        logged = [line.get("msg", "") for line in server.lines if line.get("event") == "reconciler-log"]
    finally:
        server.terminate()
    assert quiet["reconciles"] == 0 and quiet["success"] is True
    assert sorted(m for m in logged if m.startswith("schema: ")) == [
        f"schema: {device}: unchanged since the last run, not validated again"
        for device in ("leaf1", "leaf2", "spine1", "spine2")]
    again = choreo("run", str(project), "-r", "-s")
    assert again.code == 0, again.err
    for_objects = 4 + 4 + 12  # Nodes (loopback), Links (link), Interfaces (interface-config)
    assert f"reused {for_objects} reconciles whose inputs were unchanged" in again.out
    assert not any(line.startswith(("link ", "loopback ", "interface-config ")) for line in again.out.splitlines())
    assert "schema: 0 device(s) validated, 4 unchanged since the last run" in again.out
