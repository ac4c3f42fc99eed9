"""ObjectMeta validation: names, namespaces, labels, annotations, finalizers and owner references."""

from __future__ import annotations

from typing import Any

import pytest

from choreo.apiserver.metadata import (
    LABEL_MESSAGE,
    LABEL_VALUE_MESSAGE,
    NAME_PART_MESSAGE,
    QUALIFIED_NAME_MESSAGE,
    SUBDOMAIN_MESSAGE,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    same_checked_metadata,
    validate_metadata,
)
from choreo.apiserver.openapi import FieldError


def errors(md: Any, *, namespaced: bool = True) -> list[str]:
    return [
        str(e)
        for e in validate_metadata({"apiVersion": "v1", "kind": "X", "metadata": md}, namespaced=namespaced)
    ]


def ok(**extra: Any) -> dict[str, Any]:
    """A valid namespaced metadata dict plus ``extra``."""
    return {"name": "web", "namespace": "default", **extra}


OWNER = {"apiVersion": "example.com/v1", "kind": "Site", "name": "s1", "uid": "u-1"}

CASES = [
    # --- name
    ("valid namespaced", ok(), True, []),
    ("valid cluster scoped", {"name": "a.b-c"}, False, []),
    ("name missing", {"namespace": "default"}, True, [".metadata.name: Required value: name is required"]),
    (
        "name empty",
        {"name": "", "namespace": "default"},
        True,
        [".metadata.name: Required value: name is required"],
    ),
    (
        "name uppercase",
        {"name": "Foo", "namespace": "default"},
        True,
        [f'.metadata.name: Invalid value: "Foo": {SUBDOMAIN_MESSAGE}'],
    ),
    (
        "name leading dash",
        {"name": "-a"},
        False,
        [f'.metadata.name: Invalid value: "-a": {SUBDOMAIN_MESSAGE}'],
    ),
    (
        "name trailing dot",
        {"name": "a."},
        False,
        [f'.metadata.name: Invalid value: "a.": {SUBDOMAIN_MESSAGE}'],
    ),
    (
        "name underscore",
        {"name": "a_b"},
        False,
        [f'.metadata.name: Invalid value: "a_b": {SUBDOMAIN_MESSAGE}'],
    ),
    ("name 253 chars", {"name": "a" * 253}, False, []),
    (
        "name 254 chars",
        {"name": "a" * 254},
        False,
        [f'.metadata.name: Invalid value: "{"a" * 254}": must be no more than 253 characters'],
    ),
    ("name not a string", {"name": 5}, False, [".metadata.name: Invalid value: 5: must be of type string"]),
    # --- metadata itself
    (
        "metadata missing",
        None,
        True,
        [".metadata.name: Required value: name is required", ".metadata.namespace: Required value"],
    ),
    ("metadata not an object", "x", True, ['.metadata: Invalid value: "x": must be of type object']),
    ("unknown metadata field", ok(foo=1), True, [".metadata.foo: field not declared in schema"]),
    (
        "server fields allowed",
        ok(
            uid="u",
            resourceVersion="3",
            generation=2,
            creationTimestamp=None,
            managedFields=[],
            generateName="web-",
        ),
        True,
        [],
    ),
    # --- namespace
    ("namespace missing", {"name": "a"}, True, [".metadata.namespace: Required value"]),
    ("namespace empty", {"name": "a", "namespace": ""}, True, [".metadata.namespace: Required value"]),
    (
        "namespace on cluster kind",
        {"name": "a", "namespace": "default"},
        False,
        [".metadata.namespace: Forbidden: not allowed on this type"],
    ),
    ("empty namespace on cluster kind", {"name": "a", "namespace": ""}, False, []),
    (
        "namespace with dot",
        {"name": "a", "namespace": "a.b"},
        True,
        [f'.metadata.namespace: Invalid value: "a.b": {LABEL_MESSAGE}'],
    ),
    (
        "namespace uppercase",
        {"name": "a", "namespace": "Prod"},
        True,
        [f'.metadata.namespace: Invalid value: "Prod": {LABEL_MESSAGE}'],
    ),
    (
        "namespace 64 chars",
        {"name": "a", "namespace": "n" * 64},
        True,
        [f'.metadata.namespace: Invalid value: "{"n" * 64}": must be no more than 63 characters'],
    ),
    (
        "namespace not a string",
        {"name": "a", "namespace": 1},
        True,
        [".metadata.namespace: Invalid value: 1: must be of type string"],
    ),
    # --- labels
    (
        "labels valid",
        ok(labels={"app.kubernetes.io/name": "web", "tier": "", "x": "A-b_c.9", "Up": "v"}),
        True,
        [],
    ),
    (
        "label key with space",
        ok(labels={"bad key": "v"}),
        True,
        [f'.metadata.labels: Invalid value: "bad key": {NAME_PART_MESSAGE}'],
    ),
    (
        "label key empty prefix",
        ok(labels={"/name": "v"}),
        True,
        ['.metadata.labels: Invalid value: "/name": prefix part must be non-empty'],
    ),
    (
        "label key bad prefix",
        ok(labels={"Example.com/x": "v"}),
        True,
        [f'.metadata.labels: Invalid value: "Example.com/x": prefix part {SUBDOMAIN_MESSAGE}'],
    ),
    (
        "label key two slashes",
        ok(labels={"a/b/c": "v"}),
        True,
        [f'.metadata.labels: Invalid value: "a/b/c": {QUALIFIED_NAME_MESSAGE}'],
    ),
    (
        "label key empty name",
        ok(labels={"example.com/": "v"}),
        True,
        ['.metadata.labels: Invalid value: "example.com/": name part must be non-empty'],
    ),
    (
        "label key name too long",
        ok(labels={"k" * 64: "v"}),
        True,
        [f'.metadata.labels: Invalid value: "{"k" * 64}": name part must be no more than 63 characters'],
    ),
    (
        "label value bad",
        ok(labels={"a": "-bad"}),
        True,
        [f'.metadata.labels: Invalid value: "-bad": {LABEL_VALUE_MESSAGE}'],
    ),
    (
        "label value too long",
        ok(labels={"a": "v" * 64}),
        True,
        [f'.metadata.labels: Invalid value: "{"v" * 64}": must be no more than 63 characters'],
    ),
    (
        "label value not a string",
        ok(labels={"a": 5}),
        True,
        [".metadata.labels: Invalid value: 5: must be of type string"],
    ),
    (
        "labels not an object",
        ok(labels=["a"]),
        True,
        ['.metadata.labels: Invalid value: ["a"]: must be of type object'],
    ),
    # --- annotations
    ("annotations valid", ok(annotations={"Example.com/Foo": "anything: {goes}\n", "note": ""}), True, []),
    (
        "annotation key bad",
        ok(annotations={"no way": "v"}),
        True,
        [f'.metadata.annotations: Invalid value: "no way": {NAME_PART_MESSAGE}'],
    ),
    (
        "annotation value not a string",
        ok(annotations={"a": 1}),
        True,
        [".metadata.annotations: Invalid value: 1: must be of type string"],
    ),
    (
        "annotations too large",
        ok(annotations={"a": "x" * 262144}),
        True,
        [".metadata.annotations: Too long: must have at most 262144 bytes"],
    ),
    (
        "annotations not an object",
        ok(annotations="a=b"),
        True,
        ['.metadata.annotations: Invalid value: "a=b": must be of type object'],
    ),
    # --- finalizers
    ("finalizers valid", ok(finalizers=["example.com/cleanup", "plain"]), True, []),
    (
        "finalizer empty",
        ok(finalizers=[""]),
        True,
        ['.metadata.finalizers[0]: Invalid value: "": name part must be non-empty'],
    ),
    (
        "finalizer bad name",
        ok(finalizers=["ok", "bad name"]),
        True,
        [f'.metadata.finalizers[1]: Invalid value: "bad name": {NAME_PART_MESSAGE}'],
    ),
    (
        "finalizer not a string",
        ok(finalizers=[5]),
        True,
        [".metadata.finalizers[0]: Invalid value: 5: must be of type string"],
    ),
    (
        "finalizer duplicate",
        ok(finalizers=["a/b", "a/b"]),
        True,
        ['.metadata.finalizers[1]: Duplicate value: "a/b"'],
    ),
    (
        "finalizers not a list",
        ok(finalizers="a/b"),
        True,
        ['.metadata.finalizers: Invalid value: "a/b": must be of type array'],
    ),
    # --- ownerReferences
    (
        "owner valid",
        ok(ownerReferences=[{**OWNER, "controller": True, "blockOwnerDeletion": True}]),
        True,
        [],
    ),
    (
        "owner fields required",
        ok(ownerReferences=[{"name": ""}]),
        True,
        [
            ".metadata.ownerReferences[0].apiVersion: Required value",
            ".metadata.ownerReferences[0].kind: Required value",
            ".metadata.ownerReferences[0].name: Required value",
            ".metadata.ownerReferences[0].uid: Required value",
        ],
    ),
    (
        "owner field not a string",
        ok(ownerReferences=[{**OWNER, "uid": 7}]),
        True,
        [".metadata.ownerReferences[0].uid: Invalid value: 7: must be of type string"],
    ),
    (
        "owner controller not a bool",
        ok(ownerReferences=[{**OWNER, "controller": "yes"}]),
        True,
        ['.metadata.ownerReferences[0].controller: Invalid value: "yes": must be of type boolean'],
    ),
    (
        "owner unknown field",
        ok(ownerReferences=[{**OWNER, "extra": 1}]),
        True,
        [".metadata.ownerReferences[0].extra: field not declared in schema"],
    ),
    (
        "owner not an object",
        ok(ownerReferences=["s1"]),
        True,
        ['.metadata.ownerReferences[0]: Invalid value: "s1": must be of type object'],
    ),
    (
        "owners not a list",
        ok(ownerReferences={}),
        True,
        [".metadata.ownerReferences: Invalid value: {}: must be of type array"],
    ),
    (
        "owner duplicate uid",
        ok(ownerReferences=[OWNER, {**OWNER, "name": "other"}]),
        True,
        ['.metadata.ownerReferences[1]: Duplicate value: {"uid": "u-1"}'],
    ),
    (
        "two controllers",
        ok(
            ownerReferences=[
                {**OWNER, "controller": True},
                {**OWNER, "name": "s2", "uid": "u-2", "controller": True},
                {**OWNER, "name": "s3", "uid": "u-3", "controller": False},
            ]
        ),
        True,
        [
            '.metadata.ownerReferences: Invalid value: ["s1", "s2"]: '
            "Only one reference can have Controller set to true"
        ],
    ),
]


