"""The decoded objects of a store, kept for the backend's life: the one read path of objects.

Why it exists: a run reads the same few thousand objects many times (the loader's clean-up and garbage
collection, reconcile digests, owner lookups, the inventory, the stage); decoding stored JSON on each
read cost more than anything else in a re-run. Here every object is decoded at most once until it
changes, and the lookups the engine makes often are indexed: by key, by kind (in store order, which a
namespace or label filter walks) and by owner uid.

What it holds: the objects of each kind that was touched, loaded whole on first touch (so absence is
known without asking the storage, and no negative entry is ever needed). An entry is either the stored
form (text written by this process, or the storage's form as loaded, and not read since) or the decoded
dict, which replaces it on first read. Beside each entry the cache keeps the object's head (``head.py``):
what most readers need of every object (uid, resourceVersion, owners, managers...) without decoding it.
Entries are never mutated, only replaced: a decoded dict is shared by every reader
of ``BaseBackend.view`` / ``view_list`` (who must not change it) and copied by ``get`` / ``list``.
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
Entry = Stored | Object
"""A cached object: its stored form until first read, then the decoded dict."""
Name = tuple[str, str]  # namespace, name
Row = tuple[str, str, Stored, Head]  # namespace, name, stored form, head


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

    __slots__ = ("_added", "_names", "_removed", "entries", "heads")

    def __init__(self, rows: Iterable[Row]) -> None:
        self.entries: dict[Name, Entry] = {}
        self.heads: dict[Name, Head] = {}
        for ns, name, body, head in rows:
            self.entries[(ns, name)] = body
            self.heads[(ns, name)] = head
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
        if name not in self.entries:
            self._added.add(name)
        self.entries[name] = entry
        self.heads[name] = head

    def remove(self, name: Name) -> None:
        self.heads.pop(name, None)
        if self.entries.pop(name, None) is not None:
            if name in self._added:
                self._added.discard(name)
            else:
                self._removed = True


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
    errors); the owning backend's lock guards every call."""

    def __init__(self, decode: Callable[[Stored, ObjectKey], Object]) -> None:
        self._decode = decode
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
        """The decoded object of ``key`` (in ``objects``, its kind), decoded now if it was not yet."""
        name = (key.namespace, key.name)
        entry = objects.entries.get(name)
        if entry is None or isinstance(entry, dict):
            return entry
        decoded: Object = self._sharing.share(self._decode(entry, key))
        objects.entries[name] = decoded
        return decoded

    def objects_of(
        self,
        group: str,
        kind: str,
        objects: KindObjects,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> Iterator[Object]:
        """The decoded objects of a kind (of one namespace unless ``namespace`` is None; carrying every label
        of ``labels`` with that value), in store order. Only the objects that pass are decoded."""
        heads = objects.heads
        for ns, name in objects.names:
            if namespace is not None and ns != namespace:
                continue
            if labels and not labels_match(heads[ns, name].labels, labels):
                continue
            found = self.shared(objects, ObjectKey(group, kind, ns, name))
            assert found is not None
            yield found

    # --- writes (the kind is loaded: a write always reads first) ---

    def put(self, key: ObjectKey, stored: tuple[Entry, Head] | None) -> None:
        """Set the entry and head of ``key`` (``None``: remove the object)."""
        objects = self._kinds[(key.group, key.kind)]
        if self._undo and key not in self._undo[-1]:
            self._undo[-1][key] = self._stored(objects, (key.namespace, key.name))
        self._set(objects, key, stored)

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
