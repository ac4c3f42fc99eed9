"""The legacy IPAM model: prefix types aggregate, pool, network and other, and their nesting rules.

kuid's early IPAM (the copy embedded in the Go Choreo that produced the published example outputs) typed
prefixes differently from today's regular/network: an *aggregate* holds prefixes only and sits at the top;
*pool* and *network* prefixes sit in an aggregate and hold addresses and ranges (a network reserves its
first and last address, a pool reserves nothing); *other* (a claim without a type) may not nest at all.
Dynamic addresses come from pools, networks and ranges only, never straight from an aggregate.

An index follows this model when one of its prefixes names a legacy type (aggregate, pool or other).
There, an index prefix without a type is an aggregate (the old IPIndex default) and a claim without one
is *other*; ``regular`` is not a type of the model. Every other index follows today's model
(``ipam.ipindex``). The messages are the reference's where it has one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ipam.errors import AllocationError
from ipam.ipaddr import Prefix
from ipam.ipclaim import AGGREGATE, LEGACY_TYPES, NETWORK, OTHER, POOL, IPClaim
from ipam.iprib import Route

ADDRESS_PARENTS = (NETWORK, POOL)  # prefix types that hand out addresses (and hold ranges and addresses)


def is_legacy_index(prefixes: Iterable[Mapping[str, Any]]) -> bool:
    """Whether an index with these ``spec.prefixes`` follows the legacy model."""
    return any(item.get("prefixType") in LEGACY_TYPES for item in prefixes)


def claim_type(c: IPClaim) -> str:
    """The claim's type in the legacy model: as written, else aggregate (index prefix) or other."""
    return c.declared_type or (AGGREGATE if c.index_owned else OTHER)


def _kind(route: Route) -> str:
    """What a route is, as the nesting messages name it: its prefix type, or address / range."""
    return route.prefix_type if route.summary == "prefix" else route.summary


def check_prefix(c: IPClaim, subnet: Prefix, parent: Route, children: list[Route]) -> None:
    """Refuse a new static prefix that breaks the model; ``children`` are the routes it would hold."""
    kind = claim_type(c)
    if kind not in (AGGREGATE, POOL, NETWORK, OTHER):
        raise AllocationError(f"invalid prefixType: {kind}")
    if parent.is_root:
        if not c.index_owned:
            raise AllocationError("no parent found, only possible for routes owned by IPIndex")
    elif kind == OTHER:
        raise AllocationError(f"invalid prefixType: {OTHER}")
    elif kind == AGGREGATE:
        raise AllocationError(f"parent {parent.prefix}/{subnet} nesting {_kind(parent)}/{AGGREGATE} is not possible")
    elif parent.summary != "prefix":
        raise AllocationError(f"parent {parent.summary} not allowed in claim of type {kind}")
    elif parent.prefix_type in ADDRESS_PARENTS:
        raise AllocationError(f"parent {parent.prefix}/{subnet} nesting {parent.prefix_type}/{kind} is not possible")
    if not children:
        return
    if kind == OTHER:
        raise AllocationError(f"invalid claimType: {OTHER}")
    for child in children:  # an aggregate only ever sits at the top, over prefixes (addresses need a parent)
        if kind == AGGREGATE and child.prefix_type == AGGREGATE:
            raise AllocationError(f"nesting {AGGREGATE} is not possible")
        if kind != AGGREGATE and child.summary == "prefix":
            raise AllocationError(f"child with addressing prefix not allowed in claim of type {kind}")


def is_prefix_parent(c: IPClaim, route: Route) -> bool:
    """Whether a dynamic prefix of ``c``'s type may be cut from ``route`` (pools and networks from an
    aggregate or other prefix; aggregates and other prefixes cannot have a parent)."""
    return claim_type(c) in ADDRESS_PARENTS and route.summary == "prefix" and route.prefix_type not in ADDRESS_PARENTS


def is_address_parent(route: Route) -> bool:
    """Whether a dynamic address may come from ``route``: a pool, a network or a range."""
    return route.summary == "range" or (route.summary == "prefix" and route.prefix_type in ADDRESS_PARENTS)


def check_address_parent(parent: Route) -> None:
    """Refuse a /32 (/128) static address directly in an aggregate (network parents are refused as today)."""
    if parent.summary == "prefix" and parent.prefix_type == AGGREGATE:
        raise AllocationError(f"a /32 or /128 address is not possible with a parent of type {AGGREGATE}")


def check_range_parent(parent: Route) -> None:
    if parent.summary == "prefix" and parent.prefix_type == AGGREGATE:
        raise AllocationError(f"a range is not possible with a parent of type {AGGREGATE}")
