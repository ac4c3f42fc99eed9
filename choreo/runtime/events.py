"""What a run records: one event per reconcile step, and the outcome of the whole run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

START, STOP, REQUEUE, ERROR = "START", "STOP", "REQUEUE", "ERROR"


@dataclass(frozen=True)
class RunEvent:
    time: datetime
    reconciler: str
    resource: str  # "<group>.<Kind>.<namespace>.<name>", the reference's resource column
    operation: str
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time.isoformat(),
            "reconciler": self.reconciler,
            "resource": self.resource,
            "operation": self.operation,
            "message": self.message,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunEvent:
        return cls(
            datetime.fromisoformat(data["time"]),
            data["reconciler"],
            data["resource"],
            data["operation"],
            data.get("message", ""),
        )


@dataclass
class RunOutcome:
    """``failure`` is None on success, else the one-line reason (task id + message)."""

    events: list[RunEvent] = field(default_factory=list)
    failure: str | None = None
    failed_task: str = ""

    @property
    def success(self) -> bool:
        return self.failure is None
