"""The API server core: every read and write of an API object goes through here.

It owns the rules Kubernetes clients rely on: validation and defaulting against the kind's schema,
metadata rules, uid/creationTimestamp/generation/resourceVersion, optimistic concurrency, server-side
apply with managed fields, no-op suppression (a write that changes nothing changes nothing), finalizers
and deletionTimestamp, and owner-reference cascading deletion. Storage is a ``choreo.store.Backend``;
every public write is one store transaction, so a failure never leaves half of it behind.
"""

from __future__ import annotations

import builtins
import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from choreo.api.objects import ObjectKey, clone, key_of, meta
from choreo.apiserver import namespaces, openapi, ssa
from choreo.apiserver.event_kinds import event_resources
from choreo.apiserver.hooks import AdmissionHook
from choreo.apiserver.metadata import same_checked_metadata, validate_metadata
from choreo.apiserver.registry import APIResource, Registry, builtin_crds, resource_from_crd
from choreo.errors import ChoreoError, Conflict, Invalid, NotFound
from choreo.messages import capped
from choreo.store.base import Backend, EventSource, RecordStore, StoredText
from choreo.store.head import Head

Object = dict[str, Any]

# metadata the server owns: clients cannot set or change these through a write
_SERVER_FIELDS = ("uid", "creationTimestamp", "resourceVersion", "generation", "deletionTimestamp")
# metadata an apply's intent never carries: the server's fields and the field managers
_NOT_APPLIED = frozenset((*_SERVER_FIELDS, "managedFields"))
MOVED_FOR_TABLE = "served-versions"
"""Record table: a kind (``group/kind``) → the versions its CRD served when its stored objects were last moved
to its storage version (``migrate_versions``). A kind registered with other served versions than these has
its objects moved again: after its CRD changed (a client's, or the folder's), and once for a store written
before choreo moved them, where objects may sit at a version the unchanged CRD no longer serves."""


def client_intent(obj: Object, resource: APIResource) -> Object:
    """``obj`` as what a client means when it writes back an object it read (``get -o yaml``, edited): without
    the metadata the server sets (uid, resourceVersion, generation, timestamps, managed fields) and, for a
    kind with a status subresource, without the status its writes leave alone. Only the top level and
    metadata are copied."""
    out = {**obj, "metadata": {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _NOT_APPLIED}}
    if resource.status_subresource:
        out.pop("status", None)
    return out


_stamp: tuple[float, str] = (-1.0, "")
"""The last second ``utc_now`` formatted, with its text: formatting costs ten times reading the clock."""


