"""The core ``v1`` Namespace kind: ``kubectl create ns``, ``get ns`` and ``delete ns`` on choreo's API.

choreo always accepted objects in any namespace without a Namespace object, and still does (a project's inputs
name their namespaces freely). A Namespace object is what clients that manage namespaces expect: it can be
created, listed and deleted, shows ``status.phase: Active``, and deleting it deletes what lives in it.

Deletion differs from kube-apiserver in its timing only: Kubernetes marks the namespace ``Terminating`` and a
controller empties it afterwards; here the namespace's objects are deleted through the API in the same
transaction (each one's finalizers, cascades and admission hooks apply as on any delete), and the Namespace is
gone when the delete answers. An object a finalizer holds stays, marked for deletion, until the finalizer is
removed. Objects in a namespace that has no Namespace object are left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from choreo.apiserver.hooks import BaseHook, delete_every
from choreo.apiserver.metadata import dns1123_label_errors
from choreo.apiserver.openapi import render_value
from choreo.apiserver.registry import APIResource
from choreo.errors import Invalid

if TYPE_CHECKING:
    from choreo.apiserver.interface import ObjectAPI

Object = dict[str, Any]
KIND = "Namespace"

_SCHEMA: Object = {
    "type": "object",
    "description": "A scope for the names of namespaced objects.",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "description": "Accepted as Kubernetes defines it; choreo runs no namespace finalizers.",
            "properties": {"finalizers": {"type": "array", "items": {"type": "string"}}},
        },
        "status": {
            "type": "object",
            "description": "Set by the server.",
            "properties": {"phase": {"type": "string", "description": "Active while the namespace exists."}},
        },
    },
}

def namespace_resource() -> APIResource:
    return APIResource(
        group="",
        kind=KIND,
        plural="namespaces",
        singular="namespace",
        namespaced=False,
        storage_version="v1",
        served_versions=["v1"],
        schemas={"v1": _SCHEMA},
        list_kind="NamespaceList",
        short_names=["ns"],
        status_subresource=True,
        choreo_api=True,
        source="built-in",
    )


class NamespaceHook(BaseHook):
    """A new Namespace is ``Active``; a deleted one takes the objects in it along."""

    def admit(self, api: ObjectAPI, old: Object | None, new: Object) -> None:
        name = new["metadata"]["name"]
        reasons = dns1123_label_errors(name)
        if reasons:  # a namespace name is a DNS label (every object in it names it): no dots, at most 63
            causes = [("metadata.name", f"Invalid value: {render_value(name)}: {reason}") for reason in reasons]
            raise Invalid(
                f'{KIND} "{name}" is invalid: ' + ", ".join(f"{path}: {message}" for path, message in causes),
                causes=causes,
                target=("", KIND, name),
            )
        if old is None:
            new["status"] = {"phase": "Active"}

    def deleting(self, api: ObjectAPI, obj: Object) -> None:
        namespace = obj["metadata"]["name"]
        for resource in api.registry.resources():
            if not resource.namespaced:
                continue
            delete_every(api, resource.group, resource.kind, namespace)
