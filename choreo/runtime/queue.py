"""A deterministic work queue: FIFO with de-duplication and virtual-time delayed requeues.

Keys waiting in the queue merge (adding a waiting key again is a no-op), like client-go's workqueue.
Delayed keys (requeue-after) become due in virtual time: when nothing else is waiting the queue jumps
to the earliest timer instead of sleeping, because in a batch run nothing outside the run can change
meanwhile. Order only depends on the order of ``add`` calls, so runs are reproducible.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class WorkQueue(Generic[K]):
    def __init__(self) -> None:
        self._ready: deque[K] = deque()
        self._waiting: set[K] = set()
        self._timers: list[tuple[float, int, K]] = []
        self._sequence = itertools.count()
        self.now = 0.0

    def add(self, key: K) -> None:
        if key not in self._waiting:
            self._waiting.add(key)
            self._ready.append(key)

    def add_after(self, key: K, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        heapq.heappush(self._timers, (self.now + delay, next(self._sequence), key))

    def pop(self) -> K | None:
        """Next key, or None when the queue is quiet (nothing waiting, no timer left)."""
        if not self._ready and self._timers:
            due, _, key = heapq.heappop(self._timers)
            self.now = max(self.now, due)
            self.add(key)
            while self._timers and self._timers[0][0] <= self.now:
                self.add(heapq.heappop(self._timers)[2])
        if not self._ready:
            return None
        key = self._ready.popleft()
        self._waiting.discard(key)
        return key

    def __len__(self) -> int:
        return len(self._ready) + len(self._timers)
