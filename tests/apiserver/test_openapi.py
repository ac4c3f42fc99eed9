"""OpenAPI v3 validation, defaulting and list/map semantics in the Kubernetes CRD dialect."""

from __future__ import annotations

import copy
import random
import re
from typing import Any

import pytest

from choreo.apiserver.openapi import (
    NOT_DECLARED,
    FieldError,
    SchemaInfo,
    apply_defaults,
    list_semantics,
    sorted_errors,
    undeclared_fields,
    validate,
)

HEADER = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}


def root(spec_schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"spec": spec_schema}}


def spec_errors(spec_schema: dict[str, Any], spec: Any) -> list[str]:
    """Validate ``spec`` as the ``.spec`` of an object whose spec schema is ``spec_schema``; on the way, check
    that ``undeclared_fields`` (apply's early refusal) finds exactly the undeclared part of the errors."""
    schema, obj = root(spec_schema), {**HEADER, "spec": spec}
    errors = validate(schema, obj)
    assert undeclared_fields(schema, obj) == [e for e in errors if e.message == NOT_DECLARED]
    return [str(e) for e in errors]


def test_field_error_str() -> None:
    assert str(FieldError(".spec.port", "Required value")) == ".spec.port: Required value"


# ---------------------------------------------------------------------------------------------------
# Types, nullable, enum
# ---------------------------------------------------------------------------------------------------

INT = {"type": "integer"}
NUM = {"type": "number"}
STR = {"type": "string"}

TYPE_CASES = [
    ("integer ok", INT, 3, []),
    ("integer big ok", INT, 2**70, []),
    ("integer rejects string", INT, "abc", ['.spec: Invalid value: "abc": must be of type integer']),
    ("integer rejects bool", INT, True, [".spec: Invalid value: true: must be of type integer"]),
    ("integer rejects integral float", INT, 1.0, [".spec: Invalid value: 1.0: must be of type integer"]),
    ("number accepts int", NUM, 3, []),
    ("number accepts float", NUM, 2.5, []),
    ("number rejects bool", NUM, False, [".spec: Invalid value: false: must be of type number"]),
    ("number rejects string", NUM, "1", ['.spec: Invalid value: "1": must be of type number']),
    ("string ok", STR, "x", []),
    ("string rejects int", STR, 5, [".spec: Invalid value: 5: must be of type string"]),
    ("boolean ok", {"type": "boolean"}, True, []),
    (
        "boolean rejects string",
        {"type": "boolean"},
        "true",
        ['.spec: Invalid value: "true": must be of type boolean'],
    ),
    ("object rejects list", {"type": "object"}, [1], [".spec: Invalid value: [1]: must be of type object"]),
    (
        "array rejects object",
        {"type": "array"},
        {"a": 1},
        ['.spec: Invalid value: {"a": 1}: must be of type array'],
    ),
    ("null not nullable", STR, None, [".spec: Invalid value: null: must be of type string"]),
    ("null nullable", {"type": "string", "nullable": True}, None, []),
    ("nullable skips enum", {"type": "string", "nullable": True, "enum": ["a"]}, None, []),
    ("null untyped", {"x-kubernetes-preserve-unknown-fields": True}, None, []),
    ("enum ok", {"type": "string", "enum": ["a", "b"]}, "a", []),
    (
        "enum rejects",
        {"type": "string", "enum": ["a", "b"]},
        "x",
        ['.spec: Unsupported value: "x": supported values: "a", "b"'],
    ),
    (
        "enum bool is not int",
        {"enum": [1, 2]},
        True,
        [".spec: Unsupported value: true: supported values: 1, 2"],
    ),
    ("enum of objects", {"type": "object", "additionalProperties": True, "enum": [{"a": 1}]}, {"a": 1}, []),
]


@pytest.mark.parametrize(
    ("schema", "value", "expected"), [c[1:] for c in TYPE_CASES], ids=[c[0] for c in TYPE_CASES]
)
def test_types_and_enum(schema: dict[str, Any], value: Any, expected: list[str]) -> None:
    assert spec_errors(schema, value) == expected


# ---------------------------------------------------------------------------------------------------
# Formats
# ---------------------------------------------------------------------------------------------------

