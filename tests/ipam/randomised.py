"""Random claim histories for the engines' property tests: claims made, written again with other labels and
released at random, the failed ones released as the plug-in does."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ipam.errors import AllocationError

Spec = dict[str, Any]


def grow_and_shrink(
    rng: random.Random,
    rounds: int,
    fresh: Callable[[random.Random], Spec],
    labels: Callable[[random.Random], dict[str, str]],
    claim: Callable[[str, Spec], object],
    release: Callable[[str], object],
) -> None:
    """``rounds`` steps: mostly a new claim (``fresh``, half of them labelled), else an existing claim written
    again with other ``labels``, or released."""
    specs: dict[str, Spec] = {}
    for i in range(rounds):
        roll = rng.random()
        if roll < 0.75 or not specs:
            name, spec = f"c{i}", fresh(rng)
            if rng.random() < 0.5:
                spec["labels"] = labels(rng)
        elif roll < 0.88:
            name = rng.choice(sorted(specs))
            spec = {**specs[name], "labels": labels(rng)}
        else:
            name = rng.choice(sorted(specs))
            release(name)
            del specs[name]
            continue
        try:
            claim(name, spec)
            specs[name] = spec
        except AllocationError:
            release(name)
            specs.pop(name, None)
