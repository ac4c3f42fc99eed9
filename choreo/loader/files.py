"""Which files of a project folder the loader reads, in a fixed order.

Why: every folder (crds/, in/, reconcilers/, libs/, refs/) is listed the same way — its ``.ignore``
rules applied, the ``.ignore`` file itself and hidden files (``.swp``, ``.DS_Store`` ...) skipped,
names sorted so that loading is deterministic (the reference iterates in random order). A missing
folder is simply empty.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from choreo.errors import LoadError
from choreo.loader.ignore import IGNORE_FILE, IgnoreRules


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

    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.name = name
        self.path = root / name
        if self.path.exists() and not self.path.is_dir():
            raise LoadError(f"{name}: expected a directory")
        self.exists = self.path.is_dir()
        self.rules = IgnoreRules.load(self.path, f"{name}/{IGNORE_FILE}") if self.exists else IgnoreRules()

    def files(self, suffixes: tuple[str, ...] = ()) -> list[FoundFile]:
        """Files directly in the folder (non-recursive), optionally only those with these suffixes."""
        if not self.exists:
            return []
        found, _ = self._scan("")
        return [f for f in found if not suffixes or f.name.endswith(suffixes)]

    def walk(self) -> Iterator[tuple[str, list[FoundFile]]]:
        """Every non-ignored directory, top first then depth-first by name, with its files."""
        if not self.exists:
            return
        pending = [""]
        while pending:
            rel_dir = pending.pop()
            found, subdirs = self._scan(rel_dir)
            yield rel_dir, found
            pending.extend(reversed(subdirs))

    def source(self, rel: str) -> str:
        return f"{self.name}/{rel}" if rel else self.name

    def _scan(self, rel_dir: str) -> tuple[list[FoundFile], list[str]]:
        directory = self.path / rel_dir if rel_dir else self.path
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError as err:
            raise LoadError(f"{self.source(rel_dir)}: cannot list directory: {err.strerror}") from err
        files: list[FoundFile] = []
        subdirs: list[str] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue  # .ignore itself, editor and OS droppings
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            is_dir = entry.is_dir()
            if self.rules.ignored(rel, is_dir):
                continue
            if is_dir:
                subdirs.append(rel)
            elif entry.is_file():
                files.append(FoundFile(path=Path(entry.path), rel=rel, source=self.source(rel)))
        return files, subdirs
