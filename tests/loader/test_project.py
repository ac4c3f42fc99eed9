"""``load_project`` over whole projects, libraries, and ``dev parse`` (content, stability, round trip)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from choreo.errors import ChoreoError, LoadError
from choreo.loader.devparse import dev_parse
from choreo.loader.loading import load_project
from choreo.loader.reconcilers import same_reconciler

from . import build

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"
CRD = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {name}\n"
STAR = (
    'load("api.k8s.io.object.star", "getName")\n\n'
    'def reconcile(self):\n\treturn reconcile_result(self, False, 0, "", False)\n'
)
HELLO = "example.com.helloworlds.helloworld"
HELLO_CONFIG = """apiVersion: choreo.kform.dev/v1alpha1
kind: Reconciler
metadata:
  name: example.com.helloworlds.helloworld # name can be inferred from the filename
spec:
  for:
    group: example.com
    version: v1alpha1
    kind: HelloWorld
    selector: {}
  owns:
  - group: example.com
    version: v1alpha1
    kind: Greeting
  watches:
  - group: example.com
    version: v1alpha1
    kind: Policy
    selector:
      match:
        metadata.name: default
  conditionType: Ready
"""
TPL_CONFIG = "spec:\n  for: {group: example.com, version: v1alpha1, kind: Device}\n"

FLAT_PROJECT = {
    f"reconcilers/{HELLO}.yaml": HELLO_CONFIG,
    f"reconcilers/{HELLO}.star": STAR,
    "reconcilers/device.config.yaml": TPL_CONFIG,
    "reconcilers/device.config.main.tpl": '{{ template "itf" . }}\n',
    "reconcilers/device.config.itf.tpl": '{{ define "itf" }}x{{ end }}',
    "reconcilers/dir/config.yaml": "metadata: {name: dir.only}\n" + TPL_CONFIG,
    "reconcilers/dir/x.tpl": "dir",
    "libs/api.k8s.io.object.star": "def getName(o):\n  return o['metadata']['name']\n",
}

EXPECTED_HELLO = """apiVersion: choreo.kform.dev/v1alpha1
kind: Reconciler
metadata:
  annotations:
    api.choreo.kform.dev/origin: '{"kind":"File"}'
  name: example.com.helloworlds.helloworld
spec:
  code:
    reconciler.star: |
      load("api.k8s.io.object.star", "getName")

      def reconcile(self):
      \treturn reconcile_result(self, False, 0, "", False)
  conditionType: Ready
  for:
    group: example.com
    kind: HelloWorld
    selector: {}
    version: v1alpha1
  owns:
  - group: example.com
    kind: Greeting
    version: v1alpha1
  type: starlark
  watches:
  - group: example.com
    kind: Policy
    selector:
      match:
        metadata.name: default
    version: v1alpha1
"""

EXPECTED_LIBRARY = """apiVersion: choreo.kform.dev/v1alpha1
kind: Library
metadata:
  annotations:
    api.choreo.kform.dev/origin: '{"kind":"File"}'
  name: api.k8s.io.object.star
spec:
  code: |
    def getName(o):
      return o['metadata']['name']
  type: starlark
