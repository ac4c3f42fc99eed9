"""The Kubernetes HTTP API, driven by the official ``kubernetes`` Python client and by raw requests."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import yaml
from kubernetes import dynamic
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ConflictError, NotFoundError

from choreo.apiserver.server import APIServer
from choreo.server.http import APIHTTPServer
from choreo.store.memory import MemoryBackend
from tests.server.harness import Http, copy_example, crd, served

GV = "/apis/example.com/v1alpha1"
NS = f"{GV}/namespaces/default"


def greeting(name: str, who: str = "Zed", **labels: str) -> dict:
    return {
        "apiVersion": "example.com/v1alpha1",
        "kind": "Greeting",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {"name": who},
    }


@pytest.fixture
def server(tmp_path: Path):
    with served(copy_example("greeting", tmp_path)) as (_app, url):
        yield url


@pytest.fixture
def dyn(server: str) -> dynamic.DynamicClient:
    config = Configuration(host=server)
    return dynamic.DynamicClient(ApiClient(configuration=config))


@pytest.fixture
def http(server: str) -> Http:
    return Http(server)


def test_discovery(dyn: dynamic.DynamicClient, http: Http) -> None:
    greetings = dyn.resources.get(api_version="example.com/v1alpha1", kind="Greeting")
    assert (greetings.name, greetings.namespaced) == ("greetings", True)
    assert {"get", "list", "watch", "create", "update", "patch", "delete"} <= set(greetings.verbs)
    code, listing = http.call("GET", GV)
    assert code == 200
    assert [r["name"] for r in listing["resources"]] == ["greetings", "greetings/status", "messages"]
    code, groups = http.call("GET", "/apis")
    assert "example.com" in [g["name"] for g in groups["groups"]]
    code, crds = http.call("GET", "/apis/apiextensions.k8s.io/v1")
    assert crds["resources"][0]["shortNames"] == ["crd", "crds"]
    assert http.call("GET", "/version")[1]["major"] == "1"


def test_openapi_v3_tells_kubectl_field_validation_works(http: Http) -> None:
    code, index = http.call("GET", "/openapi/v3")
    assert code == 200
    url = index["paths"]["apis/example.com/v1alpha1"]["serverRelativeURL"]
    code, doc = http.call("GET", url)
    patch = doc["paths"][f"{NS.replace('default', '{namespace}')}/greetings/{{name}}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "example.com",
        "version": "v1alpha1",
        "kind": "Greeting",
    }
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    schema = doc["components"]["schemas"]["com.example.v1alpha1.Greeting"]
    assert schema["properties"]["spec"]["required"] == ["name"]


def test_invalid_objects_carry_field_causes_for_kubectl(http: Http) -> None:
    code, status = http.call(  # kubectl asks for strict field validation
        "POST", f"{NS}/greetings?fieldValidation=Strict", {**greeting("x"), "spec": {"name": 7, "shoe": 1}}
    )
    assert (code, status["reason"]) == (422, "Invalid")
    assert status["details"]["name"] == "x" and status["details"]["kind"] == "Greeting"
    assert status["details"]["group"] == "example.com"
    fields = {(c["field"], c["message"]) for c in status["details"]["causes"]}
    assert (".spec.shoe", "field not declared in schema") in fields
    assert any(field == ".spec.name" for field, _ in fields)


def test_create_get_list_with_selectors_delete(dyn: dynamic.DynamicClient) -> None:
    api = dyn.resources.get(api_version="example.com/v1alpha1", kind="Greeting")
    api.create(body=greeting("carol", "Carol", team="a", tier="web"), namespace="default")
    api.create(body=greeting("dave", "Dave", team="b"), namespace="default")
    assert api.get(name="carol", namespace="default").spec.language == "en"  # defaulted by the schema

    def listed(**kwargs: str) -> list[str]:
        return [o.metadata.name for o in api.get(namespace="default", **kwargs).items]

    assert listed() == ["alice", "bob", "carol", "dave"]
    assert listed(label_selector="team=a") == ["carol"]
    assert listed(label_selector="team in (a,b),tier") == ["carol"]
    assert listed(label_selector="team notin (a)") == ["alice", "bob", "dave"]
    assert listed(label_selector="!team") == ["alice", "bob"]
    assert listed(field_selector="metadata.name=dave") == ["dave"]
    assert listed(field_selector="spec.name=Carol") == ["carol"]
    assert [o.metadata.name for o in api.get().items] == ["alice", "bob", "carol", "dave"]  # all namespaces
    api.delete(name="carol", namespace="default")
    with pytest.raises(NotFoundError):
        api.get(name="carol", namespace="default")


def test_delete_options_preconditions_and_propagation(server: str, http: Http) -> None:
    from kubernetes import client

    objects = client.CustomObjectsApi(ApiClient(configuration=Configuration(host=server)))
    args = ("example.com", "v1alpha1", "default", "greetings")

    def owned_by(owner: str, name: str) -> None:
        uid = objects.get_namespaced_custom_object(*args, owner)["metadata"]["uid"]
        child = greeting(name)
        child["metadata"]["ownerReferences"] = [{"apiVersion": "example.com/v1alpha1", "kind": "Greeting",
                                                 "name": owner, "uid": uid}]
        objects.create_namespaced_custom_object(*args, child)

    objects.create_namespaced_custom_object(*args, greeting("p1"))
    owned_by("p1", "c1")
    wrong = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid="0000"))
    with pytest.raises(ApiException) as refused:
        objects.delete_namespaced_custom_object(*args, "p1", body=wrong)
    assert refused.value.status == 409
    assert "Precondition failed: UID in precondition: 0000, UID in object meta: " in json.loads(refused.value.body)[
        "message"]
    with pytest.raises(ApiException) as bogus:
        objects.delete_namespaced_custom_object(*args, "p1", propagation_policy="Bogus")
    assert bogus.value.status == 422
    assert 'Unsupported value: "Bogus"' in json.loads(bogus.value.body)["message"]
    objects.delete_namespaced_custom_object(*args, "p1", propagation_policy="Orphan")
    assert "ownerReferences" not in objects.get_namespaced_custom_object(*args, "c1")["metadata"]
    objects.create_namespaced_custom_object(*args, greeting("p2"))
    owned_by("p2", "c2")
    assert http.call("DELETE", f"{NS}/greetings/p2", {"propagationPolicy": "Orphan"})[0] == 200  # kubectl's form
    assert "ownerReferences" not in objects.get_namespaced_custom_object(*args, "c2")["metadata"]
    objects.create_namespaced_custom_object(*args, greeting("p3"))
    owned_by("p3", "c3")
    objects.delete_namespaced_custom_object(*args, "p3")  # background, the default: the dependent goes too
    with pytest.raises(ApiException) as gone:
        objects.get_namespaced_custom_object(*args, "c3")
    assert gone.value.status == 404


def test_writes_that_name_no_or_a_stale_resource_version(http: Http) -> None:
    """A custom resource is never replaced blind (422, as kube-apiserver), and a resourceVersion in an applied
    configuration is a precondition (409); a Namespace may be replaced without one."""
    code, current = http.call("POST", f"{NS}/greetings", greeting("zoe"))
    blind = greeting("zoe", "Zoe")
    code, status = http.call("PUT", f"{NS}/greetings/zoe", blind)
    assert (code, status["reason"]) == (422, "Invalid")
    assert "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update" in status["message"]
    stale = {**blind, "metadata": {**blind["metadata"], "resourceVersion": "1"}}
    code, status = http.call("PATCH", f"{NS}/greetings/zoe?fieldManager=t", stale,
                             content_type="application/apply-patch+yaml")
    assert (code, status["reason"]) == (409, "Conflict")
    assert "the object has been modified" in status["message"]
    assert http.call("GET", f"{NS}/greetings/zoe")[1] == current
    fresh = {**blind, "metadata": {**blind["metadata"], "resourceVersion": current["metadata"]["resourceVersion"]}}
    assert http.call("PUT", f"{NS}/greetings/zoe", fresh)[1]["spec"]["name"] == "Zoe"
    assert http.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                   "metadata": {"name": "lab"}})[0] == 201
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lab", "labels": {"a": "b"}}}
    assert http.call("PUT", "/api/v1/namespaces/lab", ns)[0] == 200


def test_field_validation_directives(server: str, http: Http) -> None:
    """Unknown fields are dropped with a Warning header by default (kube-apiserver's Warn, what the Python
    client gets), dropped silently with Ignore, refused with Strict (what kubectl sends); other values are 400."""
    from kubernetes import client

    objects = client.CustomObjectsApi(ApiClient(configuration=Configuration(host=server)))
    args = ("example.com", "v1alpha1", "default", "greetings")
    odd = {**greeting("odd"), "spec": {"name": "Odd", "colour": "red"}}
    odd["metadata"]["bogus"] = 1
    created, code, headers = objects.create_namespaced_custom_object_with_http_info(*args, odd)
    assert (code, created["spec"], "bogus" in created["metadata"]) == (201, {"name": "Odd", "language": "en"}, False)
    assert headers.getlist("Warning") == ['299 - "unknown field \\"metadata.bogus\\""',
                                          '299 - "unknown field \\"spec.colour\\""']
    patched, _code, headers = objects.patch_namespaced_custom_object_with_http_info(
        *args, "odd", {"spec": {"colour": "blue"}}, field_validation="Ignore")
    assert (patched["spec"], headers.getlist("Warning")) == ({"name": "Odd", "language": "en"}, [])
    code, status = http.call("POST", f"{NS}/greetings?fieldValidation=Strict", {**odd, "metadata": {"name": "o2"}})
    assert (code, status["reason"]) == (422, "Invalid")
    assert ".spec.colour: field not declared in schema" in status["message"]
    code, status = http.call("POST", f"{NS}/greetings?fieldValidation=Nope", greeting("o3"))
    assert (code, status["reason"]) == (400, "BadRequest")


def test_list_resource_version_semantics(http: Http) -> None:
    current = int(http.call("GET", f"{NS}/greetings")[1]["metadata"]["resourceVersion"])

    def listed(query: str) -> tuple[int, str]:
        code, body = http.call("GET", f"{NS}/greetings?{query}")
        return code, body["metadata"].get("resourceVersion", "") if code == 200 else body["message"]

    assert listed(f"resourceVersion={current}&resourceVersionMatch=Exact") == (200, str(current))
    assert listed(f"resourceVersion={current - 1}") == (200, str(current))  # not older than: the latest will do
    assert listed("resourceVersion=0") == (200, str(current))
    assert listed(f"resourceVersion={current - 1}&resourceVersionMatch=Exact") == (
        410, f"too old resource version: {current - 1} ({current})")
    assert listed(f"resourceVersion={current + 5}&resourceVersionMatch=NotOlderThan") == (
        504, f"Too large resource version: {current + 5}, current: {current}")
    assert listed("resourceVersion=abc")[0] == 400
    assert listed("resourceVersionMatch=Exact") == (
        422, "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided")
    assert listed("resourceVersion=0&resourceVersionMatch=Exact")[0] == 422
    assert listed("resourceVersion=1&resourceVersionMatch=Newest")[0] == 422


def test_watch_streams_changes_and_resumes(dyn: dynamic.DynamicClient) -> None:
    api = dyn.resources.get(api_version="example.com/v1alpha1", kind="Greeting")
    start = api.get(namespace="default").metadata.resourceVersion
    seen: list[tuple[str, str]] = []
    ready = threading.Event()

    def watch() -> None:
        ready.set()
        for event in dyn.watch(api, namespace="default", resource_version=start, timeout=10):
            seen.append((event["type"], event["object"].metadata.name))
            if len(seen) == 3:
                return

    thread = threading.Thread(target=watch)
    thread.start()
    ready.wait()
    api.create(body=greeting("erin", "Erin"), namespace="default")
    api.patch(
        name="erin", namespace="default", body={"spec": {"name": "Erin B"}}, content_type="application/merge-patch+json"
    )
    api.delete(name="erin", namespace="default")
    thread.join(timeout=20)
    assert seen == [("ADDED", "erin"), ("MODIFIED", "erin"), ("DELETED", "erin")]
    # resuming from the first revision replays exactly the same three events
    replay = [(e["type"], e["object"].metadata.name) for e in dyn.watch(api, resource_version=start, timeout=1)]
    assert replay == seen


def test_watch_from_a_list_tells_changes_of_listed_objects_as_such(http: Http) -> None:
    """Objects the list showed are MODIFIED (not ADDED) when they change, and DELETED when they leave the
    selector, as a client watching from the list's resourceVersion keeps its cache by (kubectl get -w)."""
    for name, sel in (("p", "yes"), ("q", "no"), ("r", "yes")):
        assert http.call("POST", f"{NS}/greetings", greeting(name, sel=sel))[0] == 201
    start = http.call("GET", f"{NS}/greetings")[1]["metadata"]["resourceVersion"]
    merge = "application/merge-patch+json"
    http.call("PATCH", f"{NS}/greetings/p", {"spec": {"name": "P"}}, content_type=merge)
    http.call("PATCH", f"{NS}/greetings/r", {"metadata": {"labels": {"sel": "no"}}}, content_type=merge)
    http.call("PATCH", f"{NS}/greetings/q", {"metadata": {"labels": {"sel": "yes"}}}, content_type=merge)
    http.call("DELETE", f"{NS}/greetings/q")

    def watched(selector: str) -> list[tuple[str, str]]:
        code, body = http.call("GET", f"{NS}/greetings?watch=1&timeoutSeconds=1&resourceVersion={start}{selector}")
        assert code == 200
        return [(e["type"], e["object"]["metadata"]["name"]) for e in _events(body)]

    assert watched("") == [("MODIFIED", "p"), ("MODIFIED", "r"), ("MODIFIED", "q"), ("DELETED", "q")]
    assert watched("&labelSelector=sel%3Dyes") == [("MODIFIED", "p"), ("DELETED", "r"), ("ADDED", "q"),
                                                   ("DELETED", "q")]


