"""Fixtures for the schema stage tests: compiled fixture profiles and snippet builders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from yang.libyang_adapter import ModuleSource, SchemaContext
from yang.merge import Snippet, Source

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]


def shared_yang() -> Path:
    return Path(os.environ.get("CHOREO_SHARED_YANG") or REPO.parent / "shared" / "yang")


@pytest.fixture(autouse=True)
def trusted_model_folders(monkeypatch: pytest.MonkeyPatch) -> None:
    """Profiles here use the fixture and vendor models in place, by absolute path: outside the test's project
    folder, so they must be trusted like a user would (``CHOREO_TRUSTED_PATHS``)."""
    monkeypatch.setenv("CHOREO_TRUSTED_PATHS", os.pathsep.join([str(FIXTURES.resolve()), str(shared_yang())]))


@pytest.fixture(scope="session")
def fx() -> SchemaContext:
    good = FIXTURES / "good"
    return SchemaContext([good], [ModuleSource("fx-net", good / "fx-net.yang"), ModuleSource("fx-extra")])


def snippet(name: str, value: object, priority: int = 10) -> Snippet:
    return Snippet(Source("Config", "default", name, "r-" + name, f"Intent default/{name}"), priority, value)
