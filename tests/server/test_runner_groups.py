"""The continuous runner commits its reconciles' writes in groups (``choreo.server.runner``): far fewer commits
than reconciles, yet another thread waiting for the store gets in after the reconcile in flight, a status
look neither waits for a group nor ends it early, a stalled worker ends it, and a group whose commit fails
is made up for: the store as it is, every reconcile run again."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from choreo.apiserver.server import APIServer
from choreo.lang import isolation
from choreo.lang.isolation import IsolatedEngine
from choreo.lang.limits import Limits
from choreo.lang.starlark_engine import StarlarkReconciler
from choreo.runtime.controller import BoundReconciler
from choreo.runtime.memo import TASKS_TABLE, ReconcileMemo
from choreo.server import runner as runner_module
from choreo.server.runner import ContinuousController
from choreo.store.sqlite import SqliteBackend
from tests.runtime.conftest import _crd
from tests.runtime.test_controller import COUNT, _obj, _reconciler
from tests.server.harness import wait_for

WIDGETS = 40
WAIT = 10.0
SLOW_COUNT = COUNT.replace("def reconcile(self):", "def reconcile(self):\n    [i for i in range(20000)]")
SLOWER_COUNT = COUNT.replace(  # about 0.1 s
    "def reconcile(self):", "def reconcile(self):\n    n = 0\n    for i in range(1000000):\n        n += i",
)


class Commits:
    """Counts the store's commits (of outermost transactions); the ``fail``-th one fails, if asked, as SQLite
    fails one (an I/O error): rolled back."""

    def __init__(self, backend: SqliteBackend, fail: int = 0) -> None:
        self.count = 0
        self.fail = fail
        self._commit = backend._commit
        self._save_revision = backend._save_revision
        backend._commit = self  # type: ignore[method-assign]
        backend._save_revision = self._save  # type: ignore[method-assign]

    def __call__(self, depth: int) -> None:
        if depth == 0:
            self.count += 1
        self._commit(depth)

    def _save(self) -> None:  # the last step of a commit before SQLite's COMMIT
        if self.count == self.fail:
            raise OSError("disk I/O error (the test's)")
        self._save_revision()


class Served:
    """A ContinuousController over a SQLite store with WIDGETS Widgets, reconciled with ``code`` and a memo."""

    def __init__(self, tmp_path: Path, code: str = COUNT, *, widgets: int = WIDGETS, isolated: bool = False) -> None:
        self.backend = SqliteBackend(tmp_path / "choreo.db")
        self.api = APIServer(self.backend)
        self.api.register_crd(_crd("Widget", "widgets"))
        for i in range(widgets):
            self.api.create(_obj("Widget", f"w{i:02}"), manager="kubectl")
        self.logged: list[str] = []
        self.passes = 0
        reconciler = _reconciler("counter", code)
        if isolated:  # in a worker process, as a server runs it
            limits = Limits(time=30.0)
            engine = IsolatedEngine(StarlarkReconciler("counter", code, "counter.star", {}, limits=limits),
                                    "counter.star", limits)
            reconciler = BoundReconciler(reconciler.config, engine)
        self.controller = ContinuousController(self.api, [reconciler], log=self._log, on_quiet=self._on_quiet)
        self.controller.core.memo = ReconcileMemo(self.api, "salt", concurrent=True)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.controller.serve, args=(self._stop,), daemon=True)

    def _log(self, event: str, **_fields: Any) -> None:
        self.logged.append(event)

    def _on_quiet(self, *_args: Any) -> None:
        self.passes += 1

    def counts(self) -> list[int]:
        return [w.get("status", {}).get("count", 0) for w in self.api.list("example.com", "Widget", "default")]

    def __enter__(self) -> Served:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(30)
        self.backend.close()


@pytest.fixture
def long_groups(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Groups that end only when something asks for it (the queue drains, a thread waits, a worker stalls)."""
    monkeypatch.setattr(runner_module, "GROUP_SECONDS", 3600.0)
    yield


