"""A reconciler config that cannot work is a load error naming the file and the field: a kind no CRD
defines, a group or version that is not served, a selector that is not CEL. Kinds of plug-ins (``-r``)
count as defined when the plug-in is on. Nothing of a failed load is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from choreo.errors import LoadError
from choreo.runtime.session import RunOptions, run_project
from choreo.runtime.state import open_state

CONFIG = "reconcilers/widget/config.yaml"
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "names": {"kind": "Widget", "plural": "widgets"},
        "scope": "Namespaced",
        "versions": [
            {"name": "v1alpha1", "served": False, "storage": False, "schema": {"openAPIV3Schema": {
                "type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
            {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                "type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
        ],
    },
}  # fmt: skip
CODE = """
def reconcile(self):
    self["status"] = {"seen": True}
    return reconcile_result(self, False, 0, "", False)
"""


def _wired(kind: str = "Widget", group: str = "example.com", version: str = "v1", **selector: Any) -> dict[str, Any]:
    wired: dict[str, Any] = {"group": group, "version": version, "kind": kind}
    if selector:
        wired["selector"] = selector
    return wired


def _project(root: Path, **spec: Any) -> Path:
    files = {
        "crds/widgets.yaml": CRD,
        "in/w.yaml": {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"a": 1}},
        CONFIG: {
            "apiVersion": "choreo.kform.dev/v1alpha1",
            "kind": "Reconciler",
            "metadata": {"name": "widget"},
            "spec": {"for": _wired(), **spec},
        },
    }
    for relative, doc in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(doc))
    (root / "reconcilers/widget/reconciler.star").write_text(CODE)
    return root


def _load_error(root: Path, options: RunOptions | None = None) -> str:
    with pytest.raises(LoadError) as caught:
        run_project(root, options)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_sound_config_runs(tmp_path: Path) -> None:
    record = run_project(_project(tmp_path, watches=[_wired(**{"match": {"metadata.name": "w"}})]))
    assert not record.failure


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"for": _wired(kind="Foo")}, "spec.for: kind Foo of example.com/v1 is not defined by any CRD"),
        (
            {"for": _wired(group="example.org")},
            "spec.for: kind Widget of example.org/v1 is not defined by any CRD (CRDs define it in group example.com)",
        ),
        (
            {"for": _wired(version="v1alpha1")},
            "spec.for: version v1alpha1 of Widget.example.com is not served (served: v1)",
        ),
        ({"owns": [_wired(kind="Gadget")]}, "spec.owns[0]: kind Gadget of example.com/v1 is not defined by any CRD"),
        (
            {"watches": [_wired(), _wired(version="v2", match={"metadata.name": "w"})]},
            "spec.watches[1]: version v2 of Widget.example.com is not served (served: v1)",
        ),
    ],
)
def test_kinds_that_are_not_served(tmp_path: Path, spec: dict[str, Any], expected: str) -> None:
    if "watches" in spec:
        spec["watches"][0]["selector"] = {}
    assert _load_error(_project(tmp_path, **spec)) == f"{CONFIG}: {expected}"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"for": _wired(match={"spec.(((": "x"})}, "spec.for.selector"),
        ({"owns": [_wired(matchExpressions=[{"expression": "a b", "operator": "Exists"}])]}, "spec.owns[0].selector"),
        ({"watches": [_wired(match={"!!!": "x"})]}, "spec.watches[0].selector"),
    ],
)
def test_selectors_that_are_not_cel(tmp_path: Path, spec: dict[str, Any], field: str) -> None:
    message = _load_error(_project(tmp_path, **spec))
    assert message.startswith(f"{CONFIG}: {field}: ")
    assert "is not a valid CEL expression: Syntax error" in message


def test_a_watch_value_is_a_literal_not_an_expression(tmp_path: Path) -> None:
    watch = _wired(match={"metadata.name": "not a CEL expression ((("})
    assert not run_project(_project(tmp_path, watches=[watch])).failure


def test_plugin_kinds_are_defined_when_the_plugin_is_on(tmp_path: Path) -> None:
    project = _project(tmp_path, owns=[_wired(kind="IPClaim", group="ipam.be.kuid.dev", version="v1alpha1")])
    message = _load_error(project)
    assert message == f"{CONFIG}: spec.owns[0]: kind IPClaim of ipam.be.kuid.dev/v1alpha1 is not defined by any CRD"
    assert not run_project(project, RunOptions(plugins=["internal-reconcilers"])).failure


def test_a_failed_check_changes_nothing(tmp_path: Path) -> None:
    project = _project(tmp_path)
    assert not run_project(project).failure
    before = _widget(project)
    assert before["status"] == {"seen": True}
    _project(tmp_path, **{"for": _wired(kind="Foo")})
    (project / "in/w.yaml").write_text(
        yaml.safe_dump({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"a": 2}})
    )
    _load_error(project)
    assert _widget(project) == before


def _widget(project: Path) -> dict[str, Any]:
    backend = open_state(project)
    try:
        return next(o for o in backend.list("example.com", "Widget") if o["metadata"]["name"] == "w")
    finally:
        backend.close()
