"""choreoctl's ``-b BRANCH`` for reads: the project as it is on another git branch.

Why: the reference keeps a read-only view of every branch of its repository, so ``choreoctl get KIND -b dev``
shows the objects of branch ``dev`` while ``main`` is checked out. choreo reads the files of the branch's last
commit (through ``choreo.git``, the work tree untouched) into a temporary folder and loads that project into
memory: ``get`` then shows its loaded objects (inputs, CRDs, reconcilers, libraries — what a load of that
branch stores, before any run), ``api-resources`` its kinds. ``-b`` naming the checked-out branch is the
usual view (the store, with the last run's results). Every other command works on the checked-out branch
only: ``require_checked_out`` refuses another one with a line naming ``choreo branch checkout``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from choreo.cli.common import project_dir
from choreo.errors import ChoreoError
from choreo.git import WorkTree
from choreo.server.client import ServerClient
from choreo.server.versioning import VersionControl, execute

BRANCH_VIEWS = ("get", "api-resources", "explain")  # the commands that read another branch
BRANCH_KEY = "choreo.branch"  # where -b is kept in the click context's meta (shared by nested contexts)
VERSION_CONTROL_PATH = "/choreo/v1/versioncontrol"  # choreo.server.app routes it to versioning.execute


def version_control_lines(client: ServerClient | None, directory: str | None, command: str, *args: str) -> list[str]:
    """What a version-control command prints, run here or on the addressed server (the branch commands'
    output, and what ``-b`` needs to know of the branches)."""
    if client is not None:
        return list(client.request("POST", VERSION_CONTROL_PATH, {"command": command, "args": list(args)})["lines"])
    return execute(VersionControl(project_dir(directory)), command, list(args))


def checked_out_branch(client: ServerClient | None, directory: str | None) -> str | None:
    """The checked-out branch of the project's repository (of the server's clone when ``client``)."""
    lines = version_control_lines(client, directory, "branch get")
    return next((line[2:] for line in lines if line.startswith("* ")), None)


def require_checked_out(client: ServerClient | None, directory: str | None, branch: str, command: str) -> None:
    """Refuse ``-b branch`` for ``command`` unless it names the checked-out branch (the default anyway)."""
    current = checked_out_branch(client, directory)
    if branch == current:
        return
    where = f"the server at {client.url}" if client is not None else "the project's repository"
    views = branch_views()
    local = "" if client is None else " of a project folder (-C DIR)"
    raise ChoreoError(
        f"-b {branch}: `choreo {command}` works on the checked-out branch of {where} ({current or 'none'}): "
        f"`choreo branch checkout {branch}` first ({views} read another branch{local})"
    )


def branch_views() -> str:
    """The commands that read another branch, for a message: `` `choreo get -b`, ... and `...` ``."""
    named = [f"`choreo {name} -b`" for name in BRANCH_VIEWS]
    return ", ".join(named[:-1]) + " and " + named[-1]


@contextmanager
def branch_project(directory: str | None, branch: str | None) -> Iterator[Path | None]:
    """The project folder as on ``branch`` (a temporary copy, removed afterwards), or None for the project
    itself: no branch asked for, or the checked-out one."""
    root = project_dir(directory)
    tree = WorkTree(root) if branch is not None else None
    if tree is None or branch is None or branch == tree.current_branch():
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="choreo-branch-") as temporary:
        files = Path(temporary) / "tree"
        tree.export(branch, files)
        project = files / tree.relative(root)
        if not project.is_dir():
            raise ChoreoError(f"-b {branch}: branch {branch} has no folder {tree.relative(root)}")
        yield project


def wanted_branch() -> str | None:
    """The branch ``-b`` asked for in this command line (``choreo.cli.reference_flags`` records it)."""
    return click.get_current_context().meta.get(BRANCH_KEY)
