"""Incremental reconciles: a reconcile whose inputs are unchanged since its last execution is not run again.

Why it exists: a CI job changes one link of a network of thousands of devices; re-running every reconcile
(each in a forked worker) would make every run cost the whole network.

What a reconcile's inputs are: its reconciler's code and config, every library, the CRDs, choreo's own
code and the run's flags (together the *salt*), and what it observed through its client — each object it
read or applied (key → uid and resourceVersion, or absent), each list it asked for (the query → the key,
uid and resourceVersion of every object it returned), its for-object and the children it owns. After
each execution that ended well (no error, no requeue) those observations are evaluated again, as they
are after the reconcile's own writes, and kept as a digest in the store's ``reconciles`` table — in the
run's transaction, so a run that is rolled back rolls its digests back too.

Why skipping is safe: reconcilers are hermetic, deterministic and idempotent. A batch run ends quiet,
and any change to an object a reconcile watches (for / owns / watches) re-queues it, so its last execution
saw the final state of what it watches; reads of objects it does not watch are in the digest as well.
When the same observations give the same digest now, executing it again would read exactly what it read
then and repeat writes that are already in place — no-ops that change no resourceVersion. Its recorded
outcome (done) stands, and the run goes on exactly as a full run would. Everything else (a changed
object, a new object matching a list, a deleted child, changed code, another flag) changes the digest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import asdict
from typing import Any, NamedTuple

from choreo.api.objects import key_of, uid_and_version
from choreo.apiserver.interface import ObjectAPI
from choreo.apiserver.server import APIServer
from choreo.apiserver.ssa import strip_managed_fields
from choreo.code_digest import code_digest
from choreo.errors import ChoreoError
from choreo.loader.project import Project, ReconcilerConfig
from choreo.runtime.selectors import field_selector
from choreo.store import Gone
from choreo.store.cache import owner_uids
from choreo.store.multimap import SetMap

Object = dict[str, Any]
WorkKey = tuple[str, str, str]  # reconciler name, namespace, name
Identity = tuple[str, str, str, str]  # group, kind, namespace, name
Query = str  # canonical JSON of ["get", group, kind, ns, name] | ["list", group, kind, selector] | ["children", ...]

TASKS_TABLE = "reconciles"


# ---------------------------------------------------------------------------------------------- observations


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def get_query(group: str, kind: str, namespace: str, name: str) -> Query:
    return canonical(["get", group, kind, namespace, name])


def list_query(group: str, kind: str, selector: dict[str, str] | None) -> Query:
    return canonical(["list", group, kind, selector or {}])


def children_query(uid: str, owned: Iterable[tuple[str, str]]) -> Query:
    return canonical(["children", uid, sorted(owned)])


def matching_objects(api: ObjectAPI, group: str, kind: str, selector: dict[str, str] | None) -> list[Object]:
    """The objects of a kind (every namespace) whose fields equal the selector's values, as copies without
    managed fields: what a reconcile's ``list`` returns, and what its digest records. Only the matches
    are copied."""
    return [strip_managed_fields(o) for o in _selected(api, group, kind, selector)]


def _selected(api: ObjectAPI, group: str, kind: str, selector: dict[str, str] | None) -> list[Object]:
    """``matching_objects`` as the store's own objects (never to be mutated): what a digest looks at."""
    match = field_selector(selector)
    return [o for o in api.view_list(group, kind) if match.matches(_without_managed_fields(o))]


def _without_managed_fields(obj: Object) -> Object:
    """What a reconcile's ``list`` is matched against, without copying more than the top two levels."""
    md = obj["metadata"]
    if "managedFields" not in md:
        return obj
    return {**obj, "metadata": {k: v for k, v in md.items() if k != "managedFields"}}


def owned_children(api: ObjectAPI, uid: str, owned: set[tuple[str, str]]) -> list[Object]:
    """Objects of the owned kinds whose owner references name ``uid``: a for-object's children."""
    return [c for c in api.dependents(uid) if (c["apiVersion"].rpartition("/")[0], c["kind"]) in owned]


def _identity(obj: Object) -> list[str]:
    key = key_of(obj)
    return [key.group, key.kind, key.namespace, key.name]


def _version(obj: Object | None) -> list[str] | None:
    return None if obj is None else uid_and_version(obj)


# ---------------------------------------------------------------------------------------------- salt


def run_salt(api: APIServer, project: Project, flags: Any, packages: Iterable[str]) -> str:
    """What every reconcile of a run depends on besides what it reads: choreo's and the plug-ins' code,
    the run's flags, the served kinds and their schemas (defaults, validation) and every library."""
    kinds = sorted((r.served_form for r in api.registry.resources()), key=lambda form: (form[0], form[1]))
    libraries = sorted((lib.name, lib.code) for lib in project.libraries.values())
    text = canonical([code_digest(("choreo", *sorted(set(packages)))), flags, kinds, libraries])
    return hashlib.sha256(text.encode()).hexdigest()


def reconciler_salt(run: str, config: ReconcilerConfig) -> str:
    return hashlib.sha256(canonical([run, asdict(config)]).encode()).hexdigest()


