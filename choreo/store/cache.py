"""The decoded objects of a store, kept for the backend's life: the one read path of objects.

Why it exists: a run reads the same few thousand objects many times (the loader's clean-up and garbage
collection, reconcile digests, owner lookups, the inventory, the stage); decoding stored JSON on each
read cost more than anything else in a re-run. Here every object is decoded at most once until it
changes, and the lookups the engine makes often are indexed: by key, by kind (in store order, which a
namespace or label filter walks) and by owner uid.

What it holds: the objects of each kind that was touched, loaded whole on first touch (so absence is
known without asking the storage, and no negative entry is ever needed). A kind is loaded as heads only:
most readers of a whole kind (the loader's checks, the owner index, the reconcile memo) need nothing else,
and at N=10 000 the bodies they left unread were 112 MB of compressed text held for nothing. An entry is
``UNREAD`` (its body is still only in the storage: read when the object is, one query each, or all of a
kind at once when a walk is about to decode many), the stored form (text written by this process, or the
storage's form as read, and not decoded since) or the decoded dict, which replaces it on first read.
Beside each entry the cache keeps the object's head (``head.py``): what most readers need of every object
(uid, resourceVersion, owners, managers...) without decoding it. Entries are never mutated, only
replaced: a decoded dict is shared by every reader of ``BaseBackend.view`` / ``view_list`` (who must not
change it) and copied by ``get`` / ``list``.
The memory is the store's objects, decoded: about three times their text, as decoded objects share
their repeated strings and managedFields trees (``sharing.py``).

Transactions: each open transaction (``mark``) keeps, for every key it changed, the entry from before its
first change: an object written many times in a run costs one undo entry, not one per version (the
versions in between would otherwise all stay alive until the run ends). ``undo`` restores the entries
exactly at any nesting depth; ``release`` hands a committed nested transaction's entries to the enclosing
one (whose earlier entry for a key wins) and drops them when the outermost transaction commits.
``revision`` is the store revision the contents reflect, so a backend whose storage other processes
write can tell when to ``clear`` it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from choreo.api.objects import ObjectKey
from choreo.store.base import Stored
from choreo.store.head import Head, labels_match
from choreo.store.multimap import SetMap
from choreo.store.sharing import Sharing

Object = dict[str, Any]


class Unread:
    """The type of ``UNREAD``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNREAD"


UNREAD = Unread()
"""The entry of an object whose body was not read from the storage yet."""
Entry = Stored | Object | Unread
"""A cached object: ``UNREAD``, its stored form until first decoded, then the decoded dict."""
Name = tuple[str, str]  # namespace, name
Row = tuple[str, str, Head]  # namespace, name, head: what a kind is loaded from
BodyRow = tuple[str, str, Stored]  # namespace, name, stored form

FILL_OVER = 32
"""A walk of a kind that would read more bodies than this one at a time reads the kind's bodies at once."""


def _same(indexed: Collection[str], uids: Collection[str]) -> bool:
    return len(indexed) == len(uids) and all(uid in uids for uid in indexed)


class KindObjects:
    """The stored objects of one kind: entries by (namespace, name) and their names in store order.

    The order is settled when it is read, not kept up on every write: inserting each new name into a
    sorted list moves the names after it, which made writing a kind of n objects cost n² / 2 moves (58 000
    Configs at N=10 000). Names written since the last read are sorted and merged in one pass (Timsort
    merges the sorted list and the sorted newcomers in linear time); names removed are filtered out in
    the same pass. Writes are many and reads of a whole kind few, so each read costs about what walking
    the kind costs anyway."""

    __slots__ = ("_added", "_names", "_removed", "entries", "heads", "unread")

    def __init__(self, rows: Iterable[Row]) -> None:
        self.entries: dict[Name, Entry] = {}
        self.heads: dict[Name, Head] = {}
        for ns, name, head in rows:
            self.entries[(ns, name)] = UNREAD
            self.heads[(ns, name)] = head
        self.unread = len(self.entries)  # how many entries are UNREAD
        self._names: list[Name] = sorted(self.entries)
        self._added: set[Name] = set()  # names not in _names yet
        self._removed = False  # some names in _names are no longer entries

    @property
    def names(self) -> list[Name]:
        """Every name, sorted; the list must not be changed by the caller."""
        if self._removed:
            entries, added = self.entries, self._added
            self._names = [name for name in self._names if name in entries and name not in added]
            self._removed = False
        if self._added:
            self._names.extend(self._added)
            self._names.sort()
            self._added = set()
        return self._names

    def set(self, name: Name, entry: Entry, head: Head) -> None:
        before = self.entries.get(name)
        if before is None:
            self._added.add(name)
        elif before is UNREAD:
            self.unread -= 1
        if entry is UNREAD:
            self.unread += 1
        self.entries[name] = entry
        self.heads[name] = head

    def remove(self, name: Name) -> None:
        self.heads.pop(name, None)
        before = self.entries.pop(name, None)
        if before is not None:
            if before is UNREAD:
                self.unread -= 1
            if name in self._added:
                self._added.discard(name)
            else:
                self._removed = True

    def fill(self, bodies: Iterable[BodyRow]) -> None:
        """Give every ``UNREAD`` entry its body (``bodies``: the kind's, as stored)."""
        entries = self.entries
        for ns, name, body in bodies:
            if entries.get((ns, name)) is UNREAD:
                entries[(ns, name)] = body
                self.unread -= 1


