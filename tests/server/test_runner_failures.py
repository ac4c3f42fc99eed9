"""What the server does with a failed reconcile (``choreo.server.failures``): the condition, the Events in both
APIs, the backoff and its cap, and the recovery — also of a failure reported before a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from choreo.apiserver.server import APIServer
from choreo.runtime.controller import Controller
from choreo.runtime.pipeline import Pipeline, RunOptions
from choreo.server.failures import FailureHandler
from choreo.store.memory import MemoryBackend
from tests.server.harness import copy_example

ALICE = ("greeting", "default", "alice")
BOB = ("greeting", "default", "bob")


def _handler(api: APIServer, project: Path) -> FailureHandler:
    pipeline = Pipeline(project, RunOptions())
    core = Controller(api, pipeline.reconcilers(pipeline.load(api)))
    return FailureHandler(api, core, lambda *_args, **_fields: None, base=1.0, cap=4.0)


def _ready(api: APIServer, name: str) -> dict:
    greeting = api.get("example.com", "Greeting", "default", name)
    return next(c for c in greeting["status"]["conditions"] if c["type"] == "Ready")


def test_failures_back_off_to_the_cap_count_up_one_event_and_recover(tmp_path: Path) -> None:
    api = APIServer(MemoryBackend())
    handler = _handler(api, copy_example("greeting", tmp_path))

    assert [handler.failed(ALICE, "boom") for _ in range(4)] == [1.0, 2.0, 4.0, 4.0]
    ready = _ready(api, "alice")
    assert (ready["status"], ready["reason"]) == ("False", "ReconcileFailed")
    assert ready["message"] == "reconciler greeting: boom"
    [core] = api.list("", "Event", "default")
    [new] = api.list("events.k8s.io", "Event", "default")
    assert core["metadata"]["name"] == new["metadata"]["name"]
    assert (core["count"], core["series"]["count"], new["deprecatedCount"]) == (4, 4, 4)
    assert core["involvedObject"]["uid"] == new["regarding"]["uid"] == api.get(
        "example.com", "Greeting", "default", "alice"
    )["metadata"]["uid"]
    [retry] = handler.pending()
    assert (retry.task, retry.reconciler, retry.object, retry.attempts) == (
        "greeting.Greeting.example.com.alice", "greeting", "Greeting.example.com default/alice", 4
    )

    handler.succeeded(ALICE)
    assert _ready(api, "alice")["status"] == "True" and handler.pending() == []
    reasons = sorted((e["type"], e["reason"]) for e in api.list("", "Event", "default"))
    assert reasons == [("Normal", "Reconciled"), ("Warning", "ReconcileFailed")]
    assert handler.failed(ALICE, "boom") == 1.0  # a new failure starts the backoff over


def test_a_loop_and_a_conflict_have_their_reasons_and_a_restart_still_recovers(tmp_path: Path) -> None:
    api = APIServer(MemoryBackend())
    project = copy_example("greeting", tmp_path)
    handler = _handler(api, project)
    handler.failed(BOB, "reconcile loop: reconciler greeting reconciled Greeting.example.com default/bob 100 times")
    assert _ready(api, "bob")["reason"] == "ReconcileLoop"
    handler.failed(ALICE, 'Apply failed with 1 conflict: conflict with "kubectl": .spec.text')
    assert _ready(api, "alice")["message"] == (
        'reconciler greeting: Apply failed with 1 conflict: conflict with "kubectl": .spec.text'
    )

    restarted = _handler(api, project)  # no retry state: the stored condition tells what was reported
    restarted.succeeded(BOB)
    assert _ready(api, "bob")["status"] == "True"


def test_events_expire_an_hour_after_their_last_occurrence(tmp_path: Path) -> None:
    api = APIServer(MemoryBackend())
    handler = _handler(api, copy_example("greeting", tmp_path))
    handler.failed(ALICE, "boom")
    handler.failed(BOB, "bang")
    [seen] = [e["lastTimestamp"] for e in api.list("", "Event", "default") if e["involvedObject"]["name"] == "bob"]
    recorder = handler.events
    just_before = datetime.strptime(seen, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) + timedelta(minutes=59)
    assert recorder.expire(just_before) == 0
    assert recorder.expire(just_before + timedelta(minutes=2)) == 2
    assert api.list("", "Event") == [] and api.list("events.k8s.io", "Event") == []