@pytest.mark.parametrize(("md", "namespaced", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_validate_metadata(md: Any, namespaced: bool, expected: list[str]) -> None:
    assert errors(md, namespaced=namespaced) == expected


def test_all_errors_reported_sorted() -> None:
    md = {"name": "Bad", "labels": {"bad key": "v"}, "finalizers": ["", "x"], "zzz": 1}
    assert validate_metadata({"metadata": md}, namespaced=True) == [
        FieldError(".metadata.finalizers[0]", 'Invalid value: "": name part must be non-empty'),
        FieldError(".metadata.labels", f'Invalid value: "bad key": {NAME_PART_MESSAGE}'),
        FieldError(".metadata.name", f'Invalid value: "Bad": {SUBDOMAIN_MESSAGE}'),
        FieldError(".metadata.namespace", "Required value"),
        FieldError(".metadata.zzz", "field not declared in schema"),
    ]


def test_name_too_long_and_invalid_reports_both() -> None:
    name = "A" * 254
    assert errors({"name": name}, namespaced=False) == [
        f'.metadata.name: Invalid value: "{name}": {SUBDOMAIN_MESSAGE}',
        f'.metadata.name: Invalid value: "{name}": must be no more than 253 characters',
    ]


@pytest.mark.parametrize(
    ("value", "subdomain", "label", "qualified"),
    [
        ("a", True, True, True),
        ("a-1", True, True, True),
        ("a.b", True, False, True),
        ("A", False, False, True),
        ("a_b", False, False, True),
        ("-a", False, False, False),
        ("a-", False, False, False),
        ("", False, False, False),
        ("example.com/x", False, False, True),
        ("l" * 63, True, True, True),
        ("l" * 64, True, False, False),
        (5, False, False, False),
    ],
)
def test_name_predicates(value: Any, subdomain: bool, label: bool, qualified: bool) -> None:
    assert is_dns1123_subdomain(value) is subdomain
    assert is_dns1123_label(value) is label
    assert is_qualified_name(value) is qualified


CHECKED = {"name": "w", "namespace": "default", "labels": {"a": "b"}, "ownerReferences": [{"uid": "u"}]}


@pytest.mark.parametrize(
    ("metadata", "same"),
    [
        (dict(CHECKED), True),
        ({**CHECKED, "managedFields": [{"manager": "m"}], "uid": "x", "resourceVersion": "3"}, True),
        ({**CHECKED, "labels": {"a": "c"}}, False),
        ({**CHECKED, "labels": {"a": "b", "B@d": "x"}}, False),
        ({**CHECKED, "finalizers": ["f"]}, False),
        ({**CHECKED, "colour": "red"}, False),
        ({k: v for k, v in CHECKED.items() if k != "labels"}, False),
        (None, False),
    ],
    ids=["equal", "server-fields-added", "label-changed", "label-added", "finalizer-added", "unknown-field",
         "labels-gone", "no-metadata"],
)
def test_metadata_that_passed_is_not_checked_again_when_the_same(metadata: Any, same: bool) -> None:
    """Writes validate the request's metadata to find the key; the object they store skips the same check
    only when every field the rules read is the same and no unknown field came in."""
    assert same_checked_metadata(CHECKED, {"metadata": metadata}) is same
    assert same_checked_metadata(None, {"metadata": dict(CHECKED)}) is False
