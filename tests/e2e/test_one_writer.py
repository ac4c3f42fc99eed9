"""One writer per project folder, with the real CLI: a second ``choreo run`` and a server wait for a batch run
to end, saying whose run they wait for; commands that only read never wait for it."""

from __future__ import annotations

import os
import select
import sqlite3
import subprocess
import sys
from pathlib import Path

from choreo.runtime.folder_lock import FolderLock
from tests.e2e.conftest import choreo
from tests.server.harness import ServerProcess, copy_example, wait_for


def _first_stderr_line(proc: subprocess.Popen[str], seconds: float = 60) -> str:
    assert proc.stderr is not None
    ready, _, _ = select.select([proc.stderr], [], [], seconds)
    assert ready, "the command said nothing"
    return proc.stderr.readline()


def test_a_second_run_waits_for_the_first_then_runs(tmp_path: Path) -> None:
    project = copy_example("greeting", tmp_path)
    first = FolderLock(project, project / ".choreo")  # what a batch run of the folder holds while it runs
    (project / ".choreo").mkdir()
    first.take("run")
    second = subprocess.Popen([sys.executable, "-m", "choreo.cli.main", "run", str(project)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        said = _first_stderr_line(second)
        assert said.startswith(f"waiting for another choreo run of {project} to end (process {os.getpid()}, "
                               "running since ")
        assert second.poll() is None  # still waiting
        assert not (project / ".choreo" / "choreo.db").exists()  # nothing opened before its turn
    finally:
        first.release()
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert "execution success" in out


def test_commands_that_read_do_not_wait_for_a_run(tmp_path: Path) -> None:
    project = copy_example("greeting", tmp_path)
    assert choreo("run", str(project)).code == 0
    running = sqlite3.connect(project / ".choreo" / "choreo.db", isolation_level=None)
    running.execute("BEGIN IMMEDIATE")  # the store's write lock, as a batch run holds it for its whole length
    try:
        listed = choreo("run", "list", str(project))
        got = choreo("get", "greetings", "-C", str(project))
    finally:
        running.execute("ROLLBACK")
        running.close()
    assert listed.code == 0 and listed.out.strip().endswith("success"), listed.err
    assert got.code == 0 and got.out.startswith("NAME"), got.err


def test_a_server_waits_for_a_run_of_its_folder_then_serves(tmp_path: Path) -> None:
    project = copy_example("greeting", tmp_path)
    (project / ".choreo").mkdir()
    run = FolderLock(project, project / ".choreo")
    run.take("run")
    server = ServerProcess(str(project), "--address", "127.0.0.1:0")
    try:
        waiting = wait_for(lambda: server.event("waiting"), "the server to say it waits")
        assert waiting["folder"] == str(project)
        assert waiting["reason"].startswith(f"a choreo run of the folder is going (process {os.getpid()}, ")
        assert server.event("loaded") is None  # nothing read before the run has ended
        run.release()
        server.wait_ready()
    finally:
        run.release()
        server.stop()
