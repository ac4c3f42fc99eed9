"""Snapshots: persisted per run, content-addressed (unchanged objects stored once), read back intact."""

from __future__ import annotations

import json
from hashlib import sha256
from pathlib import Path

import pytest
import yaml

from choreo.apiserver.server import APIServer
from choreo.results import snapshot
from choreo.results.inventory import current_inventory
from choreo.results.snapshot import MANIFESTS_TABLE, OBJECTS_TABLE, load_snapshot, take_snapshot
from choreo.store.base import StoredText
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


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


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
    real_put = api.backend.put_content

    def put_content(table: str, value: object) -> str:
        if table == MANIFESTS_TABLE:
            raise OSError("disk full")
        return real_put(table, value)

    monkeypatch.setattr(api.backend, "put_content", put_content)
    with pytest.raises(OSError):
        take_snapshot(api, "run-1")
    assert count(api, OBJECTS_TABLE) == 0


def hashed(api: APIServer, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every value the snapshot hashes (to keep it) from now on, as a value or as a stored text."""
    seen: list[object] = []
    real, real_texts = api.backend.put_content, api.backend.put_texts

    def put_content(table: str, value: object) -> str:
        seen.append(value)
        return real(table, value)

    def put_texts(table: str, texts: list[StoredText]) -> None:
        seen.extend(json.loads(text.text) for text in texts)
        real_texts(table, texts)

    monkeypatch.setattr(api.backend, "put_content", put_content)
    monkeypatch.setattr(api.backend, "put_texts", put_texts)
    return seen


def test_a_later_snapshot_hashes_only_the_objects_that_changed(api: APIServer, monkeypatch) -> None:
    take_snapshot(api, "run-1")
    seen = hashed(api, monkeypatch)
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
    seen = hashed(api, monkeypatch)
    take_snapshot(api, "run-3")
    assert len([v for v in seen if "objects" not in v]) == 4  # every object hashed anew


def stored_manifest(api: APIServer, run_id: str) -> dict:
    entry = api.backend.get_record(snapshot.SNAPSHOTS_TABLE, run_id)
    return api.backend.get_record(MANIFESTS_TABLE, entry["manifest"])


def add_messages(api: APIServer, names: str) -> None:
    for name in names:
        api.apply(message(name, f"hi {name}"), manager="test")


def texts(api: APIServer, run_id: str) -> dict[str, str]:
    items = load_snapshot(api.backend, run_id) or []
    return {i.obj["metadata"]["name"]: i.obj["spec"]["text"] for i in items if i.kind == "Message"}


def test_a_small_change_is_stored_as_a_delta_against_the_previous_manifest(api: APIServer) -> None:
    add_messages(api, "defghij")
    take_snapshot(api, "run-1")
    api.apply(message("b", "changed"), manager="test")
    api.apply(message("k", "new"), manager="test")
    api.delete("example.com", "Message", "default", "c")
    take_snapshot(api, "run-2")
    base, delta = stored_manifest(api, "run-1"), stored_manifest(api, "run-2")
    assert "objects" in base and len(base["objects"]) == 11
    assert delta["parent"] == sha256(canonical(base).encode()).hexdigest() and delta["depth"] == 1
    assert (len(delta["added"]), len(delta["removed"])) == (2, 2)  # b's new version and k; b's old one and c
    assert texts(api, "run-1") == {n: f"hi {n}" for n in "abcdefghij"}
    assert texts(api, "run-2") == {**{n: f"hi {n}" for n in "adefghij"}, "b": "changed", "k": "new"}


def test_a_chain_of_deltas_ends_in_a_new_base_after_max_depth(api: APIServer, monkeypatch) -> None:
    monkeypatch.setattr(snapshot, "MAX_DEPTH", 2)
    add_messages(api, "defghij")
    for run in range(1, 6):
        api.apply(message("b", f"text {run}"), manager="test")
        take_snapshot(api, f"run-{run}")
    depths = [stored_manifest(api, f"run-{run}").get("depth", 0) for run in range(1, 6)]
    assert depths == [0, 1, 2, 0, 1]
    assert [texts(api, f"run-{run}")["b"] for run in range(1, 6)] == [f"text {run}" for run in range(1, 6)]


def test_a_large_change_is_stored_as_a_base(api: APIServer) -> None:
    take_snapshot(api, "run-1")
    for name in "abc":
        api.apply(message(name, "all changed"), manager="test")
    take_snapshot(api, "run-2")
    assert "objects" in stored_manifest(api, "run-2")
    assert set(texts(api, "run-2").values()) == {"all changed"}


def test_a_snapshot_reads_only_what_changed_since_the_last_one_from_the_events(
    api: APIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_messages(api, "efghij")
    take_snapshot(api, "run-1")
    api.apply(message("b", "changed"), manager="test")
    api.apply(message("d", "new"), manager="test")
    api.delete("example.com", "Message", "default", "c")
    api.delete("example.com", "Message", "default", "a")
    api.apply(message("a", "re-created"), manager="test")  # a new uid under the old name
    with monkeypatch.context() as patched:
        patched.setattr(APIServer, "stored_texts", lambda self: pytest.fail("every object was read"))
        take_snapshot(api, "run-2")
    from_events = load_snapshot(api.backend, "run-2")
    api.backend.delete_record(snapshot.SNAPSHOTS_TABLE, "run-2")
    api.backend.delete_record(snapshot.DIGESTS_TABLE, snapshot.LATEST)  # the next one reads every object
    take_snapshot(api, "run-2")
    from_objects = load_snapshot(api.backend, "run-2")
    assert from_events == from_objects == sorted(current_inventory(api), key=lambda i: i.identity)
    assert texts(api, "run-2") == {"a": "re-created", "b": "changed", "d": "new", **{n: f"hi {n}" for n in "efghij"}}


def test_compacted_events_make_the_snapshot_read_every_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = SqliteBackend(tmp_path / "small.db", max_events=2)
    try:
        api = APIServer(backend)
        crd = yaml.safe_load(CRD.read_text())
        api.register_crd(crd)
        api.apply(crd, manager="inputfileloader")
        take_snapshot(api, "run-1")
        add_messages(api, "abc")
        reads = []
        real = APIServer.stored_texts
        monkeypatch.setattr(APIServer, "stored_texts", lambda self: reads.append(1) or real(self))
        take_snapshot(api, "run-2")
        assert reads and texts(api, "run-2") == {n: f"hi {n}" for n in "abc"}
    finally:
        backend.close()


def test_a_snapshot_writes_the_digests_of_the_changed_objects_only(api: APIServer, monkeypatch) -> None:
    add_messages(api, "cdefghij")
    take_snapshot(api, "run-1")
    api.apply(message("b", "changed"), manager="test")
    changed = api.get("example.com", "Message", "default", "b")["metadata"]["uid"]
    written: list[tuple[str, str]] = []
    real_put, real_add = type(api.backend).put_record, type(api.backend).put_content

    def put_record(self: object, table: str, key: str, value: object) -> None:
        written.append((table, key))
        real_put(self, table, key, value)

    def put_content(self: object, table: str, value: object) -> str:
        written.append((table, ""))
        return real_add(self, table, value)

    monkeypatch.setattr(type(api.backend), "put_record", put_record)
    monkeypatch.setattr(type(api.backend), "put_content", put_content)
    take_snapshot(api, "run-2")
    assert sorted(table for table, _key in written) == sorted([  # one row each: b's digest, b, the delta, ...
        MANIFESTS_TABLE, OBJECTS_TABLE, snapshot.DIGESTS_TABLE, snapshot.HASHES_TABLE, snapshot.SNAPSHOTS_TABLE])
    assert (snapshot.HASHES_TABLE, snapshot.bucket_of(changed)) in written
    assert "objects" not in api.backend.get_record(snapshot.DIGESTS_TABLE, snapshot.LATEST)
    assert texts(api, "run-2")["b"] == "changed"


@pytest.mark.parametrize("form", ["one row", "one row per object"])
def test_a_store_with_the_digests_of_an_earlier_form_is_read_once_and_rewritten(api: APIServer, form: str) -> None:
    add_messages(api, "cd")
    take_snapshot(api, "run-1")
    latest = api.backend.get_record(snapshot.DIGESTS_TABLE, snapshot.LATEST)
    digests = {uid: digest for _key, bucket in api.backend.list_records(snapshot.HASHES_TABLE)
               for uid, digest in bucket.items()}
    assert len(digests) == latest["tracked"] > 2
    for key in api.backend.record_keys(snapshot.HASHES_TABLE):
        api.backend.delete_record(snapshot.HASHES_TABLE, key)
    old = {"manifest": latest["manifest"], "revision": latest["revision"]}  # as an earlier choreo left it
    if form == "one row":
        old["objects"] = digests
    else:
        old["tracked"], old["untracked"] = latest["tracked"], 0
        for uid, digest in digests.items():
            api.backend.put_record("snapshot-hashes", uid, digest)
    api.backend.put_record(snapshot.DIGESTS_TABLE, snapshot.LATEST, old)
    api.apply(message("c", "changed"), manager="test")
    take_snapshot(api, "run-2")
    assert api.backend.get_record(snapshot.DIGESTS_TABLE, snapshot.LATEST)["buckets"] == snapshot.BUCKETS
    assert api.backend.record_keys("snapshot-hashes") == []
    rewritten = {uid for _key, bucket in api.backend.list_records(snapshot.HASHES_TABLE) for uid in bucket}
    assert rewritten == digests.keys()
    assert load_snapshot(api.backend, "run-2") == sorted(current_inventory(api), key=lambda i: i.identity)
