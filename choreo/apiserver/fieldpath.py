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
from functools import lru_cache
from typing import Any, NamedTuple

from choreo.errors import Invalid
from choreo.store import canonical_text

FIELD = "f"
KEY = "k"
VALUE = "v"
INDEX = "i"
_KINDS = (FIELD, KEY, VALUE, INDEX)
_MEMBER = "."


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
encode_string = json.encoder.encode_basestring  # the C implementation json itself uses: a str's JSON text


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: the stable text form used for keys, values and comparisons.

    Scalars (almost every call) take a direct path; this runs for every leaf of every applied object. A
    collection is written by orjson where that is ``json``'s text (the store's ``canonical_text``), a few
    times faster: every load digests every input object this way."""
    kind = type(value)
    if kind is str:
        return encode_string(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    fast = canonical_text(value)
    return fast if fast is not None else _ENCODER.encode(value)


class PathElement(NamedTuple):
    """One step of a field path; ``text`` is the name, canonical JSON key/value, or the index.

    A named tuple rather than a dataclass: paths are hashed and compared millions of times per run, and
    tuples do both in C. Ordering is by ``(kind, text)``."""

    kind: str
    text: str

    @classmethod
    def field(cls, name: str) -> PathElement:
        return field_element(name)

    @classmethod
    def key(cls, fields: Mapping[str, Any]) -> PathElement:
        return cls(KEY, _canonical_object(fields))

    @classmethod
    def value(cls, value: Any) -> PathElement:
        return cls(VALUE, canonical_json(value))

    @classmethod
    def at(cls, position: int) -> PathElement:
        """The element of a list item by its position (``i:<n>``)."""
        return cls(INDEX, str(int(position)))

    @classmethod
    def decode(cls, encoded: str) -> PathElement:
        """Parse a ``fieldsV1`` key such as ``f:spec`` or ``k:{"type":"Ready"}``."""
        kind, sep, text = encoded.partition(":")
        if not sep or kind not in _KINDS:
            raise Invalid(f"managedFields: invalid field path element {encoded!r}")
        if kind == FIELD:
            return field_element(text)
        if kind == INDEX:
            if not text.lstrip("-").isdigit():
                raise Invalid(f"managedFields: invalid list index {encoded!r}")
            return cls.at(int(text))
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


@lru_cache(maxsize=16384)
def field_element(name: str) -> PathElement:
    """The ``f:`` element of a map key, shared: the same few names make up nearly every path."""
    return PathElement(FIELD, str(name))


def _canonical_object(fields: Mapping[str, Any]) -> str:
    """``canonical_json(dict(fields))`` without the encoder's per-call set-up for the usual str keys."""
    if not all(type(name) is str for name in fields):
        return canonical_json(dict(fields))
    items = sorted(fields.items())
    return "{" + ",".join(encode_string(name) + ":" + canonical_json(value) for name, value in items) + "}"


FieldPath = tuple[PathElement, ...]
FieldSet = set[FieldPath]


def format_path(path: Iterable[PathElement]) -> str:
    """Render a path the way Kubernetes prints it in conflicts: ``.status.conditions[type="Ready"]``."""
    return "".join(elem.render() for elem in path)


def to_fields_v1(fields: Iterable[FieldPath]) -> dict[str, Any]:
    """Encode a set of paths as the ``fieldsV1`` tree, its keys sorted (so output is deterministic).

    Built in one pass over the paths in sorted order: a path's elements order exactly as their encoded
    keys do (one-character kinds, then the text), so each map receives its keys already sorted, and a
    member that has members below it was inserted (empty) before them and gets its ``"."`` first. Every
    call builds a tree of the caller's own; nothing is remembered, so the cost per object stays the same
    however many objects a run writes."""
    tree: dict[str, Any] = {}
    previous: FieldPath | None = None
    for path in sorted(fields):
        if path == previous:  # an iterable may name a path twice
            continue
        previous = path
        node = tree
        for elem in path:
            key = elem.kind + ":" + elem.text
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            elif not child:  # an earlier path ended here: a member with members below it
                child[_MEMBER] = {}
            node = child
    return tree


def from_fields_v1(tree: Mapping[str, Any] | None) -> FieldSet:
    """Decode a ``fieldsV1`` tree into the set of paths it marks as members.

    Decoding is a walk of the (small: a handful of paths) tree whose element keys are decoded through a
    bounded cache, since the same few keys make up nearly every tree. Whole trees are not remembered: a run
    has about as many distinct trees as objects, so any fixed-size memo of them stops hitting once a run is
    large enough, and one sized to the run costs memory in proportion to it."""
    result: FieldSet = set()
    if tree:
        if not isinstance(tree, Mapping):
            raise Invalid("managedFields: fieldsV1 must be a JSON object")
        _collect(tree, (), result)
    return result


def check_fields_v1(tree: Mapping[str, Any] | None) -> None:
    """Raise what :func:`from_fields_v1` raises for ``tree`` (in the same order), building no paths: for a
    reader that needs one entry's fields but must refuse a damaged managedFields all the same."""
    if tree:
        if not isinstance(tree, Mapping):
            raise Invalid("managedFields: fieldsV1 must be a JSON object")
        _collect(tree, (), None)


@lru_cache(maxsize=8192)
def _decoded_element(encoded: str) -> PathElement:
    """``PathElement.decode`` of a tree key, shared: ``f:spec`` and friends are in every tree."""
    return PathElement.decode(encoded)


def _collect(tree: Mapping[str, Any], prefix: FieldPath, out: FieldSet | None) -> None:
    """Add the paths ``tree`` marks below ``prefix`` to ``out`` (None: only check that it decodes)."""
    for encoded, child in tree.items():
        if encoded == _MEMBER:
            if prefix and out is not None:
                out.add(prefix)
            continue
        if not isinstance(child, Mapping):
            raise Invalid(f"managedFields: fieldsV1 node {encoded!r} must be a JSON object")
        element = _decoded_element(encoded)
        if out is None:
            if child:
                _collect(child, (), None)
            continue
        path = (*prefix, element)
        if child:
            _collect(child, path, out)
        else:
            out.add(path)