def test_watch_with_initial_events_ends_them_with_a_bookmark(http: Http) -> None:
    stream = f"{NS}/greetings?watch=1&timeoutSeconds=1&allowWatchBookmarks=true"
    code, body = http.call("GET", f"{stream}&sendInitialEvents=true&resourceVersionMatch=NotOlderThan")
    events = _events(body)
    assert code == 200
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events[:2]] == [("ADDED", "alice"), ("ADDED", "bob")]
    assert events[2]["type"] == "BOOKMARK"
    assert events[2]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    code, body = http.call("GET", f"{stream}&sendInitialEvents=false&resourceVersionMatch=NotOlderThan")
    assert (code, [e["type"] for e in _events(body) if e["type"] != "BOOKMARK"]) == (200, [])
    for query, fragment in (
        ("&sendInitialEvents=true", "requires setting resourceVersionMatch to NotOlderThan"),
        ("&resourceVersionMatch=NotOlderThan", "forbidden for watch unless sendInitialEvents is provided"),
    ):
        code, status = http.call("GET", f"{stream}{query}")
        assert (code, status["reason"]) == (422, "Invalid") and fragment in status["message"]
    code, status = http.call("GET", f"{NS}/greetings?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan")
    assert (code, "requires setting allowWatchBookmarks to true" in status["message"]) == (422, True)


