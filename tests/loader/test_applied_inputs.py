"""A load applies only the inputs whose apply would change something, and ends exactly where applying
every input would have."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest

from choreo.apiserver.server import APIServer
from choreo.errors import LoadError
from choreo.loader.loading import load_project
from choreo.loader.sync import APPLIED_TABLE, ProjectLoad, sync_project
from choreo.plugins import INTERNAL_RECONCILERS, SCHEMA
from choreo.runtime.pipeline import Pipeline, RunOptions
from choreo.runtime.session import run_project
from choreo.store.memory import MemoryBackend

from . import build
from .test_upstream import WIDGET_CRD

WIDGET = "apiVersion: example.com/v1alpha1\nkind: Widget\nmetadata: {{name: {name}}}\nspec: {{size: '{size}'}}\n"


def project(root: Path, **sizes: str) -> Path:
    for old in (root / "in").glob("*.yaml") if (root / "in").exists() else ():
        old.unlink()
    files = {f"in/{name}.yaml": WIDGET.format(name=name, size=size) for name, size in sizes.items()}
    return build(root, {"crds/example.com_widgets.yaml": WIDGET_CRD, **files})


class Counting(APIServer):
    """Counts the applies a load makes."""

    applies: list[str]

    def apply(self, obj: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        self.applies.append(obj["metadata"]["name"])
        return super().apply(obj, **kwargs)


def load(api: Counting, root: Path) -> list[str]:
    api.applies = []
    sync_project(api, load_project(root), [])
    return api.applies


def everything(api: APIServer) -> list[dict[str, Any]]:
    return list(api.stored_objects())


def test_only_what_changed_is_applied_and_the_state_is_that_of_applying_everything(tmp_path: Path) -> None:
    clock = iter(f"2026-01-01T00:00:{n:02}Z" for n in range(60))
    api = Counting(MemoryBackend(), clock=lambda: next(clock))
    root = project(tmp_path, a="1", b="2")
    assert load(api, root) == ["widgets.example.com", "a", "b"]
    assert load(api, root) == []  # nothing changed: no apply at all
    revision = api.events.current_revision()

    project(tmp_path, a="1", b="3", c="4")
    assert load(api, root) == ["b", "c"]
    # Someone else changed a: its input is applied again and takes its fields back.
    a = api.get("example.com", "Widget", "default", "a")
    a["spec"]["size"] = "9"
    api.update(a, manager="someone")
    assert load(api, root) == ["a"]
    assert api.get("example.com", "Widget", "default", "a")["spec"] == {"size": "1"}
    assert api.events.current_revision() > revision

    # The same loads with every input applied (no records) end in the same objects.
    skipped = everything(api)
    for name in api.records.record_keys(APPLIED_TABLE):
        api.records.delete_record(APPLIED_TABLE, name)
    assert load(api, root) == ["widgets.example.com", "a", "b", "c"]
    assert everything(api) == skipped

    project(tmp_path, a="1")
    assert load(api, root) == []
    assert [o["metadata"]["name"] for o in api.list("example.com", "Widget")] == ["a"]
    assert sorted(api.records.record_keys(APPLIED_TABLE)) == [
        "apiextensions.k8s.io\x1fCustomResourceDefinition\x1f\x1fwidgets.example.com",
        "example.com\x1fWidget\x1fdefault\x1fa",
    ]


def test_a_kind_with_admission_hooks_is_always_applied(tmp_path: Path) -> None:
    class Hook:
        def admit(self, api: Any, old: Any, new: Any) -> None: ...
        def stored(self, api: Any, old: Any, new: Any) -> None: ...
        def deleting(self, api: Any, old: Any) -> None: ...

    api = Counting(MemoryBackend())
    api.add_hook("example.com", "Widget", Hook())
    root = project(tmp_path, a="1")
    assert load(api, root) == ["widgets.example.com", "a"]
    assert load(api, root) == ["a"]


def test_a_failed_load_keeps_the_previous_records(tmp_path: Path) -> None:
    api = Counting(MemoryBackend())
    root = project(tmp_path, a="1")
    load(api, root)
    before = dict(api.records.list_records(APPLIED_TABLE))
    (root / "in" / "bad.yaml").write_text("apiVersion: example.com/v1alpha1\nkind: Widget\nmetadata: {name: Bad}\n")
    with pytest.raises(LoadError, match=r"bad\.yaml"):
        load(api, root)
    assert dict(api.records.list_records(APPLIED_TABLE)) == before
    (root / "in" / "bad.yaml").unlink()
    assert load(api, root) == []


def test_settling_follows_writes_that_leave_the_inputs_in_place_and_undoes_a_trial_that_writes(tmp_path: Path) -> None:
    api = Counting(MemoryBackend())
    root = project(tmp_path, a="1", b="2")
    load(api, root)
    # A reconciler writes a field of a that its input does not set: the next load would apply a again
    # (its resourceVersion moved), unless settled.
    api.apply({"apiVersion": "example.com/v1alpha1", "kind": "Widget",
               "metadata": {"name": "a", "namespace": "default", "labels": {"seen": "yes"}}}, manager="reconciler")
    loaded = ProjectLoad(api, load_project(root), [])
    revision = api.events.current_revision()
    assert loaded.settled()
    assert api.events.current_revision() == revision
    assert load(api, root) == []
    # Someone takes a field of b: applying b again would write, so the trial is undone and b stays behind.
    b = api.get("example.com", "Widget", "default", "b")
    b["spec"]["size"] = "9"
    api.update(b, manager="someone")
    revision = api.events.current_revision()
    loaded = ProjectLoad(api, load_project(root), [])
    assert not loaded.settled()
    assert api.events.current_revision() == revision
    assert api.get("example.com", "Widget", "default", "b")["spec"] == {"size": "9"}
    assert load(api, root) == ["b"]
    assert api.get("example.com", "Widget", "default", "b")["spec"] == {"size": "2"}
    # A leftover input (its file removed) is not settled either: the next load deletes it.
    (root / "in" / "b.yaml").unlink()
    assert not ProjectLoad(api, load_project(root), []).settled()


def test_a_run_leaves_the_loaded_inputs_as_they_were_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The prepared intents share all but their top level and metadata with the loaded inputs, which the
    run holds to its end: no apply, reconcile, stage or settle check may change either."""
    root = tmp_path / "fabric"
    shutil.copytree(Path(__file__).parents[2] / "examples" / "fabric", root,
                    ignore=shutil.ignore_patterns(".choreo", "out"))
    seen: list[tuple[list[Any], list[Any], Any]] = []
    read = Pipeline.read

    def keeping(self: Pipeline, api: APIServer) -> Any:
        loaded = read(self, api)
        items = [intent.item.obj for intent in loaded.intents]
        prepared = [intent.obj for intent in loaded.intents]
        seen.append((items, prepared, copy.deepcopy((items, prepared))))
        return loaded

    monkeypatch.setattr(Pipeline, "read", keeping)
    options = RunOptions(plugins=[INTERNAL_RECONCILERS, SCHEMA], stage_options={"out": None, "reports": {}})
    assert run_project(root, options).success
    [(items, prepared, before)] = seen
    assert len(items) > 10 and any(o.get("kind") == "Link" for o in items)
    assert (items, prepared) == before
    assert all(p is not i and p["metadata"] is not i["metadata"] for p, i in zip(prepared, items, strict=True))
