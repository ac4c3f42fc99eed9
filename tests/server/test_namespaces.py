"""The core ``v1`` Namespace kind: create, list, delete, and what deleting one does to its objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kubernetes.client import ApiClient, Configuration, CoreV1Api, V1Namespace, V1ObjectMeta
from kubernetes.client.exceptions import ApiException

from choreo.server.client import ServerClient
from tests.server.harness import Http, copy_example, served

LAB = "/apis/example.com/v1alpha1/namespaces/lab"


@pytest.fixture
def url(tmp_path: Path):
    with served(copy_example("greeting", tmp_path)) as (_app, url):
        yield url


def _greeting(name: str, finalizers: list[str] | None = None) -> dict:
    metadata = {"name": name, **({"finalizers": finalizers} if finalizers else {})}
    return {"apiVersion": "example.com/v1alpha1", "kind": "Greeting", "metadata": metadata, "spec": {"name": "X"}}


def test_the_python_client_creates_lists_and_deletes_namespaces(url: str) -> None:
    core = CoreV1Api(ApiClient(Configuration(host=url)))
    created = core.create_namespace(V1Namespace(metadata=V1ObjectMeta(name="lab")))
    assert (created.metadata.name, created.status.phase) == ("lab", "Active")
    assert [ns.metadata.name for ns in core.list_namespace().items] == ["lab"]
    core.delete_namespace("lab")
    assert core.list_namespace().items == []


@pytest.mark.parametrize("name", ["a.b", "n" * 64])
def test_a_namespace_name_is_a_dns_label(url: str, name: str) -> None:
    core = CoreV1Api(ApiClient(Configuration(host=url)))
    with pytest.raises(ApiException) as refused:
        core.create_namespace(V1Namespace(metadata=V1ObjectMeta(name=name)))
    assert refused.value.status == 422
    message = json.loads(refused.value.body)["message"]
    assert message.startswith(f'Namespace "{name}" is invalid: metadata.name: Invalid value: "{name}": ')
    assert core.list_namespace().items == []


def test_discovery_lists_namespaces_in_the_core_group(url: str) -> None:
    http = Http(url)
    assert http.call("GET", "/api")[1]["versions"] == ["v1"]
    resources = {r["name"]: r for r in http.call("GET", "/api/v1")[1]["resources"]}
    assert resources["namespaces"]["shortNames"] == ["ns"] and not resources["namespaces"]["namespaced"]


def test_deleting_a_namespace_deletes_its_objects_and_nothing_else(url: str) -> None:
    http = Http(url)
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lab"}}
    assert http.call("POST", "/api/v1/namespaces", namespace)[0] == 201
    _code, exists = http.call("POST", "/api/v1/namespaces", namespace)
    assert (exists["reason"], exists["message"]) == ("AlreadyExists", 'namespaces "lab" already exists')
    assert http.call("POST", f"{LAB}/greetings", _greeting("carol"))[0] == 201
    assert http.call("POST", f"{LAB}/greetings", _greeting("held", ["example.com/hold"]))[0] == 201
    assert http.call("DELETE", "/api/v1/namespaces/lab?dryRun=All")[0] == 200
    assert http.call("GET", f"{LAB}/greetings/carol")[0] == 200  # a dry run deletes nothing
    assert http.call("DELETE", "/api/v1/namespaces/lab")[0] == 200
    assert http.call("GET", "/api/v1/namespaces/lab")[0] == 404
    assert http.call("GET", f"{LAB}/greetings/carol")[0] == 404
    _code, held = http.call("GET", f"{LAB}/greetings/held")  # its finalizer keeps it, marked for deletion
    assert held["metadata"]["deletionTimestamp"]
    default = [o["metadata"]["name"] for o in http.call("GET", "/apis/example.com/v1alpha1/greetings")[1]["items"]]
    assert {"alice", "bob"} <= set(default)


def test_objects_need_no_namespace_object(url: str) -> None:
    """As before Namespaces existed: any namespace is accepted; deleting one that was never created is 404."""
    http = Http(url)
    assert http.call("POST", f"{LAB}/greetings", _greeting("carol"))[0] == 201
    assert http.call("DELETE", "/api/v1/namespaces/lab")[0] == 404
    assert http.call("GET", f"{LAB}/greetings/carol")[0] == 200


def test_choreo_commands_find_namespaces_on_a_server(url: str) -> None:
    """``choreo get ns --server``: the CLI's client discovers the core group too."""
    client = ServerClient(url)
    namespaces = client.resolve("ns")
    assert (namespaces.group, namespaces.version, client.path(namespaces)) == ("", "v1", "/api/v1/namespaces")
    client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lab"}})
    assert [ns["metadata"]["name"] for ns in client.list(namespaces)] == ["lab"]


@pytest.mark.parametrize("name", ["default", "kube-system"])
def test_the_default_namespace_may_not_be_deleted(url: str, name: str) -> None:
    """As in Kubernetes: deleting it would take every object that names no namespace along."""
    http = Http(url)
    assert http.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                   "metadata": {"name": name}})[0] == 201
    code, status = http.call("DELETE", f"/api/v1/namespaces/{name}")
    assert (code, status["reason"]) == (403, "Forbidden")
    assert status["message"] == f'namespaces "{name}" is forbidden: this namespace may not be deleted'
    assert http.call("GET", "/apis/example.com/v1alpha1/namespaces/default/greetings/alice")[0] == 200
