"""Live progress of a local ``choreo run`` on a terminal: reconciles done and queued, devices validated.

Why: a 400-device run is otherwise silent for half a minute. The display is drawn with rich (a maintained
terminal UI library: cursor control, redraw throttling, terminal width and Windows consoles are its
business, not ours) on stderr, only when stderr is a terminal, and it disappears when the run ends, so
the summary on stdout — and anything a script reads — is exactly what it is without it. The runtime calls
``RunProgress`` as the ``progress`` callback of ``RunOptions`` with ``(phase, done, total)``.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported only when a display is drawn: most runs (-q, CI, pipes) draw none
    from rich.console import Console
    from rich.progress import Progress, TaskID

RECONCILE, VALIDATE = "reconcile", "validate"
_DESCRIPTIONS = {RECONCILE: "reconciling", VALIDATE: "validating devices"}


class RunProgress:
    """A progress callback: draws on a terminal, does nothing otherwise (or with ``-q``)."""

    def __init__(self, console: Console | None, *, quiet: bool = False) -> None:
        self._progress = _display(console) if console is not None else None
        self._tasks: dict[str, TaskID] = {}
        self._quiet = quiet

    @classmethod
    def for_stderr(cls, quiet: bool = False) -> RunProgress:
        if quiet or not sys.stderr.isatty():
            return cls(None, quiet=quiet)
        from rich.console import Console

        return cls(Console(stderr=True))

    def __enter__(self) -> RunProgress:
        if self._progress is not None:
            self._progress.start()
            self._tasks["load"] = self._progress.add_task("loading the project", total=None, note="")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def say(self, message: str) -> None:
        """A line for the user on stderr (above the display while it is drawn); none with ``-q``. The
        ``notice`` callback of ``RunOptions``."""
        if self._progress is not None:
            self._progress.console.print(message, markup=False, highlight=False)
        elif not self._quiet:
            print(message, file=sys.stderr, flush=True)

    def __call__(self, phase: str, done: int, total: int) -> None:
        """``done`` of ``total`` units of ``phase`` (for reconciles, the total grows as work is queued)."""
        if self._progress is None:
            return
        if "load" in self._tasks:
            self._progress.remove_task(self._tasks.pop("load"))
        if phase not in self._tasks:
            self._tasks[phase] = self._progress.add_task(_DESCRIPTIONS.get(phase, phase), total=total, note="")
        note = f"{total - done} queued" if phase == RECONCILE else ""
        self._progress.update(self._tasks[phase], completed=done, total=total, note=note)


def _display(console: Console) -> Progress:
    """The live display on ``console``: spinner, phase, bar, done/total, a note (queued work), elapsed time."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
