"""Plug-ins: the ``-r`` allocators and the ``-s`` schema stage, found through entry points.

The core never imports its plug-ins (an import-linter contract checks it). A plug-in is an object
registered under the entry point group ``choreo.plugins``; ``choreo run -r`` loads the one named
``internal-reconcilers`` and ``-s`` the one named ``schema``. Each may bring CRDs, admission hooks and
a stage that runs once the reconcilers are quiet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from choreo.apiserver.interface import HookHost, ObjectAPI
from choreo.errors import ChoreoError
from choreo.results.record import StageResult

ENTRY_POINT_GROUP = "choreo.plugins"
INTERNAL_RECONCILERS = "internal-reconcilers"  # -r
SCHEMA = "schema"  # -s


@dataclass
class StageContext:
    """What a post-reconcile stage gets: the API, the project folder and the stage options."""

    api: ObjectAPI
    root: Path
    options: dict[str, Any] = field(default_factory=dict)
    log: Callable[[str], None] = lambda _msg: None
    progress: Callable[[str, int, int], None] = lambda _phase, _done, _total: None  # ("validate", done, total)
    full: bool = False  # redo everything: reuse nothing the stage kept from earlier runs (``choreo run --full``)
    last_pass: bool = False  # no later pass follows in this process (a batch run): keep nothing in memory for one


class Plugin(Protocol):
    name: str

    def crds(self) -> list[dict[str, Any]]:
        """CRDs this plug-in serves (registered and stored before the project is loaded)."""
        ...

    def install(self, api: HookHost) -> None:
        """Add admission hooks (``api.add_hook``) and anything else the kinds need."""
        ...

    def after_reconcile(self, context: StageContext) -> StageResult | None:
        """Run once the reconcilers are quiet and succeeded; None when the plug-in has no stage."""
        ...

    def final_config_diff(self, api: ObjectAPI) -> list[str]:
        """Lines for ``choreo run diff -c`` (final device configs against the running config or the last
        run); empty for a plug-in that makes no device configs."""
        ...


def load_plugin(name: str) -> Plugin:
    # Imported here: importlib.metadata costs a command that loads no plug-in (``choreo get``) 20 ms.
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == name:
            try:
                factory = entry.load()
            except ImportError as exc:
                raise ChoreoError(f"plug-in {name!r} cannot be loaded: {exc}") from None
            return factory() if callable(factory) else factory
    raise ChoreoError(f"plug-in {name!r} is not installed (entry point group {ENTRY_POINT_GROUP})")
