"""One server per folder: the lock's holder is named to the next server and to a batch run, and a released lock
can be taken again."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from choreo.runtime.folder_lock import LOCK_FILE, FolderLock, FolderServed, refuse_if_served, serving


def test_a_second_lock_on_a_folder_names_the_first_holder(tmp_path: Path) -> None:
    first = FolderLock(tmp_path / "proj", tmp_path)
    first.take("127.0.0.1:51811")
    held = json.loads((tmp_path / LOCK_FILE).read_text())
    assert held["pid"] == os.getpid() and held["address"] == "127.0.0.1:51811"
    with pytest.raises(FolderServed) as refused:
        FolderLock(tmp_path / "proj", tmp_path).take("127.0.0.1:51812")
    assert str(refused.value) == (
        f"{tmp_path / 'proj'}: already served by another choreo server (process {os.getpid()}, listening on "
        f"127.0.0.1:51811 since {held['started']}); stop it first"
    )
    first.release()
    second = FolderLock(tmp_path / "proj", tmp_path)
    second.take("127.0.0.1:51812")  # released: free again, and the file names the new holder
    assert json.loads((tmp_path / LOCK_FILE).read_text())["address"] == "127.0.0.1:51812"
    second.release()


def test_a_holder_that_has_not_written_its_name_yet_is_still_refused(tmp_path: Path) -> None:
    import fcntl

    fd = os.open(tmp_path / LOCK_FILE, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # taken, the file still empty
        with pytest.raises(FolderServed, match=r"another choreo server \(its process is still starting\)"):
            FolderLock(tmp_path, tmp_path).take("127.0.0.1:1")
    finally:
        os.close(fd)  # the holder ends: free again
    lock = FolderLock(tmp_path, tmp_path)
    lock.take("127.0.0.1:1")
    lock.release()


def test_a_lock_file_left_by_a_process_that_ended_does_not_hold(tmp_path: Path) -> None:
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": 999999, "address": "127.0.0.1:9", "started": "x"}))
    lock = FolderLock(tmp_path, tmp_path)
    lock.take("127.0.0.1:51811")  # the file alone is no lock: only a living process's flock is
    assert json.loads((tmp_path / LOCK_FILE).read_text())["address"] == "127.0.0.1:51811"
    lock.release()


def test_a_batch_run_is_refused_on_a_served_folder_only(tmp_path: Path) -> None:
    assert serving(tmp_path) is None  # no lock file yet
    refuse_if_served(tmp_path / "proj", tmp_path)
    lock = FolderLock(tmp_path / "proj", tmp_path)
    lock.take("127.0.0.1:51811")
    holder = serving(tmp_path)
    assert holder is not None and (holder.pid, holder.address) == (str(os.getpid()), "127.0.0.1:51811")
    with pytest.raises(FolderServed) as refused:
        refuse_if_served(tmp_path / "proj", tmp_path)
    assert str(refused.value) == (
        f"{tmp_path / 'proj'}: served by a choreo server (process {os.getpid()}, listening on 127.0.0.1:51811 "
        f"since {holder.started}); run it there: `choreo run --server http://127.0.0.1:51811`, or stop the server"
    )
    lock.release()
    assert serving(tmp_path) is None  # the file stays, the lock does not
    refuse_if_served(tmp_path / "proj", tmp_path)


def test_a_file_system_without_locks_serves_without_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import fcntl

    def no_locks(_fd: int, _operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    lock = FolderLock(tmp_path, tmp_path)
    assert lock.take("127.0.0.1:51811") is False  # no error: the server runs, unguarded (and logs it)
    assert serving(tmp_path) is None
    assert FolderLock(tmp_path, tmp_path).take("127.0.0.1:51812") is False
    lock.release()
