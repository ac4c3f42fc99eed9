"""x-kubernetes-validations: CEL rules are compiled when the CRD is registered and enforced on every write, as
kube-apiserver does: a rule that does not compile refuses the CRD, a rule an object breaks is a field error."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from choreo.apiserver import celrules, openapi
from choreo.apiserver.server import APIServer
from choreo.errors import Invalid
from choreo.store.memory import MemoryBackend
from tests.server.harness import crd

ROOT = "spec.versions[0].schema.openAPIV3Schema"

SCHEMA: dict[str, Any] = {
    "type": "object",
    "x-kubernetes-validations": [
        {"rule": "self.metadata.name.startsWith('t-')", "message": "the name must start with t-"},
        {"rule": "!has(self.metadata.namespace)"},  # the rules see only name and generateName
    ],
    "properties": {
        "spec": {
            "type": "object",
            "x-kubernetes-validations": [
                {"rule": "self.min <= self.max", "message": "min must not exceed max", "fieldPath": ".min"},
                {"rule": "self.ratio * 2.0 <= 1.0", "reason": "FieldValueForbidden"},
                {"rule": "self.owner == oldSelf.owner",
                 "messageExpression": "'owner is immutable, was ' + oldSelf.owner"},
                {"rule": "!has(self.tags) || self.tags.size() <= 2", "reason": "FieldValueRequired",
                 "message": "at most two tags"},
            ],
            "properties": {
                "owner": {"type": "string",
                          "x-kubernetes-validations": [{"rule": "self.lowerAscii() == self && self.trim() == self"}]},
                "min": {"type": "integer"},
                "max": {"type": "integer"},
                "ratio": {"type": "number", "default": 0},
                "tags": {"type": "array", "items": {"type": "string"},
                         "x-kubernetes-validations": [{"rule": "self.isSorted()", "reason": "FieldValueDuplicate"}]},
                "ports": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {"name": {"type": "string"}, "port": {"type": "integer"}},
                        "x-kubernetes-validations": [
                            {"rule": "self.port > 1024", "message": "port must be above 1024"},
                            {"rule": "self.port >= oldSelf.port", "message": "a port may only grow"},
                        ],
                    },
                },
                "first": {
                    "type": "string",
                    "x-kubernetes-validations": [
                        {"rule": "oldSelf.hasValue() || self == 'new'", "optionalOldSelf": True,
                         "message": "first must be new when created"},
                    ],
                },
            },
        },
    },
}  # fmt: skip


def _crd(schema: dict[str, Any]) -> dict[str, Any]:
    return crd("example.com", "Task", schema)


@pytest.fixture
def api() -> APIServer:
    ticks = itertools.count()
    server = APIServer(MemoryBackend(), clock=lambda: f"2026-01-01T00:00:{next(ticks) % 60:02d}Z")
    server.register_crd(_crd(copy.deepcopy(SCHEMA)))
    return server


def _task(name: str = "t-one", **spec: Any) -> dict[str, Any]:
    good = {"owner": "ann", "min": 1, "max": 2, "first": "new", "ports": [{"name": "http", "port": 8080}]}
    return {"apiVersion": "example.com/v1", "kind": "Task", "metadata": {"name": name, "namespace": "default"},
            "spec": {**good, **spec}}  # fmt: skip


def _causes(api: APIServer, obj: dict[str, Any], *, update: bool = False) -> list[tuple[str, str]]:
    with pytest.raises(Invalid) as caught:
        api.update(obj) if update else api.create(obj)
    assert str(caught.value).startswith('Task.example.com "')
    return caught.value.causes


def test_an_object_that_keeps_every_rule_is_stored(api: APIServer) -> None:
    stored = api.create(_task())
    assert stored["spec"]["owner"] == "ann"


def test_a_broken_rule_at_the_root_is_an_error_at_the_root(api: APIServer) -> None:
    assert _causes(api, _task("one")) == [(".", 'Invalid value: "object": the name must start with t-')]


def test_a_broken_rule_names_the_field_the_rule_points_at_with_its_message(api: APIServer) -> None:
    assert _causes(api, _task(min=5, max=2)) == [(".spec.min", 'Invalid value: "object": min must not exceed max')]


def test_reason_sets_the_error_type_and_the_default_message_quotes_the_rule(api: APIServer) -> None:
    # ratio is a number: 1 reaches the rule as the double 1.0 (an int would not multiply with 2.0)
    assert _causes(api, _task(ratio=1)) == [(".spec", "Forbidden: failed rule: self.ratio * 2.0 <= 1.0")]
    assert _causes(api, _task(tags=["a", "b", "c"])) == [(".spec", "Required value: at most two tags")]
    assert _causes(api, _task(tags=["b", "a"])) == [(".spec.tags", 'Duplicate value: "array"')]


def test_rules_on_a_property_and_on_list_items_name_the_value(api: APIServer) -> None:
    causes = _causes(api, _task(owner="Ann", ports=[{"name": "http", "port": 8080}, {"name": "ssh", "port": 22}]))
    assert causes == [
        (".spec.owner", 'Invalid value: "string": failed rule: self.lowerAscii() == self && self.trim() == self'),
        (".spec.ports[1]", 'Invalid value: "object": port must be above 1024'),
    ]


def test_transition_rules_are_skipped_on_create_and_compare_with_the_stored_value_on_update(api: APIServer) -> None:
    api.create(_task(ports=[{"name": "http", "port": 8080}, {"name": "web", "port": 9000}]))
    current = api.get("example.com", "Task", "default", "t-one")
    current["spec"]["owner"] = "bob"
    # list-map items are matched by key, not by index: web moved to the front and shrank, http is new
    current["spec"]["ports"] = [{"name": "web", "port": 8999}, {"name": "new", "port": 2000}]
    assert _causes(api, current, update=True) == [
        (".spec", 'Invalid value: "object": owner is immutable, was ann'),
        (".spec.ports[0]", 'Invalid value: "object": a port may only grow'),
    ]
    current["spec"]["owner"] = "ann"
    current["spec"]["ports"] = [{"name": "web", "port": 9001}, {"name": "new", "port": 2000}]
    assert api.update(current)["spec"]["ports"][0]["port"] == 9001


def test_optional_old_self_runs_on_create_too(api: APIServer) -> None:
    refused = _causes(api, _task(first="old"))
    assert refused == [(".spec.first", 'Invalid value: "string": first must be new when created')]
    api.create(_task())
    current = api.get("example.com", "Task", "default", "t-one")
    current["spec"]["first"] = "changed"  # an old value exists now
    assert api.update(current)["spec"]["first"] == "changed"


def test_an_evaluation_error_is_a_field_error_naming_the_rule() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}},
              "x-kubernetes-validations": [{"rule": "self.a == 'x'"}]}}}  # fmt: skip
    errors = openapi.validate(schema, {"spec": {}})
    expected = ".spec: Invalid value: \"object\": no such key: a evaluating rule: self.a == 'x'"
    assert [str(e) for e in errors] == [expected]


def test_message_expression_that_fails_falls_back_to_the_message() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer", "x-kubernetes-validations": [
        {"rule": "self > 1", "message": "too small", "messageExpression": "'got ' + self"}]}}}  # fmt: skip
    assert [str(e) for e in openapi.validate(schema, {"a": 1})] == ['.a: Invalid value: "integer": too small']


def test_a_schema_without_rules_never_enters_the_rules_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the rules walk ran on a schema without rules")

    monkeypatch.setattr(openapi._Validator, "check_rules", never)
    plain = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}}}
    assert openapi.validate(plain, {"spec": {"a": "x"}}, old={"spec": {"a": "y"}}) == []


@pytest.mark.parametrize(
    ("rule", "where", "needle"),
    [
        ({"rule": "self.name ==="}, "rule",
         'Invalid value: "self.name ===": compilation failed: ERROR: <input>:1:13: Syntax error'),
        ({"rule": "quantity(self.size) > 1"}, "rule",
         "compilation failed: undeclared reference to 'quantity' (choreo's CEL has no quantity library)"),
        ({"rule": "self.name.size() > 1", "messageExpression": "'a' +"}, "messageExpression",
         "messageExpression compilation failed"),
        ({"rule": "true", "reason": "FieldValueWrong"}, "reason", 'Unsupported value: "FieldValueWrong"'),
        ({"rule": "true", "fieldPath": ".nope"}, "fieldPath", "does not refer to a valid field"),
        ({"rule": "  "}, "rule", "Required value: rule is not specified"),
    ],
)  # fmt: skip
def test_a_rule_kubernetes_would_not_accept_refuses_the_crd(rule: dict[str, Any], where: str, needle: str) -> None:
    schema = copy.deepcopy(SCHEMA)
    schema["properties"]["spec"]["x-kubernetes-validations"] = [{"rule": "true"}, rule]
    server = APIServer(MemoryBackend())
    with pytest.raises(Invalid) as caught:
        server.register_crd(_crd(schema), source="crds/tasks.yaml")
    message = str(caught.value)
    path = f"{ROOT}.properties.spec.x-kubernetes-validations[1].{where}: "
    assert message.startswith(f"crds/tasks.yaml: CustomResourceDefinition tasks.example.com: {path}"), message
    assert needle in message and "\n" not in message


def test_old_self_below_the_items_of_a_list_that_is_not_a_map_refuses_the_crd() -> None:
    schema = copy.deepcopy(SCHEMA)
    schema["properties"]["spec"]["properties"]["tags"]["items"]["x-kubernetes-validations"] = [
        {"rule": "self == oldSelf"}
    ]
    with pytest.raises(Invalid, match=r"tags\.items\.x-kubernetes-validations\[0\]\.rule: .*uncorrelatable"):
        APIServer(MemoryBackend()).register_crd(_crd(schema))


def test_a_crd_created_through_the_api_is_checked_too(api: APIServer) -> None:
    from choreo.server.project import install_hooks  # what a served project registers CRDs with

    install_hooks(api)
    schema = copy.deepcopy(SCHEMA)
    schema["x-kubernetes-validations"] = [{"rule": "self.spec.owner ==="}]
    crd = _crd(schema)
    crd["metadata"]["name"] = "others.example.com"
    crd["spec"]["names"] = {"kind": "Other", "plural": "others"}
    with pytest.raises(Invalid, match=r"openAPIV3Schema\.x-kubernetes-validations\[0\]\.rule: .*compilation failed"):
        api.create(crd)
    assert api.registry.get("example.com", "Other") is None


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("'a,b,c'.split(',')", ["a", "b", "c"]),
        ("'a,b,c'.split(',', 2)", ["a", "b,c"]),
        ("['a', 'b'].join('-')", "a-b"),
        ("'hello'.indexOf('l')", 2),
        ("'hello'.lastIndexOf('l')", 3),
        ("[1, 2, 3].indexOf(2)", 1),
        ("'Hello'.upperAscii()", "HELLO"),
        ("'aXa'.replace('a', 'b')", "bXb"),
        ("'hello'.substring(1, 3)", "el"),
        ("'hello'.charAt(1)", "e"),
        ("[1, 2, 3].sum()", 6),
        ("[3, 1, 2].min()", 1),
        ("[3, 1, 2].max()", 3),
        ("[1, 2, 2].isSorted()", True),
        ("'abc123'.find('[0-9]+')", "123"),
        ("'a1b2'.findAll('[0-9]')", ["1", "2"]),
    ],
)
def test_the_kubernetes_string_list_and_regex_extensions(expression: str, expected: Any) -> None:
    compiled = celrules.compile_expression(expression)
    assert compiled.program is not None, compiled.problem
    assert compiled.program.execute(celrules._context({}, compiled.functions)) == expected