SHARED_TREES = 2048
"""How many managedFields trees the cache's ``Sharing`` remembers before it starts afresh. The trees worth
sharing (a kind's field sets, an owner's references) recur within a few hundred objects; most remembered
trees are one object's own (they name its owner's uid), so a larger memo held more than it saved: on the
N=1000 fabric 65 536 (36 762 used) left the decoded objects and the memo at 61.2 MiB, 2048 at 58.6 MiB,
at the same cost."""

Undo = dict[ObjectKey, tuple[Entry, Head] | None]
"""A transaction's undo entries: each changed key's entry and head before its first change (None: no such
object)."""


class Mark(NamedTuple):
    """Where a transaction (or savepoint) began: how many transactions were open and the revision then."""

    depth: int
    revision: int | None


class ObjectCache:
    """See the module docstring. ``decode`` turns a stored form into its object (``what`` names it in
    errors), ``read_body`` reads one object's stored form from the storage (None: not stored), ``read_bodies``
    those of a whole kind; the owning backend's lock guards every call."""

    def __init__(
        self,
        decode: Callable[[Stored, ObjectKey], Object],
        read_body: Callable[[ObjectKey], Stored | None],
        read_bodies: Callable[[str, str], Iterable[BodyRow]],
    ) -> None:
        self._decode = decode
        self._read_body = read_body
        self._read_bodies = read_bodies
        self._sharing = Sharing(limit=SHARED_TREES)
        self._kinds: dict[tuple[str, str], KindObjects] = {}
        self._undo: list[Undo] = []  # one per open transaction, outermost first
        self._dependents: SetMap[str, ObjectKey] | None = None  # owner uid → keys; None: not built
        self._owners_of: SetMap[ObjectKey, str] = SetMap()
        self.revision: int | None = None

    def clear(self, revision: int | None) -> None:
        """Forget everything (the storage changed behind the cache, or cannot be trusted to match it)."""
        self._kinds.clear()
        self._undo.clear()
        self._dependents = None
        self._owners_of.clear()
        self._sharing.clear()
        self.revision = revision

    # --- reads ---

    def kind(self, group: str, kind: str) -> KindObjects | None:
        return self._kinds.get((group, kind))

    def add_kind(self, group: str, kind: str, rows: Iterable[Row]) -> KindObjects:
        """Cache a kind loaded whole from the storage."""
        loaded = self._kinds[(group, kind)] = KindObjects(rows)
        if self._dependents is not None:
            for name, head in loaded.heads.items():
                if head.owners:
                    self._add_owners(ObjectKey(group, kind, *name), head.owners)
        return loaded

    def shared(self, objects: KindObjects, key: ObjectKey) -> Object | None:
        """The decoded object of ``key`` (in ``objects``, its kind), read and decoded now if it was not yet."""
        name = (key.namespace, key.name)
        entry = objects.entries.get(name)
        if entry is None or isinstance(entry, dict):
            return entry
        decoded = self._decoded(key, entry)
        if decoded is None:
            return None
        if entry is UNREAD:
            objects.unread -= 1
        shared: Object = self._sharing.share(decoded)
        objects.entries[name] = shared
        return shared

    def unkept(self, objects: KindObjects, key: ObjectKey) -> Object | None:
        """``shared`` for the object's last reader: one not decoded yet is decoded for it alone (its entry
        stays as it was)."""
        entry = objects.entries.get((key.namespace, key.name))
        if entry is None or isinstance(entry, dict):
            return entry
        return self._decoded(key, entry)

    def _decoded(self, key: ObjectKey, entry: Stored | Unread) -> Object | None:
        """The object of an entry not decoded yet, its body read first when ``UNREAD`` (None: another process
        removed it since its head was read; the next read's check starts afresh)."""
        stored = self._read_body(key) if isinstance(entry, Unread) else entry
        return None if stored is None else self._decode(stored, key)

    def objects_of(
        self,
        group: str,
        kind: str,
        objects: KindObjects,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> Iterator[Object]:
        """The decoded objects of a kind (of one namespace unless ``namespace`` is None; carrying every label
        of ``labels`` with that value), in store order. Only the objects that pass are read and decoded."""
        heads = objects.heads
        names = [
            (ns, name)
            for ns, name in objects.names
            if (namespace is None or ns == namespace) and (not labels or labels_match(heads[ns, name].labels, labels))
        ]
        if objects.unread > FILL_OVER and sum(objects.entries[n] is UNREAD for n in names) > FILL_OVER:
            objects.fill(self._read_bodies(group, kind))
        for ns, name in names:
            found = self.shared(objects, ObjectKey(group, kind, ns, name))
            if found is not None:  # None: removed by another process since its head was read
                yield found

    # --- writes (the kind is loaded: a write always reads first) ---

    def put(self, key: ObjectKey, stored: tuple[Entry, Head] | None) -> None:
        """Set the entry and head of ``key`` (``None``: remove the object)."""
        objects = self._kinds[(key.group, key.kind)]
        if self._undo and key not in self._undo[-1]:
            self._undo[-1][key] = self._stored(objects, (key.namespace, key.name))
        self._set(objects, key, stored)

    def packed(self, key: ObjectKey, text: str, stored: Stored) -> None:
        """The storage has ``text``, written by this process, in its form ``stored``: an entry still holding
        that very text (not read since, not written again, not undone) holds ``stored`` instead. The packed
        form is about a third of the text, and at N=1000 the texts of objects written and not read since
        were 11 MB; reading one now also unpacks it, some microseconds."""
        objects = self._kinds.get((key.group, key.kind))
        name = (key.namespace, key.name)
        if objects is not None and stored is not text and objects.entries.get(name) is text:
            objects.entries[name] = stored

    @staticmethod
    def _stored(objects: KindObjects, name: Name) -> tuple[Entry, Head] | None:
        entry = objects.entries.get(name)
        return None if entry is None else (entry, objects.heads[name])

    def _set(self, objects: KindObjects, key: ObjectKey, stored: tuple[Entry, Head] | None) -> None:
        name = (key.namespace, key.name)
        if stored is None:
            objects.remove(name)
        else:
            objects.set(name, *stored)
        if self._dependents is not None:
            owners = () if stored is None else stored[1].owners
            if not _same(self._owners_of.get(key), owners):
                self._unindex(key)
                if owners:
                    self._add_owners(key, owners)

    # --- transactions ---

    def mark(self) -> Mark:
        """A transaction begins (nested in the open ones, if any)."""
        self._undo.append({})
        return Mark(len(self._undo) - 1, self.revision)

    def head_at_start(self, objects: KindObjects, key: ObjectKey) -> Head | None:
        """The head of ``key`` (in ``objects``, its kind) when the outermost open transaction began: the
        outermost transaction that changed it kept the entry from before (``release`` keeps the earliest)."""
        for changed in self._undo:
            if key in changed:
                before = changed[key]
                return None if before is None else before[1]
        return objects.heads.get((key.namespace, key.name))

    def undo(self, mark: Mark) -> None:
        """The transaction of ``mark`` failed: restore exactly what was cached when it began. Each undo entry
        is a different key, so the order within a transaction does not matter; the outer ones come last."""
        while len(self._undo) > mark.depth:
            for key, before in self._undo.pop().items():
                objects = self._kinds.get((key.group, key.kind))
                if objects is not None:
                    self._set(objects, key, before)
        self.revision = mark.revision

    def release(self, mark: Mark) -> None:
        """The transaction of ``mark`` committed: its changes become the enclosing transaction's (the
        outermost one's can no longer be undone)."""
        if len(self._undo) <= mark.depth:
            return  # cleared meanwhile
        done = self._undo[mark.depth]
        del self._undo[mark.depth :]
        if self._undo:
            enclosing = self._undo[-1]
            for key, before in done.items():
                enclosing.setdefault(key, before)

    # --- owners ---

    @property
    def owners_indexed(self) -> bool:
        return self._dependents is not None

    def index_owners(self, kinds: Iterable[tuple[str, str, KindObjects]]) -> None:
        """Build the owner index from every stored object's head (``kinds``: every stored kind, loaded);
        the cache keeps it current from then on."""
        self._dependents = SetMap()
        self._owners_of.clear()
        for group, kind, objects in kinds:
            for name, head in objects.heads.items():
                if head.owners:
                    self._add_owners(ObjectKey(group, kind, *name), head.owners)

    def dependents(self, uid: str) -> list[ObjectKey]:
        """Keys of the objects whose ownerReferences name ``uid``, sorted (the index must be built)."""
        assert self._dependents is not None
        return sorted(self._dependents.get(uid))

    def _add_owners(self, key: ObjectKey, uids: Iterable[str]) -> None:
        assert self._dependents is not None
        self._owners_of.add_all(key, uids)
        for uid in uids:
            self._dependents.add(uid, key)

    def _unindex(self, key: ObjectKey) -> None:
        assert self._dependents is not None
        for uid in self._owners_of.pop(key):
            self._dependents.discard(uid, key)
