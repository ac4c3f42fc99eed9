"""A device's fingerprint: the digest of everything its merged, validated config depends on.

Why: re-validating every device on every run makes a one-link change cost as much as the whole network.
A device's result depends only on its own inputs — the Node (name, namespace, uid, spec), its schema profile
(the content of every module file the profile can load, its features), its running config file, its Config
snippets (content, priority, and the reconciler and intent chain each came from), the stage's options, and
the code that turns them into a verdict (choreo's, libyang's and this package's). The stage keeps each
valid device's fingerprint with what it wrote (``yang.records``); when the fingerprint is unchanged and what
it wrote is still there, the device keeps its verdict without being merged or validated again.

Profiles are compiled once per process (``yang.profiles``); their digests are computed once per process
too, so a long-running server that sees a module file change needs a restart for either, as before.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from yang.profiles import Profile

YANG_SUFFIXES = (".yang", ".yin")


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


_PROFILE_DIGESTS: dict[tuple[str, str, str], str | None] = {}


def profile_digest(profile: Profile) -> str | None:
    """The profile's name, target and features and the content of every module file it can load (its
    modules and every YANG file of its search folders); None when a file cannot be read."""
    key = (profile.name, profile.source, profile.fingerprint())
    if key not in _PROFILE_DIGESTS:
        files = sorted(set(_module_files(profile)))
        contents = [(str(path), file_digest(path)) for path in files]
        readable = all(sha is not None for _path, sha in contents)
        described = [profile.name, profile.source, profile.provider, profile.version, profile.features]
        modules = [(m.name, str(m.file or "")) for m in profile.modules]
        _PROFILE_DIGESTS[key] = digest([described, modules, contents]) if readable else None
    return _PROFILE_DIGESTS[key]


def _module_files(profile: Profile) -> Iterable[Path]:
    for module in profile.modules:
        if module.file is not None:
            yield module.file
    for folder in profile.search_dirs:  # libyang searches each folder on its own, not recursively
        if folder.is_dir():
            yield from (p for p in folder.iterdir() if p.suffix in YANG_SUFFIXES and p.is_file())
