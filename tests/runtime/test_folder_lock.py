"""One writer per folder: a server refuses a second server and a batch run, naming itself; a batch run is waited
for, by another run or a server, after saying whose it is; a lock whose holder has ended holds nothing."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from choreo.errors import ChoreoError
from choreo.runtime import folder_lock
from choreo.runtime.folder_lock import LOCK_FILE, FolderLock, FolderServed, Holder


def _on_poll(monkeypatch: pytest.MonkeyPatch, action: Callable[[int], None]) -> list[int]:
    """Instead of sleeping between two tries, ``action(number of the poll)``; returns the polls made."""
    polls: list[int] = []

    def poll(_seconds: float) -> None:
        polls.append(len(polls) + 1)
        action(len(polls))

    monkeypatch.setattr(folder_lock.time, "sleep", poll)
    return polls


def _said(state: Path) -> dict[str, object]:
    return json.loads((state / LOCK_FILE).read_text())


def test_a_second_server_on_a_folder_is_refused_naming_the_first(tmp_path: Path) -> None:
    first = FolderLock(tmp_path / "proj", tmp_path)
    assert first.take("server", address="127.0.0.1:51811")
    held = _said(tmp_path)
    assert (held["role"], held["pid"], held["address"]) == ("server", os.getpid(), "127.0.0.1:51811")
    with pytest.raises(FolderServed) as refused:
        FolderLock(tmp_path / "proj", tmp_path).take("server", address="127.0.0.1:51812")
    assert str(refused.value) == (
        f"{tmp_path / 'proj'}: already served by another choreo server (process {os.getpid()}, listening on "
        f"127.0.0.1:51811 since {held['started']}); stop it first"
    )
    first.release()
    second = FolderLock(tmp_path / "proj", tmp_path)
    assert second.take("server", address="127.0.0.1:51812")  # released: free again, the file names the new holder
    assert _said(tmp_path)["address"] == "127.0.0.1:51812"
    second.release()


def test_a_batch_run_on_a_served_folder_is_refused_pointing_at_the_server(tmp_path: Path) -> None:
    server = FolderLock(tmp_path / "proj", tmp_path)
    server.take("server", address="127.0.0.1:51811")
    with pytest.raises(FolderServed) as refused:
        FolderLock(tmp_path / "proj", tmp_path).take("run")
    assert str(refused.value) == (
        f"{tmp_path / 'proj'}: served by a choreo server (process {os.getpid()}, listening on 127.0.0.1:51811 "
        f"since {_said(tmp_path)['started']}); run it there: `choreo run --server http://127.0.0.1:51811`, "
        "or stop the server"
    )
    server.release()
    run = FolderLock(tmp_path / "proj", tmp_path)
    assert run.take("run")
    run.release()


@pytest.mark.parametrize("second_role", ["run", "server"])
def test_a_batch_run_is_waited_for_after_saying_whose_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, second_role: folder_lock.Role
) -> None:
    first = FolderLock(tmp_path, tmp_path)
    first.take("run")
    started = _said(tmp_path)["started"]
    told: list[Holder] = []
    polls = _on_poll(monkeypatch, lambda n: first.release() if n == 3 else None)  # the run ends meanwhile
    second = FolderLock(tmp_path, tmp_path)
    assert second.take(second_role, address="127.0.0.1:1", waiting=told.append)
    assert polls == [1, 2, 3]  # it kept trying until the run had ended, and said so once
    assert told == [Holder("run", str(os.getpid()), "", str(started))]
    assert str(told[0]) == f"process {os.getpid()}, running since {started}"
    assert _said(tmp_path)["role"] == second_role
    second.release()


def test_a_run_waiting_for_a_run_stops_if_a_server_takes_the_folder_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = FolderLock(tmp_path / "proj", tmp_path)
    first.take("run")
    server = FolderLock(tmp_path / "proj", tmp_path)

    def the_run_ends_and_a_server_starts(_poll: int) -> None:
        first.release()
        server.take("server", address="127.0.0.1:51811")

    _on_poll(monkeypatch, the_run_ends_and_a_server_starts)
    with pytest.raises(FolderServed, match=r"served by a choreo server .*run it there"):
        FolderLock(tmp_path / "proj", tmp_path).take("run")
    server.release()


def test_a_holder_that_has_not_said_who_it_is_is_waited_for_not_taken_for_what_the_file_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between taking the lock and writing its name, a holder leaves the file as the last holder wrote it: a
    server whose process has ended is no reason to refuse, and nothing names the new holder yet."""
    import fcntl

    ended = _ended_pid()
    (tmp_path / LOCK_FILE).write_text(json.dumps({"role": "server", "pid": ended, "address": "127.0.0.1:9"}))
    fd = os.open(tmp_path / LOCK_FILE, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # taken, the file not yet rewritten
    told: list[Holder] = []
    polls = _on_poll(monkeypatch, lambda n: os.close(fd) if n == 2 else None)
    lock = FolderLock(tmp_path, tmp_path)
    assert lock.take("server", address="127.0.0.1:1", waiting=told.append)
    assert polls == [1, 2] and told == []  # waited; nobody to name
    lock.release()


def test_a_lock_file_left_by_a_process_that_ended_does_not_hold(tmp_path: Path) -> None:
    (tmp_path / LOCK_FILE).write_text(json.dumps({"role": "server", "pid": os.getpid(), "address": "127.0.0.1:9"}))
    lock = FolderLock(tmp_path, tmp_path)
    assert lock.take("run")  # the file alone is no lock: only a living process's flock is
    assert _said(tmp_path)["role"] == "run"
    lock.release()


def test_a_file_system_without_locks_goes_on_without_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import fcntl

    def no_locks(_fd: int, _operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    lock = FolderLock(tmp_path, tmp_path)
    assert lock.take("server", address="127.0.0.1:51811") is False  # no error: the server runs unguarded, logs it
    assert FolderLock(tmp_path, tmp_path).take("run") is False
    lock.release()


def _ended_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    return int(child.stdout)


def test_a_lock_file_that_is_a_link_is_refused_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "someone-elses-file"
    elsewhere.write_text("keep me\n")
    state = tmp_path / "state"
    state.mkdir()
    (state / LOCK_FILE).symlink_to(elsewhere)
    with pytest.raises(ChoreoError, match=r"choreo.lock: is a link, not choreo's lock file; remove it"):
        FolderLock(tmp_path, state).take("run")
    assert elsewhere.read_text() == "keep me\n"


def test_a_folder_where_the_lock_file_goes_is_refused(tmp_path: Path) -> None:
    (tmp_path / LOCK_FILE).mkdir()
    with pytest.raises(ChoreoError, match=r"choreo.lock: is a folder, not choreo's lock file; remove it"):
        FolderLock(tmp_path, tmp_path).take("server", address="127.0.0.1:51811")