def utc_now() -> str:
    """The current UTC time to the second, as Kubernetes writes timestamps (``2024-01-31T12:00:00Z``).

    Every write reads it (managedFields times, conditions); the text is made once per second."""
    global _stamp
    moment = datetime.now(UTC)
    second = moment.timestamp() // 1
    stamp = _stamp  # one read: another thread may replace it meanwhile
    if stamp[0] != second:
        stamp = _stamp = (second, moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return stamp[1]


def _unchanged(old: Object, new: Object) -> bool:
    """Whether a write changes nothing but what every write changes (resourceVersion, managedFields times).

    Written for speed: it runs on every write and most writes of a steady-state run are no-ops."""
    if old.keys() != new.keys() or any(old[k] != new[k] for k in old if k != "metadata"):
        return False
    old_md, new_md = old["metadata"], new["metadata"]
    volatile = ("resourceVersion", "managedFields")
    if {k for k in old_md if k not in volatile} != {k for k in new_md if k not in volatile}:
        return False
    if any(old_md[k] != new_md[k] for k in old_md if k not in volatile):
        return False
    return _without_times(old_md.get("managedFields")) == _without_times(new_md.get("managedFields"))


def _without_times(entries: list[Object] | None) -> list[Object]:
    return [{k: v for k, v in entry.items() if k != "time"} for entry in entries or []]


class APIServer:
    def __init__(
        self,
        backend: Backend,
        *,
        clock: Callable[[], str] = utc_now,
        new_uid: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.backend = backend
        self.registry = Registry()
        self._clock = clock
        self._new_uid = new_uid
        self._semantics: dict[tuple[str, str], openapi.SchemaInfo] = {}
        self._hooks: dict[tuple[str, str], list[AdmissionHook]] = {}
        # Kinds whose stored objects may predate their current schema, with the store's revision when the
        # schema changed: an unchanged write of an object not stored since then is validated all the same.
        self._unverified: dict[tuple[str, str], int] = {}
        self._ratchet = threading.local()  # .on: updates of this thread are ratcheted (``ratcheting``)
        for crd in builtin_crds():
            self.registry.add(resource_from_crd(crd, source="built-in", choreo_api=True))
        for resource in event_resources():
            self.registry.add(resource)
        self.registry.add(namespaces.namespace_resource())
        self.add_hook("", namespaces.KIND, namespaces.NamespaceHook())

    # ---------------------------------------------------------------- the store, through the API

    @contextlib.contextmanager
    def ratcheting(self) -> Iterator[None]:
        """Updates within it are ratcheted (``ObjectAPI.ratcheting``): client writes and a reconciler's writes
        of its for-object. The loader's applies never are: a run's verdict on its inputs must not depend
        on what the store held before."""
        before = getattr(self._ratchet, "on", False)
        self._ratchet.on = True
        try:
            yield
        finally:
            self._ratchet.on = before

    def transaction(self) -> AbstractContextManager[None]:
        """Group several API calls into one atomic unit (nested calls join it; an exception undoes it)."""
        return self.backend.transaction()

    @property
    def events(self) -> EventSource:
        """The changes to objects, for watchers: current revision, events since one, wait for the next."""
        return self.backend

    @property
    def records(self) -> RecordStore:
        """The side tables of run records, snapshots and plug-in state (written in the API's transaction)."""
        return self.backend

    def stored_objects(self) -> Iterator[Object]:
        """Every stored object as the store holds it (managed fields included), in store order: by group,
        kind, namespace and name; kinds need not be registered (for inventories, snapshots, clean-up).
        These are the store's own objects (``Backend.view_list``): read them, never mutate them."""
        for group, kind in self.backend.kinds():
            yield from self.backend.view_list(group, kind)

    def stored_texts(self) -> Iterator[tuple[Head, StoredText]]:
        """The head of each of ``stored_objects`` with its canonical JSON text as the store keeps it: what a
        snapshot keeps (``RecordStore.put_texts``) without decoding, encoding or compressing an object."""
        return self.backend.stored_texts()

    def unserved_objects(self) -> Iterator[Object]:
        """Stored objects of kinds no registered CRD defines (any more), in store order; the store's own
        objects, never to be mutated."""
        for group, kind in self.backend.kinds():
            if self.registry.get(group, kind) is None:
                yield from self.backend.view_list(group, kind)

    def drop_unserved(self, obj: Object) -> None:
        """Remove an object of a kind no CRD defines any more: no schema, hook or finalizer can apply to it,
        so it leaves the store directly (what it owned is then garbage-collected)."""
        key = key_of(obj)
        if self.registry.get(key.group, key.kind) is not None:
            raise Invalid(f"{key.kind}.{key.group} is served: delete {key.name} through the API instead")
        self.backend.delete(key)

    # ---------------------------------------------------------------- kinds

    def register_crd(
        self, crd: Object, *, source: str = "", choreo_api: bool = False, migrate: bool = True
    ) -> APIResource:
        """Serve the kind ``crd`` defines; unless told not to (``migrate``: a reader of the store, which writes
        nothing), move its stored objects to its storage version when they were last moved for other served
        versions than it has (``migrate_versions``)."""
        resource = resource_from_crd(crd, source=source, choreo_api=choreo_api)
        before = self._stored_resource(crd)
        if before is None or (before.schema, before.namespaced) != (resource.schema, resource.namespaced):
            self._unverified[(resource.group, resource.kind)] = self.backend.current_revision()
        self.registry.add(resource)
        self._semantics.pop((resource.group, resource.kind), None)
        if migrate and self.backend.get_record(MOVED_FOR_TABLE, _kind_name(resource)) != resource.served_versions:
            self.migrate_versions(resource)
        return resource

    def _stored_resource(self, crd: Object) -> APIResource | None:
        """The kind as the CRD stored by the previous load defined it (None: none stored, or one this version
        cannot read, which counts as changed in every way: re-checking more is always safe).

        Why: a write that changes nothing is normally not validated again; after a CRD changed (a ``pattern``
        added) that would keep a stored object the new schema refuses, so a run's verdict would depend on
        the store's history. And objects stored at a version the CRD no longer serves are migrated."""
        name = (crd.get("metadata") or {}).get("name", "")
        if not isinstance(name, str):  # none stored by that name: the CRD's own write refuses the name
            return None
        stored = self.try_get("apiextensions.k8s.io", "CustomResourceDefinition", "", name)
        if stored is None:
            return None
        try:
            return resource_from_crd(stored)
        except ChoreoError:
            return None

    def migrate_versions(self, resource: APIResource) -> int:
        """Rewrite the objects of ``resource``'s kind stored at a version it no longer serves (a CRD whose
        ``v1alpha1`` became ``v1beta1``) to its storage version; how many. As kube-apiserver with the
        ``None`` conversion strategy, versions differ only in ``apiVersion``: nothing else changes and
        nothing is validated again (a later write is, as usual). Without it such an object, one a client
        created say, stayed at the old version: every reconcile of it failed (its result "not served"),
        and so did reporting that failure."""
        served = set(resource.served_versions)
        target = f"{resource.group}/{resource.storage_version}" if resource.group else resource.storage_version
        moved = 0
        with self.backend.transaction():  # the objects and the record that says they moved: all or nothing
            for obj in self.backend.view_list(resource.group, resource.kind):
                if str(obj.get("apiVersion") or "").rpartition("/")[2] in served:
                    continue
                new = {**obj, "apiVersion": target}
                self.backend.update(key_of(new), new, obj["metadata"].get("resourceVersion"))
                moved += 1
            self.backend.put_record(MOVED_FOR_TABLE, _kind_name(resource), resource.served_versions)
        return moved

    def add_hook(self, group: str, kind: str, hook: AdmissionHook) -> None:
        """Run ``hook`` on every write and final delete of objects of group/kind (see ``hooks``)."""
        self._hooks.setdefault((group, kind), []).append(hook)

    def hooked(self, group: str, kind: str) -> bool:
        return bool(self._hooks.get((group, kind)))

    def background(self) -> bool:
        return self.backend.background()

    def contended(self) -> bool:
        return self.backend.contended()

    def _hooks_for(self, key: ObjectKey) -> builtins.list[AdmissionHook]:
        return self._hooks.get((key.group, key.kind), [])

    def register_stored_crds(self, source: Backend | None = None) -> None:
        """Register the kinds of the CRD objects stored in ``source`` (default: this server's own store),
        for state opened without its project or for validating against what earlier runs stored."""
        for crd in (source or self.backend).list("apiextensions.k8s.io", "CustomResourceDefinition"):
            existing = self.registry.get(crd["spec"].get("group", ""), crd["spec"].get("names", {}).get("kind", ""))
            if existing is None or not existing.choreo_api:
                name = crd["metadata"]["name"]
                self.register_crd(crd, source=f"stored CustomResourceDefinition {name}", migrate=False)

    def semantics(self, resource: APIResource) -> openapi.SchemaInfo:
        key = (resource.group, resource.kind)
        if key not in self._semantics:
            self._semantics[key] = openapi.SchemaInfo(resource.schema)
        return self._semantics[key]

    # ---------------------------------------------------------------- reads

    def get(self, group: str, kind: str, namespace: str, name: str, *, managed_fields: bool = True) -> Object:
        resource = self._resource(group, kind)
        obj = self.backend.view(self._key(resource, namespace, name))  # copied here, once
        if obj is None:
            raise NotFound(f'{resource.kind_name} "{_where(namespace, name)}" not found')
        return clone(obj) if managed_fields else ssa.strip_managed_fields(obj)

    def try_get(self, group: str, kind: str, namespace: str, name: str) -> Object | None:
        resource = self._resource(group, kind)
        return self.backend.get(self._key(resource, namespace, name))

    def view(self, group: str, kind: str, namespace: str, name: str, *, keep: bool = True) -> Object | None:
        """``try_get`` without the copy: the store's own object, which the caller must not mutate
        (``keep``: see ``Backend.view``)."""
        resource = self._resource(group, kind)
        return self.backend.view(self._key(resource, namespace, name), keep=keep)

    def view_list(self, group: str, kind: str, namespace: str | None = None) -> builtins.list[Object]:
        """``list`` without the copies: the store's own objects, which the caller must not mutate."""
        resource = self._resource(group, kind)
        return self.backend.view_list(resource.group, resource.kind, namespace if resource.namespaced else None)

    def head(self, group: str, kind: str, namespace: str, name: str) -> Head | None:
        """The stored object's head, read without decoding the object."""
        resource = self._resource(group, kind)
        return self.backend.head(self._key(resource, namespace, name))

    def head_at_start(self, key: ObjectKey) -> Head | None:
        """The head the object stored under ``key`` had when the outermost open transaction began (None: it
        did not exist then); ``key`` as stored (what an event's object names)."""
        return self.backend.head_at_start(key)

    def heads(self, group: str, kind: str) -> builtins.list[tuple[ObjectKey, Head]]:
        """Every stored object's key and head, read without decoding any object."""
        resource = self._resource(group, kind)
        return self.backend.heads(resource.group, resource.kind)

    def dependent_keys(self, uid: str) -> builtins.list[ObjectKey]:
        """Keys of the objects whose ownerReferences name ``uid``, sorted (the store keeps this index)."""
        return self.backend.dependents(uid)

    def list(
        self,
        group: str,
        kind: str,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
        *,
        managed_fields: bool = True,
    ) -> builtins.list[Object]:
        resource = self._resource(group, kind)
        ns = namespace if resource.namespaced else None
        if managed_fields:
            return self.backend.list(resource.group, resource.kind, ns, labels)
        return [ssa.strip_managed_fields(o) for o in self.backend.view_list(resource.group, resource.kind, ns, labels)]

    # ---------------------------------------------------------------- writes

    def create(self, obj: Object, *, manager: str = "", dry_run: bool = False) -> Object:
        if dry_run:
            return self._dry_run(self._key_for(obj), lambda: self.create(obj, manager=manager))
        resource = self.registry.for_object(obj)
        new = clone(obj)
        for field in _SERVER_FIELDS:
            meta(new).pop(field, None)
        _omit_empty_metadata(new)
        key = self._key_of(resource, new)
        with self.backend.transaction():
            if self.backend.view(key) is not None:
                from choreo.errors import AlreadyExists

                raise AlreadyExists(
                    f'{resource.kind_name} "{_where(key.namespace, key.name)}" already exists'
                )
            checked = new["metadata"]
            if manager:
                new = ssa.update(None, new, manager, self.semantics(resource), now=self._clock())
            return self._store(resource, key, None, new, checked=checked)

    def update(self, obj: Object, *, manager: str = "", dry_run: bool = False) -> Object:
        """Replace an object (PUT). A resourceVersion in ``obj`` must match the stored one."""
        if dry_run:
            return self._dry_run(self._key_for(obj), lambda: self.update(obj, manager=manager))
        resource = self.registry.for_object(obj)
        key = self._key_of(resource, obj)
        with self.backend.transaction():
            old = self.backend.view(key)  # only read, never changed
            if old is None:
                raise NotFound(f'{resource.kind_name} "{_where(key.namespace, key.name)}" not found')
            expected = (obj.get("metadata") or {}).get("resourceVersion")
            if expected and str(expected) != old["metadata"].get("resourceVersion"):
                raise Conflict(stale_message(resource, key.name))
            new = clone(obj)
            _omit_empty_metadata(new)
            _carry_server_fields(old, new)
            if "managedFields" not in meta(new) and "managedFields" in old["metadata"]:
                meta(new)["managedFields"] = clone(old["metadata"]["managedFields"])
            if manager:
                new = ssa.update(old, new, manager, self.semantics(resource), now=self._clock())
            return self._store(resource, key, old, new, checked=obj.get("metadata"))

    def _apply_target(self, obj: Object, manager: str) -> tuple[APIResource, ObjectKey]:
        """The kind and key a server-side apply of ``obj`` writes; a field manager is required."""
        if not manager:
            raise Invalid("server-side apply needs a field manager")
        resource = self.registry.for_object(obj)
        return resource, self._key_of(resource, obj)

    def apply(self, obj: Object, *, manager: str, force: bool = False, dry_run: bool = False) -> Object:
        """Server-side apply ``obj`` as ``manager``'s full intent for the fields it sets."""
        if dry_run:
            return self._dry_run(self._key_for(obj), lambda: self.apply(obj, manager=manager, force=force))
        resource, key = self._apply_target(obj, manager)
        with self.backend.transaction():
            old = self.backend.view(key)  # only read, never changed: ssa.apply copies what it changes
            # ssa.apply only reads the intent (the result copies what it takes), so only what is removed
            # here is copied: the top level and metadata.
            applied = {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k not in _NOT_APPLIED}}
            # An intent with fields the schema does not declare is refused before anything is built from it.
            undeclared = openapi.undeclared_fields(resource.schema, applied)
            if undeclared:
                raise _typed_patch_failed(resource, key, undeclared)
            new = ssa.apply(old, applied, manager, self.semantics(resource), now=self._clock(), force=force)
            if new is old and old is not None:  # the apply changes nothing
                if not self._hooks_for(key) and self._verified(resource, old):
                    return clone(old)
                new = clone(old)  # admission hooks or a re-validation still see (and may change) a copy
            if old is not None:
                _carry_server_fields(old, new)
            return self._store(resource, key, old, new, applying=True, checked=obj["metadata"])

    def apply_status(self, obj: Object, *, manager: str, force: bool = False, dry_run: bool = False) -> Object:
        """Server-side apply to the ``status`` subresource: only ``obj``'s status is ``manager``'s intent; the
        rest of the stored object stays as it is. The object must exist (``NotFound``)."""
        if dry_run:
            return self._dry_run(self._key_for(obj), lambda: self.apply_status(obj, manager=manager, force=force))
        resource, key = self._apply_target(obj, manager)
        with self.backend.transaction():
            live = self.backend.view(key)  # only read, never changed
            if live is None:
                raise NotFound(f'{resource.kind_name} "{key.name}" not found')
            applied = clone(status_intent(obj))
            merged = ssa.apply(
                live, applied, manager, self.semantics(resource), now=self._clock(), force=force, subresource="status"
            )
            if merged is live:
                merged = clone(live)
            merged["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
            return self.update(merged)

    def delete(
        self,
        group: str,
        kind: str,
        namespace: str,
        name: str,
        *,
        expected_rv: str | None = None,
        expected_uid: str | None = None,
        orphan: bool = False,
        dry_run: bool = False,
    ) -> Object:
        """Delete, or mark for deletion when finalizers remain. Dependents are deleted in cascade, or, with
        ``orphan``, lose their owner reference to it at once (Kubernetes' garbage collector does it before the
        object goes)."""
        resource = self._resource(group, kind)
        key = self._key(resource, namespace, name)
        if dry_run:
            return self._dry_run(
                key,
                lambda: self.delete(
                    group, kind, namespace, name, expected_rv=expected_rv, expected_uid=expected_uid, orphan=orphan
                ),
            )
        with self.backend.transaction():
            old = self.backend.get(key)
            if old is None:
                raise NotFound(f'{resource.kind_name} "{_where(namespace, name)}" not found')
            if expected_uid and expected_uid != old["metadata"].get("uid"):
                raise Conflict(
                    f'Operation cannot be fulfilled on {resource.plural_name} "{key.name}": '
                    f"Precondition failed: UID in precondition: {expected_uid}, UID in object meta: "
                    f'{old["metadata"].get("uid", "")}'
                )
            if expected_rv and expected_rv != old["metadata"].get("resourceVersion"):
                raise Conflict(stale_message(resource, key.name))
            if orphan and old["metadata"].get("uid"):
                self._orphan_dependents(old["metadata"]["uid"])
            if old["metadata"].get("finalizers"):
                if old["metadata"].get("deletionTimestamp"):
                    return old
                marked = clone(old)
                marked["metadata"]["deletionTimestamp"] = self._clock()
                return self.backend.update(key, marked, old["metadata"]["resourceVersion"])
            return self._remove(key, old)

    def _dry_run(self, key: ObjectKey, write: Callable[[], Object]) -> Object:
        """``write`` in full (validation, defaulting, managed fields, admission hooks, cascades), then undone:
        Kubernetes' ``dryRun=All``. The answer is the object as it would be stored, at the resourceVersion it
        has now (none for a create), since nothing was written."""
        before: Object | None = None
        try:
            with self.backend.transaction():
                before = self.backend.get(key)
                raise _DryRunDone(write())
        except _DryRunDone as done:
            result = clone(done.result)
        if before is None:
            meta(result).pop("resourceVersion", None)
        else:
            meta(result)["resourceVersion"] = before["metadata"]["resourceVersion"]
        return result

    def _key_for(self, obj: Object) -> ObjectKey:
        return self._key_of(self.registry.for_object(obj), obj)

    # ---------------------------------------------------------------- internals

    def _resource(self, group: str, kind: str) -> APIResource:
        return self.registry.require(group, kind)

    @staticmethod
    def _key(resource: APIResource, namespace: str, name: str) -> ObjectKey:
        return ObjectKey(resource.group, resource.kind, namespace if resource.namespaced else "", name)

    def _key_of(self, resource: APIResource, obj: Object) -> ObjectKey:
        errors = validate_metadata(obj, namespaced=resource.namespaced)
        if errors:
            raise Invalid(_invalid_message(resource, key_of(obj), errors))
        return self._key(resource, obj["metadata"].get("namespace") or "", obj["metadata"]["name"])

    def _validate(
        self,
        resource: APIResource,
        key: ObjectKey,
        old: Object | None,
        new: Object,
        applying: bool,
        checked: Object | None,
    ) -> None:
        """Default ``new`` and raise ``Invalid`` for all that is wrong with it. ``checked``: metadata that
        passed ``validate_metadata`` already (the request's); when ``new``'s is the same, it passes too."""
        openapi.apply_defaults(resource.schema, new)
        errors = [] if same_checked_metadata(checked, new) else validate_metadata(new, namespaced=resource.namespaced)
        errors += openapi.validate(resource.schema, new, old=old)
        if old is not None:
            old_md, new_md = old["metadata"], new["metadata"]
            if old_md.get("deletionTimestamp"):
                added = set(new_md.get("finalizers") or []) - set(old_md.get("finalizers") or [])
                if added:
                    errors.append(
                        openapi.FieldError(
                            ".metadata.finalizers",
                            f"Forbidden: no new finalizers can be added if the object is being deleted, "
                            f"found new finalizers {sorted(added)}",
                        )
                    )
        if errors and old is not None and getattr(self._ratchet, "on", False):
            errors = self._ratcheted(resource, old, errors)
        undeclared = [e for e in errors if e.message == openapi.NOT_DECLARED]
        if applying and undeclared:  # stored before the schema changed: worded as if the intent brought them
            raise _typed_patch_failed(resource, key, undeclared)
        if errors:
            raise Invalid(
                _invalid_message(resource, key, errors),
                causes=[(e.path, e.message) for e in errors],
                target=(resource.group, resource.kind, key.name),
            )

    def _ratcheted(
        self, resource: APIResource, old: Object, errors: builtins.list[openapi.FieldError]
    ) -> builtins.list[openapi.FieldError]:
        """``errors`` less those the stored object has too (the same field, the same message, which names the
        value): what an update leaves as it was passes. Only when an update fails, so rarely worked out."""
        stored = {(e.path, e.message) for e in openapi.validate(resource.schema, old)}
        stored |= {(e.path, e.message) for e in validate_metadata(old, namespaced=resource.namespaced)}
        return [e for e in errors if (e.path, e.message) not in stored]

    def _store(
        self,
        resource: APIResource,
        key: ObjectKey,
        old: Object | None,
        new: Object,
        *,
        applying: bool = False,
        checked: Object | None = None,
    ) -> Object:
        """Validate, admit and store ``new`` over ``old``, which is the store's own object (``Backend.view``):
        never changed here nor handed out (hooks get a copy). What this returns is the caller's to keep."""
        hooks = self._hooks_for(key)
        # The stored object, validated under the current schema, already is this: nothing to validate or store
        # (only admission hooks, which act on every write, still see it).
        unchanged = old is not None and self._verified(resource, old) and _unchanged(old, new)
        if old is not None and unchanged and not hooks:
            return clone(old)
        if old is not None and hooks:
            old = clone(old)
        if not unchanged:
            self._validate(resource, key, old, new, applying, checked)
        if old is None:
            md = meta(new)
            md["uid"] = self._new_uid()
            md["creationTimestamp"] = self._clock()
            md["generation"] = 1
        for hook in hooks:
            hook.admit(self, old, new)
        if old is None:
            stored = self.backend.create(key, new)
        elif _unchanged(old, new):
            return old if hooks else clone(old)
        else:
            if old.get("spec") != new.get("spec"):
                meta(new)["generation"] = int(old["metadata"].get("generation") or 0) + 1
            if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
                return self._remove(key, old)
            stored = self.backend.update(key, new, old["metadata"]["resourceVersion"])
        for hook in hooks:
            hook.stored(self, old, stored)
        return stored

    def _verified(self, resource: APIResource, old: Object | None) -> bool:
        """Whether ``old`` (the stored object) was validated against the kind's current schema: it was unless
        the schema changed after it was stored. Revisions only grow, so an object stored at a revision above
        the one of the change was written, and validated, under the current schema."""
        changed_at = self._unverified.get((resource.group, resource.kind))
        if changed_at is None:
            return True
        stored_at = old["metadata"].get("resourceVersion") if old is not None else None
        return isinstance(stored_at, str) and stored_at.isdigit() and int(stored_at) > changed_at

    def _orphan_dependents(self, uid: str) -> None:
        """Remove the owner reference to ``uid`` from every object that has one (``propagationPolicy=Orphan``)."""
        for d_key in self.backend.dependents(uid):
            dependent = self.backend.get(d_key)
            if dependent is None:
                continue
            refs = dependent["metadata"].get("ownerReferences") or []
            kept = [ref for ref in refs if not (isinstance(ref, dict) and ref.get("uid") == uid)]
            if kept:
                dependent["metadata"]["ownerReferences"] = kept
            else:
                dependent["metadata"].pop("ownerReferences", None)
            self.update(dependent)

    def _remove(self, key: ObjectKey, old: Object) -> Object:
        for hook in self._hooks_for(key):
            hook.deleting(self, old)
        gone = self.backend.delete(key)
        uid = old["metadata"].get("uid")
        if uid:
            for d_key in self.backend.dependents(uid):
                if self.backend.view(d_key) is not None:  # not gone in an earlier cascade
                    self.delete(d_key.group, d_key.kind, d_key.namespace, d_key.name)
        return gone

    def dependents(self, uid: str, group: str | None = None, kind: str | None = None) -> builtins.list[Object]:
        """Objects whose ownerReferences name ``uid``, optionally of one kind, sorted by key: the store's own
        (``Backend.view``), never to be mutated (every reconcile looks for its children here, and only reads)."""
        keys = self.backend.dependents(uid)
        found = (self.backend.view(k) for k in keys if kind is None or (k.group, k.kind) == (group, kind))
        return [obj for obj in found if obj is not None]


class _DryRunDone(Exception):
    """Carries a dry run's answer out of the transaction its raising rolls back."""

    def __init__(self, result: Object) -> None:
        super().__init__("dry run")
        self.result = result


def status_intent(obj: Object) -> Object:
    """What a status-subresource apply states: identity (apiVersion, kind, name, namespace) and ``status``."""
    intent = {k: v for k, v in obj.items() if k in ("apiVersion", "kind", "status")}
    intent["metadata"] = {k: v for k, v in meta(obj).items() if k in ("name", "namespace")}
    return intent


def _omit_empty_metadata(obj: Object) -> None:
    """Drop empty labels, annotations, finalizers and owner references, as Kubernetes' ObjectMeta never keeps
    them (``omitempty``): a create or update sending ``annotations: {}`` (kubectl's client-side apply does) stores
    none. A server-side apply keeps its intent as sent: an empty map there is a field its manager owns."""
    md = obj.get("metadata")
    if isinstance(md, dict):
        for field in ("labels", "annotations", "finalizers", "ownerReferences"):
            if isinstance(md.get(field), dict | list) and not md[field]:
                del md[field]


def _carry_server_fields(old: Object, new: Object) -> None:
    md, old_md = meta(new), old["metadata"]
    for field in _SERVER_FIELDS:
        if field in old_md:
            md[field] = old_md[field]
        else:
            md.pop(field, None)


def _where(namespace: str, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def stale_message(resource: APIResource, name: str) -> str:
    """kube-apiserver's 409 for a write at a resourceVersion the object no longer has."""
    return (
        f'Operation cannot be fulfilled on {resource.plural_name} "{name}": the object has been modified; please '
        "apply your changes to the latest version and try again"
    )


def _typed_patch_failed(
    resource: APIResource, key: ObjectKey, undeclared: builtins.list[openapi.FieldError]
) -> Invalid:
    """An apply refused for fields the schema does not declare, in the reference's wording."""
    gvk = f"{resource.group}/{resource.storage_version}, Kind={resource.kind}"
    detail = capped(str(e) for e in undeclared)  # a million unknown keys: name three
    return Invalid(
        "fieldmanager apply failed err: failed to create typed patch object "
        f"({_where(key.namespace, key.name)}; {gvk}): {detail}",
        causes=[(e.path, e.message) for e in undeclared],
        target=(resource.group, resource.kind, key.name),
    )


def _invalid_message(resource: APIResource, key: ObjectKey, errors: builtins.list[openapi.FieldError]) -> str:
    detail = capped(str(e) for e in errors)
    return f'{resource.kind_name} "{_where(key.namespace, key.name)}" is invalid: {detail}'


def _kind_name(resource: APIResource) -> str:
    return f"{resource.group}/{resource.kind}"
