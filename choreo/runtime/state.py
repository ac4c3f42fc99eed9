"""Where a project keeps its state (``<project>/.choreo/choreo.db``) and the one way commands open it.

Why a module of its own: most commands only open the store to read it (``get``, ``run list``, ``run
diff``, the plug-ins' ``config`` commands); this module lets them do so without importing the reconcile
engine, which ``choreo.runtime.session`` (a batch run) needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from choreo.apiserver.server import APIServer
from choreo.errors import ChoreoError
from choreo.loader.paths import ProjectPaths
from choreo.loader.project import STATE_DIR
from choreo.store import Backend, open_backend


def state_path(root: Path) -> Path:
    return root / STATE_DIR / "choreo.db"


def open_state(root: Path) -> Backend:
    """The project's store, created on first use."""
    state_folder(root)
    return open_backend(state_path(root))


def state_folder(root: Path) -> Path:
    """The project's state folder, created on first use. One (or anything in it) that a project brought as a
    link leading outside the project is refused: choreo writes there."""
    _check_state_folder(root)
    folder = root / STATE_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file (or a link to one) of that name
        raise ChoreoError(f"{folder}: is a file, not choreo's state folder; remove it and try again") from None
    return folder


def _check_state_folder(root: Path) -> None:
    paths = ProjectPaths(root)
    folder = paths.locate(STATE_DIR)
    if folder is not None and folder.is_dir():
        for entry in sorted((root / STATE_DIR).iterdir()):
            paths.locate(entry.relative_to(root))


def open_api(root: Path) -> tuple[APIServer, Backend]:
    """The API over a project's store (the caller closes the backend): the one way commands open it."""
    backend = open_state(root)
    return APIServer(backend), backend


@contextmanager
def stored_api(root: Path, *, run_hint: str = "") -> Iterator[APIServer]:
    """The API over the stored state of a project that has run, knowing the kinds whose CRDs are stored
    (plug-in kinds included): how commands that only read or inspect results open a project."""
    if not state_path(root).exists():
        raise ChoreoError(f"{root}: no state yet: run `choreo run {root}{run_hint}` first")
    api, backend = open_api(root)
    try:
        api.register_stored_crds()
        yield api
    finally:
        backend.close()
