"""One writer per project folder: a server, or one batch ``choreo run`` at a time.

Why: a server and a batch run of the same folder share the folder's store. SQLite keeps the store
consistent, but a second server loads, reconciles and validates everything again, races the first one's
writes and rewrites ``out/``; a batch run holds the store's write lock for its whole length (a first run at
N=1000: half a minute), so every write of a server, its API clients' included, waits that long or fails, and
a second batch run waited silently up to SQLite's 30 s and then failed with "database is locked".

So whoever writes a folder's store holds an exclusive ``flock`` on ``choreo.lock`` in the folder's state
folder (a dynamic server: in its workspace too) while it works, and the file says who (role, process id, the
server's address, start time):

- a server meeting a server stops at once, naming it; a batch run meeting a server stops too, pointing at
  ``choreo run --server`` (a server never ends by itself);
- anyone meeting a batch run waits for it to end, after saying once whose run it waits for (``waiting``):
  runs end, and one started while another is going is meant to run after it.

A link or a folder where the lock file goes is an error: going on without the lock would say nothing.
The kernel drops the lock when its process ends, however it ends, so a crash leaves no stale lock. The file
is never removed, since removing it would race with the next holder taking it; what it says is only read
while its writer holds the lock, and a name whose process is gone (a holder that has taken the lock and not
yet written) counts as "still starting". Commands that only read the store take no lock and do not wait.
Without ``fcntl`` (Windows) there is no lock.
"""

from __future__ import annotations

import errno
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from choreo.abandon import checkpoint
from choreo.apiserver.server import utc_now
from choreo.errors import ChoreoError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "choreo.lock"
POLL_SECONDS = 0.2  # how often a waiter tries the lock again
Role = Literal["server", "run"]


class FolderServed(ChoreoError):
    """The folder is served by a server."""


@dataclass(frozen=True)
class Holder:
    """Who holds a folder's lock, as the lock file says (``role`` empty while the holder is still starting)."""

    role: str = ""
    pid: str = ""
    address: str = ""
    started: str = ""

    def __str__(self) -> str:
        if self.role == "server":
            return f"process {self.pid}, listening on {self.address} since {self.started}"
        if self.role == "run":
            return f"process {self.pid}, running since {self.started}"
        return "its process is still starting"


class FolderLock:
    """The lock of one project folder (``state``: the folder the lock file goes into)."""

    def __init__(self, folder: Path, state: Path) -> None:
        self.folder = folder
        self.path = state / LOCK_FILE
        self._fd: int | None = None

    def take(self, role: Role, *, address: str = "", waiting: Callable[[Holder], None] = lambda _h: None) -> bool:
        """Hold the lock as a server listening at ``address`` or as a batch run. A batch run holding it is
        waited for (``waiting`` is told whose, once); a server holding it is ``FolderServed``. False when
        there is no lock to take here (no ``fcntl``, a state folder choreo cannot write to, a file system
        without locks)."""
        if self._fd is not None:
            return True
        if fcntl is None:
            return False
        try:  # never through a link: the holder's name is written into the file
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.EISDIR):  # going on unguarded would be silent
                what = "a folder" if error.errno == errno.EISDIR else "a link"
                raise ChoreoError(f"{self.path}: is {what}, not choreo's lock file; remove it and try "
                                  "again") from None
            return False  # a state folder choreo cannot write to: the store's own error follows
        told = False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    holder = _holder(fd)
                if holder.role == "server":
                    raise FolderServed(self._served_message(role, holder))
                if not told and holder.role == "run":
                    waiting(holder)
                    told = True
                time.sleep(POLL_SECONDS)
                checkpoint()  # a server that stops does not wait on (``choreo.abandon``)
        except OSError:  # a file system without locks (some network ones)
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        said = {"role": role, "pid": os.getpid(), "address": address, "started": utc_now()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(said) + "\n").encode(), 0)
        self._fd = fd
        return True

    def lost(self) -> bool:
        """Whether the lock file held was deleted (``rm -rf .choreo`` while serving, or a copy put in its place):
        the store beside it went with it, and another writer can now take the folder. A folder moved or
        renamed keeps its lock file, and its lock. False when nothing is held."""
        if self._fd is None:
            return False
        try:
            return os.fstat(self._fd).st_nlink == 0
        except OSError:
            return False

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file drops the lock
            self._fd = None

    def _served_message(self, role: Role, server: Holder) -> str:
        if role == "server":
            return f"{self.folder}: already served by another choreo server ({server}); stop it first"
        return (
            f"{self.folder}: served by a choreo server ({server}); run it there: "
            f"`choreo run --server http://{server.address}`, or stop the server"
        )


def _holder(fd: int) -> Holder:
    """Who holds the lock, as its file says (the holder writes it just after taking the lock; until then the
    file may still name an earlier holder, whose process has ended)."""
    try:
        said: Any = json.loads(os.pread(fd, 4096, 0) or b"null")
    except (OSError, ValueError):
        said = None
    if not isinstance(said, dict) or not _alive(said.get("pid")):
        return Holder()
    role = str(said.get("role", ""))
    return Holder(role, str(said["pid"]), str(said.get("address", "?")), str(said.get("started", "?")))


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True