FORMAT_CASES = [
    ("integer", "int32", 2**31 - 1, True),
    ("integer", "int32", -(2**31), True),
    ("integer", "int32", 2**31, False),
    ("integer", "int32", -(2**31) - 1, False),
    ("integer", "int64", 2**63 - 1, True),
    ("integer", "int64", 2**63, False),
    ("string", "date-time", "2024-01-02T03:04:05Z", True),
    ("string", "date-time", "2024-01-02T03:04:05.123+02:00", True),
    ("string", "date-time", "2024-13-01T00:00:00Z", False),
    ("string", "date-time", "2024-01-02 03:04:05", False),
    ("string", "date-time", "yesterday", False),
    ("string", "date", "2024-02-29", True),
    ("string", "date", "2023-02-29", False),
    ("string", "ipv4", "10.0.0.1", True),
    ("string", "ipv4", "10.0.0.256", False),
    ("string", "ipv4", "010.0.0.1", False),
    ("string", "ipv6", "2001:db8::1", True),
    ("string", "ipv6", "2001:db8::g", False),
    ("string", "cidr", "10.0.0.0/8", True),
    ("string", "cidr", "2001:db8::/32", True),
    ("string", "cidr", "10.0.0.1", False),
    ("string", "cidr", "10.0.0.0/33", False),
    ("string", "uuid", "123e4567-e89b-12d3-a456-426614174000", True),
    ("string", "uuid", "123e4567e89b12d3a456426614174000", False),
    ("string", "byte", "aGVsbG8=", True),
    ("string", "byte", "not base64!", False),
    ("string", "hostname", "router-1.example.com", True),
    ("string", "hostname", "-bad.example.com", False),
    ("string", "mac", "01:23:45:67:89:ab", True),
    ("string", "mac", "0123.4567.89ab", True),
    ("string", "mac", "01:23:45:67:89", False),
    ("string", "some-unknown-format", "anything", True),
]


@pytest.mark.parametrize(("type_", "fmt", "value", "ok"), FORMAT_CASES)
def test_formats(type_: str, fmt: str, value: Any, ok: bool) -> None:
    import json

    expected = [] if ok else [f".spec: Invalid value: {json.dumps(value)}: must be of format {fmt}"]
    assert spec_errors({"type": type_, "format": fmt}, value) == expected


# ---------------------------------------------------------------------------------------------------
# String, number, array and object keywords
# ---------------------------------------------------------------------------------------------------

