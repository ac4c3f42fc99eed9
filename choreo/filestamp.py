"""Telling from ``stat`` alone that a file still holds what it held when it was read (git's index does the same).

Why: reading thousands of small files to find that they did not change costs more than the change itself.
A file's stamp — inode, size, modification and change time — changes when its content does, with one
exception that decides whether trusting a stamp is exact: file times are coarser than the changes (a
filesystem may keep whole seconds, the kernel's clock ticks every few milliseconds), so a file written
again within the same tick, to the same size, keeps its stamp. Like git's "racy" entries, a stamp whose
times are not safely older than the moment the file was looked at is therefore never trusted; whoever
keeps stamps takes the moment *before* taking the stamp and reading the file, and keeps (or trusts) a
stamp only when ``is_racy`` says no. The change time cannot be set back by users (``touch -d`` can set the
modification time, and sets the change time to now), so a file rewritten with an old modification time is
still seen.

One implementation for everyone who looks at files this way: the loader's input files
(``loader.yamlio.ParsedDocuments``) and the schema stage's module and running config files (``yang``,
through ``choreo.plugin_api``).
"""

from __future__ import annotations

import os
from pathlib import Path

FileStamp = tuple[int, int, int, int]  # inode, size, mtime and ctime (ns) of a file

RACY_NS = 2_000_000_000
"""How much older than the look a file's times must be for its stamp to be trusted: more than any file time
granularity (FAT keeps 2 s) and any lag of the kernel's file clock behind the clock the look is timed by. (A
network filesystem whose server clock lags this machine's by more than that defeats the rule, as it defeats
git's.)"""


def file_stamp(path: Path | os.DirEntry[str]) -> FileStamp | None:
    """What ``stat`` says of a file that changes when its content does (None: it cannot be looked at)."""
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns


def is_racy(stamp: FileStamp | None, looked_at_ns: int) -> bool:
    """Whether a file with ``stamp``, looked at (stamped, then read) from ``looked_at_ns`` (``time.time_ns``)
    on, may change afterwards without ``stat`` showing it."""
    return stamp is not None and max(stamp[2], stamp[3]) >= looked_at_ns - RACY_NS
