"""Duplicates are load errors naming both places: YAML keys, input objects, CRDs, generated copies."""

from __future__ import annotations

from pathlib import Path

import pytest

from choreo.errors import LoadError
from choreo.loader.loading import load_project
from choreo.loader.yamlio import parse_documents

from . import build


def load_error(root: Path, files: dict[str, str]) -> str:
    build(root, files)
    with pytest.raises(LoadError) as err:
        load_project(root)
    message = str(err.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------------------------------
# Duplicate YAML keys


def yaml_error(text: str) -> str:
    with pytest.raises(LoadError) as err:
        parse_documents(text, "in/x.yaml")
    return str(err.value)


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        ("kind: A\nmetadata:\n  name: a\n  name: b\n", 4, "name"),
        ("kind: A\nspec: {x: 1}\nkind: B\n", 3, "kind"),
        ("spec:\n  x: 1\nspec:\n  y: 2\n", 3, "spec"),
        ("a: {k: 1, k: 2}\n", 1, "k"),
        ("---\na: 1\n---\nlist:\n- {b: 1}\n- {b: 1, b: 2}\n", 6, "b"),
    ],
)
def test_duplicate_key_names_file_line_and_key(text: str, line: int, key: str) -> None:
    message = yaml_error(text)
    assert message.startswith(f'in/x.yaml:{line}: invalid YAML: duplicate key "{key}"')
    assert "\n" not in message


def test_duplicate_key_also_names_the_first_line() -> None:
    assert yaml_error("a: 1\nb: 2\na: 3\n").endswith('duplicate key "a" (first at line 1)')


def test_keys_equal_as_json_keys_are_duplicates() -> None:
    """``1`` and ``"1"``, ``true`` and ``True`` become the same JSON key: one would silently win."""
    assert 'duplicate key "1"' in yaml_error('1: a\n"1": b\n')
    assert 'duplicate key "true"' in yaml_error("true: a\nTrue: b\n")


def test_merge_keys_may_be_overridden_but_own_keys_stay_unique() -> None:
    text = "base: &b {k: 1, j: 2}\nx:\n  <<: *b\n  k: 3\n"
    assert parse_documents(text, "f")[0][1]["x"] == {"k": 3, "j": 2}
    several = "x:\n  <<: [{k: 1}, {k: 2, m: 2}]\n  m: 3\n"
    assert parse_documents(several, "f")[0][1]["x"] == {"k": 1, "m": 3}
    assert yaml_error("base: &b {k: 1}\nx:\n  <<: *b\n  k: 3\n  k: 4\n").startswith("in/x.yaml:5:")


def test_merge_source_with_its_own_merge_keeps_its_overrides() -> None:
    """A mapping merged elsewhere is flattened before it is built; its own keys are still the ones checked."""
    text = "a:\n  b: &x {<<: {k: 1}, k: 2}\nc: {<<: *x, k: 5}\n"
    assert parse_documents(text, "f")[0][1] == {"a": {"b": {"k": 2}}, "c": {"k": 5}}


def test_same_key_in_different_mappings_is_fine() -> None:
    assert parse_documents("a: {name: x}\nb: {name: x}\nname: x\n", "f")[0][1]["name"] == "x"


CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: {plural}.example.com}}
spec:
  group: example.com
  names: {{kind: {kind}, plural: {plural}}}
  scope: Namespaced
  versions: [{{name: v1alpha1, served: true, storage: true}}]
"""
GREETING = "apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata:\n  name: {name}\n{extra}spec: {{}}\n"
TPL_CONFIG = "spec:\n  for: {group: example.com, version: v1alpha1, kind: Greeting}\n"


@pytest.mark.parametrize(
    ("rel", "text", "code"),
    [
        ("in/a.yaml", GREETING.format(name="a", extra="  name: b\n"), {}),
        ("crds/a.yaml", CRD.format(kind="Greeting", plural="greetings") + "spec: {}\n", {}),
        ("refs/a.yaml", "apiVersion: choreo.kform.dev/v1alpha1\nkind: UpstreamRef\nkind: Other\n", {}),
        ("reconcilers/a.yaml", TPL_CONFIG + "  for: {}\n", {"reconcilers/a.tpl": "x"}),
        ("reconcilers/d/config.yaml", "metadata: {name: d, name: e}\n" + TPL_CONFIG, {"reconcilers/d/main.tpl": "x"}),
    ],
)
def test_every_project_yaml_file_refuses_duplicate_keys(
    tmp_path: Path, rel: str, text: str, code: dict[str, str]
) -> None:
    message = load_error(tmp_path, {rel: text, **code})
    assert message.startswith(f"{rel}:") and "duplicate key" in message
