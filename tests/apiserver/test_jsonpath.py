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