def test_watch_without_resource_version_starts_with_current_objects(http: Http) -> None:
    code, body = http.call("GET", f"{NS}/greetings?watch=1&timeoutSeconds=1&labelSelector=")
    events = _events(body)
    assert code == 200
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "alice"), ("ADDED", "bob")]


def test_watch_after_compaction_reports_gone() -> None:
    api = APIServer(MemoryBackend(max_events=2))
    crd = json.loads(json.dumps(_crd()))
    api.register_crd(crd)
    for i in range(5):
        api.apply({"apiVersion": "t.io/v1", "kind": "Thing", "metadata": {"name": f"t{i}"}}, manager="test")
    context = _Context(api)
    httpd = APIHTTPServer(("127.0.0.1", 0), context)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        code, body = Http(url).call("GET", "/apis/t.io/v1/things?watch=true&resourceVersion=1&timeoutSeconds=2")
        (event,) = _events(body)
        assert code == 200
        assert event["type"] == "ERROR"
        assert (event["object"]["code"], event["object"]["reason"]) == (410, "Expired")
        assert "too old resource version" in event["object"]["message"]
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_server_side_apply_conflicts_and_force(dyn: dynamic.DynamicClient) -> None:
    api = dyn.resources.get(api_version="example.com/v1alpha1", kind="Greeting")
    body = greeting("frank", "Frank")
    api.server_side_apply(body=body, field_manager="alpha")
    body["spec"]["name"] = "Franky"
    with pytest.raises(ConflictError) as caught:
        api.server_side_apply(body=body, field_manager="beta")
    assert caught.value.status == 409
    assert "alpha" in str(caught.value.body)
    applied = api.server_side_apply(body=body, field_manager="beta", force_conflicts=True)
    assert applied.spec.name == "Franky"
    managers = {m.manager: m.operation for m in applied.metadata.managedFields}
    assert managers == {"alpha": "Apply", "beta": "Apply"}


