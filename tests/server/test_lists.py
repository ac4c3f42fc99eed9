"""Lists as Kubernetes clients read them: pages (``limit``/``continue``) and Tables with printer columns."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes.client import ApiClient, Configuration, CustomObjectsApi

from choreo.server.query import Continue, ListSnapshots, parse_continue
from tests.server.harness import Http, copy_example, crd, served

NS = "/apis/example.com/v1alpha1/namespaces/default"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


@pytest.fixture
def url(tmp_path: Path):
    with served(copy_example("greeting", tmp_path)) as (_app, url):
        yield url


def _greeting(name: str) -> dict:
    return {
        "apiVersion": "example.com/v1alpha1",
        "kind": "Greeting",
        "metadata": {"name": name},
        "spec": {"name": name.capitalize()},
    }


def test_the_python_client_pages_through_a_list(url: str) -> None:
    http = Http(url)
    for name in ("carol", "dave"):
        assert http.call("POST", f"{NS}/greetings", _greeting(name))[0] == 201
    objects = CustomObjectsApi(ApiClient(Configuration(host=url)))
    names, token, pages = [], None, 0
    while True:
        kwargs = {"_continue": token} if token else {}
        page = objects.list_namespaced_custom_object(
            "example.com", "v1alpha1", "default", "greetings", limit=1, **kwargs
        )
        names += [item["metadata"]["name"] for item in page["items"]]
        pages += 1
        token = page["metadata"].get("continue")
        if not token:
            break
        assert page["metadata"]["remainingItemCount"] == 4 - pages
    assert (names, pages) == (["alice", "bob", "carol", "dave"], 4)


def test_every_page_shows_the_moment_of_the_first(url: str) -> None:
    """Objects created, changed or deleted between pages do not show: the list is one snapshot."""
    http = Http(url)
    assert http.call("POST", f"{NS}/greetings", _greeting("bobby"))[0] == 201  # the API's to delete, unlike in/'s
    _code, first = http.call("GET", f"{NS}/greetings?limit=1")
    assert http.call("POST", f"{NS}/greetings", _greeting("carol"))[0] == 201
    assert http.call("DELETE", f"{NS}/greetings/bobby")[0] == 200
    code, rest = http.call("GET", f"{NS}/greetings?limit=5&continue={first['metadata']['continue']}")
    assert code == 200 and [o["metadata"]["name"] for o in rest["items"]] == ["bob", "bobby"]
    assert rest["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


def test_a_page_no_longer_kept_is_410_after_a_change_with_a_token_to_go_on(url: str) -> None:
    http = Http(url)
    _code, first = http.call("GET", f"{NS}/greetings?limit=1")
    token = parse_continue(first["metadata"]["continue"], "example.com/greetings")
    forgotten = Continue(token.revision, token.after, "not-kept", token.key).token()  # as after five minutes
    code, unchanged = http.call("GET", f"{NS}/greetings?continue={forgotten}")
    assert code == 200 and [o["metadata"]["name"] for o in unchanged["items"]] == ["bob"]  # nothing changed
    assert http.call("POST", f"{NS}/greetings", _greeting("carol"))[0] == 201
    code, status = http.call("GET", f"{NS}/greetings?limit=1&continue={forgotten}")
    assert (code, status["reason"]) == (410, "Expired")
    assert "too old to display a consistent list result" in status["message"]
    code, rest = http.call("GET", f"{NS}/greetings?continue={status['metadata']['continue']}")
    assert code == 200 and [o["metadata"]["name"] for o in rest["items"]] == ["bob", "carol"]


def test_kept_lists_expire_and_are_bounded() -> None:
    now = [0.0]
    snapshots = ListSnapshots(capacity=2, ttl=10.0, clock=lambda: now[0])
    first = snapshots.keep("greetings", [{"n": 1}])
    assert snapshots.get(first, "greetings") == [{"n": 1}]
    assert snapshots.get(first, "messages") is None  # another request's list
    second, third = snapshots.keep("a", []), snapshots.keep("b", [])
    assert snapshots.get(first, "greetings") is None and snapshots.get(second, "a") == []  # the oldest went
    now[0] = 10.0
    assert snapshots.get(third, "b") is None


@pytest.mark.parametrize("token", ["not-base64!", "eyJ2IjoxfQ==", "e30="])
def test_a_continue_token_the_server_did_not_write_is_400(url: str, token: str) -> None:
    code, status = Http(url).call("GET", f"{NS}/greetings?limit=1&continue={token}")
    assert (code, status["reason"]) == (400, "BadRequest") and status["message"].startswith("continue key is not valid")


@pytest.mark.parametrize("limit", ["-1", "x", "1e3"])
def test_a_bad_limit_is_400(url: str, limit: str) -> None:
    code, status = Http(url).call("GET", f"{NS}/greetings?limit={limit}")
    assert (code, status["reason"]) == (400, "BadRequest") and "limit" in status["message"]


def _ipclaims_crd() -> dict:
    columns = [
        {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type=='Ready')].status"},
        {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
        {"name": "Address", "type": "string", "jsonPath": ".status.address", "priority": 1},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    schema = {
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    }
    return crd("t.io", "Claim", schema, additionalPrinterColumns=columns)


def test_tables_show_the_crd_printer_columns(url: str) -> None:
    http = Http(url)
    assert http.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", _ipclaims_crd())[0] == 201
    claim = {"apiVersion": "t.io/v1", "kind": "Claim", "spec": {"size": 24}}
    for name, status in (("a", {"address": "10.0.0.1", "conditions": [{"type": "Ready", "status": "True"}]}),
                         ("b", None)):
        body = {**claim, "metadata": {"name": name}, **({"status": status} if status else {})}
        assert http.call("POST", "/apis/t.io/v1/namespaces/default/claims", body)[0] == 201
    code, table = http.call("GET", "/apis/t.io/v1/namespaces/default/claims?limit=1", headers={"Accept": TABLE})
    assert (code, table["kind"]) == (200, "Table")
    columns = [(c["name"], c["type"], c["priority"]) for c in table["columnDefinitions"]]
    assert columns == [("Name", "string", 0), ("Ready", "string", 0), ("Size", "integer", 0),
                       ("Address", "string", 1), ("Age", "date", 0)]
    [row] = table["rows"]
    assert row["cells"][:4] == ["a", "True", 24, "10.0.0.1"] and row["cells"][4].endswith("s")
    token = table["metadata"]["continue"]
    claims = "/apis/t.io/v1/namespaces/default/claims"
    _code, rest = http.call("GET", f"{claims}?continue={token}", headers={"Accept": TABLE})
    assert [r["cells"][:4] for r in rest["rows"]] == [["b", None, 24, None]]
    assert "continue" not in rest["metadata"]


def test_a_kind_without_printer_columns_shows_name_and_age(url: str) -> None:
    code, table = Http(url).call("GET", f"{NS}/greetings/alice", headers={"Accept": TABLE})
    assert code == 200 and [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert table["rows"][0]["cells"][0] == "alice"


def test_a_token_of_another_list_is_refused(url: str) -> None:
    http = Http(url)
    _code, first = http.call("GET", f"{NS}/greetings?limit=1")
    code, status = http.call("GET", f"{NS}/messages?limit=1&continue={first['metadata']['continue']}")
    assert (code, status["reason"]) == (400, "BadRequest")
    assert "continue key is not valid: the token is of another list than example.com/messages" in status["message"]