def test_a_pass_commits_its_reconciles_in_groups(tmp_path: Path) -> None:
    served = Served(tmp_path)
    commits = Commits(served.backend)
    with served:
        wait_for(lambda: served.passes, "the first quiet point")  # looks at nothing of the store's meanwhile
        assert served.counts() == [1] * WIDGETS
        assert served.controller.reconciles == WIDGETS
        assert commits.count <= 5  # one per reconcile (and one per memo record of it) before
        records = served.api.records.record_keys(TASKS_TABLE)
        assert len(records) == WIDGETS


def test_a_thread_waiting_for_the_store_gets_in_after_the_reconcile_in_flight(
    tmp_path: Path, long_groups: None,
) -> None:
    served = Served(tmp_path, SLOW_COUNT)
    reached, go = threading.Event(), threading.Event()
    step = served.controller.core.step

    def second_waits(key: Any) -> Any:  # the second reconcile waits, in the group, until the test says go
        if served.controller.reconciles == 2:
            reached.set()
            go.wait(WAIT)
        return step(key)

    served.controller.core.step = second_waits  # type: ignore[method-assign]
    read: list[Any] = []

    def reader() -> None:
        seen = served.api.get("example.com", "Widget", "default", "w00")  # waits for the group's commit
        read.append((seen, served.passes, served.controller.reconciles))

    with served:
        assert reached.wait(WAIT)
        assert served.backend.peek_revision() is None  # a status look does not wait while a group is open
        assert not served.backend.contended()  # nor does it hurry the group
        thread = threading.Thread(target=reader)
        thread.start()
        wait_for(served.backend.contended, "the reader waiting for the store")
        go.set()
        thread.join(WAIT)
        [(seen, passes, reconciles)] = read
        assert seen["status"]["count"] == 1  # what it reads is committed: the first reconcile's
        assert passes == 0 and reconciles < WIDGETS  # the group ended for it, long before the queue drained
        wait_for(lambda: served.passes, "the first quiet point")
        assert served.counts() == [1] * WIDGETS


def test_a_worker_that_stalls_ends_the_group(tmp_path: Path, long_groups: None) -> None:
    served = Served(tmp_path, SLOWER_COUNT, widgets=4, isolated=True)
    commits = Commits(served.backend)
    with served:
        wait_for(lambda: served.passes, "the first quiet point", 60)
        assert served.counts() == [1] * 4
        # Each reconcile computes for longer than STALL_SECONDS: the group open when it began is committed
        # then, and its writes are a transaction of their own (one group for all of them otherwise).
        assert commits.count >= 4


def test_a_group_whose_commit_fails_is_made_up_for(tmp_path: Path, long_groups: None) -> None:
    served = Served(tmp_path)
    commits = Commits(served.backend, fail=1)  # the first group's: every reconcile of the first pass
    with served:
        wait_for(lambda: served.passes, "the first quiet point")
        assert "group-lost" in served.logged
        # Run again on the store as it was: each Widget counted once, each reconcile recorded (a memo that
        # still believed its lost records would have reused them, and the Widgets would have no count).
        assert served.counts() == [1] * WIDGETS
        assert served.controller.reconciles == 2 * WIDGETS
        assert len(served.api.records.record_keys(TASKS_TABLE)) == WIDGETS
        assert commits.count > WIDGETS  # each reconcile on its own until the quiet point


def test_a_worker_silent_for_a_while_is_told_as_stalled_once() -> None:
    ours, theirs = socket.socketpair()
    channel, peer = isolation._Channel(ours), isolation._Channel(theirs)
    stalls: list[float] = []
    deadline = time.monotonic() + 10

    peer.send(("done", 1))
    assert channel.receive(deadline, lambda: False, lambda: stalls.append(time.monotonic())) == ("done", 1)
    assert stalls == []  # it answered at once

    threading.Timer(1.0, lambda: peer.send(("done", 2))).start()
    began = time.monotonic()
    assert channel.receive(deadline, lambda: False, lambda: stalls.append(time.monotonic())) == ("done", 2)
    assert len(stalls) == 1 and isolation.STALL_SECONDS * 0.9 <= stalls[0] - began < 1.0
    ours.close()
    theirs.close()
