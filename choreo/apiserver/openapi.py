"""Validation and defaulting of objects against a CRD's ``openAPIV3Schema``, in the Kubernetes dialect.

Kinds come from apiextensions.k8s.io/v1 CustomResourceDefinitions, so an object must be checked the
way the Kubernetes API server checks a custom resource: structural defaulting first, then validation
that reports *every* problem with a field path. That dialect is not plain JSON Schema: undeclared
fields are errors (``field not declared in schema``) unless ``x-kubernetes-preserve-unknown-fields``
or ``additionalProperties`` allow them, and ``x-kubernetes-int-or-string``,
``x-kubernetes-embedded-resource`` and ``x-kubernetes-list-type`` (set / map with its keys) add rules
of their own. General JSON-schema libraries implement none of those, so this module is hand-written
on the standard library only.

It also answers the structural questions server-side apply asks (:class:`SchemaInfo`): is the list at
a path atomic, a set or a map keyed by some fields, and is an object merged granularly or atomically.

Decisions worth knowing:

* Paths are jq-like: ``.spec.items[2].name``; map keys under ``additionalProperties`` are joined with
  a dot too (``.spec.ports.http``), like the paths Kubernetes prints for CRD errors. The root is ``.``.
* ``integer`` accepts a Python ``int`` only (never ``bool``, never ``1.0``); ``number`` accepts
  ``int`` and ``float`` but not ``bool``.
* ``allOf``/``anyOf``/``oneOf``/``not`` are value validations: their branches never declare fields,
  so they never produce ``field not declared in schema``.
* Like the API server, :func:`apply_defaults` drops a ``null`` in a non-nullable field that has no
  default, and replaces it with the default when there is one.
* NaN and infinities are invalid values (JSON has no such numbers) wherever the schema describes the
  field, with its path. Below preserved unknown fields nothing is walked — walking them would cost as
  much as storing them — and the store's canonical JSON encoding refuses them, naming the object.
"""

from __future__ import annotations

import base64
import binascii
import copy
import ipaddress
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Generic, TypeGuard, TypeVar

Schema = dict[str, Any]

NOT_DECLARED = "field not declared in schema"
REQUIRED = "Required value"

_EMBEDDED_KEYS = ("apiVersion", "kind", "metadata")
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


