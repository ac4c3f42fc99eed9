"""Tests of the CEL selector engine (spec/choreo-compat.md §3.4, §3.5, §7.3, §7.6)."""

from __future__ import annotations

import pytest

from choreo.errors import Invalid
from choreo.runtime import selectors
from choreo.runtime.selectors import (
    Selector,
    WatchSelector,
    compile_selector,
    eval_path,
    field_selector,
    go_string,
)


def make(name: str, namespace: str = "default", spec: dict | None = None, status: dict | None = None) -> dict:
    obj: dict = {
        "apiVersion": "example.com/v1alpha1",
        "kind": "Thing",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": spec if spec is not None else {},
    }
    if status is not None:
        obj["status"] = status
    return obj


READY = {"conditions": [{"type": "Ready", "status": "True"}]}
NOT_READY = {"conditions": [{"type": "Ready", "status": "False"}]}
EXISTS_READY = "status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')"

OBJ = make(
    "kubenet.default",
    spec={
        "provider": "upf.free5gc.io",
        "replicas": 3,
        "ratio": 1.5,
        "whole": 2.0,
        "flag": True,
        "off": False,
        "nothing": None,
        "tags": ["a", "b"],
        "nested": {"deep": {"value": "x"}},
        "numstr": "7",
    },
    status=READY,
)


# --------------------------------------------------------------------------------------------------
# eval_path


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("metadata.name", (True, "kubenet.default")),
        ("spec.provider", (True, "upf.free5gc.io")),
        ("spec.replicas", (True, 3)),
        ("spec.ratio", (True, 1.5)),
        ("spec.flag", (True, True)),
        ("spec.nothing", (True, None)),
        ("spec.tags", (True, ["a", "b"])),
        ("spec.nested.deep.value", (True, "x")),
        ("metadata.labels['app']", (True, "kubenet.default")),
        ("spec.tags[1]", (True, "b")),
        ("spec.replicas > 2", (True, True)),
        (EXISTS_READY, (True, True)),
        ("spec.missing", (False, None)),
        ("spec.nested.missing.value", (False, None)),
        ("kubenet.default", (False, None)),
        ("spec.tags[5]", (False, None)),
        ("spec.replicas + 'a'", (False, None)),
        ("true", (False, None)),  # compile error: reserved word
        ("spec.(", (False, None)),
        ("", (False, None)),
    ],
)
def test_eval_path(expr: str, expected: tuple[bool, object]) -> None:
    assert eval_path(expr, OBJ) == expected


def test_eval_path_unconvertible_value_is_not_found() -> None:
    assert eval_path("spec.x", {"spec": {"x": object()}}) == (False, None)


def test_programs_are_cached_per_expression() -> None:
    selectors._program.cache_clear()
    for _ in range(10000):
        assert eval_path("spec.provider", OBJ) == (True, "upf.free5gc.io")
    info = selectors._program.cache_info()
    assert info.misses == 1
    assert info.hits == 9999


def test_compile_errors_are_cached_too() -> None:
    selectors._program.cache_clear()
    for _ in range(100):
        assert eval_path("spec.(", OBJ) == (False, None)
    assert selectors._program.cache_info().misses == 1


# --------------------------------------------------------------------------------------------------
# go_string


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "true"),
        (False, "false"),
        (None, "<nil>"),
        ("text", "text"),
        ("", ""),
        (1, "1"),
        (-42, "-42"),
        (1.0, "1"),
        (-0.0, "0"),
        (1.5, "1.5"),
        (0.1, "0.1"),
        (1000000.0, "1000000"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1234567.5, "1234567.5"),
        (float("nan"), "NaN"),
        (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"),
        (2**63, "9223372036854775808"),
        (["a", "b"], "[a b]"),
        ([], "[]"),
        ([1, 2.0, True, None], "[1 2 true <nil>]"),
        ({"b": 1, "a": "x"}, "map[a:x b:1]"),
        ({}, "map[]"),
        ({"k": ["x", {"z": False}]}, "map[k:[x map[z:false]]]"),
        (b"hi", "[104 105]"),
    ],
)
def test_go_string(value: object, expected: str) -> None:
    assert go_string(value) == expected


# --------------------------------------------------------------------------------------------------
# compile_selector: None vs {}, match


def test_none_selects_everything_by_default() -> None:
    selector = compile_selector(None)
    assert selector.everything
    assert selector.matches(OBJ)
    assert selector.matches({})


