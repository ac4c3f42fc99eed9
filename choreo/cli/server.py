"""The server-side commands: ``choreo server start|apply|get`` and ``choreo run start|stop``.

``server start`` runs the long-running server in the foreground (JSON-lines logs on stderr; SIGTERM or
Ctrl-C stop it cleanly). The other commands talk to a running server, addressed by ``--server URL``, the
``CHOREO_SERVER`` variable or the config file (see ``choreo.server.client``), defaulting to
``http://127.0.0.1:51000``. ``run start --kubeconfig FILE DIR`` runs a project's reconcilers against any
Kubernetes API server instead. The ``remote_*`` helpers serve the local commands (``run once``, ``get``,
``apply``, ``delete``, ``api-resources``, ``run result``) when a server is addressed.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import click

from choreo.errors import ChoreoError
from choreo.plugins import INTERNAL_RECONCILERS, SCHEMA, StageResult
from choreo.results.summary import render_events, render_summary, table
from choreo.runtime.session import RunOptions, RunRecord
from choreo.server.app import DEFAULT_ADDRESS, JsonLog, ServerApp, ServerConfig, is_loopback, parse_address
from choreo.server.client import ServerClient, read_token

DEFAULT_SERVER = f"http://{DEFAULT_ADDRESS}"
DEFAULT_WORKSPACE = "choreo-workspace"

server_option = click.option(
    "--server", "server_url", default=None, help="choreo server URL (default: $CHOREO_SERVER, config file, local)."
)


def plugin_names(allocators: bool, schema: bool) -> list[str]:
    return ([INTERNAL_RECONCILERS] if allocators else []) + ([SCHEMA] if schema else [])


def client_for(server_url: str | None) -> ServerClient:
    """The addressed server, or the default local one."""
    return ServerClient.addressed(server_url) or ServerClient(DEFAULT_SERVER, read_token(None))


def _on_signal(app: ServerApp) -> None:
    def stop(_signum: int, _frame: Any) -> None:
        app.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


# ----------------------------------------------------------------------------------------------- server


@click.group("server")
def server() -> None:
    """Serve projects over a Kubernetes-compatible API (static or dynamic mode)."""


@server.command("start")
@click.argument("directory", required=False)
@click.option("--address", default=DEFAULT_ADDRESS, show_default=True, help="HOST:PORT to listen on.")
@click.option("--token-file", default=None, help="Bearer token file (else $CHOREO_TOKEN); required off loopback.")
@click.option("--workspace", default=DEFAULT_WORKSPACE, show_default=True, help="Dynamic mode: where repos are cloned.")
@click.option("--run/--no-run", "run_runner", default=True, help="Static mode: reconcile continuously (default).")
@click.option("-r", "--internal-reconcilers", "allocators", is_flag=True, help="Enable the built-in allocators.")
@click.option("-s", "--sdc", "--schema", "schema", is_flag=True, help="Run the YANG schema stage after reconciling.")
@click.option("--max-reconciles", default=100, show_default=True, help="Reconciles of one object before a loop.")
@click.option("--time-limit", default=10.0, show_default=True, help="Seconds one reconcile may take.")
@click.option("-d", "--debug", is_flag=True, help="Also log every request.")
def start(
    directory: str | None,
    address: str,
    token_file: str | None,
    workspace: str,
    run_runner: bool,
    allocators: bool,
    schema: bool,
    max_reconciles: int,
    time_limit: float,
    debug: bool,
) -> None:
    """Start the server: static mode on DIRECTORY, or dynamic mode (see `server apply`) without it."""
    host, port = parse_address(address)
    token = read_token(token_file)
    if not is_loopback(host) and not token:
        raise ChoreoError(
            f"--address {address}: listening beyond loopback needs a bearer token (--token-file FILE or CHOREO_TOKEN)"
        )
    root = None
    if directory:
        root = Path(directory).resolve()
        if not root.is_dir():
            raise ChoreoError(f"{directory}: project folder does not exist")
    log = JsonLog(debug=debug)
    options = RunOptions(
        max_reconciles=max_reconciles,
        time_limit=time_limit,
        log=lambda msg: log("reconciler-log", msg=msg),
        plugins=plugin_names(allocators, schema),
    )
    config = ServerConfig((host, port), options, token, root, Path(workspace), run_runner)
    app = ServerApp(config, log)
    _on_signal(app)
    try:
        app.boot()
        app.listen()
    except ChoreoError:
        app.shutdown()
        raise
    log("ready", **app.describe())
    app.wait()
    app.shutdown()


@server.command("apply")
@click.argument("url")
@click.argument("directory")
@click.argument("ref")
@click.argument("branch", required=False)
@server_option
def server_apply(url: str, directory: str, ref: str, branch: str | None, server_url: str | None) -> None:
    """Serve DIRECTORY of the git repository URL at REF (production), or on BRANCH made at REF (development)."""
    _print_context(client_for(server_url).apply_context(url, directory, ref, branch or ""))


@server.command("get")
@server_option
def server_get(server_url: str | None) -> None:
    """Print the server's current context and runner status."""
    _print_context(client_for(server_url).status())


