"""The ``choreo`` command: kubectl-like verbs over a project folder, or over a running server when one is
addressed (``--server``, ``$CHOREO_SERVER`` or the config file; see ``choreo.cli.common.addressable``).

Every user mistake surfaces as a ``ChoreoError``; ``main`` prints its one-line message to stderr and
exits non-zero, so no command ever shows a traceback for bad input.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import click

from choreo.cli import hints, reference_flags
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
from choreo.cli.groups import DefaultGroup, LazyGroup, plain_help
from choreo.cli.progress import RunProgress
from choreo.cli.report import parse_reports, run_document, write_reports
from choreo.errors import ChoreoError
from choreo.messages import shorten
from choreo.plugins import SCHEMA
from choreo.results.record import RunRecord, latest_record
from choreo.results.staleness import stale_outputs
from choreo.results.summary import FORMATS, error_lines, record_lines
from choreo.runtime import collector
from choreo.runtime.session import RunOptions, run_project
from choreo.server.client import ServerClient

RUN_FORMATS = (*FORMATS, "json")
STALE_MARK = "STALE"  # the file in out/ saying its configs predate the latest run


class Interrupted(Exception):
    """Ctrl-C during a run: exit 130 with one line, nothing of the run kept or recorded."""


# The commands of other modules, imported when used (``LazyGroup``); ``choreo config`` and ``choreo schema``
# come from plug-ins, through the ``choreo.commands`` entry points.
COMMANDS = {
    "get": "choreo.cli.get:get",  # the reads
    "api-resources": "choreo.cli.get:api_resources",
    "completion": "choreo.cli.completion:completion_command",
    "apply": "choreo.cli.files:apply",  # the writes
    "delete": "choreo.cli.files:delete",
    "dev": "choreo.cli.files:dev",
    "server": "choreo.cli.server:server",
    "deps": "choreo.cli.results:run_deps",  # the reference's older, top-level spelling of `run deps`
    "branch": "choreo.cli.branches:branch",  # version control
    "version": "choreo.cli.compat:version",  # and tui/version upgrade pointing elsewhere
    "tui": "choreo.cli.compat:tui",
}
RUN_COMMANDS = {  # beside `once` and `result`, defined here
    "list": "choreo.cli.results:run_list",
    "diff": "choreo.cli.results:run_diff",
    "deps": "choreo.cli.results:run_deps",
    "start": "choreo.cli.server:run_start",
    "stop": "choreo.cli.server:run_stop",
    "load": "choreo.cli.server:run_load",
    "commit": "choreo.cli.branches:run_commit",
    "push": "choreo.cli.branches:run_push",
}


@click.group(
    cls=LazyGroup, lazy=COMMANDS, plugins="choreo.commands", context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(package_name="choreo")
def cli() -> None:
    """choreo turns network intent into validated device configuration."""


# ----------------------------------------------------------------------------- run


@cli.group(cls=DefaultGroup, lazy=RUN_COMMANDS)
def run() -> None:
    """Run a project's reconcilers until quiet (default: run once; its options are listed below)."""


@run.command("once")
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
                plugins=plugin_names(allocators, schema),
                stage_options=stage_options if schema else {"out": out_dir},
                progress=progress,
                full=full,
            )
            record = _run(root, options, allocators)
    except KeyboardInterrupt:
        raise Interrupted("interrupted: the run was stopped; nothing of it was kept") from None
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
        click.echo(json_text(run_document(record)))
    elif quiet:
        for line in error_lines(record):
            click.echo(line, err=True)
    else:
        echo_lines(record_lines(record, fmt))
    if not record.success:
        sys.exit(1)


def json_text(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2)


@run.command("result")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("-o", "--output", "fmt", type=click.Choice(RUN_FORMATS), default="reconciler", show_default=True)
@addressable("directory")
def run_result(client: ServerClient | None, directory: str | None, fmt: str) -> None:
    """Print the summary of the latest run; the exit code is 1 when that run failed (as the run's own).

    Against a server, also the objects whose reconcile keeps failing and when each is retried (exit 1
    while there are any)."""
    retries: list[dict[str, Any]] = []
    if client is not None:
        result = client.result()
        record: RunRecord | None = RunRecord.from_json(result["record"])
        retries = result.get("retries") or []
    else:
        with project_api(directory) as api:
            record = latest_record(api.records)
    if record is None:
        raise ChoreoError("no run recorded yet: run `choreo run` first")
    if fmt == "json":
        click.echo(json_text({**run_document(record), **({"retries": retries} if client is not None else {})}))
    else:
        echo_lines(record_lines(record, fmt, events=True) + retry_lines(retries))
    if not record.success or retries:
        sys.exit(1)


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


plain_help(cli)
reference_flags.install(cli)  # choreoctl's global flags, on every command


def main() -> None:
    collector.tune()
    try:
        cli.main(reference_flags.hoist(sys.argv[1:]), prog_name="choreo", standalone_mode=False)
    except ChoreoError as exc:  # one mistake, one short message (long lists go to the report files)
        click.echo(f"error: {shorten(str(exc))}", err=True)
        sys.exit(1)
    except Interrupted as exc:
        click.echo(str(exc), err=True)
        sys.exit(130)
    except OSError as exc:  # a file or folder that cannot be used as asked: name it, no traceback
        click.echo(f"error: {shorten(f'{exc.filename}: {exc.strerror}' if exc.filename else str(exc))}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        vars(exc)["message"] = shorten(exc.message)  # click types it Final; shown shortened, usage kept
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a bug in choreo, not a user mistake: still one line, details on request
        if os.environ.get("CHOREO_DEBUG"):
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (set CHOREO_DEBUG=1 for the traceback)", err=True)
        sys.exit(70)


def console() -> None:
    """The ``choreo`` console script: ``main``, then the process ends without the interpreter's teardown.

    Why: a run leaves a large heap (the store's decoded objects, the memo, the allocators' indexes) that
    the interpreter would free object by object on the way out; at N=1000 that is about a tenth of a
    one-Link run, and it grows with the network. Nothing is lost by skipping it: every file choreo writes
    and the store are committed and closed before ``main`` returns. What an ordinary exit does that
    matters is done here, in its order: wait for other non-daemon threads (there are none in a command
    that returns; if there are, the ordinary exit does it), run the ``atexit`` handlers (the reconcile
    workers stop there), flush the standard streams (exit status 120 when that fails, as Python's).
    ``main`` stays an ordinary function, for callers that run commands in their own process."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = _exit_status(exc)
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 120
    os._exit(code)


def _exit_status(exc: SystemExit) -> int:
    """The exit status ``SystemExit`` stands for, its message printed as Python prints it."""
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    print(exc.code, file=sys.stderr)
    return 1


def run_as_module() -> None:
    """``python -m choreo``: like the console script, without the current folder on the import path.

    ``-m`` puts the working directory first on ``sys.path``; in a project folder its ``reconcilers/``
    would then shadow the plug-in package of the same name. Only that first entry goes: the same folder
    named on purpose (``PYTHONPATH``) stays."""
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    console()


if __name__ == "__main__":
    run_as_module()
