"""choreoctl's version-control commands: ``choreo branch get|create|delete|checkout|stash|diff|merge`` and
``choreo run commit MSG`` / ``choreo run push``.

They act on the git repository holding the project folder (``-C DIR``, default ``.``), or, when a server
is addressed, on the clone of the server's context (``server apply URL DIR REF BRANCH``: development;
without BRANCH the context is production and refuses commit, push, checkout, stash and merge). What each
does and prints is ``choreo.server.versioning``'s, the same in both places.
"""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem

from choreo.cli.branchview import version_control_lines
from choreo.cli.common import addressable, echo_lines
from choreo.server.client import ServerClient

_PROJECT = click.option("-C", "--project", "directory", default=None, help="Project folder (default: .).")


def branch_names(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The branches the command would see (of the project, or of the addressed server), for ``<TAB>``."""
    directory = ctx.params.get("directory")
    try:
        client = ServerClient.addressed(ctx.params.get("server_url")) if directory is None else None
        lines = version_control_lines(client, directory, "branch get")
    except Exception:  # a completion offers nothing rather than an error
        return []
    names = [line[2:] for line in lines]  # "* main" / "  dev"
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def _command(command: str, help_text: str, *arguments: tuple[str, bool]) -> click.Command:
    """The click command running ``command`` (``"branch create"`` ...) with ``arguments`` (name, whether it
    is a branch to complete), ``-C DIR`` and ``--server``."""

    def callback(client: ServerClient | None, directory: str | None, **values: str | None) -> None:
        given = [value for value in (values[name] for name, _ in arguments) if value is not None]
        echo_lines(version_control_lines(client, directory, command, *given))

    decorated = _PROJECT(addressable("directory")(callback))
    optional = command == "branch get"  # without NAME: the list of branches
    for name, is_branch in reversed(arguments):
        complete = branch_names if is_branch else None
        decorated = click.argument(name, required=not optional, shell_complete=complete)(decorated)
    return click.command(command.split()[1], help=help_text)(decorated)


@click.group("branch")
def branch() -> None:
    """Git branches of the project's repository (with a server: of the clone its context serves)."""


for _subcommand in (
    _command("branch get", "List the branches (* marks the checked-out one), or the commits of branch NAME, "
             "newest first.", ("name", True)),
    _command("branch create", "Create branch NAME at the checked-out commit (it is not checked out).", ("name", False)),
    _command("branch delete", "Delete branch NAME (not the checked-out one).", ("name", True)),
    _command("branch checkout", "Check out branch NAME (refused when uncommitted changes would be overwritten).",
             ("name", True)),
    _command("branch stash", "Put the uncommitted changes of the checked-out branch NAME away; git stash pop "
             "brings them back.", ("name", True)),
    _command("branch diff", "The project's files that differ from branch SRC to branch DST: A added, M modified, "
             "D deleted.", ("src", True), ("dst", True)),
    _command("branch merge", "Merge branch SRC into the checked-out branch DST; a conflict merges nothing and "
             "names the files.", ("src", True), ("dst", True)),
):
    branch.add_command(_subcommand)

run_commit = _command("run commit", "Commit the changes of the project's in/ folder (only those) on the "
                      "checked-out branch.", ("message", False))
run_push = _command("run push", "Push the checked-out branch to its remote (its upstream's, else origin), under the "
                    "same name.")
