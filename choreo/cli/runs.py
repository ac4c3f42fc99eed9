"""``choreo run`` (``run once``) and ``choreo run result``: a run of the project folder (or of the addressed
server) and the summary of the latest one.

Why a module of its own: it is the one command module that needs the reconcile engine, imported when one
of these two commands is used (``choreo.cli.groups.LazyGroup``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from choreo.cli import hints
from choreo.cli.common import (
    addressable,
    allocator_crds,
    echo_lines,
    max_reconciles_option,
    plugin_names,
    project_api,
    project_dir,
    time_limit_option,
)
from choreo.cli.exits import FAILED, INTERRUPTED
from choreo.cli.progress import RunProgress
from choreo.cli.report import parse_reports, run_document, write_reports
from choreo.errors import ChoreoError
from choreo.messages import shorten
from choreo.plugins import SCHEMA
from choreo.results.record import RunRecord, latest_record
from choreo.results.reports import json_text
from choreo.results.staleness import stale_outputs
from choreo.results.summary import FORMATS, error_lines, record_lines
from choreo.runtime.options import RunOptions
from choreo.runtime.session import run_project
from choreo.server.client import ServerClient

RUN_FORMATS = (*FORMATS, "json")
STALE_MARK = "STALE"  # the file in out/ saying its configs predate the latest run


@click.command("once")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option(
    "-o", "--output", "fmt", type=click.Choice(RUN_FORMATS), default="reconciler", show_default=True,
    help="Summary format; json: counts, failures, stage results and timings as one document.",
)
@click.option(
    "-r",
    "--internal-reconcilers",
    "allocators",
    is_flag=True,
    help="Enable the built-in allocators (IPAM, VLAN, AS, GENID, EXTCOMM).",
)
@click.option(
    "-s",
    "--sdc",
    "--schema",
    "schema",
    is_flag=True,
    help="Merge and validate each device's config against its YANG schema after reconciling.",
)
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Folder for rendered device configs (with -s; default: out).")
@click.option(
    "--report",
    "reports",
    multiple=True,
    metavar="FORMAT=FILE",
    help="Write a report for CI: json=FILE or junit=FILE, also when reconciling fails (with -s and a run that "
    "reaches validation: the per-device validation report).",
)
@max_reconciles_option
@time_limit_option
@click.option("--full", is_flag=True, help="Reuse nothing from earlier runs: every reconcile, every device validated.")
@click.option("-v", "--verbose", is_flag=True, help="Show reconciler print() output and warnings.")
@click.option("-q", "--quiet", is_flag=True, help="Print errors only (no summary, no progress).")
@addressable(
    "directory", "allocators", "schema", "out_dir", "reports", "max_reconciles", "time_limit", "full", "verbose"
)
def run_once(
    client: ServerClient | None,
    directory: str | None,
    fmt: str,
    allocators: bool,
    schema: bool,
    out_dir: str | None,
    reports: tuple[str, ...],
    max_reconciles: int,
    time_limit: float,
    full: bool,
    verbose: bool,
    quiet: bool,
) -> None:
    """Load DIRECTORY (default: .) and reconcile until the system is quiet (on the server, when addressed).

    On a terminal a progress line shows reconciles done and queued, then devices validated."""
    if client is not None:
        _finish_run(RunRecord.from_json(client.run("once")["record"]), fmt, quiet)
        return
    root = project_dir(directory)
    report_files = parse_reports(reports)
    log = (lambda msg: click.echo(msg, err=True)) if verbose else (lambda _msg: None)
    stage_options: dict[str, Any] = {"out": out_dir, "reports": {k: str(v) for k, v in report_files.items()}}
    try:
        with RunProgress.for_stderr(quiet) as progress:
            options = RunOptions(
                max_reconciles=max_reconciles,
                time_limit=time_limit,
                log=log,
                notice=progress.say,
                plugins=plugin_names(allocators, schema),
                stage_options=stage_options if schema else {"out": out_dir},
                progress=progress,
                full=full,
            )
            record = _run(root, options, allocators)
    except KeyboardInterrupt:  # one line, nothing of the run kept or recorded
        click.echo("interrupted: the run was stopped; nothing of it was kept", err=True)
        sys.exit(INTERRUPTED)
    if not (schema and record.failure is None):  # else the schema stage wrote its per-device reports
        write_reports(report_files, record)
    _mark_outputs(root, Path(out_dir) if out_dir else root / "out", schema, record)
    _finish_run(record, fmt, quiet)


def _run(root: Path, options: RunOptions, allocators: bool) -> RunRecord:
    try:
        return run_project(root, options)
    except ChoreoError as exc:
        if allocators:
            raise
        kinds = {(c["spec"]["group"], c["spec"]["names"]["kind"]) for c in allocator_crds()}
        raise hints.with_allocator_hint(exc, kinds) from None


def _mark_outputs(root: Path, out: Path, schema: bool, record: RunRecord) -> None:
    """After a run without -s that changed objects since the last -s run, say that the final configs are
    stale and leave a STALE file in ``out``; a run with -s removes that mark."""
    mark = out / STALE_MARK
    if schema:
        mark.unlink(missing_ok=True)
        return
    if record.failure is not None:
        return
    with project_api(str(root)) as api:
        stale = stale_outputs(api.records, SCHEMA)
    if stale is None:
        return
    click.echo(f"warning: {stale.message}", err=True)
    if out.is_dir():
        mark.write_text(stale.message + "\n", encoding="utf-8")


def _finish_run(record: RunRecord, fmt: str, quiet: bool = False) -> None:
    if fmt == "json":
        click.echo(json_text(run_document(record)), nl=False)
    elif quiet:
        for line in error_lines(record):
            click.echo(line, err=True)
    else:
        echo_lines(record_lines(record, fmt))
    if not record.success:
        sys.exit(FAILED)


@click.command("result")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("-o", "--output", "fmt", type=click.Choice(RUN_FORMATS), default="reconciler", show_default=True)
@addressable("directory")
def run_result(client: ServerClient | None, directory: str | None, fmt: str) -> None:
    """Print the summary of the latest run; the exit code is 1 when that run failed (as the run's own).

    Against a server, also the objects whose reconcile keeps failing and when each is retried (exit 1
    while there are any), and, while its project folder does not load, why (exit 1: the run shown is from
    before, and nothing is reconciled until the folder loads)."""
    retries: list[dict[str, Any]] = []
    not_loaded = ""
    if client is not None:
        result = client.result()
        record: RunRecord | None = RunRecord.from_json(result["record"])
        retries = result.get("retries") or []
        not_loaded = str(result.get("notLoaded") or "")
    else:
        with project_api(directory) as api:
            record = latest_record(api.records)
    if record is None:
        raise ChoreoError("no run recorded yet: run `choreo run` first")
    if fmt == "json":
        document = {**run_document(record), **({"retries": retries} if client is not None else {})}
        click.echo(json_text(document | ({"notLoaded": not_loaded} if not_loaded else {})), nl=False)
    else:
        said = [f"{not_loaded} (the run below is from before it; nothing is reconciled until it loads)"]
        echo_lines((said if not_loaded else []) + record_lines(record, fmt, events=True) + retry_lines(retries))
    if not record.success or retries or not_loaded:
        sys.exit(FAILED)


def retry_lines(retries: list[dict[str, Any]]) -> list[str]:
    """The server's failing objects, each with its backoff state."""
    if not retries:
        return []
    lines = [f"retrying {len(retries)} failing object(s) with backoff"]
    for retry in retries:
        lines.append(
            f"  task {retry['task']} reconciler {retry['reconciler']} object {retry['object']} "
            f"attempts {retry['attempts']} next retry in {retry['delaySeconds']:g}s at {retry['nextAttempt']}"
        )
        lines.append(f"    {shorten(retry['message'])}")
    return lines