@dataclass(frozen=True)
class FieldError:
    """One problem with one field: ``path`` names the field, ``message`` says what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# ---------------------------------------------------------------------------------------------------
# Shared helpers (also used by choreo.apiserver.metadata)
# ---------------------------------------------------------------------------------------------------


# json.dumps builds a new encoder on every call with non-default options; these are built once.
_RENDER = json.JSONEncoder(ensure_ascii=False, default=str)
_IDENTITY = json.JSONEncoder(ensure_ascii=False, default=str, sort_keys=True)
_encode_str: Callable[[str], str] = json.encoder.encode_basestring  # what both do with a plain str


def render_value(value: Any) -> str:
    """The one-line JSON form of a value, as error messages quote it."""
    return _RENDER.encode(value)


VALUE_LIMIT = 80
"""Characters of a value an error message quotes: the mistake may be a whole mapping or a list of a million
items, and the message must still fit one line with room for the reason after the value."""


def quoted_value(value: Any) -> str:
    """``render_value`` cut at ``VALUE_LIMIT`` characters (ending in an ellipsis when cut)."""
    text = render_value(value)
    return text if len(text) <= VALUE_LIMIT else text[: VALUE_LIMIT - 1] + "…"


def _identity(value: Any) -> str:
    """A key under which two JSON values are equal exactly when they are the same JSON value.

    Plain ``==`` is not enough: in Python ``True == 1`` and ``{"a": 1} == {"a": True}``.
    """
    try:
        return _encode_str(value) if type(value) is str else _IDENTITY.encode(value)
    except TypeError:  # a mapping with keys of mixed types (YAML allows them) cannot be sorted
        return repr(value)


_PATH_PART = re.compile(r"\[(\d+)\]|\.([^.\[]*)")


def _path_sort_key(path: str) -> tuple[int | str, ...]:
    """Sort key that orders list indices numerically (``[2]`` before ``[10]``): a flat tuple of ``0, index``
    and ``1, name`` pairs, one pair per step (flat because a document with a million undeclared fields
    makes a million keys, and flat tuples build and compare several times faster than nested ones)."""
    if "[" not in path:  # no list index: the steps are what lies between the dots
        names = path.split(".")[1:]
        steps: list[int | str] = [1] * (2 * len(names))
        steps[1::2] = names
        return tuple(steps)
    parts: list[int | str] = []
    for index, key in _PATH_PART.findall(path):
        parts += (0, int(index)) if index else (1, key)
    return tuple(parts)


def sorted_errors(errors: Iterable[FieldError]) -> list[FieldError]:
    """Errors without duplicates, sorted by path (indices numerically) then message."""
    # Sorted by the paths' text first (cheap): that is nearly the final order, so the sort by the costly keys
    # has little left to do (a million undeclared fields: a second instead of many).
    unique = sorted(set(errors), key=_path_text)
    unique.sort(key=lambda e: (_path_sort_key(e.path), e.path, e.message))
    return unique


def _path_text(error: FieldError) -> str:
    return error.path


def child_path(path: str, key: Any) -> str:
    return f"{path}.{key}"


def index_path(path: str, index: int) -> str:
    return f"{path}[{index}]"


def _shown(path: str) -> str:
    return path or "."


# ---------------------------------------------------------------------------------------------------
# Compiled schemas
# ---------------------------------------------------------------------------------------------------
#
# The API server validates thousands of objects against the same few schemas, so each schema is
# compiled once into a tree of small objects that hold what the walk needs at each node (child
# nodes by key, precompiled regexes, which rules apply at all) instead of re-reading the schema dict
# on every call. The rules themselves live in those objects' methods.

_COMPILED_LIMIT = 256
_EMPTY: Schema = {}

_Compiled = TypeVar("_Compiled", "_Defaulter", "_Validator")


class _Builder(Generic[_Compiled]):
    """Compiles one schema tree; a sub-schema that appears twice (or contains itself) compiles once."""

    def __init__(self, factory: type[_Compiled]) -> None:
        self._factory: type[_Compiled] = factory
        self._memo: dict[int, _Compiled] = {}

    def __call__(self, schema: Any) -> _Compiled | None:
        if not isinstance(schema, dict):
            return None
        compiled = self._memo.get(id(schema))
        if compiled is None:
            compiled = self._memo[id(schema)] = self._factory()
            compiled.fill(schema, self)
        return compiled


class _CompiledCache(Generic[_Compiled]):
    """Compiled forms of root schemas, keyed by identity.

    The registry keeps one schema dict per kind version and replaces it rather than editing it, so
    identity is a sound key. Each entry keeps its schema alive, so an ``id`` cannot be reused while
    its entry exists; when the cache is full it starts over. An empty schema (a kind without one gets
    a fresh ``{}`` each time) is looked up as the one shared :data:`_EMPTY`.
    """

    def __init__(self, factory: type[_Compiled], finish: Callable[[_Compiled], None] | None = None) -> None:
        self._factory: type[_Compiled] = factory
        self._finish: Callable[[_Compiled], None] | None = finish  # what to work out once the whole tree is built
        self._entries: dict[int, tuple[Schema, _Compiled]] = {}

    def get(self, schema: Schema) -> _Compiled:
        if not schema:
            schema = _EMPTY
        entry = self._entries.get(id(schema))
        if entry is not None and entry[0] is schema:
            return entry[1]
        compiled = _Builder(self._factory)(schema)
        assert compiled is not None  # callers pass a dict
        if self._finish is not None:
            self._finish(compiled)
        if len(self._entries) >= _COMPILED_LIMIT:
            self._entries.clear()
        self._entries[id(schema)] = (schema, compiled)
        return compiled


# ---------------------------------------------------------------------------------------------------
# Defaulting
# ---------------------------------------------------------------------------------------------------


def apply_defaults(schema: Schema, obj: dict[str, Any]) -> None:
    """Fill in schema defaults in place, with the API server's structural-defaulting semantics.

    A property that is absent (or a non-nullable ``null``) gets a deep copy of its default; the walk
    then continues into every value, through ``properties``, ``additionalProperties`` and array
    ``items``, so a defaulted object is itself defaulted. ``metadata`` (at the root and in embedded
    resources) is never touched.
    """
    _DEFAULTERS.get(schema).default_object(obj, skip_metadata=True)


def _has_default(schema: Schema) -> bool:
    return schema.get("default") is not None


class _Defaulter:
    """What defaulting does at one schema node."""

    __slots__ = ("additional", "children", "default", "embedded", "fills", "has_default", "inert", "items", "nullable")

    def fill(self, schema: Schema, build: _Builder[_Defaulter]) -> None:
        self.nullable = bool(schema.get("nullable"))
        self.has_default = _has_default(schema)
        self.default = schema.get("default")
        self.embedded = schema.get("x-kubernetes-embedded-resource") is True
        # A declared property whose schema is not a dict is None here: it hides additionalProperties.
        self.children = {key: build(prop) for key, prop in (schema.get("properties") or {}).items()}
        self.fills = [(key, child) for key, child in self.children.items() if child is not None and child.has_default]
        self.additional = build(schema.get("additionalProperties"))
        self.items = build(schema.get("items"))
        # An inert node never changes a value below it (it still may be dropped or defaulted itself).
        self.inert = self.additional is None and self.items is None and not any(self.children.values())

    def default_value(self, value: Any) -> None:
        if isinstance(value, dict):
            self.default_object(value, skip_metadata=self.embedded)
        elif isinstance(value, list):
            self.default_array(value)

    def default_object(self, obj: dict[Any, Any], *, skip_metadata: bool) -> None:
        for key, child in self.fills:
            if key not in obj and not (skip_metadata and key == "metadata"):
                obj[key] = copy.deepcopy(child.default)
        if self.inert:
            return
        children, additional = self.children, self.additional
        dropped = []
        for key, value in obj.items():
            sub = children.get(key, additional)
            if sub is None or (skip_metadata and key == "metadata"):
                continue
            if value is None and not sub.nullable:
                if not sub.has_default:
                    dropped.append(key)
                    continue
                value = obj[key] = copy.deepcopy(sub.default)  # replacing a value keeps the dict's size
            if not sub.inert:
                sub.default_value(value)
        for key in dropped:
            del obj[key]

    def default_array(self, values: list[Any]) -> None:
        items = self.items
        if items is None:
            return
        replace_null = items.has_default and not items.nullable
        if items.inert and not replace_null:
            return
        for i, item in enumerate(values):
            if item is None and replace_null:
                item = values[i] = copy.deepcopy(items.default)
            if not items.inert:
                items.default_value(item)


# ---------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------


def validate(
    schema: Schema,
    obj: dict[str, Any],
    *,
    skip_root: tuple[str, ...] = ("apiVersion", "kind", "metadata"),
    old: dict[str, Any] | None = None,
) -> list[FieldError]:
    """Every way ``obj`` breaks ``schema``, sorted by path then message (empty when valid).

    Root keys named in ``skip_root`` are neither validated nor flagged as undeclared, nor reported
    as missing when the root schema lists them as required.

    The schema's CEL rules (``x-kubernetes-validations``, :mod:`choreo.apiserver.celrules`) are checked too,
    on a second walk that enters only the parts of the schema that hold rules (none at all for a schema
    without them). ``old`` is the stored object on an update: the rules that use ``oldSelf`` run only where
    it has a value at the same path.
    """
    if not isinstance(schema, dict):
        return []
    errors: list[FieldError] = []
    root = _VALIDATORS.get(schema)
    root.check(obj, "", True, errors, skip_root)
    if root.rules_below:
        found: list[tuple[str, str]] = []
        root.check_rules(obj, old, old is not None, "", found, True)
        errors += (FieldError(_shown(path), message) for path, message in found)
    return sorted_errors(errors)


def undeclared_fields(
    schema: Schema, obj: dict[str, Any], *, skip_root: tuple[str, ...] = ("apiVersion", "kind", "metadata")
) -> list[FieldError]:
    """The ``field not declared in schema`` errors of :func:`validate` alone, sorted.

    Why a walk of its own: server-side apply must refuse an intent with undeclared fields before it builds
    anything from it (Kubernetes' "failed to create typed patch object"), and an intent can be huge (a
    document with 300 000 unknown keys); this walk looks only at the keys of objects and the items of arrays
    the schema describes, so its cost stays a small part of the cost of storing the same object."""
    if not isinstance(schema, dict):
        return []
    found: list[FieldError] = []
    _VALIDATORS.get(schema).undeclared(obj, "", found, skip_root)
    return sorted_errors(found)


def prune_undeclared(
    schema: Schema, obj: dict[str, Any], *, skip_root: tuple[str, ...] = ("apiVersion", "kind", "metadata")
) -> list[str]:
    """Remove from ``obj`` (in place) the fields :func:`undeclared_fields` would name, as Kubernetes prunes an
    object written with ``fieldValidation`` Ignore or Warn; returns their paths (``.spec.colour``)."""
    if not isinstance(schema, dict):
        return []
    dropped: list[str] = []
    _VALIDATORS.get(schema).prune(obj, "", dropped, skip_root)
    return dropped


def _is_integer(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


# Python types of each schema type: "loose" ones as they are, "strict" ones never as a bool.
_LOOSE_TYPES: dict[str, type] = {"object": dict, "array": list, "string": str, "boolean": bool}
_STRICT_TYPES: dict[str, tuple[type, ...]] = {"integer": (int,), "number": (int, float)}
# The exact Python types that pass each schema type (subclasses take the isinstance path).
_EXACT_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}


def _declared_types(schema: Schema) -> list[str]:
    if schema.get("x-kubernetes-int-or-string") is True:
        return ["integer", "string"]
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
    return []


def _type_message(value: Any, types: list[str]) -> str:
    return f"Invalid value: {quoted_value(value)}: must be of type {' or '.join(types)}"


def _add(errors: list[FieldError], path: str, message: str) -> None:
    errors.append(FieldError(_shown(path), message))


def _invalid(errors: list[FieldError], path: str, value: Any, reason: str) -> None:
    _add(errors, path, f"Invalid value: {quoted_value(value)}: {reason}")


def _int_or_none(value: Any) -> int | None:
    return value if _is_integer(value) else None


class _Validator:
    """The rules of one schema node, and the walk that checks a value against them.

    ``check`` takes ``structural``: False inside allOf/anyOf/oneOf/not, where undeclared fields are
    not errors. A *leaf* node has a type check and nothing else, so a value of the right type needs
    no further work: a parent skips a child whose value's exact type is in its ``leaf_types``.
    """

    __slots__ = (
        "additional",
        "all_of",
        "any_of",
        "bounds",
        "cel_plain",
        "checks_type",
        "combinators",
        "embedded",
        "enum",
        "enum_message",
        "exact",
        "float_number",
        "format",
        "format_check",
        "int_format",
        "item_counts",
        "items",
        "leaf",
        "leaf_types",
        "list_map",
        "loose",
        "map_fallbacks",
        "map_keys",
        "max_length",
        "min_length",
        "multiple_of",
        "negated",
        "nullable",
        "number_rules",
        "one_of",
        "open_ended",
        "pattern",
        "property_counts",
        "props",
        "regex",
        "required",
        "rules",
        "rules_below",
        "schema",
        "strict",
        "string_rules",
        "type_name",
        "types",
        "unique",
    )

    def fill(self, schema: Schema, build: _Builder[_Validator]) -> None:
        self.schema = schema
        self.nullable = schema.get("nullable") is True
        self.types = _declared_types(schema)
        # An unknown type name constrains nothing, so then no type is checked at all.
        self.checks_type = bool(self.types) and all(t in _LOOSE_TYPES or t in _STRICT_TYPES for t in self.types)
        self.loose = tuple(_LOOSE_TYPES[t] for t in self.types if t in _LOOSE_TYPES)
        self.strict = tuple(p for t in self.types for p in _STRICT_TYPES.get(t, ()))
        self.exact = frozenset(p for t in self.types for p in _EXACT_TYPES.get(t, ()))
        self._fill_enum(schema)
        self._fill_string(schema)
        self._fill_number(schema)
        self._fill_object(schema, build)
        self._fill_array(schema, build)
        self._fill_combinators(schema, build)
        self._fill_rules(schema)
        self.leaf = (
            self.checks_type
            and "object" not in self.types
            and "array" not in self.types
            and self.enum is None
            and not self.string_rules
            and not self.number_rules
            and not self.combinators
        )
        # A float is never skipped as a leaf: it may be NaN or an infinity, which no JSON object can hold.
        self.leaf_types = self.exact - {float} if self.leaf else frozenset()

    def _fill_enum(self, schema: Schema) -> None:
        allowed = schema.get("enum")
        self.enum = {_identity(e) for e in allowed} if isinstance(allowed, list) else None
        self.enum_message = ", ".join(render_value(e) for e in allowed) if isinstance(allowed, list) else ""

    def _fill_string(self, schema: Schema) -> None:
        self.max_length = _int_or_none(schema.get("maxLength"))
        self.min_length = _int_or_none(schema.get("minLength"))
        pattern = schema.get("pattern")
        self.pattern = pattern if isinstance(pattern, str) else None
        self.regex = _compile(pattern) if isinstance(pattern, str) else None
        fmt = schema.get("format")
        self.format = fmt if isinstance(fmt, str) else ""
        self.format_check = _STRING_FORMATS.get(fmt) if isinstance(fmt, str) else None
        self.string_rules = (
            self.max_length is not None
            or self.min_length is not None
            or self.pattern is not None
            or self.format_check is not None
        )

    def _fill_number(self, schema: Schema) -> None:
        self.bounds = _bounds(schema)
        factor = schema.get("multipleOf")
        self.multiple_of = factor if _is_number(factor) and factor > 0 else None
        fmt = schema.get("format")
        self.int_format = fmt if isinstance(fmt, str) and fmt in _INT_RANGES else None
        self.number_rules = bool(self.bounds) or self.multiple_of is not None or self.int_format is not None

    def _fill_object(self, schema: Schema, build: _Builder[_Validator]) -> None:
        # A declared property whose schema is not a dict is None here: it hides additionalProperties.
        self.props = {key: build(prop) for key, prop in (schema.get("properties") or {}).items()}
        additional = schema.get("additionalProperties")
        self.additional = build(additional)
        self.open_ended = (
            additional is True
            or isinstance(additional, dict)
            or schema.get("x-kubernetes-preserve-unknown-fields") is True
        )
        self.embedded = schema.get("x-kubernetes-embedded-resource") is True
        self.required = list(schema.get("required") or [])
        self.property_counts = "minProperties" in schema or "maxProperties" in schema

    def _fill_array(self, schema: Schema, build: _Builder[_Validator]) -> None:
        items = schema.get("items")
        self.items = build(items)
        self.item_counts = "minItems" in schema or "maxItems" in schema
        list_type = schema.get("x-kubernetes-list-type")
        self.list_map = list_type == "map"
        self.unique = not self.list_map and (list_type == "set" or schema.get("uniqueItems") is True)
        self.map_keys = tuple(k for k in schema.get("x-kubernetes-list-map-keys") or [] if isinstance(k, str))
        key_props = (items.get("properties") or {}) if isinstance(items, dict) else {}
        self.map_fallbacks = tuple(_map_key_fallback(key_props.get(k)) for k in self.map_keys)

    def _fill_combinators(self, schema: Schema, build: _Builder[_Validator]) -> None:
        all_of = schema.get("allOf")
        built = [build(s) for s in all_of] if isinstance(all_of, list) else []
        self.all_of = [sub for sub in built if sub is not None]
        any_of, one_of = schema.get("anyOf"), schema.get("oneOf")
        # A branch that is not a schema constrains nothing, so it passes (None).
        self.any_of = [build(s) for s in any_of] if isinstance(any_of, list) and any_of else None
        self.one_of = [build(s) for s in one_of] if isinstance(one_of, list) and one_of else None
        self.negated = build(schema.get("not"))
        branches = (self.any_of, self.one_of, self.negated)
        self.combinators = bool(self.all_of) or any(b is not None for b in branches)

    def _fill_rules(self, schema: Schema) -> None:
        rules = schema.get("x-kubernetes-validations")
        if rules:
            from choreo.apiserver import celrules  # imported by the schemas that have rules only

            self.rules = celrules.compile_rules(rules)
        else:
            self.rules = ()
        self.rules_below = bool(self.rules)  # _link_rules adds the rules of the nodes below
        # Kubernetes gives a rule the value in CEL types: a `number` is a double even when written as 1, and
        # the metadata of an embedded resource is only its name and generateName.
        self.float_number = self.types == ["number"]
        self.cel_plain = not self.float_number and not self.embedded  # _link_rules: and the nodes below
        self.type_name = self.types[0] if len(self.types) == 1 else ""  # what Kubernetes quotes as the value

    def children(self) -> Iterator[_Validator]:
        """The nodes for the fields and items of this node's value (not the allOf/anyOf/oneOf/not branches)."""
        for sub in (*self.props.values(), self.additional, self.items):
            if sub is not None:
                yield sub

    # -- one node ---------------------------------------------------------------------------------

    def check(
        self, value: Any, path: str, structural: bool, errors: list[FieldError], skip: tuple[str, ...] = ()
    ) -> None:
        """Add every way ``value`` at ``path`` breaks this node to ``errors``."""
        if value is None:
            if not self.nullable and self.types:
                _add(errors, path, _type_message(None, self.types))
            return
        if type(value) is float and not math.isfinite(value):
            _add(errors, path, _not_finite(value))
            return
        if (
            self.checks_type
            and type(value) not in self.exact
            and not (isinstance(value, self.loose) or (isinstance(value, self.strict) and type(value) is not bool))
        ):
            _add(errors, path, _type_message(value, self.types))
            return
        if self.leaf:
            return
        if self.enum is not None and _identity(value) not in self.enum:
            _add(errors, path, f"Unsupported value: {render_value(value)}: supported values: {self.enum_message}")
        if isinstance(value, str):
            if self.string_rules:
                self._string(value, path, errors)
        elif isinstance(value, dict):
            self._object(value, path, structural, errors, skip)
        elif isinstance(value, list):
            self._array(value, path, structural, errors)
        elif self.number_rules and _is_number(value):
            self._number(value, path, errors)
        if self.combinators:
            self._combinators(value, path, errors)

    def undeclared(self, value: Any, path: str, errors: list[FieldError], skip: tuple[str, ...] = ()) -> None:
        """Add the undeclared fields at or below ``value`` to ``errors``: the NOT_DECLARED part of ``check``
        (structural), walking only where ``check`` would (a value of the wrong type is not entered)."""
        if self.leaf or (self.checks_type and not self._type_fits(value)):
            return
        if isinstance(value, dict):
            props, additional, closed = self.props, self.additional, not self.open_ended
            for key, item in value.items():
                if skip and key in skip:
                    continue
                sub = props.get(key, additional)
                if sub is not None:
                    if isinstance(item, dict | list):
                        sub.undeclared(item, f"{path}.{key}", errors)
                elif closed and not (self.embedded and key in _EMBEDDED_KEYS):
                    errors.append(FieldError(f"{path}.{key}", NOT_DECLARED))
        elif isinstance(value, list) and self.items is not None:
            items = self.items
            for i, item in enumerate(value):
                if isinstance(item, dict | list):
                    items.undeclared(item, f"{path}[{i}]", errors)

    def prune(self, value: Any, path: str, dropped: list[str], skip: tuple[str, ...] = ()) -> None:
        """Remove the fields ``undeclared`` would name from ``value`` (in place), adding their paths."""
        if self.leaf or (self.checks_type and not self._type_fits(value)):
            return
        if isinstance(value, dict):
            props, additional, closed = self.props, self.additional, not self.open_ended
            for key in list(value):
                if skip and key in skip:
                    continue
                sub = props.get(key, additional)
                if sub is not None:
                    if isinstance(value[key], dict | list):
                        sub.prune(value[key], f"{path}.{key}", dropped)
                elif closed and not (self.embedded and key in _EMBEDDED_KEYS):
                    del value[key]
                    dropped.append(f"{path}.{key}")
        elif isinstance(value, list) and self.items is not None:
            for i, item in enumerate(value):
                if isinstance(item, dict | list):
                    self.items.prune(item, f"{path}[{i}]", dropped)

    def _type_fits(self, value: Any) -> bool:
        """The type test of ``check``: whether ``value`` has one of the declared types."""
        return type(value) in self.exact or isinstance(value, self.loose) or (
            isinstance(value, self.strict) and type(value) is not bool
        )

    # -- CEL rules --------------------------------------------------------------------------------

    def check_rules(
        self, value: Any, old: Any, has_old: bool, path: str, found: list[tuple[str, str]], root: bool = False
    ) -> None:
        """Add the (path, message) of every CEL rule at or below this node that ``value`` breaks to ``found``.
        Only called where ``rules_below``; a value of the wrong type (already an error) or null is not entered,
        as Kubernetes does. ``old`` is the value at the same place in the stored object when ``has_old``:
        through object fields, and through list-map items by their keys (other lists do not correlate)."""
        if value is None or (self.checks_type and not self._type_fits(value)):
            return
        if type(value) is float and not math.isfinite(value):
            return
        if self.rules:
            from choreo.apiserver import celrules  # loaded already: compiling the rules imported it

            has_old = has_old and old is not None and (not self.checks_type or self._type_fits(old))
            celrules.evaluate(
                self.rules,
                self.cel_value(value, root),
                self.cel_value(old, root) if has_old else None,
                has_old,
                path,
                self.type_name,
                found,
            )
        if isinstance(value, dict):
            olds = old if has_old and isinstance(old, dict) else None
            props, additional = self.props, self.additional
            for key, item in value.items():
                if key == "metadata" and (root or self.embedded):
                    continue
                sub = props.get(key, additional)
                if sub is not None and sub.rules_below:
                    known = olds is not None and key in olds
                    sub.check_rules(item, olds.get(key) if olds is not None else None, known, f"{path}.{key}", found)
        elif isinstance(value, list) and self.items is not None and self.items.rules_below:
            by_key = self._old_items(old) if has_old and self.list_map and isinstance(old, list) else {}
            for i, item in enumerate(value):
                key = self._map_identity(item) if by_key else None
                known = key is not None and key in by_key
                self.items.check_rules(item, by_key.get(key) if key is not None else None, known, f"{path}[{i}]", found)

    def _map_identity(self, item: Any) -> tuple[str, ...] | None:
        if not isinstance(item, dict):
            return None
        pairs = zip(self.map_keys, self.map_fallbacks, strict=True)
        return tuple(_identity(item[k]) if k in item else fallback for k, fallback in pairs)

    def _old_items(self, old: list[Any]) -> dict[tuple[str, ...], Any]:
        found: dict[tuple[str, ...], Any] = {}
        for item in old:
            key = self._map_identity(item)
            if key is not None:
                found.setdefault(key, item)
        return found

    def cel_value(self, value: Any, root: bool = False) -> Any:
        """``value`` as Kubernetes hands it to a rule: numbers of `number` fields as floats, and the metadata
        of the object (``root``) or of an embedded resource reduced to name and generateName. Most values are
        handed over as they are (``cel_plain``)."""
        if self.cel_plain and not root:
            return value
        if self.float_number and _is_integer(value):
            return float(value)
        if isinstance(value, dict):
            converted = {}
            for key, item in value.items():
                if key == "metadata" and (root or self.embedded) and isinstance(item, dict):
                    converted[key] = {k: item[k] for k in ("name", "generateName") if k in item}
                    continue
                sub = self.props.get(key, self.additional)
                converted[key] = item if sub is None or item is None else sub.cel_value(item)
            return converted
        if isinstance(value, list) and self.items is not None and not self.items.cel_plain:
            return [item if item is None else self.items.cel_value(item) for item in value]
        return value

    # -- scalars ----------------------------------------------------------------------------------

    def _string(self, value: str, path: str, errors: list[FieldError]) -> None:
        if self.max_length is not None and len(value) > self.max_length:
            _add(errors, path, f"Too long: may not be more than {self.max_length} characters")
        if self.min_length is not None and len(value) < self.min_length:
            _invalid(errors, path, value, f"must be at least {self.min_length} characters long")
        if self.pattern is not None:
            if self.regex is None:
                _invalid(errors, path, value, f"schema pattern {render_value(self.pattern)} is not a valid regex")
            elif not self.regex.search(value):
                _invalid(errors, path, value, f"must match pattern {render_value(self.pattern)}")
        if self.format_check is not None and not self.format_check(value):
            _invalid(errors, path, value, f"must be of format {self.format}")

    def _number(self, value: int | float, path: str, errors: list[FieldError]) -> None:
        for limit, lower, exclusive, reason in self.bounds:
            if lower:
                broken = value <= limit if exclusive else value < limit
            else:
                broken = value >= limit if exclusive else value > limit
            if broken:
                _invalid(errors, path, value, reason)
        if self.multiple_of is not None and not _is_multiple(value, self.multiple_of):
            _invalid(errors, path, value, f"must be a multiple of {render_value(self.multiple_of)}")
        if self.int_format is not None and _is_integer(value):
            low, high = _INT_RANGES[self.int_format]
            if not low <= value <= high:
                _invalid(errors, path, value, f"must be of format {self.int_format}")

    # -- objects ----------------------------------------------------------------------------------

    def _object(
        self, value: dict[Any, Any], path: str, structural: bool, errors: list[FieldError], skip: tuple[str, ...]
    ) -> None:
        props, additional = self.props, self.additional
        open_ended = self.open_ended or not structural
        for key, item in value.items():
            if skip and key in skip:
                continue
            sub = props.get(key, additional)
            if sub is not None:
                if type(item) not in sub.leaf_types:
                    sub.check(item, f"{path}.{key}", structural, errors)
            elif not open_ended and not (self.embedded and key in _EMBEDDED_KEYS):
                errors.append(FieldError(f"{path}.{key}", NOT_DECLARED))
        for name in self.required:
            if name not in value and name not in skip:
                errors.append(FieldError(f"{path}.{name}", REQUIRED))
        if self.property_counts:
            _property_counts(self.schema, value, path, errors)
        if self.embedded:
            _embedded(value, path, errors)

    # -- arrays -----------------------------------------------------------------------------------

    def _array(self, value: list[Any], path: str, structural: bool, errors: list[FieldError]) -> None:
        items = self.items
        if items is not None:
            for i, item in enumerate(value):
                if type(item) not in items.leaf_types:
                    items.check(item, f"{path}[{i}]", structural, errors)
        if self.item_counts:
            _item_counts(self.schema, value, path, errors)
        if self.list_map:
            self._list_map(value, path, errors)
        elif self.unique:
            _unique(value, path, errors)

    def _list_map(self, value: list[Any], path: str, errors: list[FieldError]) -> None:
        keys, fallbacks = self.map_keys, self.map_fallbacks
        seen: set[tuple[str, ...]] = set()
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                continue  # the items schema reports the wrong type
            pairs = zip(keys, fallbacks, strict=True)
            identity = tuple(_identity(item[k]) if k in item else fallback for k, fallback in pairs)
            if identity in seen:
                shown = {k: item[k] for k in keys if k in item}
                errors.append(FieldError(index_path(path, i), f"Duplicate value: {render_value(shown)}"))
            seen.add(identity)

    # -- value validations ------------------------------------------------------------------------

    def _combinators(self, value: Any, path: str, errors: list[FieldError]) -> None:
        for sub in self.all_of:
            sub.check(value, path, False, errors)
        if self.any_of is not None and not any(_passes(s, value, path) for s in self.any_of):
            _invalid(errors, path, value, "must validate at least one schema (anyOf)")
        if self.one_of is not None:
            matched = sum(_passes(s, value, path) for s in self.one_of)
            if matched != 1:
                _invalid(errors, path, value, f"must validate one and only one schema (oneOf), matched {matched}")
        if self.negated is not None and _passes(self.negated, value, path):
            _invalid(errors, path, value, "must not validate the schema (not)")


