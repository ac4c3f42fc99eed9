"""Snapshots: the inventory of every object after a run, kept in the store under the run's id.

The reference keeps snapshots in memory and loses them on restart (compat spec §7.5); ours live in the
store's record tables, so ``run diff`` and ``run deps --run`` work from any later process.

Size. A project of N objects that is re-run unchanged must not store N new objects per run, and a run that
changes k objects should store about k things, so storage is content-addressed in two levels, like git's
blobs and trees, and the trees are stored as deltas, like git's packs:

- ``snapshot-objects``:   sha256 of an object's canonical JSON → the object (managed fields included).
  An object that did not change between runs has the same hash and is stored once.
- ``snapshot-manifests``: sha256 of a manifest's canonical JSON → the manifest, in one of two forms:
  a *base* ``{"objects": [sorted object hashes], "choreoKinds": [...]}`` (the built-in choreo API kinds
  present), or a *delta* ``{"parent": <manifest hash>, "depth": d, "added": [...], "removed": [...],
  "choreoKinds": [...]}`` naming only the object hashes that differ from its parent's set. A delta's depth
  is its distance from the base its chain ends in; at ``MAX_DEPTH`` (or when the delta would be no smaller
  than a base) a new base is written, so reading a snapshot decodes one base and at most ``MAX_DEPTH``
  small deltas. An unchanged re-run reuses its predecessor's manifest.
- ``snapshots``:          run id → ``{"manifest": <hash>}``.
- ``snapshot-hash-buckets`` and ``snapshot-digests``: what the next snapshot starts from (see Cost).

So an unchanged re-run adds one small row and a run that changes k objects adds k objects and a delta of
about 2k hashes; a base (N hashes) comes once every ``MAX_DEPTH`` runs. Pruning old runs
(``results/retention.py``) keeps every manifest a kept snapshot's chain passes through (``referenced``), so
it never breaks a kept run. Manifests written before deltas existed are bases: an older store is read
and extended as it is. All rows of one snapshot are written in one store transaction.

Cost. Encoding and hashing every object on every run would make a one-object change cost as much as the
whole store, so ``snapshot-hash-buckets`` keeps each object's hash in the latest manifest by uid, with its
resourceVersion (an object's content changes only with its resourceVersion), and ``snapshot-digests`` one
small row: the latest manifest, the store revision it was taken at and how many objects it holds. The
digests are kept in ``BUCKETS`` rows, an object's row chosen by its uid (``_Digests``): one row per object
took twice the space (a key, an index entry and an uncompressed value each; 3.9 MB at N=1000), and a
bucket of a few dozen digests is still cheap to rewrite when one of them changes. A later
snapshot reads what changed since that revision from the store's watch events (each event carries the
object as stored, or its last state when deleted), hashes and stores only those objects, rewrites only
their rows and writes its delta from the parent's head alone: a run that wrote k objects pays for k, also
in server mode, where each quiet moment is recorded as a run (a new base, once every ``MAX_DEPTH``
snapshots, reads every row). When the events cannot tell (they were compacted, or there are more of them
than objects) every object is read, and only those whose resourceVersion moved are hashed; those are kept
as the store holds their text (``RecordStore.put_texts``: no encoding or compressing again). The rows are
written in the snapshot's transaction and used only while the latest manifest is stored, so a
rolled-back or pruned snapshot never lends them a hash (nor a parent). A store written before the buckets
(every digest in the latest row, or one ``snapshot-hashes`` row per object) has a latest row without
``buckets``: its next snapshot reads every object once, writes the buckets and drops the old rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from choreo.api.objects import Object, uid_and_version
from choreo.apiserver.server import APIServer
from choreo.errors import ChoreoError
from choreo.results.inventory import Item
from choreo.store.base import Gone, RecordStore, StoredText

OBJECTS_TABLE = "snapshot-objects"
MANIFESTS_TABLE = "snapshot-manifests"
SNAPSHOTS_TABLE = "snapshots"
DIGESTS_TABLE = "snapshot-digests"
HASHES_TABLE = "snapshot-hash-buckets"
BUCKETS = 256
"""How many rows ``HASHES_TABLE`` spreads the digests over (recorded in the latest row: a store written with
another number, or before the buckets, is read as having no digests)."""
_PER_OBJECT_HASHES = "snapshot-hashes"  # the form before the buckets: one row per object, dropped when met
LATEST = "latest"
MAX_DEPTH = 32
"""The longest chain of deltas a snapshot is read through; the next snapshot writes a new base."""
STORED_AT_ONCE = 4096
"""How many new objects a snapshot that reads every object keeps per write: their stored texts are held
until then (about 0.5 kB each, compressed)."""

Chain = list[tuple[str, dict[str, Any]]]  # (hash, manifest) pairs, a delta first and its base last


def take_snapshot(api: APIServer, run_id: str) -> str:
    """Store the inventory of ``api``'s store under ``run_id``; returns the manifest hash."""
    records = api.records
    with api.transaction():  # one consistent moment: no write lands between the objects read and the revision
        revision = api.events.current_revision()
        choreo_kinds = sorted([r.group, r.kind] for r in api.registry.resources() if r.choreo_api)
        latest = _latest(records)
        head = records.get_record(MANIFESTS_TABLE, latest["manifest"]) if latest is not None else None
        changes = _changes_since(api, latest) if latest is not None and head is not None else None
        if latest is None or head is None or changes is None:
            manifest_hash, tracked, untracked = _from_every_object(api, choreo_kinds, latest)
        else:
            tracked = int(latest["tracked"])
            manifest_hash, tracked = _from_changes(records, changes, choreo_kinds, (latest["manifest"], head), tracked)
            untracked = 0
        records.put_record(SNAPSHOTS_TABLE, run_id, {"manifest": manifest_hash})
        row = {
            "manifest": manifest_hash, "revision": revision, "tracked": tracked, "untracked": untracked,
            "buckets": BUCKETS,
        }
        if row != latest:
            records.put_record(DIGESTS_TABLE, LATEST, row)
    return manifest_hash


