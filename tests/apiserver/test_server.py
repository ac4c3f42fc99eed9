"""The API server core: metadata, generation, no-op writes, concurrency, apply, finalizers, cascade."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from choreo.api.objects import key_of
from choreo.apiserver.hooks import BaseHook
from choreo.apiserver.server import MOVED_FOR_TABLE, APIServer
from choreo.errors import AlreadyExists, Conflict, Invalid, NotFound
from choreo.store.memory import MemoryBackend

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "shortNames": ["wd"]},
        "scope": "Namespaced",
        "versions": [{
            "name": "v1alpha1", "served": True, "storage": True, "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "properties": {
                    "size": {"type": "integer", "default": 1},
                    "color": {"type": "string", "enum": ["red", "blue"]},
                }},
                "status": {"type": "object", "properties": {
                    "conditions": {"type": "array", "x-kubernetes-list-type": "map",
                                   "x-kubernetes-list-map-keys": ["type"],
                                   "items": {"type": "object", "required": ["type"], "properties": {
                                       "type": {"type": "string"}, "status": {"type": "string"}}}},
                    "note": {"type": "string"},
                }},
            }}},
        }],
    },
}


@pytest.fixture
def api() -> APIServer:
    ticks = itertools.count()
    server = APIServer(MemoryBackend(), clock=lambda: f"2026-01-01T00:00:{next(ticks) % 60:02d}Z")
    server.register_crd(CRD)
    return server


def widget(name: str = "w1", namespace: str = "default", **spec: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "example.com/v1alpha1", "kind": "Widget",
                           "metadata": {"name": name, "namespace": namespace}}
    if spec:
        obj["spec"] = spec
    return obj


def test_create_sets_server_fields_and_defaults(api: APIServer) -> None:
    stored = api.create(widget(color="red"))
    md = stored["metadata"]
    assert md["generation"] == 1 and md["uid"] and md["creationTimestamp"] and md["resourceVersion"]
    assert stored["spec"] == {"size": 1, "color": "red"}
    with pytest.raises(AlreadyExists):
        api.create(widget())


def test_generation_moves_only_with_spec(api: APIServer) -> None:
    api.apply(widget(color="red"), manager="a")
    status = api.apply({**widget(), "status": {"note": "hi"}}, manager="b")
    assert status["metadata"]["generation"] == 1
    spec = api.apply(widget(color="blue"), manager="a")
    assert spec["metadata"]["generation"] == 2


def test_write_that_changes_nothing_changes_nothing(api: APIServer) -> None:
    first = api.apply(widget(color="red"), manager="a")
    revision = api.backend.current_revision()
    again = api.apply(widget(color="red"), manager="a")
    assert again == first
    assert api.backend.current_revision() == revision
    assert api.backend.events_since(revision) == []


def test_stale_update_is_a_conflict(api: APIServer) -> None:
    stored = api.create(widget(color="red"))
    fresh = api.update({**stored, "spec": {"color": "blue", "size": 1}})
    assert fresh["spec"]["color"] == "blue"
    with pytest.raises(Conflict, match="the object has been modified"):
        api.update({**stored, "spec": {"color": "red", "size": 2}})


def test_apply_conflict_between_managers_and_force(api: APIServer) -> None:
    api.apply(widget(color="red"), manager="a")
    with pytest.raises(Conflict, match=r'conflict with "a": \.spec\.color'):
        api.apply(widget(color="blue"), manager="b")
    taken = api.apply(widget(color="blue"), manager="b", force=True)
    assert taken["spec"]["color"] == "blue"


def test_field_dropped_by_its_manager_is_removed(api: APIServer) -> None:
    api.apply(widget(color="red", size=3), manager="a")
    after = api.apply(widget(size=3), manager="a")
    assert "color" not in after["spec"]


def test_conditions_of_two_managers_coexist(api: APIServer) -> None:
    api.create(widget())
    api.apply({**widget(), "status": {"conditions": [{"type": "A", "status": "True"}]}}, manager="a")
    both = api.apply({**widget(), "status": {"conditions": [{"type": "B", "status": "False"}]}}, manager="b")
    assert [c["type"] for c in both["status"]["conditions"]] == ["A", "B"]


def test_undeclared_field_names_the_path(api: APIServer) -> None:
    with pytest.raises(Invalid) as err:
        api.apply(widget(colour="red"), manager="a")
    assert str(err.value) == (
        "fieldmanager apply failed err: failed to create typed patch object "
        "(default/w1; example.com/v1alpha1, Kind=Widget): .spec.colour: field not declared in schema"
    )


def test_undeclared_fields_are_refused_before_apply_builds_anything(
    api: APIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An intent of 100 000 unknown keys (issue 15: a 5 MB input took 16 s in apply's flattening before the
    schema check refused it) never reaches server-side apply: the refusal names three and counts the rest."""
    api.apply(widget(color="red"), manager="a")
    revision = api.backend.current_revision()

    def no_typed_patch(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("server-side apply was entered")

    monkeypatch.setattr("choreo.apiserver.ssa.apply", no_typed_patch)
    intent = widget(color="blue", **{f"k{i}": i for i in range(100_000)})
    with pytest.raises(Invalid) as err:
        api.apply(intent, manager="b")  # also a conflict with "a" over .spec.color: the schema comes first
    assert str(err.value) == (
        "fieldmanager apply failed err: failed to create typed patch object (default/w1; example.com/v1alpha1, "
        "Kind=Widget): .spec.k0: field not declared in schema; .spec.k1: field not declared in schema; "
        ".spec.k10: field not declared in schema; and 99997 more"
    )
    assert len(err.value.causes) == 100_000
    assert api.backend.current_revision() == revision


@pytest.mark.parametrize(("obj", "needle"), [
    (widget(name="Bad_Name"), ".metadata.name"),
    (widget(namespace=""), ".metadata.namespace: Required value"),
    (widget(color="green"), '.spec.color: Unsupported value: "green"'),
])
def test_invalid_objects_are_rejected(api: APIServer, obj: dict[str, Any], needle: str) -> None:
    with pytest.raises(Invalid, match=needle.replace(".", r"\.")):
        api.create(obj)


def test_namespaces_are_separate(api: APIServer) -> None:
    api.create(widget(namespace="a", color="red"))
    api.create(widget(namespace="b", color="blue"))
    assert api.get("example.com", "Widget", "a", "w1")["spec"]["color"] == "red"
    assert [o["metadata"]["namespace"] for o in api.list("example.com", "Widget")] == ["a", "b"]
    assert len(api.list("example.com", "Widget", "b")) == 1


def test_finalizers_hold_deletion_until_removed(api: APIServer) -> None:
    api.apply({**widget(), "metadata": {**widget()["metadata"], "finalizers": ["keep"]}}, manager="a")
    marked = api.delete("example.com", "Widget", "default", "w1")
    assert marked["metadata"]["deletionTimestamp"]
    with pytest.raises(Invalid, match="no new finalizers"):
        api.apply({**widget(), "metadata": {**widget()["metadata"], "finalizers": ["keep", "more"]}}, manager="a")
    api.apply(widget(), manager="a")  # manager a stops applying its finalizer
    with pytest.raises(NotFound):
        api.get("example.com", "Widget", "default", "w1")


def test_deleting_an_owner_deletes_what_it_owns(api: APIServer) -> None:
    owner = api.create(widget("owner"))
    ref = {"apiVersion": "example.com/v1alpha1", "kind": "Widget", "name": "owner",
           "uid": owner["metadata"]["uid"], "controller": True}
    child = widget("child")
    child["metadata"]["ownerReferences"] = [ref]
    api.create(child)
    grandchild = widget("grandchild")
    grandchild["metadata"]["ownerReferences"] = [{**ref, "name": "child",
                                                  "uid": api.get("example.com", "Widget", "default", "child")
                                                  ["metadata"]["uid"]}]
    grandchild["metadata"]["finalizers"] = ["hold"]
    api.create(grandchild)
    api.delete("example.com", "Widget", "default", "owner")
    assert [o["metadata"]["name"] for o in api.list("example.com", "Widget")] == ["grandchild"]
    assert api.get("example.com", "Widget", "default", "grandchild")["metadata"]["deletionTimestamp"]


def test_orphaning_delete_keeps_the_dependents_without_their_owner_reference(api: APIServer) -> None:
    owner, other = api.create(widget("owner")), api.create(widget("other"))
    refs = [{"apiVersion": "example.com/v1alpha1", "kind": "Widget", "name": o["metadata"]["name"],
             "uid": o["metadata"]["uid"]} for o in (owner, other)]
    only, both = widget("only"), widget("both")
    only["metadata"]["ownerReferences"], both["metadata"]["ownerReferences"] = refs[:1], refs
    api.create(only)
    api.create(both)
    api.delete("example.com", "Widget", "default", "owner", orphan=True)
    kept = {o["metadata"]["name"]: o["metadata"].get("ownerReferences") for o in api.list("example.com", "Widget")}
    assert kept == {"both": refs[1:], "only": None, "other": None}


def test_delete_with_a_uid_precondition_spares_an_object_made_again_under_its_name(api: APIServer) -> None:
    first = api.create(widget())
    api.delete("example.com", "Widget", "default", "w1")
    again = api.create(widget())
    with pytest.raises(Conflict, match=f"Precondition failed: UID in precondition: {first['metadata']['uid']}, "
                                       f"UID in object meta: {again['metadata']['uid']}"):
        api.delete("example.com", "Widget", "default", "w1", expected_uid=first["metadata"]["uid"])
    api.delete("example.com", "Widget", "default", "w1", expected_uid=again["metadata"]["uid"])
    assert api.list("example.com", "Widget") == []


def test_admission_hook_fills_status_and_can_reject(api: APIServer) -> None:
    class Stamp(BaseHook):
        def admit(self, api: APIServer, old: Any, new: dict[str, Any]) -> None:
            if new.get("spec", {}).get("color") == "blue":
                raise Invalid("blue widgets are sold out")
            new["status"] = {"note": f"admitted {new['metadata']['uid'][:0]}ok"}

    api.add_hook("example.com", "Widget", Stamp())
    assert api.apply(widget(color="red"), manager="a")["status"]["note"] == "admitted ok"
    revision = api.backend.current_revision()
    with pytest.raises(Invalid, match="sold out"):
        api.apply(widget("w2", color="blue"), manager="a")
    assert api.backend.current_revision() == revision


def test_registry_resolves_every_spelling(api: APIServer) -> None:
    for spelling in ("widgets", "widget", "Widget", "wd", "widgets.example.com", "Widget.example.com"):
        assert api.registry.resolve(spelling).kind == "Widget"
    with pytest.raises(NotFound):
        api.registry.resolve("gadgets")


def test_every_api_server_serves_both_event_kinds_and_events_means_the_core_one(api: APIServer) -> None:
    """As kubectl resolves ``events``: the core group's kind of that name wins over ``events.k8s.io``'s."""
    assert {(r.group, r.kind) for r in api.registry.resources() if r.kind == "Event"} == {
        ("", "Event"), ("events.k8s.io", "Event")}
    assert api.registry.resolve("events").group == ""
    assert api.registry.resolve("ev").group == ""
    assert api.registry.resolve("events.events.k8s.io").group == "events.k8s.io"
    twin = {**CRD, "metadata": {"name": "widgets.example.org"}, "spec": {**CRD["spec"], "group": "example.org"}}
    api.register_crd(twin)
    with pytest.raises(Invalid) as ambiguous:
        api.registry.resolve("widgets")  # neither is core: no guess
    assert str(ambiguous.value) == 'resource type "widgets" is ambiguous: widgets.example.com, widgets.example.org'


def test_ratcheting_lets_an_update_keep_what_the_new_schema_refuses(api: APIServer) -> None:
    """Within ``ratcheting`` (client writes, a reconciler's writes of its for-object) an update is refused
    only for what it changes; outside it (the loader's applies) the whole object is checked."""
    api.create(widget(color="red"))
    narrowed = copy.deepcopy(CRD)
    narrowed["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["color"][
        "enum"] = ["blue"]
    api.register_crd(narrowed)

    def labelled(value: str) -> dict[str, Any]:
        current = api.get("example.com", "Widget", "default", "w1")
        current["metadata"]["labels"] = {"team": value}
        return current

    with pytest.raises(Invalid, match=r'\.spec\.color: Unsupported value: "red"'):
        api.update(labelled("a"))
    with api.ratcheting():
        assert api.update(labelled("b"))["metadata"]["labels"] == {"team": "b"}
        changed = labelled("c")
        changed["spec"]["size"] = "big"  # a new mistake is still refused
        with pytest.raises(Invalid, match=r"\.spec\.size: Invalid value") as refused:
            api.update(changed)
        assert "color" not in str(refused.value)
    with pytest.raises(Invalid, match=r'\.spec\.color: Unsupported value: "red"'):
        api.update(labelled("d"))


def _versions(*versions: tuple[str, bool, bool]) -> dict[str, Any]:
    """CRD with one version entry per (name, served, storage), each with CRD's schema."""
    crd = copy.deepcopy(CRD)
    entry = crd["spec"]["versions"][0]
    crd["spec"]["versions"] = [{**copy.deepcopy(entry), "name": n, "served": s, "storage": st} for n, s, st in versions]
    return crd


@pytest.mark.parametrize("dropped", [False, True], ids=["not-served", "removed"])
def test_objects_stored_at_a_version_no_longer_served_move_to_the_storage_version(dropped: bool) -> None:
    """A CRD whose v1alpha1 became v1beta1: the objects stored at v1alpha1 (a client's, which no file
    applies again) are rewritten at v1beta1, as with kube-apiserver's ``None`` conversion, nothing else
    changed. Left at v1alpha1, every reconcile of one failed (its result "not served"), and so did
    reporting that failure (no kind registered for that version)."""
    api = APIServer(MemoryBackend())
    api.register_crd(CRD)
    api.create(copy.deepcopy(CRD))  # the CRD as the previous load stored it
    before = api.create(widget(color="red"))
    both = api.create({**widget("w2"), "apiVersion": "example.com/v1alpha1"})
    renamed = _versions(("v1beta1", True, True)) if dropped else _versions(("v1alpha1", False, False),
                                                                           ("v1beta1", True, True))
    api.register_crd(renamed)
    after = api.get("example.com", "Widget", "default", "w1")
    assert after["apiVersion"] == "example.com/v1beta1"
    assert after["spec"] == before["spec"] and after["metadata"]["generation"] == before["metadata"]["generation"]
    assert api.registry.for_object(after).kind == "Widget"  # what reporting a failure needs
    assert api.get("example.com", "Widget", "default", both["metadata"]["name"])["apiVersion"] == "example.com/v1beta1"


def test_objects_stored_at_a_version_still_served_stay_as_they_are() -> None:
    api = APIServer(MemoryBackend())
    api.register_crd(CRD)
    api.create(copy.deepcopy(CRD))
    stored = api.create(widget())
    api.register_crd(_versions(("v1alpha1", True, False), ("v1beta1", True, True)))
    assert api.get("example.com", "Widget", "default", "w1") == stored


def _left_by_an_earlier_choreo() -> tuple[MemoryBackend, dict[str, Any]]:
    """A store as a choreo that did not move objects left it: its CRD changed v1alpha1 to v1beta1 (stored so)
    while two Widgets stayed at v1alpha1, and no record of the versions objects were moved for. Returns the
    store and the CRD as the folder now holds it (the stored one)."""
    backend = MemoryBackend()
    api = APIServer(backend)
    api.register_crd(CRD)
    api.create(copy.deepcopy(CRD))
    api.create(widget(color="red"))
    api.create(widget("w2"))
    renamed = _versions(("v1beta1", True, True))
    with backend.transaction():
        stored = backend.get(key_of(CRD))
        assert stored is not None
        backend.update(key_of(stored), {**stored, "spec": renamed["spec"]})
        backend.delete_record(MOVED_FOR_TABLE, "example.com/Widget")
    return backend, renamed


def test_objects_an_earlier_choreo_left_at_a_version_no_longer_served_move_when_the_store_is_opened() -> None:
    """Their CRD is unchanged since: the objects move as the kind is registered on opening the store (a load,
    a server's start), all in one transaction with the record that they moved; a reader of the store moves
    nothing."""
    backend, renamed = _left_by_an_earlier_choreo()
    reader = APIServer(backend)
    reader.register_stored_crds()  # ``choreo get``: reads, writes nothing
    assert {w["apiVersion"] for w in backend.list("example.com", "Widget")} == {"example.com/v1alpha1"}

    class Refused(Exception):
        pass

    api = APIServer(backend)
    with pytest.raises(Refused), api.transaction():  # a load refused after the kinds were registered
        api.register_crd(renamed)
        assert {w["apiVersion"] for w in api.list("example.com", "Widget")} == {"example.com/v1beta1"}
        raise Refused
    assert {w["apiVersion"] for w in backend.list("example.com", "Widget")} == {"example.com/v1alpha1"}
    assert backend.get_record(MOVED_FOR_TABLE, "example.com/Widget") is None
    before = backend.list("example.com", "Widget")

    again = APIServer(backend)
    again.register_crd(renamed)
    moved = backend.list("example.com", "Widget")
    assert [(w["metadata"]["name"], w["apiVersion"]) for w in moved] == [
        ("w1", "example.com/v1beta1"), ("w2", "example.com/v1beta1")
    ]
    def unmoved(obj: dict[str, Any]) -> dict[str, Any]:
        md = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
        return {**obj, "apiVersion": "", "metadata": md}

    assert [unmoved(w) for w in moved] == [unmoved(w) for w in before]  # only the apiVersion changed
    assert backend.get_record(MOVED_FOR_TABLE, "example.com/Widget") == ["v1beta1"]
