"""The OpenAPI documents the server publishes: ``/openapi/v2`` (Swagger 2.0) and ``/openapi/v3/apis/G/V``.

Clients read them to learn what the server accepts: ``kubectl explain`` walks a kind's definition (found by its
``x-kubernetes-group-version-kind``), kubectl 1.20 refuses ``diff`` and ``apply --dry-run=server`` for a kind
whose PATCH operation does not list a ``dryRun`` parameter, validates objects on the client against the
definitions, and newer kubectl checks for ``fieldValidation`` in the v3 document. Both documents are built here
from the kind registry with one table of routes (``_routes``), so they always describe the same paths.

Definitions are the kinds' CRD schemas. For v2 they are converted the way kube-apiserver publishes CRDs there
(``_v2_schema``): what Swagger 2.0 cannot say (``nullable``, ``anyOf``/``oneOf``/``not``, int-or-string,
preserve-unknown-fields, embedded resources) is dropped or left untyped, since kubectl rejects a document it
cannot read and validates untyped values as anything.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from choreo.apiserver.registry import APIResource, Registry
from choreo.server.discovery import group_versions, served, version_info

Doc = dict[str, Any]

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
_PATCH_TYPES = ["application/apply-patch+yaml", "application/merge-patch+json", "application/json-patch+json"]
_BODY_TYPES = ["application/json", "application/yaml"]


def schema_name(resource: APIResource, version: str, kind: str | None = None) -> str:
    """Kubernetes' definition name: the group reversed, then version and kind (``com.example.v1.Foo``);
    the core group's kinds are ``io.k8s.api.core.v1.Namespace``."""
    prefix = ".".join(reversed(resource.group.split("."))) if resource.group else "io.k8s.api.core"
    return f"{prefix}.{version}.{kind or resource.kind}"


def _gvk(resource: APIResource, version: str, kind: str | None = None) -> Doc:
    return {"group": resource.group, "version": version, "kind": kind or resource.kind}


# ----------------------------------------------------------------------------------------------- routes

_DRY_RUN = ("dryRun", "When present (All), the write is checked in full and nothing is persisted.")
_WRITE = [
    _DRY_RUN,
    ("fieldManager", "The name of the actor making the change."),
    ("fieldValidation", "Ignore, Warn or Strict: how fields the schema does not declare are treated."),
]
_PATCH = [*_WRITE, ("force", "Take ownership of fields another manager owns (server-side apply only).")]
_LIST = [
    ("labelSelector", "Select objects by their labels."),
    ("fieldSelector", "Select objects by metadata.name, metadata.namespace or a scalar field of the schema."),
    ("limit", "The most objects to return; metadata.continue then fetches the next page."),
    ("continue", "The metadata.continue token of the previous page."),
    ("resourceVersion", "Watch changes after this resourceVersion."),
    ("timeoutSeconds", "End a watch after this many seconds."),
    ("watch", "Stream changes instead of returning a list."),
]


@dataclass(frozen=True)
class _Route:
    """One operation on one path: ``answer`` is the definition of its response, ``body`` of its request."""

    path: str
    method: str
    action: str
    answer: str
    query: list[tuple[str, str]]
    body: str | None = None


def _routes(resource: APIResource, version: str) -> Iterator[_Route]:
    prefix = f"/apis/{resource.group}/{version}" if resource.group else f"/api/{version}"
    scope = f"{prefix}/namespaces/{{namespace}}" if resource.namespaced else prefix
    one, many = schema_name(resource, version), schema_name(resource, version, resource.list_kind)
    collection, item = f"{scope}/{resource.plural}", f"{scope}/{resource.plural}/{{name}}"
    yield _Route(collection, "get", "list", many, _LIST)
    yield _Route(collection, "post", "post", one, _WRITE, one)
    yield _Route(collection, "delete", "deletecollection", many, [_DRY_RUN, *_LIST[:4]])
    yield _Route(item, "get", "get", one, [])
    yield _Route(item, "put", "put", one, _WRITE, one)
    yield _Route(item, "patch", "patch", one, _PATCH, f"{META}.Patch")
    yield _Route(item, "delete", "delete", one, [_DRY_RUN], f"{META}.DeleteOptions")
    if resource.namespaced:
        yield _Route(f"{prefix}/{resource.plural}", "get", "list", many, _LIST)
    if resource.status_subresource:
        yield _Route(f"{item}/status", "get", "get", one, [])
        yield _Route(f"{item}/status", "put", "put", one, _WRITE, one)
        yield _Route(f"{item}/status", "patch", "patch", one, _PATCH, f"{META}.Patch")


