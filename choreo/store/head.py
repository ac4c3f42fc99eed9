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
from collections.abc import Iterable, Mapping, Sequence
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
    owner: tuple[Any, Any, Any] | None
    """The owner a chain of owners follows from it (its controller, else its first owner): that reference's
    apiVersion, kind and name (each None when the reference lacks it); None when it has no owner."""
    managers: tuple[str, ...]
    """The managers of its managedFields entries, in their order, each once."""
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
        dict.fromkeys(e["manager"] for e in entries if isinstance(e, Mapping) and isinstance(e.get("manager"), str))
        if isinstance(entries, list | tuple)
        else {}
    )
    labels, annotations = md.get("labels"), md.get("annotations")
    if not isinstance(labels, Mapping):
        labels = {}
    return _head(
        str(md.get("uid") or ""),
        str(md.get("resourceVersion") or ""),
        bool(md.get("deletionTimestamp")),
        sorted(owner_uids(obj)),
        _chain_owner(md.get("ownerReferences")),
        managers,
        {name: value for name, value in labels.items() if isinstance(value, str)},
        sorted(name for name in annotations if isinstance(name, str)) if isinstance(annotations, Mapping) else (),
    )


_NO_LABELS: dict[str, str] = {}


def _head(
    uid: str,
    version: str,
    deleting: bool,
    owners: Iterable[str],
    owner: Sequence[Any] | None,
    managers: Iterable[str],
    labels: Mapping[str, str],
    annotations: Iterable[str],
) -> Head:
    """A head whose strings are interned: a head outlives the object it was taken of (the cache keeps the
    object's text), and its strings — uids, managers, label names and values, owner kinds — are the same
    in thousands of heads. Without it the heads of a first run at N=1000 took about 25 MiB."""
    intern = sys.intern
    return Head(
        intern(uid),
        version,
        deleting,
        tuple(map(intern, owners)),
        None if owner is None else (_interned(owner[0]), _interned(owner[1]), _interned(owner[2])),
        tuple(map(intern, managers)),
        {intern(name): intern(value) for name, value in labels.items()} if labels else _NO_LABELS,
        tuple(map(intern, annotations)),
    )


def _interned(value: Any) -> Any:
    return sys.intern(value) if type(value) is str else value


def _chain_owner(refs: object) -> tuple[Any, Any, Any] | None:
    if not isinstance(refs, list | tuple):
        return None
    refs = [ref for ref in refs if isinstance(ref, Mapping)]
    owner = next((ref for ref in refs if ref.get("controller")), refs[0] if refs else None)
    return None if owner is None else (owner.get("apiVersion"), owner.get("kind"), owner.get("name"))


def head_text(head: Head) -> str:
    """The head as the SQLite backend stores it: a compact JSON array of its fields."""
    return orjson.dumps(list(head), option=orjson.OPT_SORT_KEYS).decode()


def head_from_text(text: str | bytes) -> Head | None:
    """The head ``head_text`` wrote; None when ``text`` is not one (the store was changed behind choreo).
    Checked as far as a reader could stumble (the fields' types), no further: a kind's heads are all read
    when it is first touched, and this runs for each."""
    try:
        fields = orjson.loads(text)
    except (orjson.JSONDecodeError, TypeError):
        return None
    if type(fields) is not list or len(fields) != len(Head._fields):
        return None
    uid, version, deleting, owners, owner, managers, labels, annotations = fields
    if not (
        type(uid) is str
        and type(version) is str
        and type(deleting) is bool
        and type(owners) is list
        and (owner is None or (type(owner) is list and len(owner) == 3))
        and type(managers) is list
        and type(labels) is dict
        and type(annotations) is list
    ):
        return None
    try:
        return _head(uid, version, deleting, owners, owner, managers, labels, annotations)
    except TypeError:  # a list or label value that is not a string
        return None


def labels_match(labels: Mapping[str, str], wanted: Mapping[str, str] | None) -> bool:
    """True when ``labels`` (a head's) carry every label in ``wanted`` with exactly that value."""
    return not wanted or all(labels.get(name) == value for name, value in wanted.items())
