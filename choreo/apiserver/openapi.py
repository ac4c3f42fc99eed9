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
"""

from __future__ import annotations

import base64
import binascii
import copy
import ipaddress
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

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


def render_value(value: Any) -> str:
    """The one-line JSON form of a value, as error messages quote it."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _identity(value: Any) -> str:
    """A key under which two JSON values are equal exactly when they are the same JSON value.

    Plain ``==`` is not enough: in Python ``True == 1`` and ``{"a": 1} == {"a": True}``.
    """
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    except TypeError:  # a mapping with keys of mixed types (YAML allows them) cannot be sorted
        return repr(value)


_PATH_PART = re.compile(r"\[(\d+)\]|\.([^.\[]*)")


def _path_sort_key(path: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key that orders list indices numerically (``[2]`` before ``[10]``)."""
    parts = []
    for index, key in _PATH_PART.findall(path):
        parts.append((0, int(index), "") if index else (1, 0, key))
    return tuple(parts)


def sorted_errors(errors: Iterable[FieldError]) -> list[FieldError]:
    """Errors without duplicates, sorted by path (indices numerically) then message."""
    unique = set(errors)
    return sorted(unique, key=lambda e: (_path_sort_key(e.path), e.path, e.message))


def child_path(path: str, key: Any) -> str:
    return f"{path}.{key}"


def index_path(path: str, index: int) -> str:
    return f"{path}[{index}]"


def _shown(path: str) -> str:
    return path or "."


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
    _default_object(schema, obj, skip=("metadata",))


def _has_default(schema: Schema) -> bool:
    return schema.get("default") is not None


def _default_value(schema: Any, value: Any) -> None:
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        embedded = schema.get("x-kubernetes-embedded-resource") is True
        _default_object(schema, value, skip=("metadata",) if embedded else ())
    elif isinstance(value, list):
        _default_array(schema, value)


def _default_object(schema: Schema, obj: dict[str, Any], skip: tuple[str, ...]) -> None:
    props = schema.get("properties") or {}
    for key, prop in props.items():
        if key not in skip and key not in obj and isinstance(prop, dict) and _has_default(prop):
            obj[key] = copy.deepcopy(prop["default"])
    additional = schema.get("additionalProperties")
    for key in list(obj):
        if key in skip:
            continue
        sub = props.get(key) if key in props else additional
        if not isinstance(sub, dict):
            continue
        if obj[key] is None and not sub.get("nullable"):
            if not _has_default(sub):
                del obj[key]
                continue
            obj[key] = copy.deepcopy(sub["default"])
        _default_value(sub, obj[key])


def _default_array(schema: Schema, items_value: list[Any]) -> None:
    items = schema.get("items")
    if not isinstance(items, dict):
        return
    for i, item in enumerate(items_value):
        if item is None and not items.get("nullable") and _has_default(items):
            items_value[i] = copy.deepcopy(items["default"])
        _default_value(items, items_value[i])


# ---------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------


def validate(
    schema: Schema, obj: dict[str, Any], *, skip_root: tuple[str, ...] = ("apiVersion", "kind", "metadata")
) -> list[FieldError]:
    """Every way ``obj`` breaks ``schema``, sorted by path then message (empty when valid).

    Root keys named in ``skip_root`` are neither validated nor flagged as undeclared, nor reported
    as missing when the root schema lists them as required.
    """
    walker = _Walker()
    walker.node(schema, obj, "", structural=True, skip=skip_root)
    return sorted_errors(walker.errors)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
}


def _has_type(value: Any, type_name: str) -> bool:
    check = _TYPE_CHECKS.get(type_name)
    return check is None or check(value)  # an unknown type name constrains nothing


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
    return f"Invalid value: {render_value(value)}: must be of type {' or '.join(types)}"


class _Walker:
    """Walks a value and its schema side by side, collecting every error."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, path: str, message: str) -> None:
        self.errors.append(FieldError(_shown(path), message))

    def invalid(self, path: str, value: Any, reason: str) -> None:
        self.add(path, f"Invalid value: {render_value(value)}: {reason}")

    # -- one node ---------------------------------------------------------------------------------

    def node(self, schema: Any, value: Any, path: str, *, structural: bool, skip: tuple[str, ...] = ()) -> None:
        """Validate ``value`` at ``path``; ``structural`` is False inside allOf/anyOf/oneOf/not."""
        if not isinstance(schema, dict):
            return
        if value is None:
            self._null(schema, path)
            return
        types = _declared_types(schema)
        if types and not any(_has_type(value, t) for t in types):
            self.add(path, _type_message(value, types))
            return
        self._enum(schema, value, path)
        if isinstance(value, str):
            self._string(schema, value, path)
        elif _is_number(value):
            self._number(schema, value, path)
        elif isinstance(value, dict):
            self._object(schema, value, path, structural, skip)
        elif isinstance(value, list):
            self._array(schema, value, path, structural)
        self._combinators(schema, value, path)

    def _null(self, schema: Schema, path: str) -> None:
        if schema.get("nullable") is True:
            return
        types = _declared_types(schema)
        if types:
            self.add(path, _type_message(None, types))

    def _enum(self, schema: Schema, value: Any, path: str) -> None:
        allowed = schema.get("enum")
        if not isinstance(allowed, list):
            return
        if _identity(value) in {_identity(e) for e in allowed}:
            return
        supported = ", ".join(render_value(e) for e in allowed)
        self.add(path, f"Unsupported value: {render_value(value)}: supported values: {supported}")

    # -- scalars ----------------------------------------------------------------------------------

    def _string(self, schema: Schema, value: str, path: str) -> None:
        min_len, max_len = schema.get("minLength"), schema.get("maxLength")
        if _is_integer(max_len) and len(value) > max_len:
            self.add(path, f"Too long: may not be more than {max_len} characters")
        if _is_integer(min_len) and len(value) < min_len:
            self.invalid(path, value, f"must be at least {min_len} characters long")
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            compiled = _compile(pattern)
            if compiled is None:
                self.invalid(path, value, f"schema pattern {render_value(pattern)} is not a valid regex")
            elif not compiled.search(value):
                self.invalid(path, value, f"must match pattern {render_value(pattern)}")
        fmt = schema.get("format")
        check = _STRING_FORMATS.get(fmt) if isinstance(fmt, str) else None
        if check is not None and not check(value):
            self.invalid(path, value, f"must be of format {fmt}")

    def _number(self, schema: Schema, value: int | float, path: str) -> None:
        for reason in _bound_violations(schema, value):
            self.invalid(path, value, reason)
        factor = schema.get("multipleOf")
        if _is_number(factor) and factor > 0 and not _is_multiple(value, factor):
            self.invalid(path, value, f"must be a multiple of {render_value(factor)}")
        fmt = schema.get("format")
        bounds = _INT_RANGES.get(fmt) if isinstance(fmt, str) else None
        if bounds is not None and _is_integer(value) and not bounds[0] <= value <= bounds[1]:
            self.invalid(path, value, f"must be of format {fmt}")

    # -- objects ----------------------------------------------------------------------------------

    def _object(
        self, schema: Schema, value: dict[Any, Any], path: str, structural: bool, skip: tuple[str, ...]
    ) -> None:
        props = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        open_ended = (
            not structural
            or additional is True
            or isinstance(additional, dict)
            or schema.get("x-kubernetes-preserve-unknown-fields") is True
        )
        embedded = schema.get("x-kubernetes-embedded-resource") is True
        for key, item in value.items():
            if key in skip:
                continue
            sub = props.get(key) if key in props else additional
            if isinstance(sub, dict):
                self.node(sub, item, child_path(path, key), structural=structural)
            elif not open_ended and not (embedded and key in _EMBEDDED_KEYS):
                self.add(child_path(path, key), NOT_DECLARED)
        for name in schema.get("required") or []:
            if name not in value and name not in skip:
                self.add(child_path(path, name), REQUIRED)
        self._property_counts(schema, value, path)
        if embedded:
            self._embedded(value, path)

    def _property_counts(self, schema: Schema, value: dict[Any, Any], path: str) -> None:
        low, high = schema.get("minProperties"), schema.get("maxProperties")
        if _is_integer(high) and len(value) > high:
            self.add(path, f"Too many: {len(value)}: must have at most {high} properties")
        if _is_integer(low) and len(value) < low:
            self.invalid(path, value, f"must have at least {low} properties")

    def _embedded(self, value: dict[Any, Any], path: str) -> None:
        for key in ("apiVersion", "kind"):
            if not value.get(key):
                self.add(child_path(path, key), f"{REQUIRED}: must not be empty")
            elif not isinstance(value[key], str):
                self.add(child_path(path, key), _type_message(value[key], ["string"]))
        if "metadata" in value and not isinstance(value["metadata"], dict):
            self.add(child_path(path, "metadata"), _type_message(value["metadata"], ["object"]))

    # -- arrays -----------------------------------------------------------------------------------

    def _array(self, schema: Schema, value: list[Any], path: str, structural: bool) -> None:
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                self.node(items, item, index_path(path, i), structural=structural)
        low, high = schema.get("minItems"), schema.get("maxItems")
        if _is_integer(high) and len(value) > high:
            self.add(path, f"Too many: {len(value)}: must have at most {high} items")
        if _is_integer(low) and len(value) < low:
            self.invalid(path, value, f"must have at least {low} items")
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "map":
            self._list_map(schema, value, path)
        elif list_type == "set" or schema.get("uniqueItems") is True:
            self._unique(value, path)

    def _unique(self, value: list[Any], path: str) -> None:
        seen: set[str] = set()
        for i, item in enumerate(value):
            key = _identity(item)
            if key in seen:
                self.add(index_path(path, i), f"Duplicate value: {render_value(item)}")
            seen.add(key)

    def _list_map(self, schema: Schema, value: list[Any], path: str) -> None:
        keys = [k for k in schema.get("x-kubernetes-list-map-keys") or [] if isinstance(k, str)]
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        key_props = items.get("properties") or {}
        seen: set[tuple[str, ...]] = set()
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                continue  # the items schema reports the wrong type
            identity = tuple(_map_key_part(item, k, key_props.get(k)) for k in keys)
            if identity in seen:
                shown = {k: item[k] for k in keys if k in item}
                self.add(index_path(path, i), f"Duplicate value: {render_value(shown)}")
            seen.add(identity)

    # -- value validations ------------------------------------------------------------------------

    def _combinators(self, schema: Schema, value: Any, path: str) -> None:
        for sub in schema.get("allOf") or []:
            self.node(sub, value, path, structural=False)
        any_of = schema.get("anyOf")
        if isinstance(any_of, list) and any_of and not any(_passes(s, value, path) for s in any_of):
            self.invalid(path, value, "must validate at least one schema (anyOf)")
        one_of = schema.get("oneOf")
        if isinstance(one_of, list) and one_of:
            matched = sum(_passes(s, value, path) for s in one_of)
            if matched != 1:
                self.invalid(path, value, f"must validate one and only one schema (oneOf), matched {matched}")
        negated = schema.get("not")
        if isinstance(negated, dict) and _passes(negated, value, path):
            self.invalid(path, value, "must not validate the schema (not)")


def _passes(schema: Any, value: Any, path: str) -> bool:
    walker = _Walker()
    walker.node(schema, value, path, structural=False)
    return not walker.errors


_UNSPECIFIED = "\x00unspecified"


def _map_key_part(item: dict[str, Any], key: str, key_schema: Any) -> str:
    """One component of a list-map item's identity: its value, else the key's default, else unset."""
    if key in item:
        return _identity(item[key])
    if isinstance(key_schema, dict) and _has_default(key_schema):
        return _identity(key_schema["default"])
    return _UNSPECIFIED


def _bound_violations(schema: Schema, value: int | float) -> list[str]:
    """Messages for minimum/maximum, with exclusive bounds in both the OpenAPI 3.0 (boolean) and the
    JSON Schema (number) spelling."""
    found = []
    minimum, maximum = schema.get("minimum"), schema.get("maximum")
    ex_min, ex_max = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if _is_number(minimum):
        if ex_min is True and value <= minimum:
            found.append(f"must be greater than {render_value(minimum)}")
        elif ex_min is not True and value < minimum:
            found.append(f"must be greater than or equal to {render_value(minimum)}")
    if _is_number(ex_min) and value <= ex_min:
        found.append(f"must be greater than {render_value(ex_min)}")
    if _is_number(maximum):
        if ex_max is True and value >= maximum:
            found.append(f"must be less than {render_value(maximum)}")
        elif ex_max is not True and value > maximum:
            found.append(f"must be less than or equal to {render_value(maximum)}")
    if _is_number(ex_max) and value >= ex_max:
        found.append(f"must be less than {render_value(ex_max)}")
    return found


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
        """The schema at ``path``, or the rest of the path when it enters ObjectMeta."""
        node: Schema = self._schema
        keys = [k for k in path if not isinstance(k, int)]  # tolerate indices left in the path
        for i, key in enumerate(keys):
            node = _through_arrays(node)
            if key == "metadata" and (i == 0 or node.get("x-kubernetes-embedded-resource") is True):
                return None, tuple(keys[i + 1 :])
            child = _child_schema(node, key)
            if child is None:
                return None, None
            node = child
        return node, None


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
