"""What the stage remembers per device between commands: leaf owners, the final and the previous config,
and the fingerprint of the inputs that produced them.

Stored as records of the project's state (``.choreo/choreo.db``), so ``choreo config blame`` and
``choreo run diff -c`` work from a later process without re-running anything. The leaves are flat
``data path → RFC 7951 value`` maps, which also makes the config diff a plain, deterministic comparison.

Every device also gets a small ``schema-fingerprints`` record (where its files go; for a valid device its
inputs' digest and what it wrote: the objects' resource versions and the files' digests), read in one
query per run to decide which devices stand as they are (``yang.fingerprint``) and which are gone.
Records are written in the run's transaction: a run that is rolled back takes its fingerprints with it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from choreo.plugin_api import ObjectAPI
from yang.merge import Merged, is_under
from yang.profiles import Profile

if TYPE_CHECKING:  # the stage imports this module
    from yang.stage import DeviceReport

TABLE = "schema-devices"
FINGERPRINTS = "schema-fingerprints"


def device_key(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def save_record(
    api: ObjectAPI, report: DeviceReport, profile: Profile, merged: Merged, running: dict[str, Any] | None
) -> bool:
    """Store what ``choreo config blame`` and ``choreo run diff -c`` need of one device; returns whether its
    previous config is its current one (what a later unchanged run would make it)."""
    key = device_key(report.namespace, report.name)
    previous = api.records.get_record(TABLE, key)
    record = {
        "device": report.name,
        "namespace": report.namespace,
        "profile": profile.name,
        "valid": report.valid,
        "leaves": {path: owner.value for path, owner in merged.owners.items()},
        "owners": {
            path: {
                "source": owner.source.ref(),
                "priority": owner.priority,
                "reconciler": owner.source.reconciler,
                "intent": owner.source.intent,
            }
            for path, owner in merged.owners.items()
        },
        "overrides": [
            {"path": o.path, "from": o.loser.source.ref(), "by": o.winner.source.ref(), "value": o.loser.value}
            for o in merged.overrides
        ],
        "deletions": [
            {"path": d.path, "by": d.by.source.ref(),
             "removed": [{"path": p, "value": o.value, "from": o.source.ref()} for p, o in d.removed]}
            for d in merged.deletions
        ],
        "errors": len(report.problems),
        "running": running,
        "previous": _last_valid_leaves(previous),
    }
    api.records.put_record(TABLE, key, record)
    return record["previous"] == record["leaves"]


def settle_previous(api: ObjectAPI, key: str) -> None:
    """An unchanged device's previous config becomes its current one, as re-running it would make it."""
    record = api.records.get_record(TABLE, key)
    if record is not None and record.get("previous") != record["leaves"]:
        api.records.put_record(TABLE, key, {**record, "previous": record["leaves"]})


def fingerprints(api: ObjectAPI) -> dict[str, dict[str, Any]]:
    """Every kept device fingerprint by ``namespace/name``."""
    return dict(api.records.list_records(FINGERPRINTS))


def kept_fingerprint(api: ObjectAPI, key: str) -> dict[str, Any] | None:
    """The kept fingerprint of one device (None: none)."""
    entry: dict[str, Any] | None = api.records.get_record(FINGERPRINTS, key)
    return entry


def keep_fingerprint(api: ObjectAPI, key: str, entry: dict[str, Any]) -> None:
    api.records.put_record(FINGERPRINTS, key, entry)


def forget_device(api: ObjectAPI, key: str) -> None:
    """A device that is gone: neither its record nor its fingerprint is kept."""
    api.records.delete_record(TABLE, key)
    api.records.delete_record(FINGERPRINTS, key)


def _last_valid_leaves(previous: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the device's last *valid* run produced: the base of ``run diff -c`` (a failed run wrote nothing)."""
    if previous is None:
        return None
    return previous["leaves"] if previous.get("valid", True) else previous.get("previous")


def records(api: ObjectAPI) -> list[dict[str, Any]]:
    return [value for _key, value in sorted(api.records.list_records(TABLE))]


def find_record(api: ObjectAPI, device: str) -> dict[str, Any] | None:
    """The record of ``device`` (``NAME`` or ``NAMESPACE/NAME``)."""
    for record in records(api):
        if device in (record["device"], f"{record['namespace']}/{record['device']}"):
            return record
    return None


def leaf_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``+``/``-``/``~`` lines, one per changed leaf, sorted by path."""
    lines = []
    for path in sorted(set(old) | set(new)):
        if path not in old:
            lines.append(f"+ {path}: {json.dumps(new[path])}")
        elif path not in new:
            lines.append(f"- {path}: {json.dumps(old[path])}")
        elif old[path] != new[path]:
            lines.append(f"~ {path}: {json.dumps(old[path])} -> {json.dumps(new[path])}")
    return lines


def final_config_diff(api: ObjectAPI) -> list[str]:
    """Per device: the final config against the running config (when there is one) or the previous run."""
    lines = []
    for record in records(api):
        base = record["running"] if record["running"] is not None else record["previous"]
        changes = leaf_diff(base or {}, record["leaves"])
        symbol = "+" if base is None else ("~" if changes else "=")
        against = "running config" if record["running"] is not None else "previous run"
        lines.append(f"{symbol} config.sdcio.dev/v1alpha1, Kind=Config {record['device']} (against {against})")
        lines.extend(f"    {line}" for line in changes)
    return lines


def blame_lines(record: dict[str, Any], prefix: str = "") -> list[str]:
    """``path = value  <source> (priority, reconciler, intent)`` for every leaf under ``prefix``."""
    lines = []
    for path in sorted(record["owners"]):
        if prefix and not is_under(path, prefix):
            continue
        owner = record["owners"][path]
        extra = [f"priority {owner['priority']}"]
        extra += [f"reconciler {owner['reconciler']}"] if owner["reconciler"] else []
        extra += [f"intent {owner['intent']}"] if owner["intent"] else []
        lines.append(f"{path} = {json.dumps(record['leaves'][path])}  {owner['source']} ({', '.join(extra)})")
    for override in record["overrides"]:
        path = override["path"]
        if not prefix or is_under(path, prefix):
            lines.append(f"  overridden: {path} was {json.dumps(override['value'])} from {override['from']}, "
                         f"set by {override['by']}")
    for deletion in record.get("deletions", []):
        if not prefix or is_under(deletion["path"], prefix) or is_under(prefix, deletion["path"]):
            was = "; ".join(f"{r['path']} = {json.dumps(r['value'])} from {r['from']}" for r in deletion["removed"])
            lines.append(f"  deleted: {deletion['path']} by {deletion['by']}" + (f" (was {was})" if was else ""))
    return lines
