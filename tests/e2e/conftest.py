"""Helpers for end-to-end tests: copy an example project and run the real ``choreo`` CLI on it."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# A Greeting to add to the greeting example (apply tests, local and against a server).
CAROL = """\
apiVersion: example.com/v1alpha1
kind: Greeting
metadata:
  name: carol
  namespace: default
spec:
  name: Carol
  language: nl
"""


@dataclass
class Result:
    code: int
    out: str
    err: str


def choreo(*args: str, cwd: Path | None = None, stdin: str | None = None) -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "choreo.cli.main", *args],
        capture_output=True, text=True, cwd=cwd, input=stdin, timeout=120,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def get_json(project: Path, resource: str, name: str | None = None) -> dict:
    args = ["get", resource, *([name] if name else []), "-C", str(project), "-o", "json"]
    result = choreo(*args)
    assert result.code == 0, result.err
    return json.loads(result.out)


def store_is_intact(project: Path) -> bool:
    db = project / ".choreo" / "choreo.db"
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.fixture
def example(tmp_path: Path):
    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns(".choreo"))
        return target

    return copy


@pytest.fixture(autouse=True)
def no_addressed_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home of our own: no config file, no ``CHOREO_SERVER`` or token from the machine running the tests
    (a developer's own config would otherwise send these tests to their server)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_CONFIG_HOME", "CHOREO_SERVER", "CHOREO_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return home