def check_value(schema: Schema, value: Any) -> list[FieldError]:
    """Every way one value breaks ``schema`` (paths relative to it: ``.`` is the value itself).

    Why: a CRD's ``default`` and ``enum`` values must themselves be valid where they stand, or every
    object of the kind would be defaulted into an invalid one (``choreo.apiserver.crdcheck``)."""
    node = _Builder(_Validator)(schema)
    if node is None:
        return []
    errors: list[FieldError] = []
    node.check(value, "", True, errors)
    return sorted_errors(errors)


def _not_finite(value: float) -> str:
    return f"Invalid value: {render_value(value)}: must be a finite number (JSON has no NaN or Infinity)"


def _passes(node: _Validator | None, value: Any, path: str) -> bool:
    if node is None:
        return True
    errors: list[FieldError] = []
    node.check(value, path, False, errors)
    return not errors


def _link_rules(root: _Validator) -> None:
    """Mark the nodes with CEL rules at or below them (``rules_below``, so the rules walk enters nothing else)
    and those whose values need no conversion for CEL (``cel_plain``). A schema may contain itself, so the
    marks spread until nothing changes (a handful of passes over a few nodes, once per schema)."""
    nodes: list[_Validator] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            nodes.append(node)
            stack.extend(node.children())
    changed = True
    while changed:
        changed = False
        for node in nodes:
            below = node.rules_below or any(sub.rules_below for sub in node.children())
            plain = node.cel_plain and all(sub.cel_plain for sub in node.children())
            if (below, plain) != (node.rules_below, node.cel_plain):
                node.rules_below, node.cel_plain, changed = below, plain, True


