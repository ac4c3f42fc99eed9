"""Snapshots: the inventory of every object after a run, kept in the store under the run's id.

The reference keeps snapshots in memory and loses them on restart (compat spec §7.5); ours live in the
store's record tables, so ``run diff`` and ``run deps --run`` work from any later process.

Size. A project of N objects that is re-run unchanged must not store N new objects per run, so storage
is content-addressed in two levels, like git's blobs and trees:

- ``snapshot-objects``:   sha256 of an object's canonical JSON → the object (managed fields included).
  An object that did not change between runs has the same hash and is stored once.
- ``snapshot-manifests``: sha256 of a manifest's canonical JSON → the manifest: the sorted object
  hashes plus the built-in (choreo API) kinds present. An unchanged re-run yields the same manifest.
- ``snapshots``:          run id → ``{"manifest": <hash>}``.

So an unchanged re-run adds one small row; a run that changes k objects adds k objects and one manifest
(N hashes). Rows are only ever added (a run record is never deleted), so no reference counting is
needed. All rows of one snapshot are written in one store transaction.

Cost. Encoding and hashing every object on every run would make a one-object change cost as much as the
whole store, so ``snapshot-digests`` keeps one row: the latest manifest's object hashes by uid and
resourceVersion (an object's content changes only with its resourceVersion). A later snapshot hashes and
stores only the objects whose resourceVersion moved. The row is written in the snapshot's transaction
and used only while its manifest is stored, so a rolled-back or pruned snapshot never lends it a hash.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from choreo.api.objects import Object
from choreo.apiserver.server import APIServer
from choreo.errors import ChoreoError
from choreo.results.inventory import Item, current_inventory
from choreo.store.base import RecordStore

OBJECTS_TABLE = "snapshot-objects"
MANIFESTS_TABLE = "snapshot-manifests"
SNAPSHOTS_TABLE = "snapshots"
DIGESTS_TABLE = "snapshot-digests"
LATEST = "latest"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def take_snapshot(api: APIServer, run_id: str) -> str:
    """Store the inventory of ``api``'s store under ``run_id``; returns the manifest hash."""
    items = current_inventory(api)
    records = api.records
    with api.transaction():
        known = _known_digests(records)
        digests: dict[str, list[str]] = {}
        hashes = []
        for item in items:
            version = str(item.metadata.get("resourceVersion") or "")
            seen = known.get(item.uid) if item.uid and version else None
            key = seen[1] if seen is not None and seen[0] == version else _put_once(records, OBJECTS_TABLE, item.obj)
            if item.uid and version:
                digests[item.uid] = [version, key]
            hashes.append(key)
        choreo_kinds = sorted({(item.gvk.group, item.kind) for item in items if item.choreo_api})
        manifest = {"objects": sorted(hashes), "choreoKinds": [list(gk) for gk in choreo_kinds]}
        manifest_hash = _put_once(records, MANIFESTS_TABLE, manifest)
        records.put_record(SNAPSHOTS_TABLE, run_id, {"manifest": manifest_hash})
        if digests != known:
            records.put_record(DIGESTS_TABLE, LATEST, {"manifest": manifest_hash, "objects": digests})
    return manifest_hash


def _known_digests(backend: RecordStore) -> dict[str, list[str]]:
    """uid → [resourceVersion, object hash] of the latest snapshot, while its manifest is stored."""
    latest = backend.get_record(DIGESTS_TABLE, LATEST)
    if latest is None or backend.get_record(MANIFESTS_TABLE, latest["manifest"]) is None:
        return {}
    objects: dict[str, list[str]] = latest["objects"]
    return objects


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
    manifest = backend.get_record(MANIFESTS_TABLE, entry["manifest"])
    if manifest is None:
        raise ChoreoError(f"the stored snapshot of run {run_id} has no manifest (the state folder is damaged)")
    choreo_kinds = {tuple(gk) for gk in manifest["choreoKinds"]}
    objects: list[Object] = [_stored(backend, key) for key in manifest["objects"]]
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
