"""The store's lock counts the threads waiting for it (``contended``), so that a thread holding a transaction
open for long (a server's runner, committing in groups) can let them in; ``peek_revision`` waits for nobody."""

from __future__ import annotations

import threading
import time

from choreo.store.memory import MemoryBackend
from tests.store.conftest import put


def _until(check: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_thread_waiting_for_the_store_is_counted_and_a_peek_does_not_wait() -> None:
    backend = MemoryBackend()
    peeked: list[int | None] = []
    with backend.transaction():
        assert backend.peek_revision() == 0 and not backend.contended()  # the holder itself never waits
        waiter = threading.Thread(target=backend.current_revision)
        waiter.start()
        _until(backend.contended)
        peeker = threading.Thread(target=lambda: peeked.append(backend.peek_revision()))
        peeker.start()
        peeker.join(10)
        assert peeked == [None]
    waiter.join(10)
    assert not waiter.is_alive() and not backend.contended()


def test_a_watcher_waiting_for_a_change_is_not_counted_and_wakes_at_the_commit() -> None:
    backend = MemoryBackend()
    woke: list[bool] = []
    watcher = threading.Thread(target=lambda: woke.append(backend.wait_for_change(0, 10.0)))
    watcher.start()
    time.sleep(0.05)  # the watcher waits on the condition, not for the lock: not counted
    assert not backend.contended()
    put(backend, "w")  # the commit wakes it (taking the lock back, it counts as waiting for it)
    watcher.join(10)
    assert woke == [True] and not backend.contended()
