"""Running one malformed-input case: a copy of an example project, one mistake, one ``choreo`` command.

Why in-process: a corpus of hundreds of cases cannot afford a Python start-up each, so the command runs
through ``choreo.cli.main.main`` (the function the console script calls, error printing included) inside
click's ``CliRunner`` isolation. Each example is run once per session; a case starts from a copy of that
good state, so "the store is unchanged" compares the ``objects`` table of the copy before and after.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner

from choreo.cli.main import main
from choreo.messages import SHOWN

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TIME_LIMIT = 30.0
"""Seconds a case may take: hostile input must end in bounded time (the slowest cases take ~3 s)."""
MAX_MESSAGE = 1100
"""Characters of the one error line (the CLI cuts at 1000 and says how much it cut)."""


@dataclass(frozen=True)
class Case:
    """One mistake made to a copy of ``base`` (an example folder) and the error it must end in.

    ``files`` are written (text or bytes) and ``edits`` replace text in existing files (the old text must
    occur); ``remove`` deletes files or folders; ``damage`` is SQL run on the copy's store first. ``args``
    is the command line, ``{p}`` standing for the project folder. ``message`` is a regular expression the
    one error line must contain; ``stdin`` is the command's standard input. ``store``:
    compare the objects table before and after (off only where the case damages the store itself).
    """

    id: str
    base: str = "greeting"
    files: Mapping[str, str | bytes] = field(default_factory=dict)
    edits: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    remove: tuple[str, ...] = ()
    args: tuple[str, ...] = ("run", "{p}")
    code: int = 1
    message: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    stdin: str = ""
    store: bool = True
    damage: str = ""


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    seconds: float


def invoke(args: list[str], env: Mapping[str, str | None] | None = None, stdin: str = "") -> Outcome:
    """``choreo ARGS`` in this process, as the console script runs it (exit code, stdout, stderr)."""
    runner = CliRunner()
    saved = sys.argv
    started = time.monotonic()
    with runner.isolation(input=stdin, env=dict(env or {})) as (out, err, _mixed):
        sys.argv = ["choreo", *args]
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            sys.argv = saved
        seconds = time.monotonic() - started
        return Outcome(code, out.getvalue().decode(errors="replace"), err.getvalue().decode(errors="replace"), seconds)


def objects_table(project: Path) -> list[tuple[str, ...]] | None:
    """Every stored object row (group, kind, namespace, name, body), or None without a store file."""
    path = project / ".choreo" / "choreo.db"
    if not path.is_file():
        return None
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return list(db.execute("SELECT grp, kind, namespace, name, body FROM objects ORDER BY 1, 2, 3, 4"))


def apply_mistake(project: Path, case: Case) -> None:
    """Make the case's changes to the copy of its example."""
    if case.damage:
        with sqlite3.connect(project / ".choreo" / "choreo.db") as db:
            db.execute(case.damage)
    for relative in case.remove:
        target = project / relative
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink()
    for relative, (old, new) in case.edits.items():
        path = project / relative
        text = path.read_text()
        assert old in text, f"{case.id}: {old!r} not in {relative}"
        path.write_text(text.replace(old, new))
    for relative, content in case.files.items():
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def error_line(outcome: Outcome) -> str:
    """The one line that explains the failure, in whichever of choreo's three failure forms it came.

    A load or command error: one line on stderr (a usage error: click's usage lines, then ``Error: ...``).
    A failed reconcile: ``execution failed`` and one ``reason`` line. A post-reconcile stage verdict (``-s``):
    the summary, then ``<stage> failed with N error(s)`` and at most ``SHOWN`` errors and a count.
    """
    combined = outcome.out + outcome.err
    assert "Traceback" not in combined, combined[-2000:]
    assert "internal error" not in combined, outcome.err[-2000:]
    err = outcome.err.strip().splitlines()
    if err:
        return _stderr_line(err)
    out = outcome.out.strip().splitlines()
    failed = [i for i, line in enumerate(out) if _STAGE_FAILED.match(line)]
    if failed:
        listed = [line for line in out[failed[0] + 1 :] if not line.startswith("run failed: ")]  # the verdict
        assert len(listed) <= SHOWN + 1, outcome.out[-2000:]
        return listed[0].strip()
    assert out and out[0] == "execution failed", outcome.out[:2000]
    assert len(out) == 2, outcome.out[:2000]
    return out[1]


_STAGE_FAILED = re.compile(r"^\w[\w-]* failed with \d+ error\(s\)$")


def _stderr_line(err: list[str]) -> str:
    if err[0].startswith("Usage: "):  # click's usage error: usage, hint, blank line, the error
        assert len(err) <= 4 and err[-1].startswith("Error: "), "\n".join(err)[:2000]
        return err[-1]
    assert len(err) == 1, f"{len(err)} lines on stderr:\n" + "\n".join(err)[:2000]
    return err[0]
