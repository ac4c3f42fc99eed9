"""Printer columns as kubectl shows them: an Event's columns in kube-apiserver's order, its OBJECT as kind/name,
its name last (``-o wide``) instead of a NAME column first; a typed cell takes the first value found; an AGE
as Kubernetes' ``duration.HumanDuration`` writes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from choreo.apiserver import columns
from choreo.apiserver.columns import NAME_LAST, PrinterColumn, ReferenceColumn, kind_columns
from choreo.server.tables import table

NOW = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
EVENT = {
    "apiVersion": "v1", "kind": "Event",
    "metadata": {"name": "alice.0123456789abcdef", "namespace": "default", "resourceVersion": "7"},
    "involvedObject": {"kind": "Greeting", "name": "alice", "namespace": "default"},
    "type": "Warning", "reason": "ReconcileFailed", "message": "reconciler greeting: boom",
    "source": {"component": "choreo"}, "count": 3,
    "firstTimestamp": "2026-12-06T11:58:00Z", "lastTimestamp": "2026-12-06T11:59:30Z",
}


class _NoCRDs:
    def try_get(self, group: str, kind: str, namespace: str, name: str) -> None:
        return None


def test_an_event_reads_as_kubectl_shows_it() -> None:
    columns = kind_columns(_NoCRDs(), "", "Event", "events", "v1")
    assert [(c.name, c.priority) for c in columns] == [
        ("Last Seen", 0), ("Type", 0), ("Reason", 0), ("Object", 0), ("Subobject", 1), ("Source", 1),
        ("Message", 0), ("First Seen", 1), ("Count", 1), ("Name", 1)]
    assert [c.cell(EVENT, NOW) for c in columns] == [
        "30s", "Warning", "ReconcileFailed", "greeting/alice", None, "choreo", "reconciler greeting: boom", "2m",
        3, "alice.0123456789abcdef"]
    assert ReferenceColumn("Object", ".involvedObject").values({"involvedObject": {"kind": "Node"}}) == ["node"]


def test_an_event_table_has_its_name_last_and_other_kinds_first() -> None:
    columns = kind_columns(_NoCRDs(), "", "Event", "events", "v1")
    assert columns[-1] == NAME_LAST
    events = table([EVENT], columns, "7", include_object="None")
    assert [d["name"] for d in events["columnDefinitions"]] == [c.name for c in columns]  # no Name first
    assert events["rows"][0]["cells"][3] == "greeting/alice"
    plain = table([EVENT], [PrinterColumn("Reason", ".reason")], "7", include_object="None")
    assert [d["name"] for d in plain["columnDefinitions"]] == ["Name", "Reason"]
    assert plain["rows"][0]["cells"] == ["alice.0123456789abcdef", "ReconcileFailed"]


def test_a_typed_cell_takes_the_first_value_and_refuses_another_type() -> None:
    conditions = {"status": {"conditions": [{"type": "Ready"}, {"type": "Synced"}], "count": "x"}}
    assert PrinterColumn("C", ".status.conditions[*].type").cell(conditions, NOW) == "Ready"
    assert PrinterColumn("N", ".status.count", "integer").cell(conditions, NOW) is None
    assert PrinterColumn("M", ".status.missing").cell(conditions, NOW) is None


@pytest.mark.parametrize(("seconds", "shown"), [
    (-2, "<invalid>"), (-1, "0s"), (0, "0s"), (119, "119s"), (120, "2m"), (125, "2m5s"), (600, "10m"),
    (3 * 3600 - 1, "179m"), (3 * 3600, "3h"), (3 * 3600 + 60, "3h1m"), (8 * 3600, "8h"), (48 * 3600, "2d"),
    (50 * 3600, "2d2h"), (8 * 86400, "8d"), (729 * 86400, "729d"), (730 * 86400, "2y"), (742 * 86400, "2y12d"),
    (8 * 365 * 86400 + 86400, "8y"),
])
def test_an_age_is_written_as_kubernetes_human_duration_writes_it(seconds: int, shown: str) -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert columns.age((now - timedelta(seconds=seconds)).isoformat(), now) == shown
