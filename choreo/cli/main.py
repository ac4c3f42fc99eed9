"""The ``choreo`` command: kubectl-like verbs over a project folder, no server needed.

Every user mistake surfaces as a ``ChoreoError``; ``main`` prints its one-line message to stderr and
exits non-zero, so no command ever shows a traceback for bad input.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import entry_points
from typing import Any

import click
import yaml

from choreo.apiserver import ssa
from choreo.apiserver.server import APIServer
from choreo.cli.common import project_dir, project_state, stored_api
from choreo.errors import ChoreoError, NotFound
from choreo.plugins import INTERNAL_RECONCILERS, SCHEMA
from choreo.results.summary import FORMATS, render_events, render_summary
from choreo.runtime.session import RunOptions, RunRecord, latest_record, run_project


class DefaultGroup(click.Group):
    """A group that runs its default subcommand when the first argument is not a subcommand name."""

    default_command = "once"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def _dump(obj: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(obj, indent=2, sort_keys=True)
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="choreo")
def cli() -> None:
    """choreo turns network intent into validated device configuration."""


# ----------------------------------------------------------------------------- run


@cli.group(cls=DefaultGroup)
def run() -> None:
    """Run a project's reconcilers until quiet (default: ``run once``)."""


@run.command("once")
@click.argument("directory", required=False)
@click.option(
    "-o", "--output", "fmt", type=click.Choice(FORMATS), default="reconciler", show_default=True, help="Summary format."
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
@click.option("--out", "out_dir", default=None, help="Folder for rendered device configs (with -s; default: out).")
@click.option(
    "--report",
    "reports",
    multiple=True,
    metavar="FORMAT=FILE",
    help="Write a validation report (with -s): junit=FILE or json=FILE.",
)
@click.option(
    "--max-reconciles",
    default=100,
    show_default=True,
    help="Reconciles of one object before the run is declared a loop.",
)
@click.option("--time-limit", default=10.0, show_default=True, help="Seconds one reconcile may take.")
@click.option("-v", "--verbose", is_flag=True, help="Show reconciler print() output and warnings.")
def run_once(
    directory: str | None,
    fmt: str,
    allocators: bool,
    schema: bool,
    out_dir: str | None,
    reports: tuple[str, ...],
    max_reconciles: int,
    time_limit: float,
    verbose: bool,
) -> None:
    """Load DIRECTORY (default: .) and reconcile until the system is quiet."""
    root = project_dir(directory)
    log = (lambda msg: click.echo(msg, err=True)) if verbose else (lambda _msg: None)
    plugins = ([INTERNAL_RECONCILERS] if allocators else []) + ([SCHEMA] if schema else [])
    stage_options: dict[str, Any] = {"out": out_dir, "reports": _parse_reports(reports)}
    options = RunOptions(
        max_reconciles=max_reconciles, time_limit=time_limit, log=log, plugins=plugins, stage_options=stage_options
    )
    record = run_project(root, options)
    _print_record(record, fmt)
    if not record.success:
        sys.exit(1)


def _parse_reports(reports: tuple[str, ...]) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for report in reports:
        kind, sep, path = report.partition("=")
        if not sep or kind not in ("junit", "json") or not path:
            raise ChoreoError(f"--report {report}: expected junit=FILE or json=FILE")
        parsed[kind] = path
    return parsed


def _print_record(record: RunRecord, fmt: str) -> None:
    for line in render_summary(record.runner, record.events, record.failure, record.failed_task, fmt):
        click.echo(line)
    for stage in record.stages:
        for line in stage.lines:
            click.echo(line)
        if stage.errors:
            click.echo(f"{stage.name} failed with {len(stage.errors)} error(s)")
            for error in stage.errors:
                click.echo(f"  {error}")


@run.command("result")
@click.argument("directory", required=False)
@click.option("-o", "--output", "fmt", type=click.Choice(FORMATS), default="reconciler", show_default=True)
def run_result(directory: str | None, fmt: str) -> None:
    """Print the summary of the latest run."""
    with project_state(directory) as backend:
        record = latest_record(backend)
    if record is None:
        raise ChoreoError("no run recorded yet: run `choreo run` first")
    _print_record(record, fmt)
    if fmt != "reconciler" and record.failure is not None:
        for line in render_events(record.events, fmt):
            click.echo(line)


# ----------------------------------------------------------------------------- reads


@cli.command("get")
@click.argument("resource")
@click.argument("name", required=False)
@click.option("-C", "--project", "directory", default=None, help="Project folder (default: .).")
@click.option("-n", "--namespace", default=None, help="Namespace (default: all).")
@click.option("-o", "--output", "fmt", type=click.Choice(["name", "yaml", "json"]), default="name")
@click.option("--show-managed-fields", is_flag=True)
def get(
    resource: str,
    name: str | None,
    directory: str | None,
    namespace: str | None,
    fmt: str,
    show_managed_fields: bool,
) -> None:
    """Show objects of RESOURCE (plural, kind or short name, optionally .GROUP)."""
    with project_state(directory) as backend:
        api = stored_api(backend)
        kind = api.registry.resolve(resource)
        if name:
            matches = [o for o in api.list(kind.group, kind.kind, namespace) if o["metadata"]["name"] == name]
            if not matches:
                where = f"{namespace}/{name}" if namespace else name
                raise NotFound(f'{kind.kind}.{kind.group} "{where}" not found')
            objects = matches
        else:
            objects = api.list(kind.group, kind.kind, namespace)
        objects.sort(key=lambda o: (o["metadata"]["name"], o["metadata"].get("namespace", "")))
        if not show_managed_fields:
            objects = [ssa.strip_managed_fields(o) for o in objects]
        if fmt == "name":
            for obj in objects:
                click.echo(f"{obj['kind']}.{obj['apiVersion']} {obj['metadata']['name']}")
        elif name and len(objects) == 1:
            click.echo(_dump(objects[0], fmt).rstrip())
        else:
            click.echo(_dump({"apiVersion": "v1", "kind": "List", "items": objects}, fmt).rstrip())


@cli.command("api-resources")
@click.option("-C", "--project", "directory", default=None, help="Project folder (default: .).")
def api_resources(directory: str | None) -> None:
    """List the kinds the project registers."""
    from choreo.loader.loading import load_project
    from choreo.loader.sync import register_crds
    from choreo.results.summary import table
    from choreo.store.memory import MemoryBackend

    root = project_dir(directory)
    api = APIServer(MemoryBackend())
    register_crds(api, load_project(root))
    rows = [["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]]
    for r in api.registry.resources():
        rows.append([r.plural, ",".join(r.short_names), r.api_version, str(r.namespaced).lower(), r.kind])
    for line in table(rows):
        click.echo(line)


# ----------------------------------------------------------------------------- writes

from choreo.cli import files  # noqa: E402  (the apply/delete/dev commands live in their own module)

cli.add_command(files.apply)
cli.add_command(files.delete)
cli.add_command(files.dev)


def _add_plugin_commands(group: click.Group) -> None:
    """Commands plug-ins bring (``choreo config``, ``choreo schema``), found through entry points."""
    for entry in entry_points(group="choreo.commands"):
        try:
            command = entry.load()
        except ImportError:
            continue  # the plug-in is not installed: its commands are simply absent
        if entry.name not in group.commands:
            group.add_command(command, entry.name)


_add_plugin_commands(cli)
from choreo.cli import server as server_commands  # noqa: E402  (server start/apply/get, run start/stop)

server_commands.register(cli)

from choreo.cli import results as results_cli  # noqa: E402  (run list/diff/deps)

results_cli.register(run)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except ChoreoError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
