"""Settings read from the environment: one reader of ``CHOREO_*`` counts, so every such variable is parsed,
refused and reported the same way (the store's event history, the kept runs, the YAML reader's limits)."""

from __future__ import annotations

import os

from choreo.errors import ChoreoError


def positive_count(
    variable: str, default: int, *, expected: str = "a positive whole number", error: type[ChoreoError] = ChoreoError
) -> int:
    """``$variable`` as a whole number of 1 or more, ``default`` when unset or empty; anything else is
    ``error`` naming the variable, what was expected and (the start of) what it holds."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise error(f"${variable}: expected {expected}, got {text[:40]!r}")
    return int(text)