def _path_names(path: str) -> list[str]:
    return [name for name in ("namespace", "name") if f"{{{name}}}" in path]


def _operation_id(route: _Route, resource: APIResource, version: str) -> str:
    group = "".join(part.capitalize() for part in resource.group.replace("-", ".").split(".")) or "Core"
    scope = "Namespaced" if "{namespace}" in route.path else ""
    suffix = "Status" if route.path.endswith("/status") else ("List" if route.action == "list" else "")
    return f"{route.action}{group}{version.capitalize()}{scope}{resource.kind}{suffix}"


# ----------------------------------------------------------------------------------------------- metadata


def _meta_definitions(ref: str) -> dict[str, Doc]:
    """apimachinery's meta/v1 types the kinds refer to, with ``ref`` the prefix of a reference."""

    def string(description: str) -> Doc:
        return {"type": "string", "description": description}

    def refer(name: str, description: str) -> Doc:
        return {"$ref": f"{ref}{META}.{name}", "description": description}

    strings_map = {"type": "object", "additionalProperties": {"type": "string"}}
    return {
        f"{META}.Time": {"type": "string", "format": "date-time", "description": "An RFC 3339 time, in UTC."},
        f"{META}.FieldsV1": {"type": "object", "description": "The set of fields a manager owns."},
        f"{META}.Patch": {"type": "object", "description": "A patch of the kind the Content-Type names."},
        f"{META}.OwnerReference": {
            "type": "object",
            "description": "An object this one belongs to; it is deleted when its owner is.",
            "required": ["apiVersion", "kind", "name", "uid"],
            "properties": {
                "apiVersion": string("API version of the owner."),
                "kind": string("Kind of the owner."),
                "name": string("Name of the owner."),
                "uid": string("UID of the owner."),
                "controller": {"type": "boolean", "description": "Whether the owner is the managing controller."},
                "blockOwnerDeletion": {"type": "boolean", "description": "Accepted; choreo deletes in cascade."},
            },
        },
        f"{META}.ManagedFieldsEntry": {
            "type": "object",
            "description": "The fields one manager set, through one operation.",
            "properties": {
                "apiVersion": string("The version of the fields."),
                "fieldsType": string("FieldsV1."),
                "fieldsV1": refer("FieldsV1", "The fields, as a set."),
                "manager": string("The field manager."),
                "operation": string("Apply or Update."),
                "subresource": string("The subresource written, if any."),
                "time": refer("Time", "When the fields last changed."),
            },
        },
        f"{META}.ObjectMeta": {
            "type": "object",
            "description": "Standard object metadata.",
            "properties": {
                "name": string("Unique within a namespace (or the cluster, for cluster-scoped kinds)."),
                "generateName": string("A prefix the server completes into a unique name when none is given."),
                "namespace": string("The namespace of the object; empty for cluster-scoped kinds."),
                "uid": string("Set by the server: unique in time and space."),
                "resourceVersion": string("Set by the server: changes on every write (optimistic concurrency)."),
                "generation": {"type": "integer", "format": "int64", "description": "Counts changes of spec."},
                "creationTimestamp": refer("Time", "Set by the server when the object is created."),
                "deletionTimestamp": refer("Time", "Set by the server when deletion waits for finalizers."),
                "labels": {**strings_map, "description": "Keys and values to select objects by."},
                "annotations": {**strings_map, "description": "Keys and values for tools; not selectable."},
                "finalizers": {"type": "array", "items": {"type": "string"}, "description": "Block deletion."},
                "ownerReferences": {
                    "type": "array",
                    "items": {"$ref": f"{ref}{META}.OwnerReference"},
                    "description": "The objects this one belongs to.",
                },
                "managedFields": {
                    "type": "array",
                    "items": {"$ref": f"{ref}{META}.ManagedFieldsEntry"},
                    "description": "Which manager set which fields (server-side apply).",
                },
            },
        },
        f"{META}.ListMeta": {
            "type": "object",
            "description": "Standard list metadata.",
            "properties": {
                "resourceVersion": string("The revision the list was read at."),
                "continue": string("Token for the next page of a list read with a limit."),
                "remainingItemCount": {"type": "integer", "format": "int64", "description": "Objects not shown."},
            },
        },
        f"{META}.DeleteOptions": {
            "type": "object",
            "description": "Options of a delete.",
            "properties": {
                "apiVersion": string("v1"),
                "kind": string("DeleteOptions"),
                "dryRun": {"type": "array", "items": {"type": "string"}, "description": "All: persist nothing."},
                "preconditions": {
                    "type": "object",
                    "description": "Delete only if the object still has this uid or resourceVersion.",
                    "properties": {"resourceVersion": string("Expected resourceVersion."), "uid": string("UID.")},
                },
            },
        },
    }


