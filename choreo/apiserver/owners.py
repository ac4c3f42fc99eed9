"""An index from owner uid to the objects that name it in their ownerReferences.

Children lookups (stale-child deletion after every reconcile, cascading deletes, garbage collection)
would otherwise scan every stored object each time. The index follows the store through its watch
events, so it stays right whoever writes, and it rebuilds itself from a full scan when it cannot
follow (first use, a rolled-back transaction, compacted history).
"""

from __future__ import annotations

from typing import Any

from choreo.api.objects import ObjectKey, key_of
from choreo.store.base import Backend, Gone


class OwnerIndex:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._dependents: dict[str, set[ObjectKey]] = {}
        self._owners_of: dict[ObjectKey, set[str]] = {}
        self._position: tuple[int, int] | None = None  # (revision, rollbacks) the index reflects

    def dependents(self, uid: str) -> list[ObjectKey]:
        """Keys of the objects owned by ``uid``, sorted."""
        self._refresh()
        return sorted(self._dependents.get(uid, ()))

    def _refresh(self) -> None:
        position = (self._backend.current_revision(), self._backend.rollbacks)
        if position == self._position:
            return
        if self._position is None or position[1] != self._position[1] or position[0] < self._position[0]:
            self._rebuild()
        else:
            try:
                for event in self._backend.events_since(self._position[0]):
                    self._index(key_of(event.object), None if event.type == "DELETED" else event.object)
            except Gone:
                self._rebuild()
        self._position = position

    def _rebuild(self) -> None:
        self._dependents.clear()
        self._owners_of.clear()
        for group, kind in self._backend.kinds():
            for obj in self._backend.list(group, kind):
                self._index(key_of(obj), obj)

    def _index(self, key: ObjectKey, obj: dict[str, Any] | None) -> None:
        for uid in self._owners_of.pop(key, ()):
            keys = self._dependents.get(uid)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._dependents[uid]
        if obj is None:
            return
        uids = {r.get("uid") for r in (obj.get("metadata") or {}).get("ownerReferences") or [] if r.get("uid")}
        if uids:
            self._owners_of[key] = uids
            for uid in uids:
                self._dependents.setdefault(uid, set()).add(key)
