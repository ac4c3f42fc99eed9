"""Helpers for the allocator plug-in tests: an API server with the -r plug-in installed.

A plain module (the test folders have no ``__init__.py``, so that they never shadow the real
``ipam``/``reconcilers`` packages); tests and the restart subprocess import it by path.
"""

from __future__ import annotations

from typing import Any

from choreo.apiserver.server import APIServer
from reconcilers.plugin import AllocatorPlugin

IPAM = "ipam.be.kuid.dev"


def make_api(backend: Any) -> APIServer:
    plugin = AllocatorPlugin()
    api = APIServer(backend)
    for crd in plugin.crds():
        api.register_crd(crd, source="test")
    plugin.install(api)
    return api


def obj(group: str, kind: str, name: str, spec: dict[str, Any], namespace: str = "default") -> dict[str, Any]:
    return {"apiVersion": f"{group}/v1alpha1", "kind": kind, "metadata": {"name": name, "namespace": namespace},
            "spec": spec}


def index(api: APIServer, *prefixes: dict[str, Any]) -> dict[str, Any]:
    """Write the IPIndex ``kubenet`` with these prefixes."""
    return api.apply(obj(IPAM, "IPIndex", "kubenet", {"prefixes": list(prefixes)}), manager="test")


def claim(api: APIServer, name: str, **spec: Any) -> dict[str, Any]:
    """Write an IPClaim of the index ``kubenet``."""
    return api.apply(obj(IPAM, "IPClaim", name, {"index": "kubenet", **spec}), manager="test")


def ready(o: dict[str, Any]) -> tuple[str, str]:
    """The Ready condition's status and message."""
    cond = next(c for c in o["status"]["conditions"] if c["type"] == "Ready")
    return cond["status"], cond.get("message", "")
