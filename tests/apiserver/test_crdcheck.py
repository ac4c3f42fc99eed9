"""CRDs are checked like the Kubernetes API server checks them: every mistake is an error naming the
CRD and the path to the mistake, never a crash and never a kind that silently validates nothing."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from choreo.apiserver import crdcheck
from choreo.apiserver.registry import builtin_crds, resource_from_crd
from choreo.apiserver.server import APIServer
from choreo.errors import Invalid
from choreo.store.memory import MemoryBackend

ROOT = "spec.versions[0].schema.openAPIV3Schema"
SIZE = f"{ROOT}.properties.spec.properties.size"


def _crd(**size: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "foos.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"kind": "Foo", "plural": "foos"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {"type": "object", "properties": {"size": size or {"type": "string"}}},
                            },
                        }
                    },
                }
            ],
        },
    }


def _root(crd: dict[str, Any]) -> dict[str, Any]:
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def _problem(crd: dict[str, Any]) -> str:
    with pytest.raises(Invalid) as caught:
        resource_from_crd(crd, source="crds/x.yaml")
    message = str(caught.value)
    assert message.startswith("crds/x.yaml: CustomResourceDefinition foos.example.com: "), message
    assert "\n" not in message
    return message.split(": CustomResourceDefinition foos.example.com: ", 1)[1]


def test_a_sound_crd_passes() -> None:
    assert crdcheck.crd_problems(_crd()) == []
    assert resource_from_crd(_crd()).kind == "Foo"


def test_builtin_crds_pass() -> None:
    for crd in builtin_crds():
        assert crdcheck.crd_problems(crd) == [], crd["metadata"]["name"]


@pytest.mark.parametrize(
    ("size", "path", "needle"),
    [
        ({"type": "string", "pattern": "[a-"}, "pattern", "must be a valid RE2 regular expression"),
        ({"type": "string", "pattern": "(?=a)b"}, "pattern", "look-ahead"),
        ({"type": "string", "pattern": "a(?<!b)"}, "pattern", "look-behind"),
        ({"type": "string", "pattern": r"(a)\1"}, "pattern", "backreference"),
        ({"type": "string", "pattern": r"a*+"}, "pattern", "possessive"),
        ({"type": "string", "pattern": r"a{1001}"}, "pattern", "limit of 1000"),
        ({"type": "string", "pattern": r"(?x)a"}, "pattern", "flag x"),
        ({"type": "string", "pattern": r"end\Z"}, "pattern", r"\z"),
        ({"type": "string", "pattern": 5}, "pattern", "must be a string"),
        ({"type": "objekt"}, "type", 'Unsupported value: "objekt"'),
        ({"type": 5}, "type", "must be one type name"),
        ({"type": ["string", "null"]}, "type", "must be one type name"),
        ({"description": "no type"}, "type", "Required value"),
        ({"type": "object", "required": "name"}, "required", "must be a list"),
        ({"type": "string", "enum": "a"}, "enum", "must be a list"),
        ({"type": "string", "maxLength": -1}, "maxLength", "must be >= 0"),
        ({"type": "string", "minLength": "1"}, "minLength", "must be an integer >= 0"),
        ({"type": "integer", "default": "ten"}, "default", "must be of type integer"),
        ({"type": "string", "enum": ["a", 1]}, "enum[1]", "must be of type string"),
        ({"type": "object", "properties": ["a"]}, "properties", "must be a mapping"),
        ({"type": "array"}, "items", "must be specified"),
        ({"type": "array", "items": [{"type": "string"}]}, "items", "not an array"),
        ({"$ref": "#/definitions/x"}, "$ref", "$ref is not supported"),
        ({"type": "string", "maxlength": 3}, "maxlength", "unknown field"),
        ({"type": "array", "items": {"type": "object"}, "x-kubernetes-list-type": "map"},
         "x-kubernetes-list-map-keys", "must not be empty"),
        ({"type": "array", "items": {"type": "object", "properties": {"n": {"type": "string"}}},
          "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
         "x-kubernetes-list-map-keys[0]", "must name a property"),
        ({"type": "array", "items": {"type": "object", "properties": {"n": {"type": "string"}}},
          "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["n"]},
         "x-kubernetes-list-map-keys[0]", "must be required or have a default"),
        ({"type": "array", "items": {"type": "object", "required": ["n"], "properties": {"n": {"type": "string"}}},
          "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["n", "n"]},
         "x-kubernetes-list-map-keys[1]", "must not be listed twice"),
        ({"type": "array", "items": {"type": "object", "required": ["n"], "properties": {
            "n": {"type": "string", "nullable": True}}}, "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["n"]}, "x-kubernetes-list-map-keys[0]", "cannot be nullable"),
        ({"type": "array", "items": {"type": "string"}, "uniqueItems": "yes"}, "uniqueItems", "must be a boolean"),
        ({"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "bag"},
         "x-kubernetes-list-type", "Unsupported value"),
        ({"type": "array", "items": {"type": "string"}, "uniqueItems": True}, "uniqueItems", "Forbidden"),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "string"}},
         "additionalProperties", "mutual exclusive"),
        ({"type": "object", "additionalProperties": False}, "additionalProperties", "cannot be set to false"),
        ({"type": "string", "allOf": [{"type": "string"}]}, "allOf[0].type", "must not be set inside"),
        ({"type": "string", "x-kubernetes-preserve-unknown-fields": False},
         "x-kubernetes-preserve-unknown-fields", "must be true or undefined"),
        ({"type": "integer", "multipleOf": 0}, "multipleOf", "must be > 0"),
        ({"type": "string", "nullable": "yes"}, "nullable", "must be a boolean"),
    ],
)
def test_schema_mistakes_name_the_path(size: dict[str, Any], path: str, needle: str) -> None:
    problem = _problem(_crd(**size))
    assert problem.startswith(f"{SIZE}.{path}: "), problem
    assert needle in problem


def test_patterns_kubernetes_accepts_pass() -> None:
    for pattern in (r"^[a-z]([-a-z0-9]*[a-z0-9])?$", r"[(?=]", r"[]a]", r"(?i)abc", r"(?P<x>a)", r"a{2,1000}", r"\d+"):
        assert crdcheck.re2_problem(pattern) is None, pattern


def test_int_or_string_any_of_is_structural() -> None:
    size = {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert crdcheck.crd_problems(_crd(**size)) == []


def test_nested_default_is_checked_with_its_path() -> None:
    size = {"type": "object", "properties": {"n": {"type": "integer"}}, "default": {"n": "x"}}
    assert _problem(_crd(**size)).startswith(f"{SIZE}.default.n: Invalid value")


def test_top_level_array_and_missing_schema() -> None:
    crd = _crd()
    _root(crd)["type"] = "array"
    problems = [str(p) for p in crdcheck.crd_problems(crd)]
    assert f'{ROOT}.type: Invalid value: "array": must be object at the root' in problems
    del crd["spec"]["versions"][0]["schema"]
    assert _problem(crd) == f"{ROOT}: Required value: schemas are required"


def test_duplicate_version_names() -> None:
    crd = _crd()
    crd["spec"]["versions"].append(dict(copy.deepcopy(crd["spec"]["versions"][0]), storage=False))
    assert _problem(crd) == 'spec.versions[1].name: Duplicate value: "v1"'


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda spec: spec.update(group=42), "spec.group: must be a string, got 42"),
        (
            lambda spec: spec["names"].update(kind="Foo.v2"),
            'spec.names.kind: Invalid value: "Foo.v2": may have mixed case, but should otherwise be a DNS label',
        ),
        (
            lambda spec: spec["names"].update(listKind="Foo_List"),
            'spec.names.listKind: Invalid value: "Foo_List": may have mixed case, but should otherwise be a DNS label',
        ),
        (
            lambda spec: spec["versions"][0].update(name="V1"),
            'spec.versions[0].name: Invalid value: "V1": must be a lowercase DNS label',
        ),
        (
            lambda spec: spec["versions"][0].update(name="v" * 64),
            f'spec.versions[0].name: Invalid value: "{"v" * 64}": must be a lowercase DNS label',
        ),
    ],
)
def test_names_kube_apiserver_refuses_are_refused(edit: Any, expected: str) -> None:
    """Such a CRD was served: a group that is not a string read as missing ("spec.group is required"), and a
    kind or version that no object can name (``apiVersion: example.com/V1`` is not a version) failed only
    at the objects of ``in/``, naming their file and not the CRD's mistake."""
    crd = _crd()
    edit(crd["spec"])
    assert _problem(crd) == expected


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("names", ["Foo"], "spec.names: must be a mapping"),
        ("versions", {"v1": {}}, "spec.versions: must be a list of versions"),
        ("group", "example", "spec.group: Invalid value"),
    ],
)
def test_malformed_crd_parts_are_errors_not_crashes(field: str, value: Any, expected: str) -> None:
    crd = _crd()
    crd["spec"][field] = value
    assert _problem(crd).startswith(expected)


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (lambda spec: spec.update(scopes="Namespaced"), "spec.scopes"),
        (lambda spec: spec["names"].update(shortnames=["f"]), "spec.names.shortnames"),
        (lambda spec: spec["versions"][0].update(printerColumns=[]), "spec.versions[0].printerColumns"),
    ],
)
def test_a_misspelt_field_around_the_schemas_is_refused(edit: Any, path: str) -> None:
    """It was ignored: no short name, no printer columns, and nothing said why (kube-apiserver refuses it with
    the strict field validation kubectl asks for)."""
    crd = _crd()
    edit(crd["spec"])
    assert _problem(crd) == f"{path}: unknown field (field names are case-sensitive)"


