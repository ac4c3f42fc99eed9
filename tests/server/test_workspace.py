"""The dynamic-mode workspace on its own (``choreo.server.workspace``): what a checkout that fails leaves."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from choreo.errors import ChoreoError
from choreo.server.workspace import ContextSpec, Workspace


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _repository(path: Path) -> str:
    (path / "proj" / "in").mkdir(parents=True)
    _git(path, "init", "-q", "-b", "main")
    _git(path, "config", "user.email", "dev@example.com")
    _git(path, "config", "user.name", "dev")
    (path / "proj" / "in" / "greeting.yaml").write_text("committed\n")
    _git(path, "add", ".")
    _git(path, "commit", "-q", "-m", "one")
    _git(path, "tag", "v1")
    return f"file://{path}"


def test_a_checkout_that_fails_in_one_clone_leaves_another_clones_uncommitted_inputs(tmp_path: Path) -> None:
    """The mark of a checkout under way was one file for the whole workspace: after a checkout failed in
    repository A's clone (a git that died there left its index lock), putting the previous context back in
    B's clone took the mark as its own and checked B's branch out with --force, throwing away the ``in/``
    changes its user had not committed yet."""
    workspace = Workspace(tmp_path / "workspace")
    served = ContextSpec(url=_repository(tmp_path / "b"), path="proj", ref="v1", branch="dev")
    edited = workspace.checkout(served) / "in" / "greeting.yaml"
    edited.write_text("not committed yet\n")
    other = ContextSpec(url=_repository(tmp_path / "a"), path="proj", ref="v1")
    workspace.checkout(other)
    lock = next((tmp_path / "workspace").glob("*-a")) / ".git" / "index.lock"
    lock.write_text("")
    with pytest.raises(ChoreoError, match=r"index\.lock"):
        workspace.checkout(ContextSpec(url=other.url, path="proj", ref="main"))
    workspace.restore(served)  # what a failed switch does: the previous context back
    assert edited.read_text() == "not committed yet\n"