def _print_context(info: dict[str, Any]) -> None:
    click.echo(f"choreoctx: {info.get('context', '')}")
    click.echo(f"status: {info.get('status', '')}")
    click.echo(f"reason: {info.get('reason', '')}")


# ----------------------------------------------------------------------------------------------- run


@click.command("start")
@click.argument("directory", required=False)
@server_option
@click.option("--kubeconfig", default=None, help="Run DIRECTORY's reconcilers against this Kubernetes API server.")
@click.option("--context", "kube_context", default=None, help="kubeconfig context (default: current-context).")
@click.option("--max-reconciles", default=100, show_default=True)
@click.option("--time-limit", default=10.0, show_default=True)
def run_start(
    directory: str | None,
    server_url: str | None,
    kubeconfig: str | None,
    kube_context: str | None,
    max_reconciles: int,
    time_limit: float,
) -> None:
    """Reconcile continuously: on the addressed choreo server, or with --kubeconfig against any API server."""
    if kubeconfig:
        from choreo.server.remote import run_against

        log = JsonLog()
        options = RunOptions(
            max_reconciles=max_reconciles, time_limit=time_limit, log=lambda msg: log("reconciler-log", msg=msg)
        )
        run_against(Path(directory or ".").resolve(), kubeconfig, kube_context, options, log)
        return
    _print_context(client_for(server_url).run("start"))


@click.command("stop")
@server_option
def run_stop(server_url: str | None) -> None:
    """Stop the continuous runner of the addressed server."""
    _print_context(client_for(server_url).run("stop"))


def register(cli: click.Group) -> None:
    """Attach these commands to the ``choreo`` CLI."""
    cli.add_command(server)
    run_group = cli.commands["run"]
    assert isinstance(run_group, click.Group)
    run_group.add_command(run_start)
    run_group.add_command(run_stop)


# ----------------------------------------------------------------------------------------------- helpers
# used by the local commands of choreo.cli.main / choreo.cli.files when a server is addressed


def _record_of(data: dict[str, Any]) -> tuple[RunRecord, list[StageResult]]:
    stages = [StageResult(s["name"], list(s.get("errors", [])), list(s.get("lines", []))) for s in data["stages"]]
    return RunRecord.from_json(data["record"]), stages


def print_record(record: RunRecord, stages: list[StageResult], fmt: str, *, events: bool = False) -> None:
    for line in render_summary(record.runner, record.events, record.failure, record.failed_task, fmt):
        click.echo(line)
    for stage in stages:
        for line in stage.lines:
            click.echo(line)
        if stage.errors:
            click.echo(f"{stage.name} failed with {len(stage.errors)} error(s)")
            for error in stage.errors:
                click.echo(f"  {error}")
    if events and fmt != "reconciler" and record.failure is not None:
        for line in render_events(record.events, fmt):
            click.echo(line)


def remote_run_once(client: ServerClient, fmt: str) -> None:
    record, stages = _record_of(client.run("once"))
    print_record(record, stages, fmt)
    if not (record.failure is None and all(s.success for s in stages)):
        sys.exit(1)


def remote_run_result(client: ServerClient, fmt: str) -> None:
    record, stages = _record_of(client.result())
    print_record(record, stages, fmt, events=True)


def remote_get(client: ServerClient, resource: str, name: str | None, namespace: str | None) -> list[dict[str, Any]]:
    """The objects ``choreo get`` shows, sorted by name then namespace (managed fields kept)."""
    info = client.resolve(resource)
    objects = client.list(info, namespace)
    if name:
        objects = [o for o in objects if o["metadata"]["name"] == name]
        if not objects:
            where = f"{namespace}/{name}" if namespace else name
            from choreo.errors import NotFound

            raise NotFound(f'{info.kind}.{info.group} "{where}" not found')
    return sorted(objects, key=lambda o: (o["metadata"]["name"], o["metadata"].get("namespace", "")))


def remote_api_resources(client: ServerClient) -> list[str]:
    rows = [["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]]
    for r in client.resources():
        rows.append([r.plural, ",".join(r.short_names), r.api_version, str(r.namespaced).lower(), r.kind])
    return table(rows)


def remote_apply(client: ServerClient, objects: list[dict[str, Any]]) -> None:
    """Apply objects on the server (validated by a dry run of all of them first), printing like ``apply``."""
    for obj in objects:
        client.apply(obj, dry_run=True)
    for obj in objects:
        click.echo(f"applying {obj['apiVersion']} {obj['kind']} {obj['metadata']['name']}")
        client.apply(obj)


def remote_delete(client: ServerClient, objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        info = client.for_object(obj)
        md = obj["metadata"]
        namespace = md.get("namespace") or ("default" if info.namespaced else None)
        click.echo(f"deleting {obj['apiVersion']} {obj['kind']} {md['name']}")
        client.delete(info, md["name"], namespace)
