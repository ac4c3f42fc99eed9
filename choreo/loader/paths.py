"""The one place that decides whether choreo may open a path named by a project.

Why: projects are untrusted (a colleague's branch, an upstream ref, a repository handed to the server).
A symbolic link in a project folder, or an absolute or ``../..`` path in a schema profile, would otherwise
make choreo read any file the user can read (``/etc/passwd``, SSH keys) and store or echo its content.
Every reader of project files — the folder scanner, the ``-s`` stage's running configs, schema profiles
and the module folders they name — asks this module for the path before opening it, and gets either the
real path (every link followed), which then lies inside the project root, inside a folder the *user*
trusts (``CHOREO_TRUSTED_PATHS``) or inside a folder the caller adds (pyang's IETF modules, choreo's own
schema clones); or a ``LoadError`` naming the path as the project wrote it. Link loops and links to nothing
are load errors too. The target of a refused link is never opened and never named.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from pathlib import Path

from choreo.errors import LoadError

TRUSTED_PATHS_ENV = "CHOREO_TRUSTED_PATHS"


def trusted_roots() -> tuple[Path, ...]:
    """The folders the user trusts besides the project: ``$CHOREO_TRUSTED_PATHS``, absolute, ``os.pathsep``-separated.

    Only the environment can set it: nothing a project contains is read here."""
    roots = []
    for entry in os.environ.get(TRUSTED_PATHS_ENV, "").split(os.pathsep):
        if not entry:
            continue
        if not os.path.isabs(entry):
            raise LoadError(f"{TRUSTED_PATHS_ENV}: {entry} is not an absolute path")
        roots.append(Path(os.path.realpath(entry)))
    return tuple(roots)


def resolve_inside(path: Path, roots: Iterable[Path], where: str, *, outside: str = "") -> Path | None:
    """The real path of ``path`` (every link followed) when it lies inside one of ``roots`` (real paths).

    None when nothing is at ``path``; ``LoadError`` naming ``where`` when it leads outside the roots (even to
    a file that does not exist; ``outside`` says what the roots are, when not the project and the trusted
    folders), is a link loop or a link to nothing."""
    try:
        real = Path(os.path.realpath(path, strict=True))
    except (FileNotFoundError, NotADirectoryError):
        real = None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise LoadError(f"{where}: symbolic link loop") from None
        raise LoadError(f"{where}: cannot open: {err.strerror}") from None
    if not any((real or Path(os.path.realpath(path))).is_relative_to(root) for root in roots):
        raise LoadError(f"{where}: leads outside {outside or f'the project folder (see {TRUSTED_PATHS_ENV})'}")
    if real is None and os.path.islink(path):
        raise LoadError(f"{where}: broken symbolic link")
    return real


class ProjectPaths:
    """Paths of one project, checked against the project root, the trusted folders and ``extra_roots``."""

    def __init__(self, root: Path, extra_roots: Iterable[Path] = ()) -> None:
        self.root = Path(root)
        self.roots = (Path(os.path.realpath(root)), *trusted_roots(), *(Path(os.path.realpath(r)) for r in extra_roots))

    def allowing(self, *roots: Path) -> ProjectPaths:
        """The same project with more folders allowed (choreo's own, never the project's choice)."""
        paths = ProjectPaths(self.root)
        paths.roots = (*self.roots, *(Path(os.path.realpath(r)) for r in roots))
        return paths

    def source(self, path: Path) -> str:
        """How messages name ``path``: relative to the project root when inside it, else as given."""
        for root in (self.root, self.roots[0]):  # as given, and real: callers may hold either form
            if path.is_relative_to(root):
                return path.relative_to(root).as_posix()
        return path.as_posix()

    def locate(self, path: Path | str, context: str = "") -> Path | None:
        """The real path of ``path`` (relative to the project root, or absolute), None when nothing is there.

        Every link on the way from the project root is checked, not only the last one, so no folder
        outside the allowed roots is ever entered. Errors name the offending path (project-relative when
        inside the project), after ``context`` (e.g. the file and field that named the path)."""
        full = self.root / path
        try:
            parts = full.relative_to(self.root).parts[:-1]
        except ValueError:
            parts = ()
        folder = self.root
        for part in parts:
            folder = folder / part
            if folder.is_symlink():
                resolve_inside(folder, self.roots, self._where(folder, context))
        return resolve_inside(full, self.roots, self._where(full, context))

    def _where(self, path: Path, context: str) -> str:
        return f"{context}: {self.source(path)}" if context else self.source(path)