KEYWORD_CASES = [
    ("pattern ok", {"type": "string", "pattern": "^[a-z]+$"}, "abc", []),
    (
        "pattern mismatch",
        {"type": "string", "pattern": "^[a-z]+$"},
        "ABC",
        ['.spec: Invalid value: "ABC": must match pattern "^[a-z]+$"'],
    ),
    ("pattern has search semantics", {"type": "string", "pattern": "[0-9]"}, "ab1cd", []),
    (
        "pattern search still fails",
        {"type": "string", "pattern": "[0-9]"},
        "abc",
        ['.spec: Invalid value: "abc": must match pattern "[0-9]"'],
    ),
    (
        "bad pattern reported",
        {"type": "string", "pattern": "("},
        "x",
        ['.spec: Invalid value: "x": schema pattern "(" is not a valid regex'],
    ),
    (
        "maxLength",
        {"type": "string", "maxLength": 3},
        "abcd",
        [".spec: Too long: may not be more than 3 characters"],
    ),
    ("maxLength counts characters", {"type": "string", "maxLength": 3}, "ééé", []),
    (
        "minLength",
        {"type": "string", "minLength": 2},
        "a",
        ['.spec: Invalid value: "a": must be at least 2 characters long'],
    ),
    ("minimum ok", {"type": "integer", "minimum": 1}, 1, []),
    (
        "minimum",
        {"type": "integer", "minimum": 1},
        0,
        [".spec: Invalid value: 0: must be greater than or equal to 1"],
    ),
    (
        "exclusiveMinimum bool",
        {"type": "integer", "minimum": 1, "exclusiveMinimum": True},
        1,
        [".spec: Invalid value: 1: must be greater than 1"],
    ),
    (
        "exclusiveMinimum number",
        {"type": "number", "exclusiveMinimum": 0},
        0,
        [".spec: Invalid value: 0: must be greater than 0"],
    ),
    (
        "maximum",
        {"type": "number", "maximum": 10},
        10.5,
        [".spec: Invalid value: 10.5: must be less than or equal to 10"],
    ),
    ("maximum ok", {"type": "number", "maximum": 10}, 10, []),
    (
        "exclusiveMaximum bool",
        {"type": "integer", "maximum": 10, "exclusiveMaximum": True},
        10,
        [".spec: Invalid value: 10: must be less than 10"],
    ),
    (
        "exclusiveMaximum number",
        {"type": "integer", "exclusiveMaximum": 10},
        10,
        [".spec: Invalid value: 10: must be less than 10"],
    ),
    (
        "multipleOf",
        {"type": "integer", "multipleOf": 5},
        12,
        [".spec: Invalid value: 12: must be a multiple of 5"],
    ),
    ("multipleOf ok", {"type": "integer", "multipleOf": 5}, 15, []),
    ("multipleOf decimal ok", {"type": "number", "multipleOf": 0.1}, 0.3, []),
    (
        "multipleOf decimal",
        {"type": "number", "multipleOf": 0.1},
        0.35,
        [".spec: Invalid value: 0.35: must be a multiple of 0.1"],
    ),
    (
        "maxItems",
        {"type": "array", "maxItems": 2},
        [1, 2, 3],
        [".spec: Too many: 3: must have at most 2 items"],
    ),
    (
        "minItems",
        {"type": "array", "minItems": 2},
        [1],
        [".spec: Invalid value: [1]: must have at least 2 items"],
    ),
    ("uniqueItems", {"type": "array", "uniqueItems": True}, [1, 2, 1], [".spec[2]: Duplicate value: 1"]),
    ("uniqueItems bool is not int", {"type": "array", "uniqueItems": True}, [1, True], []),
    (
        "maxProperties",
        {"type": "object", "additionalProperties": True, "maxProperties": 1},
        {"a": 1, "b": 2},
        [".spec: Too many: 2: must have at most 1 properties"],
    ),
    (
        "minProperties",
        {"type": "object", "additionalProperties": True, "minProperties": 1},
        {},
        [".spec: Invalid value: {}: must have at least 1 properties"],
    ),
    (
        "string keywords ignore ints",
        {"x-kubernetes-int-or-string": True, "pattern": "^a$", "maxLength": 1},
        12345,
        [],
    ),
]


@pytest.mark.parametrize(
    ("schema", "value", "expected"), [c[1:] for c in KEYWORD_CASES], ids=[c[0] for c in KEYWORD_CASES]
)
def test_keywords(schema: dict[str, Any], value: Any, expected: list[str]) -> None:
    assert spec_errors(schema, value) == expected


# ---------------------------------------------------------------------------------------------------
# Objects: required, undeclared fields, additionalProperties, preserve-unknown, nesting
# ---------------------------------------------------------------------------------------------------

ITEM = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string"}, "port": {"type": "integer"}},
}
NESTED = {
    "type": "object",
    "properties": {
        "items": {"type": "array", "items": ITEM},
        "byName": {"type": "object", "additionalProperties": ITEM},
    },
}

