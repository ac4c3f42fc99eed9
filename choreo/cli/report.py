"""Machine-readable run results for CI: ``choreo run -o json`` and ``--report json=FILE|junit=FILE``.

Why: a CI job should not scrape the summary table. The JSON document carries the reconciler counts, the
failure (task, reconciler, object, message), each stage's result and the timings; the JUnit file has a test
case per reconciler and object, failed ones carrying the message, so CI shows what broke. With ``-s`` and a
run that got as far as the schema stage, the stage writes its own, per-device reports to the same files;
otherwise (no ``-s``, or reconciling failed before the stage) these are written, so a report file is
always there after a run. A report that cannot be written is an error, never silently skipped.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from choreo.errors import ChoreoError
from choreo.results.record import ERROR, REQUEUE, START, STOP, RunRecord
from choreo.results.reports import (
    REPORT_KINDS,
    JUnitCase,
    JUnitFailure,
    JUnitSuite,
    json_text,
    junit_xml,
    write_report,
)


def parse_reports(reports: tuple[str, ...]) -> dict[str, Path]:
    """``--report KIND=FILE`` options, checked before the run: a known kind and a folder that exists."""
    parsed: dict[str, Path] = {}
    for report in reports:
        kind, sep, path = report.partition("=")
        if not sep or kind not in REPORT_KINDS or not path:
            raise ChoreoError(f"--report {report}: expected junit=FILE or json=FILE")
        target = Path(path)
        if not target.parent.resolve().is_dir():
            raise ChoreoError(f"--report {report}: folder {target.parent} does not exist")
        if target.is_dir():
            raise ChoreoError(f"--report {report}: {target} is a folder")
        parsed[kind] = target
    return parsed


def _failed_object(record: RunRecord) -> tuple[str, str]:
    """The reconciler and object (``group.Kind.namespace.name``) the failure is about."""
    errors = [e for e in record.events if e.operation == ERROR]
    if errors:
        return errors[-1].reconciler, errors[-1].resource
    reconcilers = sorted({e.reconciler for e in record.events}, key=len, reverse=True)
    name = next((r for r in reconcilers if record.failed_task.startswith(f"{r}.")), "")
    return name, record.failed_task[len(name) + 1 :] if name else record.failed_task


def run_document(record: RunRecord) -> dict[str, Any]:
    """The run as one JSON document."""
    counts: dict[str, Counter[str]] = {}
    for event in record.events:
        counts.setdefault(event.reconciler, Counter())[event.operation] += 1
    failures = []
    if record.failure is not None:
        reconciler, obj = _failed_object(record)
        failures.append({"task": record.failed_task, "reconciler": reconciler, "object": obj,
                         "message": record.failure})
    reconcile_seconds = (record.events[-1].time - record.events[0].time).total_seconds() if record.events else 0.0
    return {
        "id": record.id,
        "runner": record.runner,
        "started": record.started,
        "success": record.success,
        "reconcilers": [
            {"name": name, "start": c[START], "stop": c[STOP], "requeue": c[REQUEUE], "error": c[ERROR]}
            for name, c in sorted(counts.items())
        ],
        "reused": record.reused,
        "failures": failures,
        "stages": [{"name": s.name, "success": s.success, "errors": s.errors, "lines": s.lines}
                   for s in record.stages],
        "timings": {"reconcileSeconds": round(reconcile_seconds, 6), "wallSeconds": round(record.wall_seconds, 6)},
    }


def junit_document(record: RunRecord) -> str:
    """One test case per reconciler and object that was reconciled (and per stage); failures carry the message."""
    cases: dict[tuple[str, str], str | None] = {}
    for event in record.events:
        cases.setdefault((event.reconciler, event.resource), None)
        if event.operation == ERROR:
            cases[(event.reconciler, event.resource)] = event.message
    if record.failure is not None:
        reconciler, obj = _failed_object(record)
        cases[(reconciler, obj)] = record.failure
    reconcile = JUnitSuite("reconcile", tuple(
        JUnitCase(reconciler, obj, () if message is None else (JUnitFailure(_first_line(message), message),))
        for (reconciler, obj), message in sorted(cases.items())
    ))
    stages = [
        JUnitSuite(stage.name, (JUnitCase(stage.name, stage.name, (
            JUnitFailure(f"{len(stage.errors)} error(s)", "\n".join(stage.errors)),) if stage.errors else ()),))
        for stage in record.stages
    ]
    return junit_xml(f"choreo run {record.runner}", [reconcile, *stages])


def _first_line(message: str) -> str:
    return message.splitlines()[0] if message else ""


def write_reports(reports: dict[str, Path], record: RunRecord) -> None:
    """Write the requested reports of ``record``; an unwritable file is a ``ChoreoError`` naming it."""
    for kind, path in reports.items():
        write_report(kind, path, junit_document(record) if kind == "junit" else json_text(run_document(record)))
