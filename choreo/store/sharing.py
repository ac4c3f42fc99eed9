"""Decoded objects share their repeated parts: what keeps the object cache about half as large.

Why it exists: the object cache (``cache.py``) keeps every object a run touches decoded, and most of a
decoded object repeats what other objects hold: the managedFields trees (``{"f:spec": {"f:mtu": {}, …}}``
is the same for every object of a kind and manager but for an owner's uid), and strings — API versions,
managers, timestamps, owners' uids, node and port names. Decoded one by one, each object has its own
copies. Here equal strings become one string (``sys.intern``: the interpreter drops it when nothing uses
it any more) and equal ``fieldsV1`` subtrees one dict. On the N=1000 fabric the decoded objects take 59
instead of 113 MiB (strings alone: 76), at about a third of the decoding's cost.

Why it is safe: the cache's objects are never changed in place (readers of ``view`` must not, ``get`` and
``list`` copy them), so no reader can tell a shared part from an own one. Only ``fieldsV1`` values are
shared as dicts: they are trees of dicts and nothing else, and a tree is one of the remembered ones only
when each child is (the memo is keyed by the identity of the children, which it keeps alive).
"""

from __future__ import annotations

import sys
from typing import Any

_MANAGED_TREE = "fieldsV1"
_LEAF: dict[str, Any] = {}


class Sharing:
    """Makes decoded objects share parts with the objects decoded before them (see the module docstring).
    ``limit`` bounds the remembered ``fieldsV1`` subtrees; when it is reached they are forgotten (the
    objects that share them keep them)."""

    def __init__(self, limit: int = 1 << 16) -> None:
        self._trees: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._limit = limit

    def share(self, value: Any) -> Any:
        """``value`` (a decoded JSON value) with its strings interned and its ``fieldsV1`` trees shared;
        dicts and lists are changed in place."""
        kind = type(value)
        if kind is str:
            return sys.intern(value)
        if kind is dict:
            for key, member in value.items():  # replacing the values of existing keys while iterating is allowed
                member_kind = type(member)
                if member_kind is str:
                    value[key] = sys.intern(member)
                elif member_kind is dict:
                    value[key] = self.tree(member) if key == _MANAGED_TREE and member else self.share(member)
                elif member_kind is list:
                    self.share(member)
        elif kind is list:
            for index, member in enumerate(value):
                member_kind = type(member)
                if member_kind is str:
                    value[index] = sys.intern(member)
                elif member_kind is dict or member_kind is list:
                    self.share(member)
        return value

    def tree(self, tree: dict[str, Any]) -> dict[str, Any]:
        """The remembered tree equal to ``tree`` (a ``fieldsV1`` tree: dicts of dicts), or ``tree`` made one
        (its subtrees replaced by remembered ones in place). Whoever holds the result must not change it."""
        if any(type(child) is not dict for child in tree.values()):
            own: dict[str, Any] = self.share(tree)  # not a fieldsV1 tree after all: an object of its own
            return own
        shape: list[Any] = []
        for key, child in tree.items():
            shared_child = self.tree(child) if child else _LEAF
            tree[key] = shared_child
            shape.append(key)
            shape.append(id(shared_child))
        identity = tuple(shape)
        found = self._trees.get(identity)
        if found is None:
            if len(self._trees) >= self._limit:
                self._trees.clear()
            found = self._trees[identity] = tree
        return found

    def clear(self) -> None:
        self._trees.clear()
