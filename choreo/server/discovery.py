"""The documents Kubernetes clients read before they touch an object: discovery, version, Table.

``kubectl`` and the ``kubernetes`` Python client find kinds through ``/apis`` and ``/apis/G/V``
(``APIGroupList``, ``APIResourceList``; the core group's ``/api`` and ``/api/v1``). The OpenAPI documents are
``choreo.server.openapi_docs``, Tables ``choreo.server.tables``. Everything here is computed from the kind registry.
"""

from __future__ import annotations

import re
from typing import Any

from choreo import __version__
from choreo.apiserver.registry import APIResource, Registry

Doc = dict[str, Any]

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
STATUS_VERBS = ["get", "patch", "update"]
_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Kubernetes' version order: GA before beta before alpha, higher numbers first, others last."""
    found = _VERSION.match(version)
    if not found:
        return (3, 0, 0, version)
    major, stage, minor = int(found.group(1)), found.group(2), int(found.group(3) or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -major, -minor, version)


def served(registry: Registry, group: str, version: str) -> list[APIResource]:
    return [r for r in registry.resources() if r.group == group and version in r.served_versions]


def group_versions(registry: Registry) -> dict[str, list[str]]:
    """Every group (sorted) with its served versions, preferred first."""
    groups: dict[str, set[str]] = {}
    for resource in registry.resources():
        groups.setdefault(resource.group, set()).update(resource.served_versions)
    return {g: sorted(v, key=version_priority) for g, v in sorted(groups.items()) if g}


def api_versions() -> Doc:
    """``/api``: the legacy core group, where choreo serves ``v1`` Namespaces."""
    return {"kind": "APIVersions", "apiVersion": "v1", "versions": ["v1"], "serverAddressByClientCIDRs": []}


def _group_doc(group: str, versions: list[str]) -> Doc:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(registry: Registry) -> Doc:
    groups = [_group_doc(g, v) for g, v in group_versions(registry).items()]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: Registry, group: str) -> Doc | None:
    versions = group_versions(registry).get(group)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(group, versions)}


def _resource_entry(resource: APIResource) -> Doc:
    entry: Doc = {
        "name": resource.plural,
        "singularName": resource.singular,
        "namespaced": resource.namespaced,
        "kind": resource.kind,
        "verbs": VERBS,
    }
    if resource.short_names:
        entry["shortNames"] = resource.short_names
    if resource.categories:
        entry["categories"] = resource.categories
    return entry


def api_resource_list(registry: Registry, group: str, version: str) -> Doc | None:
    group_version = f"{group}/{version}" if group else version
    entries: list[Doc] = []
    for resource in served(registry, group, version):
        entries.append(_resource_entry(resource))
        if resource.status_subresource:
            entries.append(
                {
                    "name": f"{resource.plural}/status",
                    "singularName": "",
                    "namespaced": resource.namespaced,
                    "kind": resource.kind,
                    "verbs": STATUS_VERBS,
                }
            )
    if not entries and group:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries}


def version_info() -> Doc:
    """``/version``: the Kubernetes release whose API choreo follows, tagged with choreo's own version."""
    return {
        "major": "1",
        "minor": "30",
        "gitVersion": f"v1.30.0+choreo-{__version__}",
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": "",
        "compiler": "python",
        "platform": "linux/amd64",
    }
