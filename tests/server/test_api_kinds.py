"""Kinds created through the API (a CustomResourceDefinition a client POSTs) are served like the folder's:
after a reload of the folder and a restart too, and only until their CRD is deleted, which takes their
objects with it, as in Kubernetes."""

from __future__ import annotations

from pathlib import Path

from tests.server.harness import Http, copy_example, crd, served

WIDGETS = "/apis/example.org/v1/namespaces/default/widgets"
SCHEMA = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}


def widget(name: str) -> dict[str, object]:
    return {"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": name}, "spec": {"size": 3}}


def test_api_kinds_survive_reloads_and_restarts_and_go_with_their_crd(tmp_path: Path) -> None:
    root = copy_example("greeting", tmp_path)
    with served(root) as (app, url):
        http = Http(url)
        assert http.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                         crd("example.org", "Widget", SCHEMA))[0] == 201
        assert http.call("POST", WIDGETS, widget("w1"))[0] == 201
        assert app.runtime is not None
        app.runtime.load()  # what a saved file in the folder sets off
        assert http.call("GET", f"{WIDGETS}/w1")[1]["spec"] == {"size": 3}
    with served(root) as (_app, url):
        http = Http(url)
        assert http.call("GET", f"{WIDGETS}/w1")[1]["spec"] == {"size": 3}
        assert http.call("POST", WIDGETS, widget("w2"))[0] == 201
        dry = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.org?dryRun=All"
        assert http.call("DELETE", dry)[0] == 200
        assert [w["metadata"]["name"] for w in http.call("GET", WIDGETS)[1]["items"]] == ["w1", "w2"]
        assert http.call("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.org")[
            0] == 200
        assert http.call("GET", WIDGETS)[0] == 404
        assert "example.org" not in {g["name"] for g in http.call("GET", "/apis")[1]["groups"]}
    with served(root) as (_app, url):
        http = Http(url)
        assert http.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                         crd("example.org", "Widget", SCHEMA))[0] == 201
        assert http.call("GET", WIDGETS)[1]["items"] == []  # the old objects went with the old CRD


def test_objects_follow_their_kind_to_a_new_version(tmp_path: Path) -> None:
    """A CRD updated through the API from v1 to v2: its objects are stored at v2 in the same write (as
    kube-apiserver converts with the ``None`` strategy), not left at a version nobody serves."""
    root = copy_example("greeting", tmp_path)
    with served(root) as (app, url):
        http = Http(url)
        crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        assert http.call("POST", crds, crd("example.org", "Widget", SCHEMA))[0] == 201
        assert http.call("POST", WIDGETS, widget("w1"))[0] == 201
        _, current = http.call("GET", f"{crds}/widgets.example.org")
        current["spec"]["versions"][0]["name"] = "v2"
        assert http.call("PUT", f"{crds}/widgets.example.org", current)[0] == 200
        assert app.runtime is not None and app.runtime.api is not None
        stored = app.runtime.api.get("example.org", "Widget", "default", "w1")
        assert (stored["apiVersion"], stored["spec"]) == ("example.org/v2", {"size": 3})
        v2 = WIDGETS.replace("/v1/", "/v2/")
        changed = {**stored, "spec": {"size": 4}}
        assert http.call("PUT", f"{v2}/w1", changed)[0] == 200
