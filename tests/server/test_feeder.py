"""The folder feeder reports what a load would see: edited, added and removed inputs, never the short-lived
files editors and tools leave beside them (``choreo.server.feeder``)."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from watchfiles import Change

from choreo.server.feeder import FolderFeeder


def feeder_on(root: Path, reload=lambda paths: None) -> FolderFeeder:  # type: ignore[no-untyped-def]
    return FolderFeeder(root, reload, lambda *args, **fields: None)


def project(tmp_path: Path) -> Path:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "node.yaml").write_text("kind: Node\n")
    (tmp_path / "reconcilers" / "link").mkdir(parents=True)
    (tmp_path / "reconcilers" / "link" / "config.yaml").write_text("kind: Reconciler\n")
    return tmp_path


def test_litter_is_dropped_and_removed_inputs_are_reported(tmp_path: Path) -> None:
    root = project(tmp_path)
    feeder = feeder_on(root)
    feeder._look_around()
    node, litter = str(root / "in" / "node.yaml"), str(root / "in" / "4913")

    # vim's probe file, created and removed within the burst, beside the saved file
    assert feeder.settled([(Change.added, litter), (Change.deleted, litter), (Change.modified, node)]) == [
        "in/node.yaml"
    ]
    assert feeder.settled([(Change.added, litter), (Change.deleted, litter)]) == []

    # a removed input is reported once: the set of seen files follows
    (root / "in" / "node.yaml").unlink()
    assert feeder.settled([(Change.deleted, node)]) == ["in/node.yaml"]
    assert feeder.settled([(Change.deleted, node)]) == []

    # a new file is seen from then on, so its removal is reported
    (root / "in" / "link.yaml").write_text("kind: Link\n")
    assert feeder.settled([(Change.added, str(root / "in" / "link.yaml"))]) == ["in/link.yaml"]
    (root / "in" / "link.yaml").unlink()
    assert feeder.settled([(Change.deleted, str(root / "in" / "link.yaml"))]) == ["in/link.yaml"]


def test_a_folder_moved_away_or_in_is_reported_with_what_it_holds(tmp_path: Path) -> None:
    root = project(tmp_path)
    feeder = feeder_on(root)
    feeder._look_around()
    folder = root / "reconcilers" / "link"
    elsewhere = tmp_path.parent / f"{tmp_path.name}-away"

    shutil.move(folder, elsewhere)  # inotify says only that the folder went
    assert feeder.settled([(Change.deleted, str(folder))]) == ["reconcilers/link"]

    shutil.move(elsewhere, folder)  # and only that it came
    assert feeder.settled([(Change.added, str(folder))]) == ["reconcilers/link"]
    (folder / "config.yaml").unlink()  # its files are seen: removing one is reported
    assert feeder.settled([(Change.deleted, str(folder / "config.yaml"))]) == ["reconcilers/link/config.yaml"]


def test_a_running_feeder_loads_the_saved_file_without_the_litter_beside_it(tmp_path: Path) -> None:
    root = project(tmp_path)
    bursts: list[list[str]] = []
    arrived = threading.Event()

    def reload(paths: list[str]) -> None:
        bursts.append(paths)
        arrived.set()

    feeder = feeder_on(root, reload)
    feeder.start()
    try:
        probe = root / "in" / "probe.yaml"
        deadline = time.monotonic() + 20
        while not arrived.wait(0.3):  # until the watch is in place
            assert time.monotonic() < deadline, "the feeder never reported a change"
            probe.write_text(f"kind: Probe\n# {time.monotonic()}\n")
        arrived.clear()
        bursts.clear()

        for name in ("4913", "sedAb12Cd"):  # vim's probe, sed -i's temporary file: made and gone at once
            (root / "in" / name).write_text("x")
            (root / "in" / name).unlink()
        (root / "in" / "node.yaml").write_text("kind: Node\nspec: {}\n")
        deadline = time.monotonic() + 20
        while not any("in/node.yaml" in burst for burst in bursts):
            assert time.monotonic() < deadline, "the saved file was never reported"
            arrived.wait(0.3)
        assert all(path in ("in/node.yaml", "in/probe.yaml") for burst in bursts for path in burst), bursts
    finally:
        feeder.stop()


def test_only_changes_under_the_watched_folders_are_relevant(tmp_path: Path) -> None:
    """The store's commits (``.choreo/``) and the stage's files (``out/``) are not inputs; a top-level link
    is followed to where it leads."""
    root = project(tmp_path)
    (root / ".choreo").mkdir()
    (root / "out").mkdir()
    (root / "linked").symlink_to(root / "in")
    feeder = feeder_on(root)
    assert feeder.relevant(Change.modified, str(root / "in" / "node.yaml"))
    assert feeder.relevant(Change.added, str(root / "reconcilers" / "link" / "config.yaml"))
    assert not feeder.relevant(Change.modified, str(root / ".choreo" / "choreo.db-wal"))
    assert not feeder.relevant(Change.added, str(root / "out" / "leaf1.json"))
    assert not feeder.relevant(Change.added, str(root / "notes.txt"))
    assert feeder.relevant(Change.modified, str(root / "linked" / "node.yaml"))
    assert not feeder.relevant(Change.modified, str(root / "in" / ".node.yaml.swp"))
