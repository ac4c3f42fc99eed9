"""The dynamic-mode workspace: git clones of the repositories a server was told to serve.

``choreo server apply URL DIR REF [BRANCH]`` clones URL once into ``<workspace>/<url with / and : as ->``
(the reference's naming; the clone is made beside it and moved in once whole), fetches on later applies, and
checks out REF as upstream has it: detached in production (no BRANCH), or on BRANCH created/reset at REF in
development — never over commits of that branch that were not pushed, nor over changes to ``in/`` files of the
branch checked out that were not committed. The active context is remembered in ``<workspace>/context.json``
so that a restarted server serves the same commit again (``restore``: from the clone, a development branch
left as it is); a checkout under way is marked in its clone (``.git/choreo-switching.json``) so that one
stopped or failed half-way is undone there rather than trusted, and no other clone's work tree is touched
for it.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from choreo.atomic import write_atomic
from choreo.errors import ChoreoError
from choreo.git import GitError, check_branch, check_ref, check_url, output, run_git

CONTEXT_FILE = "context.json"
SWITCHING_FILE = "choreo-switching.json"  # in a clone's .git: a checkout is under way there (redone, not trusted)


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


def _git(*args: str, cwd: Path | None = None, check: bool = True) -> str:
    return output(run_git(args, cwd=cwd, what=f"git {args[0]} failed", check=check))


def _fetch(clone: Path) -> None:
    """Bring the clone's view of upstream up to date: its branches (one deleted upstream goes: a ref naming
    it is then not found, rather than served as it was) and its tags."""
    _git("fetch", "--quiet", "--prune", "--tags", "--force", "origin", "+refs/heads/*:refs/remotes/origin/*",
         cwd=clone)


def _has_commit(clone: Path, commit: str) -> bool:
    return bool(commit) and bool(_git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{commit}^{{commit}}",
                                      cwd=clone, check=False))


def _check_origin(clone: Path, spec: ContextSpec) -> None:
    """Refuse a clone made of another repository: two URLs can name one folder (``a/b-c`` and ``a-b/c``),
    and fetching its origin would serve the other repository under this URL's name."""
    origin = _git("config", "--get", "remote.origin.url", cwd=clone, check=False)
    if origin.rstrip("/") != spec.url.rstrip("/"):
        raise GitError(
            f"{spec.url}: its clone would be {clone}, which holds a clone of {origin or 'another repository'} "
            f"(both URLs give that folder's name): serve {spec.url} from another --workspace"
        )


def _tree_path(spec: ContextSpec) -> str:
    """``spec.path`` as git names it inside a commit (``<commit>:<path>``; empty for the top)."""
    parts = [part for part in PurePosixPath(spec.path).parts if part not in (".", "/")]
    if any(part == ".." for part in parts) or PurePosixPath(spec.path).is_absolute():
        raise GitError(f"{spec.path}: no such folder in {spec.url} at {spec.ref}")
    return "/".join(parts)


