"""The documents Kubernetes clients read before they touch an object: discovery, OpenAPI v3, version, Table.

``kubectl`` and the ``kubernetes`` Python client find kinds through ``/apis`` and ``/apis/G/V``
(``APIGroupList``, ``APIResourceList``), check server-side field validation support in the OpenAPI v3
document of a group version (``/openapi/v3/apis/G/V``: the PATCH operation must list the
``fieldValidation`` query parameter under the kind's ``x-kubernetes-group-version-kind``), and render
``kubectl get`` from a ``meta.k8s.io/v1`` Table. Everything here is computed from the kind registry.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from datetime import UTC, datetime
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
    """``/api``: the legacy core group. choreo serves no core kinds, so it lists no version (kubectl then
    skips the group; ``/api/v1`` still answers with an empty list for clients that ask anyway)."""
    return {"kind": "APIVersions", "apiVersion": "v1", "versions": [], "serverAddressByClientCIDRs": []}


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


# ----------------------------------------------------------------------------------------------- OpenAPI


def schema_name(resource: APIResource, version: str, kind: str | None = None) -> str:
    """Kubernetes' definition name: the group reversed, then version and kind (com.example.v1.Foo)."""
    reversed_group = ".".join(reversed(resource.group.split(".")))
    return f"{reversed_group}.{version}.{kind or resource.kind}"


def _gvk(resource: APIResource, version: str) -> Doc:
    return {"group": resource.group, "version": version, "kind": resource.kind}


def _query(name: str, description: str) -> Doc:
    return {"name": name, "in": "query", "description": description, "schema": {"type": "string"}, "required": False}


def _path_param(name: str) -> Doc:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


_WRITE_PARAMS = [
    _query("dryRun", "All: validate without persisting"),
    _query("fieldManager", "name of the actor making the change"),
    _query("fieldValidation", "Ignore, Warn or Strict: how unknown fields are treated"),
]
_PATCH_PARAMS = [*_WRITE_PARAMS, _query("force", "take ownership of conflicting fields (apply only)")]
_LIST_PARAMS = [
    _query("labelSelector", "Kubernetes label selector"),
    _query("fieldSelector", "field selector: metadata.name, metadata.namespace or a CEL path"),
    _query("resourceVersion", "watch from this resourceVersion"),
    _query("timeoutSeconds", "end a watch after this many seconds"),
    _query("watch", "stream changes"),
]


def _operation(resource: APIResource, version: str, action: str, ref: str, params: list[Doc]) -> Doc:
    body = {"content": {"application/json": {"schema": {"$ref": ref}}}}
    op: Doc = {
        "operationId": f"{action}{resource.kind}",
        "parameters": params,
        "responses": {"200": body},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(resource, version),
    }
    if action in ("post", "put", "patch"):
        content_types = (
            ["application/apply-patch+yaml", "application/merge-patch+json", "application/json-patch+json"]
            if action == "patch"
            else ["application/json", "application/yaml"]
        )
        op["requestBody"] = {"content": {t: {"schema": {"$ref": ref}} for t in content_types}, "required": True}
    return op


def _paths(resource: APIResource, version: str) -> dict[str, Doc]:
    base = f"/apis/{resource.group}/{version}"
    scope = f"{base}/namespaces/{{namespace}}" if resource.namespaced else base
    ref = f"#/components/schemas/{schema_name(resource, version)}"
    list_ref = f"#/components/schemas/{schema_name(resource, version, resource.list_kind)}"
    name_params = [_path_param("name")] + ([_path_param("namespace")] if resource.namespaced else [])
    scope_params = [_path_param("namespace")] if resource.namespaced else []
    item = {
        "get": _operation(resource, version, "get", ref, []),
        "put": _operation(resource, version, "put", ref, _WRITE_PARAMS),
        "patch": _operation(resource, version, "patch", ref, _PATCH_PARAMS),
        "delete": _operation(resource, version, "delete", ref, [_query("dryRun", "All: do not persist")]),
        "parameters": name_params,
    }
    collection = {
        "get": _operation(resource, version, "list", list_ref, _LIST_PARAMS),
        "post": _operation(resource, version, "post", ref, _WRITE_PARAMS),
        "delete": _operation(resource, version, "deletecollection", list_ref, _LIST_PARAMS),
        "parameters": scope_params,
    }
    paths = {f"{scope}/{resource.plural}": collection, f"{scope}/{resource.plural}/{{name}}": item}
    if resource.namespaced:
        paths[f"{base}/{resource.plural}"] = {"get": _operation(resource, version, "list", list_ref, _LIST_PARAMS)}
    if resource.status_subresource:
        paths[f"{scope}/{resource.plural}/{{name}}/status"] = {
            "get": _operation(resource, version, "get", ref, []),
            "put": _operation(resource, version, "put", ref, _WRITE_PARAMS),
            "patch": _operation(resource, version, "patch", ref, _PATCH_PARAMS),
            "parameters": name_params,
        }
    return paths


