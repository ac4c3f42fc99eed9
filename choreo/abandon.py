"""Abandoning a server's work when it stops: the reconcile in flight, a load of the project folder, the stages.

A server told to stop (SIGTERM, Ctrl-C, SIGHUP) must not wait for work that may go on for long: user code
may compute until its time limit (up to a week), a load of a large project folder or the ``-s`` stage of a
pass over every device take seconds. ``Abandonable.abandon`` ends all of it at once, without losing what
is stored: every such piece of work runs ``within`` the server's scope, inside a store transaction of its
own, and the thread doing it gets ``Abandoned`` at its next ``checkpoint`` (between two files read, two
inputs applied, two devices validated) or, for a reconcile, as soon as its worker process is killed
(``enter``/``leave``: the isolation of user code). The transaction is rolled back on the way out, so the
store keeps the state before that piece of work, and the next start does it again.

Why a module of its own, below every layer: the loader, the pipeline's stages and the reconcile isolation
check the same scope, and none of them may import the server.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Protocol


class Abandoned(BaseException):
    """The work was abandoned (``Abandonable.abandon``): nothing of it is a result. A ``BaseException``, as
    ``KeyboardInterrupt`` is, so that no handler of failures records it as one (a reconcile's condition, an
    Event, a retry, a refused load)."""


class Killable(Protocol):
    """What runs a piece of work in another process (a reconcile's worker): killed when it is abandoned."""

    def kill(self) -> None: ...


class Abandonable:
    """The work that one or more threads do for a server, which it can abandon at once when it stops.

    ``abandon`` marks the scope abandoned and kills every process ``enter``-ed in it; each thread working
    ``within`` it then gets ``Abandoned`` (at its next ``checkpoint``, or when it waits for a killed process),
    and so does any work started in it later."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[Killable] = set()
        self.abandoned = False

    @contextlib.contextmanager
    def within(self) -> Iterator[None]:
        """Do the calling thread's work in this scope."""
        previous = getattr(_scope, "current", None)
        _scope.current = self
        try:
            yield
        finally:
            _scope.current = previous

    def abandon(self) -> None:
        """Takes no lock: a stop signal's handler calls this in the main thread, which may be inside ``enter``
        or ``leave`` holding it (the first load and a saved context's clone run there)."""
        self.abandoned = True  # first: ``checkpoint`` and ``enter`` read it
        for process in self._running.copy():  # one step under the GIL, whatever another thread is adding
            process.kill()

    def enter(self, process: Killable) -> None:
        """``process`` runs work of this scope until ``leave``; ``Abandoned`` if the scope was abandoned; killed
        at once when it was abandoned while ``process`` was being added (after ``abandon`` took its copy)."""
        with self._lock:
            if self.abandoned:
                raise Abandoned()
            self._running.add(process)
        if self.abandoned:
            process.kill()

    def leave(self, process: Killable) -> None:
        with self._lock:
            self._running.discard(process)


_scope = threading.local()  # the Abandonable a thread works in (``current``), if any


def current() -> Abandonable | None:
    """The scope the calling thread works in, if any."""
    return getattr(_scope, "current", None)


def checkpoint() -> None:
    """A point between two steps of a long piece of work: ``Abandoned`` when the calling thread's scope was
    abandoned (nothing when it works in none: a batch run, a client's request)."""
    scope: Abandonable | None = getattr(_scope, "current", None)
    if scope is not None and scope.abandoned:
        raise Abandoned()