def test_none_selects_nothing_in_reference_mode() -> None:
    selector = compile_selector(None, absent_means_everything=False)
    assert not selector.everything
    assert selector.nothing
    assert not selector.matches(OBJ)


@pytest.mark.parametrize("spec", [{}, {"match": {}}, {"matchExpressions": []}, {"match": None}])
def test_empty_selects_everything(spec: dict) -> None:
    for absent in (True, False):
        selector = compile_selector(spec, absent_means_everything=absent)
        assert selector.everything
        assert selector.matches(OBJ)


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        ({"metadata.name": "kubenet.default"}, True),
        ({"metadata.name": "other"}, False),
        ({"spec.provider": "upf.free5gc.io"}, True),
        ({"spec.provider": "upf.free5gc.io", "metadata.namespace": "default"}, True),
        ({"spec.provider": "upf.free5gc.io", "metadata.namespace": "other"}, False),
        ({"spec.nested.deep.value": "x"}, True),
        ({EXISTS_READY: "true"}, True),
        ({EXISTS_READY: True}, True),  # YAML boolean is compared through its %v string
        ({"spec.replicas": "3"}, True),
        ({"spec.replicas": 3}, True),
        ({"spec.replicas": 3.0}, True),
        ({"spec.whole": "2"}, True),
        ({"spec.whole": "2.0"}, False),
        ({"spec.ratio": "1.5"}, True),
        ({"spec.flag": "true"}, True),
        ({"spec.tags": "[a b]"}, True),
        ({"spec.nothing": "<nil>"}, True),
        ({"spec.missing": "<nil>"}, False),
        ({"spec.missing": ""}, False),
        ({"kubenet.default": "x"}, False),
    ],
)
def test_match(match: dict, expected: bool) -> None:
    assert compile_selector({"match": match}).matches(OBJ) is expected


def test_match_on_not_ready_object() -> None:
    selector = compile_selector({"match": {EXISTS_READY: "true"}})
    assert not selector.matches(make("a", status=NOT_READY))
    assert not selector.matches(make("a"))  # no status at all: evaluation error, not found


def test_numbers_int_and_float_compare_equal() -> None:
    selector = compile_selector({"match": {"spec.n": "1"}})
    assert selector.matches(make("a", spec={"n": 1}))
    assert selector.matches(make("a", spec={"n": 1.0}))
    assert not selector.matches(make("a", spec={"n": 1.5}))


# --------------------------------------------------------------------------------------------------
# matchExpressions operators


def expression(expr: str, operator: str, *values: object) -> dict:
    entry: dict = {"expression": expr, "operator": operator}
    if values:
        entry["values"] = list(values)
    return {"matchExpressions": [entry]}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (expression("spec.provider", "Equals", "upf.free5gc.io"), True),
        (expression("spec.provider", "Equals", "other"), False),
        (expression("spec.missing", "Equals", "x"), False),
        (expression("spec.provider", "DoubleEquals", "upf.free5gc.io"), True),
        (expression("spec.provider", "DoubleEquals", "other"), False),
        (expression("spec.missing", "DoubleEquals", "x"), False),
        (expression("spec.provider", "NotEquals", "other"), True),
        (expression("spec.provider", "NotEquals", "upf.free5gc.io"), False),
        (expression("spec.missing", "NotEquals", "x"), True),
        (expression("spec.provider", "In", "a", "upf.free5gc.io"), True),
        (expression("spec.provider", "In", "a", "b"), False),
        (expression("spec.missing", "In", "a"), False),
        (expression("spec.replicas", "In", 1, 3), True),
        (expression("spec.provider", "NotIn", "a", "b"), True),
        (expression("spec.provider", "NotIn", "a", "upf.free5gc.io"), False),
        (expression("spec.missing", "NotIn", "a"), True),
        (expression("spec.provider", "Exists"), True),
        (expression("spec.nothing", "Exists"), True),  # present with a null value
        (expression("spec.missing", "Exists"), False),
        (expression("spec.provider", "DoesNotExist"), False),
        (expression("spec.missing", "DoesNotExist"), True),
        (expression("spec.replicas", "GreaterThan", "2"), True),
        (expression("spec.replicas", "GreaterThan", 3), False),
        (expression("spec.replicas", "GreaterThan", "-1"), True),
        (expression("spec.replicas", "LessThan", "4"), True),
        (expression("spec.replicas", "LessThan", "3"), False),
        (expression("spec.whole", "LessThan", "3"), True),  # 2.0 prints "2"
        (expression("spec.numstr", "GreaterThan", "6"), True),  # compared as strings parsed to ints
        (expression("spec.ratio", "GreaterThan", "1"), False),  # "1.5" is not an integer
        (expression("spec.provider", "GreaterThan", "1"), False),
        (expression("spec.missing", "GreaterThan", "1"), False),
        (expression("spec.missing", "LessThan", "1"), False),
        (expression(EXISTS_READY, "Equals", "true"), True),
        (expression(EXISTS_READY, "NotEquals", "true"), False),
    ],
)
def test_operators(spec: dict, expected: bool) -> None:
    assert compile_selector(spec).matches(OBJ) is expected


