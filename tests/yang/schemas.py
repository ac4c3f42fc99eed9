"""The fixture profile with fx-route (defaults with a must, references between entries, RFC 7951 types) and
fx-mand (a container with a mandatory leaf, alone in its module)."""

from __future__ import annotations

from functools import cache

from tests.yang.conftest import FIXTURES
from yang.libyang_adapter import ModuleSource, SchemaContext

GOOD = FIXTURES / "good"
MODULES = (ModuleSource("fx-net", GOOD / "fx-net.yang"), ModuleSource("fx-extra"), ModuleSource("fx-route"),
           ModuleSource("fx-mand"))


@cache
def routing_context() -> SchemaContext:
    """Compiled once per test process and shared, like the stage shares a profile's context."""
    return SchemaContext([GOOD], list(MODULES))
