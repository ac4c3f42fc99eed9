"""Replacing a file's content in one step, the one way choreo does it.

Why it exists: other programs read the files choreo writes while it runs (device configs in ``out/`` are
picked up by deployment jobs, ``in/`` is under the user's editor and git, a server's context file is read on
restart), so a reader must find the old content or the new one, never half of it; and a link someone left
at the path must be replaced, never followed (it could point at any file of the user's). A temporary file
in the same folder, renamed over the path, gives both.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8, line ends as given). An ``OSError`` is raised as it comes, and
    the temporary file is removed then: a failed write leaves the old file and nothing else."""
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
