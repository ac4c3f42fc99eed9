"""Which files of a project folder the loader reads, in a fixed order.

Why: every folder (crds/, in/, reconcilers/, libs/, refs/, schemas/, runningconfigs/) is listed the same
way — its ``.ignore`` rules applied, the ``.ignore`` file itself and hidden files (``.swp``, ``.DS_Store``
...) skipped, names sorted so that loading is deterministic (the reference iterates in random order). A
missing folder is simply empty. The folder, its ``.ignore`` file and every symbolic link listed in it must
resolve inside the project (``choreo.loader.paths``): a link leading outside, a loop or a link to nothing is
a load error naming the link, whether or not the loader would have read it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from choreo.errors import LoadError
from choreo.loader.ignore import IGNORE_FILE, IgnoreRules
from choreo.loader.paths import ProjectPaths


@dataclass(frozen=True)
class FoundFile:
    """A file to read: its path, its path inside the folder, and its path inside the project."""

    path: Path
    rel: str  # relative to the folder being read, "/"-separated
    source: str  # relative to the project root, for messages

    @property
    def name(self) -> str:
        return self.path.name


class Folder:
    """One project folder (``crds``, ``in`` ...) with its ``.ignore`` rules."""

    def __init__(self, root: Path, name: str, paths: ProjectPaths | None = None) -> None:
        self.root = root
        self.name = name
        self.path = root / name
        self.paths = paths or ProjectPaths(root)
        real = self.paths.locate(name)
        if real is not None and not real.is_dir():
            raise LoadError(f"{name}: expected a directory")
        self.exists = real is not None
        self.real = real or self.path
        self.rules = IgnoreRules()
        if self.exists:
            self.paths.locate(f"{name}/{IGNORE_FILE}")
            self.rules = IgnoreRules.load(self.path, f"{name}/{IGNORE_FILE}")

    def files(self, suffixes: tuple[str, ...] = ()) -> list[FoundFile]:
        """Files directly in the folder (non-recursive), optionally only those with these suffixes."""
        if not self.exists:
            return []
        found, _ = self._scan("")
        return [f for f in found if not suffixes or f.name.endswith(suffixes)]

    def walk(self) -> Iterator[tuple[str, list[FoundFile]]]:
        """Every non-ignored directory, top first then depth-first by name, with its files.

        A directory link back to a folder being walked (its real path among those of the walk's current
        chain of folders) is a loop: a load error naming the link."""
        if not self.exists:
            return
        pending: list[tuple[str, tuple[Path, ...]]] = [("", (self.real,))]
        while pending:
            rel_dir, chain = pending.pop()
            found, subdirs = self._scan(rel_dir, chain[-1])
            yield rel_dir, found
            for rel, real in reversed(subdirs):
                if real in chain:
                    raise LoadError(f"{self.source(rel)}: symbolic link loop")
                pending.append((rel, (*chain, real)))

    def source(self, rel: str) -> str:
        return f"{self.name}/{rel}" if rel else self.name

    def _scan(self, rel_dir: str, real_dir: Path | None = None) -> tuple[list[FoundFile], list[tuple[str, Path]]]:
        """The files and the sub-directories (with their real paths) directly in ``rel_dir``."""
        directory = self.path / rel_dir if rel_dir else self.path
        real_dir = real_dir or self.real
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError as err:
            raise LoadError(f"{self.source(rel_dir)}: cannot list directory: {err.strerror}") from err
        files: list[FoundFile] = []
        subdirs: list[tuple[str, Path]] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue  # .ignore itself, editor and OS droppings
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                is_dir = entry.is_dir()
            except OSError:  # a link loop: reported below unless ignored
                is_dir = False
            if self.rules.ignored(rel, is_dir):
                continue
            real = real_dir / entry.name
            if entry.is_symlink():
                real = self.paths.locate(Path(self.name, rel)) or real
            if is_dir:
                subdirs.append((rel, real))
            elif entry.is_file():
                files.append(FoundFile(path=Path(entry.path), rel=rel, source=self.source(rel)))
        return files, subdirs
