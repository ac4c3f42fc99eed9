"""write_atomic: a reader finds the old content or the new, a link at the path is replaced, a failure leaves
nothing behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from choreo.atomic import write_atomic


def test_the_content_is_replaced_and_a_link_at_the_path_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("the user's own file\n")
    path = tmp_path / "leaf1.json"
    path.symlink_to(target)
    write_atomic(path, "new\r\nlines\n")
    assert not path.is_symlink() and path.read_bytes() == b"new\r\nlines\n"
    assert target.read_text() == "the user's own file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere.txt", "leaf1.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "leaf1.json"
    path.write_text("old\n")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(path, "half \udc80 of it")  # a lone surrogate cannot be written as UTF-8
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["leaf1.json"]


def test_a_missing_folder_is_an_os_error_naming_nothing_written(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "no-such-folder" / "leaf1.json", "x")
    assert list(tmp_path.iterdir()) == []


def test_a_file_keeps_its_permissions_and_a_new_one_gets_the_umask_s(tmp_path: Path) -> None:
    kept = tmp_path / "shared.yaml"
    kept.write_text("old\n")
    kept.chmod(0o664)
    write_atomic(kept, "new\n")
    fresh = tmp_path / "leaf1.json"
    write_atomic(fresh, "{}\n")
    umask = os.umask(0o022)
    os.umask(umask)
    assert (stat.S_IMODE(kept.stat().st_mode), stat.S_IMODE(fresh.stat().st_mode)) == (0o664, 0o666 & ~umask)