_DEFAULTERS: _CompiledCache[_Defaulter] = _CompiledCache(_Defaulter)
_VALIDATORS: _CompiledCache[_Validator] = _CompiledCache(_Validator, _link_rules)


def _property_counts(schema: Schema, value: dict[Any, Any], path: str, errors: list[FieldError]) -> None:
    low, high = schema.get("minProperties"), schema.get("maxProperties")
    if _is_integer(high) and len(value) > high:
        _add(errors, path, f"Too many: {len(value)}: must have at most {high} properties")
    if _is_integer(low) and len(value) < low:
        _invalid(errors, path, value, f"must have at least {low} properties")


def _item_counts(schema: Schema, value: list[Any], path: str, errors: list[FieldError]) -> None:
    low, high = schema.get("minItems"), schema.get("maxItems")
    if _is_integer(high) and len(value) > high:
        _add(errors, path, f"Too many: {len(value)}: must have at most {high} items")
    if _is_integer(low) and len(value) < low:
        _invalid(errors, path, value, f"must have at least {low} items")


def _embedded(value: dict[Any, Any], path: str, errors: list[FieldError]) -> None:
    for key in ("apiVersion", "kind"):
        if not value.get(key):
            _add(errors, child_path(path, key), f"{REQUIRED}: must not be empty")
        elif not isinstance(value[key], str):
            _add(errors, child_path(path, key), _type_message(value[key], ["string"]))
    if "metadata" in value and not isinstance(value["metadata"], dict):
        _add(errors, child_path(path, "metadata"), _type_message(value["metadata"], ["object"]))