def _latest(records: RecordStore) -> dict[str, Any] | None:
    """The row of the latest snapshot (None: none, or one of a store written before the digest buckets:
    the next snapshot reads every object and replaces the digests)."""
    latest: dict[str, Any] | None = records.get_record(DIGESTS_TABLE, LATEST)
    return latest if latest is not None and latest.get("buckets") == BUCKETS else None


def bucket_of(uid: str) -> str:
    """The key of the ``HASHES_TABLE`` row that holds the digest of the object with this uid."""
    return hashlib.sha256(uid.encode()).hexdigest()[:2]  # BUCKETS = 16 ** 2


class _Digests:
    """uid → [resourceVersion, object hash] of every object in the latest manifest, stored in ``BUCKETS``
    rows of ``HASHES_TABLE`` keyed by two hex digits of the uid's sha256. A bucket is read when one of its
    uids is first asked for, changed in memory, and written back (or removed when empty) by ``save``."""

    def __init__(self, records: RecordStore) -> None:
        self.records = records
        self._buckets: dict[str, dict[str, list[str]]] = {}
        self._changed: set[str] = set()
        self._all_read = False  # every bucket is in ``_buckets`` (``every`` read the table)

    def _bucket(self, uid: str) -> tuple[str, dict[str, list[str]]]:
        key = bucket_of(uid)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = self.records.get_record(HASHES_TABLE, key) or {}
        return key, bucket

    def get(self, uid: str) -> list[str] | None:
        return self._bucket(uid)[1].get(uid)

    def set(self, uid: str, digest: list[str]) -> None:
        key, bucket = self._bucket(uid)
        if bucket.get(uid) != digest:
            bucket[uid] = digest
            self._changed.add(key)

    def delete(self, uid: str) -> None:
        key, bucket = self._bucket(uid)
        if bucket.pop(uid, None) is not None:
            self._changed.add(key)

    def every(self) -> dict[str, list[str]]:
        """Every stored digest (each bucket read once)."""
        if not self._all_read:
            for key, bucket in self.records.list_records(HASHES_TABLE):
                self._buckets.setdefault(key, bucket)
            self._all_read = True
        return {uid: digest for bucket in self._buckets.values() for uid, digest in bucket.items()}

    def replace(self, digests: dict[str, list[str]]) -> None:
        """Make ``digests`` the stored ones (and drop the rows of the form before the buckets)."""
        for uid in set(self.every()).difference(digests):
            self.delete(uid)
        for uid, digest in digests.items():
            self.set(uid, digest)
        for key in self.records.record_keys(_PER_OBJECT_HASHES):
            self.records.delete_record(_PER_OBJECT_HASHES, key)

    def save(self) -> None:
        for key in sorted(self._changed):
            if self._buckets[key]:
                self.records.put_record(HASHES_TABLE, key, dict(sorted(self._buckets[key].items())))
            else:
                self.records.delete_record(HASHES_TABLE, key)
        self._changed.clear()