def test_status_subresource(http: Http) -> None:
    http.call("POST", f"{NS}/greetings", greeting("alice2", "Alice"))  # in/'s alice is its file's to change
    code, alice = http.call("GET", f"{NS}/greetings/alice2")
    alice["spec"]["name"] = "Alicia"
    alice["status"] = {"messageRef": "ignored"}
    code, updated = http.call("PUT", f"{NS}/greetings/alice2", alice)
    assert code == 200
    assert updated["spec"]["name"] == "Alicia"
    assert "status" not in updated  # the main resource never changes status
    updated["status"] = {"messageRef": "m1"}
    updated["spec"]["name"] = "not applied"
    code, status = http.call("PUT", f"{NS}/greetings/alice2/status", updated)
    assert (code, status["status"], status["spec"]["name"]) == (200, {"messageRef": "m1"}, "Alicia")
    code, patched = http.call(
        "PATCH",
        f"{NS}/greetings/alice2/status",
        {"status": {"messageRef": "m2"}},
        content_type="application/merge-patch+json",
    )
    assert patched["status"] == {"messageRef": "m2"}
    apply = {
        "apiVersion": "example.com/v1alpha1",
        "kind": "Greeting",
        "metadata": {"name": "alice2"},
        "status": {"messageRef": "m3"},
    }
    path = f"{NS}/greetings/alice2/status?fieldManager=st"
    code, status = http.call("PATCH", path, apply, content_type="application/apply-patch+yaml")
    assert (code, status["reason"]) == (409, "Conflict")  # the PUT's manager owns status.messageRef
    code, applied = http.call("PATCH", path + "&force=true", apply, content_type="application/apply-patch+yaml")
    assert code == 200, applied
    assert (applied["status"]["messageRef"], applied["spec"]["name"]) == ("m3", "Alicia")
    assert any(m.get("subresource") == "status" and m["manager"] == "st" for m in applied["metadata"]["managedFields"])


