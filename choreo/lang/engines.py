"""Pick the engine for a reconciler config by its ``type``."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from choreo.errors import LoadError
from choreo.lang.base import ReconcilerEngine
from choreo.loader.project import Library, ReconcilerConfig


def make_engine(
    config: ReconcilerConfig,
    libraries: Mapping[str, Library],
    *,
    log: Callable[[str], None],
    time_limit: float = 10.0,
) -> ReconcilerEngine:
    if config.type == "starlark":
        from choreo.lang.starlark_engine import StarlarkReconciler

        key = "reconciler.star"
        if key not in config.code:
            raise LoadError(f"{config.source}: starlark reconciler {config.name} has no reconciler.star code")
        source = config.code_files.get(key, config.source)
        return StarlarkReconciler(config.name, config.code[key], source, libraries, time_limit=time_limit, log=log)
    raise LoadError(f"{config.source}: reconciler {config.name}: type {config.type!r} is not supported yet")
