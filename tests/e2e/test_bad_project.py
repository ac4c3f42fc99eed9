"""Mistakes in a project's API definitions, reconciler configs and reconciler writes: each ends in one line
naming the file (or reconciler and object) and the field, a non-zero exit, no traceback, and the store
still holding the previous good state."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import choreo
from tests.e2e.test_bad_input import RECONCILER_DIR, _assert_clean_failure, _good_state

CRD_FILE = "crds/example.com_messages.yaml"
CRD_NAME = "CustomResourceDefinition messages.example.com"
ROOT = "spec.versions[0].schema.openAPIV3Schema"
TEXT = f"{ROOT}.properties.spec.properties.text"
CONFIG_FILE = str(RECONCILER_DIR / "config.yaml")

Edit = Callable[[dict[str, Any]], None]


def _edit_yaml(project: Path, relative: str, edit: Edit) -> None:
    path = project / relative
    doc = yaml.safe_load(path.read_text())
    edit(doc)
    path.write_text(yaml.safe_dump(doc))


def _text(**schema: Any) -> Edit:
    def edit(crd: dict[str, Any]) -> None:
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["text"] = schema

    return edit


def _set(path: str, value: Any) -> Edit:
    """Set a dotted path (``spec.versions.0.schema``) in a document; ``...`` deletes it."""

    def edit(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        key: Any = int(last) if isinstance(node, list) else last
        if value is ...:
            del node[key]
        else:
            node[key] = value

    return edit


def _second_version(crd: dict[str, Any]) -> None:
    crd["spec"]["versions"].append(dict(crd["spec"]["versions"][0], storage=False))


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (_text(type="string", pattern="(?=a)b"), f"{TEXT}.pattern: Invalid value"),
        (_text(type="objekt"), f'{TEXT}.type: Unsupported value: "objekt"'),
        (_text(type=["string", "null"]), f"{TEXT}.type: must be one type name"),
        (_text(type="string", enum="a"), f"{TEXT}.enum: must be a list"),
        (_text(type="integer", default="ten"), f"{TEXT}.default: Invalid value"),
        (_text(type="array"), f"{TEXT}.items: Required value"),
        (_text(**{"$ref": "#/x"}), f"{TEXT}.$ref: Forbidden"),
        (
            _text(type="array", items={"type": "object"}, **{"x-kubernetes-list-type": "map"}),
            f"{TEXT}.x-kubernetes-list-map-keys: Required value",
        ),
        (_set(f"{ROOT.replace('[0]', '.0')}.type", "array"), f"{ROOT}.items: Required value"),
        (_set("spec.versions.0.schema", ...), f"{ROOT}: Required value: schemas are required"),
        (_second_version, 'spec.versions[1].name: Duplicate value: "v1alpha1"'),
        (_set("spec.names", ["Message"]), "spec.names: must be a mapping"),
        (_set("spec.versions", {"v1alpha1": {}}), "spec.versions: must be a list of versions"),
    ],
)
def test_crd_mistakes(example, edit: Edit, needle: str) -> None:
    project = _good_state(example)
    _edit_yaml(project, CRD_FILE, edit)
    line = _assert_clean_failure(project, choreo("run", str(project)), CRD_FILE, needle)
    assert "CustomResourceDefinition" in line


def test_crd_metadata_that_is_no_mapping_is_a_document_error(example) -> None:
    """As for an apiVersion or kind of the wrong type: the document's line, whatever the file holds."""
    project = _good_state(example)
    _edit_yaml(project, CRD_FILE, _set("metadata", ["messages.example.com"]))
    line = _assert_clean_failure(project, choreo("run", str(project)), CRD_FILE)
    assert line == f"error: {CRD_FILE}:1: metadata must be a mapping, got list"


def test_crd_mistake_names_the_crd(example) -> None:
    project = _good_state(example)
    _edit_yaml(project, CRD_FILE, _text(type="string", maxLength=-1))
    line = _assert_clean_failure(project, choreo("run", str(project)))
    assert line == f"error: {CRD_FILE}: {CRD_NAME}: {TEXT}.maxLength: must be >= 0"


def _wire(field: str, **values: Any) -> Edit:
    def edit(config: dict[str, Any]) -> None:
        target = config["spec"]["for"] if field == "for" else config["spec"][field][0]
        target.update(values)

    return edit