def test_json_patch_and_stale_update(http: Http) -> None:
    http.call("POST", f"{NS}/greetings", greeting("bob2", "Bob"))  # in/'s bob is its file's to change
    code, bob = http.call("GET", f"{NS}/greetings/bob2")
    ops = [{"op": "replace", "path": "/spec/name", "value": "Robert"}]
    code, patched = http.call("PATCH", f"{NS}/greetings/bob2", ops, content_type="application/json-patch+json")
    assert (code, patched["spec"]["name"]) == (200, "Robert")
    code, status = http.call("PUT", f"{NS}/greetings/bob2", bob)  # bob still carries the old resourceVersion
    assert (code, status["kind"], status["reason"]) == (409, "Status", "Conflict")
    assert "the object has been modified" in status["message"]


def test_table_for_kubectl_get(http: Http) -> None:
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    code, table = http.call("GET", f"{NS}/greetings", headers={"Accept": accept})
    assert (code, table["kind"]) == (200, "Table")
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert [r["cells"][0] for r in table["rows"]] == ["alice", "bob"]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_dry_run_does_not_persist(http: Http) -> None:
    code, created = http.call("POST", f"{NS}/greetings?dryRun=All", greeting("ghost"))
    assert (code, created["metadata"]["name"]) == (201, "ghost")
    assert http.call("GET", f"{NS}/greetings/ghost")[0] == 404


