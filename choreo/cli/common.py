"""Helpers every command module shares: finding the project folder, opening its stored state, and
deciding whether a command works locally or against a server.

Commands that can talk to a server are decorated with ``addressable``: it adds ``--server URL`` and hands
the command a ``client`` — the ``ServerClient`` of the addressed server (``--server``, ``$CHOREO_SERVER`` or
the config file), or ``None`` to work on the project folder. Options that only make sense locally (the
project folder, run flags) are refused with a one-line error when a server is addressed, never ignored.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from choreo.apiserver.server import APIServer
from choreo.errors import ChoreoError
from choreo.runtime.session import open_state, state_path
from choreo.server.client import ServerClient
from choreo.store.base import Backend

server_option = click.option(
    "--server", "server_url", default=None, help="choreo server URL (default: $CHOREO_SERVER, config file, local)."
)


def project_dir(path: str | None) -> Path:
    root = Path(path or ".").resolve()
    if not root.is_dir():
        raise ChoreoError(f"{path}: project folder does not exist")
    return root


@contextmanager
def project_state(directory: str | None) -> Iterator[Backend]:
    """The state of an existing project folder that has been run at least once."""
    root = project_dir(directory)
    if not state_path(root).exists():
        raise ChoreoError(f"{root}: no state yet: run `choreo run {root}` first")
    backend = open_state(root)
    try:
        yield backend
    finally:
        backend.close()


def stored_api(backend: Backend) -> APIServer:
    """An API server over stored state, knowing the kinds whose CRDs are stored."""
    api = APIServer(backend)
    api.register_stored_crds()
    return api


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
                if server_url:
                    refuse_local_only(ctx, local_only, client)
                elif _local_only_given(ctx, local_only):
                    client = None
            return command(*args, client=client, **kwargs)

        return server_option(wrapper)

    return decorate


def _local_only_given(ctx: click.Context, names: tuple[str, ...]) -> bool:
    return any(
        p.name in names and ctx.get_parameter_source(p.name) == ParameterSource.COMMANDLINE for p in ctx.command.params
    )


def refuse_local_only(ctx: click.Context, names: tuple[str, ...], client: ServerClient) -> None:
    """Fail on the first of ``names`` given on the command line: a server would silently not use it."""
    for param in ctx.command.params:
        if param.name in names and ctx.get_parameter_source(param.name) == ParameterSource.COMMANDLINE:
            shown = (
                "/".join(param.opts)
                if isinstance(param, click.Option)
                else f"{param.human_readable_name} {ctx.params[param.name]}"
            )
            raise local_only_error(shown, client)


def local_only_error(what: str, client: ServerClient) -> ChoreoError:
    return ChoreoError(f"{what}: only used locally; the server at {client.url} serves its own project and settings")