OBJECT_CASES = [
    (
        "required",
        {"type": "object", "required": ["a", "b"], "properties": {"a": STR, "b": STR}},
        {"a": "x"},
        [".spec.b: Required value"],
    ),
    (
        "undeclared field",
        {"type": "object", "properties": {"a": STR}},
        {"a": "x", "greetings": 1},
        [".spec.greetings: field not declared in schema"],
    ),
    (
        "object without properties prunes everything",
        {"type": "object"},
        {"a": 1},
        [".spec.a: field not declared in schema"],
    ),
    ("empty object without properties", {"type": "object"}, {}, []),
    (
        "additionalProperties false",
        {"type": "object", "properties": {"a": STR}, "additionalProperties": False},
        {"b": 1},
        [".spec.b: field not declared in schema"],
    ),
    ("additionalProperties true", {"type": "object", "additionalProperties": True}, {"b": {"c": 1}}, []),
    (
        "additionalProperties schema",
        {"type": "object", "additionalProperties": INT},
        {"http": 80, "https": "x"},
        ['.spec.https: Invalid value: "x": must be of type integer'],
    ),
    (
        "properties win over additionalProperties",
        {"type": "object", "properties": {"name": STR}, "additionalProperties": INT},
        {"name": "n", "port": 1},
        [],
    ),
    (
        "nested list items",
        NESTED,
        {"items": [{"name": "a"}, {"port": "x", "extra": True}]},
        [
            ".spec.items[1].extra: field not declared in schema",
            ".spec.items[1].name: Required value",
            '.spec.items[1].port: Invalid value: "x": must be of type integer',
        ],
    ),
    (
        "nested map values",
        NESTED,
        {"byName": {"a": {"name": "a"}, "b": {"name": 1}}},
        [".spec.byName.b.name: Invalid value: 1: must be of type string"],
    ),
    (
        "preserve unknown keeps declared checks",
        {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {"a": INT}},
        {"a": "x", "other": {"deep": [1]}},
        ['.spec.a: Invalid value: "x": must be of type integer'],
    ),
    (
        "preserve unknown is not inherited",
        {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "properties": {"inner": {"type": "object", "properties": {"a": INT}}},
        },
        {"free": 1, "inner": {"a": 1, "b": 2}},
        [".spec.inner.b: field not declared in schema"],
    ),
    ("int-or-string int", {"x-kubernetes-int-or-string": True}, 80, []),
    ("int-or-string string", {"x-kubernetes-int-or-string": True}, "http", []),
    (
        "int-or-string float",
        {"x-kubernetes-int-or-string": True},
        1.5,
        [".spec: Invalid value: 1.5: must be of type integer or string"],
    ),
    (
        "int-or-string bool",
        {"x-kubernetes-int-or-string": True},
        True,
        [".spec: Invalid value: true: must be of type integer or string"],
    ),
    (
        "int-or-string null",
        {"x-kubernetes-int-or-string": True},
        None,
        [".spec: Invalid value: null: must be of type integer or string"],
    ),
    (
        "int-or-string controller-gen style",
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
            "pattern": "%$",
        },
        "abc",
        ['.spec: Invalid value: "abc": must match pattern "%$"'],
    ),
    (
        "int-or-string controller-gen int",
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
            "pattern": "%$",
        },
        50,
        [],
    ),
]


@pytest.mark.parametrize(
    ("schema", "value", "expected"), [c[1:] for c in OBJECT_CASES], ids=[c[0] for c in OBJECT_CASES]
)
def test_objects(schema: dict[str, Any], value: Any, expected: list[str]) -> None:
    assert spec_errors(schema, value) == expected


EMBEDDED = {
    "type": "object",
    "x-kubernetes-embedded-resource": True,
    "properties": {"data": {"type": "object", "additionalProperties": STR}},
}

EMBEDDED_CASES = [
    (
        "apiVersion kind metadata allowed",
        EMBEDDED,
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "b"}},
        [],
    ),
    (
        "other fields still undeclared",
        EMBEDDED,
        {"apiVersion": "v1", "kind": "ConfigMap", "extra": 1},
        [".spec.extra: field not declared in schema"],
    ),
    (
        "kind and apiVersion required",
        EMBEDDED,
        {"data": {}},
        [
            ".spec.apiVersion: Required value: must not be empty",
            ".spec.kind: Required value: must not be empty",
        ],
    ),
    (
        "metadata must be an object",
        EMBEDDED,
        {"apiVersion": "v1", "kind": "X", "metadata": "m"},
        ['.spec.metadata: Invalid value: "m": must be of type object'],
    ),
    (
        "with preserve unknown",
        {**EMBEDDED, "x-kubernetes-preserve-unknown-fields": True},
        {"apiVersion": "v1", "kind": "X", "anything": {"goes": 1}},
        [],
    ),
]


@pytest.mark.parametrize(
    ("schema", "value", "expected"), [c[1:] for c in EMBEDDED_CASES], ids=[c[0] for c in EMBEDDED_CASES]
)
def test_embedded_resource(schema: dict[str, Any], value: Any, expected: list[str]) -> None:
    assert spec_errors(schema, value) == expected


# ---------------------------------------------------------------------------------------------------
# List types
# ---------------------------------------------------------------------------------------------------

SET = {"type": "array", "x-kubernetes-list-type": "set", "items": STR}
PORT = {
    "type": "object",
    "properties": {"name": STR, "protocol": {"type": "string", "default": "TCP"}, "x": INT},
}
MAP = {
    "type": "array",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["name", "protocol"],
    "items": PORT,
}