def test_crd_posted_through_the_api_registers_its_kind(http: Http) -> None:
    code, _ = http.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", _crd())
    assert code == 201
    assert http.call("GET", "/apis/t.io/v1")[1]["resources"][0]["name"] == "things"
    code, thing = http.call(
        "POST", "/apis/t.io/v1/things", {"apiVersion": "t.io/v1", "kind": "Thing", "metadata": {"name": "one"}}
    )
    assert (code, thing["metadata"]["name"]) == (201, "one")
    bad = _crd()
    bad["spec"]["scope"] = "Everywhere"
    bad["metadata"]["name"] = "others.t.io"
    bad["spec"]["names"] = {"kind": "Other", "plural": "others"}
    code, status = http.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", bad)
    assert (code, status["reason"]) == (422, "Invalid")
    assert "spec.scope" in status["message"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "code", "reason", "fragment"),
    [
        ("POST", f"{NS}/greetings", {"raw": b"{not json"}, 400, "BadRequest", "not valid JSON"),
        (
            "PATCH",
            f"{NS}/greetings/alice?fieldManager=x",
            {"raw": b"spec: [unclosed", "content_type": "application/apply-patch+yaml"},
            400,
            "BadRequest",
            "not valid YAML",
        ),
        ("POST", f"{NS}/greetings", {"raw": b"[1, 2]"}, 400, "BadRequest", "must be an object"),
        ("GET", f"{GV}/nothings", {}, 404, "NotFound", "no nothings in example.com/v1alpha1"),
        ("GET", "/apis/nope.io/v1/things", {}, 404, "NotFound", "could not find the requested resource"),
        (
            "POST",
            f"{NS}/greetings",
            {"body": {**greeting("x"), "kind": "Message"}},
            400,
            "BadRequest",
            "does not match the expected kind",
        ),
        ("POST", f"{NS}/greetings", {"body": {**greeting("x"), "spec": {"name": 7}}}, 422, "Invalid", "spec.name"),
        (
            "POST",
            f"{NS}/greetings",
            {"body": {**greeting("x"), "metadata": {"name": "Bad_Name"}}},
            422,
            "Invalid",
            "metadata.name",
        ),
        ("POST", f"{NS}/greetings", {"body": greeting("alice")}, 409, "AlreadyExists", "already exists"),
        ("GET", f"{NS}/greetings?labelSelector=a%20in%20()", {}, 400, "BadRequest", "values set can't be empty"),
        ("GET", f"{NS}/greetings?fieldSelector=spec.name", {}, 400, "BadRequest", "invalid field selector"),
        ("GET", f"{NS}/greetings?watch=1&resourceVersion=abc", {}, 400, "BadRequest", "not a valid resource version"),
        (
            "PATCH",
            f"{NS}/greetings/alice",
            {"body": {}, "content_type": "application/strategic-merge-patch+json"},
            415,
            "UnsupportedMediaType",
            "strategic merge patch is not supported",
        ),
        (
            "PATCH",
            f"{NS}/greetings/alice",
            {"body": greeting("alice"), "content_type": "application/apply-patch+yaml"},
            400,
            "BadRequest",
            "requires the fieldManager",
        ),
        ("POST", f"{NS}/greetings/alice", {"body": {}}, 405, "MethodNotAllowed", "not allowed"),
        ("PUT", f"{NS}/greetings/alice", {"body": {**greeting("bob")}}, 400, "BadRequest", "does not match the name"),
        ("GET", f"{NS}/greetings/nobody", {}, 404, "NotFound", 'greetings.example.com "nobody" not found'),
        ("GET", f"{NS}/greetings/%zzlice", {}, 400, "BadRequest", "not followed by two hex digits"),
        (
            "PATCH",
            f"{NS}/greetings/alice",
            {"body": {"metadata": None}, "content_type": "application/merge-patch+json"},
            400,
            "BadRequest",
            "the name of the object () does not match the name on the URL (alice)",
        ),
    ],
)
def test_bad_requests_get_a_status(http: Http, method, path, kwargs, code, reason, fragment) -> None:
    got, status = http.call(method, path, **kwargs)
    assert (got, status["kind"], status["reason"], status["code"]) == (code, "Status", reason, code)
    assert fragment in status["message"]
    assert http.call("GET", "/healthz") == (200, "ok")  # and the server keeps serving


