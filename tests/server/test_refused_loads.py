"""A load refused because a file names an object a client created through the API is loaded again by the
server once that object no longer stands in the way: deleted (``tests/e2e/test_server_ops.py``) or, here,
given an owner, which makes it no longer the store's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from choreo.errors import ChoreoError
from tests.e2e.conftest import CAROL
from tests.server.harness import Http, copy_example, served, wait_for

GREETINGS = "/apis/example.com/v1alpha1/namespaces/default/greetings"


def test_a_load_blocked_by_a_client_s_object_is_loaded_once_the_object_takes_an_owner(tmp_path: Path) -> None:
    root = copy_example("greeting", tmp_path)
    with served(root) as (app, url):
        http = Http(url)
        created = {"apiVersion": "example.com/v1alpha1", "kind": "Greeting",
                   "metadata": {"name": "carol", "namespace": "default"}, "spec": {"name": "Carolyn"}}
        assert http.call("POST", GREETINGS, created)[0] == 201
        (root / "in" / "carol.yaml").write_text(CAROL)
        runtime = app.runtime
        assert runtime is not None
        wait_for(lambda: "in/carol.yaml" in runtime.reason, "the folder feeder's load to be refused")
        with pytest.raises(ChoreoError, match=r"in/carol\.yaml: Greeting\.example\.com default/carol was created"):
            runtime.load()  # and every load after it, until carol no longer stands in the way
        assert http.call("GET", f"{GREETINGS}/carol")[1]["spec"]["name"] == "Carolyn"

        alice = http.call("GET", f"{GREETINGS}/alice")[1]["metadata"]
        owner = {"apiVersion": "example.com/v1alpha1", "kind": "Greeting", "name": "alice", "uid": alice["uid"]}
        patched = http.call("PATCH", f"{GREETINGS}/carol", {"metadata": {"ownerReferences": [owner]}},
                            content_type="application/merge-patch+json")
        assert patched[0] == 200, patched

        wait_for(lambda: http.call("GET", f"{GREETINGS}/carol")[1]["spec"]["name"] == "Carol",
                 "the folder to load once carol has an owner")
        wait_for(lambda: runtime.reason == "", "the load to end (its objects are served as it commits)")


def test_a_collection_delete_while_the_folder_does_not_load_deletes_nothing_the_store_does_not_own(
    tmp_path: Path,
) -> None:
    """At a start whose load a client's object blocks, ``kubectl delete greetings --all`` must not delete what an
    earlier load brought (which file names it is unknown until the folder loads): refused whole, carol too."""
    root = copy_example("greeting", tmp_path)
    created = {"apiVersion": "example.com/v1alpha1", "kind": "Greeting",
               "metadata": {"name": "carol", "namespace": "default"}, "spec": {"name": "Carolyn"}}
    with served(root) as (_app, url):
        assert Http(url).call("POST", GREETINGS, created)[0] == 201
    (root / "in" / "carol.yaml").write_text(CAROL)
    with served(root) as (app, url):
        http = Http(url)
        runtime = app.runtime
        assert runtime is not None and runtime.api is None and "in/carol.yaml" in runtime.reason
        code, status = http.call("DELETE", GREETINGS)
        assert code == 503 and status["message"].startswith("Greeting.example.com default/alice: the project folder")
        assert [g["metadata"]["name"] for g in http.call("GET", GREETINGS)[1]["items"]] == ["alice", "bob", "carol"]
        assert http.call("DELETE", f"{GREETINGS}/carol")[0] == 200  # no reconciler ran on it: no finalizer
        wait_for(lambda: http.call("GET", f"{GREETINGS}/carol")[1].get("spec", {}).get("name") == "Carol",
                 "the folder to load once carol is deleted")
        wait_for(lambda: runtime.reason == "" and runtime.api is not None, "the load to end")
