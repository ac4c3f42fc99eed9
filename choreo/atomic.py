"""Replacing a file's content in one step, the one way choreo does it.

Why it exists: other programs read the files choreo writes while it runs (device configs in ``out/`` are
picked up by deployment jobs, ``in/`` is under the user's editor and git, a server's context file is read on
restart), so a reader must find the old content or the new one, never half of it; and a link someone left
at the path must be replaced, never followed (it could point at any file of the user's). A temporary file
in the same folder, renamed over the path, gives both.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8, line ends as given). An ``OSError`` is raised as it comes, and
    the temporary file is removed then: a failed write leaves the old file and nothing else.

    The file keeps the permissions it had (a regular file at ``path``; a link there is replaced, so its
    target's do not count), and a new one gets those any program's new file gets (0666 less the umask),
    not the temporary file's 0600: others who share the checkout or read ``out/`` can still read it."""
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    """The permission bits ``path`` has when it is a regular file, else those of a new file under the umask."""
    try:
        status = os.lstat(path)
    except OSError:
        status = None
    if status is not None and stat.S_ISREG(status.st_mode):
        return stat.S_IMODE(status.st_mode)
    return 0o666 & ~_UMASK


def _umask() -> int:
    """The process's umask: reading it means setting it, so it is read once, when choreo starts (a server
    writes files from several threads; one of them must never see it changed for a moment)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


_UMASK = _umask()
