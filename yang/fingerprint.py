"""A device's fingerprint: the digest of everything its merged, validated config depends on.

Why: re-validating every device on every run makes a one-link change cost as much as the whole network.
A device's result depends only on its own inputs — the Node (name, namespace, uid, spec), its schema profile
(the content of every module file the profile can load, its features), its running config file, its Config
snippets (content, priority, and the reconciler and intent chain each came from), the stage's options, and
the code that turns them into a verdict (choreo's, libyang's and this package's). The stage keeps each
valid device's fingerprint with what it wrote (``yang.records``); when the fingerprint is unchanged and what
it wrote is still there, the device keeps its verdict without being merged or validated again.

A profile's part (the digest of its module files) and its compiled context are kept per process for as
long as ``stat`` shows its files unchanged (``yang.profile_cache``), so a long-running server follows an
edited module without a restart. Running config files are looked at the same way between a server's passes
(``yang.memory``); ``file_stamp`` and ``is_racy`` are that look.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any


def digest(value: Any) -> str:
    """sha256 of ``value``'s canonical JSON."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def file_digest(path: Path) -> str | None:
    """sha256 of a file's bytes (read in blocks), or None when it cannot be read."""
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None


@cache
def code_version() -> str:
    """What turns inputs into a verdict: choreo's and libyang's versions and this package's own source."""
    versions = [_version("choreo"), _version("libyang")]
    sources = sorted(Path(__file__).parent.glob("*.py"))
    return digest([versions, [(p.name, file_digest(p)) for p in sources]])


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


FileStamp = tuple[int, int, int, int]  # inode, size, mtime and ctime (ns) of a file

RACY_NS = 2_000_000_000
"""A file changed this close to the moment it was looked at may change again without its size or times
showing it (file times are coarser than a nanosecond): it is looked at again next time."""


def file_stamp(path: Path | os.DirEntry[str]) -> FileStamp | None:
    """What ``stat`` says of a file that changes when its content does (None: it cannot be looked at)."""
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns


def is_racy(stamp: FileStamp | None, looked_at_ns: int) -> bool:
    """Whether a file with ``stamp`` may have changed after a look at ``looked_at_ns`` without ``stat``
    showing it."""
    return stamp is not None and max(stamp[2], stamp[3]) >= looked_at_ns - RACY_NS