def test_the_path_is_percent_decoded(http: Http) -> None:
    assert http.call("GET", f"{NS}/greetings/%61lice")[1]["metadata"]["name"] == "alice"
    assert http.call("GET", "/apis/example.com/v1alpha1/namespaces/%64efault/greetings")[0] == 200


def test_not_found_and_already_exists_are_told_as_kube_apiserver_tells_them(http: Http) -> None:
    code, status = http.call("GET", f"{NS}/greetings/nobody")
    details = {"name": "nobody", "group": "example.com", "kind": "greetings"}
    assert (code, status["message"], status["details"]) == (404, 'greetings.example.com "nobody" not found', details)
    code, status = http.call("POST", f"{NS}/greetings", greeting("alice"))
    assert (code, status["reason"], status["message"], status["details"]["kind"]) == (
        409, "AlreadyExists", 'greetings.example.com "alice" already exists', "greetings")
    code, status = http.call("DELETE", "/api/v1/namespaces/nowhere")
    assert (code, status["message"]) == (404, 'namespaces "nowhere" not found')


def test_access_reviews_allow_all_but_writes_to_what_the_folder_owns(server: str) -> None:
    """kubectl auth can-i: no per-user permissions, but an object loaded from the folder cannot be written."""
    from kubernetes import client

    reviews = client.AuthorizationV1Api(ApiClient(configuration=Configuration(host=server)))

    def can(verb: str, name: str = "") -> tuple[bool, str]:
        attributes = client.V1ResourceAttributes(namespace="default", verb=verb, group="example.com",
                                                 resource="greetings", name=name or None)
        review = client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=attributes))
        status = reviews.create_self_subject_access_review(review).status
        return status.allowed, status.reason or ""

    assert can("create") == (True, "")
    assert can("get", "alice") == (True, "")
    allowed, reason = can("patch", "alice")
    assert not allowed and "owned by its file: edit the file in/example.com.greeting.alice.yaml" in reason
    rules = reviews.create_self_subject_rules_review(client.V1SelfSubjectRulesReview(
        spec=client.V1SelfSubjectRulesReviewSpec(namespace="default"))).status
    assert [(r.verbs, r.api_groups, r.resources) for r in rules.resource_rules] == [(["*"], ["*"], ["*"])]


def test_an_update_may_not_change_the_uid(http: Http) -> None:
    created = http.call("POST", f"{NS}/greetings", greeting("uidy"))[1]
    changed = {**created, "metadata": {**created["metadata"], "uid": "another"}}
    for method, body, kind in (("PUT", changed, "application/json"),
                               ("PATCH", {"metadata": {"uid": "another"}}, "application/merge-patch+json")):
        code, status = http.call(method, f"{NS}/greetings/uidy", body, content_type=kind)
        assert (code, status["reason"]) == (422, "Invalid")
        assert status["message"].endswith('metadata.uid: Invalid value: "another": field is immutable')
    assert http.call("GET", f"{NS}/greetings/uidy")[1]["metadata"]["uid"] == created["metadata"]["uid"]


def test_reads_answer_in_the_media_type_asked_for(http: Http) -> None:
    partial = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
    code, listed = http.call("GET", f"{NS}/greetings", headers={"Accept": partial})
    assert (code, listed["kind"], listed["apiVersion"]) == (200, "PartialObjectMetadataList", "meta.k8s.io/v1")
    assert [(i["kind"], i["metadata"]["name"], "spec" in i) for i in listed["items"]] == [
        ("PartialObjectMetadata", "alice", False), ("PartialObjectMetadata", "bob", False)]
    code, one = http.call("GET", f"{NS}/greetings/alice",
                          headers={"Accept": "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"})
    assert (code, one["kind"], one["metadata"]["name"]) == (200, "PartialObjectMetadata", "alice")
    code, status = http.call("GET", f"{NS}/greetings", headers={"Accept": "text/html"})
    assert (code, status["reason"]) == (406, "NotAcceptable")
    code, text = http.call("GET", f"{NS}/greetings/alice", headers={"Accept": "application/yaml"})
    assert code == 200 and isinstance(text, str) and text.startswith("apiVersion: example.com/v1alpha1\n")
    assert yaml.safe_load(text)["metadata"]["name"] == "alice"
    code, text = http.call("GET", f"{NS}/greetings", headers={"Accept": "application/yaml"})
    assert [i["metadata"]["name"] for i in yaml.safe_load(text)["items"]] == ["alice", "bob"]
    code, full = http.call("GET", f"{NS}/greetings", headers={"Accept": "application/vnd.kubernetes.protobuf, */*"})
    assert (code, full["kind"]) == (200, "GreetingList")
    code, body = http.call("GET", f"{NS}/greetings?watch=1&timeoutSeconds=1",
                           headers={"Accept": "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"})
    assert [(e["object"]["kind"], "spec" in e["object"]) for e in _events(body)] == [
        ("PartialObjectMetadata", False), ("PartialObjectMetadata", False)]