_OBJECT_META = {
    "description": "Standard object metadata.",
    "type": "object",
    "properties": {
        name: {"type": kind}
        for name, kind in [
            ("name", "string"),
            ("namespace", "string"),
            ("uid", "string"),
            ("resourceVersion", "string"),
            ("generation", "integer"),
            ("creationTimestamp", "string"),
            ("deletionTimestamp", "string"),
            ("labels", "object"),
            ("annotations", "object"),
            ("finalizers", "array"),
            ("ownerReferences", "array"),
            ("managedFields", "array"),
        ]
    },
}
_META_REF = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def _object_schema(resource: APIResource, version: str) -> Doc:
    schema = copy.deepcopy(resource.schema_for(version))
    schema.setdefault("type", "object")
    properties = schema.setdefault("properties", {})
    properties["apiVersion"] = {"type": "string", "description": "APIVersion of this object."}
    properties["kind"] = {"type": "string", "description": "Kind of this object."}
    properties["metadata"] = {"allOf": [{"$ref": _META_REF}], "description": "Standard object metadata."}
    schema["x-kubernetes-group-version-kind"] = [_gvk(resource, version)]
    return schema


def _list_schema(resource: APIResource, version: str) -> Doc:
    return {
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{schema_name(resource, version)}"}},
        },
        "x-kubernetes-group-version-kind": [{**_gvk(resource, version), "kind": resource.list_kind}],
    }


def openapi_v3(registry: Registry, group: str, version: str) -> Doc | None:
    """The OpenAPI v3 document of one group version, or None when nothing is served there."""
    resources = served(registry, group, version)
    if not resources:
        return None
    paths: dict[str, Doc] = {}
    schemas: dict[str, Doc] = {"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": _OBJECT_META}
    for resource in resources:
        paths.update(_paths(resource, version))
        schemas[schema_name(resource, version)] = _object_schema(resource, version)
        schemas[schema_name(resource, version, resource.list_kind)] = _list_schema(resource, version)
    return {
        "openapi": "3.0.0",
        "info": {"title": "choreo", "version": version_info()["gitVersion"]},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"


def openapi_v2() -> Doc:
    """An OpenAPI v2 document without definitions.

    Older kubectl (Debian's 1.20) fetches ``/openapi/v2`` before ``apply`` and fails when it is
    missing. Kinds absent from the document are not validated on the client (kubectl skips them), so
    the server's own validation, with choreo's messages, is what users see."""
    return {"swagger": "2.0", "info": {"title": "choreo", "version": __version__}, "paths": {}, "definitions": {}}


def openapi_v2_protobuf() -> bytes:
    """``openapi_v2()`` in the protobuf form kubectl asks for first (gnostic ``openapi_v2.Document``:
    field 1 ``swagger``, field 2 ``info`` with 1 ``title`` and 2 ``version``)."""
    info = _pb_string(1, "choreo") + _pb_string(2, __version__)
    return _pb_string(1, "2.0") + _pb_bytes(2, info)


def _pb_bytes(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _pb_string(number: int, text: str) -> bytes:
    return _pb_bytes(number, text.encode())


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def openapi_v3_index(registry: Registry) -> Doc:
    paths: dict[str, Doc] = {}
    for group, versions in group_versions(registry).items():
        for version in versions:
            doc = openapi_v3(registry, group, version)
            digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest().upper()
            paths[f"apis/{group}/{version}"] = {
                "serverRelativeURL": f"/openapi/v3/apis/{group}/{version}?hash={digest}"
            }
    return {"paths": paths}


# ----------------------------------------------------------------------------------------------- Table


def _age(timestamp: str | None, now: datetime) -> str:
    if not timestamp:
        return "<unknown>"
    try:
        then = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "<unknown>"
    seconds = max(int((now - then).total_seconds()), 0)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _partial(obj: Doc) -> Doc:
    md = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": md}


def table(objects: list[Doc], resource_version: str, *, include_object: str = "Metadata") -> Doc:
    """A ``meta.k8s.io/v1`` Table with the Name and Age columns ``kubectl get`` shows for custom kinds."""
    now = datetime.now(UTC)
    rows = []
    for obj in objects:
        md = obj.get("metadata") or {}
        row: Doc = {"cells": [md.get("name", ""), _age(md.get("creationTimestamp"), now)]}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = _partial(obj)
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": "Name of the object", "priority": 0},
            {"name": "Age", "type": "date", "format": "", "description": "Time since creation", "priority": 0},
        ],
        "rows": rows,
    }


def wants_table(accept: str) -> bool:
    return any("as=Table" in part.replace(" ", "") for part in accept.split(",")[:1])
