"""Accessors for the parts of a KRM object dict and the key that identifies it in the store."""

from __future__ import annotations

from typing import Any, NamedTuple, TypeVar

from choreo.api.gvk import GVK

Object = dict[str, Any]


class ObjectKey(NamedTuple):
    """Identity of a stored object: group, kind, namespace ("" when cluster scoped) and name.

    A named tuple rather than a frozen dataclass: the store, its cache and the engine make and hash keys
    by the hundred thousand in a run (a dataclass key cost twice the time to make and three times to hash).
    Being a tuple, a key equals the plain tuple of its fields; no container mixes the two."""

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


def uid_and_version(obj: Object) -> list[str]:
    """``[uid, resourceVersion]`` (``""`` when missing): which stored state of an object a record saw."""
    md = obj.get("metadata") or {}
    return [str(md.get("uid") or ""), str(md.get("resourceVersion") or "")]


def object_ref(obj: Object) -> str:
    """Human form used in messages: ``Kind.group namespace/name``."""
    return str(key_of(obj))


_T = TypeVar("_T")


def clone(value: _T) -> _T:
    """Deep copy of JSON-shaped data (dicts, lists, scalars); several times faster than copy.deepcopy,
    which matters because every API write copies whole objects a few times.

    Each dict or list is copied whole in C, then only its dict and list members are replaced by their own
    copies: most members are strings and numbers, which cost no Python call this way."""
    # ``type(...) is`` rather than isinstance: this is the hottest path of a write; mypy cannot narrow it.
    kind = type(value)
    if kind is dict:
        copied: Any = value.copy()  # type: ignore[attr-defined]
        for key, member in copied.items():  # replacing values of existing keys while iterating is allowed
            member_kind = type(member)
            if member_kind is dict or member_kind is list:
                copied[key] = clone(member)
        return copied  # type: ignore[no-any-return]
    if kind is list:
        copied = value.copy()  # type: ignore[attr-defined]
        for index, member in enumerate(copied):
            member_kind = type(member)
            if member_kind is dict or member_kind is list:
                copied[index] = clone(member)
        return copied  # type: ignore[no-any-return]
    return value
