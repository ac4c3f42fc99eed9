"""Helpers every command module shares: finding the project folder and opening its stored state."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from choreo.apiserver.server import APIServer
from choreo.errors import ChoreoError
from choreo.runtime.session import open_state, state_path
from choreo.store.base import Backend


def project_dir(path: str | None) -> Path:
    root = Path(path or ".").resolve()
    if not root.is_dir():
        raise ChoreoError(f"{path}: project folder does not exist")
    return root


@contextmanager
def project_state(directory: str | None) -> Iterator[Backend]:
    """The state of an existing project folder that has been run at least once."""
    root = project_dir(directory)
    if not state_path(root).exists():
        raise ChoreoError(f"{root}: no state yet: run `choreo run {root}` first")
    backend = open_state(root)
    try:
        yield backend
    finally:
        backend.close()


def stored_api(backend: Backend) -> APIServer:
    """An API server over stored state, knowing the kinds whose CRDs are stored."""
    api = APIServer(backend)
    api.register_stored_crds()
    return api