def _from_changes(
    records: RecordStore,
    changes: dict[str, Object | None],
    choreo_kinds: list[list[str]],
    parent: tuple[str, dict[str, Any]],
    tracked: int,
) -> tuple[str, int]:
    """The manifest after ``changes``, from the parent's and the digests of the changed objects only; and
    how many objects it holds. A changed object is hashed (and stored once), a deleted one left out."""
    added: set[str] = set()
    removed: set[str] = set()
    digests = _Digests(records)
    for uid, obj in sorted(changes.items()):
        known = digests.get(uid)
        if obj is None:
            if known is not None:
                removed.add(known[1])
                digests.delete(uid)
                tracked -= 1
            continue
        version = uid_and_version(obj)[1]
        if known is not None and known[0] == version:
            continue
        key = records.put_content(OBJECTS_TABLE, obj)
        if known is None:
            tracked += 1
        elif known[1] != key:
            removed.add(known[1])
        if known is None or known[1] != key:  # an object's hash holds its uid: no other object has it
            added.add(key)
        digests.set(uid, [version, key])
    digests.save()

    def every_object() -> list[str]:
        return sorted(key for _version, key in digests.every().values())

    return _store_manifest(records, choreo_kinds, parent, added, removed, tracked, every_object), tracked


def _from_every_object(
    api: APIServer, choreo_kinds: list[list[str]], latest: dict[str, Any] | None
) -> tuple[str, int, int]:
    """The manifest of every stored object, read from the store, with the latest snapshot's (when it is
    still stored) as its parent; and how many objects it holds with and without digests. An object whose
    resourceVersion the digests already have is not hashed (nor stored) again."""
    records = api.records
    chain = stored_chain(records, latest["manifest"]) if latest is not None else None
    stored = _Digests(records)
    known = stored.every() if chain is not None else {}
    digests, untracked = _read_all(api, known)
    stored.replace(digests)
    stored.save()
    objects = sorted(untracked.union(key for _version, key in digests.values()))
    before = _objects(chain) if chain is not None else set()
    now = set(objects)
    parent = chain[0] if chain is not None else None
    manifest_hash = _store_manifest(
        records, choreo_kinds, parent, now.difference(before), before.difference(now), len(objects), lambda: objects
    )
    return manifest_hash, len(digests), len(untracked)


def _read_all(api: APIServer, known: dict[str, list[str]]) -> tuple[dict[str, list[str]], set[str]]:
    """The digests of every stored object, read from the store, and the hashes of the objects without a
    uid or resourceVersion (which no digest follows; the API server writes none). An object whose
    resourceVersion ``known`` already has is not hashed (nor stored) again; the others are kept as the store
    holds their text (``put_texts``), ``STORED_AT_ONCE`` at a time."""
    digests: dict[str, list[str]] = {}
    untracked: set[str] = set()
    new: list[StoredText] = []
    for head, text in api.stored_texts():
        uid, version = head.uid, head.version
        seen = known.get(uid) if uid and version else None
        if seen is not None and seen[0] == version:
            key = seen[1]
        else:
            key = text.key
            new.append(text)
            if len(new) == STORED_AT_ONCE:
                api.records.put_texts(OBJECTS_TABLE, new)
                new.clear()
        if uid and version:
            digests[uid] = [version, key]
        else:
            untracked.add(key)
    api.records.put_texts(OBJECTS_TABLE, new)
    return digests, untracked


def _changes_since(api: APIServer, latest: dict[str, Any]) -> dict[str, Object | None] | None:
    """uid → the object as now stored (None: deleted) for every object written since the ``latest``
    snapshot, from the store's watch events; None when they cannot tell: the events were compacted, there
    are more of them than objects (reading every object is then cheaper), or the latest snapshot holds an
    object no digest follows."""
    since, tracked = latest.get("revision"), int(latest["tracked"])
    if not isinstance(since, int) or latest.get("untracked"):
        return None
    if api.events.current_revision() - since > max(tracked, 1):
        return None
    try:
        events = api.events.events_since(since)
    except Gone:
        return None
    changes: dict[str, Object | None] = {}
    for event in events:
        uid, version = uid_and_version(event.object)
        if not uid or not version:
            return None
        changes[uid] = None if event.type == "DELETED" else event.object
    return changes