LIST_CASES = [
    ("set ok", SET, ["a", "b"], []),
    (
        "set duplicates",
        SET,
        ["a", "b", "a", "a"],
        ['.spec[2]: Duplicate value: "a"', '.spec[3]: Duplicate value: "a"'],
    ),
    ("atomic allows duplicates", {"type": "array", "items": STR}, ["a", "a"], []),
    ("map ok", MAP, [{"name": "a", "protocol": "TCP"}, {"name": "a", "protocol": "UDP"}], []),
    (
        "map duplicate key tuple",
        MAP,
        [
            {"name": "a", "protocol": "TCP"},
            {"name": "a", "protocol": "UDP"},
            {"name": "a", "protocol": "TCP", "x": 1},
        ],
        ['.spec[2]: Duplicate value: {"name": "a", "protocol": "TCP"}'],
    ),
    (
        "map missing key uses its default",
        MAP,
        [{"name": "a"}, {"name": "a", "protocol": "TCP"}],
        ['.spec[1]: Duplicate value: {"name": "a", "protocol": "TCP"}'],
    ),
    (
        "map keys all unspecified collide",
        {**MAP, "x-kubernetes-list-map-keys": ["name"]},
        [{"x": 1}, {"x": 2}],
        [".spec[1]: Duplicate value: {}"],
    ),
    (
        "map non-object items reported once",
        MAP,
        ["a"],
        ['.spec[0]: Invalid value: "a": must be of type object'],
    ),
]


@pytest.mark.parametrize(
    ("schema", "value", "expected"), [c[1:] for c in LIST_CASES], ids=[c[0] for c in LIST_CASES]
)
def test_list_types(schema: dict[str, Any], value: Any, expected: list[str]) -> None:
    assert spec_errors(schema, value) == expected


# ---------------------------------------------------------------------------------------------------
# allOf / anyOf / oneOf / not
# ---------------------------------------------------------------------------------------------------

AB = {"type": "object", "properties": {"a": STR, "b": STR}}