@pytest.mark.parametrize("spec", [42, "x", ["group"]])
def test_a_spec_that_is_not_a_mapping_is_an_error(spec: Any) -> None:
    """A number, text or list there was an internal error (AttributeError) of the default and enum checks."""
    crd = _crd()
    crd["spec"] = spec
    with pytest.raises(Invalid, match=r"CustomResourceDefinition foos\.example\.com: spec: must be a mapping, got "):
        resource_from_crd(crd, source="crds/x.yaml")


def test_schema_that_is_not_a_mapping() -> None:
    crd = _crd()
    crd["spec"]["versions"][0]["schema"] = "object"
    assert _problem(crd).startswith("spec.versions[0].schema: must be a mapping")


def test_metadata_that_is_not_a_mapping_is_an_error() -> None:
    crd = _crd()
    crd["metadata"] = ["foos.example.com"]
    with pytest.raises(Invalid, match="metadata: must be a mapping"):
        resource_from_crd(crd, source="crds/x.yaml")


def test_several_problems_are_counted() -> None:
    problem = _problem(_crd(type="objekt", maxLength=-1))
    assert problem.endswith("(and 1 more)")


def test_register_crd_refuses_an_invalid_crd() -> None:
    api = APIServer(MemoryBackend())
    with pytest.raises(Invalid, match="maxLength: must be >= 0"):
        api.register_crd(_crd(type="string", maxLength=-1), source="crds/x.yaml")
    assert api.registry.get("example.com", "Foo") is None


def test_messages_stay_short_whatever_the_mistake() -> None:
    problem = _problem(_crd(type="object", properties=[f"field{i}" for i in range(10_000)]))
    assert problem.startswith(f"{SIZE}.properties: must be a mapping")
    assert len(problem) < 500
    default = {"type": "object", "properties": {"n": {"type": "integer"}}, "default": {"n": "x" * 10_000}}
    assert len(_problem(_crd(**default))) < 500
