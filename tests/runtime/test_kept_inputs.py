"""Between runs the pipeline keeps the input files' documents and stamps in the store: a run after one edit
reads that file only, rewrites one bucket of what is kept and ends where a full run ends; other reader
limits read every file; a run that does not finish keeps nothing of its load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks.fabric import generate
from choreo import filestamp
from choreo.loader import yamlio
from choreo.runtime.controller import Controller
from choreo.runtime.kept_files import HEADER, TABLE
from choreo.runtime.state import open_api
from tests.runtime.test_fixpoint import run


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sources of the ``in/`` files really read; files written before a run are trusted by the next."""
    monkeypatch.setattr(filestamp, "RACY_NS", 0)
    sources: list[str] = []
    original = yamlio.read_text

    def counting(path: Path, source: str, limit: str = "file_bytes") -> str:
        if source.startswith("in/"):
            sources.append(source)
        return original(path, source, limit)

    monkeypatch.setattr(yamlio, "read_text", counting)
    return sources


@pytest.fixture
def fabric(tmp_path: Path, reads: list[str]) -> Path:
    """A small generated fabric after its first run (its files trusted from then on), no read counted yet."""
    root = tmp_path / "fabric"
    generate(root, 4)
    run(root)
    reads.clear()
    return root


def kept_rows(root: Path) -> dict[str, Any]:
    api, backend = open_api(root)
    try:
        return dict(api.records.list_records(TABLE))
    finally:
        backend.close()


def edit_a_link(root: Path) -> str:
    link = sorted((root / "in").glob("link.*.yaml"))[0]
    link.write_text(link.read_text().replace("port: ethernet-1/", "port: ethernet-1/9", 1))
    return f"in/{link.name}"


def test_a_run_after_one_edit_reads_that_file_and_ends_as_a_full_run(
    tmp_path: Path, fabric: Path, reads: list[str]
) -> None:
    root, full = fabric, tmp_path / "full"
    before = kept_rows(root)
    edited = edit_a_link(root)
    run(root)
    assert reads == [edited]
    after = kept_rows(root)
    changed = [key for key in after if after[key] != before.get(key)]
    assert after.keys() == before.keys() and len(before) > 2 and len(changed) == 1 and changed != [HEADER]
    generate(full, 4)
    (full / edited).write_text((root / edited).read_text())
    run(full)
    assert outputs(root) == outputs(full) != {}


def outputs(root: Path) -> dict[str, str]:
    return {path.relative_to(root).as_posix(): path.read_text() for path in sorted((root / "out").rglob("*.*"))}


def test_a_run_that_does_not_finish_keeps_the_stamps_before_it(
    fabric: Path, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = fabric
    before = kept_rows(root)
    edited = edit_a_link(root)

    def killed(*_args: Any) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(Controller, "run", killed)
        with pytest.raises(KeyboardInterrupt):
            run(root)
    assert kept_rows(root) == before and reads == [edited]
    run(root)
    assert reads == [edited, edited] and kept_rows(root) != before


def test_other_reader_limits_read_every_file_again(
    fabric: Path, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = sorted(f"in/{path.name}" for path in (fabric / "in").glob("*.yaml"))
    monkeypatch.setenv("CHOREO_YAML_NODE_LIMIT", "999999")  # changes no verdict, only the setting
    run(fabric)
    assert sorted(reads) == files
