"""Fixtures for the allocator plug-in tests: an API server over the in-memory or the SQLite backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from allocator_api import make_api

from choreo.apiserver.server import APIServer
from choreo.store.memory import MemoryBackend
from choreo.store.sqlite import SqliteBackend


@pytest.fixture
def api() -> APIServer:
    return make_api(MemoryBackend())


@pytest.fixture
def sqlite_api(tmp_path: Path):
    backend = SqliteBackend(tmp_path / "state.db")
    yield make_api(backend)
    backend.close()
