"""Shared fixtures of the runtime tests: an API server with two test kinds, Widget and Gadget."""

from __future__ import annotations

from typing import Any

import pytest

from choreo.apiserver.server import APIServer
from choreo.store.memory import MemoryBackend


def _crd(kind: str, plural: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"kind": kind, "plural": plural},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                     "type": "object", "properties": {
                         "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                         "status": {"type": "object", "properties": {
                             "count": {"type": "integer"},
                             "seen": {"type": "array", "items": {"type": "string"}},
                             "conditions": {"type": "array", "x-kubernetes-list-type": "map",
                                            "x-kubernetes-list-map-keys": ["type"],
                                            "items": {"type": "object", "required": ["type"],
                                                      "properties": {"type": {"type": "string"}},
                                                      "x-kubernetes-preserve-unknown-fields": True}}}}}}}}]},
    }


@pytest.fixture
def api() -> APIServer:
    server = APIServer(MemoryBackend())
    server.register_crd(_crd("Widget", "widgets"))
    server.register_crd(_crd("Gadget", "gadgets"))
    return server