COMBINATOR_CASES = [
    (
        "allOf each applies",
        {"type": "integer", "allOf": [{"minimum": 1}, {"maximum": 5}]},
        7,
        [".spec: Invalid value: 7: must be less than or equal to 5"],
    ),
    (
        "allOf does not declare fields",
        {**AB, "allOf": [{"properties": {"a": {"maxLength": 1}}}]},
        {"a": "xy", "b": "z"},
        [".spec.a: Too long: may not be more than 1 characters"],
    ),
    (
        "anyOf fails",
        {**AB, "anyOf": [{"required": ["a"]}, {"required": ["b"]}]},
        {},
        [".spec: Invalid value: {}: must validate at least one schema (anyOf)"],
    ),
    ("anyOf passes", {**AB, "anyOf": [{"required": ["a"]}, {"required": ["b"]}]}, {"a": "x", "b": "y"}, []),
    (
        "oneOf none",
        {**AB, "oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
        {},
        [".spec: Invalid value: {}: must validate one and only one schema (oneOf), matched 0"],
    ),
    (
        "oneOf two",
        {**AB, "oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
        {"a": "x", "b": "y"},
        [
            '.spec: Invalid value: {"a": "x", "b": "y"}: '
            "must validate one and only one schema (oneOf), matched 2"
        ],
    ),
    ("oneOf one", {**AB, "oneOf": [{"required": ["a"]}, {"required": ["b"]}]}, {"b": "y"}, []),
    (
        "not matches",
        {"type": "string", "not": {"enum": ["forbidden"]}},
        "forbidden",
        ['.spec: Invalid value: "forbidden": must not validate the schema (not)'],
    ),
    ("not passes", {"type": "string", "not": {"enum": ["forbidden"]}}, "fine", []),
]


@pytest.mark.parametrize(
    ("schema", "value", "expected"), [c[1:] for c in COMBINATOR_CASES], ids=[c[0] for c in COMBINATOR_CASES]
)
def test_combinators(schema: dict[str, Any], value: Any, expected: list[str]) -> None:
    assert spec_errors(schema, value) == expected


# ---------------------------------------------------------------------------------------------------
# Root handling, status, ordering
# ---------------------------------------------------------------------------------------------------

STATUS = {
    "type": "object",
    "properties": {
        "conditions": {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
            "items": {"type": "object", "required": ["type"], "properties": {"type": STR, "status": STR}},
        }
    },
}


def test_root_keys_skipped_even_when_undeclared() -> None:
    schema = root({"type": "object", "properties": {"size": INT}})
    obj = {**HEADER, "metadata": {"name": "w", "whatever": {"x": 1}}, "spec": {"size": 1}}
    assert validate(schema, obj) == []


def test_root_undeclared_key_flagged() -> None:
    assert [str(e) for e in validate(root(INT), {**HEADER, "spec": 1, "extra": 2})] == [
        ".extra: field not declared in schema"
    ]


def test_skip_root_can_be_emptied() -> None:
    errors = [str(e) for e in validate(root(INT), {**HEADER, "spec": 1}, skip_root=())]
    assert errors == [
        ".apiVersion: field not declared in schema",
        ".kind: field not declared in schema",
        ".metadata: field not declared in schema",
    ]


def test_skipped_root_keys_are_not_required_nor_validated() -> None:
    schema = {
        "type": "object",
        "required": ["metadata", "spec"],
        "properties": {"metadata": {"type": "object", "properties": {"name": {"maxLength": 1}}}, "spec": INT},
    }
    assert [str(e) for e in validate(schema, {"metadata": {"name": "long"}})] == [".spec: Required value"]


def test_status_is_validated() -> None:
    schema = {"type": "object", "properties": {"spec": AB, "status": STATUS}}
    obj = {**HEADER, "status": {"conditions": [{"type": "Ready"}, {"status": "True"}, {"type": "Ready"}]}}
    assert [str(e) for e in validate(schema, obj)] == [
        ".status.conditions[1].type: Required value",
        '.status.conditions[2]: Duplicate value: {"type": "Ready"}',
    ]


def test_root_type_error_path_is_dot() -> None:
    assert [str(e) for e in validate({"type": "object", "minProperties": 9}, {})] == [
        ".: Invalid value: {}: must have at least 9 properties"
    ]


def test_all_errors_sorted_numerically_and_deterministic() -> None:
    schema = root(NESTED)
    items = [{"name": "ok"} for _ in range(11)]
    items[10] = {"name": 1}
    items[2] = {"port": "p"}
    obj = {**HEADER, "spec": {"items": items, "zzz": 1}}
    expected = [
        ".spec.items[2].name: Required value",
        '.spec.items[2].port: Invalid value: "p": must be of type integer',
        ".spec.items[10].name: Invalid value: 1: must be of type string",
        ".spec.zzz: field not declared in schema",
    ]
    assert [str(e) for e in validate(schema, obj)] == expected
    assert validate(schema, copy.deepcopy(obj)) == validate(schema, obj)


def _nested_sort_key(path: str) -> tuple[tuple[int, int, str], ...]:
    """The order errors have always been sorted in, written the plain way: a triple per path step."""
    steps = re.findall(r"\[(\d+)\]|\.([^.\[]*)", path)
    return tuple((0, int(index), "") if index else (1, 0, key) for index, key in steps)


def test_error_order_is_by_steps_with_numeric_indices_however_many_errors() -> None:
    names = ["a", "b", "a-b", "a.b", "", "k1", "k10", "k2", "é", "a]b", "Z"]
    rng = random.Random(7)
    paths = {
        "".join(rng.choice([f".{rng.choice(names)}", f"[{rng.randrange(12)}]"]) for _ in range(rng.randrange(1, 5)))
        for _ in range(3000)
    }
    errors = [FieldError(path, message) for path in paths for message in (NOT_DECLARED, "Required value")]
    rng.shuffle(errors)
    expected = sorted(set(errors), key=lambda e: (_nested_sort_key(e.path), e.path, e.message))
    assert sorted_errors(errors + errors[:50]) == expected


def test_errors_are_field_errors() -> None:
    [error] = validate(root(INT), {**HEADER, "spec": "x"})
    assert error == FieldError(".spec", 'Invalid value: "x": must be of type integer')


# ---------------------------------------------------------------------------------------------------
# Defaulting
# ---------------------------------------------------------------------------------------------------

DEFAULTS = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "default": {"mode": "auto"},
            "properties": {
                "mode": {"type": "string"},
                "replicas": {"type": "integer", "default": 1},
                "nullable": {"type": "string", "nullable": True, "default": "d"},
                "nodefault": {"type": "string"},
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "default": {"name": "anon"},
                        "properties": {"name": STR, "port": {"type": "integer", "default": 80}},
                    },
                },
                "byName": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {"weight": {"type": "integer", "default": 5}},
                    },
                },
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {
                        "metadata": {
                            "type": "object",
                            "properties": {"name": {"type": "string", "default": "x"}},
                        },
                        "kind": {"type": "string", "default": "ConfigMap"},
                    },
                },
                "free": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {"level": {"type": "integer", "default": 3}},
                },
            },
        },
        "metadata": {"type": "object", "properties": {"namespace": {"type": "string", "default": "default"}}},
    },
}

