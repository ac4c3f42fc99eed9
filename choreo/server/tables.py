"""``meta.k8s.io/v1`` Tables: what ``kubectl get`` asks for (``Accept: application/json;as=Table;...``) and prints.

kube-apiserver fills a custom kind's Table from its CRD's ``additionalPrinterColumns``: a Name column, then one
column per printer column (type, format, description and priority as declared; kubectl shows priority > 0 only
with ``-o wide``), each cell the first value the column's JSONPath finds, typed by the column (``date``
columns as an age such as ``5m``), empty (null) when nothing is found or the value is not of the column's type.
The columns come from ``choreo.apiserver.columns``, which ``choreo get`` prints from too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from choreo.apiserver.columns import NAME_LAST, PrinterColumn, kind_columns
from choreo.apiserver.interface import ObjectAPI
from choreo.apiserver.registry import APIResource
from choreo.server.protocol import NotAcceptable

Doc = dict[str, Any]
_NAME = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name must be unique within a namespace.",
    "priority": 0,
}


TABLE, PARTIAL, FULL, YAML = "Table", "PartialObjectMetadata", "full", "yaml"


def negotiate(accept: str) -> str:
    """What a read answers with, from the request's Accept header, taking its media types in order as
    kube-apiserver does: a ``meta.k8s.io`` Table, PartialObjectMetadata (what metadata-only clients ask for;
    ``...List`` for a list), the full objects as JSON, or as YAML. None of them acceptable (protobuf alone,
    text/html): ``NotAcceptable`` (406)."""
    if not accept.strip():
        return FULL
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        options = dict(param.partition("=")[::2] for param in params)
        as_kind = options.get("as", "")
        if media in ("application/json", "application/*", "*/*") and not as_kind:
            return FULL
        if media == "application/yaml" and not as_kind:
            return YAML
        if media == "application/json" and options.get("g") == "meta.k8s.io" and options.get("v") in ("v1", "v1beta1"):
            if as_kind == TABLE:
                return TABLE
            if as_kind in (PARTIAL, f"{PARTIAL}List"):
                return PARTIAL
    raise NotAcceptable(
        f"only the following media types are accepted: application/json, application/yaml, "
        f"application/json;as=Table;v=v1;"
        f"g=meta.k8s.io, application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io (asked: {accept})"
    )


def partial_list(objects: list[Doc], metadata: Doc) -> Doc:
    """A ``PartialObjectMetadataList``: each object's metadata alone."""
    return {"kind": f"{PARTIAL}List", "apiVersion": "meta.k8s.io/v1", "metadata": metadata,
            "items": [partial(obj) for obj in objects]}


def columns_for(api: ObjectAPI, resource: APIResource, version: str) -> list[PrinterColumn]:
    """The printer columns of ``resource`` in ``version`` (Age alone when its CRD declares none)."""
    return kind_columns(api, resource.group, resource.kind, resource.plural, version)


def partial(obj: Doc) -> Doc:
    """A ``PartialObjectMetadata``: the object's metadata alone (no managed fields)."""
    md = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": md}


def table(
    objects: list[Doc],
    columns: list[PrinterColumn],
    resource_version: str,
    *,
    include_object: str = "Metadata",
    continue_token: str = "",
) -> Doc:
    """The Table of ``objects``; ``include_object`` is the request's ``includeObject`` (None, Metadata, Object)."""
    now = datetime.now(UTC)
    rows = []
    named = NAME_LAST not in columns  # else the kind shows its name in a column of its own (Events: last)
    for obj in objects:
        name = [(obj.get("metadata") or {}).get("name", "")] if named else []
        row: Doc = {"cells": [*name, *(c.cell(obj, now) for c in columns)]}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = partial(obj)
        rows.append(row)
    definitions = [
        {"name": c.name, "type": c.type, "format": c.format, "description": c.description, "priority": c.priority}
        for c in columns
    ]
    metadata: Doc = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [_NAME, *definitions] if named else definitions,
        "rows": rows,
    }
