"""The server-side commands: ``choreo server start|apply|get`` and ``choreo run start|stop|load``.

``server start`` runs the long-running server in the foreground (log lines on stderr: text on a terminal, JSON
lines otherwise, ``--log-format`` to choose; SIGTERM, Ctrl-C or SIGHUP stop it cleanly). The other commands talk
to a running server, addressed by ``--server URL``, the ``CHOREO_SERVER`` variable or the config file (see
``choreo.server.client``), defaulting to ``http://127.0.0.1:51000``. ``run start --kubeconfig FILE DIR`` runs
a project's reconcilers against any Kubernetes API server instead. (The commands that work locally or against
a server — ``run once``, ``get``, ``apply``... — decide through ``choreo.cli.common.addressable``.)
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from choreo.cli.common import max_reconciles_option, plugin_names, project_dir, server_option, time_limit_option
from choreo.errors import ChoreoError
from choreo.runtime.options import RunOptions
from choreo.server.client import ServerClient, read_token
from choreo.server.protocol import (
    DEFAULT_ADDRESS,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_BODY_DEPTH,
    DEFAULT_MAX_WATCHES,
    LOG_FORMATS,
    STOP_SIGNALS,
    Limits,
)

if TYPE_CHECKING:  # the server itself is imported by the commands that run one (every command line is not)
    from choreo.server.app import ServerApp, ServerLog

DEFAULT_SERVER = f"http://{DEFAULT_ADDRESS}"
DEFAULT_WORKSPACE = "choreo-workspace"


def client_for(server_url: str | None) -> ServerClient:
    """The addressed server, or the default local one."""
    return ServerClient.addressed(server_url) or ServerClient(DEFAULT_SERVER, read_token(None))


def _logged_options(log: ServerLog, max_reconciles: int, time_limit: float, plugins: list[str]) -> RunOptions:
    """Run options whose reconciler ``print()`` output goes to the server's log."""
    return RunOptions(
        max_reconciles=max_reconciles,
        time_limit=time_limit,
        log=lambda msg: log("reconciler-log", msg=msg),
        notice=lambda msg: log("notice", level="warning", msg=msg),
        plugins=plugins,
    )


def _on_signal(app: ServerApp) -> None:
    def stop(_signum: int, _frame: Any) -> None:
        app.interrupt()

    for signum in STOP_SIGNALS:
        signal.signal(signum, stop)


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
@click.option("--watch/--no-watch", default=True, help="Static mode: load the folder again when it changes (default).")
@click.option("-r", "--internal-reconcilers", "allocators", is_flag=True, help="Enable the built-in allocators.")
@click.option("-s", "--sdc", "--schema", "schema", is_flag=True, help="Run the YANG schema stage after reconciling.")
@max_reconciles_option
@time_limit_option
@click.option(
    "--max-body-bytes",
    default=DEFAULT_MAX_BODY_BYTES,
    show_default=True,
    type=click.IntRange(min=1),
    help="Largest request body accepted (413 beyond).",
)
@click.option(
    "--max-body-depth",
    default=DEFAULT_MAX_BODY_DEPTH,
    show_default=True,
    type=click.IntRange(min=1),
    help="Deepest nesting of a JSON/YAML request body (400 beyond).",
)
@click.option(
    "--max-watches",
    default=DEFAULT_MAX_WATCHES,
    show_default=True,
    type=click.IntRange(min=1),
    help="Watches served at once (429 beyond).",
)
@click.option("-d", "--debug", is_flag=True, help="Also log every request.")
@click.option(
    "--log-format", type=click.Choice(LOG_FORMATS), default=None,
    help="Log lines as JSON objects or as text (default: text on a terminal, else json).",
)
def start(
    directory: str | None,
    address: str,
    token_file: str | None,
    workspace: str,
    run_runner: bool,
    watch: bool,
    allocators: bool,
    schema: bool,
    max_reconciles: int,
    time_limit: float,
    max_body_bytes: int,
    max_body_depth: int,
    max_watches: int,
    debug: bool,
    log_format: str | None,
) -> None:
    """Start the server: static mode on DIRECTORY, or dynamic mode (see `server apply`) without it."""
    from choreo.server.app import ServerApp, ServerConfig, ServerLog, is_loopback, parse_address

    host, port = parse_address(address)
    token = read_token(token_file)
    if not is_loopback(host) and not token:
        raise ChoreoError(
            f"--address {address}: listening beyond loopback needs a bearer token (--token-file FILE or CHOREO_TOKEN)"
        )
    root = project_dir(directory) if directory else None
    log = ServerLog(debug=debug, fmt=log_format)
    options = _logged_options(log, max_reconciles, time_limit, plugin_names(allocators, schema))
    from choreo.lang.limits import Limits as ReconcileLimits

    # the largest object stored is the largest a reconcile may write (CHOREO_OUTPUT_LIMIT, 1.5 MiB as etcd's)
    limits = Limits(max_body_bytes, max_body_depth, max_watches, ReconcileLimits.from_environment().output)
    config = ServerConfig((host, port), options, token, root, Path(workspace), run_runner, limits, watch)
    app = ServerApp(config, log)
    try:
        app.bind()  # may wait for a batch run of the folder: Ctrl-C or a SIGTERM ends that wait as usual
        _on_signal(app)
        app.boot()  # a stop signal meanwhile abandons its load: then nothing is served
        if not app.stopping.is_set():
            app.listen()
    except ChoreoError:
        app.shutdown()
        raise
    if not app.stopping.is_set():
        log("ready", **app.describe())
        app.wait()
    app.shutdown()
    if app.state_lost:
        raise ChoreoError(app.state_lost)


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
@max_reconciles_option
@time_limit_option
@click.option("-r", "--internal-reconcilers", "allocators", is_flag=True, help="Not supported here yet (an error).")
@click.option("-s", "--sdc", "--schema", "schema", is_flag=True, help="Not supported here yet (an error).")
def run_start(
    directory: str | None,
    server_url: str | None,
    kubeconfig: str | None,
    kube_context: str | None,
    max_reconciles: int,
    time_limit: float,
    allocators: bool,
    schema: bool,
) -> None:
    """Reconcile continuously: on the addressed choreo server, or with --kubeconfig against any API server."""
    if kubeconfig:
        from choreo.server.app import ServerLog
        from choreo.server.remote import run_against

        log = ServerLog()
        options = _logged_options(log, max_reconciles, time_limit, plugin_names(allocators, schema))
        run_against(Path(directory or ".").resolve(), kubeconfig, kube_context, options, log)
        return
    if allocators or schema:
        raise ChoreoError("-r/-s are set when the server starts: `choreo server start DIR -r -s`")
    _print_context(client_for(server_url).run("start"))


@click.command("stop")
@server_option
def run_stop(server_url: str | None) -> None:
    """Stop the continuous runner of the addressed server."""
    _print_context(client_for(server_url).run("stop"))


@click.command("load")
@server_option
def run_load(server_url: str | None) -> None:
    """Read the project folder into the addressed server again, without reconciling (what the folder
    feeder does on every edit)."""
    _print_context(client_for(server_url).run("load"))
