"""The version-control commands of choreoctl — ``branch get|create|delete|checkout|stash|diff|merge``,
``run commit MSG`` and ``run push`` — on the git work tree of a project, and what each prints.

Why one module: the same command runs on a project folder (``choreo branch ...``) and on the clone a
server serves (the server's development context, a BRANCH given to ``server apply``). Both go through
``execute``, so both check, refuse and print the same. A production context (``server apply`` without a
BRANCH: the clone pinned at REF) refuses every command that would move it off REF or record in it:
commit, push, checkout, stash and merge. Every git command runs through ``choreo.git.WorkTree``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from choreo.errors import BadRequest
from choreo.git import GitError, WorkTree
from choreo.loader.loading import INPUT
from choreo.loader.project import STATE_DIR


class VersionControl:
    """The commands on the work tree holding ``project``; ``production`` names a production context (refused
    commands say so), empty otherwise."""

    def __init__(self, project: Path, production: str = "") -> None:
        self.project = project.resolve()
        self.tree = WorkTree(self.project)
        self.production = production

    def _refuse_in_production(self, command: str) -> None:
        if self.production:
            raise GitError(
                f"{command}: the server's context is production ({self.production}); it stays at its REF — "
                "use a development context: `choreo server apply URL DIR REF BRANCH`"
            )

    def _checked_out(self, command: str) -> str:
        branch = self.tree.current_branch()
        if branch is None:
            raise GitError(f"{command}: HEAD is detached, on no branch: `choreo branch checkout NAME` first")
        return branch

    def _project_relative(self, line: str) -> str:
        """A ``<status> <path>`` line with the path relative to the project folder, as the user sees it."""
        status, _, path = line.partition(" ")
        prefix = self.tree.relative(self.project)
        shown = path[len(prefix) + 1 :] if prefix != "." and path.startswith(prefix + "/") else path
        return f"{status} {shown}"

    # ---------------------------------------------------------------- branch

    def get(self, name: str | None = None) -> list[str]:
        """The branches (``*`` marks the checked-out one), or the log of branch ``name``."""
        if name is not None:
            return self.tree.log(name)
        current = self.tree.current_branch()
        return [f"{'*' if branch == current else ' '} {branch}" for branch in self.tree.branches()]

    def create(self, name: str) -> list[str]:
        self.tree.create_branch(name)
        return [f"created branch {name} at {self.tree.git('rev-parse', '--short', 'HEAD', what='reading HEAD')}"]

    def delete(self, name: str) -> list[str]:
        self.tree.delete_branch(name)
        return [f"deleted branch {name}"]

    def checkout(self, name: str) -> list[str]:
        self._refuse_in_production("branch checkout")
        self.tree.checkout(name)
        return [f"checked out branch {name}"]

    def stash(self, name: str) -> list[str]:
        """Put the uncommitted changes of the checked-out branch ``name`` away (kept in git's stash)."""
        self._refuse_in_production("branch stash")
        self.tree.require_branch(name)
        current = self._checked_out("branch stash")
        if name != current:
            raise GitError(f"branch stash: {name} is not checked out ({current} is); its work tree has no changes")
        if not self.tree.stash(keep=STATE_DIR):
            return [f"branch {name} has no uncommitted changes"]
        return [f"stashed the uncommitted changes of {name} (git stash list; git stash pop brings them back)"]

    def diff(self, source: str, target: str) -> list[str]:
        """The files of the project that differ from branch ``source`` to branch ``target``."""
        lines = self.tree.diff(source, target, self.tree.relative(self.project))
        return [self._project_relative(line) for line in lines]

    def merge(self, source: str, target: str) -> list[str]:
        """Merge branch ``source`` into ``target``, which must be checked out."""
        self._refuse_in_production("branch merge")
        self.tree.require_branch(source)
        self.tree.require_branch(target)
        current = self._checked_out("branch merge")
        if target != current:
            raise GitError(f"branch merge: {target} is not checked out (`choreo branch checkout {target}` first)")
        if not self.tree.merge(source):
            return [f"{target} already contains {source}"]
        return [f"merged {source} into {target}"]

    # ---------------------------------------------------------------- run commit / push

    def commit(self, message: str) -> list[str]:
        """Commit the changes of the project's ``in/`` folder (and only those) on the checked-out branch."""
        self._refuse_in_production("run commit")
        branch = self._checked_out("run commit")
        inputs = self.project / INPUT
        if not inputs.is_dir():
            raise GitError(f"run commit: {inputs}: no input folder to commit")
        commit = self.tree.commit(self.tree.relative(inputs), message)
        if commit is None:
            raise GitError(f"run commit: nothing to commit: {INPUT}/ has no changes")
        return [f"committed {commit} on {branch}: {message.strip().splitlines()[0]}"]

    def push(self) -> list[str]:
        self._refuse_in_production("run push")
        branch = self._checked_out("run push")
        url = self.tree.push(branch)
        return [f"pushed {branch} to {url}"]


COMMANDS: dict[str, tuple[Callable[..., list[str]], int, int]] = {
    "branch get": (VersionControl.get, 0, 1),
    "branch create": (VersionControl.create, 1, 1),
    "branch delete": (VersionControl.delete, 1, 1),
    "branch checkout": (VersionControl.checkout, 1, 1),
    "branch stash": (VersionControl.stash, 1, 1),
    "branch diff": (VersionControl.diff, 2, 2),
    "branch merge": (VersionControl.merge, 2, 2),
    "run commit": (VersionControl.commit, 1, 1),
    "run push": (VersionControl.push, 0, 0),
}


def execute(control: VersionControl, command: Any, args: Any) -> list[str]:
    """Run one of ``COMMANDS`` with its string arguments (as a request to a server carries them); the lines
    to print."""
    if command not in COMMANDS or not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise BadRequest(f"version control: expected one of {', '.join(COMMANDS)} with string arguments")
    method, least, most = COMMANDS[command]
    if not least <= len(args) <= most:
        raise BadRequest(f"{command}: expected {least}..{most} arguments, got {len(args)}")
    return method(control, *args)
