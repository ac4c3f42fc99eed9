"""Fixtures that run the store conformance suite against every backend, plus small object builders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from choreo.api.objects import ObjectKey
from choreo.store._common import BaseBackend
from choreo.store.memory import MemoryBackend
from choreo.store.sqlite import SqliteBackend

GROUP = "example.com"
KIND = "Widget"

BackendFactory = Callable[..., BaseBackend]


def key(name: str, namespace: str = "default", kind: str = KIND, group: str = GROUP) -> ObjectKey:
    return ObjectKey(group, kind, namespace, name)


def obj(
    name: str,
    namespace: str = "default",
    kind: str = KIND,
    labels: dict[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A minimal KRM object; namespace "" makes it cluster scoped."""
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if labels is not None:
        metadata["labels"] = labels
    return {"apiVersion": f"{GROUP}/v1", "kind": kind, "metadata": metadata, "spec": dict(spec)}


def put(backend: BaseBackend, name: str, namespace: str = "default", **kwargs: Any) -> dict[str, Any]:
    """Create ``obj(name, namespace, ...)`` under its matching key."""
    kind = kwargs.get("kind", KIND)
    return backend.create(key(name, namespace, kind=kind), obj(name, namespace, **kwargs))


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "store.db"


@pytest.fixture(params=["memory", "sqlite"])
def backend_factory(request: pytest.FixtureRequest, store_path: Path) -> Iterator[BackendFactory]:
    """Builds the parametrized backend with extra constructor kwargs (e.g. ``max_events``)."""
    opened: list[BaseBackend] = []

    def make(**kwargs: Any) -> BaseBackend:
        backend: BaseBackend
        backend = MemoryBackend(**kwargs) if request.param == "memory" else SqliteBackend(store_path, **kwargs)
        opened.append(backend)
        return backend

    yield make
    for backend in opened:
        backend.close()


@pytest.fixture
def backend(backend_factory: BackendFactory) -> BaseBackend:
    return backend_factory()


@pytest.fixture
def open_sqlite(store_path: Path) -> Iterator[Callable[..., SqliteBackend]]:
    """Opens (or reopens) the SQLite store at ``store_path``; everything opened is closed afterwards."""
    opened: list[SqliteBackend] = []

    def reopen(**kwargs: Any) -> SqliteBackend:
        backend = SqliteBackend(store_path, **kwargs)
        opened.append(backend)
        return backend

    yield reopen
    for backend in opened:
        backend.close()