def _store_manifest(
    backend: RecordStore,
    choreo_kinds: list[list[str]],
    parent: tuple[str, dict[str, Any]] | None,
    added: set[str],
    removed: set[str],
    count: int,
    every_object: Callable[[], list[str]],
) -> str:
    """The hash of the manifest of ``count`` objects, ``added`` and ``removed`` since the ``parent``
    manifest (hash, manifest): the parent's own when nothing changed, else a new delta against it, or a new
    base (``every_object``) when there is no parent, its chain is long or the delta is not much smaller."""
    if parent is not None:
        if not added and not removed and choreo_kinds == parent[1]["choreoKinds"]:
            return parent[0]
        depth = int(parent[1].get("depth", 0)) + 1
        if depth <= MAX_DEPTH and len(added) + len(removed) < count // 2:
            delta = {
                "parent": parent[0], "depth": depth, "added": sorted(added), "removed": sorted(removed),
                "choreoKinds": choreo_kinds,
            }
            return backend.put_content(MANIFESTS_TABLE, delta)
    return backend.put_content(MANIFESTS_TABLE, {"objects": every_object(), "choreoKinds": choreo_kinds})


def stored_chain(backend: RecordStore, key: str, read: dict[str, Any] | None = None) -> Chain | None:
    """(hash, manifest) from the manifest ``key`` back to its base, ``key`` first; None when a manifest on
    the way is not stored. ``read`` keeps the manifests read, for a caller that reads several chains."""
    read = {} if read is None else read
    chain: Chain = []
    while True:
        if key not in read:
            read[key] = backend.get_record(MANIFESTS_TABLE, key)
        manifest = read[key]
        if manifest is None:
            return None
        chain.append((key, manifest))
        if "parent" not in manifest:
            return chain
        key = manifest["parent"]


def _objects(chain: Chain) -> set[str]:
    """The object hashes of the first manifest of ``chain``: its base's, then each delta applied in turn."""
    objects = set(chain[-1][1]["objects"])
    for _key, delta in reversed(chain[:-1]):
        objects.difference_update(delta["removed"])
        objects.update(delta["added"])
    return objects


def referenced(backend: RecordStore, heads: Iterable[str]) -> tuple[set[str], set[str]]:
    """The manifests and the objects that the snapshots with the manifests ``heads`` need: every manifest of
    each head's chain and every object of each head's inventory (not the objects that only a delta on the
    way had). A head whose chain is broken needs nothing: it cannot be read anyway."""
    read: dict[str, Any] = {}
    manifests: set[str] = set()
    objects: set[str] = set()
    for head in heads:
        chain = stored_chain(backend, head, read)
        if chain is not None:
            manifests.update(key for key, _manifest in chain)
            objects.update(_objects(chain))
    return manifests, objects


def has_snapshot(backend: RecordStore, run_id: str) -> bool:
    return backend.get_record(SNAPSHOTS_TABLE, run_id) is not None


def load_snapshot(backend: RecordStore, run_id: str) -> list[Item] | None:
    """The inventory stored for ``run_id`` (``None`` when that run has no snapshot)."""
    entry = backend.get_record(SNAPSHOTS_TABLE, run_id)
    if entry is None:
        return None
    chain = stored_chain(backend, entry["manifest"])
    if chain is None:
        raise ChoreoError(f"the stored snapshot of run {run_id} has no manifest (the state folder is damaged)")
    hashes = sorted(_objects(chain))
    choreo_kinds = {tuple(gk) for gk in chain[0][1]["choreoKinds"]}
    objects: list[Object] = [_stored(backend, key) for key in hashes]
    items = [_item(obj, choreo_kinds) for obj in objects]
    return sorted(items, key=lambda item: item.identity)


def _stored(backend: RecordStore, key: str) -> Object:
    obj = backend.get_record(OBJECTS_TABLE, key)
    if obj is None:
        raise ChoreoError(f"the stored snapshot is incomplete: object {key} is missing (the state folder is damaged)")
    return obj


def _item(obj: Object, choreo_kinds: set[tuple[str, ...]]) -> Item:
    plain = Item(obj)
    return Item(obj, (plain.gvk.group, plain.kind) in choreo_kinds)