def _unique(value: list[Any], path: str, errors: list[FieldError]) -> None:
    seen: set[str] = set()
    for i, item in enumerate(value):
        key = _identity(item)
        if key in seen:
            errors.append(FieldError(index_path(path, i), f"Duplicate value: {render_value(item)}"))
        seen.add(key)


_UNSPECIFIED = "\x00unspecified"


def _map_key_fallback(key_schema: Any) -> str:
    """The identity part of a list-map key an item leaves out: the key's default, else unset."""
    if isinstance(key_schema, dict) and _has_default(key_schema):
        return _identity(key_schema["default"])
    return _UNSPECIFIED


Bound = tuple[int | float, bool, bool, str]  # limit, is it a lower bound, is it exclusive, the message


def _bounds(schema: Schema) -> list[Bound]:
    """minimum/maximum, with exclusive bounds in both the OpenAPI 3.0 (boolean) and the JSON Schema
    (number) spelling."""
    found: list[Bound] = []
    minimum, maximum = schema.get("minimum"), schema.get("maximum")
    ex_min, ex_max = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if _is_number(minimum):
        found.append(_bound(minimum, lower=True, exclusive=ex_min is True))
    if _is_number(ex_min):
        found.append(_bound(ex_min, lower=True, exclusive=True))
    if _is_number(maximum):
        found.append(_bound(maximum, lower=False, exclusive=ex_max is True))
    if _is_number(ex_max):
        found.append(_bound(ex_max, lower=False, exclusive=True))
    return found


