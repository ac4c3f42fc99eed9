"""Reconcilers and libraries are stored as ``Reconciler`` / ``Library`` objects on every load.

Whatever layout declares them (flat ``reconcilers/<name>.yaml`` + ``libs/``, the ``in/`` copies ``dev parse``
writes, ``reconcilers/<dir>/config.yaml`` + ``crds/*.star``), each load stores one object per reconciler
and library, updates it when its files change, and deletes it when they are gone.
"""

from __future__ import annotations

from pathlib import Path

from choreo.apiserver.server import APIServer
from choreo.loader.devparse import dev_parse
from choreo.loader.loading import load_project
from choreo.loader.project import FILE_ORIGIN, ORIGIN_ANNOTATION, Project
from choreo.loader.sync import sync_project
from choreo.store.memory import MemoryBackend

from . import build
from .test_upstream import LIBRARY, WIDGET_CRD, WIDGET_RECONCILER, WIDGET_STAR

GROUP = "choreo.kform.dev"
FLAT_CONFIG = "spec:\n  for: {group: example.com, version: v1alpha1, kind: Widget, selector: {}}\n"
FLAT_STAR = WIDGET_STAR.replace("example.com.widgets.star", "widget.lib.star")
PROJECT = {
    "crds/example.com_widgets.yaml": WIDGET_CRD,
    "crds/example.com_widgets.star": LIBRARY,
    "reconcilers/widget/config.yaml": WIDGET_RECONCILER,
    "reconcilers/widget/reconciler.star": WIDGET_STAR,
    "reconcilers/flat.widget.yaml": FLAT_CONFIG,
    "reconcilers/flat.widget.star": FLAT_STAR,
    "libs/widget.lib.star": LIBRARY,
}


def sync(root: Path, backend: MemoryBackend) -> tuple[APIServer, Project]:
    api = APIServer(backend)
    project = load_project(root)
    sync_project(api, project, [])
    return api, project


def stored(api: APIServer, kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in api.list(GROUP, kind)}


def test_every_layout_is_stored_with_its_spec_and_origin(tmp_path: Path) -> None:
    root = build(tmp_path, PROJECT)
    dev_parse(root)  # in/ copies of the flat ones: still one object each
    api, _ = sync(root, MemoryBackend())
    reconcilers = stored(api, "Reconciler")
    assert sorted(reconcilers) == ["flat.widget", "widget"]
    assert reconcilers["widget"]["spec"] == {
        "code": {"reconciler.star": WIDGET_STAR}, "type": "starlark",
        "for": {"group": "example.com", "version": "v1alpha1", "kind": "Widget", "selector": {}},
    }
    assert reconcilers["flat.widget"]["spec"]["code"] == {"reconciler.star": FLAT_STAR}
    libraries = stored(api, "Library")
    assert sorted(libraries) == ["example.com.widgets.star", "widget.lib.star"]
    assert libraries["widget.lib.star"]["spec"] == {"code": LIBRARY, "type": "starlark"}
    for obj in [*reconcilers.values(), *libraries.values()]:
        assert obj["metadata"]["annotations"][ORIGIN_ANNOTATION] == FILE_ORIGIN
        assert "namespace" not in obj["metadata"]  # cluster scoped, as in the reference


def test_changed_files_update_the_objects_and_removed_files_delete_them(tmp_path: Path) -> None:
    root = build(tmp_path, PROJECT)
    backend = MemoryBackend()
    api, _ = sync(root, backend)
    versions = {name: o["metadata"]["resourceVersion"] for name, o in stored(api, "Reconciler").items()}
    api, _ = sync(root, backend)  # nothing changed: nothing written
    assert {name: o["metadata"]["resourceVersion"] for name, o in stored(api, "Reconciler").items()} == versions

    changed = WIDGET_STAR.replace("False, 0", "False, 5")
    build(root, {"reconcilers/widget/reconciler.star": changed, "libs/widget.lib.star": LIBRARY + "# more\n"})
    (root / "reconcilers" / "flat.widget.yaml").unlink()
    (root / "reconcilers" / "flat.widget.star").unlink()
    (root / "crds" / "example.com_widgets.star").unlink()
    api, _ = sync(root, backend)
    assert {name: o["spec"]["code"] for name, o in stored(api, "Reconciler").items()} == {
        "widget": {"reconciler.star": changed}
    }
    assert {name: o["spec"]["code"] for name, o in stored(api, "Library").items()} == {
        "widget.lib.star": LIBRARY + "# more\n"
    }


def test_a_name_that_is_no_object_name_runs_but_is_not_stored(tmp_path: Path) -> None:
    config = WIDGET_RECONCILER.replace("name: widget", "name: Widget_Reconciler")
    root = build(tmp_path, {**PROJECT, "reconcilers/widget/config.yaml": config})
    api, project = sync(root, MemoryBackend())
    assert "Widget_Reconciler" in [config.name for config in project.reconcilers]
    assert sorted(stored(api, "Reconciler")) == ["flat.widget"]
    assert project.warnings == [
        "reconcilers/widget/config.yaml: reconciler Widget_Reconciler is not stored as an object "
        "(choreo get, run deps -i): its name is not a lowercase DNS subdomain"
    ]
    sync_project(APIServer(MemoryBackend()), project, [])  # synced again: the warning is not repeated
    assert len(project.warnings) == 1


def test_an_object_changed_through_the_api_is_set_back_by_the_next_load(tmp_path: Path) -> None:
    root = build(tmp_path, PROJECT)
    backend = MemoryBackend()
    api, _ = sync(root, backend)
    edited = {"apiVersion": f"{GROUP}/v1alpha1", "kind": "Reconciler", "metadata": {"name": "widget"},
              "spec": {"code": {"reconciler.star": "def reconcile(self):\n    fail('edited')\n"}}}
    api.apply(edited, manager="kubectl", force=True)
    assert "edited" in stored(api, "Reconciler")["widget"]["spec"]["code"]["reconciler.star"]
    api, _ = sync(root, backend)
    assert stored(api, "Reconciler")["widget"]["spec"]["code"] == {"reconciler.star": WIDGET_STAR}
