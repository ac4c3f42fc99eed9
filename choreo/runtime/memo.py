"""Incremental reconciles: a reconcile whose inputs are unchanged since its last execution is not run again.

Why it exists: a CI job changes one link of a network of thousands of devices; re-running every reconcile
(each in a forked worker) would make every run cost the whole network.

What a reconcile's inputs are: its reconciler's code and config, every library, the CRDs, choreo's own
code and the run's flags (together the *salt*), and what it observed through its client — each object it
read or applied (key → uid and resourceVersion, or absent), each list it asked for (the query → the key,
uid and resourceVersion of every object it returned), its for-object and the children it owns (key → uid
and resourceVersion). After each execution that ended well (no error, no requeue) those observations are
evaluated again, as they are after the reconcile's own writes, and kept as two digests (the children's,
the rest's) in the store's ``reconciles`` table — in the run's transaction, so a run that is rolled back
rolls its digests back too.

Why skipping is safe: reconcilers are hermetic, deterministic and idempotent. A batch run ends quiet,
and any change to an object a reconcile watches (for / owns / watches) re-queues it, so its last execution
saw the final state of what it watches; reads of objects it does not watch are in the digest as well.
When the same observations give the same digests now, executing it again would read exactly what it read
then and repeat writes that are already in place — no-ops that change no resourceVersion. Its recorded
outcome (done) stands, and the run goes on exactly as a full run would. Everything else (a changed
object, a new object matching a list, a deleted child, changed code, another flag) changes a digest.

Children are the exception to "any change": a reconcile does not read its children, it writes them (and
deletes the ones it no longer makes). Executing it again on a child that someone else changed only where
the reconciler's field manager owns nothing (interface-config adding its finalizer to the Interface the
loopback reconcile made) writes nothing either. So when only the children digest differs, each child
whose resourceVersion moved since the reconcile wrote it is compared by ``written_state``: what the
reconciler's writes decide of it (uid, deletion mark, owner references, the manager's managedFields
entries and the fields they name), as the reconcile's own write left it and as it is now. When that is
all unchanged, the child counts as the version it wrote, the reconcile is reused and its record moves to
the child's new version. Anything else — a child deleted, added, taken over, or a value the manager owns
changed by any write — runs it again. The comparison costs nothing in the common case: the written state
is kept (as a digest, in memory, for this memo's life) only for children the reconcile wrote, and is
looked at only when a child's version moved; without it (a child written in an earlier run) a moved
child runs the reconcile again, which is never wrong.

A run that starts where the last one ended at a fixpoint (``runtime.fixpoint``: every record was checked
to hold in that state, at revision R) need not check every record again: a record can only have stopped
holding when a write since R concerned one of its queries. ``Untouched`` follows the store's events since
R: the objects written (a get of one, a list of its kind) and the owners they name, now or at R (a
children query of either). A record none of whose queries they concern holds without its observations
being looked at; the others are checked as usual. At N=10 000 a one-Link run asked this of 77 000
records twice (at its start and its end), 3.2 s of its 15 s.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import asdict
from typing import Any, NamedTuple

import orjson

from choreo.api.objects import ObjectKey, key_of, uid_and_version
from choreo.apiserver.fieldpath import canonical_json
from choreo.apiserver.interface import ObjectAPI
from choreo.apiserver.server import APIServer
from choreo.apiserver.ssa import strip_managed_fields
from choreo.code_digest import code_digest
from choreo.errors import ChoreoError
from choreo.loader.project import Project, ReconcilerConfig
from choreo.runtime.eventlog import EventLog
from choreo.runtime.selectors import field_selector
from choreo.store import Gone
from choreo.store.head import Head, owner_uids
from choreo.store.multimap import SetMap

Object = dict[str, Any]
WorkKey = tuple[str, str, str]  # reconciler name, namespace, name
Identity = tuple[str, str, str, str]  # group, kind, namespace, name (as stored: "" for a cluster-scoped kind)
Query = str  # canonical JSON of ["get", group, kind, ns, name] | ["list", group, kind, selector] | ["children", ...]
Children = list[tuple[Identity, str]]  # what a children query sees: each child's identity and version

TASKS_TABLE = "reconciles"
ABSENT = "-"  # the version of an object that does not exist
_CHILDREN = '["children"'
_CHILDREN_UID = _CHILDREN + ',"'  # a children query's text up to its owner's uid
_FIELD, _ITEM = "\x1f", "\x1e"  # separators in the text a digest is taken of (names and versions have neither)
_STATE_SIZE = 16  # bytes of a ``written_state`` digest


# ---------------------------------------------------------------------------------------------- observations


def get_query(group: str, kind: str, namespace: str, name: str) -> Query:
    return canonical_json(["get", group, kind, namespace, name])


def list_query(group: str, kind: str, selector: dict[str, str] | None) -> Query:
    return canonical_json(["list", group, kind, selector or {}])


def children_query(uid: str, owned: Iterable[tuple[str, str]]) -> Query:
    return canonical_json(["children", uid, sorted(owned)])


def query_prefix(*start: str) -> str:
    """The text every query whose first elements are ``start`` begins with (``query_prefix("list", group,
    kind)``: any list of that kind, whatever its selector)."""
    return canonical_json(list(start))[:-1] + ","


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


def identity_of(obj: Object) -> Identity:
    key = key_of(obj)
    return key.group, key.kind, key.namespace, key.name


def version_of(obj: Object | None) -> str:
    """Which stored state of an object an observation saw: its uid and resourceVersion (``ABSENT``: none)."""
    return ABSENT if obj is None else " ".join(uid_and_version(obj))


def head_version(head: Head | None) -> str:
    """``version_of`` the object whose head ``head`` is, read from the head alone."""
    return ABSENT if head is None else f"{head.uid} {head.version}"


def written_state(child: Object, manager: str) -> bytes | None:
    """A digest of what applying ``manager``'s intent to ``child`` again depends on (None: not known).

    That is the child's uid, deletion mark and owner references (a reconcile deletes or refuses children by
    them), ``manager``'s managedFields entries (which fields it owns: another writer taking one over, or a
    write removing one, changes them) and, whole, every top-level field and metadata field those entries
    name (so a value it owns changed by any write, with or without a field manager, changes the digest).
    Fields it owns nothing of — another reconciler's finalizer, label or status — are not looked at. Only
    compared within one process (``_state_digest`` of the store's decoded JSON, whose keys are in sorted
    order)."""
    md = child["metadata"]
    entries = [e for e in md.get("managedFields") or () if isinstance(e, dict) and e.get("manager") == manager]
    fields: set[str] = set()
    metadata: set[str] = set()
    for entry in entries:
        owned = entry.get("fieldsV1")
        if not isinstance(owned, dict):
            return None
        for name, below in owned.items():
            if name == "f:metadata" and isinstance(below, dict):
                metadata.update(below)
            elif name.startswith("f:"):
                fields.add(name[2:])
            elif name != ".":
                return None
    state = (
        md.get("uid"), md.get("deletionTimestamp"), md.get("ownerReferences"), entries,
        [(name, child.get(name)) for name in sorted(fields)],
        [(name, md.get(name[2:])) for name in sorted(metadata)],
    )
    return _state_digest(state)


def _state_digest(state: tuple[Any, ...]) -> bytes:
    """A digest of ``state``, values decoded from the store. orjson writes them ten times faster than
    ``repr`` and tells them apart as exactly: the store holds no NaN or infinity (which orjson would write
    as ``null``) and no tuples (``state``'s own are fixed in shape). It refuses an integer beyond 64 bits,
    which the store does keep: such a state is digested through ``repr``, tagged apart."""
    try:
        text = b"j" + orjson.dumps(state)
    except TypeError:  # orjson.JSONEncodeError included
        text = b"r" + repr(state).encode()
    return hashlib.blake2b(text, digest_size=_STATE_SIZE).digest()


# ---------------------------------------------------------------------------------------------- salt


def run_salt(api: APIServer, project: Project, flags: Any, packages: Iterable[str]) -> str:
    """What every reconcile of a run depends on besides what it reads: choreo's and the plug-ins' code,
    the run's flags, the served kinds and their schemas (defaults, validation) and every library."""
    kinds = sorted((r.served_form for r in api.registry.resources()), key=lambda form: (form[0], form[1]))
    libraries = sorted((lib.name, lib.code) for lib in project.libraries.values())
    text = canonical_json([code_digest(("choreo", *sorted(set(packages)))), flags, kinds, libraries])
    return hashlib.sha256(text.encode()).hexdigest()


def reconciler_salt(run: str, config: ReconcilerConfig) -> str:
    return hashlib.sha256(canonical_json([run, asdict(config)]).encode()).hexdigest()


# ---------------------------------------------------------------------------------------------- the memo


class _Record(NamedTuple):
    """A reconcile's recorded inputs as the memo holds them (a tuple: thousands are held through a run)."""

    salt: object
    queries: tuple[Query, ...]
    digest: object  # of what its queries but the children ones saw
    children: object  # of what its children queries saw

    @classmethod
    def of(cls, stored: Any) -> _Record:
        """The record stored as ``stored`` (anything else than a record never matches)."""
        if not isinstance(stored, dict):
            return cls(None, (), None, None)
        queries = stored.get("queries")
        return cls(
            stored.get("salt"), tuple(queries) if isinstance(queries, list) else (), stored.get("digest"),
            stored.get("children"),
        )

    def stored(self) -> Object:
        return {"salt": self.salt, "queries": list(self.queries), "digest": self.digest, "children": self.children}


class _Seen(NamedTuple):
    """What a record's queries see now: the two digests, and each children query's children."""

    digest: str
    children_digest: str
    children: list[Children]


class _WrittenStates:
    """(manager, child) → the version of the child the manager's reconcile wrote and its ``written_state``.

    One entry per child a reconcile wrote, held for the memo's life (12 500 at N=1000): each is kept as one
    text key and one bytes value (the 16-byte state, then the version), half the memory of tuples."""

    def __init__(self) -> None:
        self._entries: dict[str, bytes] = {}

    @staticmethod
    def _key(manager: str, identity: Identity) -> str:
        return _FIELD.join((manager, *identity))

    def get(self, manager: str, identity: Identity) -> tuple[str, bytes] | None:
        entry = self._entries.get(self._key(manager, identity))
        return None if entry is None else (entry[_STATE_SIZE:].decode(), entry[:_STATE_SIZE])

    def put(self, manager: str, identity: Identity, version: str, state: bytes) -> None:
        self._entries[self._key(manager, identity)] = state + version.encode()

    def drop(self, manager: str, identity: Identity) -> None:
        self._entries.pop(self._key(manager, identity), None)


class ReconcileMemo:
    """The recorded digests of a project's reconciles, and the decision to reuse one. It needs choreo's own
    store (an ``APIServer``): its records share the run's transaction and its owner index is followed.

    ``full`` executes every reconcile (``choreo run --full``) but still records digests, so that the next
    incremental run can reuse them. ``concurrent``: others may write while a reconcile runs (a server); an
    execution during which someone else changed what it observed is not recorded, since its digest, taken
    after the fact, would include a change the reconcile never saw, and records are written at once. A
    batch run is one transaction in one thread: only the reconcile itself (and the admission hooks of its
    writes) write meanwhile, and its records are written by ``flush`` (a reconcile executed twice in a run
    writes its record once). ``events``: the log of store events this memo follows (the controller reads
    the same one, so each event is decoded once)."""

    def __init__(
        self, api: APIServer, run_salt: str, *, full: bool = False, concurrent: bool = False,
        events: EventLog | None = None, held_at: int | None = None,
    ) -> None:
        self.api = api
        self.run_salt = run_salt
        self.full = full
        self.concurrent = concurrent
        self.events = events if events is not None else EventLog(api.events)
        self._salts: dict[str, str] = {}
        self._records: dict[str, _Record] = {
            name: _Record.of(stored) for name, stored in api.records.list_records(TASKS_TABLE)
        }
        self._stored = set(self._records)  # the names the store has a record of
        self._dirty: set[str] = set()  # names whose record changed since the last flush
        self._seen: set[str] = set()
        self._written = _WrittenStates()
        self._observations = _Observations(api, self.events, follow=bool(self._records))
        # ``held_at``: a revision at which every record held (the last run's fixpoint, this run starting there).
        self._untouched = None if held_at is None or concurrent else Untouched(api, self.events, held_at)

    def reload(self) -> None:
        """Take the records as the store has them again, after a commit that failed rolled back records
        this memo had written (a server's group of reconciles, ``choreo.server.runner``): nothing it holds
        in memory of the records, their observations or the children written stands any more."""
        self._records = {name: _Record.of(stored) for name, stored in self.api.records.list_records(TASKS_TABLE)}
        self._stored = set(self._records)
        self._dirty.clear()
        self._written = _WrittenStates()
        self._observations.clear()
        self.events.drop()

    def reusable(self, key: WorkKey, config: ReconcilerConfig, for_object: Head) -> bool:
        """Whether the reconcile of ``key`` may be skipped: its inputs are those of its last execution
        (``for_object``: the head of its for-object)."""
        name = _record_key(key)
        self._seen.add(name)
        return not self.full and self._current(name, config, for_object)

    def settled(self, work: Iterable[tuple[WorkKey, ReconcilerConfig, Head]]) -> bool:
        """Whether the next run would reuse every reconcile, ``work`` being every reconcile there is now (key,
        reconciler, for-object's head): each has a record, which holds in the current state, and no other
        record is left. Asked at the end of a batch run that went well (the observations are dropped after
        it)."""
        try:
            names = set()
            for key, config, for_object in work:
                name = _record_key(key)
                if not self._current(name, config, for_object):
                    return False
                names.add(name)
            return names == set(self._records)
        finally:
            self.flush()  # records moved to a child's new version
            self._observations.clear()  # nothing asks after this: not kept through the run's snapshot
            self.events.drop()

    def _current(self, name: str, config: ReconcilerConfig, for_object: Head) -> bool:
        """Whether the record ``name`` holds: same salt, same observations now (a child changed only where
        the reconciler owns nothing counts as the same), for-object not being deleted."""
        record = self._records.get(name)
        if record is None or for_object.deleting:
            return False
        if record.salt != self._salt(config):
            return False
        if self._untouched is not None and self._untouched.holds(record.queries):
            return True
        seen = self._seen_now(record.queries)
        if seen.digest != record.digest:
            return False
        if seen.children_digest == record.children:
            return True
        moved = self._as_written(config.name, seen.children)
        if not moved or _children_digest(seen.children, moved) != record.children:
            return False
        for identity, (_written, now, state) in moved.items():  # the record moves to the versions there are now
            self._written.put(config.name, identity, now, state)
        self._keep(name, record._replace(children=seen.children_digest))
        return True

    def _as_written(self, manager: str, children: list[Children]) -> dict[Identity, tuple[str, str, bytes]]:
        """The children whose version moved since ``manager``'s reconcile wrote them and whose written state
        did not change: identity → (version written, version now, state)."""
        found: dict[Identity, tuple[str, str, bytes]] = {}
        for seen in children:
            for identity, version in seen:
                then = self._written.get(manager, identity)
                if then is None or then[0] == version or version == ABSENT:
                    continue
                child = self.api.view(*identity)
                if child is not None and written_state(child, manager) == then[1]:
                    found[identity] = (then[0], version, then[1])
        return found

    def remember(
        self, key: WorkKey, config: ReconcilerConfig, queries: set[Query], *, since: int = 0,
        own: AbstractSet[int] = frozenset(), written: Mapping[Identity, Object] | None = None,
    ) -> None:
        """Record the digests of an execution that ended done, its observations taken as they are now.
        ``since``: the revision before it ran; ``own``: the revisions of its own writes; ``written``: the
        children it wrote, as its writes returned them."""
        name = _record_key(key)
        self._seen.add(name)
        ordered = tuple(sorted(queries))
        seen = self._seen_now(ordered)
        if self.concurrent and self._changed_by_others(queries, since, own):  # after the digest: it covers it
            self.forget(key)
            return
        self._note_written(config.name, seen.children, written or {})
        self._keep(name, _Record(self._salt(config), ordered, seen.digest, seen.children_digest))

    def _note_written(self, manager: str, children: list[Children], written: Mapping[Identity, Object]) -> None:
        """Keep the written state of each child as the reconcile's own write left it (none when another
        write came after it, or it did not write the child)."""
        for seen in children:
            for identity, version in seen:
                stored = written.get(identity)
                state = written_state(stored, manager) if stored is not None and version_of(stored) == version else None
                if state is None:
                    self._written.drop(manager, identity)
                else:
                    self._written.put(manager, identity, version, state)

    def forget(self, key: WorkKey) -> None:
        """An execution that did not end done (error, requeue, deletion) is never reused."""
        name = _record_key(key)
        self._seen.add(name)
        self._keep(name, None)

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
            self._keep(name, None)

    def _keep(self, name: str, record: _Record | None) -> None:
        """``record`` is now the record of ``name`` (None: it has none); written at once when concurrent."""
        if record is None:
            if self._records.pop(name, None) is None:
                return
        elif self._records.get(name) == record:
            return
        else:
            self._records[name] = record
        self._dirty.add(name)
        if self.concurrent:
            self.flush()

    def flush(self) -> None:
        """Write the records that changed since the last flush (in the caller's transaction)."""
        for name in sorted(self._dirty):
            record = self._records.get(name)
            if record is not None:
                self.api.records.put_record(TASKS_TABLE, name, record.stored())
                self._stored.add(name)
            elif name in self._stored:
                self.api.records.delete_record(TASKS_TABLE, name)
                self._stored.discard(name)
        self._dirty.clear()

    def _salt(self, config: ReconcilerConfig) -> str:
        salt = self._salts.get(config.name)
        if salt is None:
            salt = self._salts[config.name] = reconciler_salt(self.run_salt, config)
        return salt

    def _seen_now(self, queries: Iterable[Query]) -> _Seen:
        """What ``queries`` (in record order) see now."""
        observations = self._observations
        observations.catch_up()
        reads: list[str] = []
        children: list[Children] = []
        for query in queries:
            if query.startswith(_CHILDREN):
                children.append(observations.children(query))
            else:
                reads.append(observations.seen(query))
        digest = hashlib.sha256("\n".join(reads).encode()).hexdigest()
        return _Seen(digest, _children_digest(children), children)


def _children_digest(children: list[Children], moved: Mapping[Identity, tuple[str, str, bytes]] | None = None) -> str:
    """The digest of what children queries saw, each child in ``moved`` at the version written there."""
    moved = moved or {}
    text = "\n".join(
        _ITEM.join(_FIELD.join((*child, moved[child][0] if child in moved else version)) for child, version in seen)
        for seen in children
    )
    return hashlib.sha256(text.encode()).hexdigest()


class Untouched:
    """Whether any write since ``revision`` concerns a record's queries (see the module docstring): the gets
    of the objects written, the lists of their kinds, the children of the owners they name now, named in
    any version written since, or named at ``revision`` (the head the object had when the run's
    transaction began). Answered from the queries' text, nothing decoded: most records are asked once."""

    def __init__(self, api: APIServer, events: EventLog, revision: int) -> None:
        self.api = api
        self.events = events
        self.revision = revision
        self._gets: set[Query] = set()
        self._prefixes: set[str] = set()  # of list queries of a written kind; of gets of a written cluster kind
        self._owners: set[str] = set()
        self._written: set[Identity] = set()
        self._stamp = (revision, events.source.rollbacks)
        self._broken = False  # the events since ``revision`` cannot be read: nothing holds unchecked

    def holds(self, queries: Iterable[Query]) -> bool:
        """True when no write since ``revision`` concerns any of ``queries``."""
        self._catch_up()
        if self._broken:
            return False
        gets, prefixes, owners = self._gets, self._prefixes, self._owners
        for query in queries:
            if query in gets:
                return False
            if query.startswith(_CHILDREN_UID):
                end = query.find('"', len(_CHILDREN_UID))
                uid = query[len(_CHILDREN_UID) : end]
                if end < 0 or "\\" in uid or uid in owners:  # an escaped uid: not taken apart here
                    return False
            elif prefixes and any(query.startswith(prefix) for prefix in prefixes):
                return False
        return True

    def _catch_up(self) -> None:
        revision, rollbacks = self.events.current_revision(), self.events.source.rollbacks
        last, last_rollbacks = self._stamp
        if (revision, rollbacks) == (last, last_rollbacks) or self._broken:
            return
        # After a rollback the revisions since are reused: read them all again (what was noted stays noted).
        since = last if rollbacks == last_rollbacks and revision >= last else self.revision
        try:
            events = self.events.since(since)
        except Gone:
            self._broken = True
            return
        for event in events:
            self._note(event.object)
        self._stamp = (revision, rollbacks)

    def _note(self, obj: Object) -> None:
        identity = identity_of(obj)
        group, kind, namespace, name = identity
        self._gets.add(get_query(group, kind, namespace, name))
        self._prefixes.add(query_prefix("list", group, kind))
        if not namespace:  # a get of a cluster-scoped object may name any namespace
            self._prefixes.add(query_prefix("get", group, kind))
        self._owners.update(owner_uids(obj))
        if identity not in self._written:
            self._written.add(identity)
            before = self.api.head_at_start(ObjectKey(group, kind, namespace, name))
            if before is not None:
                self._owners.update(before.owners)


class _Observations:
    """What queries see in the current state, each kept until a write touches it.

    Why: a run checks thousands of records whose observations mostly did not change; observing again
    after each write (a reconcile's, a stage's) made the checks at the end of a run cost the whole network.
    An observation is dropped when a store event concerns it: a get by the written object's key, a list by
    its kind, children by the owners the object names now or named when they were last observed (so an
    owner reference that went away counts too). The events are those since the revision the observations
    reflect, read through the ``EventLog`` the controller dispatches from (each decoded once); when they
    are more than the observations kept, or a write was rolled back (revisions are then reused), everything
    is dropped instead — and always when not ``follow``: a run without records (a first run) executes
    nearly every reconcile, and keeping what each observed would only hold memory. Observations look at
    the store's own objects (``APIServer.view``): nothing is copied for them."""

    def __init__(self, api: APIServer, events: EventLog, *, follow: bool) -> None:
        self.api = api
        self.events = events
        self.follow = follow
        self._seen: dict[Query, Any] = {}  # query -> what it saw (str, or Children)
        self._gets: SetMap[Identity, Query] = SetMap()  # the object a get names, as stored (namespace normalised)
        self._lists: SetMap[tuple[str, str], Query] = SetMap()
        self._children: SetMap[str, Query] = SetMap()  # owner uid -> children queries
        self._owners: SetMap[Identity, str] = SetMap()  # child -> owner uids it was observed under
        self._stamp: tuple[int, int] = (-1, -1)

    def catch_up(self) -> None:
        """Bring what is kept to the store's current revision."""
        revision, rollbacks = self.events.current_revision(), self.events.source.rollbacks
        last, last_rollbacks = self._stamp
        if (revision, rollbacks) == (last, last_rollbacks):
            return
        self._stamp = (revision, rollbacks)
        if not self._seen:
            return
        if not self.follow or rollbacks != last_rollbacks or revision < last or revision - last > len(self._seen):
            self.clear()
            return
        try:
            events = self.events.since(last)
        except Gone:
            self.clear()
            return
        for event in events:
            self._forget(event.object)

    def clear(self) -> None:
        self._seen.clear()
        self._gets.clear()
        self._lists.clear()
        self._children.clear()
        self._owners.clear()

    def _forget(self, obj: Object) -> None:
        identity = identity_of(obj)
        dropped = [*self._gets.pop(identity), *self._lists.pop(identity[:2])]
        for uid in owner_uids(obj).union(self._owners.pop(identity)):
            dropped.extend(self._children.pop(uid))
        for query in dropped:
            self._seen.pop(query, None)

    def seen(self, query: Query) -> str:
        """What a get or list query sees (after ``catch_up``)."""
        seen: str | None = self._seen.get(query)
        if seen is not None:
            return seen
        op, *args = json.loads(query)
        try:
            if op == "get":
                group, kind, namespace, name = args
                seen = head_version(self.api.head(group, kind, namespace, name))
                if self.follow:
                    resource = self.api.registry.get(group, kind)
                    stored_as = (group, kind, namespace if resource is None or resource.namespaced else "", name)
                    self._gets.add(stored_as, query)
            else:
                group, kind, selector = args
                seen = _ITEM.join(_FIELD.join(listed) for listed in _listed(self.api, group, kind, selector))
                if self.follow:
                    self._lists.add((group, kind), query)
        except ChoreoError as exc:  # a kind that is not served (any more)
            seen = "!" + canonical_json(str(exc))
        if self.follow:
            self._seen[query] = seen
        return seen

    def children(self, query: Query) -> Children:
        """The children a children query names, with their versions (after ``catch_up``)."""
        kept: Children | None = self._seen.get(query)
        if kept is not None:
            return kept
        _op, uid, owned = json.loads(query)
        kinds = {(group, kind) for group, kind in owned}
        found: Children = []
        for key in self.api.dependent_keys(uid):
            if (key.group, key.kind) in kinds:
                identity = (key.group, key.kind, key.namespace, key.name)
                found.append((identity, head_version(self.api.head(*identity))))
        if self.follow:
            self._seen[query] = found
            self._children.add(uid, query)
            for identity, _version in found:
                self._owners.add(identity, uid)
        return found


def _listed(api: APIServer, group: str, kind: str, selector: dict[str, str] | None) -> list[tuple[str, ...]]:
    """What a list query sees: the identity and version of each object it returns. Without a selector that
    is every object of the kind, read from the heads; a selector looks at the objects themselves."""
    if not selector:
        listed = api.heads(group, kind)
        return [(key.group, key.kind, key.namespace, key.name, head_version(head)) for key, head in listed]
    return [(*identity_of(o), version_of(o)) for o in _selected(api, group, kind, selector)]


def _record_key(key: WorkKey) -> str:
    return "\x1f".join(key)