def _object_schema(schema: Doc, resource: APIResource, version: str, ref: str) -> Doc:
    out = copy.deepcopy(schema)
    out.setdefault("type", "object")
    properties = out.setdefault("properties", {})
    properties["apiVersion"] = {"type": "string", "description": "The versioned schema of this object."}
    properties["kind"] = {"type": "string", "description": "The kind of this object."}
    properties["metadata"] = {"$ref": f"{ref}{META}.ObjectMeta", "description": "Standard object metadata."}
    out["x-kubernetes-group-version-kind"] = [_gvk(resource, version)]
    return out


def _list_schema(resource: APIResource, version: str, ref: str) -> Doc:
    return {
        "type": "object",
        "description": f"A list of {resource.kind} objects.",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string", "description": "The versioned schema of this list."},
            "kind": {"type": "string", "description": "The kind of this list."},
            "metadata": {"$ref": f"{ref}{META}.ListMeta", "description": "Standard list metadata."},
            "items": {"type": "array", "items": {"$ref": f"{ref}{schema_name(resource, version)}"}},
        },
        "x-kubernetes-group-version-kind": [_gvk(resource, version, resource.list_kind)],
    }


# ----------------------------------------------------------------------------------------------- v2

_V2_REF = "#/definitions/"
_V2_DROPPED = ("nullable", "anyOf", "oneOf", "not", "allOf", "default", "externalDocs")
_V2_UNTYPED = ("x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource")


