"""A dict from keys to small sets of values, holding a lone value as itself: indexes that stay small.

Why it exists: the indexes a run keeps for every object (the object cache's owner index, the reconcile
memo's observation index) map each key to a set of values, and almost every such set has one member.
An empty set costs 216 bytes, several times the key and value it indexes: at the end of an N=1000 first
run these sets were 15 MiB of the reconcile memo's 22 MiB. Here a key maps to its value until a second
value joins it; only then is a set made.

Values must be hashable and never themselves sets.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V", bound=Hashable)


class SetMap(Generic[K, V]):
    """Keys to sets of values; a key without values is absent."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[K, V | set[V]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, key: K, value: V) -> None:
        held = self._entries.get(key)
        if held is None:
            self._entries[key] = value
        elif type(held) is set:
            held.add(value)
        elif held != value:
            self._entries[key] = {held, value}  # type: ignore[arg-type]  # held is a lone value here

    def add_all(self, key: K, values: Iterable[V]) -> None:
        for value in values:
            self.add(key, value)

    def get(self, key: K) -> Collection[V]:
        """The values of ``key`` (empty when it has none); a set returned must not be changed."""
        return _members(self._entries.get(key))

    def pop(self, key: K) -> Collection[V]:
        """The values of ``key`` (empty when it has none), which it no longer has."""
        return _members(self._entries.pop(key, None))

    def discard(self, key: K, value: V) -> None:
        """``key`` no longer has ``value`` (if it had it)."""
        held = self._entries.get(key)
        if type(held) is set:
            held.discard(value)
            if len(held) == 1:
                self._entries[key] = next(iter(held))
            elif not held:
                del self._entries[key]
        elif held is not None and held == value:
            del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()


def _members(held: V | set[V] | None) -> Collection[V]:
    if held is None:
        return ()
    if type(held) is set:
        return held
    return (held,)  # type: ignore[return-value]  # a lone value
