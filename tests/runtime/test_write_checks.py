"""Reconciler writes that cannot be right fail with an error naming the reconciler and the object: a
renamed or re-kinded for-object, a negative requeueAfter, a NaN or infinite number, a field selector
that is not CEL. Nothing of the failed write is stored."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from choreo.apiserver.server import APIServer
from choreo.errors import Invalid
from choreo.lang.base import ReconcileClient, ReconcileOutput
from choreo.loader.project import ReconcilerConfig, ResourceSelector
from choreo.runtime.controller import BoundReconciler, Controller
from choreo.store.memory import MemoryBackend

Object = dict[str, Any]
SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "status": {"type": "object", "properties": {"ratio": {"type": "number"}}},
    },
}


def _crd(kind: str, plural: str) -> Object:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": kind, "plural": plural},
            "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": SCHEMA}}],
        },
    }


@pytest.fixture
def api() -> APIServer:
    server = APIServer(MemoryBackend())
    server.register_crd(_crd("Widget", "widgets"))
    server.register_crd(_crd("Gadget", "gadgets"))
    server.create({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"}})
    return server


class _Engine:
    """An engine whose reconcile is a Python function: the checks are the runtime's, whatever the language."""

    def __init__(self, body: Callable[[Object, ReconcileClient], ReconcileOutput]) -> None:
        self.body = body

    def reconcile(self, obj: Object, client: ReconcileClient) -> ReconcileOutput:
        return self.body(obj, client)


def _run(api: APIServer, body: Callable[[Object, ReconcileClient], ReconcileOutput]) -> Any:
    def sel(kind: str) -> ResourceSelector:
        return ResourceSelector("example.com", "v1", kind, {})

    config = ReconcilerConfig(
        name="writer", source="reconcilers/writer/config.yaml", type="starlark", for_=sel("Widget"),
        owns=[sel("Gadget")], watches=[], code={"reconciler.star": ""},
    )  # fmt: skip
    return Controller(api, [BoundReconciler(config, _Engine(body))]).run()


def _stored(api: APIServer) -> Object:
    return api.get("example.com", "Widget", "default", "w")


def _renamed(obj: Object, _client: ReconcileClient) -> ReconcileOutput:
    obj["metadata"]["name"] = "other"
    obj["status"] = {"ratio": 1}
    return ReconcileOutput(obj=obj)


def _rekinded(obj: Object, _client: ReconcileClient) -> ReconcileOutput:
    obj["kind"] = "Gadget"
    return ReconcileOutput(obj=obj)


def _moved(obj: Object, _client: ReconcileClient) -> ReconcileOutput:
    obj["metadata"]["namespace"] = "elsewhere"
    return ReconcileOutput(obj=obj)


@pytest.mark.parametrize(
    ("body", "returned"),
    [
        (_renamed, "Widget.example.com default/other"),
        (_rekinded, "Gadget.example.com default/w"),
        (_moved, "Widget.example.com elsewhere/w"),
    ],
)
def test_a_reconcile_must_not_change_its_for_objects_identity(
    api: APIServer, body: Callable[[Object, ReconcileClient], ReconcileOutput], returned: str
) -> None:
    before = _stored(api)
    outcome = _run(api, body)
    assert not outcome.success
    assert outcome.failure.startswith("reconciler writer: Widget.example.com default/w: ")
    assert f"reconcile returned {returned}" in outcome.failure
    assert outcome.failed_task == "writer.Widget.example.com.w"
    assert _stored(api) == before


def test_negative_requeue_after_is_an_error(api: APIServer) -> None:
    outcome = _run(api, lambda obj, _client: ReconcileOutput(obj=obj, requeue=True, requeue_after=-5))
    assert not outcome.success
    assert outcome.failure == (
        "reconciler writer: Widget.example.com default/w: requeueAfter must not be negative, got -5"
    )


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_status_with_a_non_finite_number_is_refused(api: APIServer, value: float) -> None:
    def body(obj: Object, _client: ReconcileClient) -> ReconcileOutput:
        obj["status"] = {"ratio": value}
        return ReconcileOutput(obj=obj)

    before = _stored(api)
    outcome = _run(api, body)
    assert not outcome.success
    assert '"default/w" is invalid' in outcome.failure
    assert ".status.ratio: Invalid value:" in outcome.failure
    assert "must be a finite number" in outcome.failure
    assert _stored(api) == before


def test_a_child_with_nan_in_preserved_fields_is_refused(api: APIServer) -> None:
    def body(obj: Object, client: ReconcileClient) -> ReconcileOutput:
        child = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g", "namespace": "default"}}
        child["spec"] = {"deep": [{"x": math.nan}]}
        client.create_child(child)
        return ReconcileOutput(obj=obj)

    outcome = _run(api, body)
    assert not outcome.success
    assert outcome.failure == "Gadget.example.com default/g: value is not JSON-compatible " \
        "(Out of range float values are not JSON compliant)"  # the store's encoding: no schema walks there
    assert api.try_get("example.com", "Gadget", "default", "g") is None


def test_the_api_refuses_nan_on_create(api: APIServer) -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "n", "namespace": "default"}}
    obj["status"] = {"ratio": math.nan}
    with pytest.raises(Invalid, match=r"\.status\.ratio: Invalid value: NaN: must be a finite number"):
        api.create(obj)
    assert api.try_get("example.com", "Widget", "default", "n") is None


def test_a_field_selector_that_is_not_cel_is_an_error(api: APIServer) -> None:
    seen: list[str] = []

    def body(obj: Object, client: ReconcileClient) -> ReconcileOutput:
        try:
            client.list("example.com/v1", "Gadget", {"spec.(((": "x"})
        except Invalid as exc:
            seen.append(str(exc))
            return ReconcileOutput(obj=obj, error=str(exc), fatal=True)
        return ReconcileOutput(obj=obj)

    outcome = _run(api, body)
    assert not outcome.success
    assert seen and "'spec.(((' is not a valid CEL expression" in seen[0]
    assert outcome.failed_task == "writer.Widget.example.com.w"
    assert "'spec.(((' is not a valid CEL expression" in outcome.failure