@pytest.mark.parametrize(
    "spec",
    [
        expression("spec.(", "Exists"),
        {"match": {"metadata.name ==": "a"}},
        {"match": {"!!!": "a"}},
    ],
)
def test_expression_that_is_not_cel_is_invalid(spec: dict) -> None:
    with pytest.raises(Invalid, match="is not a valid CEL expression: Syntax error"):
        compile_selector(spec)


def test_match_and_match_expressions_are_anded() -> None:
    spec = {
        "match": {"metadata.namespace": "default"},
        "matchExpressions": [{"expression": "spec.replicas", "operator": "GreaterThan", "values": ["1"]}],
    }
    selector = compile_selector(spec)
    assert not selector.everything
    assert selector.matches(OBJ)
    assert not selector.matches(make("a", namespace="other", spec={"replicas": 5}))
    assert not selector.matches(make("a", spec={"replicas": 1}))


def test_selector_requirements_are_exposed() -> None:
    selector = compile_selector({"match": {"metadata.name": "a"}})
    assert selector.requirements == (selectors.Requirement("metadata.name", "Equals", ("a",)),)


# --------------------------------------------------------------------------------------------------
# Invalid selectors


@pytest.mark.parametrize(
    ("spec", "message_part"),
    [
        ([], "selector must be a map"),
        ("metadata.name", "selector must be a map"),
        ({"matchLabels": {"a": "b"}}, "matchLabels"),
        ({"match": ["a"]}, "match must be a map"),
        ({"match": {"spec.a": None}}, "spec.a"),
        ({"match": {"spec.a": ["x"]}}, "spec.a"),
        ({"match": {"": "x"}}, "non-empty"),
        ({"matchExpressions": {"a": "b"}}, "must be a list"),
        ({"matchExpressions": ["spec.a"]}, "must be a map"),
        ({"matchExpressions": [{"operator": "Exists"}]}, "selector matchExpressions entry: expression is required"),
        (
            {"matchExpressions": [{"key": "spec.a", "operator": "In", "values": ["x"]}]},
            "selector matchExpressions entry: unknown field(s) key (expected expression, operator, values)",
        ),
        (expression("spec.a", "Bogus", "x"), "Bogus"),
        (expression("spec.a", "equals", "x"), "equals"),
        ({"matchExpressions": [{"expression": "spec.a"}]}, "selector expression 'spec.a': operator is required"),
        ({"matchExpressions": [{"expression": "spec.a", "operator": ["In"]}]}, "operator must be a string, got list"),
        ({"matchExpressions": [{"expression": "spec.a", "operator": "In", "values": "x"}]}, "values"),
        ({"matchExpressions": [{"expression": "spec.a", "operator": "In", "value": ["x"]}]}, "value"),
        (expression("spec.a", "In"), "at least 1 value"),
        (expression("spec.a", "NotIn"), "at least 1 value"),
        (expression("spec.a", "Equals"), "exactly 1 value"),
        (expression("spec.a", "Equals", "x", "y"), "exactly 1 value"),
        (expression("spec.a", "NotEquals", "x", "y"), "exactly 1 value"),
        (expression("spec.a", "Exists", "x"), "no values"),
        (expression("spec.a", "DoesNotExist", "x"), "no values"),
        (expression("spec.a", "GreaterThan"), "exactly 1 value"),
        (expression("spec.a", "GreaterThan", "1.5"), "integer"),
        (expression("spec.a", "LessThan", "ten"), "integer"),
    ],
)
def test_invalid_selectors(spec: object, message_part: str) -> None:
    with pytest.raises(Invalid) as info:
        compile_selector(spec)  # type: ignore[arg-type]
    assert message_part in str(info.value)
    if "expression" in str(spec) and "operator" in str(spec):
        assert "spec.a" in str(info.value)


