"""The stage's file writer (``yang.outputs.FileWriter``): files written on a thread of their own, their states
known once ``finish`` returns, and a file that cannot be written reported by name, the others written."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from choreo.errors import ChoreoError
from yang.merge import Merged
from yang.outputs import FileWriter, config_json, files_intact


def _merged(number: int) -> Merged:
    return Merged(config={"ietf-interfaces:interfaces": {"interface": [{"name": f"e{number}"}]}},
                  xml=f"<interfaces><interface><name>e{number}</name></interface></interfaces>")


def test_the_files_are_written_and_their_states_are_in_the_entries_after_finish(tmp_path: Path) -> None:
    out = tmp_path / "out"
    entries: list[dict[str, Any]] = [{"files": {}} for _ in range(20)]
    with FileWriter() as files:
        for number, entry in enumerate(entries):
            files.write(out, f"leaf{number}", _merged(number), entry)
        files.finish()
    for number, entry in enumerate(entries):
        text = (out / f"leaf{number}.json").read_text()
        assert text == config_json(_merged(number).config)
        assert entry["files"][".json"]["sha256"] == hashlib.sha256(text.encode()).hexdigest()
        assert files_intact(out, f"leaf{number}", entry["files"])
    assert sorted(p.name for p in out.iterdir()) == sorted(f"leaf{n}{s}" for n in range(20) for s in (".json", ".xml"))


def test_a_file_that_cannot_be_written_is_named_at_finish_and_the_others_are_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "leaf1.json").mkdir(parents=True)  # a folder where the file must go
    entries: list[dict[str, Any]] = [{"files": {}} for _ in range(3)]
    with FileWriter() as files:
        for number, entry in enumerate(entries):
            files.write(out, f"leaf{number}", _merged(number), entry)
        with pytest.raises(ChoreoError, match=f"^{out / 'leaf1.json'}: cannot write: "):
            files.finish()
    assert (out / "leaf0.json").is_file() and (out / "leaf2.xml").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["leaf0.json", "leaf0.xml", "leaf1.json", "leaf2.json", "leaf2.xml"]
