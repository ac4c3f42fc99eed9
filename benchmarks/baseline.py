"""The committed version of a choreo module, loaded beside the current one: the baseline of a benchmark.

A benchmark that times a change runs the old and the new code in one process, interleaved, so that a noisy
machine slows both alike. ``module_from_git`` reads a file from a git revision and executes it as a private
module; ``replacing`` makes its imports of other choreo modules see (older) stand-ins while it loads.
"""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def module_from_git(rev: str, path: str, replacing: Mapping[str, types.ModuleType] | None = None) -> types.ModuleType:
    """``path`` (relative to the repository) as it is at ``rev``, under a private module name.

    ``replacing`` maps module names (e.g. ``choreo.store._common``) to modules that imports inside the file
    get instead of the real ones; the real modules are back in place when this returns."""
    source = subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout
    module = types.ModuleType(f"_baseline_{Path(path).stem}_{abs(hash((rev, path)))}")
    sys.modules[module.__name__] = module  # dataclasses look their module up while the class body runs
    saved = {name: sys.modules.get(name) for name in replacing or {}}
    sys.modules.update(replacing or {})
    try:
        exec(compile(source, f"{rev}:{path}", "exec"), module.__dict__)
    finally:
        for name, real in saved.items():
            if real is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = real
    return module
