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

So an unchanged re-run adds one small row and a run that changes k objects adds k objects and a delta of
about 2k hashes; a base (N hashes) comes once every ``MAX_DEPTH`` runs. Pruning old runs
(``results/retention.py``) keeps every manifest a kept snapshot's chain passes through (``referenced``), so
it never breaks a kept run. Manifests written before deltas existed are bases: an older store is read
and extended as it is. All rows of one snapshot are written in one store transaction.

Cost. Encoding and hashing every object on every run would make a one-object change cost as much as the
whole store, so ``snapshot-digests`` keeps one row: the latest manifest's object hashes by uid and
resourceVersion (an object's content changes only with its resourceVersion), and the store revision it was
taken at. A later snapshot reads what changed since that revision from the store's watch events (each
event carries the object as stored, or its last state when deleted) and hashes and stores only those
objects, without reading the rest of the store; so a run that wrote k objects pays for k, also in server
mode, where each quiet moment is recorded as a run. When the events cannot tell (they were compacted, or
there are more of them than objects) every object is read, and only those whose resourceVersion moved are
hashed. The row is written in the snapshot's transaction and used only while its manifest is stored, so a
rolled-back or pruned snapshot never lends it a hash (nor a parent).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from choreo.api.objects import Object, uid_and_version
from choreo.apiserver.server import APIServer
from choreo.errors import ChoreoError
from choreo.results.inventory import Item
from choreo.store.base import Gone, RecordStore

OBJECTS_TABLE = "snapshot-objects"
MANIFESTS_TABLE = "snapshot-manifests"
SNAPSHOTS_TABLE = "snapshots"
DIGESTS_TABLE = "snapshot-digests"
LATEST = "latest"
MAX_DEPTH = 32
"""The longest chain of deltas a snapshot is read through; the next snapshot writes a new base."""

Chain = list[tuple[str, dict[str, Any]]]  # (hash, manifest) pairs, a delta first and its base last


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def take_snapshot(api: APIServer, run_id: str) -> str:
    """Store the inventory of ``api``'s store under ``run_id``; returns the manifest hash."""
    records = api.records
    with api.transaction():  # one consistent moment: no write lands between the objects read and the revision
        revision = api.events.current_revision()
        latest = records.get_record(DIGESTS_TABLE, LATEST)
        chain = stored_chain(records, latest["manifest"]) if latest is not None else None
        if latest is None or chain is None:
            latest, chain = {"objects": {}}, None
        known: dict[str, list[str]] = latest["objects"]
        before = _objects(chain) if chain is not None else set()
        changes = _changes_since(api, latest, len(before)) if chain is not None else None
        if changes is None:
            digests, untracked = _read_all(api, known)
        else:
            digests, untracked = _updated(records, known, changes), set()
        objects = sorted(untracked.union(key for _version, key in digests.values()))
        choreo_kinds = sorted([r.group, r.kind] for r in api.registry.resources() if r.choreo_api)
        manifest_hash = _store_manifest(records, objects, choreo_kinds, chain, before)
        records.put_record(SNAPSHOTS_TABLE, run_id, {"manifest": manifest_hash})
        if chain is None or manifest_hash != chain[0][0] or digests != known or latest.get("revision") != revision:
            row = {"manifest": manifest_hash, "revision": revision, "objects": digests}
            records.put_record(DIGESTS_TABLE, LATEST, row)
    return manifest_hash


def _read_all(api: APIServer, known: dict[str, list[str]]) -> tuple[dict[str, list[str]], set[str]]:
    """The digests of every stored object, read from the store, and the hashes of the objects without a
    uid or resourceVersion (which no digest follows; the API server writes none). An object whose
    resourceVersion ``known`` already has is not hashed (nor stored) again."""
    digests: dict[str, list[str]] = {}
    untracked: set[str] = set()
    for obj in api.stored_objects():
        uid, version = uid_and_version(obj)
        seen = known.get(uid) if uid and version else None
        key = seen[1] if seen is not None and seen[0] == version else _put_once(api.records, OBJECTS_TABLE, obj)
        if uid and version:
            digests[uid] = [version, key]
        else:
            untracked.add(key)
    return digests, untracked


def _changes_since(api: APIServer, latest: dict[str, Any], tracked: int) -> dict[str, Object | None] | None:
    """uid → the object as now stored (None: deleted) for every object written since the ``latest``
    snapshot, from the store's watch events; None when they cannot tell: the events were compacted, there
    are more of them than objects (reading every object is then cheaper), or the latest snapshot holds an
    object its digests do not follow."""
    since = latest.get("revision")
    if not isinstance(since, int) or tracked != len(latest["objects"]):
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


def _updated(
    records: RecordStore, known: dict[str, list[str]], changes: dict[str, Object | None]
) -> dict[str, list[str]]:
    """``known`` with ``changes`` applied: a changed object is hashed (and stored once), a deleted one left out."""
    digests = dict(known)
    for uid, obj in changes.items():
        if obj is None:
            digests.pop(uid, None)
        else:
            digests[uid] = [uid_and_version(obj)[1], _put_once(records, OBJECTS_TABLE, obj)]
    return digests


def _store_manifest(
    backend: RecordStore, objects: list[str], choreo_kinds: list[list[str]], parent: Chain | None, before: set[str]
) -> str:
    """The hash of the manifest of ``objects``: the parent's own when nothing changed, else a new delta
    against the parent, or a new base when there is no parent, its chain is long or the delta is not much smaller.
    ``before`` is the parent's set of object hashes."""
    if parent is not None:
        now = set(objects)
        if now == before and choreo_kinds == parent[0][1]["choreoKinds"]:
            return parent[0][0]
        added, removed = sorted(now.difference(before)), sorted(before.difference(now))
        depth = int(parent[0][1].get("depth", 0)) + 1
        if depth <= MAX_DEPTH and len(added) + len(removed) < len(objects) // 2:
            delta = {
                "parent": parent[0][0], "depth": depth, "added": added, "removed": removed, "choreoKinds": choreo_kinds,
            }
            return _put_once(backend, MANIFESTS_TABLE, delta)
    return _put_once(backend, MANIFESTS_TABLE, {"objects": objects, "choreoKinds": choreo_kinds})


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


def _put_once(backend: RecordStore, table: str, value: Any) -> str:
    key = content_hash(value)
    if backend.get_record(table, key) is None:
        backend.put_record(table, key, value)
    return key


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
