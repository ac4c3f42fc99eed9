"""The run summary the reference prints, in its three forms (reconciler, resource, raw).

``record_lines`` is what ``choreo run once`` and ``choreo run result`` print for a run record, whether the
record comes from a local run or from a server.
"""

from __future__ import annotations

import re
from collections import Counter

from choreo.messages import SHOWN, shorten
from choreo.results.record import ERROR, REQUEUE, START, STOP, RunEvent, RunRecord, StageResult

FORMATS = ("reconciler", "resource", "raw")


def milliseconds(seconds: float) -> str:
    """A duration in the unit the summary's ``time(msec)`` label names: ``12.487ms``, ``1523.4ms``.

    The reference prints Go's ``time.Duration`` there, which switches to ``1.5s`` or ``850µs`` under the same
    ``msec`` label; we keep its text for the common case (``12.487ms``) and never change the unit."""
    text = f"{seconds * 1000:.3f}".rstrip("0").rstrip(".")
    return f"{text}ms"


def table(rows: list[list[str]], gap: str = " ") -> list[str]:
    """Left-aligned columns, each padded to its widest cell plus ``gap`` (one space: the reference's summary;
    kubectl's tables use three)."""
    widths = column_widths(rows)
    return [padded(row, widths, gap) for row in rows]


def column_widths(rows: list[list[str]]) -> list[int]:
    """Each column's widest cell."""
    return [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]


def padded(row: list[str], widths: list[int], gap: str = " ") -> str:
    """One row of ``table``: each cell padded to its column's width (a wider cell as it is), then ``gap``."""
    return gap.join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key putting ``leaf2`` before ``leaf10``: digit runs compare as numbers."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name) if part)


def _counts(events: list[RunEvent], key: str) -> list[list[str]]:
    counters: dict[tuple[str, ...], Counter[str]] = {}
    for event in events:
        ident: tuple[str, ...] = (event.reconciler,) if key == "reconciler" else (event.reconciler, event.resource)
        counters.setdefault(ident, Counter())[event.operation] += 1
    rows = []
    for shown in sorted(counters):
        c = counters[shown]
        rows.append([*shown, str(c[START]), str(c[STOP]), str(c[REQUEUE]), str(c[ERROR])])
    return rows


def render_events(events: list[RunEvent], fmt: str) -> list[str]:
    if fmt == "raw":
        rows = [["EventTime", "Reconciler", "Resource", "Operation", "Message"]]
        for e in events:
            stamp = e.time.strftime("%Y-%m-%d %H:%M:%S.%f") + " UTC"
            rows.append([stamp, e.reconciler, e.resource, e.operation, e.message])
        return table(rows)
    if fmt == "resource":
        header = ["Reconciler", "Resource", "Start", "Stop", "Requeue", "Error"]
    else:
        header = ["Reconciler", "Start", "Stop", "Requeue", "Error"]
    return table([header, *_counts(events, fmt)])


def render_summary(
    runner: str, events: list[RunEvent], failure: str | None, failed_task: str, fmt: str = "reconciler"
) -> list[str]:
    if failure is not None:
        return ["execution failed", f"  reason task {failed_task} message {shorten(failure)}"]
    elapsed = (events[-1].time - events[0].time).total_seconds() if events else 0.0
    return [
        f"Run {runner} summary",
        f"execution success, time(msec) {milliseconds(elapsed)}",
        *render_events(events, fmt),
    ]


def record_lines(record: RunRecord, fmt: str = "reconciler", *, events: bool = False) -> list[str]:
    """The summary of ``record``, then each stage's lines and errors; with ``events``, a failed run's events
    too (in the ``resource`` and ``raw`` formats, as ``run result`` shows them)."""
    lines = render_summary(record.runner, record.events, record.failure, record.failed_task, fmt)
    if record.reused and record.failure is None:
        lines.append(f"reused {record.reused} reconciles whose inputs were unchanged")
    for stage in record.stages:
        lines.extend(stage.lines)
        lines.extend(_stage_errors(stage))
    if events and fmt != "reconciler" and record.failure is not None:
        lines.extend(render_events(record.events, fmt))
    if record.stages:
        lines.append(verdict_line(record))
    return lines


def verdict_line(record: RunRecord) -> str:
    """The run's overall verdict, printed last when stages ran (they run only after reconciling succeeded):
    ``execution success`` at the top, the reference's line, is about reconciling; a failed stage fails the run."""
    failed = [f"{stage.name} ({len(stage.errors)} error(s))" for stage in record.stages if not stage.success]
    return f"run failed: {', '.join(failed)}" if failed else "run succeeded"


def error_lines(record: RunRecord) -> list[str]:
    """Only what went wrong (``run -q``): the failure, or each failed stage and its first errors."""
    if record.failure is not None:
        return render_summary(record.runner, record.events, record.failure, record.failed_task)
    return [line for stage in record.stages for line in _stage_errors(stage)]


def _stage_errors(stage: StageResult) -> list[str]:
    if not stage.errors:
        return []
    return [f"{stage.name} failed with {len(stage.errors)} error(s)", *_first_errors(stage.errors)]


def _first_errors(errors: list[str]) -> list[str]:
    """The first few errors, one short line each: one mistake often repeats on every device, and the
    complete list is what the report files (``--report json=FILE``, ``junit=FILE``) are for."""
    lines = [f"  {shorten(error)}" for error in errors[:SHOWN]]
    if len(errors) > SHOWN:
        lines.append(f"  ... and {len(errors) - SHOWN} more (all of them: --report json=FILE or junit=FILE)")
    return lines