def test_token_is_required_when_configured(tmp_path: Path) -> None:
    with served(copy_example("hello-world", tmp_path), token="s3cret") as (_app, url):
        code, status = Http(url).call("GET", "/apis")
        assert (code, status["reason"]) == (401, "Unauthorized")
        assert "bearer token" in status["message"]
        assert Http(url, "wrong").call("GET", "/apis")[0] == 401
        assert Http(url, "s3cret").call("GET", "/apis")[0] == 200
        assert Http(url).call("GET", "/readyz") == (200, "ok")
        config = Configuration(
            host=url, api_key={"authorization": "s3cret"}, api_key_prefix={"authorization": "Bearer"}
        )
        client = dynamic.DynamicClient(ApiClient(configuration=config))
        hello = client.resources.get(api_version="example.com/v1alpha1", kind="HelloWorld")
        assert [o.metadata.name for o in hello.get().items] == ["test"]
        with pytest.raises(ApiException) as caught:
            anonymous = dynamic.DynamicClient(ApiClient(configuration=Configuration(host=url)))
            anonymous.resources.get(api_version="example.com/v1alpha1", kind="HelloWorld").get()
        assert caught.value.status == 401


def _events(body: object) -> list[dict]:
    """Watch events of a finished stream (one event decodes as JSON directly)."""
    return [json.loads(line) for line in body.splitlines()] if isinstance(body, str) else [body]  # type: ignore


def _crd() -> dict:
    return crd("t.io", "Thing", {"type": "object", "x-kubernetes-preserve-unknown-fields": True}, scope="Cluster")


class _Context:
    """The smallest ServerContext: one API server, always ready, no token."""

    token = None

    def __init__(self, api: APIServer) -> None:
        self.api = api
        self.stopping = threading.Event()

    def current_api(self) -> APIServer:
        return self.api

    def ready(self) -> bool:
        return True

    def log(self, event: str, **fields: object) -> None:
        pass

    def control(self, method: str, parts: list[str], body: object) -> tuple[int, object]:
        return 404, {}

    def check_write(self, group: str, kind: str, namespace: str, name: str) -> None:
        pass


def test_a_client_update_is_ratcheted_after_the_kind_s_schema_narrowed(tmp_path: Path) -> None:
    """An object made under the old schema can still get labels (and lose its finalizers) once a CRD refuses
    one of its values, as in Kubernetes; a change of that value is refused."""
    root = copy_example("greeting", tmp_path)
    with served(root) as (app, url):
        http = Http(url)
        german = {**greeting("gd"), "spec": {"name": "G", "language": "de"}}
        assert http.call("POST", f"{NS}/greetings", german)[0] == 201
        crd_file = root / "crds" / "example.com_greetings.yaml"
        crd_file.write_text(crd_file.read_text().replace("enum: [en, fr, nl, de]", "enum: [en, fr, nl]"))
        assert app.runtime is not None
        app.runtime.load()
        merge = "application/merge-patch+json"
        code, patched = http.call("PATCH", f"{NS}/greetings/gd", {"metadata": {"labels": {"team": "a"}}},
                                  content_type=merge)
        assert (code, patched["metadata"]["labels"]) == (200, {"team": "a"})
        code, status = http.call("PATCH", f"{NS}/greetings/gd", {"spec": {"language": "xx"}}, content_type=merge)
        assert (code, status["reason"]) == (422, "Invalid") and '"xx"' in status["message"]
