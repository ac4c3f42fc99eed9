"""``choreo.git.run_git`` ends git with what waits for it: a server that stops abandons the work git does for it
(``choreo.abandon``), and git with the processes it started (its own session) is ended at once, not awaited."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
from pathlib import Path

import pytest

from choreo.abandon import Abandonable, Abandoned
from choreo.git import GitError, run_git
from tests.server.harness import wait_for

HANGING_GIT = """#!/bin/sh
echo $$ > "$HANGING.tmp" && mv "$HANGING.tmp" "$HANGING"
exec sleep 3600
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def _fake_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """``script`` as the git on PATH."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "git").write_text(script)
    (fake / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    assert shutil.which("git") == str(fake / "git")


def test_an_abandoned_scope_ends_a_git_command_that_hangs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_git(tmp_path, monkeypatch, HANGING_GIT)
    hanging = tmp_path / "hanging"
    monkeypatch.setenv("HANGING", str(hanging))
    scope = Abandonable()
    raised: list[BaseException] = []

    def fetch() -> None:
        try:
            with scope.within():
                run_git(["fetch", "--quiet", "origin"], cwd=tmp_path, what="git fetch failed")
        except BaseException as exc:  # what the thread ended with is the result
            raised.append(exc)

    worker = threading.Thread(target=fetch, daemon=True)
    worker.start()
    wait_for(hanging.exists, "git to hang")
    scope.abandon()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert [type(exc) for exc in raised] == [Abandoned]
    assert not _alive(int(hanging.read_text()))  # its process went with it


HOLDING_GIT = """#!/bin/sh
sleep 3600 &
echo $! > "$HOLDER.tmp" && mv "$HOLDER.tmp" "$HOLDER"
exec sleep 3600
"""


def test_git_past_its_time_limit_is_an_error_while_a_child_still_holds_its_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A command at a terminal runs git in the terminal's session: only git is ended at its time limit, and a
    # process it started (git-remote-https stuck on a network) can keep its pipes open for long after.
    _fake_git(tmp_path, monkeypatch, HOLDING_GIT)
    holder = tmp_path / "holder"
    monkeypatch.setenv("HOLDER", str(holder))
    monkeypatch.setattr("choreo.git.KILL_AFTER_SECONDS", 0.5)
    try:
        with pytest.raises(GitError, match=r"^git fetch failed: git did not finish within 1s$"):
            run_git(["fetch", "--quiet", "origin"], cwd=tmp_path, what="git fetch failed", timeout=1)
    finally:
        if holder.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(holder.read_text()), signal.SIGKILL)
    assert holder.exists()  # the child was there, holding the pipes, when git was ended
