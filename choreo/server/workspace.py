"""The dynamic-mode workspace: git clones of the repositories a server was told to serve.

``choreo server apply URL DIR REF [BRANCH]`` clones URL once into ``<workspace>/<url with / and : as ->``
(the reference's naming), fetches on later applies, and checks out REF: detached in production (no
BRANCH), or on BRANCH created/reset at REF in development. The active context is remembered in
``<workspace>/context.json`` so a restarted server serves the same project again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from choreo.atomic import write_atomic
from choreo.errors import ChoreoError
from choreo.git import GitError, check_branch, check_ref, check_url, output, run_git

CONTEXT_FILE = "context.json"


@dataclass
class ContextSpec:
    """What ``server apply`` asked for (repository, folder, ref, branch) and the commit it resolved to."""

    url: str
    path: str  # the project folder inside the repository
    ref: str
    branch: str = ""  # empty: production (detached at ref)
    commit: str = ""

    @property
    def mode(self) -> str:
        return "development" if self.branch else "production"

    def name(self) -> str:
        return f"{self.url} {self.path} {self.ref}" + (f" (branch {self.branch})" if self.branch else "")


def clone_dir_name(url: str) -> str:
    stripped = url.split("://", 1)[-1].strip("/")
    return stripped.replace("/", "-").replace(":", "-") or "repo"


def check_spec(spec: ContextSpec) -> None:
    """Refuse a context whose URL, ref or branch could not be handed to git safely (``GitError``)."""
    check_url(spec.url)
    check_ref(spec.ref)
    if spec.branch:
        check_branch(spec.branch)


def _git(*args: str, cwd: Path | None = None) -> str:
    return output(run_git(args, cwd=cwd, what=f"git {args[0]} failed"))


def _keep_unpushed_work(clone: Path, spec: ContextSpec) -> None:
    """Refuse to move a development branch off commits made on it (``choreo run commit``) that were never
    pushed and that ``spec.commit`` does not contain: moving the branch would lose them."""
    branch = f"refs/heads/{spec.branch}"
    exists = run_git(["show-ref", "--verify", "--quiet", branch], cwd=clone, what="git", check=False)
    if exists.returncode != 0:
        return
    unpushed = _git("rev-list", branch, "--not", "--remotes", "--tags", spec.commit, cwd=clone)
    if unpushed:
        count = len(unpushed.split())
        raise GitError(
            f"branch {spec.branch} has {count} commit(s) that were not pushed and {spec.ref} does not contain: "
            "`choreo run push` them first, or use another branch"
        )


class Workspace:
    """The folder of clones and the saved active context."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def checkout(self, spec: ContextSpec) -> Path:
        """Bring the clone of ``spec.url`` to ``spec.ref``; returns the project folder (sets ``spec.commit``)."""
        check_spec(spec)
        clone = self._clone(spec)
        if not (clone / ".git").exists():
            _git("clone", "--quiet", "--no-recurse-submodules", "--", spec.url, str(clone))
        else:
            _git("fetch", "--quiet", "--tags", "--force", "origin", "+refs/heads/*:refs/remotes/origin/*", cwd=clone)
        spec.commit = self._resolve(clone, spec.ref)
        if spec.branch:
            _keep_unpushed_work(clone, spec)
            _git("checkout", "--quiet", "--force", "-B", spec.branch, spec.commit, "--", cwd=clone)
        else:
            _git("checkout", "--quiet", "--force", "--detach", spec.commit, "--", cwd=clone)
        return self.project_folder(spec)

    def _clone(self, spec: ContextSpec) -> Path:
        clone = self.root / clone_dir_name(spec.url)
        if not clone.resolve().is_relative_to(self.root) or clone == self.root:
            raise GitError(f"{spec.url!r}: cannot keep a clone of it in the workspace")
        return clone

    def project_folder(self, spec: ContextSpec) -> Path:
        """The project folder of ``spec`` in its clone (checked out by ``checkout``)."""
        clone = self._clone(spec)
        project = (clone / spec.path).resolve()
        if not project.is_relative_to(clone) or not project.is_dir():
            raise GitError(f"{spec.path}: no such folder in {spec.url} at {spec.ref}")
        return project

    @staticmethod
    def _resolve(clone: Path, ref: str) -> str:
        for candidate in (ref, f"origin/{ref}"):
            try:
                revision = f"{candidate}^{{commit}}"
                return _git("rev-parse", "--verify", "--quiet", "--end-of-options", revision, cwd=clone)
            except GitError:
                continue
        raise GitError(f"{ref}: no such commit, tag or branch in the repository")

    def save(self, spec: ContextSpec) -> None:
        write_atomic(self.root / CONTEXT_FILE, json.dumps(asdict(spec), sort_keys=True))

    def saved(self) -> ContextSpec | None:
        path = self.root / CONTEXT_FILE
        if not path.exists():
            return None
        try:
            return ContextSpec(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise ChoreoError(f"{path}: unreadable server context ({exc})") from None
