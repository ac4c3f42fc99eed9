"""``RemoteAPI`` (``run start --kubeconfig``) gives the same heads as the served store keeps: the loader's
checks (inputs in place, leftovers, garbage) read nothing else of a cluster's objects."""

from __future__ import annotations

from pathlib import Path

from choreo.loader.project import INPUT_MANAGER, ORIGIN_ANNOTATION
from choreo.runtime.pipeline import RunOptions
from choreo.server.client import ServerClient
from choreo.server.remote import EventFeed, RemoteAPI
from tests.server.harness import copy_example, served


def test_the_heads_a_cluster_gives_are_those_of_its_store(tmp_path: Path) -> None:
    project = copy_example("fabric", tmp_path)
    with served(project, options=RunOptions(plugins=["internal-reconcilers"])) as (app, url):
        served_api = app.current_api()
        remote = RemoteAPI(ServerClient(url, None), EventFeed())
        for crd in served_api.list("apiextensions.k8s.io", "CustomResourceDefinition"):
            remote.register_crd(crd)
        compared = 0
        for group, kind in (("infra.kuid.dev", "Node"), ("infra.kuid.dev", "Link"), ("ipam.be.kuid.dev", "IPIndex")):
            stored = served_api.heads(group, kind)
            assert stored, f"the example has {kind} objects"
            assert remote.heads(group, kind) == stored
            for key, head in stored:
                assert remote.head(group, kind, key.namespace, key.name) == head
                assert INPUT_MANAGER in head.managers and ORIGIN_ANNOTATION in head.annotations  # what leftovers use
                compared += 1
        assert remote.head("infra.kuid.dev", "Node", "default", "no-such-node") is None
        assert compared == 9  # every input of the example
