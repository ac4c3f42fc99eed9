"""What a run leaves behind: its record (events, outcome, stage results), stored with the project's state.

Why here: the runtime produces run records and ``results/`` reads them (``run list``, ``run result``,
``run diff``), the server serves them and the CLI prints them. Keeping the record types in the lowest layer
that needs them lets every one of those import them without reaching upward into ``runtime/``.
Records are kept in the store's ``runs`` table, keyed ``<started>|<id>`` so that key order is start order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from choreo.store.base import RecordStore

RUNS_TABLE = "runs"

START, STOP, REQUEUE, ERROR = "START", "STOP", "REQUEUE", "ERROR"


@dataclass(frozen=True, slots=True)  # slots: a run holds one per reconcile step (21 200 at N=1000)
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
class StageResult:
    """``errors`` are one-line messages; any error makes the run fail."""

    name: str
    errors: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # progress/summary lines to show the user

    @property
    def success(self) -> bool:
        return not self.errors


@dataclass
class RunRecord:
    id: str
    runner: str
    started: str
    events: list[RunEvent] = field(default_factory=list)
    failure: str | None = None
    failed_task: str = ""
    wall_seconds: float = 0.0
    stages: list[StageResult] = field(default_factory=list)
    reused: int = 0  # reconciles not executed because their inputs were unchanged

    @property
    def success(self) -> bool:
        return self.failure is None and all(stage.success for stage in self.stages)

    def to_json(self) -> dict[str, Any]:
        return {**self.summary_json(), "events": [e.to_json() for e in self.events]}

    def summary_json(self) -> dict[str, Any]:
        """``to_json`` but the events."""
        return {
            "id": self.id,
            "runner": self.runner,
            "started": self.started,
            "failure": self.failure,
            "failedTask": self.failed_task,
            "wallSeconds": self.wall_seconds,
            "stages": [{"name": st.name, "errors": st.errors, "lines": st.lines} for st in self.stages],
            "reused": self.reused,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        return cls(
            data["id"],
            data["runner"],
            data["started"],
            [RunEvent.from_json(e) for e in data.get("events", [])],
            data.get("failure"),
            data.get("failedTask", ""),
            data.get("wallSeconds", 0.0),
            [StageResult(st["name"], st.get("errors", []), st.get("lines", [])) for st in data.get("stages", [])],
            data.get("reused", 0),
        )


def save_record(backend: RecordStore, record: RunRecord) -> None:
    """Store ``record`` as ``to_json`` gives it, its events encoded one at a time (one per reconcile step:
    their JSON values all at once were the peak of a large run)."""
    events = (event.to_json() for event in record.events)
    backend.put_record_listing(RUNS_TABLE, f"{record.started}|{record.id}", record.summary_json(), "events", events)


def latest_record(backend: RecordStore) -> RunRecord | None:
    """The newest run's record; only that one is read (a client polling a server for quiet asks this often)."""
    keys = backend.record_keys(RUNS_TABLE)
    last = backend.get_record(RUNS_TABLE, keys[-1]) if keys else None
    return RunRecord.from_json(last) if last else None
