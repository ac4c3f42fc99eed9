"""What a run is asked to do (``RunOptions``), in every mode.

Why a module of its own: the command line builds its options' defaults from these (``--max-reconciles``)
for every command, most of which never run the pipeline; this module imports nothing of the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunOptions:
    """How a project is run, in every mode."""

    max_reconciles: int = 100
    time_limit: float = 10.0
    log: Callable[[str], None] = lambda _msg: None  # details, shown with ``--verbose``
    notice: Callable[[str], None] = lambda _msg: None  # told unasked: a project's warnings, a wait for another run
    plugins: list[str] = field(default_factory=list)  # entry point names: "internal-reconcilers", "schema"
    stage_options: dict[str, Any] = field(default_factory=dict)
    progress: Callable[[str, int, int], None] = lambda _phase, _done, _total: None  # (phase, done, total)
    full: bool = False  # reuse nothing from earlier runs (``choreo run --full``); results are the same either way
