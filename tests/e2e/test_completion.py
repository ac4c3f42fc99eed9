"""Shell completion through the real CLI, as bash, zsh and fish ask for it: subcommands, project folders,
kinds, object names and device names, and the scripts ``choreo completion SHELL`` prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import choreo


def complete(line: str, shell: str = "bash", cwd: Path | None = None) -> list[str]:
    """The words choreo offers for the last word of ``line`` (a trailing space: a new word)."""
    words = line.split()
    env = dict(os.environ, _CHOREO_COMPLETE=f"{shell}_complete")
    if shell in ("bash", "zsh"):
        env |= {"COMP_WORDS": line, "COMP_CWORD": str(len(words) - (0 if line.endswith(" ") else 1))}
    else:
        env |= {"COMP_WORDS": line, "COMP_CWORD": "" if line.endswith(" ") else words[-1]}
    proc = subprocess.run([sys.executable, "-m", "choreo.cli.main"], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    if not proc.stdout.strip():
        return []
    if shell == "bash":
        return [entry.split(",", 1)[1] for entry in proc.stdout.splitlines()]
    if shell == "zsh":
        lines = proc.stdout.splitlines()
        return [lines[i + 1] for i in range(0, len(lines), 3)]
    return [entry.split(",", 1)[1].split("\t")[0] for entry in proc.stdout.splitlines()]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_run_offers_its_subcommands_and_project_folders(example, shell: str) -> None:
    project = example("hello-world")
    offered = complete("choreo run ", shell, cwd=project.parent)
    assert {"once", "result", "list", "diff", "deps"} <= set(offered)
    assert "hello-world/" in offered
    assert complete("choreo run re", shell, cwd=project.parent) == ["result"]


def test_get_offers_kinds_then_names_and_type_slash_name(example) -> None:
    project = example("greeting")
    assert choreo("run", str(project)).code == 0
    kinds = complete("choreo get ", cwd=project)
    assert {"greetings", "messages", "reconcilers"} <= set(kinds)
    assert complete("choreo get gr", cwd=project) == ["greetings"]
    assert complete("choreo get greeting ", cwd=project) == ["alice", "bob"]
    assert complete(f"choreo get -C {project} message ") == ["alice-message", "bob-message"]
    assert complete("choreo get greeting/a", cwd=project) == ["greeting/alice"]
    assert complete("choreo get nokind ", cwd=project) == []
    assert complete("choreo get ", cwd=project.parent) == []  # no project there: nothing, and no error


def test_config_show_offers_device_names(example) -> None:
    project = example("fabric")
    assert choreo("run", str(project), "-r", "-s").code == 0
    assert complete("choreo config show ", cwd=project) == ["leaf1", "leaf2", "spine1", "spine2"]
    assert complete("choreo config blame sp", cwd=project) == ["spine1", "spine2"]


@pytest.mark.parametrize(("shell", "marker"), [("bash", "complete -o nosort -F"), ("zsh", "#compdef choreo"),
                                               ("fish", "complete --no-files --command choreo")])
def test_completion_prints_the_script_for_each_shell(shell: str, marker: str) -> None:
    result = choreo("completion", shell)
    assert result.code == 0 and marker in result.out and "_CHOREO_COMPLETE" in result.out
