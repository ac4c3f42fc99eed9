"""The routing information base of one IP index: every stored prefix, address and range block as a tree.

All stored values are CIDR blocks, so they nest or are disjoint and form a tree (per address family,
under a virtual root covering the whole space). Each route keeps its direct children in address order
and the free space left between them (``FreeSpace``), so finding the parent of a prefix walks at most
``width`` exact-match lookups, best-fit inside a parent is a handful of dictionary and list operations,
and inserting a prefix between a parent and its children moves only those children.
Iteration is the reference's RIB order: IPv4 before IPv6, ascending address, a parent before its children.
The children are also kept by prefix length, so a search for the parents a prefix of length n can be
taken from (``walk_shorter``) visits only the routes shorter than n: not the thousands of /31s or /32s
already handed out of a pool, which would make every dynamic claim cost as much as all before it.
For the same reason the prefixes and range blocks are kept by their user labels (``labelled``): a claim
whose selector names a user label looks only at the routes that carry it, not at every value of the
pools that come before its own in RIB order.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ipam import labels as lk
from ipam.blocks import FreeSpace, last
from ipam.ipaddr import FAMILY_NAME, WIDTH, Prefix, subnet_name
from ipam.sortedlist import SortedList


@dataclass(eq=False)
class Route:
    """One stored value and who owns it."""

    prefix: Prefix  # masked for prefixes and range blocks; full length for addresses
    owner: str = ""
    uid: str = ""
    kind: str = ""
    claim_type: str = ""
    summary: str = "prefix"  # prefix | address | range
    prefix_type: str = "regular"  # regular | network
    subnet: str = ""
    gateway: bool = False
    index_entry: bool = False
    user: dict[str, str] = field(default_factory=dict)  # the labels stored: inherited ones, then ``own``
    own: dict[str, str] = field(default_factory=dict)  # the owner claim's own labels
    parent: Route | None = field(default=None, repr=False)
    free: FreeSpace | None = field(default=None, repr=False)
    _starts: SortedList | None = field(default=None, repr=False)
    _children: dict[int, Route] | None = field(default=None, repr=False)
    _lengths: dict[int, SortedList] | None = field(default=None, repr=False)  # prefix length -> child starts

    @property
    def key(self) -> tuple[int, int, int]:
        return self.prefix.family, self.prefix.address, self.prefix.plen

    @property
    def is_root(self) -> bool:
        return not self.owner and self.prefix.plen == 0 and self.parent is None

    def labels(self) -> dict[str, str]:
        """User labels plus the system labels, as stored with the value."""
        out = dict(self.user)
        out.update({
            lk.CLAIM_NAME: self.owner,
            lk.CLAIM_UID: self.uid,
            lk.OWNER_KIND: self.kind,
            lk.CLAIM_TYPE: self.claim_type,
            lk.INDEX_ENTRY: "true" if self.index_entry else "false",
            lk.PREFIX_TYPE: self.prefix_type,
            lk.SUMMARY_TYPE: self.summary,
            lk.ADDRESS_FAMILY: FAMILY_NAME[self.prefix.family],
            lk.SUBNET: self.subnet or subnet_name(self.prefix),
        })
        if self.gateway:
            out[lk.DEFAULT_GATEWAY] = "true"
        return out

    def children(self) -> Iterator[Route]:
        if self._starts is None or self._children is None:
            return
        for start in list(self._starts):
            yield self._children[start]

    def children_shorter(self, plen: int) -> Iterator[Route]:
        """The direct children whose prefix length is below ``plen``, in address order."""
        if self._lengths is None or self._children is None:
            return
        groups = [starts for length, starts in self._lengths.items() if length < plen]
        ordered = groups[0] if len(groups) == 1 else heapq.merge(*groups)
        for start in list(ordered):
            yield self._children[start]

    def _adopt(self, child: Route) -> None:
        if self._starts is None or self._children is None or self._lengths is None:
            self._starts, self._children, self._lengths = SortedList(), {}, {}
        start, plen = child.prefix.address, child.prefix.plen
        self._starts.add(start)
        self._children[start] = child
        self._lengths.setdefault(plen, SortedList()).add(start)
        child.parent = self

    def _drop(self, child: Route) -> None:
        assert self._starts is not None and self._children is not None and self._lengths is not None
        start, plen = child.prefix.address, child.prefix.plen
        self._starts.remove(start)
        del self._children[start]
        starts = self._lengths[plen]
        starts.remove(start)
        if not starts:
            del self._lengths[plen]

    def children_in(self, prefix: Prefix) -> list[Route]:
        """The direct children that lie inside ``prefix``, in address order."""
        if self._starts is None or self._children is None:
            return []
        end = last(prefix.address, prefix.plen, prefix.width)
        return [self._children[s] for s in list(self._starts.irange(prefix.address, end))]


class RIB:
    def __init__(self) -> None:
        self.roots = {f: Route(Prefix(f, 0, 0), free=FreeSpace(WIDTH[f], (0, 0))) for f in (4, 6)}
        self.routes: dict[tuple[int, int, int], Route] = {}
        # (user label, value) -> keys of the prefixes and range blocks carrying it (addresses hold nothing)
        self._labelled: dict[tuple[str, str], set[tuple[int, int, int]]] = {}

    def get(self, prefix: Prefix) -> Route | None:
        return self.routes.get((prefix.family, prefix.network, prefix.plen))

    def parent_of(self, prefix: Prefix, ignore: Callable[[Route], bool] | None = None) -> Route:
        """The most specific route strictly containing ``prefix`` (the family root when there is none)."""
        width = prefix.width
        routes = self.routes
        for plen in range(prefix.plen - 1, -1, -1):
            route = routes.get((prefix.family, prefix.address & ~((1 << (width - plen)) - 1), plen))
            if route is not None and (ignore is None or not ignore(route)):
                return route
        return self.roots[prefix.family]

    def insert(self, route: Route) -> None:
        """Store ``route`` (its key must be new) under its most specific parent."""
        parent = self.parent_of(route.prefix)
        block = (route.prefix.address, route.prefix.plen)
        assert parent.free is not None
        covered = parent.free.take(block)
        if not route.prefix.full:
            route.free = FreeSpace(route.prefix.width, block, covered)
        if covered != [block]:
            for child in parent.children_in(route.prefix):
                parent._drop(child)
                route._adopt(child)
        parent._adopt(route)
        self.routes[route.key] = route
        self._label(route)

    def delete(self, route: Route) -> list[Route]:
        """Remove ``route`` and every route under it; returns them, parent first."""
        removed = list(self.subtree(route))
        parent = route.parent
        assert parent is not None and parent.free is not None
        parent._drop(route)
        parent.free.give((route.prefix.address, route.prefix.plen))
        for item in removed:
            del self.routes[item.key]
            self._unlabel(item)
            item.parent = None
        return removed

    def restate(self, route: Route, values: dict[str, object]) -> None:
        """Give the stored ``route`` new values (owner, labels, summary, ...) for its attributes."""
        self._unlabel(route)
        for attr, value in values.items():
            setattr(route, attr, value)
        self._label(route)

    def labelled(self, label: str, value: str) -> list[Route]:
        """The prefixes and range blocks whose user labels have ``label: value``, in RIB order (which is the
        order of their keys: family, then address, a parent before the longer routes under it)."""
        return [self.routes[key] for key in sorted(self._labelled.get((label, value), ()))]

    def _label(self, route: Route) -> None:
        if route.summary != "address":
            for pair in route.user.items():
                self._labelled.setdefault(pair, set()).add(route.key)

    def _unlabel(self, route: Route) -> None:
        if route.summary != "address":
            for pair in route.user.items():
                keys = self._labelled[pair]
                keys.discard(route.key)
                if not keys:
                    del self._labelled[pair]

    def subtree(self, route: Route) -> Iterator[Route]:
        """``route`` and its descendants in RIB order."""
        stack = [route]
        while stack:
            item = stack.pop()
            yield item
            stack.extend(reversed(list(item.children())))

    def walk(self, prune: Callable[[Route], bool] | None = None) -> Iterator[Route]:
        """Every route in RIB order; ``prune(route)`` True skips the route's descendants."""
        for family in (4, 6):
            stack = list(reversed(list(self.roots[family].children())))
            while stack:
                item = stack.pop()
                yield item
                if prune is None or not prune(item):
                    stack.extend(reversed(list(item.children())))

    def walk_shorter(self, plen: int) -> Iterator[Route]:
        """The routes whose prefix length is below ``plen``, in RIB order (those of ``walk`` that can hold a
        prefix of length ``plen``; the routes under a longer one are longer still)."""
        for family in (4, 6):
            stack = list(reversed(list(self.roots[family].children_shorter(plen))))
            while stack:
                item = stack.pop()
                yield item
                stack.extend(reversed(list(item.children_shorter(plen))))