def _watch(selector: dict[str, Any]) -> Edit:
    def edit(config: dict[str, Any]) -> None:
        watched = {"group": "example.com", "version": "v1alpha1", "kind": "Message", "selector": selector}
        config["spec"]["watches"] = [watched]

    return edit


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (_wire("for", kind="Farewell"), "spec.for: kind Farewell of example.com/v1alpha1 is not defined by any CRD"),
        (_wire("for", group="example.org"), "(CRDs define it in group example.com)"),
        (_wire("owns", version="v1"), "spec.owns[0]: version v1 of Message.example.com is not served"),
        (_wire("owns", group="ipam.be.kuid.dev", kind="IPClaim"), "spec.owns[0]: kind IPClaim"),
        (_wire("for", selector={"match": {"spec.(((": "x"}}), "spec.for.selector: "),
        (_watch({"matchExpressions": [{"expression": "a b", "operator": "Exists"}]}), "spec.watches[0].selector: "),
    ],
)
def test_reconciler_config_mistakes(example, edit: Edit, needle: str) -> None:
    project = _good_state(example)
    _edit_yaml(project, CONFIG_FILE, edit)
    _assert_clean_failure(project, choreo("run", str(project)), CONFIG_FILE, needle)


GREETING = """
def reconcile(self):
    {change}
    return reconcile_result(self, {requeue}, {after}, "", False)
"""


@pytest.mark.parametrize(
    ("change", "after", "needle"),
    [
        ('self["metadata"]["name"] = "carol"', 0, "reconcile returned Greeting.example.com default/carol"),
        ('self["kind"] = "Message"', 0, "reconcile returned Message.example.com default/alice"),
        ("pass", -5, "requeueAfter must not be negative, got -5"),
        ('client_list({"apiVersion": "example.com/v1alpha1", "kind": "Message"}, {"spec.(((": "x"})', 0, "CEL"),
    ],
)
def test_reconciler_write_mistakes(example, change: str, after: int, needle: str) -> None:
    project = _good_state(example)
    if "client_list" in change:
        fail = "return reconcile_result(self, True, 0, rsp['error'], True)"
        change = f"rsp = {change}\n    if rsp['error']:\n        {fail}"
    code = GREETING.format(change=change, requeue="True" if after else "False", after=after)
    (project / RECONCILER_DIR / "reconciler.star").write_text(code)
    line = _assert_clean_failure(project, choreo("run", str(project)), needle)
    assert "greeting" in line and "alice" in line  # the reconciler and the object


def test_a_template_writing_nan_is_refused(example) -> None:
    project: Path = example("config-templates") / "jinja2"
    assert choreo("run", str(project)).code == 0
    template = project / "reconcilers" / "interface" / "main.jinja2"
    template.write_text(template.read_text().replace("admin-state: {{ spec.adminState }}", "admin-state: .nan"))
    result = choreo("run", str(project))
    assert result.code != 0
    assert "Traceback" not in result.out + result.err
    assert "interface.node1.e1-1" in result.out + result.err  # the Config the template wrote
    assert "value is not JSON-compatible" in result.out + result.err  # its config is schemaless: the store refuses


def test_a_folder_that_is_no_project_is_refused_and_left_as_it_was(tmp_path: Path, example) -> None:
    folder = tmp_path / "home"
    (folder / "notes").mkdir(parents=True)
    result = choreo("run", "-r", "-s", cwd=folder)  # `choreo run` in the wrong working folder
    assert (result.code, result.out) == (1, "")
    assert result.err == (f"error: {folder}: not a choreo project: it has none of crds/, in/, reconcilers/, libs/, "
                          "refs/, schemas/, runningconfigs/ (make one, or name the project folder: `choreo run DIR`)\n")
    assert sorted(p.name for p in folder.iterdir()) == ["notes"]  # no .choreo/ left behind
    project = example("greeting")
    assert choreo("run", str(project)).code == 0
    for part in ("crds", "in", "reconcilers"):
        for file in sorted((project / part).rglob("*"), reverse=True):
            file.unlink() if file.is_file() else file.rmdir()
        (project / part).rmdir()
    emptied = choreo("run", str(project))  # its state remains: a project emptied of its files still runs
    assert emptied.code == 0, emptied.err
    assert choreo("get", "greetings", "-C", str(project)).code == 1  # its kinds and objects are gone with them