# ---------------------------------------------------------------------------------------------- the memo


class _Record(NamedTuple):
    """A reconcile's recorded inputs as the memo holds them (a tuple: thousands are held through a run)."""

    salt: object
    queries: tuple[Query, ...]
    digest: object

    @classmethod
    def of(cls, stored: Any) -> _Record:
        """The record stored as ``stored`` (anything else than a record never matches)."""
        if not isinstance(stored, dict):
            return cls(None, (), None)
        queries = stored.get("queries")
        return cls(stored.get("salt"), tuple(queries) if isinstance(queries, list) else (), stored.get("digest"))

    def stored(self) -> Object:
        return {"salt": self.salt, "queries": list(self.queries), "digest": self.digest}


class ReconcileMemo:
    """The recorded digests of a project's reconciles, and the decision to reuse one. It needs choreo's own
    store (an ``APIServer``): its records share the run's transaction and its owner index is followed.

    ``full`` executes every reconcile (``choreo run --full``) but still records digests, so that the next
    incremental run can reuse them. ``concurrent``: others may write while a reconcile runs (a server); an
    execution during which someone else changed what it observed is not recorded, since its digest, taken
    after the fact, would include a change the reconcile never saw. A batch run is one transaction in one
    thread: only the reconcile itself (and the admission hooks of its writes) write meanwhile."""

    def __init__(self, api: APIServer, run_salt: str, *, full: bool = False, concurrent: bool = False) -> None:
        self.api = api
        self.run_salt = run_salt
        self.full = full
        self.concurrent = concurrent
        self._salts: dict[str, str] = {}
        self._records: dict[str, _Record] = {
            name: _Record.of(stored) for name, stored in api.records.list_records(TASKS_TABLE)
        }
        self._seen: set[str] = set()
        self._observations = _Observations(api, follow=bool(self._records))

    def reusable(self, key: WorkKey, config: ReconcilerConfig, for_object: Object) -> bool:
        """Whether the reconcile of ``key`` may be skipped: its inputs are those of its last execution."""
        name = _record_key(key)
        self._seen.add(name)
        return not self.full and self._current(name, config, for_object)

    def settled(self, work: Iterable[tuple[WorkKey, ReconcilerConfig, Object]]) -> bool:
        """Whether the next run would reuse every reconcile, ``work`` being every reconcile there is now (key,
        reconciler, for-object): each has a record, which holds in the current state, and no other record
        is left. Asked at the end of a batch run that went well (the observations are dropped after it)."""
        try:
            names = set()
            for key, config, for_object in work:
                name = _record_key(key)
                if not self._current(name, config, for_object):
                    return False
                names.add(name)
            return names == set(self._records)
        finally:
            self._observations.forget_all()  # nothing asks after this: not kept through the run's snapshot

    def _current(self, name: str, config: ReconcilerConfig, for_object: Object) -> bool:
        """Whether the record ``name`` holds: same salt, same observations now, for-object not being deleted."""
        record = self._records.get(name)
        if record is None or for_object["metadata"].get("deletionTimestamp"):
            return False
        return record.salt == self._salt(config) and record.digest == self._digest(record.queries)

    def remember(
        self, key: WorkKey, config: ReconcilerConfig, queries: set[Query], *, since: int = 0,
        own: AbstractSet[int] = frozenset(),
    ) -> None:
        """Record the digest of an execution that ended done, its observations taken as they are now.
        ``since``: the revision before it ran; ``own``: the revisions of its own writes."""
        name = _record_key(key)
        self._seen.add(name)
        ordered = tuple(sorted(queries))
        record = _Record(self._salt(config), ordered, self._digest(ordered))
        if self.concurrent and self._changed_by_others(queries, since, own):  # after the digest: it covers it
            self.forget(key)
            return
        if self._records.get(name) != record:
            self._records[name] = record
            self.api.records.put_record(TASKS_TABLE, name, record.stored())

    def forget(self, key: WorkKey) -> None:
        """An execution that did not end done (error, requeue, deletion) is never reused."""
        name = _record_key(key)
        self._seen.add(name)
        if self._records.pop(name, None) is not None:
            self.api.records.delete_record(TASKS_TABLE, name)

    def _changed_by_others(self, queries: set[Query], since: int, own: AbstractSet[int]) -> bool:
        """Whether a write that was not the reconcile's own touched what it observed while it ran."""
        gets: set[tuple[str, ...]] = set()
        kinds: set[tuple[str, str]] = set()
        owners: set[str] = set()
        for query in queries:
            op, *args = json.loads(query)
            if op == "get":
                gets.add(tuple(args))
            elif op == "list":
                kinds.add((args[0], args[1]))
            else:
                owners.add(args[0])
        for event in self.api.events.events_since(since):
            if event.revision in own:
                continue
            key = key_of(event.object)
            refs = event.object["metadata"].get("ownerReferences") or []
            if (
                (key.group, key.kind, key.namespace, key.name) in gets
                or (key.group, key.kind) in kinds
                or any(ref.get("uid") in owners for ref in refs)
            ):
                return True
        return False

    def prune(self) -> None:
        """Drop the records of reconciles this run did not meet (for-object or reconciler gone): after a
        batch run, which meets every reconcile that still exists."""
        for name in sorted(set(self._records) - self._seen):
            del self._records[name]
            self.api.records.delete_record(TASKS_TABLE, name)

    def _salt(self, config: ReconcilerConfig) -> str:
        salt = self._salts.get(config.name)
        if salt is None:
            salt = self._salts[config.name] = reconciler_salt(self.run_salt, config)
        return salt

    def _digest(self, queries: Iterable[Query]) -> str:
        """The digest of what ``queries`` see now (``_Observations`` keeps what they saw while it holds)."""
        digest = hashlib.sha256()
        for query, seen in self._observations.current(queries):
            digest.update(query.encode())
            digest.update(seen.encode())
        return digest.hexdigest()


