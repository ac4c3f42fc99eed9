"""Bring the API server in line with a loaded project folder.

Resolves the project's upstream refs (``loader.upstream``), registers the project's CRDs, applies every
input object and UpstreamRef, and stores every reconciler and library as a ``Reconciler`` / ``Library``
object (field manager ``inputfileloader``, origin annotation ``{"kind":"File"}``, or the upstream's origin
for what a child project brings), deletes objects whose file or upstream is gone (with everything they
own), and garbage-collects objects whose owner no longer exists. The whole load is one store
transaction: when any input is bad, nothing of this load is kept. An input whose apply would change
nothing is not applied again (``AppliedInputs``): a re-run of an unchanged project costs no apply.
``ProjectLoad`` prepares a load without writing (its fingerprint tells two loads apart) and, at the end of
a run, finds whether syncing it again would write anything (``runtime.fixpoint`` builds on that).

Reconcilers and libraries are stored so that ``choreo get reconcilers``, ``get libraries`` and
``run deps -i`` show them, as the reference does with the objects ``dev parse`` writes into ``in/``; the
project folder stays their source: the runtime runs what the folder holds, and the stored objects follow
it on every load.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from choreo.abandon import checkpoint
from choreo.api.objects import ObjectKey, key_of, meta, uid_and_version
from choreo.apiserver.fieldpath import canonical_json
from choreo.apiserver.interface import ObjectAPI
from choreo.apiserver.metadata import is_dns1123_subdomain
from choreo.apiserver.registry import APIResource
from choreo.code_digest import code_digest
from choreo.errors import ChoreoError, LoadError
from choreo.loader.devparse import library_object, reconciler_object
from choreo.loader.project import INPUT_MANAGER, ORIGIN_ANNOTATION, InputObject, Project
from choreo.loader.upstream import load_upstreams, loaded_from_project
from choreo.store import StoreDamaged

DEFAULT_NAMESPACE = "default"


def register_crds(api: ObjectAPI, project: Project) -> None:
    """Register the kinds of the project and of its upstream refs (resolved here, once)."""
    load_upstreams(project)
    for item in project.crds:
        try:
            api.register_crd(item.obj, source=item.source)
        except ChoreoError as exc:
            raise LoadError(_prefixed(item.source, str(exc))) from None


PLUGIN_MANAGER = "choreo-plugin"


def sync_project(api: ObjectAPI, project: Project, plugin_crds: list[dict[str, Any]] | None = None) -> ProjectLoad:
    """Register kinds, apply inputs, clean removed inputs and collect garbage, atomically.

    ``plugin_crds`` (already registered) are stored as objects too, so later commands that only open the
    state (``choreo get``) know those kinds."""
    load = ProjectLoad(api, project, plugin_crds)
    load.sync()
    return load


class ProjectLoad:
    """One load of a project: its kinds registered and every input prepared (nothing written yet), then
    synced into the store; at the end of a run, the proof that loading it again would change nothing.

    ``fingerprint`` digests everything a sync writes from (the inputs as they will be applied, in order,
    each with its kind as served and choreo's code; the plug-in CRDs): two loads with the same fingerprint
    into the same stored state make the same writes."""

    def __init__(self, api: ObjectAPI, project: Project, plugin_crds: list[dict[str, Any]] | None = None) -> None:
        register_crds(api, project)
        self.api = api
        self.project = project
        self.plugin_crds = list(plugin_crds or [])
        self.inputs = AppliedInputs(api)
        items = [*project.crds, *project.refs, *code_objects(project), *project.inputs]
        self.intents = [self.inputs.intent(item) for item in items]
        text = canonical_json([self.plugin_crds, [[intent.name, intent.digest] for intent in self.intents]])
        self.fingerprint = hashlib.sha256(text.encode()).hexdigest()

    def sync(self) -> None:
        """Apply what changed, clean removed inputs and collect garbage, in one transaction."""
        with self.api.transaction():
            for crd in self.plugin_crds:
                self.api.apply(crd, manager=PLUGIN_MANAGER, force=True)
            # what the folder no longer holds goes first: a Namespace among it takes the objects in it along,
            # and those the folder still holds must then be applied again, in this load
            for obj in leftovers(self.api, {intent.key for intent in self.intents}):
                checkpoint()  # a server that stops abandons the load here: the transaction undoes it whole
                _remove(self.api, obj)
            for intent in self.intents:
                checkpoint()
                self.inputs.apply(intent)
            self.inputs.prune()
            collected = set(collect_garbage(self.api))
        for intent in self.intents:  # an input collected at once: its owner references name no object
            if intent.key in collected:
                warning = (f"{intent.item.source}: {intent.key.kind} {intent.key.name} was deleted as garbage: no "
                           "owner its metadata.ownerReferences names exists (Kubernetes deletes such an object too)")
                if warning not in self.project.warnings:
                    self.project.warnings.append(warning)

    def settled(self) -> bool:
        """Whether syncing this load again, into the store as it is now, would write nothing: every input
        is in place (its record brought up to date, so that the next load skips it too), no loaded object
        is left over, no garbage remains. Called at the end of a run, on its final state."""
        if not self.inputs.settle(self.intents):
            return False
        for crd in self.plugin_crds:
            reapply = functools.partial(self.api.apply, crd, manager=PLUGIN_MANAGER, force=True)
            if _writes_nothing(self.api, reapply) is None:
                return False
        loaded = {intent.key for intent in self.intents}
        return next(leftovers(self.api, loaded), None) is None and not garbage(self.api)


def code_objects(project: Project) -> list[InputObject]:
    """The project's reconcilers and libraries as the ``Reconciler`` and ``Library`` objects to store.

    One whose name is not a valid object name (a lowercase DNS subdomain) still runs but is not stored;
    a warning says so (the directory layout's reconciler names were never object names in the reference).
    """
    candidates = [
        *((config.name, "reconciler", reconciler_object(config), config.source, config.origin)
          for config in project.reconcilers),
        *((lib.name, "library", library_object(lib), lib.source, lib.origin) for lib in project.libraries.values()),
    ]
    objects = []
    for name, what, obj, source, origin in candidates:
        if is_dns1123_subdomain(name):
            objects.append(InputObject(obj, source, origin))
            continue
        warning = (f"{source}: {what} {name} is not stored as an object (choreo get, run deps -i): its name is not "
                   "a lowercase DNS subdomain")
        if warning not in project.warnings:
            project.warnings.append(warning)
    return objects


def prepare_input(api: ObjectAPI, item: InputObject) -> dict[str, Any]:
    """The object as it will be applied: kind checked, namespace defaulted, origin annotated.

    Only its top level, metadata and annotations are its own; the rest is ``item.obj``'s. An input is never
    changed once loaded, and an apply only reads its intent: a run holds every input through its end (the
    settle check applies them again), and one copy of each is enough."""
    obj = dict(item.obj)
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        obj["metadata"] = dict(metadata)
        if isinstance(metadata.get("annotations"), dict):
            obj["metadata"]["annotations"] = dict(metadata["annotations"])
    try:
        resource = api.registry.for_object(obj)
    except ChoreoError:
        group, _, version = str(obj.get("apiVersion") or "").rpartition("/")
        known = api.registry.get(group, str(obj.get("kind") or ""))
        if known is not None:  # the kind is defined, but not in this version
            raise LoadError(
                f"{item.source}: apiVersion {obj.get('apiVersion')}: version {version} of {known.kind}.{known.group} "
                f"is not served (served: {', '.join(known.served_versions) or 'none'})"
            ) from None
        raise LoadError(
            f"{item.source}: unknown kind {obj.get('kind')} (apiVersion {obj.get('apiVersion')}): "
            "no CRD in crds/ defines it"
        ) from None
    md = meta(obj)
    if resource.namespaced and not md.get("namespace"):
        md["namespace"] = DEFAULT_NAMESPACE
    annotations = md.get("annotations")
    if annotations is None:
        annotations = md["annotations"] = {}
    if isinstance(annotations, dict):  # anything else is refused by the apply, naming the field
        annotations[ORIGIN_ANNOTATION] = item.origin
    return obj


def apply_input(api: ObjectAPI, item: InputObject) -> dict[str, Any]:
    return _apply_prepared(api, item, prepare_input(api, item))


def _apply_prepared(api: ObjectAPI, item: InputObject, obj: dict[str, Any]) -> dict[str, Any]:
    try:
        return api.apply(obj, manager=INPUT_MANAGER, force=True)
    except StoreDamaged:
        raise  # about the store, not this input
    except ChoreoError as exc:
        raise LoadError(_prefixed(item.source, str(exc))) from None


APPLIED_TABLE = "applied-inputs"
"""Record table: stored object (group, kind, namespace, name) → [digest of the input applied to it, the uid
and resourceVersion the apply left it at]."""


@dataclass(frozen=True)
class Intent:
    """One input as it will be applied: the object, the key it is stored under and a digest of everything
    its apply depends on (the prepared object, its kind as served, choreo's code)."""

    item: InputObject
    obj: dict[str, Any]
    key: ObjectKey
    digest: str
    hooked: bool

    @property
    def name(self) -> str:
        return "\x1f".join((self.key.group, self.key.kind, self.key.namespace, self.key.name))


class AppliedInputs:
    """Applies a load's inputs, skipping each one whose apply would change nothing.

    Why skipping is exact: server-side apply is idempotent. Once ``INPUT_MANAGER`` applied an intent with
    force, applying the same intent to the object it left (same uid and resourceVersion: nothing wrote it
    since) changes nothing, and an apply that changes nothing writes nothing and returns the stored
    object. So is the skip. "The same intent" is a digest of everything the apply's result depends on: the
    prepared input (namespace defaulted, origin annotated), the kind as served (schemas: defaults and
    validation) and choreo's own code. Kinds with admission hooks are always applied, since a hook acts
    even on a write that changes nothing. The records are written in the load's transaction (a failed
    load keeps the previous ones) and pruned to this load's inputs.

    A run's reconciles write the inputs they reconcile (status, finalizers), which leaves the records
    behind; ``settle`` brings them up to date at the end of the run, for each input whose apply it finds
    to change nothing, so that the next load skips it.
    """

    def __init__(self, api: ObjectAPI) -> None:
        self.api = api
        self._records: dict[str, Any] = dict(api.records.list_records(APPLIED_TABLE))
        self._applied: set[str] = set()
        self._kinds: dict[tuple[str, str], str] = {}

    def intent(self, item: InputObject) -> Intent:
        """``item`` prepared for its apply (a ``LoadError`` names its file when its kind is unknown)."""
        obj = prepare_input(self.api, item)
        resource = self.api.registry.for_object(obj)
        md = obj["metadata"]
        key = ObjectKey(
            resource.group, resource.kind, str(md.get("namespace") or "") if resource.namespaced else "",
            str(md.get("name") or ""),
        )
        digest = hashlib.sha256(canonical_json([self._kind_digest(resource), obj]).encode()).hexdigest()
        return Intent(item, obj, key, digest, self.api.hooked(key.group, key.kind))

    def apply(self, intent: Intent) -> ObjectKey:
        """Apply ``intent`` (or find that it is in place); the key of the object it is stored as."""
        self._applied.add(intent.name)
        if not intent.hooked and self._in_place(intent):
            return intent.key
        _refuse_taking_over(self.api, intent)
        result = _apply_prepared(self.api, intent.item, intent.obj)
        self._record(intent, result)
        return key_of(result)

    def settle(self, intents: list[Intent]) -> bool:
        """At the end of a run: whether applying every intent again, in order, would write nothing. Each
        intent whose object was written since its record is applied again on trial (undone if it writes),
        and its record follows the object when nothing was written."""
        settled = True
        for intent in intents:
            if not intent.hooked and self._in_place(intent):
                continue
            result = _writes_nothing(self.api, functools.partial(_apply_prepared, self.api, intent.item, intent.obj))
            if result is None:
                settled = False
            else:
                self._record(intent, result)
        return settled

    def _in_place(self, intent: Intent) -> bool:
        """Whether the record shows that applying ``intent`` would change nothing (the object stored under
        its key is the one the record saw: read from its head, the object is not decoded)."""
        recorded = self._records.get(intent.name)
        if recorded is None or recorded[0] != intent.digest:
            return False
        key = intent.key
        head = self.api.head(key.group, key.kind, key.namespace, key.name)
        return head is not None and [head.uid, head.version] == recorded[1:]

    def _record(self, intent: Intent, result: dict[str, Any]) -> None:
        record = [intent.digest, *uid_and_version(result)]
        if self._records.get(intent.name) != record:
            self._records[intent.name] = record
            self.api.records.put_record(APPLIED_TABLE, intent.name, record)

    def prune(self) -> None:
        """Forget the records of inputs this load did not apply (removed from the project)."""
        for name in sorted(set(self._records) - self._applied):
            del self._records[name]
            self.api.records.delete_record(APPLIED_TABLE, name)

    def _kind_digest(self, resource: APIResource) -> str:
        found = self._kinds.get((resource.group, resource.kind))
        if found is None:
            text = canonical_json([code_digest(("choreo",)), INPUT_MANAGER, resource.served_form])
            found = self._kinds[(resource.group, resource.kind)] = hashlib.sha256(text.encode()).hexdigest()
        return found


class TakeOverRefused(LoadError):
    """A file of the project names an object that belongs to the store (``taken_by_api``): the load is refused,
    naming the file (``source``) and the object (``key``), so that whoever serves the store can tell when the
    object no longer stands in the way."""

    def __init__(self, source: str, key: ObjectKey, manager: str) -> None:
        by = f" by {manager}" if manager else ""
        super().__init__(
            f"{source}: {key} was created through the API{by}, not loaded from the project folder: the file "
            "cannot take it over (what the API wrote would be lost); delete it through the API (a server then "
            "loads the folder again by itself), or give this object another name"
        )
        self.source, self.key = source, key


def taken_by_api(api: ObjectAPI, key: ObjectKey) -> str | None:
    """Whether the object stored under ``key`` belongs to the store, not to the project folder: created through
    a server's API (``kubectl apply``, ``choreo apply --server``), not loaded from a file nor owned by another
    object nor a plug-in's. Returns its first field manager ("" when it names none); None when no such object
    is stored. Namespaces never do: the folder takes them over (they hold nothing of their own, and deleting
    one deletes every object in it)."""
    if (key.group, key.kind) == ("", "Namespace"):
        return None
    stored = api.view(key.group, key.kind, key.namespace, key.name)
    if stored is None:
        return None
    md = stored["metadata"]
    if loaded_from_project(stored) or md.get("ownerReferences"):
        return None
    managers = [str(m.get("manager") or "") for m in md.get("managedFields") or []]
    if PLUGIN_MANAGER in managers or INPUT_MANAGER in managers:
        return None
    return managers[0] if managers else ""


def _refuse_taking_over(api: ObjectAPI, intent: Intent) -> None:
    """Refuse an input whose object is already stored and belongs to the store (``taken_by_api``).

    The load applies inputs with force, so it would take such an object over without a word: the client's
    fields replaced by the file's, the others (labels, annotations) left behind in a mix no file describes,
    and the object deleted with the file later on. One owner per object: the folder's load is refused, naming
    the file, until the object is deleted through the API or the file names another one."""
    manager = taken_by_api(api, intent.key)
    if manager is not None:
        raise TakeOverRefused(intent.item.source, intent.key, manager)


class _Undone(Exception):
    """Leaves a trial write's transaction so that it is undone."""


def _writes_nothing(api: ObjectAPI, write: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    """Make ``write`` on trial: its result when it wrote no object (kept: there is nothing to undo but the
    records its admission hooks may have brought up to date), None when it wrote (then it is undone)."""
    revision = api.events.current_revision()
    try:
        with api.transaction():
            result = write()
            if api.events.current_revision() != revision:
                raise _Undone
    except (_Undone, ChoreoError):  # an error: the next load meets it again
        return None
    return result


def leftovers(api: ObjectAPI, loaded: set[ObjectKey]) -> Iterator[dict[str, Any]]:
    """Objects an earlier load applied from inputs that this load does not have (the store's own). Only
    objects with an origin, managed by the input manager, that this load did not apply are read whole
    (their heads tell)."""
    held = {key.namespace for key in loaded}
    for resource in api.registry.resources():
        for key, head in api.heads(resource.group, resource.kind):
            if key in loaded or INPUT_MANAGER not in head.managers or ORIGIN_ANNOTATION not in head.annotations:
                continue
            if (key.group, key.kind) == ("", "Namespace") and key.name in held:
                continue  # deleting it would delete the objects the folder still holds in it: it stays
            obj = api.view(key.group, key.kind, key.namespace, key.name)
            if obj is not None and _loaded_before_but_not_now(obj, loaded):  # None: gone with a leftover owner
                yield obj
    for obj in list(api.unserved_objects()):
        if _loaded_before_but_not_now(obj, loaded):
            yield obj


def _remove(api: ObjectAPI, obj: dict[str, Any]) -> None:
    """Delete a leftover input; one of a kind whose CRD is gone leaves the store directly (what it owned
    is then collected)."""
    key = key_of(obj)
    if api.registry.get(key.group, key.kind) is None:
        api.drop_unserved(obj)
    else:
        _delete_if_present(api, obj)


def _loaded_before_but_not_now(obj: dict[str, Any], loaded: set[ObjectKey]) -> bool:
    if not loaded_from_project(obj) or key_of(obj) in loaded:
        return False
    return INPUT_MANAGER in {m.get("manager") for m in obj["metadata"].get("managedFields") or []}


def garbage(api: ObjectAPI) -> list[dict[str, Any]]:
    """Objects whose owners are all gone or being deleted (the store's own). Found by the objects' heads:
    only the garbage is read whole."""
    heads = [found for r in api.registry.resources() for found in api.heads(r.group, r.kind)]
    alive = {head.uid for _key, head in heads if not head.deleting}
    found = (
        api.view(key.group, key.kind, key.namespace, key.name)
        for key, head in heads
        if head.owners and not any(uid in alive for uid in head.owners)
    )
    return [obj for obj in found if obj is not None]


def collect_garbage(api: ObjectAPI) -> list[ObjectKey]:
    """Delete objects whose owners are gone or being deleted (finalizers respected); their keys."""
    collected = garbage(api)
    for obj in collected:
        _delete_if_present(api, obj)
    return [key_of(obj) for obj in collected]


def _delete_if_present(api: ObjectAPI, obj: dict[str, Any]) -> None:
    key = key_of(obj)
    if api.try_get(key.group, key.kind, key.namespace, key.name) is not None:
        api.delete(key.group, key.kind, key.namespace, key.name)


def _prefixed(source: str, message: str) -> str:
    return message if message.startswith(source) else f"{source}: {message}"
