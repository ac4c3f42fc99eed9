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
(``yang.memory``); ``file_stamp`` and ``is_racy`` (``choreo.plugin_api``) are that look.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any


def digest(value: Any) -> str:
    """sha256 of ``value``'s canonical JSON."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def portable(path: Path | str, root: Path) -> str:
    """``path`` as a fingerprint holds it: relative to the project's root ("/"-separated) when it lies inside
    it, else as it is. A project moved, or checked out elsewhere with its ``.choreo/`` and ``out/`` kept (a CI
    job that restores them from a cache), then keeps its devices' fingerprints."""
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return str(path)


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
