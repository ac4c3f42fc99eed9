"""The run summary the reference prints, in its three forms (reconciler, resource, raw).

``record_lines`` is what ``choreo run once`` and ``choreo run result`` print for a run record, whether the
record comes from a local run or from a server.
"""

from __future__ import annotations

from collections import Counter

from choreo.messages import SHOWN, shorten
from choreo.results.record import ERROR, REQUEUE, START, STOP, RunEvent, RunRecord

FORMATS = ("reconciler", "resource", "raw")


def go_duration(seconds: float) -> str:
    """Format like Go's time.Duration.String (``12.487ms``, ``1.5s``, ``850µs``)."""
    nanos = round(seconds * 1e9)
    if nanos == 0:
        return "0s"
    if nanos < 1_000:
        return f"{nanos}ns"
    if nanos < 1_000_000:
        return f"{_trim(nanos / 1_000)}µs"
    if nanos < 1_000_000_000:
        return f"{_trim(nanos / 1_000_000)}ms"
    total = nanos / 1e9
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    out = f"{int(hours)}h" if hours else ""
    out += f"{int(minutes)}m" if hours or minutes else ""
    return out + f"{_trim(secs)}s"


def _trim(value: float) -> str:
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return text or "0"


def table(rows: list[list[str]]) -> list[str]:
    """Left-aligned columns, each padded to its widest cell plus one space."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [" ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]


def _counts(events: list[RunEvent], key: str) -> list[list[str]]:
    counters: dict[tuple[str, ...], Counter[str]] = {}
    for event in events:
        ident = (event.reconciler,) if key == "reconciler" else (event.reconciler, event.resource)
        counters.setdefault(ident, Counter())[event.operation] += 1
    rows = []
    for ident in sorted(counters):
        c = counters[ident]
        rows.append([*ident, str(c[START]), str(c[STOP]), str(c[REQUEUE]), str(c[ERROR])])
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
        f"execution success, time(msec) {go_duration(elapsed)}",
        *render_events(events, fmt),
    ]


def record_lines(record: RunRecord, fmt: str = "reconciler", *, events: bool = False) -> list[str]:
    """The summary of ``record``, then each stage's lines and errors; with ``events``, a failed run's events
    too (in the ``resource`` and ``raw`` formats, as ``run result`` shows them)."""
    lines = render_summary(record.runner, record.events, record.failure, record.failed_task, fmt)
    for stage in record.stages:
        lines.extend(stage.lines)
        if stage.errors:
            lines.append(f"{stage.name} failed with {len(stage.errors)} error(s)")
            lines.extend(_first_errors(stage.errors))
    if events and fmt != "reconciler" and record.failure is not None:
        lines.extend(render_events(record.events, fmt))
    return lines


def _first_errors(errors: list[str]) -> list[str]:
    """The first few errors, one short line each: one mistake often repeats on every device, and the
    complete list is what the report files (``--report json=FILE``, ``junit=FILE``) are for."""
    lines = [f"  {shorten(error)}" for error in errors[:SHOWN]]
    if len(errors) > SHOWN:
        lines.append(f"  ... and {len(errors) - SHOWN} more (all of them: --report json=FILE or junit=FILE)")
    return lines
