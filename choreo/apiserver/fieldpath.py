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
from choreo.store.sharing import Sharing

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

    Scalars (almost every call) take a direct path; this runs for every leaf of every applied object."""
    kind = type(value)
    if kind is str:
        return encode_string(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    return _ENCODER.encode(value)


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
    """Encode a set of paths as the ``fieldsV1`` tree (keys sorted, so output is deterministic).

    Objects of a kind tend to have the same field sets, so a tree is remembered by its set of paths once the
    set comes a second time; the remembered trees share their equal subtrees (most of each: the trees of a
    kind differ in a key or two). Many sets come once only (an owner reference's uid is part of its paths):
    for those only the set's hash is noted, and the tree built for the caller is handed out as it is."""
    members = frozenset(fields)
    tree = _ENCODED.get(members)
    if tree is not None:
        return _copy_tree(tree)
    built = _build_tree(members)
    fingerprint = hash(members)
    if fingerprint not in _BUILT_ONCE:
        if len(_BUILT_ONCE) >= _MEMO_MAX:
            _BUILT_ONCE.clear()  # crude but atomic (the server writes from several threads) and rare
        _BUILT_ONCE.add(fingerprint)
        return built
    tree = _SHARED_TREES.tree(built)
    if len(_ENCODED) >= _MEMO_MAX:
        _ENCODED.clear()
    _ENCODED[_shared_paths(members)] = tree
    return _copy_tree(tree)


def _build_tree(fields: frozenset[FieldPath]) -> dict[str, Any]:
    # Built in any order: the keys are sorted once at the end, by their encoded text as Kubernetes does.
    tree: dict[str, Any] = {}
    nodes = [_node_at(tree, path) for path in fields]
    for node in nodes:  # a member with members below it is marked by "."
        if node and _MEMBER not in node:
            node[_MEMBER] = {}
    return _sorted_tree(tree)


def _copy_tree(tree: dict[str, Any]) -> dict[str, Any]:
    return {key: _copy_tree(child) if child else {} for key, child in tree.items()}


def from_fields_v1(tree: Mapping[str, Any] | None) -> FieldSet:
    """Decode a ``fieldsV1`` tree into the set of paths it marks as members."""
    return set(frozen_fields_v1(tree))


def frozen_fields_v1(tree: Mapping[str, Any] | None) -> frozenset[FieldPath]:
    """:func:`from_fields_v1` as a shared frozenset, remembered by the tree's JSON text.

    Every write reads back the managedFields it wrote last time, so decoding the same trees over and
    over was a large part of an apply; encoding a tree as JSON (in C) is far cheaper than decoding it."""
    if not tree:
        return _EMPTY
    if not isinstance(tree, Mapping):
        raise Invalid("managedFields: fieldsV1 must be a JSON object")
    try:
        text: str | None = _TREE_ENCODER.encode(tree)
    except (TypeError, ValueError):  # not plain JSON: decode it (and report it) without the memo
        text = None
    found = _DECODED.get(text) if text is not None else None
    if found is None:
        result: FieldSet = set()
        _collect(tree, (), result)
        found = _shared_paths(result)
        if text is not None:
            _remember(text, found)
    return found


_EMPTY: frozenset[FieldPath] = frozenset()
_TREE_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_DECODED: dict[str, frozenset[FieldPath]] = {}
_ENCODED: dict[frozenset[FieldPath], dict[str, Any]] = {}
_SHARED_TREES = Sharing()
_PATHS: dict[FieldPath, FieldPath] = {}
_BUILT_ONCE: set[int] = set()  # hashes of the sets to_fields_v1 built a tree for but did not remember
_MEMO_MAX = 16384


def _shared_paths(fields: Iterable[FieldPath]) -> frozenset[FieldPath]:
    """``frozenset(fields)`` made of the paths the memos already hold: the field sets of a kind's objects
    have most of their paths in common, and the memos keep thousands of them."""
    if len(_PATHS) >= 4 * _MEMO_MAX:
        _PATHS.clear()
    return frozenset([_PATHS.setdefault(path, path) for path in fields])


def _remember(text: str, fields: frozenset[FieldPath]) -> None:
    if len(_DECODED) >= _MEMO_MAX:
        _DECODED.clear()
    _DECODED[text] = fields


def _node_at(tree: dict[str, Any], path: FieldPath) -> dict[str, Any]:
    node = tree
    for elem in path:
        node = node.setdefault(elem.encode(), {})
    return node


def _sorted_tree(tree: dict[str, Any]) -> dict[str, Any]:
    return {key: _sorted_tree(child) if child else {} for key, child in sorted(tree.items())}


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
