"""Helpers every command module shares: finding the project folder, opening its stored state, and
deciding whether a command works locally or against a server.

Commands that can talk to a server are decorated with ``addressable``: it adds ``--server URL`` and hands
the command a ``client`` — the ``ServerClient`` of the addressed server (``--server``, ``$CHOREO_SERVER`` or
the config file), or ``None`` to work on the project folder. Options that only make sense locally (the
project folder, run flags) are refused with a one-line error when a server is addressed, never ignored.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from choreo.apiserver.server import APIServer
from choreo.cli.hints import announce_target
from choreo.errors import ChoreoError
from choreo.lang.limits import Limits
from choreo.plugins import INTERNAL_RECONCILERS, SCHEMA, load_plugin
from choreo.runtime.options import RunOptions
from choreo.runtime.state import stored_api
from choreo.server.client import ServerClient


class _Seconds(click.FloatRange):
    """A number of seconds within the range; click's own range lets ``nan`` through (no comparison refuses it)."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        seconds = super().convert(value, param, ctx)
        if math.isnan(seconds):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return seconds


MAX_TIME_LIMIT = 7 * 24 * 3600
"""The largest ``--time-limit``, a week: a reconcile is bounded whatever is asked (and an infinite deadline
does not fit the platform's timestamps)."""

time_limit_option = click.option(
    "--time-limit",
    type=_Seconds(0, MAX_TIME_LIMIT, min_open=True),
    default=Limits().time,
    show_default=True,
    help="Seconds one reconcile may take.",
)
max_reconciles_option = click.option(
    "--max-reconciles",
    type=click.IntRange(min=1),
    default=RunOptions().max_reconciles,
    show_default=True,
    help="Reconciles of one object before the run is declared a loop.",
)
"""The options of every command that reconciles, defined once so that they take the same values."""

server_option = click.option(
    "--server", "--address", "server_url", default=None, metavar="URL",
    help="choreo server URL or HOST:PORT (default: $CHOREO_SERVER, config file, local).",
)


def project_dir(path: str | None) -> Path:
    root = Path(path or ".").resolve()
    if not root.is_dir():
        raise ChoreoError(f"{path}: project folder does not exist")
    return root


@contextmanager
def project_api(directory: str | None) -> Iterator[APIServer]:
    """The API over the stored state of a project folder that has run at least once (the stored kinds
    known): how every command that reads results opens a project."""
    with stored_api(project_dir(directory)) as api:
        yield api


def plugin_names(allocators: bool, schema: bool) -> list[str]:
    """The plug-ins that ``-r`` (built-in allocators) and ``-s`` (YANG schema stage) turn on."""
    return ([INTERNAL_RECONCILERS] if allocators else []) + ([SCHEMA] if schema else [])


def echo_lines(lines: Iterable[str]) -> None:
    for line in lines:
        click.echo(line)


def addressable(*local_only: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add ``--server`` to a command and pass it ``client`` (``None``: work locally).

    ``local_only`` names the command's parameters that a server does not use (a project folder, -r, -s
    ...). Giving one of them together with ``--server`` is an error; giving one while the server only
    comes from ``$CHOREO_SERVER`` or the config file means "this time, locally"."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def wrapper(*args: Any, server_url: str | None = None, **kwargs: Any) -> Any:
            client = ServerClient.addressed(server_url)
            if client is not None:
                ctx = click.get_current_context()
                given = _given_on_command_line(ctx, local_only)
                if given and server_url:  # a server would silently not use it
                    raise local_only_error(_shown(ctx, given[0]), client)
                if given:
                    client = None
                elif not server_url:
                    announce_target(client)  # from $CHOREO_SERVER or the config file: say so (choreo.cli.hints)
            return command(*args, client=client, **kwargs)

        return server_option(wrapper)

    return decorate


def _given_on_command_line(ctx: click.Context, names: tuple[str, ...]) -> list[click.Parameter]:
    """The parameters among ``names`` the user typed (not defaults or environment)."""
    typed = ParameterSource.COMMANDLINE
    return [p for p in ctx.command.params if p.name in names and ctx.get_parameter_source(p.name) == typed]


def _shown(ctx: click.Context, param: click.Parameter) -> str:
    """How the user wrote ``param``: its option spellings, or an argument's name and value."""
    if isinstance(param, click.Option):
        return "/".join(param.opts)
    return f"{param.human_readable_name} {ctx.params[param.name]}"


def local_only_error(what: str, client: ServerClient) -> ChoreoError:
    return ChoreoError(f"{what}: only used locally; the server at {client.url} serves its own project and settings")


def allocator_crds() -> list[dict[str, Any]]:
    """The CRDs ``-r`` brings (none when the allocator plug-in is not installed)."""
    try:
        return load_plugin(INTERNAL_RECONCILERS).crds()
    except ChoreoError:
        return []