def test_unknown_operator_names_it_and_the_expression() -> None:
    with pytest.raises(Invalid, match=r"'spec\.a'.*unknown operator 'Bogus'"):
        compile_selector(expression("spec.a", "Bogus", "x"))


# --------------------------------------------------------------------------------------------------
# field_selector


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        (None, True),
        ({}, True),
        ({"metadata.name": "kubenet.default"}, True),
        ({"metadata.name": "kubenet.default", "metadata.namespace": "default"}, True),
        ({"metadata.name": "kubenet.default", "metadata.namespace": "other"}, False),
        ({"spec.replicas": "3"}, True),
        ({"spec.flag": "true"}, True),
        ({"spec.missing": "x"}, False),
        ({EXISTS_READY: "true"}, True),
    ],
)
def test_field_selector(pairs: dict | None, expected: bool) -> None:
    assert field_selector(pairs).matches(OBJ) is expected


def test_field_selector_empty_is_everything() -> None:
    assert field_selector(None).everything
    assert field_selector({}).everything
    assert not field_selector({"metadata.name": "a"}).everything


def test_field_selector_invalid() -> None:
    with pytest.raises(Invalid):
        field_selector(["metadata.name"])  # type: ignore[arg-type]
    with pytest.raises(Invalid):
        field_selector({"metadata.name": {"a": "b"}})  # type: ignore[dict-item]


# --------------------------------------------------------------------------------------------------
# WatchSelector


FOR_OBJECTS = [
    make("site-b", namespace="ns1", spec={"node": "n2"}),
    make("site-a", namespace="ns2", spec={"node": "n1"}),
    make("site-c", namespace="ns1", spec={"node": "n1"}),
    make("site-d", namespace="ns1", spec={}),
]
ALL = compile_selector({})


def names(objects: list[dict]) -> list[str]:
    return [f"{o['metadata']['namespace']}/{o['metadata']['name']}" for o in objects]


def test_watch_without_selector_enqueues_every_for_object() -> None:
    for spec in (None, {}):
        watch = WatchSelector(spec)
        got = watch.targets(make("anything"), FOR_OBJECTS, ALL)
        assert names(got) == ["ns1/site-b", "ns1/site-c", "ns1/site-d", "ns2/site-a"]


def test_watch_respects_for_selector() -> None:
    for_selector = compile_selector({"match": {"metadata.namespace": "ns1"}})
    got = WatchSelector({}).targets(make("anything"), FOR_OBJECTS, for_selector)
    assert names(got) == ["ns1/site-b", "ns1/site-c", "ns1/site-d"]
    nothing = compile_selector(None, absent_means_everything=False)
    assert WatchSelector({}).targets(make("anything"), FOR_OBJECTS, nothing) == []


def test_watch_literal_name() -> None:
    watch = WatchSelector({"match": {"metadata.name": "kubenet.default"}})
    assert len(watch.targets(make("kubenet.default"), FOR_OBJECTS, ALL)) == 4
    assert watch.targets(make("other"), FOR_OBJECTS, ALL) == []


def test_watch_literal_predicate() -> None:
    watch = WatchSelector({"match": {EXISTS_READY: "true"}})
    assert len(watch.targets(make("w", status=READY), FOR_OBJECTS, ALL)) == 4
    assert watch.targets(make("w", status=NOT_READY), FOR_OBJECTS, ALL) == []
    assert watch.targets(make("w"), FOR_OBJECTS, ALL) == []  # K fails on the watched object


def test_watch_several_literals_must_all_match() -> None:
    watch = WatchSelector({"match": {"metadata.name": "kubenet.default", EXISTS_READY: "true"}})
    assert len(watch.targets(make("kubenet.default", status=READY), FOR_OBJECTS, ALL)) == 4
    assert watch.targets(make("kubenet.default", status=NOT_READY), FOR_OBJECTS, ALL) == []
    assert watch.targets(make("other", status=READY), FOR_OBJECTS, ALL) == []


def test_watch_mapping() -> None:
    watch = WatchSelector({"match": {"metadata.name": "spec.node"}})
    assert names(watch.targets(make("n1"), FOR_OBJECTS, ALL)) == ["ns1/site-c", "ns2/site-a"]
    assert names(watch.targets(make("n2"), FOR_OBJECTS, ALL)) == ["ns1/site-b"]
    assert watch.targets(make("n3"), FOR_OBJECTS, ALL) == []


