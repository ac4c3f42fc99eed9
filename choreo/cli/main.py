"""The ``choreo`` command: kubectl-like verbs over a project folder, or over a running server when one is
addressed (``--server``, ``$CHOREO_SERVER`` or the config file; see ``choreo.cli.common.addressable``).

Every user mistake surfaces as a ``ChoreoError``; ``main`` prints its one-line message to stderr and
exits non-zero, so no command ever shows a traceback for bad input.
"""

from __future__ import annotations

import json
import os
import sys
from importlib.metadata import entry_points
from typing import Any

import click
import yaml

from choreo.apiserver import ssa
from choreo.apiserver.registry import APIResource
from choreo.apiserver.server import APIServer
from choreo.cli.common import addressable, echo_lines, plugin_names, project_dir, project_state, stored_api
from choreo.errors import ChoreoError, NotFound
from choreo.messages import shorten
from choreo.results.summary import FORMATS, record_lines, table
from choreo.runtime.session import RunOptions, RunRecord, latest_record, run_project
from choreo.server.client import ServerClient


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
@addressable(
    "directory", "allocators", "schema", "out_dir", "reports", "max_reconciles", "time_limit", "verbose"
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
    verbose: bool,
) -> None:
    """Load DIRECTORY (default: .) and reconcile until the system is quiet (on the server, when addressed)."""
    if client is not None:
        _finish_run(RunRecord.from_json(client.run("once")["record"]), fmt)
        return
    root = project_dir(directory)
    log = (lambda msg: click.echo(msg, err=True)) if verbose else (lambda _msg: None)
    stage_options: dict[str, Any] = {"out": out_dir, "reports": _parse_reports(reports)}
    options = RunOptions(
        max_reconciles=max_reconciles,
        time_limit=time_limit,
        log=log,
        plugins=plugin_names(allocators, schema),
        stage_options=stage_options,
    )
    _finish_run(run_project(root, options), fmt)


def _finish_run(record: RunRecord, fmt: str) -> None:
    echo_lines(record_lines(record, fmt))
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


@run.command("result")
@click.argument("directory", required=False)
@click.option("-o", "--output", "fmt", type=click.Choice(FORMATS), default="reconciler", show_default=True)
@addressable("directory")
def run_result(client: ServerClient | None, directory: str | None, fmt: str) -> None:
    """Print the summary of the latest run; the exit code is 1 when that run failed (as the run's own)."""
    if client is not None:
        record: RunRecord | None = RunRecord.from_json(client.result()["record"])
    else:
        with project_state(directory) as backend:
            record = latest_record(backend)
    if record is None:
        raise ChoreoError("no run recorded yet: run `choreo run` first")
    echo_lines(record_lines(record, fmt, events=True))
    if not record.success:
        sys.exit(1)


# ----------------------------------------------------------------------------- reads


@cli.command("get")
@click.argument("resource")
@click.argument("name", required=False)
@click.option("-C", "--project", "directory", default=None, help="Project folder (default: .).")
@click.option("-n", "--namespace", default=None, help="Namespace (default: all).")
@click.option("-o", "--output", "fmt", type=click.Choice(["name", "yaml", "json"]), default="name")
@click.option("--show-managed-fields", is_flag=True)
@addressable("directory")
def get(
    client: ServerClient | None,
    resource: str,
    name: str | None,
    directory: str | None,
    namespace: str | None,
    fmt: str,
    show_managed_fields: bool,
) -> None:
    """Show objects of RESOURCE (plural, kind or short name, optionally .GROUP)."""
    if client is not None:
        info = client.resolve(resource)
        group_kind, objects = f"{info.kind}.{info.group}", client.list(info, namespace)
    else:
        with project_state(directory) as backend:
            api = stored_api(backend)
            kind = api.registry.resolve(resource)
            group_kind, objects = f"{kind.kind}.{kind.group}", api.list(kind.group, kind.kind, namespace)
    objects = _named(objects, name, namespace, group_kind)
    if not show_managed_fields:
        objects = [ssa.strip_managed_fields(o) for o in objects]
    if fmt == "name":
        for obj in objects:
            click.echo(f"{obj['kind']}.{obj['apiVersion']} {obj['metadata']['name']}")
    elif name and len(objects) == 1:
        click.echo(_dump(objects[0], fmt).rstrip())
    else:
        click.echo(_dump({"apiVersion": "v1", "kind": "List", "items": objects}, fmt).rstrip())


def _named(
    objects: list[dict[str, Any]], name: str | None, namespace: str | None, group_kind: str
) -> list[dict[str, Any]]:
    """The objects called ``name`` (all without a name), sorted by name then namespace."""
    if name:
        objects = [o for o in objects if o["metadata"]["name"] == name]
        if not objects:
            raise NotFound(f'{group_kind} "{f"{namespace}/{name}" if namespace else name}" not found')
    return sorted(objects, key=lambda o: (o["metadata"]["name"], o["metadata"].get("namespace", "")))


@cli.command("api-resources")
@click.option("-C", "--project", "directory", default=None, help="Project folder (default: .).")
@addressable("directory")
def api_resources(client: ServerClient | None, directory: str | None) -> None:
    """List the kinds the project registers (the server serves, when addressed)."""
    rows = [["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]]
    for r in client.resources() if client is not None else _project_resources(directory):
        rows.append([r.plural, ",".join(r.short_names), r.api_version, str(r.namespaced).lower(), r.kind])
    echo_lines(table(rows))


def _project_resources(directory: str | None) -> list[APIResource]:
    from choreo.loader.loading import load_project
    from choreo.loader.sync import register_crds
    from choreo.store.memory import MemoryBackend

    api = APIServer(MemoryBackend())
    register_crds(api, load_project(project_dir(directory)))
    return api.registry.resources()


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
    except ChoreoError as exc:  # one mistake, one short message (long lists go to the report files)
        click.echo(f"error: {shorten(str(exc))}", err=True)
        sys.exit(1)
    except OSError as exc:  # a file or folder that cannot be used as asked: name it, no traceback
        click.echo(f"error: {shorten(f'{exc.filename}: {exc.strerror}' if exc.filename else str(exc))}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.message = shorten(exc.message)
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


def run_as_module() -> None:
    """``python -m choreo``: like the console script, without the current folder on the import path.

    ``-m`` puts the working directory first on ``sys.path``; in a project folder its ``reconcilers/``
    would then shadow the plug-in package of the same name."""
    here = os.getcwd()
    sys.path[:] = [p for p in sys.path if p not in ("", here)]
    main()


if __name__ == "__main__":
    run_as_module()