def _v2_schema(schema: Any) -> Any:
    """A CRD's OpenAPI v3 schema as kube-apiserver publishes it in v2 (recursively)."""
    if not isinstance(schema, dict):
        return schema
    out = {k: v for k, v in schema.items() if k not in _V2_DROPPED}
    if schema.get("nullable") or any(out.pop(key, False) for key in _V2_UNTYPED):
        for key in ("type", "items", "properties", "additionalProperties"):
            out.pop(key, None)
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
    if isinstance(out.get("properties"), dict):
        out["properties"] = {name: _v2_schema(sub) for name, sub in out["properties"].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(out.get(key), dict):
            out[key] = _v2_schema(out[key])
    return out


def _v2_parameter(name: str, description: str, where: str) -> Doc:
    parameter: Doc = {"name": name, "in": where, "type": "string", "description": description}
    if where == "path":
        parameter["required"] = True
    else:
        parameter["uniqueItems"] = True
    return parameter


def _v2_operation(route: _Route, resource: APIResource, version: str) -> Doc:
    parameters = [_v2_parameter(name, text, "query") for name, text in route.query]
    if route.body:
        body = {"$ref": f"{_V2_REF}{route.body}"}
        parameters.insert(0, {"name": "body", "in": "body", "required": route.action != "delete", "schema": body})
    operation: Doc = {
        "description": f"{route.action} {resource.kind}",
        "operationId": _operation_id(route, resource, version),
        "tags": [f"{resource.group or 'core'}_{version}"],
        "produces": _BODY_TYPES,
        "schemes": ["http", "https"],
        "parameters": parameters,
        "responses": {"200": {"description": "OK", "schema": {"$ref": f"{_V2_REF}{route.answer}"}}},
        "x-kubernetes-action": route.action,
        "x-kubernetes-group-version-kind": _gvk(resource, version),
    }
    if route.body:
        operation["consumes"] = _PATCH_TYPES if route.method == "patch" else _BODY_TYPES
    return operation


def openapi_v2(registry: Registry) -> Doc:
    """The Swagger 2.0 document of every served kind in every served version (kubectl 1.20 reads it)."""
    paths: dict[str, Doc] = {}
    definitions = _meta_definitions(_V2_REF)
    for resource in registry.resources():
        for version in resource.served_versions:
            for route in _routes(resource, version):
                item = paths.setdefault(route.path, {})
                item[route.method] = _v2_operation(route, resource, version)
                item["parameters"] = [
                    _v2_parameter(n, f"The {n} of the object.", "path") for n in _path_names(route.path)
                ]
            schema = _v2_schema(resource.schema_for(version))
            definitions[schema_name(resource, version)] = _object_schema(schema, resource, version, _V2_REF)
            definitions[schema_name(resource, version, resource.list_kind)] = _list_schema(resource, version, _V2_REF)
    return {
        "swagger": "2.0",
        "info": {"title": "choreo", "version": version_info()["gitVersion"]},
        "paths": dict(sorted(paths.items())),
        "definitions": dict(sorted(definitions.items())),
    }


# ----------------------------------------------------------------------------------------------- v3

_V3_REF = "#/components/schemas/"


def _v3_operation(route: _Route, resource: APIResource, version: str) -> Doc:
    answer = {"content": {"application/json": {"schema": {"$ref": f"{_V3_REF}{route.answer}"}}}}
    parameters = [
        {"name": name, "in": "query", "description": text, "schema": {"type": "string"}, "required": False}
        for name, text in route.query
    ]
    operation: Doc = {
        "operationId": _operation_id(route, resource, version),
        "parameters": parameters,
        "responses": {"200": answer},
        "x-kubernetes-action": route.action,
        "x-kubernetes-group-version-kind": _gvk(resource, version),
    }
    if route.body:
        types = _PATCH_TYPES if route.method == "patch" else _BODY_TYPES
        schema = {"$ref": f"{_V3_REF}{route.body}"}
        operation["requestBody"] = {"content": {t: {"schema": schema} for t in types}, "required": True}
    return operation


def openapi_v3(registry: Registry, group: str, version: str) -> Doc | None:
    """The OpenAPI v3 document of one group version, or None when nothing is served there."""
    resources = served(registry, group, version)
    if not resources:
        return None
    paths: dict[str, Doc] = {}
    schemas = _meta_definitions(_V3_REF)
    for resource in resources:
        for route in _routes(resource, version):
            item = paths.setdefault(route.path, {})
            item[route.method] = _v3_operation(route, resource, version)
            names = _path_names(route.path)
            item["parameters"] = [
                {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
            ]
        schemas[schema_name(resource, version)] = _object_schema(
            resource.schema_for(version), resource, version, _V3_REF
        )
        schemas[schema_name(resource, version, resource.list_kind)] = _list_schema(resource, version, _V3_REF)
    return {
        "openapi": "3.0.0",
        "info": {"title": "choreo", "version": version_info()["gitVersion"]},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


def openapi_v3_index(registry: Registry) -> Doc:
    """``/openapi/v3``: where each group version's document is, with a hash clients cache it by."""
    located = [("", "v1", "api/v1")] if served(registry, "", "v1") else []
    for group, versions in group_versions(registry).items():
        located.extend((group, version, f"apis/{group}/{version}") for version in versions)
    paths: dict[str, Doc] = {}
    for group, version, where in located:
        doc = openapi_v3(registry, group, version)
        digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest().upper()
        paths[where] = {"serverRelativeURL": f"/openapi/v3/{where}?hash={digest}"}
    return {"paths": paths}
