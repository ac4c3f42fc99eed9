"""``Abandonable`` when a stop signal's handler interrupts the thread that is adding work to it."""

from __future__ import annotations

import threading
from typing import Any

from choreo.abandon import Abandonable


class _Process:
    def __init__(self) -> None:
        self.killed = False

    def kill(self) -> None:
        self.killed = True


class _HeldLock:
    """The scope's lock as the main thread holds it inside ``enter`` when the signal arrives: ``on_enter``
    plays the handler; taking the lock again there would never return (a plain lock is not re-entrant)."""

    def __init__(self, on_enter: Any = None) -> None:
        self.on_enter = on_enter
        self.held = False

    def __enter__(self) -> None:
        if self.held:
            raise AssertionError("the lock was taken again by the thread holding it: a deadlock")
        self.held = True
        if self.on_enter is not None:
            self.on_enter()

    def __exit__(self, *exc: object) -> None:
        self.held = False


def test_abandon_from_a_signal_handler_does_not_take_the_lock_its_thread_holds() -> None:
    """The main thread clones a saved context (``server start`` of a dynamic workspace) and adds the git
    process inside ``enter``; a stop signal then called ``abandon`` there, which waited for that same lock
    forever: the server hung instead of stopping."""
    scope = Abandonable()
    running = _Process()
    scope.enter(running)
    lock = _HeldLock()
    scope._lock = lock  # type: ignore[assignment]
    with lock:  # the handler runs while its thread holds the lock
        scope.abandon()
    assert scope.abandoned and running.killed


class _AddedAsTheSignalComes(set[Any]):
    """The running work of a scope whose ``abandon`` (a signal handler) runs just before ``enter`` adds."""

    def __init__(self, scope: Abandonable) -> None:
        super().__init__()
        self.scope = scope

    def add(self, process: Any) -> None:
        self.scope.abandon()
        super().add(process)


def test_work_added_while_the_scope_is_abandoned_is_killed() -> None:
    """``abandon`` (taking no lock) may copy the running work just before ``enter`` adds a process: that
    process is killed by ``enter`` itself rather than left to run to its time limit."""
    scope = Abandonable()
    scope._lock = threading.RLock()  # type: ignore[assignment]  # only what ``enter`` does after adding is tested
    scope._running = _AddedAsTheSignalComes(scope)
    process = _Process()
    scope.enter(process)
    assert process.killed