DEFAULT_CASES = [
    ("object default is itself defaulted", {}, {"spec": {"mode": "auto", "replicas": 1, "nullable": "d"}}),
    (
        "absent property defaulted, present kept",
        {"spec": {"mode": "m", "replicas": 3}},
        {"spec": {"mode": "m", "replicas": 3, "nullable": "d"}},
    ),
    (
        "null non-nullable replaced by default",
        {"spec": {"replicas": None}},
        {"spec": {"replicas": 1, "nullable": "d"}},
    ),
    (
        "null non-nullable without default dropped",
        {"spec": {"nodefault": None, "replicas": 2}},
        {"spec": {"replicas": 2, "nullable": "d"}},
    ),
    (
        "null nullable kept",
        {"spec": {"nullable": None, "replicas": 2}},
        {"spec": {"nullable": None, "replicas": 2}},
    ),
    (
        "array items defaulted",
        {"spec": {"replicas": 1, "nullable": "", "items": [{"name": "a"}, {"port": 8}, None]}},
        {
            "spec": {
                "replicas": 1,
                "nullable": "",
                "items": [{"name": "a", "port": 80}, {"port": 8}, {"name": "anon", "port": 80}],
            }
        },
    ),
    (
        "additionalProperties values defaulted",
        {"spec": {"replicas": 1, "nullable": "", "byName": {"a": {}, "b": {"weight": 1}}}},
        {"spec": {"replicas": 1, "nullable": "", "byName": {"a": {"weight": 5}, "b": {"weight": 1}}}},
    ),
    (
        "embedded resource metadata untouched",
        {"spec": {"replicas": 1, "nullable": "", "template": {"metadata": {}}}},
        {"spec": {"replicas": 1, "nullable": "", "template": {"metadata": {}, "kind": "ConfigMap"}}},
    ),
    (
        "preserve-unknown declared properties defaulted",
        {"spec": {"replicas": 1, "nullable": "", "free": {"other": None}}},
        {"spec": {"replicas": 1, "nullable": "", "free": {"other": None, "level": 3}}},
    ),
    (
        "root metadata untouched",
        {"metadata": {"name": "n"}, "spec": {"replicas": 1, "nullable": ""}},
        {"metadata": {"name": "n"}, "spec": {"replicas": 1, "nullable": ""}},
    ),
]


@pytest.mark.parametrize(
    ("obj", "expected"), [c[1:] for c in DEFAULT_CASES], ids=[c[0] for c in DEFAULT_CASES]
)
def test_apply_defaults(obj: dict[str, Any], expected: dict[str, Any]) -> None:
    apply_defaults(DEFAULTS, obj)
    assert obj == expected


def test_no_default_without_parent() -> None:
    schema = root({"type": "object", "properties": {"replicas": {"type": "integer", "default": 1}}})
    obj: dict[str, Any] = {"kind": "X"}
    apply_defaults(schema, obj)
    assert obj == {"kind": "X"}


def test_null_array_item_without_default_kept() -> None:
    schema = root({"type": "array", "items": STR})
    obj: dict[str, Any] = {"spec": ["a", None]}
    apply_defaults(schema, obj)
    assert obj == {"spec": ["a", None]}


def test_defaults_are_copies() -> None:
    schema = copy.deepcopy(DEFAULTS)
    first: dict[str, Any] = {}
    apply_defaults(schema, first)
    first["spec"]["mode"] = "changed"
    second: dict[str, Any] = {}
    apply_defaults(schema, second)
    assert second["spec"]["mode"] == "auto"
    assert schema == DEFAULTS


def test_defaulted_object_validates() -> None:
    schema = root(
        {"type": "object", "properties": {"port": {"type": "integer", "default": 80, "minimum": 1}}}
    )
    obj = {**HEADER, "spec": {}}
    apply_defaults(schema, obj)
    assert obj["spec"] == {"port": 80}
    assert validate(schema, obj) == []


