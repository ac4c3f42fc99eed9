"""Label and field selector strings as Kubernetes clients send them."""

from __future__ import annotations

import pytest

from choreo.errors import BadRequest
from choreo.server.query import field_selector, label_selector


def obj(name: str, namespace: str = "default", **labels: str) -> dict:
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": {"size": 3, "name": name}}


OBJECTS = [obj("a", env="prod", tier="web"), obj("b", env="dev"), obj("c", "other", tier="db", rank="5"), obj("d")]


def names(predicate) -> list[str]:
    return [o["metadata"]["name"] for o in OBJECTS if predicate(o)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["a", "b", "c", "d"]),
        ("env=prod", ["a"]),
        ("env==dev", ["b"]),
        ("env!=prod", ["b", "c", "d"]),
        ("env in (prod, dev)", ["a", "b"]),
        ("env notin (prod)", ["b", "c", "d"]),
        ("tier", ["a", "c"]),
        ("!tier", ["b", "d"]),
        ("tier,env=prod", ["a"]),
        ("rank>4", ["c"]),
        ("rank<5", []),
    ],
)
def test_label_selector(text: str, expected: list[str]) -> None:
    assert names(label_selector(text)) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("env in ()", "values set can't be empty"),
        ("env in (a", "unbalanced"),
        ("bad key=x", "expected key"),
        ("env=a b", "invalid label value"),
        ("rank>x", "must be an integer"),
        ("env,,tier", "empty requirement"),
    ],
)
def test_bad_label_selector(text: str, fragment: str) -> None:
    with pytest.raises(BadRequest, match=fragment):
        label_selector(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metadata.name=a", ["a"]),
        ("metadata.name!=a", ["b", "c", "d"]),
        ("metadata.namespace==other", ["c"]),
        ("metadata.namespace=default,metadata.name!=b", ["a", "d"]),
        ("spec.name=c", ["c"]),
        ("spec.size=3", ["a", "b", "c", "d"]),
        ("spec.missing=3", []),
    ],
)
def test_field_selector(text: str, expected: list[str]) -> None:
    assert names(field_selector(text)) == expected


def test_bad_field_selector() -> None:
    with pytest.raises(BadRequest, match="expected field=value"):
        field_selector("metadata.name")
