"""When the continuous runner reports a quiet point (its stages and run record): after it starts even with
nothing to reconcile, after any write to the store, and never because of the pass's own writes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from choreo.apiserver.server import APIServer
from choreo.runtime.events import START
from choreo.runtime.quiet import QuietPoint
from choreo.server.runner import ContinuousController
from choreo.store.memory import MemoryBackend
from tests.runtime.conftest import _crd
from tests.runtime.test_controller import COUNT, _obj, _reconciler
from tests.server.harness import wait_for

WAIT = 10.0


def test_a_quiet_point_is_due_first_and_after_changes_but_not_after_the_pass_s_own_writes() -> None:
    quiet = QuietPoint()
    assert quiet.due
    quiet.passed(4, 7)  # the pass wrote revisions 5, 6 and 7
    for own in (5, 6, 7):
        quiet.changed(own)
    assert not quiet.due
    quiet.changed(8)
    assert quiet.due
    quiet.passed(8, 8)  # a pass that wrote nothing
    quiet.changed(8)
    assert quiet.due  # revision 8 was someone else's write (a rolled-back pass reuses its numbers)
    quiet.passed(9, 9)
    quiet.changed(None)  # events lost: anything may have changed
    assert quiet.due
    quiet.passed(9, 9)
    quiet.reconciled()
    assert quiet.due


class Served:
    """A ContinuousController over a memory store, serving in a thread; each pass writes a Gadget as a
    post-reconcile stage writes its outputs."""

    def __init__(self, api: APIServer) -> None:
        self.api = api
        self.passes: list[int] = []  # the reconciles of each pass
        self.controller = ContinuousController(
            api, [_reconciler("counter", COUNT)], log=lambda *_a, **_k: None, on_quiet=self._on_quiet,
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.controller.serve, args=(self._stop,), daemon=True)

    def _on_quiet(self, outcome: Any, _errors: Any, _retries: Any) -> None:
        self.passes.append(len([e for e in outcome.events if e.operation == START]))
        self.api.apply(_obj("Gadget", "stage-output", passes=len(self.passes)), manager="stage", force=True)

    def settled(self) -> bool:
        """Nothing queued, every event dispatched and no pass due."""
        c = self.controller
        return not c.busy and len(c.queue) == 0 and c.revision == self.api.events.current_revision()

    def wait_settled(self, passes: int) -> None:
        wait_for(lambda: len(self.passes) >= passes and self.settled(), f"{passes} pass(es), then quiet", WAIT)
        assert len(self.passes) == passes

    def __enter__(self) -> Served:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(WAIT)


@pytest.fixture
def served() -> Iterator[Served]:
    api = APIServer(MemoryBackend())
    for kind, plural in (("Widget", "widgets"), ("Gadget", "gadgets")):
        api.register_crd(_crd(kind, plural))
    with Served(api) as running:
        yield running


def test_with_nothing_to_reconcile_the_runner_still_reaches_one_quiet_point(served: Served) -> None:
    served.wait_settled(1)  # one: the pass's own write to the Gadget does not make another
    assert served.passes == [0]
    assert served.api.get("example.com", "Gadget", "default", "stage-output")["spec"]["passes"] == 1


def test_a_write_no_reconciler_is_for_makes_another_pass(served: Served) -> None:
    served.wait_settled(1)
    served.api.create(_obj("Gadget", "from-a-client"), manager="kubectl")
    served.wait_settled(2)
    served.api.create(_obj("Widget", "w1"), manager="kubectl")  # this one is reconciled first
    served.wait_settled(3)
    assert served.passes == [0, 0, 1]


def test_a_stop_in_the_middle_of_a_burst_is_no_quiet_point() -> None:
    """Stopped (a SIGTERM, a load of the folder) with reconciles still queued, the runner reports no pass:
    its stages would write out/ from a half-reconciled state and record it as a successful run. Stopped with
    nothing queued, it reports the reconciles since the last pass, as before."""
    api = APIServer(MemoryBackend())
    for kind, plural in (("Widget", "widgets"), ("Gadget", "gadgets")):
        api.register_crd(_crd(kind, plural))
    for i in range(10):
        api.create(_obj("Widget", f"w{i}"), manager="kubectl")
    running = Served(api)
    step = running.controller._step

    def stopping_after_three(key: Any) -> None:
        step(key)
        if running.controller.reconciles == 3:
            running._stop.set()  # as Runner.stop does, between two reconciles

    running.controller._step = stopping_after_three  # type: ignore[method-assign]
    with running:
        running._thread.join(WAIT)
    assert running.controller.reconciles == 3 and running.passes == []

    again = Served(api)
    with again:
        again.wait_settled(1)
        api.create(_obj("Widget", "late"), manager="kubectl")
        wait_for(lambda: again.controller.reconciles > 10, "the late widget's reconcile")
    assert len(again.passes) == 2  # the late widget's pass: at its quiet point, or at the stop (nothing queued)
