"""A YAML stream read before is not parsed again, and taking its kept documents gives what parsing gives."""

from __future__ import annotations

from typing import Any

import pytest

from choreo.errors import LoadError
from choreo.loader import yamlio
from choreo.loader.yamlio import ParsedDocuments, yaml_objects

WIDGETS = "apiVersion: v1\nkind: Widget\nmetadata: {name: a}\nspec: {size: 1, ratio: 0.5, on: true, tags: [x]}\n---\n" \
          "apiVersion: v1\nkind: Widget\nmetadata: {name: b}\n"


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts that are really parsed."""
    texts: list[str] = []
    original = yamlio.parse_documents

    def counting(text: str, source: str) -> list[tuple[int, Any]]:
        texts.append(text)
        return original(text, source)

    monkeypatch.setattr(yamlio, "parse_documents", counting)
    return texts


def test_a_text_read_before_is_taken_from_what_was_kept(parses: list[str]) -> None:
    first = ParsedDocuments()
    parsed = yaml_objects(WIDGETS, "in/w.yaml", first)
    assert len(parses) == 1 and list(first.kept) == ["in/w.yaml"]
    again = ParsedDocuments(first.kept)
    taken = yaml_objects(WIDGETS, "in/w.yaml", again)
    assert len(parses) == 1 and again.kept == first.kept
    assert taken == parsed and [item.source for item in taken] == ["in/w.yaml#1", "in/w.yaml#2"]
    taken[0].obj["spec"]["size"] = 2  # every reader gets objects of its own
    assert yaml_objects(WIDGETS, "in/w.yaml", again) == parsed
    edited = WIDGETS.replace("size: 1", "size: 3")
    assert yaml_objects(edited, "in/w.yaml", again)[0].obj["spec"]["size"] == 3 and len(parses) == 2


def test_what_json_cannot_hold_and_what_fails_is_never_kept(parses: list[str]) -> None:
    kept = ParsedDocuments()
    for value in (".nan", "-.inf", "123456789012345678901234567890"):
        yaml_objects(f"apiVersion: v1\nkind: Widget\nmetadata: {{name: a}}\nspec: {{x: {value}}}\n", "in/n.yaml", kept)
    assert kept.kept == {}
    with pytest.raises(LoadError, match=r"in/bad\.yaml:3"):
        yaml_objects("apiVersion: v1\nkind: [\n", "in/bad.yaml", kept)
    assert kept.kept == {}


def test_the_reader_limits_are_part_of_what_was_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "apiVersion: v1\nkind: Widget\nmetadata: {name: a}\nspec: {list: &l [1, 2, 3], again: *l}\n"
    first = ParsedDocuments()
    yaml_objects(text, "in/w.yaml", first)
    monkeypatch.setenv("CHOREO_YAML_NODE_LIMIT", "5")
    with pytest.raises(LoadError, match="CHOREO_YAML_NODE_LIMIT"):
        yaml_objects(text, "in/w.yaml", ParsedDocuments(first.kept))
