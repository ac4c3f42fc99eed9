"""Duplicates are load errors naming both places: YAML keys, input objects, CRDs, generated copies."""

from __future__ import annotations

from pathlib import Path

import pytest

from choreo.errors import LoadError
from choreo.loader.devparse import dev_parse
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


# ---------------------------------------------------------------------------------------------
# Duplicate objects (in/, refs/, crds/)


def greeting(name: str, extra: str = "", api_version: str = "example.com/v1alpha1") -> str:
    return GREETING.format(name=name, extra=extra).replace("example.com/v1alpha1", api_version)


def test_same_object_in_two_input_files(tmp_path: Path) -> None:
    message = load_error(tmp_path, {"in/a.yaml": greeting("x"), "in/b.yaml": greeting("x").replace("{}", "{n: 1}")})
    assert message == "in/b.yaml: duplicate Greeting.example.com default/x, also in in/a.yaml"


def test_same_object_twice_in_one_file(tmp_path: Path) -> None:
    message = load_error(tmp_path, {"in/a.yaml": greeting("x") + "---\n" + greeting("y") + "---\n" + greeting("x")})
    assert message == "in/a.yaml#3: duplicate Greeting.example.com default/x, also in in/a.yaml#1"


def test_absent_namespace_is_default(tmp_path: Path) -> None:
    explicit = greeting("x", extra="  namespace: default\n")
    message = load_error(tmp_path, {"in/a.yaml": greeting("x"), "in/b.yaml": explicit})
    assert message == "in/b.yaml: duplicate Greeting.example.com default/x, also in in/a.yaml"


def test_versions_of_one_kind_name_the_same_object(tmp_path: Path) -> None:
    other_version = greeting("x", api_version="example.com/v1beta1")
    message = load_error(tmp_path, {"in/a.yaml": greeting("x"), "in/b.yaml": other_version})
    assert message == "in/b.yaml: duplicate Greeting.example.com default/x, also in in/a.yaml"


def test_distinct_objects_are_not_duplicates(tmp_path: Path) -> None:
    build(
        tmp_path,
        {
            "in/a.yaml": greeting("x") + "---\n" + greeting("x", extra="  namespace: other\n"),
            "in/b.yaml": greeting("x", api_version="other.com/v1") + "---\n" + greeting("y"),
            "in/c.yaml": greeting("x").replace("kind: Greeting", "kind: Message"),
            "in/d.yaml": "apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata: {}\n---\n"
            "apiVersion: example.com/v1alpha1\nkind: Greeting\n",  # nameless: refused when applied
        },
    )
    assert len(load_project(tmp_path).inputs) == 7


def test_cluster_scoped_objects_have_no_namespace(tmp_path: Path) -> None:
    crd = CRD.format(kind="Fabric", plural="fabrics").replace("Namespaced", "Cluster")
    fabric = "apiVersion: example.com/v1alpha1\nkind: Fabric\nmetadata: {name: f}\n"
    message = load_error(tmp_path, {"crds/f.yaml": crd, "in/a.yaml": fabric, "in/b.yaml": fabric})
    assert message == "in/b.yaml: duplicate Fabric.example.com f, also in in/a.yaml"


def test_duplicate_upstream_refs(tmp_path: Path) -> None:
    ref = "apiVersion: choreo.kform.dev/v1alpha1\nkind: UpstreamRef\nmetadata: {name: r}\nspec: {url: u}\n"
    message = load_error(tmp_path, {"refs/a.yaml": ref, "refs/b.yaml": ref.replace("u}", "v}")})
    assert message == "refs/b.yaml: duplicate UpstreamRef.choreo.kform.dev r, also in refs/a.yaml"


def test_same_crd_twice(tmp_path: Path) -> None:
    crd = CRD.format(kind="Greeting", plural="greetings")
    message = load_error(tmp_path, {"crds/a.yaml": crd, "crds/b.yaml": crd})
    duplicate = "duplicate CustomResourceDefinition.apiextensions.k8s.io greetings.example.com"
    assert message == f"crds/b.yaml: {duplicate}, also in crds/a.yaml"


def test_two_crds_for_one_kind(tmp_path: Path) -> None:
    files = {
        "crds/a.yaml": CRD.format(kind="Greeting", plural="greetings"),
        "crds/b.yaml": CRD.format(kind="Greeting", plural="hellos"),
    }
    message = load_error(tmp_path, files)
    duplicate = "duplicate CustomResourceDefinition for kind Greeting.example.com"
    assert message == f"crds/b.yaml: {duplicate}, also in crds/a.yaml"


def test_one_kind_name_in_two_groups_is_fine(tmp_path: Path) -> None:
    other = CRD.format(kind="Greeting", plural="greetings").replace("example.com", "other.com")
    build(tmp_path, {"crds/a.yaml": CRD.format(kind="Greeting", plural="greetings"), "crds/b.yaml": other})
    assert len(load_project(tmp_path).crds) == 2


# ---------------------------------------------------------------------------------------------
# Reconcilers and libraries both in their source folder and in in/ (the flat layout's `dev parse`)

CONFIG = "spec:\n  for: {group: example.com, version: v1alpha1, kind: Greeting}\n"
FLAT = {"reconcilers/r.yaml": CONFIG, "reconcilers/r.star": "def reconcile(self):\n  pass\n", "libs/l.star": "x = 1\n"}
GENERATED_RECONCILER = "in/choreo.kform.dev.reconciler.r.yaml"
GENERATED_LIBRARY = "in/choreo.kform.dev.library.l.star.yaml"


def test_identical_generated_copies_are_the_documented_workflow(tmp_path: Path) -> None:
    build(tmp_path, FLAT)
    dev_parse(tmp_path)
    project = load_project(tmp_path)
    assert [(r.name, r.source) for r in project.reconcilers] == [("r", "reconcilers/r.yaml")]
    assert project.libraries["l.star"].source == "libs/l.star"
    assert project.inputs == [] and project.warnings == []


@pytest.mark.parametrize(
    ("edit", "copy", "source", "what"),
    [
        ({"reconcilers/r.star": "def reconcile(self):\n  return 1\n"}, GENERATED_RECONCILER, "reconcilers/r.yaml", "r"),
        ({"libs/l.star": "x = 2\n"}, GENERATED_LIBRARY, "libs/l.star", "l.star"),
    ],
)
def test_differing_generated_copy_names_both_files(
    tmp_path: Path, edit: dict[str, str], copy: str, source: str, what: str
) -> None:
    """Edited source without `dev parse` (or an edited copy): one of the two would silently be ignored."""
    build(tmp_path, FLAT)
    dev_parse(tmp_path)
    message = load_error(tmp_path, edit)
    kind = "reconciler" if copy == GENERATED_RECONCILER else "library"
    assert message.startswith(f"{copy}: {kind} {what} differs from its source {source} ")
    assert "choreo dev parse" in message
    dev_parse(tmp_path)
    load_project(tmp_path)


def test_copy_edited_in_place_is_an_error_too(tmp_path: Path) -> None:
    build(tmp_path, FLAT)
    dev_parse(tmp_path)
    path = tmp_path / GENERATED_RECONCILER
    path.write_text(path.read_text().replace("pass", "return None"))
    assert load_error(tmp_path, {}).startswith(f"{GENERATED_RECONCILER}: reconciler r differs from")
