"""Accessors for the parts of a KRM object dict and the key that identifies it in the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from choreo.api.gvk import GVK

Object = dict[str, Any]


@dataclass(frozen=True, order=True)
class ObjectKey:
    """Identity of a stored object: group, kind, namespace ("" when cluster scoped) and name."""

    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{kind} {where}"


def meta(obj: Object) -> dict[str, Any]:
    """The object's metadata dict, created when absent."""
    md = obj.get("metadata")
    if not isinstance(md, dict):
        md = {}
        obj["metadata"] = md
    return md


def gvk_of(obj: Object) -> GVK:
    return GVK.from_api_version(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))


def key_of(obj: Object) -> ObjectKey:
    md = obj.get("metadata") or {}
    return ObjectKey(
        gvk_of(obj).group, str(obj.get("kind", "")), str(md.get("namespace") or ""), str(md.get("name") or "")
    )


def object_ref(obj: Object) -> str:
    """Human form used in messages: ``Kind.group namespace/name``."""
    return str(key_of(obj))


_T = TypeVar("_T")


def clone(value: _T) -> _T:
    """Deep copy of JSON-shaped data (dicts, lists, scalars); several times faster than copy.deepcopy,
    which matters because every API write copies whole objects a few times."""
    # ``type(...) is`` rather than isinstance: this is the hottest path of a write; mypy cannot narrow it.
    if type(value) is dict:
        return {k: clone(v) for k, v in value.items()}  # type: ignore[attr-defined,return-value]
    if type(value) is list:
        return [clone(v) for v in value]  # type: ignore[attr-defined,return-value]
    return value