def _keep_uncommitted_work(clone: Path, branch: str, spec: ContextSpec) -> None:
    """Refuse to switch a clone away from a development branch whose ``in/`` files were changed and not
    committed (``choreo run commit``'s files): the checkout would overwrite or carry them over."""
    inputs = ":(glob)**/in/**"
    changed = _git("diff", "--name-only", "HEAD", "--", inputs, cwd=clone).splitlines()
    changed += _git("ls-files", "--others", "--exclude-standard", "--", inputs, cwd=clone).splitlines()
    if changed:
        files = sorted(set(changed))
        raise GitError(
            f"branch {branch} has changes that were not committed ({', '.join(files)}): `choreo run commit MSG` "
            f"them, or `choreo branch stash` them, before switching to {spec.name()}"
        )


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
        """Bring the clone of ``spec.url`` to ``spec.ref`` as upstream has it now (``server apply``); returns
        the project folder (sets ``spec.commit``)."""
        check_spec(spec)
        clone = self._clone(spec)
        if (clone / ".git").exists():
            _check_origin(clone, spec)
            _fetch(clone)
        else:
            self._clone_new(spec, clone)
        spec.commit = self._resolve(clone, spec)
        return self._bring(clone, spec)

    def restore(self, spec: ContextSpec) -> Path:
        """Bring the clone back to the commit ``spec`` was served at (a restart, a switch that failed); upstream
        is asked only for what the clone lacks. A development branch already there is left as it is, with
        its uncommitted changes, unless a switch was interrupted in it (``SWITCHING_FILE``)."""
        check_spec(spec)
        clone = self._clone(spec)
        if not (clone / ".git").exists():
            self._clone_new(spec, clone)
        _check_origin(clone, spec)
        if not _has_commit(clone, spec.commit):
            _fetch(clone)
            if not _has_commit(clone, spec.commit):
                raise GitError(f"commit {spec.commit} ({spec.ref}) is no longer in {spec.url}")
        return self._bring(clone, spec)

    def _clone_new(self, spec: ContextSpec, clone: Path) -> None:
        """Clone ``spec.url`` beside ``clone`` and move it in place once whole: a clone that was stopped (the
        server told to stop, a ``kill -9``) never looks like one a restart could trust."""
        partial = self.root / f".{clone.name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        try:
            _git("clone", "--quiet", "--no-recurse-submodules", "--", spec.url, str(partial))
            os.replace(partial, clone)
        except OSError as exc:
            raise GitError(f"cannot keep the clone of {spec.url} at {clone}: {exc.strerror or exc}") from None
        finally:
            shutil.rmtree(partial, ignore_errors=True)

    def _bring(self, clone: Path, spec: ContextSpec) -> Path:
        """Check ``spec.commit`` out in ``clone`` (detached, or on ``spec.branch``) and return the project folder;
        the work tree is touched only once everything was checked."""
        tree = _git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{spec.commit}:{_tree_path(spec)}",
                    cwd=clone, check=False)
        if not tree or _git("cat-file", "-t", tree, cwd=clone) != "tree":
            raise GitError(f"{spec.path}: no such folder in {spec.url} at {spec.ref}")
        switching = clone / ".git" / SWITCHING_FILE  # this clone's: another's work tree is not this one's doing
        interrupted = switching.exists()
        here = run_git(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd=clone, what="git", check=False)
        on_branch = output(here) if here.returncode == 0 else ""  # "": detached
        if spec.branch and not interrupted and (on_branch, _git("rev-parse", "HEAD", cwd=clone)) == (
            spec.branch, spec.commit
        ):
            return self.project_folder(spec)  # already there: its uncommitted changes are kept
        if on_branch and not interrupted:
            _keep_uncommitted_work(clone, on_branch, spec)
        if spec.branch:
            _keep_unpushed_work(clone, spec)
        # A checkout stopped half-way leaves files of two commits: the next restore checks the commit out
        # again, whatever the branch says (see ``restore``).
        write_atomic(switching, json.dumps(asdict(spec), sort_keys=True))
        if spec.branch:
            _git("checkout", "--quiet", "--force", "-B", spec.branch, spec.commit, "--", cwd=clone)
        else:
            _git("checkout", "--quiet", "--force", "--detach", spec.commit, "--", cwd=clone)
        switching.unlink()
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
    def _resolve(clone: Path, spec: ContextSpec) -> str:
        """The commit ``spec.ref`` names upstream: a branch as just fetched, a tag, else a commit id — never a
        branch of the clone's own (the one the clone was made on stays there; a development branch is made
        here), which upstream may not have."""
        own = run_git(["show-ref", "--verify", "--quiet", f"refs/heads/{spec.ref}"], cwd=clone, what="git", check=False)
        candidates = [f"refs/remotes/origin/{spec.ref}", f"refs/tags/{spec.ref}"]
        for candidate in candidates if own.returncode == 0 else [*candidates, spec.ref]:
            found = _git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{candidate}^{{commit}}",
                         cwd=clone, check=False)
            if found:
                return found
        raise GitError(f"{spec.ref}: no such commit, tag or branch in {spec.url}")

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