def _bound(limit: int | float, *, lower: bool, exclusive: bool) -> Bound:
    side = "greater" if lower else "less"
    return (limit, lower, exclusive, f"must be {side} than {'' if exclusive else 'or equal to '}{render_value(limit)}")


def _is_multiple(value: int | float, factor: int | float) -> bool:
    """Exact decimal arithmetic, so 0.3 is a multiple of 0.1 as a user would expect."""
    try:
        return Decimal(str(value)) % Decimal(str(factor)) == 0
    except (InvalidOperation, ValueError):
        return False


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


# ---------------------------------------------------------------------------------------------------
# String formats (unknown formats are ignored, as Kubernetes does)
# ---------------------------------------------------------------------------------------------------

_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HOST_LABEL = r"[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"{_HOST_LABEL}(\.{_HOST_LABEL})*")
_HEX2, _HEX4 = "[0-9a-fA-F]{2}", "[0-9a-fA-F]{4}"
_MAC = re.compile(rf"{_HEX2}([:-]){_HEX2}(\1{_HEX2}){{4}}|({_HEX4}\.){{2}}{_HEX4}")


def _is_date_time(value: str) -> bool:
    if not _DATE_TIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_date(value: str) -> bool:
    if not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _parses(parse: Callable[[str], Any]) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        try:
            parse(value)
        except ValueError:
            return False
        return True

    return check


