"""An input file whose stamp is what it was when it was read is not read again; anything that could hide a
change (racy times, another stamp) reads it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from choreo import filestamp
from choreo.errors import LoadError
from choreo.filestamp import FileStamp
from choreo.loader import yamlio
from choreo.loader.loading import load_project
from choreo.loader.project import Project
from choreo.loader.yamlio import ParsedDocuments

GREETING = "apiVersion: example.com/v1\nkind: Greeting\nmetadata: {{name: {name}}}\nspec: {{text: {text}}}\n"


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sources of the YAML files really read (opened) by the loader."""
    sources: list[str] = []
    original = yamlio.read_text

    def counting(path: Path, source: str, limit: str = "file_bytes") -> str:
        sources.append(source)
        return original(path, source, limit)

    monkeypatch.setattr(yamlio, "read_text", counting)
    return sources


def write(root: Path, name: str, text: str) -> None:
    (root / "in").mkdir(parents=True, exist_ok=True)
    (root / "in" / name).write_text(GREETING.format(name=name.removesuffix(".yaml"), text=text))


def load(root: Path, before: ParsedDocuments | None = None) -> tuple[Project, ParsedDocuments]:
    """Load ``root`` with what the load ``before`` kept, as the pipeline does between runs."""
    parsed = ParsedDocuments(before.kept if before else None)
    return load_project(root, parsed), parsed


def stamped(parsed: ParsedDocuments) -> list[str]:
    """The sources of the files the next load may take by their stamp."""
    return sorted(source for source, entry in parsed.kept.items() if entry[0] is not None)


def texts(project: Project) -> dict[str, str]:
    return {item.source: item.obj["spec"]["text"] for item in project.inputs}


def coarse_times(monkeypatch: pytest.MonkeyPatch, at_ns: int) -> None:
    """Make every file look as on a filesystem whose times did not move since ``at_ns``: a file rewritten to
    the same size keeps its stamp, as it does within one tick of a coarse clock."""

    def stamp(path: Path | os.DirEntry[str]) -> FileStamp:
        return 1, path.stat().st_size, at_ns, at_ns

    monkeypatch.setattr(yamlio, "file_stamp", stamp)


def test_an_unchanged_file_is_taken_by_its_stamp_and_an_edited_one_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reads: list[str]
) -> None:
    monkeypatch.setattr(filestamp, "RACY_NS", 0)  # files written before the look are trusted at once
    write(tmp_path, "a.yaml", "hello")
    write(tmp_path, "b.yaml", "bye")
    first, kept = load(tmp_path)
    assert sorted(reads) == ["in/a.yaml", "in/b.yaml"] and stamped(kept) == sorted(reads)
    reads.clear()
    second, kept = load(tmp_path, kept)
    assert reads == [] and second.inputs == first.inputs
    write(tmp_path, "b.yaml", "ciao and bye")
    third, kept = load(tmp_path, kept)
    assert reads == ["in/b.yaml"] and texts(third) == {"in/a.yaml": "hello", "in/b.yaml": "ciao and bye"}
    reads.clear()
    assert texts(load(tmp_path, kept)[0]) == texts(third) and reads == []


def test_a_file_rewritten_within_its_times_granularity_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reads: list[str]
) -> None:
    coarse_times(monkeypatch, time.time_ns())  # the file's times are those of the look: racy
    write(tmp_path, "a.yaml", "hello")
    _, kept = load(tmp_path)
    assert stamped(kept) == [] and list(kept.kept) == ["in/a.yaml"]
    write(tmp_path, "a.yaml", "howdy")  # same size, same stamp
    assert texts(load(tmp_path, kept)[0]) == {"in/a.yaml": "howdy"} and reads == ["in/a.yaml", "in/a.yaml"]


def test_a_stamp_older_than_the_look_is_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reads: list[str]
) -> None:
    """The counterpart of the racy case: the same rewrite, with times safely older than the look, goes unseen
    (what makes a racy stamp dangerous, and what the racy rule is for)."""
    coarse_times(monkeypatch, time.time_ns() - 2 * filestamp.RACY_NS)
    write(tmp_path, "a.yaml", "hello")
    _, kept = load(tmp_path)
    write(tmp_path, "a.yaml", "howdy")
    assert texts(load(tmp_path, kept)[0]) == {"in/a.yaml": "hello"} and reads == ["in/a.yaml"]


def test_a_file_that_stops_parsing_gives_the_message_a_first_load_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(filestamp, "RACY_NS", 0)
    write(tmp_path, "a.yaml", "hello")
    _, kept = load(tmp_path)
    (tmp_path / "in" / "a.yaml").write_text("apiVersion: v1\nkind: [\n")
    with pytest.raises(LoadError) as fresh:
        load(tmp_path)
    with pytest.raises(LoadError) as taken:
        load(tmp_path, kept)
    assert str(taken.value) == str(fresh.value) == "in/a.yaml:3: invalid YAML: did not find expected node content"


def test_a_replaced_file_with_an_old_modification_time_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reads: list[str]
) -> None:
    """``touch -d`` (or a tool keeping times) cannot set the change time back: the stamp differs."""
    monkeypatch.setattr(filestamp, "RACY_NS", 0)
    write(tmp_path, "a.yaml", "hello")
    path = tmp_path / "in" / "a.yaml"
    old = path.stat()
    _, kept = load(tmp_path)
    time.sleep(0.05)  # past a tick of the kernel's file clock
    write(tmp_path, "a.yaml", "howdy")
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert texts(load(tmp_path, kept)[0]) == {"in/a.yaml": "howdy"} and reads == ["in/a.yaml", "in/a.yaml"]
