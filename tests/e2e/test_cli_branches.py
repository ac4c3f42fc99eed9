"""choreoctl's version-control workflow through the real CLI, with real git on local repositories only:
``branch get|create|delete|checkout|stash|diff|merge``, ``run commit MSG`` and ``run push`` — on a project
folder, and on the clone a dynamic server serves (development and production contexts)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import CAROL, EXAMPLES, choreo
from tests.e2e.test_completion import complete
from tests.server.harness import ServerProcess

IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in IDENTITY.items():
        monkeypatch.setenv(name, value)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env={**os.environ, **IDENTITY})
    return done.stdout.strip()


@pytest.fixture
def published(tmp_path: Path) -> tuple[Path, Path]:
    """A bare 'origin' holding the greeting example as ``proj/`` on main, and a clone of it to work in."""
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(origin), str(work)], check=True, capture_output=True)
    shutil.copytree(EXAMPLES / "greeting", work / "proj", ignore=shutil.ignore_patterns(".choreo"))
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "greeting")
    git(work, "push", "-q", "origin", "main")
    return origin, work / "proj"


def test_branch_commit_push_diff_merge_on_a_project_folder(published, tmp_path: Path) -> None:
    origin, project = published
    at = ("-C", str(project))
    assert choreo("branch", "get", *at).out == "* main\n"
    created = choreo("branch", "create", "dev", *at)
    assert created.out == f"created branch dev at {git(project, 'rev-parse', '--short', 'HEAD')}\n"
    assert choreo("branch", "get", *at).out == "  dev\n* main\n"
    assert choreo("branch", "checkout", "dev", *at).out == "checked out branch dev\n"

    assert choreo("apply", "-", *at, stdin=CAROL).code == 0
    (project.parent / "notes.txt").write_text("not an input\n")
    committed = choreo("run", "commit", "add carol", *at)
    assert committed.code == 0, committed.err
    head = git(project, "rev-parse", "--short", "HEAD")
    assert committed.out == f"committed {head} on dev: add carol\n"
    assert git(project, "show", "--name-only", "--format=", "HEAD").splitlines() == [
        "proj/in/example.com.greeting.carol.yaml"
    ]
    assert git(project, "status", "--porcelain") == "?? notes.txt"  # outside in/: neither added nor committed
    again = choreo("run", "commit", "again", *at)
    assert (again.code, again.err) == (1, "error: run commit: nothing to commit: in/ has no changes\n")

    pushed = choreo("run", "push", *at)
    assert (pushed.code, pushed.out) == (0, f"pushed dev to {origin}\n"), pushed.err
    assert git(origin, "rev-parse", "--short", "dev") == head
    assert choreo("branch", "get", "dev", *at).out.splitlines()[0].endswith(" add carol")
    assert choreo("branch", "diff", "main", "dev", *at).out == "A in/example.com.greeting.carol.yaml\n"

    assert choreo("branch", "checkout", "main", *at).code == 0
    assert not (project / "in" / "example.com.greeting.carol.yaml").exists()
    refused = choreo("branch", "merge", "dev", "other", *at)
    assert refused.err == "error: no branch other (branches: dev, main)\n"
    merged = choreo("branch", "merge", "dev", "main", *at)
    assert merged.out == "merged dev into main\n", merged.err
    assert (project / "in" / "example.com.greeting.carol.yaml").exists()
    assert choreo("branch", "merge", "dev", "main", *at).out == "main already contains dev\n"
    assert choreo("run", str(project)).code == 0  # the merged project runs

    current = choreo("branch", "delete", "main", *at)
    assert current.err == "error: branch main is checked out: check out another branch before deleting it\n"
    assert choreo("branch", "delete", "dev", *at).out == "deleted branch dev\n"
    assert choreo("branch", "get", *at).out == "* main\n"
    assert git(origin, "rev-parse", "--short", "dev") == head  # the pushed branch stays on the remote


def test_stash_keeps_the_changes_it_puts_away(published) -> None:
    _, project = published
    at = ("-C", str(project))
    alice = project / "in" / "example.com.greeting.alice.yaml"
    original = alice.read_text()
    assert choreo("run", str(project)).code == 0  # the store in .choreo/ is not put away with the changes
    alice.write_text(original.replace("alice", "alicia"))
    wrong = choreo("branch", "stash", "dev", *at)
    assert wrong.code == 1 and wrong.err == "error: no branch dev (branches: main)\n"
    stashed = choreo("branch", "stash", "main", *at)
    assert stashed.out.startswith("stashed the uncommitted changes of main"), stashed.err
    assert alice.read_text() == original
    assert choreo("get", "greetings", "alice", "-C", str(project), "-o", "name").out == "greeting.example.com/alice\n"
    assert choreo("branch", "stash", "main", *at).out == "branch main has no uncommitted changes\n"
    git(project, "stash", "pop", "-q")
    assert "alicia" in alice.read_text()


def test_a_conflicting_merge_merges_nothing(published) -> None:
    _, project = published
    at = ("-C", str(project))
    alice = project / "in" / "example.com.greeting.alice.yaml"
    assert choreo("branch", "create", "dev", *at).code == 0
    alice.write_text(alice.read_text().replace("alice", "main-alice"))
    assert choreo("run", "commit", "on main", *at).code == 0
    assert choreo("branch", "checkout", "dev", *at).code == 0
    alice.write_text(alice.read_text().replace("alice", "dev-alice"))
    assert choreo("run", "commit", "on dev", *at).code == 0
    before = git(project, "rev-parse", "HEAD")
    conflict = choreo("branch", "merge", "main", "dev", *at)
    assert conflict.code == 1
    assert conflict.err == (
        "error: merging main: conflicts in proj/in/example.com.greeting.alice.yaml; nothing was merged\n"
    )
    assert git(project, "rev-parse", "HEAD") == before
    assert git(project, "status", "--porcelain") == ""
    assert "dev-alice" in alice.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("branch", "create", "../x"),
         "'../x' is not a valid git branch name: it contains '..', '@{' or '//', or is '@'"),
        (("branch", "create", "--", "-x"), "'-x' is not a valid git branch name: it starts with '-'"),
        (("branch", "create", "main"), "branch main already exists"),
        (("branch", "checkout", "nope"), "no branch nope (branches: main)"),
        (("branch", "diff", "main", "x y"), "'x y' is not a valid git branch name: it contains a space, a control "
                                            "character or one of ~ ^ : ? * [ \\"),
    ],
)
def test_bad_branch_names_are_one_line(published, args: tuple[str, ...], message: str) -> None:
    _, project = published
    result = choreo(*args[:2], "-C", str(project), *args[2:])
    assert (result.code, result.out, result.err) == (1, "", f"error: {message}\n")
    assert git(project, "branch", "--list", "--format=%(refname:short)") == "main"


def test_detached_head_outside_git_and_a_refused_remote(published, tmp_path: Path) -> None:
    _, project = published
    at = ("-C", str(project))
    git(project, "checkout", "-q", "--detach")
    detached = choreo("run", "commit", "x", *at)
    assert detached.err == "error: run commit: HEAD is detached, on no branch: `choreo branch checkout NAME` first\n"
    git(project, "checkout", "-q", "main")
    git(project, "remote", "set-url", "origin", "ext::sh -c touch% /tmp/pwned")
    refused = choreo("run", "push", *at)
    assert refused.code == 1
    assert "git transport helpers (<transport>::<address>) are not allowed" in refused.err
    plain = tmp_path / "plain"
    shutil.copytree(EXAMPLES / "greeting", plain)
    outside = choreo("branch", "get", "-C", str(plain))
    assert outside.code == 1 and "not in a git work tree" in outside.err and "Traceback" not in outside.err


def test_help_and_completion_of_the_version_control_commands(published) -> None:
    _, project = published
    git(project, "branch", "dev")
    assert {"branch"} <= set(complete("choreo "))
    assert {"commit", "push"} <= set(complete("choreo run "))
    assert complete("choreo branch ") == ["checkout", "create", "delete", "diff", "get", "merge", "stash"]
    assert complete("choreo branch checkout ", cwd=project) == ["dev", "main"]
    assert complete("choreo branch diff main d", cwd=project) == ["dev"]
    assert "Commit the changes of the project's in/ folder" in choreo("run", "commit", "--help").out


def test_on_a_server_development_commits_and_pushes_production_refuses(published, tmp_path: Path) -> None:
    origin, project = published
    workspace = tmp_path / "ws"
    server = ServerProcess("--address", "127.0.0.1:0", "--workspace", str(workspace))
    try:
        url = server.wait_ready()
        on = ("--server", url)
        applied = choreo("server", "apply", f"file://{origin}", "proj", "main", "dev", *on)
        assert applied.code == 0, applied.err
        assert choreo("branch", "get", *on).out == "* dev\n  main\n"
        assert choreo("branch", "get", "--address", url.removeprefix("http://")).out == "* dev\n  main\n"
        clone_project = next(workspace.glob("*origin.git")) / "proj"
        (clone_project / "in" / "carol.yaml").write_text(CAROL)
        committed = choreo("run", "commit", "carol on the server", *on)
        assert committed.code == 0, committed.err
        assert committed.out.startswith("committed ") and committed.out.endswith(" on dev: carol on the server\n")
        again = choreo("server", "apply", f"file://{origin}", "proj", "main", "dev", *on)
        assert again.code == 1
        assert "branch dev has 1 commit(s) that were not pushed and main does not contain" in again.err
        assert choreo("run", "push", *on).out == f"pushed dev to file://{origin}\n"
        assert git(origin, "log", "-1", "--format=%s", "dev") == "carol on the server"
        assert choreo("branch", "diff", "main", "dev", *on).out == "A in/carol.yaml\n"
        assert server.terminate() == 0
    finally:
        server.stop()
    restarted = ServerProcess("--address", "127.0.0.1:0", "--workspace", str(workspace))
    try:  # the context follows the branch it serves: a restart serves the commit, not REF again
        url = restarted.wait_ready()
        on = ("--server", url)
        assert choreo("server", "get", *on).out.splitlines()[0] == f"choreoctx: file://{origin} proj dev (branch dev)"
        assert choreo("branch", "get", "dev", *on).out.splitlines()[0].endswith(" carol on the server")
        assert complete(f"choreo branch checkout --server {url} ") == ["dev", "main"]

        production = choreo("server", "apply", f"file://{origin}", "proj", "main", *on)
        assert production.code == 0, production.err
        for args in (("run", "commit", "x"), ("run", "push"), ("branch", "checkout", "dev")):
            refused = choreo(*args, *on)
            production_error = f"error: {' '.join(args[:2])}: the server's context is production"
            assert refused.code == 1 and production_error in refused.err
        local_only = choreo("branch", "get", "-C", str(project), "--server", url)
        assert local_only.code == 1 and "only used locally" in local_only.err
    finally:
        restarted.stop()


def test_on_a_static_server_the_served_folders_repository(published) -> None:
    _, project = published
    server = ServerProcess(str(project), "--address", "127.0.0.1:0", "--no-run")
    try:
        url = server.wait_ready()
        assert choreo("branch", "create", "review", "--server", url).code == 0
        assert choreo("branch", "get", "--server", url).out == "* main\n  review\n"
        assert git(project, "branch", "--list", "--format=%(refname:short)").splitlines() == ["main", "review"]
    finally:
        server.stop()
