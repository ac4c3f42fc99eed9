"""How often Python's cycle collector runs in a choreo process, set once when the process starts.

A run builds a large heap of long-lived objects (decoded objects in the store's cache, managed fields,
reconcile records) and allocates many short-lived containers while doing it. With CPython's default
thresholds (a young collection every 700 net allocations, a full one once the old generation grew by a
quarter) the collector scanned that whole heap again and again: at N=1000 (benchmarks/fabric.py) it took
10.6 s of a 59 s first run, 9.1 s of them in a dozen full collections. Almost none of the heap is cyclic
garbage: reference counting frees what choreo drops, so collecting less often leaves the peak memory where it
was (384 MiB either way at N=1000) and gives back most of that time.

Cycles are still collected: a young collection runs every ``YOUNG`` net allocations, and older ones follow
at CPython's usual ratios, just less often. The reconcile worker, forked from this process, inherits the
setting.
"""

from __future__ import annotations

import gc

YOUNG = 20_000
"""Net allocations of tracked objects between two young collections (CPython's default is 700)."""
MIDDLE = 20
"""Young collections between two collections of the middle generation (default 10)."""
OLD = 10
"""Middle collections between two full collections, when the old generation also grew by a quarter (default)."""


def tune() -> None:
    """Set the collector's thresholds for this process (idempotent)."""
    gc.set_threshold(YOUNG, MIDDLE, OLD)
