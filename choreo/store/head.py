"""An object's head: the few facts about a stored object the engine asks of every object, kept beside it.

Why it exists: the loader's clean-up and garbage collection, the check that an input is still in place, the
owner index and the reconcile memo's observations look at every stored object, but only at its identity and
bookkeeping: which uid and resourceVersion it has, whether it is being deleted, who owns it, who manages it,
its labels, which annotations it carries. Decoding each object's whole JSON for that cost more than the rest
of a run that changed one Link (19 338 objects decoded, a handful changed). A head answers those questions
without the body.

How it is kept: computed from the object by ``head_of`` — the one way, used by every backend and the cache —
when the object is written; the SQLite backend stores its text (``head_text``) in the object's row, written
by the same statement as the body, so head and body can never disagree, not even after a killed run.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson


class Head(NamedTuple):
    """What the engine reads of every stored object. Never to be mutated (``labels`` included)."""

    uid: str
    """``metadata.uid`` ("" when missing)."""
    version: str
    """``metadata.resourceVersion`` ("" when missing)."""
    deleting: bool
    """Whether ``metadata.deletionTimestamp`` is set."""
    owners: tuple[str, ...]
    """The uids its ownerReferences name, sorted, each once."""
    managers: tuple[str, ...]
    """The managers of its managedFields entries, sorted, each once."""
    labels: Mapping[str, str]
    """Its labels whose values are strings (a label selector only ever matches those)."""
    annotations: tuple[str, ...]
    """The names of its annotations, sorted (a reader that needs a value reads the object)."""


def owner_uids(obj: Mapping[str, Any]) -> frozenset[str]:
    """The uids named by ``obj``'s ownerReferences."""
    md = obj.get("metadata")
    refs = md.get("ownerReferences") if isinstance(md, Mapping) else None
    if not isinstance(refs, list | tuple):  # a tuple is stored as the list it encodes to
        return frozenset()
    return frozenset(r["uid"] for r in refs if isinstance(r, Mapping) and isinstance(r.get("uid"), str) and r["uid"])


def head_of(obj: Mapping[str, Any]) -> Head:
    """The head of ``obj`` (a stored object: resourceVersion stamped)."""
    md = obj.get("metadata")
    if not isinstance(md, Mapping):
        md = {}
    entries = md.get("managedFields")
    managers = (
        {entry["manager"] for entry in entries if isinstance(entry, Mapping) and isinstance(entry.get("manager"), str)}
        if isinstance(entries, list | tuple)
        else set()
    )
    labels, annotations = md.get("labels"), md.get("annotations")
    return Head(
        uid=sys.intern(str(md.get("uid") or "")),
        version=str(md.get("resourceVersion") or ""),
        deleting=bool(md.get("deletionTimestamp")),
        owners=tuple(sorted(owner_uids(obj))),
        managers=tuple(sorted(managers)),
        labels=(
            {name: value for name, value in labels.items() if isinstance(value, str)}
            if isinstance(labels, Mapping)
            else {}
        ),
        annotations=tuple(sorted(annotations)) if isinstance(annotations, Mapping) else (),
    )


def head_text(head: Head) -> str:
    """The head as the SQLite backend stores it: a compact JSON array of its fields."""
    return orjson.dumps(list(head), option=orjson.OPT_SORT_KEYS).decode()


def head_from_text(text: str | bytes) -> Head | None:
    """The head ``head_text`` wrote; None when ``text`` is not one (the store was changed behind choreo)."""
    try:
        uid, version, deleting, owners, managers, labels, annotations = orjson.loads(text)
    except (orjson.JSONDecodeError, TypeError, ValueError):
        return None
    if not (
        isinstance(uid, str)
        and isinstance(version, str)
        and isinstance(deleting, bool)
        and _strings(owners)
        and _strings(managers)
        and isinstance(labels, dict)
        and all(isinstance(value, str) for value in labels.values())
        and _strings(annotations)
    ):
        return None
    owners = tuple(map(sys.intern, owners))
    return Head(sys.intern(uid), version, deleting, owners, tuple(managers), labels, tuple(annotations))


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def labels_match(labels: Mapping[str, str], wanted: Mapping[str, str] | None) -> bool:
    """True when ``labels`` (a head's) carry every label in ``wanted`` with exactly that value."""
    return not wanted or all(labels.get(name) == value for name, value in wanted.items())
