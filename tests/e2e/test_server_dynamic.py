"""Dynamic mode (``choreo server start`` without a folder, ``choreo server apply URL DIR REF [BRANCH]``) as an
operator meets it, with the real CLI and a local git repository: a restart whose saved context does not load
(or cannot be checked out) keeps the server up as static mode does; a switch that fails keeps the previous
context served at the commit it was at; a stop signal does not wait for a clone or fetch that hangs and leaves
no half clone; the uncommitted inputs of a development branch survive restarts and refused switches; the
served clone folder is locked as a static server's folder is; a ref or URL names what the repository has."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import CAROL, choreo
from tests.server.harness import (
    WAIT,
    Http,
    ServerProcess,
    commit_all,
    git,
    greeting_repository,
    idle,
    wait_for,
)

NS = "/apis/example.com/v1alpha1/namespaces/default"
CAROLYN = {"apiVersion": "example.com/v1alpha1", "kind": "Greeting",
           "metadata": {"name": "carol", "namespace": "default"}, "spec": {"name": "Carolyn"}}


def _clone(workspace: Path, repo: Path) -> Path:
    return workspace / str(repo).strip("/").replace("/", "-")


IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}  # for ``choreo run commit``


def _server(workspace: Path, env: dict[str, str] | None = None) -> ServerProcess:
    return ServerProcess("--address", "127.0.0.1:0", "--workspace", str(workspace), env={**IDENTITY, **(env or {})})


def _apply(url: str, *args: str) -> tuple[int, str]:
    result = choreo("server", "apply", *args, "--server", url)
    return result.code, (result.out if result.code == 0 else result.err).strip()


def _context(url: str) -> list[str]:
    return choreo("server", "get", "--server", url).out.splitlines()


@pytest.mark.parametrize("branch", ["", "feature"], ids=["production", "development"])
def test_a_restart_whose_saved_context_does_not_load_serves_the_store_until_it_does(
    tmp_path: Path, branch: str
) -> None:
    """As static mode: the server comes up serving the store as the previous one left it, says why (log,
    ``server get``, ``/readyz``, ``run result``), allows writes only to the client's objects, and loads the
    folder once the object that blocks it is deleted; never an exit at boot."""
    repo, workspace = greeting_repository(tmp_path), tmp_path / "ws"
    first = _server(workspace)
    try:
        url = first.wait_ready()
        http = Http(url)
        assert _apply(url, str(repo), "proj", "v1", *([branch] if branch else []))[0] == 0
        assert http.call("POST", f"{NS}/greetings", CAROLYN)[0] == 201
        if not branch:
            wait_for(lambda: http.call("GET", f"{NS}/messages/carol-message")[0] == 200 and idle(http),
                     "carol's message")
        assert first.terminate() == 0
    finally:
        first.stop()
    # while no server runs, a file naming carol is added to the served clone (the development workflow: edit in/)
    (_clone(workspace, repo) / "proj" / "in" / "carol.yaml").write_text(CAROL)

    server = _server(workspace)
    try:
        url = server.wait_ready()
        http = Http(url)
        [failed] = [line for line in server.lines if line.get("level") == "error"]
        assert failed["event"] == "load-failed"
        refusal = failed["error"]
        assert refusal.startswith("in/carol.yaml: Greeting.example.com default/carol was created through the API")
        assert server.event("serving-stored") is not None
        name = f"{repo} proj v1" + (f" (branch {branch})" if branch else "")
        assert _context(url) == [f"choreoctx: {name}", "status: Stopped", f"reason: {refusal}"]
        assert http.call("GET", "/readyz") == (503, f"not ready: the project folder does not load: {refusal}\n")
        result = choreo("run", "result", "--server", url)
        assert result.code == 1 and refusal in result.out + result.err
        assert http.call("GET", f"{NS}/greetings/carol")[1]["spec"]["name"] == "Carolyn"
        assert http.call("POST", f"{NS}/greetings", {**CAROLYN, "metadata": {"name": "dave"}})[0] == 503
        code, listed = http.call("GET", f"{NS}/greetings")
        assert code == 200 and [g["metadata"]["name"] for g in listed["items"]] == ["alice", "bob", "carol"]

        carol = http.call("GET", f"{NS}/greetings/carol")[1]
        if carol["metadata"].get("finalizers"):  # its reconciler's; no reconciler runs to remove it meanwhile
            patch = {"metadata": {"finalizers": None}}
            assert http.call("PATCH", f"{NS}/greetings/carol", patch,
                             content_type="application/merge-patch+json")[0] == 200
        assert http.call("DELETE", f"{NS}/greetings/carol")[0] == 200
        wait_for(lambda: http.call("GET", "/readyz") == (200, "ok"), "the folder to load once carol is deleted")
        assert http.call("GET", f"{NS}/greetings/carol")[1]["spec"]["name"] == "Carol"  # the file's now
        if branch:  # development: loaded, not run (``choreo run once`` runs it)
            assert http.call("GET", "/choreo/v1/status")[1]["status"] == "Stopped"
        else:  # production: reconciled from then on
            wait_for(lambda: http.call("GET", "/choreo/v1/status")[1]["status"] == "Running", "the runner")
            wait_for(lambda: "Carol" in str(http.call("GET", f"{NS}/messages/carol-message")[1]), "carol's message")
        assert server.terminate() == 0
    finally:
        server.stop()


@pytest.mark.parametrize("damage", ["clone-and-upstream-gone", "context-unreadable"])
def test_a_saved_context_that_cannot_be_checked_out_leaves_the_server_waiting_for_an_apply(
    tmp_path: Path, damage: str
) -> None:
    repo, workspace = greeting_repository(tmp_path), tmp_path / "ws"
    first = _server(workspace)
    try:
        assert _apply(first.wait_ready(), str(repo), "proj", "v1")[0] == 0
        assert first.terminate() == 0
    finally:
        first.stop()
    if damage == "context-unreadable":
        (workspace / "context.json").write_text("{not json")
        why = f"{workspace / 'context.json'}: unreadable server context"
    else:
        shutil.rmtree(_clone(workspace, repo))
        shutil.move(repo, tmp_path / "moved")
        repo = tmp_path / "moved"
        why = f"git clone failed: repository '{tmp_path / 'repo'}' does not exist"

    server = _server(workspace)
    try:
        url = server.wait_ready()
        which = "" if damage == "context-unreadable" else f" ({tmp_path / 'repo'} proj v1)"
        said = f"the context saved by the previous server{which} cannot be served: {why}"
        [failed] = [line for line in server.lines if line.get("level") == "error"]
        assert failed["event"] == "context-failed" and failed["error"].startswith(said)
        choreoctx, status, reason = _context(url)
        assert (choreoctx, status) == ("choreoctx: ", "status: Stopped") and reason.startswith(f"reason: {said}")
        code, text = Http(url).call("GET", "/readyz")
        assert code == 503 and said in text
        assert _apply(url, str(repo), "proj", "v1")[0] == 0  # the way out
        assert _context(url)[:2] == [f"choreoctx: {repo} proj v1", "status: Running"]
    finally:
        server.stop()


def test_a_switch_that_does_not_load_keeps_the_previous_context_at_its_commit(tmp_path: Path) -> None:
    """The previous context is served again as it was: the commit it served, not what its ref names upstream
    by now; and applying a branch again serves what upstream has on it now (not the clone's stale branch)."""
    repo, workspace = greeting_repository(tmp_path), tmp_path / "ws"
    v1 = git(repo, "rev-parse", "HEAD")
    server = _server(workspace)
    try:
        url = server.wait_ready()
        http = Http(url)
        assert _apply(url, str(repo), "proj", "main")[0] == 0
        assert http.call("POST", f"{NS}/greetings", CAROLYN)[0] == 201
        (repo / "proj" / "in" / "carol.yaml").write_text(CAROL)
        commit_all(repo, "v2")  # main moves upstream too

        code, said = _apply(url, str(repo), "proj", "v2")
        assert code == 1
        assert said.startswith("error: in/carol.yaml: Greeting.example.com default/carol was created through the API")
        assert _context(url) == [f"choreoctx: {repo} proj main", "status: Running", "reason: "]
        assert git(_clone(workspace, repo), "rev-parse", "HEAD") == v1
        assert not (_clone(workspace, repo) / "proj" / "in" / "carol.yaml").exists()
        assert http.call("GET", "/readyz") == (200, "ok")
        assert json.loads((workspace / "context.json").read_text())["commit"] == v1

        # another folder of the repository, that does not load: the previous one is served again too
        shutil.copytree(repo / "proj", repo / "broken")
        bad = "apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata: [\n"
        (repo / "broken" / "in" / "bad.yaml").write_text(bad)
        v3 = commit_all(repo, "broken")  # main again
        code, said = _apply(url, str(repo), "broken", "broken")
        assert code == 1 and said.startswith("error: in/bad.yaml"), said
        assert _context(url) == [f"choreoctx: {repo} proj main", "status: Running", "reason: "]
        assert git(_clone(workspace, repo), "rev-parse", "HEAD") == v1
        assert http.call("GET", "/readyz") == (200, "ok")

        assert http.call("DELETE", f"{NS}/greetings/carol")[0] == 200
        assert _apply(url, str(repo), "proj", "main")[0] == 0  # main as upstream has it now
        assert git(_clone(workspace, repo), "rev-parse", "HEAD") == v3
        wait_for(lambda: http.call("GET", f"{NS}/greetings/carol")[0] == 200, "carol from the file at v2")
    finally:
        server.stop()


def test_bad_urls_refs_and_folders_are_one_clear_error_each(tmp_path: Path) -> None:
    repo, workspace = greeting_repository(tmp_path), tmp_path / "ws"
    server = _server(workspace)
    try:
        url = server.wait_ready()
        assert _apply(url, str(repo), "proj", "v1")[0] == 0
        for args, said in [
            ((str(tmp_path / "nope"), "proj", "v1"),
             f"error: git clone failed: repository '{tmp_path / 'nope'}' does not exist"),
            (("nope", "proj", "v1"), "error: 'nope' is not a repository URL (https://, ssh://, git://, file://, "
             "user@host:path or an absolute path)"),
            ((str(repo), "proj", "v9"), f"error: v9: no such commit, tag or branch in {repo}"),
            ((str(repo), "nofolder", "v1"), f"error: nofolder: no such folder in {repo} at v1"),
            ((str(repo), "../..", "v1"), f"error: ../..: no such folder in {repo} at v1"),
            ((str(repo), "proj", "v1", "bad..name"), "error: 'bad..name' is not a valid git branch name: it contains "
             "'..', '@{' or '//', or is '@'"),
        ]:
            assert _apply(url, *args) == (1, said)
        assert _context(url) == [f"choreoctx: {repo} proj v1", "status: Running", "reason: "]
        assert not [path.name for path in workspace.iterdir() if path.name.startswith(".")]  # no clone left half-made
        git(repo, "branch", "gone")
        assert _apply(url, str(repo), "proj", "gone")[0] == 0
        git(repo, "branch", "-D", "gone")  # deleted upstream: no longer served as the clone last saw it
        assert _apply(url, str(repo), "proj", "gone") == (1, f"error: gone: no such commit, tag or branch in {repo}")
        git(repo, "checkout", "-q", "-b", "trunk")
        git(repo, "branch", "-D", "main")  # the clone's own main (made with it) is no stand-in
        assert _apply(url, str(repo), "proj", "main") == (1, f"error: main: no such commit, tag or branch in {repo}")
        assert _apply(url, str(repo), "proj", "trunk")[0] == 0
    finally:
        server.stop()


def test_uncommitted_inputs_of_a_development_branch_survive_restarts_and_refused_switches(tmp_path: Path) -> None:
    repo, workspace = greeting_repository(tmp_path), tmp_path / "ws"
    server = _server(workspace)
    try:
        url = server.wait_ready()
        assert _apply(url, str(repo), "proj", "v1", "feature")[0] == 0
        alice = _clone(workspace, repo) / "proj" / "in" / "example.com.greeting.alice.yaml"
        edited = alice.read_text().replace("Alice", "Alicia")
        alice.write_text(edited)
        assert server.terminate() == 0
    finally:
        server.stop()
    server = _server(workspace)
    try:
        url = server.wait_ready()
        assert alice.read_text() == edited  # the restart served the branch as it is
        assert Http(url).call("GET", f"{NS}/greetings/alice")[1]["spec"]["name"] == "Alicia"
        assert _apply(url, str(repo), "proj", "v1", "feature")[0] == 0  # the same context again: nothing to do
        assert alice.read_text() == edited
        assert _apply(url, str(repo), "nofolder", "v1")[0] == 1
        code, said = _apply(url, str(repo), "proj", "v1")
        assert (code, said) == (1, "error: branch feature has changes that were not committed "
                                f"(proj/in/example.com.greeting.alice.yaml): `choreo run commit MSG` them, or "
                                f"`choreo branch stash` them, before switching to {repo} proj v1")
        assert alice.read_text() == edited
        assert _context(url)[0] == f"choreoctx: {repo} proj v1 (branch feature)"
        assert choreo("run", "commit", "Alicia", "--server", url).code == 0
        assert _apply(url, str(repo), "proj", "v1")[0] == 0  # committed (on the branch, in the clone): free to go
    finally:
        server.stop()


HANGING_GIT = """#!/bin/sh
for arg in "$@"; do
  if [ "$arg" = "$HANG_ON" ]; then touch "$HANGING"; exec sleep 3600; fi
done
exec {git} "$@"
"""


@pytest.mark.parametrize(("hang_on", "signum"), [("clone", signal.SIGTERM), ("fetch", signal.SIGINT),
                                                 ("clone", signal.SIGHUP)])
def test_a_stop_signal_during_a_clone_or_fetch_ends_git_and_leaves_the_workspace_as_it_was(
    tmp_path: Path, hang_on: str, signum: signal.Signals
) -> None:
    """git that hangs (an upstream that never answers) is ended with the server, not awaited; no half clone is
    left for a restart to trust, and the context saved before is served again."""
    repo, workspace = greeting_repository(tmp_path), tmp_path / "ws"
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "git").write_text(HANGING_GIT.format(git=shutil.which("git")))
    (fake / "git").chmod(0o755)
    hanging = tmp_path / "hanging"
    env = {"PATH": f"{fake}{os.pathsep}{os.environ['PATH']}", "HANG_ON": hang_on, "HANGING": str(hanging)}
    server = _server(workspace, env)
    try:
        url = server.wait_ready()
        if hang_on == "fetch":  # a first apply clones: the second one fetches
            assert _apply(url, str(repo), "proj", "v1")[0] == 0
        apply = [sys.executable, "-m", "choreo.cli.main", "server", "apply", str(repo), "proj", "main", "--server", url]
        applying = subprocess.Popen(apply, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(hanging.exists, f"git {hang_on} to hang")
        server.proc.send_signal(signum)
        assert server.proc.wait(timeout=WAIT) == 0
        err = applying.communicate(timeout=WAIT)[1]
        assert applying.returncode == 1 and err.count("\n") == 1 and "Traceback" not in err, err
        abandoned = server.event("context-abandoned")
        assert abandoned is not None and abandoned["context"] == f"{repo} proj main"
    finally:
        server.stop()
    assert not [path.name for path in workspace.iterdir() if path.name.startswith(".")]  # no half clone
    if hang_on == "clone":
        assert sorted(path.name for path in workspace.iterdir()) == ["choreo.lock"]
    restarted = _server(workspace)
    try:
        url = restarted.wait_ready()
        expected = f"{repo} proj v1" if hang_on == "fetch" else ""
        assert _context(url)[0] == f"choreoctx: {expected}"
        assert _apply(url, str(repo), "proj", "main")[0] == 0
    finally:
        restarted.stop()


def test_the_served_clone_folder_is_locked_as_a_static_server_locks_its_folder(tmp_path: Path) -> None:
    """A static server or a batch run of the clone's project folder would write the store the dynamic server
    writes: both stop at once, naming it (one writer per folder)."""
    repo, workspace = greeting_repository(tmp_path), tmp_path / "ws"
    server = _server(workspace)
    try:
        url = server.wait_ready()
        assert _apply(url, str(repo), "proj", "v1")[0] == 0
        folder = _clone(workspace, repo) / "proj"
        static = choreo("server", "start", str(folder), "--address", "127.0.0.1:0")
        served = f"{folder}: already served by another choreo server (process {server.proc.pid}, listening on "
        assert static.code == 1 and static.err.strip().splitlines()[-1].startswith(f"error: {served}")
        batch = choreo("run", str(folder))
        assert batch.code == 1
        said = batch.err.strip().splitlines()[-1]
        assert said.endswith(f"run it there: `choreo run --server {url}`, or stop the server")
        assert server.terminate() == 0
    finally:
        server.stop()


def test_a_stop_ends_the_wait_for_a_batch_run_of_the_applied_folder(tmp_path: Path) -> None:
    """An apply whose folder a ``choreo run`` is running waits for it, saying so; a stop signal ends the wait."""
    import fcntl

    repo, workspace = greeting_repository(tmp_path), tmp_path / "ws"
    other = tmp_path / "other"
    shutil.copytree(repo, other)  # another URL, another clone
    server = _server(workspace)
    try:
        url = server.wait_ready()
        assert _apply(url, str(other), "proj", "v1")[0] == 0
        assert _apply(url, str(repo), "proj", "v1")[0] == 0
        with open(_clone(workspace, other) / "proj" / ".choreo" / "choreo.lock", "r+") as held:
            fcntl.flock(held, fcntl.LOCK_EX)  # as a batch run of that folder holds it
            held.truncate()
            held.write(json.dumps({"role": "run", "pid": os.getpid(), "started": "now"}))
            held.flush()
            apply = [sys.executable, "-m", "choreo.cli.main", "server", "apply", str(other), "proj", "v1",
                     "--server", url]
            applying = subprocess.Popen(apply, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            wait_for(lambda: server.event("waiting"), "the apply to wait for the batch run")
            assert server.terminate() == 0
            assert applying.wait(timeout=WAIT) == 1
    finally:
        server.stop()


def test_two_urls_that_name_one_clone_folder_do_not_serve_each_other(tmp_path: Path) -> None:
    """``a-b/c`` and ``a/b-c`` give one clone folder (the reference's naming): the second URL is refused, not
    served from the first one's clone under its name."""
    (tmp_path / "a-b").mkdir()
    first = greeting_repository(tmp_path / "a-b")
    second = tmp_path / "a" / "b-repo"
    shutil.copytree(first, second)
    assert _clone(tmp_path, first) == _clone(tmp_path, second)
    workspace = tmp_path / "ws"
    server = _server(workspace)
    try:
        url = server.wait_ready()
        assert _apply(url, str(first), "proj", "v1")[0] == 0
        assert _apply(url, str(second), "proj", "v1") == (1, (
            f"error: {second}: its clone would be {_clone(workspace, second)}, which holds a clone of {first} (both "
            f"URLs give that folder's name): serve {second} from another --workspace"))
        assert _context(url)[0] == f"choreoctx: {first} proj v1"
    finally:
        server.stop()
