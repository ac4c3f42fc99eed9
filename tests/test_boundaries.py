"""The API server is the boundary: outside choreo/store and choreo/apiserver nothing reaches through an
object's ``.backend`` (``api.backend``, ``self.api.backend``); transactions, events and records go through
``api.transaction()``, ``api.events`` and ``api.records``."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OWNERS = ("choreo/store/", "choreo/apiserver/")


def _reaches_through_backend(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr == "backend":
            own = isinstance(node.value, ast.Name) and node.value.id == "self"  # an object's own store
            if not own:
                found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    return found


def test_nothing_outside_the_store_and_the_api_server_touches_a_backend() -> None:
    files = [p for package in ("choreo", "reconcilers", "yang") for p in sorted((REPO / package).rglob("*.py"))]
    offenders = [
        hit for path in files if not str(path.relative_to(REPO)).startswith(OWNERS)
        for hit in _reaches_through_backend(path)
    ]
    assert offenders == []


def test_the_engine_is_written_against_the_object_api_protocol() -> None:
    """The pipeline's load, the loader's sync, the controller, the HTTP layer and the plug-ins (hooks,
    stages) take any ``ObjectAPI``; the remote cluster client provides it by composition, not by inheriting choreo's own
    server (mypy checks the fit)."""
    from choreo.apiserver.interface import ObjectAPI
    from choreo.apiserver.server import APIServer
    from choreo.server.remote import RemoteAPI

    assert not issubclass(RemoteAPI, APIServer)
    members = {name for name in vars(ObjectAPI) if not name.startswith("_")}
    assert members and all(hasattr(RemoteAPI, name) for name in members)
    engine = {
        "choreo/runtime/controller.py", "choreo/runtime/client.py", "choreo/loader/sync.py",
        "choreo/server/runner.py", "choreo/plugins.py", "choreo/apiserver/hooks.py", "choreo/server/http.py",
        "choreo/server/tables.py", "choreo/results/inventory.py",
    }
    plugins = {str(p.relative_to(REPO)) for package in ("reconcilers", "yang") for p in (REPO / package).rglob("*.py")}
    for path in sorted(engine | plugins):
        assert "APIServer" not in (REPO / path).read_text(), f"{path} names APIServer instead of ObjectAPI"
