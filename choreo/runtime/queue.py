"""A deterministic work queue: FIFO with de-duplication and delayed requeues.

Keys waiting in the queue merge (adding a waiting key again is a no-op), like client-go's workqueue.
Delayed keys (requeue-after) wait on a clock. Without one (batch runs) time is virtual: when nothing
else is waiting the queue jumps to the earliest timer instead of sleeping, because in a batch run
nothing outside the run can change meanwhile. With a clock (the server's continuous runner) a delayed
key is handed out once it is due in real time. Order only depends on the order of ``add`` calls, so
runs are reproducible.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class WorkQueue(Generic[K]):
    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._ready: deque[K] = deque()
        self._waiting: set[K] = set()
        self._timers: list[tuple[float, int, K]] = []
        self._sequence = itertools.count()
        self._clock = clock
        self._virtual_now = 0.0

    @property
    def now(self) -> float:
        return self._clock() if self._clock is not None else self._virtual_now

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
        """Next key; None when nothing is ready (in virtual time: nothing waiting and no timer left)."""
        if self._clock is None and not self._ready and self._timers:
            self._virtual_now = max(self._virtual_now, self._timers[0][0])
        now = self.now
        while self._timers and self._timers[0][0] <= now:
            self.add(heapq.heappop(self._timers)[2])
        if not self._ready:
            return None
        key = self._ready.popleft()
        self._waiting.discard(key)
        return key

    def has_ready(self) -> bool:
        """Whether a key is ready now (a timer that fell due counts), without taking it."""
        return bool(self._ready) or bool(self._timers and self._timers[0][0] <= self.now)

    def next_due(self) -> float | None:
        """Seconds until the earliest timer, None when there is none."""
        return max(self._timers[0][0] - self.now, 0.0) if self._timers else None

    def __len__(self) -> int:
        return len(self._ready) + len(self._timers)
