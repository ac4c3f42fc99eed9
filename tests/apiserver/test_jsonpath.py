"""kubectl's JSONPath field names: a backslash escapes a dot (or another terminator) inside a key."""

from __future__ import annotations

import pytest

from choreo.apiserver import jsonpath

OBJ = {
    "metadata": {
        "annotations": {"api.choreo.kform.dev/origin": '{"kind":"File"}', "plain": "p"},
        "labels": {"a.b": "dotted", "a": {"b": "nested"}},
    },
    "items": [{"x.y": 1}, {"x.y": 2}],
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (r".metadata.annotations.api\.choreo\.kform\.dev/origin", ['{"kind":"File"}']),
        (r".metadata.labels.a\.b", ["dotted"]),
        (".metadata.labels.a.b", ["nested"]),  # without the escape the dot still separates
        (r"..a\.b", ["dotted"]),
        (r".items[*].x\.y", [1, 2]),
        (".metadata.annotations.plain", ["p"]),
    ],
)
def test_escaped_dots_name_one_key(path: str, expected: list[object]) -> None:
    assert jsonpath.evaluate(OBJ, path) == expected


def test_templates_print_escaped_keys_and_stop_fields_at_kubectl_terminators() -> None:
    template = r'{.metadata.annotations.api\.choreo\.kform\.dev/origin}{"\n"}{range .items[*]}{.x\.y},{end}'
    assert jsonpath.render(template, OBJ) == '{"kind":"File"}\n1,2,'


def test_the_values_of_a_map_come_in_key_order() -> None:
    """kubectl's order is Go's random map order; choreo's is the same on every run, whatever the stored order."""
    assert jsonpath.render("{.spec.*}", {"spec": {"b": 2, "c": 3, "a": 1}}) == "1 2 3"
    assert jsonpath.evaluate({"m": {"y": {"k": 1}, "x": {"k": 0}}}, "..k") == [0, 1]


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ('{" ":}', """error parsing jsonpath {" ":}, " " is followed by ':'"""),
        (r'{"\q"}', r'error parsing jsonpath {"\q"}, unquote string "\q" error invalid syntax'),
        ('{"a\\"}', 'error parsing jsonpath {"a\\"}, unterminated quoted string'),
    ],
)
def test_a_quoted_action_that_is_not_one_string_is_a_syntax_error(template: str, problem: str) -> None:
    """It was an internal error (JSONDecodeError, exit 70) of ``-o jsonpath=``, a user's mistake."""
    for evaluate in (jsonpath.render, jsonpath.values):
        with pytest.raises(jsonpath.SyntaxProblem) as raised:
            evaluate(template, OBJ)
        assert str(raised.value).startswith(problem)


def test_literals_print_as_kubectl_reads_them() -> None:
    """``00`` was an internal error of ``-o jsonpath-as-json=``."""
    assert jsonpath.values('{"a\\tb"}{\'c\'}{00}{1.5}{true}', OBJ) == [["a\tb"], ["c"], [0], [1.5], [True]]
    assert jsonpath.render('{"a\\tb"}{\'c\'}{true}', OBJ) == "a\tbctrue"
