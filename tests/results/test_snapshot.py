"""Snapshots: persisted per run, content-addressed (unchanged objects stored once), read back intact."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from choreo.apiserver.server import APIServer
from choreo.results import snapshot
from choreo.results.inventory import current_inventory
from choreo.results.snapshot import MANIFESTS_TABLE, OBJECTS_TABLE, load_snapshot, take_snapshot
from choreo.store.sqlite import SqliteBackend

CRD = Path(__file__).resolve().parents[2] / "examples" / "greeting" / "crds" / "example.com_messages.yaml"


def message(name: str, text: str) -> dict:
    return {
        "apiVersion": "example.com/v1alpha1",
        "kind": "Message",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"text": text},
    }


@pytest.fixture
def api(tmp_path: Path):
    backend = SqliteBackend(tmp_path / "state.db")
    server = APIServer(backend)
    crd = yaml.safe_load(CRD.read_text())
    server.register_crd(crd)
    server.apply(crd, manager="inputfileloader")
    for name in ("a", "b", "c"):
        server.apply(message(name, f"hi {name}"), manager="test")
    yield server
    backend.close()


def count(api: APIServer, table: str) -> int:
    return len(list(api.backend.list_records(table)))


def test_snapshot_round_trips_every_object_with_managed_fields(api: APIServer) -> None:
    take_snapshot(api, "run-1")
    items = load_snapshot(api.backend, "run-1")
    assert items is not None
    assert sorted(i.obj["metadata"]["name"] for i in items) == ["a", "b", "c", "messages.example.com"]
    assert {i.obj["metadata"]["name"]: i.choreo_api for i in items}["messages.example.com"] is True
    assert all(i.obj["metadata"]["managedFields"] for i in items)
    reopened = current_inventory(APIServer(api.backend))  # as a later process sees the store
    assert [i.obj for i in items] == [i.obj for i in sorted(reopened, key=lambda i: i.identity)]


def test_unchanged_state_adds_no_object_and_no_manifest(api: APIServer) -> None:
    first = take_snapshot(api, "run-1")
    second = take_snapshot(api, "run-2")
    assert first == second
    assert count(api, OBJECTS_TABLE) == 4
    assert count(api, MANIFESTS_TABLE) == 1


def test_changed_object_is_the_only_new_object(api: APIServer) -> None:
    take_snapshot(api, "run-1")
    api.apply(message("b", "changed"), manager="test")
    take_snapshot(api, "run-2")
    assert count(api, OBJECTS_TABLE) == 5
    assert count(api, MANIFESTS_TABLE) == 2
    old = {i.obj["metadata"]["name"]: i.obj for i in load_snapshot(api.backend, "run-1") or []}
    new = {i.obj["metadata"]["name"]: i.obj for i in load_snapshot(api.backend, "run-2") or []}
    assert old["b"]["spec"]["text"] == "hi b" and new["b"]["spec"]["text"] == "changed"


def test_snapshot_survives_reopening_the_store(api: APIServer, tmp_path: Path) -> None:
    take_snapshot(api, "run-1")
    api.backend.close()
    reopened = SqliteBackend(tmp_path / "state.db")
    try:
        items = load_snapshot(reopened, "run-1")
        assert items is not None and len(items) == 4
        assert load_snapshot(reopened, "run-unknown") is None
    finally:
        reopened.close()


def test_a_failing_snapshot_writes_nothing(api: APIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    real_put = api.backend.put_record

    def put_record(table: str, key: str, value: object) -> None:
        if table == MANIFESTS_TABLE:
            raise OSError("disk full")
        real_put(table, key, value)

    monkeypatch.setattr(api.backend, "put_record", put_record)
    with pytest.raises(OSError):
        take_snapshot(api, "run-1")
    assert count(api, OBJECTS_TABLE) == 0


def hashed(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every value the snapshot hashes from now on."""
    seen: list[object] = []
    real = snapshot.content_hash

    def content_hash(value: object) -> str:
        seen.append(value)
        return real(value)

    monkeypatch.setattr(snapshot, "content_hash", content_hash)
    return seen


def test_a_later_snapshot_hashes_only_the_objects_that_changed(api: APIServer, monkeypatch) -> None:
    take_snapshot(api, "run-1")
    seen = hashed(monkeypatch)
    take_snapshot(api, "run-2")
    assert [v for v in seen if "objects" not in v] == []  # only the manifest was hashed again
    api.apply(message("b", "changed"), manager="test")
    seen.clear()
    take_snapshot(api, "run-3")
    assert [v["metadata"]["name"] for v in seen if "objects" not in v] == ["b"]
    new = {i.obj["metadata"]["name"]: i.obj for i in load_snapshot(api.backend, "run-3") or []}
    assert new == {i.obj["metadata"]["name"]: i.obj for i in current_inventory(api)}


def test_hashes_of_a_rolled_back_or_lost_snapshot_are_not_reused(api: APIServer, monkeypatch) -> None:
    with pytest.raises(RuntimeError), api.transaction():
        take_snapshot(api, "run-1")
        raise RuntimeError("the run is rolled back")
    assert count(api, snapshot.DIGESTS_TABLE) == 0
    take_snapshot(api, "run-2")
    for key, _manifest in list(api.backend.list_records(MANIFESTS_TABLE)):
        api.backend.delete_record(MANIFESTS_TABLE, key)  # as if pruned
    seen = hashed(monkeypatch)
    take_snapshot(api, "run-3")
    assert len([v for v in seen if "objects" not in v]) == 4  # every object hashed anew