def test_watch_mapping_with_for_selector() -> None:
    watch = WatchSelector({"match": {"metadata.name": "spec.node"}})
    for_selector = compile_selector({"match": {"metadata.namespace": "ns2"}})
    assert names(watch.targets(make("n1"), FOR_OBJECTS, for_selector)) == ["ns2/site-a"]


def test_watch_mapping_key_missing_on_watched_enqueues_nothing() -> None:
    watch = WatchSelector({"match": {"spec.missing": "spec.node"}})
    assert watch.targets(make("n1"), FOR_OBJECTS, ALL) == []


def test_watch_mapping_and_literal_combined() -> None:
    watch = WatchSelector({"match": {"metadata.name": "spec.node", "metadata.namespace": "infra"}})
    assert names(watch.targets(make("n1", namespace="infra"), FOR_OBJECTS, ALL)) == [
        "ns1/site-c",
        "ns2/site-a",
    ]
    assert watch.targets(make("n1", namespace="elsewhere"), FOR_OBJECTS, ALL) == []


def test_watch_mapping_numbers_compare_as_printed() -> None:
    for_objects = [make("a", spec={"vlan": 10}), make("b", spec={"vlan": 10.0}), make("c", spec={"vlan": 11})]
    watch = WatchSelector({"match": {"spec.id": "spec.vlan"}})
    assert names(watch.targets(make("w", spec={"id": 10}), for_objects, ALL)) == ["default/a", "default/b"]


def test_watch_classification_needs_one_resolving_for_object() -> None:
    # "spec.node" resolves on no for-object, so the entry is a literal on the watched object.
    for_objects = [make("x", spec={}), make("y", spec={})]
    watch = WatchSelector({"match": {"metadata.name": "spec.node"}})
    assert watch.targets(make("n1"), for_objects, ALL) == []
    assert names(watch.targets(make("spec.node"), for_objects, ALL)) == ["default/x", "default/y"]


def test_watch_with_no_for_objects() -> None:
    assert WatchSelector({"match": {"metadata.name": "spec.node"}}).targets(make("n1"), [], ALL) == []
    assert WatchSelector(None).targets(make("n1"), [], ALL) == []


def test_watch_match_expressions_filter_watched_object() -> None:
    watch = WatchSelector(
        {"matchExpressions": [{"expression": "metadata.name", "operator": "In", "values": ["n1", "n2"]}]}
    )
    assert len(watch.targets(make("n1"), FOR_OBJECTS, ALL)) == 4
    assert watch.targets(make("n3"), FOR_OBJECTS, ALL) == []


def test_watch_match_expressions_with_mapping() -> None:
    watch = WatchSelector(
        {
            "match": {"metadata.name": "spec.node"},
            "matchExpressions": [{"expression": EXISTS_READY, "operator": "Equals", "values": ["true"]}],
        }
    )
    assert names(watch.targets(make("n1", status=READY), FOR_OBJECTS, ALL)) == ["ns1/site-c", "ns2/site-a"]
    assert watch.targets(make("n1", status=NOT_READY), FOR_OBJECTS, ALL) == []


def test_watch_targets_are_sorted_and_are_the_given_objects() -> None:
    got = WatchSelector({}).targets(make("w"), FOR_OBJECTS, ALL)
    assert all(any(obj is original for original in FOR_OBJECTS) for obj in got)
    assert [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in got] == sorted(
        (o["metadata"]["namespace"], o["metadata"]["name"]) for o in FOR_OBJECTS
    )


@pytest.mark.parametrize(
    "spec",
    [
        [],
        {"matchLabels": {"a": "b"}},
        {"match": {"a": None}},
        {"matchExpressions": [{"expression": "a", "operator": "Nope"}]},
    ],
)
def test_watch_invalid(spec: object) -> None:
    with pytest.raises(Invalid):
        WatchSelector(spec)  # type: ignore[arg-type]


def test_selector_repr() -> None:
    assert repr(compile_selector({})) == "Selector(everything)"
    assert repr(compile_selector(None, absent_means_everything=False)) == "Selector(nothing)"
    assert "metadata.name" in repr(compile_selector({"match": {"metadata.name": "a"}}))
    assert isinstance(compile_selector({}), Selector)


def test_a_huge_expression_is_quoted_short() -> None:
    with pytest.raises(Invalid) as info:
        compile_selector({"match": {"a " + "b" * 100_000: "x"}})
    assert len(str(info.value)) < 300
