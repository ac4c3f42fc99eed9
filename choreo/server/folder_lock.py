"""One server per folder: a second ``choreo server start`` on a project folder (or dynamic workspace) that a
server already serves stops at once, naming the first server.

Why: two servers on one folder share its store. SQLite keeps the store consistent, but each server loads,
reconciles and validates everything again, races the other's writes (conflicts, retries) and rewrites
``out/``, and nothing tells the user that a server was already running there. The lock is an exclusive
``flock`` on ``server.lock`` in the folder's state folder, held while the server runs. The kernel drops it
when the process ends, however it ends, so a crashed server leaves no stale lock behind. The file says who
holds it (process id, address, start time), for the message; it is never removed, since removing it would
race with the next server taking it. Batch commands (``choreo run``, ``get``...) do not take it. Without
``fcntl`` (Windows) there is no lock.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from choreo.errors import ChoreoError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "server.lock"


class FolderServed(ChoreoError):
    """The folder is served by another server."""


class FolderLock:
    """The lock of one served folder (``state``: the folder the lock file goes into)."""

    def __init__(self, served: Path, state: Path) -> None:
        self.served = served
        self.path = state / LOCK_FILE
        self._fd: int | None = None

    def take(self, address: str) -> None:
        """Hold the lock, saying that this process serves the folder at ``address``; ``FolderServed`` when
        another process holds it."""
        if fcntl is None or self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            message = f"{self.served}: already served by another choreo server ({holder}); stop it first"
            raise FolderServed(message) from None
        except BaseException:
            os.close(fd)
            raise
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = json.dumps({"pid": os.getpid(), "address": address, "started": started}) + "\n"
        os.ftruncate(fd, 0)
        os.pwrite(fd, text.encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file drops the lock
            self._fd = None


def _holder(fd: int) -> str:
    """Who holds the lock, as its file says (the holder writes it just after taking the lock)."""
    try:
        said: Any = json.loads(os.pread(fd, 4096, 0) or b"null")
    except (OSError, ValueError):
        said = None
    if not isinstance(said, dict):
        return "its process is still starting"
    return f"process {said.get('pid', '?')}, listening on {said.get('address', '?')} since {said.get('started', '?')}"