class _Observations:
    """What queries see in the current state, each kept until a write touches it.

    Why: a run checks thousands of records whose observations mostly did not change; observing again
    after each write (a reconcile's, a stage's) made the checks at the end of a run cost the whole network.
    An observation is dropped when a store event concerns it: a get by the written object's key, a list by
    its kind, children by the owners the object names now or named when they were last observed (so an
    owner reference that went away counts too). The events are those since the revision the observations
    reflect; when they are more than the observations kept, or a write was rolled back (revisions are
    then reused), everything is dropped instead — and always when not ``follow``: a run without records
    (a first run) executes nearly every reconcile, and decoding each of its writes again would cost more
    than observing again. Observations look at the store's own objects
    (``APIServer.view``): nothing is decoded or copied for them.

    Memory: the indexes that say which observations an event concerns are kept only when ``follow``
    (without it nothing ever reads them), and hold a lone query or uid without a set (``SetMap``): most
    objects are observed by one query.
    """

    def __init__(self, api: APIServer, *, follow: bool = True) -> None:
        self.api = api
        self.follow = follow
        self._seen: dict[Query, str] = {}
        self._gets: SetMap[Identity, Query] = SetMap()  # the object a get names, as stored (namespace normalised)
        self._lists: SetMap[tuple[str, str], Query] = SetMap()
        self._children: SetMap[str, Query] = SetMap()  # owner uid -> children queries
        self._owners: SetMap[Identity, str] = SetMap()  # child -> owner uids it was observed under
        self._stamp: tuple[int, int] = (-1, -1)

    def current(self, queries: Iterable[Query]) -> Iterator[tuple[Query, str]]:
        """Each query with what it sees now (canonical JSON)."""
        self._catch_up()
        for query in queries:
            seen = self._seen.get(query)
            if seen is None:
                seen = self._seen[query] = canonical(self._observe(query))
            yield query, seen

    def _catch_up(self) -> None:
        revision, rollbacks = self.api.events.current_revision(), self.api.events.rollbacks
        last, last_rollbacks = self._stamp
        self._stamp = (revision, rollbacks)
        if (revision, rollbacks) == (last, last_rollbacks):
            return
        if not self.follow or rollbacks != last_rollbacks or revision < last or revision - last > len(self._seen):
            self.forget_all()
            return
        try:
            events = self.api.events.events_since(last)
        except Gone:
            self.forget_all()
            return
        for event in events:
            self._forget(event.object)

    def forget_all(self) -> None:
        self._seen.clear()
        self._gets.clear()
        self._lists.clear()
        self._children.clear()
        self._owners.clear()

    def _forget(self, obj: Object) -> None:
        key = key_of(obj)
        identity = (key.group, key.kind, key.namespace, key.name)
        dropped = [*self._gets.pop(identity), *self._lists.pop((key.group, key.kind))]
        for uid in owner_uids(obj).union(self._owners.pop(identity)):
            dropped.extend(self._children.pop(uid))
        for query in dropped:
            self._seen.pop(query, None)

    def _observe(self, query: Query) -> Any:
        """What ``query`` sees in the current state: identities and resourceVersions, never contents."""
        op, *args = json.loads(query)
        follow = self.follow
        try:
            if op == "get":
                group, kind, namespace, name = args
                if follow:
                    resource = self.api.registry.get(group, kind)
                    stored_as = (group, kind, namespace if resource is None or resource.namespaced else "", name)
                    self._gets.add(stored_as, query)
                return _version(self.api.view(*args))
            if op == "list":
                if follow:
                    self._lists.add((args[0], args[1]), query)
                return [[*_identity(o), _version(o)] for o in _selected(self.api, *args)]
            uid, owned = args
            kinds = {(group, kind) for group, kind in owned}
            children = [key for key in self.api.dependent_keys(uid) if (key.group, key.kind) in kinds]
            identities = [(key.group, key.kind, key.namespace, key.name) for key in children]
            if follow:
                self._children.add(uid, query)
                for identity in identities:
                    self._owners.add(identity, uid)
            return [[*identity, _version(self.api.view(*identity))] for identity in identities]
        except ChoreoError as exc:  # a kind that is not served (any more)
            return ["error", str(exc)]


def _record_key(key: WorkKey) -> str:
    return "\x1f".join(key)
