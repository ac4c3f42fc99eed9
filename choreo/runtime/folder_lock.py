"""One server per folder, and no batch run under a server: a second ``choreo server start`` on a project folder
(or dynamic workspace) that a server already serves stops at once, naming the first server, and so does a
local ``choreo run`` of a served folder.

Why: a server and anything else working on its folder share the folder's store. SQLite keeps the store
consistent, but a second server loads, reconciles and validates everything again, races the first one's
writes and rewrites ``out/``; a batch run holds the store's write lock for its whole length (a first run at
N=1000: half a minute), so every write of the server, its API clients' included, waits that long or fails.
Nothing told the user a server was there. The lock is an exclusive ``flock`` on ``server.lock`` in the
folder's state folder, held while the server runs. The kernel drops it when the process ends, however it
ends, so a crashed server leaves no stale lock behind. The file says who holds it (process id, address,
start time), for the messages; it is never removed, since removing it would race with the next server
taking it. A batch run only checks the lock before it opens the store. Without ``fcntl`` (Windows) there is
no lock.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from choreo.apiserver.server import utc_now
from choreo.errors import ChoreoError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "server.lock"


class FolderServed(ChoreoError):
    """The folder is served by a server."""


@dataclass(frozen=True)
class Holder:
    """The server holding a folder's lock, as the lock file says (fields empty while it is still starting)."""

    pid: str = ""
    address: str = ""
    started: str = ""

    def __str__(self) -> str:
        if not self.pid:
            return "its process is still starting"
        return f"process {self.pid}, listening on {self.address} since {self.started}"


class FolderLock:
    """The lock of one served folder (``state``: the folder the lock file goes into)."""

    def __init__(self, served: Path, state: Path) -> None:
        self.served = served
        self.path = state / LOCK_FILE
        self._fd: int | None = None

    def take(self, address: str) -> bool:
        """Hold the lock, saying that this process serves the folder at ``address``; ``FolderServed`` when
        another process holds it. False when there is no lock to take here (no ``fcntl``, a state folder
        choreo cannot write to, a file system without locks)."""
        if self._fd is not None:
            return True
        if fcntl is None:
            return False
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            message = f"{self.served}: already served by another choreo server ({holder}); stop it first"
            raise FolderServed(message) from None
        except OSError:  # a file system without locks (some network ones)
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        text = json.dumps({"pid": os.getpid(), "address": address, "started": utc_now()}) + "\n"
        os.ftruncate(fd, 0)
        os.pwrite(fd, text.encode(), 0)
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file drops the lock
            self._fd = None


def serving(state: Path) -> Holder | None:
    """The server that serves the folder whose state folder is ``state`` now, None when none does."""
    if fcntl is None:
        return None
    try:
        fd = os.open(state / LOCK_FILE, os.O_RDONLY)
    except OSError:  # none yet (or unreadable: then the store is not this user's to write either)
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _holder(fd)
    except OSError:  # a file system without locks: no server could have taken it
        return None
    finally:
        os.close(fd)  # also lets go of the shared lock, if it was taken
    return None


def refuse_if_served(root: Path, state: Path) -> None:
    """``FolderServed`` when a server serves the project folder ``root`` (its state folder ``state``): a batch
    run would hold the store's write lock under it for the run's whole length."""
    holder = serving(state)
    if holder is not None:
        where = f": `choreo run --server http://{holder.address}`" if holder.address else ""
        raise FolderServed(f"{root}: served by a choreo server ({holder}); run it there{where}, or stop the server")


def _holder(fd: int) -> Holder:
    """Who holds the lock, as its file says (the holder writes it just after taking the lock)."""
    try:
        said: Any = json.loads(os.pread(fd, 4096, 0) or b"null")
    except (OSError, ValueError):
        said = None
    if not isinstance(said, dict) or "pid" not in said:
        return Holder()
    return Holder(str(said["pid"]), str(said.get("address", "?")), str(said.get("started", "?")))