# ---------------------------------------------------------------------------------------------------
# SchemaInfo
# ---------------------------------------------------------------------------------------------------

ELEMENT = {
    "type": "object",
    "properties": {
        "name": STR,
        "ports": {"type": "array", "x-kubernetes-list-type": "set", "items": INT},
        "sub": {"type": "object", "x-kubernetes-map-type": "atomic", "additionalProperties": STR},
    },
}
INFO_SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "items": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": ELEMENT,
                },
                "tags": SET,
                "plain": {"type": "array", "items": STR},
                "explicitAtomic": {"type": "array", "x-kubernetes-list-type": "atomic", "items": STR},
                "labels": {"type": "object", "additionalProperties": STR},
                "selector": {"type": "object", "x-kubernetes-map-type": "atomic", "properties": {"a": STR}},
                "byName": {"type": "object", "additionalProperties": ELEMENT},
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "x-kubernetes-preserve-unknown-fields": True,
                },
                "templates": {
                    "type": "array",
                    "items": {"type": "object", "x-kubernetes-embedded-resource": True},
                },
            },
        },
        "status": STATUS,
    },
}

LIST_TYPE_CASES = [
    (("spec", "items"), ("map", ("name",))),
    (("spec", "items", "ports"), ("set", ())),
    (("spec", "items", 0, "ports"), ("set", ())),
    (("spec", "items", "name"), ("atomic", ())),
    (("spec", "tags"), ("set", ())),
    (("spec", "plain"), ("atomic", ())),
    (("spec", "explicitAtomic"), ("atomic", ())),
    (("spec", "byName", "anything", "ports"), ("set", ())),
    (("spec", "nope"), ("atomic", ())),
    (("spec", "nope", "deeper"), ("atomic", ())),
    (("status", "conditions"), ("map", ("type",))),
    (("metadata", "finalizers"), ("set", ())),
    (("metadata", "ownerReferences"), ("map", ("uid",))),
    (("metadata", "managedFields"), ("atomic", ())),
    (("metadata", "labels"), ("atomic", ())),
    (("spec", "template", "metadata", "finalizers"), ("set", ())),
    (("spec", "templates", "metadata", "ownerReferences"), ("map", ("uid",))),
]


@pytest.mark.parametrize(("path", "expected"), LIST_TYPE_CASES)
def test_list_type(path: tuple[str, ...], expected: tuple[str, tuple[str, ...]]) -> None:
    assert SchemaInfo(INFO_SCHEMA).list_type(path) == expected


MAP_TYPE_CASES = [
    (("spec", "selector"), "atomic"),
    (("spec", "items", "sub"), "atomic"),
    (("spec", "byName", "x", "sub"), "atomic"),
    (("spec", "labels"), "granular"),
    (("spec",), "granular"),
    (("spec", "nope"), "granular"),
    (("metadata", "labels"), "granular"),
    (("metadata", "annotations"), "granular"),
]


@pytest.mark.parametrize(("path", "expected"), MAP_TYPE_CASES)
def test_map_type(path: tuple[str, ...], expected: str) -> None:
    assert SchemaInfo(INFO_SCHEMA).map_type(path) == expected


def test_schema_info_answers_asked_twice_are_the_same_and_memory_follows_the_schema() -> None:
    # Every answer comes out the same when asked again (remembered or walked again), and asking about the
    # keys of many objects' maps (byName.<key>) does not make the SchemaInfo hold more.
    info = SchemaInfo(INFO_SCHEMA)
    for _ in range(2):
        for path, expected in LIST_TYPE_CASES:
            assert info.list_type(path) == expected
        for path, expected_map in MAP_TYPE_CASES:
            assert info.map_type(path) == expected_map
    held = len(info._resolved)
    for n in range(500):
        assert info.list_type(("spec", "byName", f"device-{n}", "ports")) == ("set", ())
        assert info.map_type(("spec", "byName", f"device-{n}", "sub")) == "atomic"
    assert len(info._resolved) == held


def test_list_semantics_returns_schema_info() -> None:
    info = list_semantics(INFO_SCHEMA)
    assert isinstance(info, SchemaInfo)
    assert info.list_type(("spec", "tags")) == ("set", ())
