"""``choreo.git.run_git`` ends git with what waits for it: a server that stops abandons the work git does for it
(``choreo.abandon``), and git with the processes it started (its own session) is ended at once, not awaited."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from choreo.abandon import Abandonable, Abandoned
from choreo.git import run_git
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


def test_an_abandoned_scope_ends_a_git_command_that_hangs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "git").write_text(HANGING_GIT)
    (fake / "git").chmod(0o755)
    hanging = tmp_path / "hanging"
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HANGING", str(hanging))
    assert shutil.which("git") == str(fake / "git")
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
