"""``choreo run -s`` twice, with the real CLI: the second run validates only what changed, also when a YANG
module file of a profile changes, and its files are those of a run from scratch, byte for byte."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.e2e.conftest import choreo
from tests.yang.conftest import FIXTURES
from tests.yang.test_stage_incremental import make_project, outputs


def run(project: Path) -> str:
    result = choreo("run", str(project), "-s")
    assert result.code == 0, result.out + result.err
    return result.out


def test_reruns_validate_only_what_changed_and_match_a_run_from_scratch(tmp_path: Path) -> None:
    project = tmp_path / "fx"
    shutil.copytree(FIXTURES / "good", project / "models")
    make_project(project, "models")  # the profiles' modules live in the project: users edit them
    assert "schema: 3 device(s) validated, 0 unchanged since the last run" in run(project)
    assert "schema: 0 device(s) validated, 3 unchanged since the last run" in run(project)
    module = project / "models" / "fx-net.yang"
    module.write_text(module.read_text().replace('"Port name."', '"The name of a port."'))
    assert "schema: 3 device(s) validated, 0 unchanged since the last run" in run(project)
    files = outputs(project)
    (project / "out" / "dev1.json").unlink()
    assert "schema: 1 device(s) validated, 2 unchanged since the last run" in run(project)
    assert outputs(project) == files
    scratch = tmp_path / "scratch" / "fx"
    shutil.copytree(project, scratch, ignore=shutil.ignore_patterns(".choreo", "out"))
    run(scratch)
    assert outputs(scratch) == outputs(project)


def test_a_copied_project_never_removes_files_of_the_folder_it_was_copied_from(tmp_path: Path) -> None:
    """The stage's records name the output folder they were written to; a copy of the project (state
    included) that drops a device removes that device's files in its own out/ only."""
    original = tmp_path / "original"
    shutil.copytree(FIXTURES / "good", original / "models")
    make_project(original, "models")
    run(original)
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    for path in (copy / "in").glob("*dev2*"):
        path.unlink()
    run(copy)
    assert (original / "out" / "dev2.json").exists()
    assert not (copy / "out" / "dev2.json").exists()


def test_a_project_moved_with_its_state_validates_nothing_again(tmp_path: Path) -> None:
    """A CI job that restores ``.choreo/`` and ``out/`` into a checkout at another path (file times not
    kept), or a renamed project folder: the fingerprints hold the paths inside the project relative to it
    (out folder, module files), so every device keeps its verdict; an edit after the move is still seen."""
    original = tmp_path / "original" / "fx"
    shutil.copytree(FIXTURES / "good", original / "models")
    make_project(original, "models")
    run(original)
    files = outputs(original)
    moved = tmp_path / "checkout" / "fx"
    shutil.copytree(original, moved, copy_function=shutil.copy)  # new file times, as a fresh checkout has
    shutil.rmtree(original)
    assert "schema: 0 device(s) validated, 3 unchanged since the last run" in run(moved)
    assert outputs(moved) == files
    module = moved / "models" / "fx-net.yang"
    module.write_text(module.read_text().replace('"Port name."', '"The name of a port."'))
    assert "schema: 3 device(s) validated, 0 unchanged since the last run" in run(moved)