"""


def load_error(root: Path, files: dict[str, str]) -> str:
    build(root, files)
    with pytest.raises(LoadError) as err:
        load_project(root)
    return str(err.value)


# ---------------------------------------------------------------------------------------------
# load_project


def test_empty_project_and_missing_project(tmp_path: Path) -> None:
    project = load_project(tmp_path)
    assert (project.crds, project.inputs, project.reconcilers, project.libraries, project.refs) == (
        [],
        [],
        [],
        {},
        [],
    )
    assert project.root == tmp_path
    with pytest.raises(LoadError, match="project directory not found"):
        load_project(tmp_path / "nope")


def test_folders_are_read_in_sorted_order_whatever_the_creation_order(tmp_path: Path) -> None:
    names = ["c.yaml", "a.yaml", "b.yml", "a0.yaml"]
    for name in names:
        build(tmp_path, {f"in/{name}": CM.format(name=name)})
    build(tmp_path, {"in/sub/z.yaml": CM.format(name="nested"), "in/readme.md": "x"})
    project = load_project(tmp_path)
    assert [i.source for i in project.inputs] == ["in/a.yaml", "in/a0.yaml", "in/b.yml", "in/c.yaml"]


def test_crds_inputs_refs_and_unknown_kinds(tmp_path: Path) -> None:
    build(
        tmp_path,
        {
            "crds/example.com_hellos.yaml": CRD.format(name="hellos.example.com")
            + "---\n"
            + CRD.format(name="b"),
            "in/data.yaml": "apiVersion: example.com/v1alpha1\nkind: Unregistered\nmetadata: {name: x}\n",
            "refs/upstream.yaml": "apiVersion: choreo.kform.dev/v1alpha1\nkind: UpstreamRef\n"
            "metadata: {name: u}\n",
        },
    )
    project = load_project(tmp_path)
    assert [c.source for c in project.crds] == [
        "crds/example.com_hellos.yaml#1",
        "crds/example.com_hellos.yaml#2",
    ]
    assert [i.obj["kind"] for i in project.inputs] == ["Unregistered"]
    assert [r.source for r in project.refs] == ["refs/upstream.yaml"]


def test_non_crd_in_crds_folder_is_an_error(tmp_path: Path) -> None:
    message = load_error(tmp_path, {"crds/x.yaml": CRD.format(name="a") + "---\n" + CM.format(name="b")})
    assert message.startswith(
        "crds/x.yaml#2: only apiextensions.k8s.io/v1 CustomResourceDefinition belongs in crds/"
    )
    assert "got v1 ConfigMap" in message


def test_in_objects_become_reconcilers_and_libraries(tmp_path: Path) -> None:
    reconciler = (
        "apiVersion: choreo.kform.dev/v1alpha1\nkind: Reconciler\nmetadata:\n  name: r\n"
        "spec:\n  for: {group: g, version: v1, kind: K}\n  type: starlark\n  code:\n    reconciler.star: x\n"
    )
    library = (
        "apiVersion: choreo.kform.dev/v1alpha1\nkind: Library\nmetadata:\n  name: l.star\nspec:\n  code: y\n"
    )
    other_version = "apiVersion: choreo.kform.dev/v1beta1\nkind: Library\nmetadata:\n  name: other\n"
    build(tmp_path, {"in/all.yaml": "---\n".join([CM.format(name="c"), reconciler, library, other_version])})
    project = load_project(tmp_path)
    assert [i.source for i in project.inputs] == ["in/all.yaml#1", "in/all.yaml#4"]
    assert [(r.name, r.source, r.code) for r in project.reconcilers] == [
        ("r", "in/all.yaml#2", {"reconciler.star": "x"})
    ]
    assert project.libraries["l.star"].source == "in/all.yaml#3"
    assert project.libraries["l.star"].code == "y"


def test_library_object_errors(tmp_path: Path) -> None:
    head = "apiVersion: choreo.kform.dev/v1alpha1\nkind: Library\n"
    assert (
        load_error(tmp_path, {"in/l.yaml": head + "spec: {code: x}\n"})
        == "in/l.yaml: metadata.name is required"
    )
    message = load_error(tmp_path, {"in/l.yaml": head + "metadata: {name: l}\nspec: {type: starlark}\n"})
    assert message.startswith("in/l.yaml: spec.code is required")
    message = load_error(tmp_path, {"in/l.yaml": head + "metadata: {name: l}\nspec: {type: go, code: x}\n"})
    assert message == "in/l.yaml: spec.type must be starlark, got 'go'"


def test_library_names_per_layout(tmp_path: Path) -> None:
    build(
        tmp_path,
        {
            "crds/example.com_greetings.star": "a = 1\n",
            "crds/not_a_library.txt": "",
            "crds/sub/nested_lib.star": "",
            "libs/api.k8s.io.object.star": "b = 2\n",
            "libs/my_lib.star": "c = 3\n",
        },
    )
    libraries = load_project(tmp_path).libraries
    assert list(libraries) == ["api.k8s.io.object.star", "example.com.greetings.star", "my_lib.star"]
    assert libraries["example.com.greetings.star"].source == "crds/example.com_greetings.star"
    assert libraries["my_lib.star"].code == "c = 3\n"


def test_duplicate_library_names_name_both_files(tmp_path: Path) -> None:
    message = load_error(tmp_path, {"crds/a_b.star": "", "libs/a.b.star": ""})
    assert message == "duplicate library name a.b.star: crds/a_b.star and libs/a.b.star"


def test_duplicate_library_between_crds_and_in_is_an_error(tmp_path: Path) -> None:
    library = (
        "apiVersion: choreo.kform.dev/v1alpha1\nkind: Library\nmetadata: {name: a.b.star}\nspec: {code: y}\n"
    )
    message = load_error(tmp_path, {"crds/a_b.star": "", "in/lib.yaml": library})
    assert message == "duplicate library name a.b.star: crds/a_b.star and in/lib.yaml"


def test_duplicate_reconciler_between_in_and_directory_layout(tmp_path: Path) -> None:
    reconciler = (
        "apiVersion: choreo.kform.dev/v1alpha1\nkind: Reconciler\nmetadata:\n  name: dup\n"
        "spec:\n  for: {group: g, version: v1, kind: K}\n  code: {reconciler.star: x}\n"
    )
    message = load_error(
        tmp_path,
        {
            "in/r.yaml": reconciler,
            "reconcilers/d/config.yaml": "metadata: {name: dup}\n" + TPL_CONFIG,
            "reconcilers/d/a.star": "",
        },
    )
    assert message == "duplicate reconciler name dup: reconcilers/d/config.yaml and in/r.yaml"
    message = load_error(tmp_path, {"in/s.yaml": reconciler})
    assert "duplicate reconciler name dup:" in message


# ---------------------------------------------------------------------------------------------
# dev parse


def test_dev_parse_writes_flat_reconcilers_and_libraries(tmp_path: Path) -> None:
    build(tmp_path, FLAT_PROJECT)
    written = dev_parse(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        "in/choreo.kform.dev.library.api.k8s.io.object.star.yaml",
        "in/choreo.kform.dev.reconciler.device.config.yaml",
        f"in/choreo.kform.dev.reconciler.{HELLO}.yaml",
    ]
    assert written[2].read_text(encoding="utf-8") == EXPECTED_HELLO
    assert written[0].read_text(encoding="utf-8") == EXPECTED_LIBRARY
    device = yaml.safe_load(written[1].read_text(encoding="utf-8"))
    assert device["spec"] == {
        "code": {"itf.tpl": '{{ define "itf" }}x{{ end }}', "main.tpl": '{{ template "itf" . }}\n'},
        "for": {"group": "example.com", "version": "v1alpha1", "kind": "Device"},
        "type": "gotemplate",
    }
    assert sorted(os.listdir(tmp_path / "in")) == sorted(p.name for p in written)  # no temp files left


def test_dev_parse_is_byte_stable(tmp_path: Path) -> None:
    build(tmp_path, FLAT_PROJECT)
    first = {p: p.read_bytes() for p in dev_parse(tmp_path)}
    second = {p: p.read_bytes() for p in dev_parse(tmp_path)}
    assert first == second


def test_dev_parse_round_trip(tmp_path: Path) -> None:
    build(tmp_path, FLAT_PROJECT)
    before = load_project(tmp_path)
    dev_parse(tmp_path)
    after = load_project(tmp_path)
    assert after.reconcilers == before.reconcilers
    assert after.libraries == before.libraries
    assert after.inputs == [] and after.warnings == []

    # The generated objects alone describe the same reconcilers and libraries.
    for rel in [f"reconcilers/{HELLO}.yaml", f"reconcilers/{HELLO}.star", "libs/api.k8s.io.object.star"]:
        (tmp_path / rel).unlink()
    generated = load_project(tmp_path)
    original = {r.name: r for r in before.reconcilers}
    hello = next(r for r in generated.reconcilers if r.name == HELLO)
    assert same_reconciler(hello, original[HELLO])
    assert hello.source == f"in/choreo.kform.dev.reconciler.{HELLO}.yaml"
    assert (
        generated.libraries["api.k8s.io.object.star"].code == before.libraries["api.k8s.io.object.star"].code
    )


def test_dev_parse_never_overwrites_a_file_holding_another_object(tmp_path: Path) -> None:
    build(tmp_path, FLAT_PROJECT)
    mine = "# my notes\napiVersion: example.com/v1alpha1\nkind: HelloWorld\nmetadata: {name: mine}\n"
    build(tmp_path, {f"in/choreo.kform.dev.reconciler.{HELLO}.yaml": mine})
    with pytest.raises(ChoreoError, match=rf"in/choreo.kform.dev.reconciler.{HELLO}.yaml: holds other objects than "
                                          rf"Reconciler {HELLO} in namespace default; not overwriting it"):
        dev_parse(tmp_path)
    assert (tmp_path / f"in/choreo.kform.dev.reconciler.{HELLO}.yaml").read_text() == mine
    assert sorted(os.listdir(tmp_path / "in")) == [f"choreo.kform.dev.reconciler.{HELLO}.yaml"]  # none written


def test_stale_generated_copy_is_an_error_naming_both_files(tmp_path: Path) -> None:
    """One of the two versions would be silently ignored (see also test_duplicates.py)."""
    build(tmp_path, FLAT_PROJECT)
    dev_parse(tmp_path)
    build(tmp_path, {f"reconcilers/{HELLO}.star": "def reconcile(self):\n  pass\n"})
    with pytest.raises(LoadError) as err:
        load_project(tmp_path)
    assert str(err.value).startswith(f"in/choreo.kform.dev.reconciler.{HELLO}.yaml: ")
    assert f"reconcilers/{HELLO}.yaml" in str(err.value)
    dev_parse(tmp_path)
    hello = next(r for r in load_project(tmp_path).reconcilers if r.name == HELLO)
    assert hello.code == {"reconciler.star": "def reconcile(self):\n  pass\n"}


def test_dev_parse_reports_load_errors_and_keeps_stale_files(tmp_path: Path) -> None:
    build(tmp_path, {"in/choreo.kform.dev.reconciler.gone.yaml": "stale", "reconcilers/a.yaml": TPL_CONFIG})
    with pytest.raises(LoadError, match=r"reconcilers/a\.yaml: reconciler a has no code file"):
        dev_parse(tmp_path)
    build(tmp_path, {"reconcilers/a.tpl": "x"})
    assert [p.name for p in dev_parse(tmp_path)] == ["choreo.kform.dev.reconciler.a.yaml"]
    assert (tmp_path / "in/choreo.kform.dev.reconciler.gone.yaml").read_text() == "stale"


def test_dev_parse_creates_in_folder_and_handles_empty_projects(tmp_path: Path) -> None:
    assert dev_parse(tmp_path) == []
    build(tmp_path, {"libs/x.star": "x = 1\n"})
    assert [p.name for p in dev_parse(tmp_path)] == ["choreo.kform.dev.library.x.star.yaml"]
