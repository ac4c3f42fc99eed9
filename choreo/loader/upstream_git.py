"""The files of one pinned commit of a git repository, kept in the project's state folder.

Why: upstream refs (spec §1.6) name a repository and a commit hash or tag. Unlike the reference, which
resets a working tree to ``origin/main`` and so reads whatever the branch holds today, we read exactly
the pinned commit (spec §7.7). Layout under the state folder (``<project>/.choreo/refs``):

- ``<url-path>/repo.git`` — a bare clone (``url-path`` = the URL with ``/`` and ``:`` turned into ``-``);
- ``<url-path>/commits/<sha>/`` — the files of one commit, written once (extracted to a temporary
  folder, then renamed) and reused as they are.

The network is used only when the pin does not resolve in the local clone: a later run with the commit
or tag already fetched works offline. We drive the system ``git`` command through ``choreo.git`` (checked
URL and pin, fixed options, allowed transports only; users' git configuration — credentials, proxies,
SSH keys — applies as usual). Every git failure becomes one ``GitError`` line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from choreo.git import GitError, check_ref, check_url, export_commit, output, run_git

__all__ = ["HASH_PATTERN", "GitError", "Pin", "checkout", "url_path"]

HASH_PATTERN = re.compile(r"^[0-9a-fA-F]{7,64}$")
FULL_HASH_LENGTHS = (40, 64)  # SHA-1, SHA-256


@dataclass(frozen=True)
class Pin:
    """What an upstream ref pins: a commit ``hash`` or a ``tag``."""

    type: str  # "hash" | "tag"
    name: str

    @property
    def revision(self) -> str:
        """The revision git resolves (the reference's plumbing reference)."""
        return self.name if self.type == "hash" else f"refs/tags/{self.name}"

    @property
    def label(self) -> str:
        return f"commit {self.name}" if self.type == "hash" else f"tag {self.name}"


def url_path(url: str) -> str:
    """The folder name of a repository URL: ``/`` and ``:`` become ``-`` (as the reference)."""
    return url.replace("/", "-").replace(":", "-")


def checkout(state_dir: Path, url: str, pin: Pin) -> tuple[str, Path]:
    """The full commit hash the pin names and the folder holding that commit's files."""
    check_url(url)
    check_ref(pin.name, what=pin.type)
    base = state_dir / url_path(url)
    repo = base / "repo.git"
    _ensure_repo(repo)
    commit = _resolve(repo, pin)
    if commit is None:
        _fetch(repo, url, pin)
        commit = _resolve(repo, pin)
    if commit is None:
        raise GitError(f"{pin.label} not found in {url}")
    tree = base / "commits" / commit
    if not tree.is_dir():
        export_commit(repo, commit, tree)
    return commit, tree


def _ensure_repo(repo: Path) -> None:
    if not (repo / "HEAD").is_file():
        repo.mkdir(parents=True, exist_ok=True)
        run_git(["init", "--quiet", "--bare", "--", str(repo)], what=f"cannot create a clone in {repo}")


def _resolve(repo: Path, pin: Pin) -> str | None:
    """The commit hash of the pin in the local clone, or None when it is not there (yet)."""
    result = run_git(["--git-dir", str(repo), "rev-parse", "--verify", "--quiet", "--end-of-options",
                      f"{pin.revision}^{{commit}}"], what="rev-parse", check=False)
    return output(result) if result.returncode == 0 else None


def _fetch(repo: Path, url: str, pin: Pin) -> None:
    """Fetch every branch and tag; a full hash no branch or tag reaches is asked for by name."""
    refspecs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
    run_git(["--git-dir", str(repo), "fetch", "--quiet", "--no-tags", "--", url, *refspecs],
            what=f"cannot fetch {url}")
    if pin.type == "hash" and len(pin.name) in FULL_HASH_LENGTHS and _resolve(repo, pin) is None:
        run_git(["--git-dir", str(repo), "fetch", "--quiet", "--no-tags", "--", url, pin.name],
                what=f"cannot fetch {url}", check=False)
