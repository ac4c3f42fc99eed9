"""Pick a backend from a location string: ``memory:`` or a path to an SQLite file."""

from __future__ import annotations

from pathlib import Path

from choreo.store.base import Backend


def open_backend(location: str | Path) -> Backend:
    if str(location) == "memory:":
        from choreo.store.memory import MemoryBackend

        return MemoryBackend()
    from choreo.store.sqlite import SqliteBackend

    return SqliteBackend(Path(location))
