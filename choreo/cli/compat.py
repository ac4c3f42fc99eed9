"""choreoctl's commands that have no home of their own in choreo: ``version``, and the ones choreo answers
with a pointer to what to use instead (``tui``, ``version upgrade``).

Why: a user of the reference types the commands they know. Each one either works as they expect or ends
in one line naming the choreo command (or tool) that does the job, with a non-zero exit; it never fails
as an unknown command. (``choreo deps``, the reference's older spelling of ``run deps``, is added by
``choreo.cli.main`` next to the ``run`` commands.)
"""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version

import click

import choreo
from choreo.errors import ChoreoError
from choreo.loader.reconcilers import CHOREO_API_VERSION


def choreo_version() -> str:
    """The installed package's version (what ``--version`` prints), else the source tree's."""
    try:
        return installed_version("choreo")
    except PackageNotFoundError:
        return choreo.__version__


def version_lines() -> list[str]:
    return [
        f"version: {choreo_version()}",
        f"api: {CHOREO_API_VERSION}",
        f"python: {platform.python_version()} ({platform.python_implementation()})",
    ]


@click.group("version", invoke_without_command=True)
@click.pass_context
def version(ctx: click.Context) -> None:
    """Print choreo's version, the version of its own API (Reconciler, Library, UpstreamRef) and Python's."""
    if ctx.invoked_subcommand is None:
        for line in version_lines():
            click.echo(line)


@version.command("upgrade")
def version_upgrade() -> None:
    """Not in choreo: upgrade with the package manager that installed it (pip install --upgrade choreo)."""
    raise ChoreoError("version upgrade: choreo does not download installers; use `pip install --upgrade choreo`")


@click.command("tui")
@click.option("-f", "--frequency", default=3, help="Ignored (the reference's refresh interval in seconds).")
def tui(frequency: int) -> None:
    """Not in choreo: browse objects with `choreo get KIND -o wide`, or `kubectl --server URL get` on a server."""
    raise ChoreoError(
        "tui: choreo has no terminal browser; use `choreo get KIND` (-o wide|yaml), or kubectl against the server"
    )