def _is_cidr(value: str) -> bool:
    return "/" in value and _parses(lambda v: ipaddress.ip_network(v, strict=False))(value)


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


_STRING_FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": _is_date_time,
    "datetime": _is_date_time,
    "date": _is_date,
    "ipv4": _parses(ipaddress.IPv4Address),
    "ipv6": _parses(ipaddress.IPv6Address),
    "cidr": _is_cidr,
    "uuid": lambda v: bool(_UUID.fullmatch(v)),
    "byte": _is_base64,
    "hostname": lambda v: len(v) <= 253 and bool(_HOSTNAME.fullmatch(v)),
    "mac": lambda v: bool(_MAC.fullmatch(v)),
}


# ---------------------------------------------------------------------------------------------------
# Structural questions for server-side apply
# ---------------------------------------------------------------------------------------------------

ListType = tuple[str, tuple[str, ...]]

_ATOMIC: ListType = ("atomic", ())

# ObjectMeta is not described by the CRD schema; its merge semantics are fixed by Kubernetes.
_METADATA_LISTS: dict[tuple[str, ...], ListType] = {
    ("finalizers",): ("set", ()),
    ("ownerReferences",): ("map", ("uid",)),
    ("managedFields",): _ATOMIC,
}


class SchemaInfo:
    """Answers how the list or map at a path merges, from ``x-kubernetes-list-type`` and friends.

    A path is a tuple of keys from the root with list indices omitted: ``("spec", "items", "name")``
    goes through the ``items`` list into its item schema. Unknown paths are atomic lists and granular
    maps; ``metadata`` paths (at the root and in embedded resources) follow Kubernetes' ObjectMeta.
    """

    def __init__(self, schema: Schema) -> None:
        self._schema = schema
        self._resolved: dict[tuple[Any, ...], tuple[Schema | None, tuple[str, ...] | None]] = {}

    def list_type(self, path: tuple[str, ...]) -> ListType:
        """``("atomic", ())``, ``("set", ())`` or ``("map", keys)`` for the list at ``path``."""
        node, meta_rest = self._resolve(path)
        if meta_rest is not None:
            return _METADATA_LISTS.get(meta_rest, _ATOMIC)
        if node is None:
            return _ATOMIC
        kind = node.get("x-kubernetes-list-type")
        if kind == "set":
            return ("set", ())
        if kind == "map":
            keys = node.get("x-kubernetes-list-map-keys") or []
            return ("map", tuple(k for k in keys if isinstance(k, str)))
        return _ATOMIC

    def map_type(self, path: tuple[str, ...]) -> str:
        """``"atomic"`` when the object at ``path`` is replaced as a whole, else ``"granular"``."""
        node, meta_rest = self._resolve(path)
        if node is None or meta_rest is not None:
            return "granular"
        return "atomic" if node.get("x-kubernetes-map-type") == "atomic" else "granular"

    def _resolve(self, path: tuple[Any, ...]) -> tuple[Schema | None, tuple[str, ...] | None]:
        """The schema at ``path``, or the rest of the path when it enters ObjectMeta.

        Apply asks about the same few paths over and over, so the answers are remembered, but only for paths
        the schema itself names (declared properties, ObjectMeta's lists): a path through
        ``additionalProperties`` or an undeclared key carries the object's own keys, and remembering those
        would grow with the data. Such a path is walked again each time (a few dict look-ups)."""
        found = self._resolved.get(path)
        if found is None:
            found, declared = self._walk(path)
            if declared:
                self._resolved[path] = found
        return found

    def _walk(self, path: tuple[Any, ...]) -> tuple[tuple[Schema | None, tuple[str, ...] | None], bool]:
        """What :meth:`_resolve` answers, and whether the schema names the path (so it may be remembered)."""
        node: Schema = self._schema
        named = True
        keys = [k for k in path if not isinstance(k, int)]  # tolerate indices left in the path
        for i, key in enumerate(keys):
            node = _through_arrays(node)
            if key == "metadata" and (i == 0 or node.get("x-kubernetes-embedded-resource") is True):
                rest = tuple(keys[i + 1 :])
                return (None, rest), named and (not rest or rest in _METADATA_LISTS)
            named = named and key in (node.get("properties") or {})
            child = _child_schema(node, key)
            if child is None:
                return (None, None), False
            node = child
        return (node, None), named


def list_semantics(schema: Schema) -> SchemaInfo:
    """The :class:`SchemaInfo` of a CRD version's ``openAPIV3Schema``."""
    return SchemaInfo(schema)


def _through_arrays(node: Schema) -> Schema:
    while isinstance(node.get("items"), dict):
        node = node["items"]
    return node


def _child_schema(node: Schema, key: str) -> Schema | None:
    props = node.get("properties") or {}
    child = props.get(key) if key in props else node.get("additionalProperties")
    return child if isinstance(child, dict) else None
