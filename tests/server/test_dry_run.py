"""``dryRun=All``: the API checks a write in full, keeps nothing, and answers as if it had been stored."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from choreo.apiserver.server import APIServer
from choreo.errors import ChoreoError, Invalid
from choreo.server.client import ServerClient
from choreo.server.remote import EventFeed, RemoteAPI
from choreo.store.memory import MemoryBackend
from tests.server.harness import Http, copy_example, crd, served

NS = "/apis/example.com/v1alpha1/namespaces/default"
SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {"type": "object", "properties": {"size": {"type": "integer", "default": 1}}},
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
    },
}
CRD = crd("t.io", "Thing", SCHEMA, subresources={"status": {}})


def _thing(name: str, **spec: object) -> dict:
    return {"apiVersion": "t.io/v1", "kind": "Thing", "metadata": {"name": name, "namespace": "default"}, "spec": spec}


@pytest.fixture
def api() -> APIServer:
    api = APIServer(MemoryBackend())
    api.register_crd(CRD)
    api.create(_thing("one", size=2), manager="test")
    return api


def test_every_write_has_a_dry_run_that_keeps_nothing(api: APIServer) -> None:
    stored = api.get("t.io", "Thing", "default", "one")
    revision = api.events.current_revision()
    created = api.create(_thing("two"), manager="test", dry_run=True)
    assert created["spec"] == {"size": 1} and created["metadata"]["uid"]  # defaulted, as it would be stored
    assert "resourceVersion" not in created["metadata"]
    changed = {**stored, "spec": {"size": 3}}
    updated = api.update(changed, manager="test", dry_run=True)
    assert updated["spec"] == {"size": 3} and updated["metadata"]["generation"] == 2
    applied = api.apply(_thing("one", size=4), manager="other", force=True, dry_run=True)
    assert applied["spec"] == {"size": 4}
    status = {**_thing("one"), "status": {"phase": "Ready"}}
    assert api.apply_status(status, manager="test", dry_run=True)["status"] == {"phase": "Ready"}
    assert api.delete("t.io", "Thing", "default", "one", dry_run=True)["metadata"]["name"] == "one"
    for answer in (updated, applied):
        assert answer["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]
    assert api.get("t.io", "Thing", "default", "one") == stored
    assert api.try_get("t.io", "Thing", "default", "two") is None
    assert api.events.current_revision() == revision


def test_a_dry_run_refuses_what_the_write_would_refuse(api: APIServer) -> None:
    with pytest.raises(Invalid, match=r"spec\.size"):
        api.create(_thing("bad", size="big"), manager="test", dry_run=True)


@pytest.fixture
def http(tmp_path: Path):
    with served(copy_example("greeting", tmp_path)) as (_app, url):
        yield Http(url)


def test_a_dry_run_answer_over_http_shows_no_new_version_and_no_empty_annotations(http: Http) -> None:
    """What ``kubectl diff`` shows: only real differences."""
    _code, alice = http.call("GET", f"{NS}/greetings/alice")
    patch = {"metadata": {"annotations": {}}, "spec": {"language": "de"}}
    code, merged = http.call(
        "PATCH", f"{NS}/greetings/alice?dryRun=All", patch, content_type="application/merge-patch+json"
    )
    assert code == 200 and merged["spec"]["language"] == "de"
    assert merged["metadata"]["resourceVersion"] == alice["metadata"]["resourceVersion"]
    assert merged["metadata"].get("annotations") == alice["metadata"].get("annotations")
    assert http.call("GET", f"{NS}/greetings/alice")[1] == alice
    code, status = http.call("POST", f"{NS}/greetings?dryRun=Some", {})
    assert (code, status["reason"]) == (400, "BadRequest") and "dryRun" in status["message"]


def test_empty_annotations_are_not_kept(http: Http) -> None:
    body = {"apiVersion": "example.com/v1alpha1", "kind": "Greeting", "spec": {"name": "C"},
            "metadata": {"name": "carol", "annotations": {}, "labels": {}}}
    code, created = http.call("POST", f"{NS}/greetings", body)
    assert code == 201 and "annotations" not in created["metadata"] and "labels" not in created["metadata"]


def test_the_remote_api_asks_the_cluster_for_the_same_dry_run(tmp_path: Path) -> None:
    """``RemoteAPI`` (run start --kubeconfig) passes dry_run on as ``dryRun=All``: the served store keeps
    nothing, and the answers are the cluster's own."""
    project = copy_example("greeting", tmp_path)
    with served(project) as (_app, url):
        remote = RemoteAPI(ServerClient(url, None), EventFeed())
        remote.register_crd(yaml.safe_load((project / "crds" / "example.com_greetings.yaml").read_text()))
        alice = remote.get("example.com", "Greeting", "default", "alice")
        carol = {"apiVersion": "example.com/v1alpha1", "kind": "Greeting",
                 "metadata": {"name": "carol", "namespace": "default"}, "spec": {"name": "Carol"}}
        assert remote.create(carol, manager="test", dry_run=True)["metadata"]["name"] == "carol"
        changed = {**alice, "spec": {**alice["spec"], "language": "de"}}
        assert remote.apply(changed, manager="test", force=True, dry_run=True)["spec"]["language"] == "de"
        dave = remote.create({**carol, "metadata": {"name": "dave", "namespace": "default"}}, manager="test")
        remote.delete("example.com", "Greeting", "default", "dave", dry_run=True)  # created through the API
        with pytest.raises(ChoreoError, match="owned by its file"):  # as the delete itself would be refused
            remote.delete("example.com", "Greeting", "default", "alice", dry_run=True)
        assert remote.try_get("example.com", "Greeting", "default", "carol") is None
        assert remote.get("example.com", "Greeting", "default", "alice") == alice
        assert remote.get("example.com", "Greeting", "default", "dave") == dave
        assert [o["metadata"]["name"] for o in remote.stored_objects() if o["kind"] == "Greeting"] == [
            "alice", "bob", "dave"]
