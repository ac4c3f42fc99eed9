"""What a run records: one event per reconcile step, and the outcome of the whole run."""

from __future__ import annotations

from dataclasses import dataclass, field

from choreo.results.record import ERROR, REQUEUE, START, STOP, RunEvent

__all__ = ["ERROR", "REQUEUE", "START", "STOP", "RunEvent", "RunOutcome"]


@dataclass
class RunOutcome:
    """``failure`` is None on success, else the one-line reason (task id + message)."""

    events: list[RunEvent] = field(default_factory=list)
    failure: str | None = None
    failed_task: str = ""
    reused: int = 0  # reconciles not executed: their inputs were those of their last execution

    @property
    def success(self) -> bool:
        return self.failure is None
