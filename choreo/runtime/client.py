"""The ``ReconcileClient`` handed to user code: reads, writes and child bookkeeping for one reconcile.

Children recorded with ``create_child`` get exactly one controller owner reference to the for-object
and are applied with the reconciler's name as field manager; children of the for-object that a
reconcile no longer produces are deleted when the children are applied. The client notes what the
reconcile observed (``queries``) for ``choreo.runtime.memo``, which decides whether it must run next time.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from choreo.api.gvk import GVK
from choreo.api.objects import clone, gvk_of, key_of
from choreo.apiserver import ssa
from choreo.apiserver.interface import ObjectAPI
from choreo.errors import ReconcileError
from choreo.lang.base import ChildRules, owned_child
from choreo.loader.project import ReconcilerConfig
from choreo.runtime.memo import (
    Identity,
    Query,
    children_query,
    get_query,
    identity_of,
    list_query,
    matching_objects,
    owned_children,
)

Object = dict[str, Any]
_Stored = TypeVar("_Stored", Object, Object | None)

# What a reconcile always decides of its for-object (``Controller._write_for_object``); the rest of what its
# reconciler applied there is applied again as it is.
DECIDED_BY_OWN_RECONCILE: tuple[tuple[str, ...], ...] = (("status",), ("metadata", "finalizers"))


class Client:
    def __init__(
        self,
        api: ObjectAPI,
        config: ReconcilerConfig,
        for_object: Object,
        log: Callable[[str], None],
        *,
        note_writes: bool = False,
        let_others_in: Callable[[], None] | None = None,
    ) -> None:
        self.api = api
        self._let_others_in = let_others_in
        self.config = config
        self.for_object = for_object
        self._log = log
        self.children: builtins.list[Object] = []
        self.children_pending = False  # recorded children not applied yet
        f = config.for_
        md = for_object["metadata"]
        self.owned = {(o.group, o.kind) for o in config.owns}
        self.note_writes = note_writes  # others may write meanwhile: note the revisions of this reconcile's own
        self.written: set[int] = set()
        self.written_children: dict[Identity, Object] = {}  # each child as its last write here returned it
        self.queries: set[Query] = {  # what the reconcile observed: its for-object and children, reads, writes
            get_query(f.group, f.kind, md.get("namespace", ""), md["name"]),
            children_query(md.get("uid", ""), self.owned),
        }

    # ------------------------------------------------------------- reads

    def get(self, api_version: str, kind: str, name: str, namespace: str) -> Object:
        gvk = GVK.from_api_version(api_version, kind)
        self.queries.add(get_query(gvk.group, kind, namespace or "", name))
        return self.api.get(gvk.group, kind, namespace or "", name, managed_fields=False)

    def list(self, api_version: str, kind: str, selector: dict[str, str] | None) -> builtins.list[Object]:
        gvk = GVK.from_api_version(api_version, kind)
        self.queries.add(list_query(gvk.group, kind, selector))
        return matching_objects(self.api, gvk.group, kind, selector)

    # ------------------------------------------------------------- writes

    def apply(self, obj: Object) -> Object:
        stored = self.write(lambda: self.api.apply(obj, manager=self.config.name))
        key = key_of(stored)
        self.queries.add(get_query(key.group, key.kind, key.namespace, key.name))
        stored["metadata"].pop("managedFields", None)  # the API's answer is the caller's own: no copy needed
        return stored

    def create_child(self, obj: Object) -> Object:
        child = owned_child(obj, self._owner_reference(), self._child_namespace(obj))
        self._record(child)
        return clone(child)

    def child_rules(self) -> ChildRules | None:
        """``create_child``'s rules for the owned kinds as the registry has them now (None when the for-object
        lacks what an owner reference needs: ``create_child`` then fails as it always did)."""
        try:
            reference = self._owner_reference()
        except KeyError:
            return None
        namespace = self.for_object["metadata"].get("namespace") or ""
        namespaces = {}
        for group, kind in self.owned:
            resource = self.api.registry.get(group, kind)
            if resource is not None:
                namespaces[(group, kind)] = namespace if resource.namespaced else ""
        return ChildRules(reference, namespaces)

    def record_child(self, child: Object) -> None:
        """Record a child made by ``child_rules()`` (in the reconcile's worker process), the rules applied again."""
        self._record(owned_child(child, self._owner_reference(), self._child_namespace(child)))

    def _record(self, child: Object) -> None:
        self.children.append(child)
        self.children_pending = True

    def _owner_reference(self) -> Object:
        owner = self.for_object
        return {
            "apiVersion": owner["apiVersion"],
            "kind": owner["kind"],
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
            "controller": True,
        }

    def _child_namespace(self, obj: Object) -> str:
        """The namespace ``create_child`` gives a child made of ``obj`` when it names none ("": none)."""
        resource = self.api.registry.get(gvk_of(obj).group, str(obj.get("kind", "")))
        namespace = self.for_object["metadata"].get("namespace")
        return namespace if resource is not None and resource.namespaced and namespace else ""

    def apply_children(self) -> None:
        wanted = {key_of(c) for c in self.children}
        for stale in self.existing_children():
            if key_of(stale) not in wanted:
                self._delete(stale)
        ordered = sorted(self.children, key=lambda c: c.get("kind") != "Namespace")
        for child in ordered:
            self._refuse_takeover(child)
            child = self._with_own_reconcile(child)
            stored = self.write(functools.partial(self.api.apply, child, manager=self.config.name))
            self.written_children[identity_of(stored)] = stored
        self.children_pending = False

    def _with_own_reconcile(self, child: Object) -> Object:
        """``child`` with the status and finalizers its own reconcile wrote, when it is of this reconciler's
        for-kind: that reconcile applies them under the same manager, and the child's apply, the manager's
        whole intent for the object too, would drop them (and each reconcile would then undo the other's)."""
        f = self.config.for_
        group, kind = gvk_of(child).group, child.get("kind")
        if (group, kind) != (f.group, f.kind):
            return child
        md = child["metadata"]
        live = self.api.view(group, f.kind, md.get("namespace") or "", md.get("name") or "")
        if live is None:
            return child
        semantics = self.api.semantics(self.api.registry.for_object(live))
        return ssa.with_own_fields(child, live, self.config.name, semantics, under=DECIDED_BY_OWN_RECONCILE)

    def delete_children(self) -> None:
        for child in self.existing_children():
            self._delete(child)

    def log(self, message: str) -> None:
        self._log(message)

    def background(self) -> bool:
        """``WaitingWork``: the store's deferred writes, run while the reconcile's worker computes."""
        return self.api.background()

    def stalled(self) -> None:
        """``WaitingWork``: the worker computes for longer; the driver that asked for it lets others at the
        store meanwhile (``Controller.let_others_in``)."""
        if self._let_others_in is not None:
            self._let_others_in()

    def write(self, write: Callable[[], _Stored]) -> _Stored:
        """Run one write of this reconcile (the for-object's included) and, with ``note_writes``, note the
        revision it stored. Atomically: a write that changes nothing returns the object as it is, which may
        be someone else's write, so only a revision above the one before the write is this reconcile's."""
        if not self.note_writes:
            return write()
        with self.api.transaction():  # no other writer in between
            before = self.api.events.current_revision()
            stored = write()
        revision = int(stored["metadata"].get("resourceVersion") or 0) if stored is not None else 0
        if revision > before:
            self.written.add(revision)
        return stored

    # ------------------------------------------------------------- helpers

    def existing_children(self) -> builtins.list[Object]:
        """Objects of the owned kinds whose owner references point at the for-object (the store's own, as
        ``ObjectAPI.dependents`` gives them: only read)."""
        return owned_children(self.api, self.for_object["metadata"].get("uid", ""), self.owned)

    def _refuse_takeover(self, child: Object) -> None:
        """A child another object already controls is not silently taken over (Kubernetes refuses it too)."""
        key = key_of(child)
        existing = self.api.view(key.group, key.kind, key.namespace, key.name) if key.name else None
        if existing is None:
            return
        uid = self.for_object["metadata"].get("uid")
        for ref in existing["metadata"].get("ownerReferences") or []:
            if ref.get("controller") and ref.get("uid") != uid:
                raise ReconcileError(
                    f"reconciler {self.config.name}: {key} is already controlled by {ref.get('kind')} "
                    f"{ref.get('name')}; two objects cannot own the same child"
                )

    def _delete(self, obj: Object) -> None:
        key = key_of(obj)
        if self.api.view(key.group, key.kind, key.namespace, key.name) is not None:
            self.api.delete(key.group, key.kind, key.namespace, key.name)
