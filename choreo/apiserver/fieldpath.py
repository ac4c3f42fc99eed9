"""Field paths and the ``fieldsV1`` encoding that ``metadata.managedFields`` stores them in.

Server-side apply records which manager owns which fields of an object. Kubernetes serialises those
sets as a nested JSON tree (``FieldsV1``) whose keys are path elements:

* ``f:<name>``  a field of a map (``f:spec``),
* ``k:<json>``  an item of a list-map, identified by its key fields (``k:{"type":"Ready"}``),
* ``v:<json>``  an item of a set list, identified by its value (``v:"kubernetes"``),
* ``i:<index>`` an item of a list addressed by position.

A leaf is ``{}``; a node that is both a member and has members below carries ``".": {}``.

There is no maintained Python port of structured-merge-diff, so this module implements the small part
choreo needs: a hashable :class:`PathElement`, paths as tuples of elements, sets of paths, the
conversion to and from ``fieldsV1`` and the human rendering used in conflict messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from choreo.errors import Invalid

FIELD = "f"
KEY = "k"
VALUE = "v"
INDEX = "i"
_KINDS = (FIELD, KEY, VALUE, INDEX)
_MEMBER = "."


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
_encode_string = json.encoder.encode_basestring  # the C implementation json itself uses


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: the stable text form used for keys, values and comparisons.

    Scalars (almost every call) take a direct path; this runs for every leaf of every applied object."""
    kind = type(value)
    if kind is str:
        return _encode_string(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    return _ENCODER.encode(value)


@dataclass(frozen=True, order=True)
class PathElement:
    """One step of a field path; ``text`` is the name, canonical JSON key/value, or the index."""

    kind: str
    text: str

    @classmethod
    def field(cls, name: str) -> PathElement:
        return cls(FIELD, str(name))

    @classmethod
    def key(cls, fields: Mapping[str, Any]) -> PathElement:
        return cls(KEY, canonical_json(dict(fields)))

    @classmethod
    def value(cls, value: Any) -> PathElement:
        return cls(VALUE, canonical_json(value))

    @classmethod
    def index(cls, position: int) -> PathElement:
        return cls(INDEX, str(int(position)))

    @classmethod
    def decode(cls, encoded: str) -> PathElement:
        """Parse a ``fieldsV1`` key such as ``f:spec`` or ``k:{"type":"Ready"}``."""
        kind, sep, text = encoded.partition(":")
        if not sep or kind not in _KINDS:
            raise Invalid(f"managedFields: invalid field path element {encoded!r}")
        if kind == FIELD:
            return cls(FIELD, text)
        if kind == INDEX:
            if not text.lstrip("-").isdigit():
                raise Invalid(f"managedFields: invalid list index {encoded!r}")
            return cls.index(int(text))
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Invalid(f"managedFields: invalid JSON in field path element {encoded!r}") from exc
        if kind == KEY:
            if not isinstance(parsed, dict):
                raise Invalid(f"managedFields: list key must be a JSON object in {encoded!r}")
            return cls.key(parsed)
        return cls.value(parsed)

    def encode(self) -> str:
        return f"{self.kind}:{self.text}"

    def key_fields(self) -> dict[str, Any]:
        """The key fields of a ``k:`` element (empty for the other kinds)."""
        return json.loads(self.text) if self.kind == KEY else {}

    def render(self) -> str:
        """Human form: ``.name``, ``[type="Ready"]``, ``[="a"]`` or ``[3]``."""
        if self.kind == FIELD:
            return f".{self.text}"
        if self.kind == KEY:
            parts = ",".join(f"{name}={canonical_json(val)}" for name, val in self.key_fields().items())
            return f"[{parts}]"
        if self.kind == VALUE:
            return f"[={self.text}]"
        return f"[{self.text}]"


FieldPath = tuple[PathElement, ...]
FieldSet = set[FieldPath]


def format_path(path: Iterable[PathElement]) -> str:
    """Render a path the way Kubernetes prints it in conflicts: ``.status.conditions[type="Ready"]``."""
    return "".join(elem.render() for elem in path)


def to_fields_v1(fields: Iterable[FieldPath]) -> dict[str, Any]:
    """Encode a set of paths as the ``fieldsV1`` tree (keys sorted, so output is deterministic)."""
    members = sorted(set(fields))
    tree: dict[str, Any] = {}
    for path in members:
        _node_at(tree, path)
    for path in members:
        node = _node_at(tree, path)
        if node and _MEMBER not in node:
            node[_MEMBER] = {}
    return _sorted_tree(tree)


def from_fields_v1(tree: Mapping[str, Any] | None) -> FieldSet:
    """Decode a ``fieldsV1`` tree into the set of paths it marks as members."""
    result: FieldSet = set()
    if tree:
        if not isinstance(tree, Mapping):
            raise Invalid("managedFields: fieldsV1 must be a JSON object")
        _collect(tree, (), result)
    return result


def _node_at(tree: dict[str, Any], path: FieldPath) -> dict[str, Any]:
    node = tree
    for elem in path:
        node = node.setdefault(elem.encode(), {})
    return node


def _sorted_tree(tree: dict[str, Any]) -> dict[str, Any]:
    return {key: _sorted_tree(tree[key]) for key in sorted(tree)}


def _collect(tree: Mapping[str, Any], prefix: FieldPath, out: FieldSet) -> None:
    for encoded, child in tree.items():
        if encoded == _MEMBER:
            if prefix:
                out.add(prefix)
            continue
        if not isinstance(child, Mapping):
            raise Invalid(f"managedFields: fieldsV1 node {encoded!r} must be a JSON object")
        path = (*prefix, PathElement.decode(encoded))
        if child:
            _collect(child, path, out)
        else:
            out.add(path)
