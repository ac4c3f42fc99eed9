"""A digest of the Python sources of choreo (and of loaded plug-ins): what every remembered result keys on.

Why it exists: choreo skips work whose inputs are unchanged (a reconcile in ``runtime/memo.py``, an input
apply in ``loader/sync.py``); a different choreo (or plug-in) may compute another result from the same
inputs, so its code is one of them. Computed once per process and package set.
"""

from __future__ import annotations

import hashlib
import sys
from functools import cache
from pathlib import Path

import choreo


@cache
def code_digest(packages: tuple[str, ...]) -> str:
    """Digest of choreo's version and the ``.py`` files of each (imported) package in ``packages``."""
    digest = hashlib.sha256(choreo.__version__.encode())
    for package in packages:
        module = sys.modules.get(package)
        location = getattr(module, "__file__", None)
        if not location:
            continue
        folder = Path(location).parent
        for path in sorted(folder.rglob("*.py")):
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()
