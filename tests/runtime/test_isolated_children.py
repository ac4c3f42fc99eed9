"""Children made in the reconcile's worker process (``ChildRules``) are the children ``create_child`` makes.

A worker makes the children of the kinds its reconciler owns itself and sends them with its next message
(``choreo.lang.isolation``). What must hold: the runtime client records exactly what it records when the
same code runs in-process, in the same order, and the code sees the same values; a kind the rules do not
cover, a child over the size limit and a kind registered during the reconcile take the old way or the new
rules; whatever a worker sends, the recorded child carries the for-object's owner reference.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from choreo.api.gvk import GroupKind
from choreo.apiserver.server import APIServer
from choreo.errors import ReconcileError
from choreo.lang.base import ReconcileOutput
from choreo.lang.isolation import IsolatedEngine
from choreo.lang.limits import KiB, Limits, MiB
from choreo.lang.starlark_engine import StarlarkReconciler
from choreo.loader.project import ReconcilerConfig, ResourceSelector
from choreo.runtime.client import Client
from tests.runtime.conftest import _crd

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="isolation needs os.fork")

Object = dict[str, Any]
SOURCE = "kids/reconciler.star"
LIMITS = Limits(time=5.0, memory=64 * MiB, output=16 * KiB)

CHILDREN = """
def gadget(name, **extra):
    return dict({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": name}}, **extra)

def reconcile(self):
    seen = []
    first = client_create(gadget("g1"))
    seen.append(first["resource"]["metadata"])
    seen.append(client_get("g1", "default", gadget("g1"))["error"])  # recorded, not applied: not found
    seen.append(client_create(gadget("g2", spec = {"n": 2}))["resource"]["metadata"]["namespace"])
    other = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g3", "namespace": "elsewhere"}}
    seen.append(client_create(other)["resource"]["metadata"]["namespace"])
    seen.append(client_create({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w2"}}))
    seen.append(client_create(gadget("g4", metadata = "not a dict"))["resource"]["metadata"])
    self["status"] = {"seen": [str(s) for s in seen]}
    return reconcile_result(self, False, 0, "", False)
"""


class CountingClient(Client):
    """The runtime client, counting how often user code's create_child reached it."""

    created = 0

    def create_child(self, obj: Object) -> Object:
        self.created += 1
        return super().create_child(obj)


def _config(owns: list[str]) -> ReconcilerConfig:
    return ReconcilerConfig(
        name="kids", source="kids/config.yaml", type="starlark",
        for_=ResourceSelector("example.com", "v1", "Widget", {}),
        owns=[ResourceSelector("example.com", "v1", kind, {}) for kind in owns],
        code={"reconciler.star": CHILDREN},
    )


def _widget(api: APIServer) -> Object:
    return api.create({"apiVersion": "example.com/v1", "kind": "Widget",
                       "metadata": {"name": "w1", "namespace": "default"}, "spec": {}})


def _both(
    api: APIServer, code: str, owns: list[str], client_type: type[Client] = CountingClient, before: Any = None
) -> tuple[tuple[ReconcileOutput, Client], tuple[ReconcileOutput, Client]]:
    """(output, client) of ``code`` run in-process and in a worker, each with a fresh runtime client
    (``before()`` called before each)."""
    config = _config(owns)
    owner = _widget(api)
    engine = StarlarkReconciler("kids", code, SOURCE, {}, limits=LIMITS)
    runs = []
    for run in (engine, IsolatedEngine(engine, SOURCE, LIMITS)):
        if before is not None:
            before()
        client = client_type(api, config, owner, lambda _message: None)
        runs.append((run.reconcile(dict(owner), client), client))
    return runs[0], runs[1]


def test_children_made_in_the_worker_are_recorded_as_in_process(api: APIServer) -> None:
    (expected, in_process), (output, isolated) = _both(api, CHILDREN, ["Gadget"])
    assert output == expected
    assert isolated.children == in_process.children
    assert [c["metadata"].get("name") for c in isolated.children] == ["g1", "g2", "g3", "w2", None]
    uid = in_process.for_object["metadata"]["uid"]
    reference = {"apiVersion": "example.com/v1", "kind": "Widget", "name": "w1", "uid": uid, "controller": True}
    assert all(c["metadata"]["ownerReferences"] == [reference] for c in isolated.children)
    assert [c["metadata"].get("namespace") for c in isolated.children] == [
        "default", "default", "elsewhere", "default", "default"
    ]
    # Only the Widget (a kind the reconciler does not own) was asked for; the Gadgets were made in the worker.
    assert (in_process.created, isolated.created) == (5, 1)


def test_a_kind_registered_during_the_reconcile_gets_the_new_rules(api: APIServer) -> None:
    """Thing is not registered when the reconcile starts (no namespace is given to its child); a read
    registers it (as a CRD applied meanwhile would): the next Thing is made namespaced."""

    class Registering(CountingClient):
        def get(self, api_version: str, kind: str, name: str, namespace: str) -> Object:
            if api.registry.get("example.com", "Thing") is None:
                api.register_crd(_crd("Thing", "things"))
            return super().get(api_version, kind, name, namespace)

    code = """
def thing(name):
    return {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": name}}

def reconcile(self):
    client_create(thing("t1"))
    client_get("t1", "default", thing("t1"))
    client_create(thing("t2"))
    return reconcile_result(self, False, 0, "", False)
"""
    def unregistered() -> None:
        api.registry.remove(GroupKind("example.com", "Thing"))

    (expected, in_process), (output, isolated) = _both(api, code, ["Thing"], Registering, unregistered)
    assert output == expected
    assert isolated.children == in_process.children
    assert [c["metadata"].get("namespace") for c in isolated.children] == [None, "default"]
    assert isolated.created == 1  # t1 (kind unknown when the reconcile started); t2 was made in the worker


def test_a_child_over_the_size_limit_is_refused_as_before(api: APIServer) -> None:
    code = """
def reconcile(self):
    client_create({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "small"}})
    client_create({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "big"},
                   "spec": {"x": "y" * 20000}})
    return reconcile_result(self, False, 0, "", False)
"""
    config = _config(["Gadget"])
    owner = _widget(api)
    engine = IsolatedEngine(StarlarkReconciler("kids", code, SOURCE, {}, limits=LIMITS), SOURCE, LIMITS)
    client = CountingClient(api, config, owner, lambda _message: None)
    with pytest.raises(ReconcileError) as err:
        engine.reconcile(dict(owner), client)
    assert str(err.value) == (
        f"{SOURCE}: reconciler exceeded the output size limit of 16 KiB (Gadget big is 19.6 KiB)"
    )
    assert [c["metadata"]["name"] for c in client.children] == ["small"]


def test_a_recorded_child_carries_the_owner_reference_whatever_the_worker_sent(api: APIServer) -> None:
    owner = _widget(api)
    client = Client(api, _config(["Gadget"]), owner, lambda _message: None)
    forged = {"apiVersion": "example.com/v1", "kind": "Gadget",
              "metadata": {"name": "g", "ownerReferences": [{"kind": "Widget", "name": "other", "uid": "x"}]}}
    client.record_child(forged)
    rules = client.child_rules()
    assert rules is not None
    assert client.children == [rules.child(forged)] == [client.create_child(forged)]
    assert client.children[0]["metadata"]["ownerReferences"][0]["uid"] == owner["metadata"]["uid"]
    assert client.children[0]["metadata"]["namespace"] == "default"
