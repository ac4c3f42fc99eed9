"""Links a project brings where choreo writes: the state folder and the output folder.

A project could ship ``.choreo`` or ``out`` (or a file in them) as a link to a folder or file of the user's;
choreo must then refuse (the state folder, the ``out`` folder) or replace the link (an output file), and
never write through it.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import choreo


def _outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "precious.txt").write_text("keep me\n")
    return folder


def _refused(result, needle: str) -> None:
    assert result.code == 1, result.out + result.err
    assert result.err == f"error: {needle}: leads outside the project folder (see CHOREO_TRUSTED_PATHS)\n"


def test_a_state_folder_linked_outside_is_refused(example, tmp_path: Path) -> None:
    outside = _outside(tmp_path)
    project = example("greeting")
    (project / ".choreo").symlink_to(outside)
    _refused(choreo("run", str(project)), ".choreo")
    assert sorted(p.name for p in outside.iterdir()) == ["precious.txt"]


def test_a_store_file_linked_outside_is_refused(example, tmp_path: Path) -> None:
    outside = _outside(tmp_path)
    project = example("greeting")
    (project / ".choreo").mkdir()
    (project / ".choreo" / "choreo.db").symlink_to(outside / "precious.txt")
    _refused(choreo("run", str(project)), ".choreo/choreo.db")
    assert (outside / "precious.txt").read_text() == "keep me\n"


def test_an_output_folder_linked_outside_is_refused(example, tmp_path: Path) -> None:
    outside = _outside(tmp_path)
    project = example("fabric")
    (project / "out").symlink_to(outside)
    _refused(choreo("run", str(project), "-r", "-s"), "out")
    assert sorted(p.name for p in outside.iterdir()) == ["precious.txt"]


def test_an_output_file_linked_outside_is_replaced_not_followed(example, tmp_path: Path) -> None:
    outside = _outside(tmp_path)
    project = example("fabric")
    (project / "out").mkdir()
    (project / "out" / "leaf1.json").symlink_to(outside / "precious.txt")
    result = choreo("run", str(project), "-r", "-s")
    assert result.code == 0, result.out + result.err
    assert (outside / "precious.txt").read_text() == "keep me\n"
    written = project / "out" / "leaf1.json"
    assert not written.is_symlink() and written.read_text().startswith("{")
