"""The IP engine of one index: static and dynamic prefixes, addresses and ranges, IPv4 and IPv6.

Behaviour follows the reference (kuid ``pkg/backend/ipam``) rule by rule, with its quirks fixed:
- a dynamic claim keeps the value it holds whatever its selector picks now, also in an index rebuilt
  from the store (``restore`` takes the stored value back first), but a prefix only at the length it asks
  for and an address only where the model lets its parent hand it out; it reuses a previous value it no
  longer holds (``status``) only when it lies inside a parent its selector picks and is free (Q5, Q10);
  dynamic prefixes obey the nesting rules (Q7);
- a static address equal to a /32 block of a range is a range address (Q8); nothing is ever silently
  shared (Q14): not by a dynamic prefix reclaimed through a stale status, nor by the network, broadcast
  and gateway addresses of a network prefix, nor by a range inside another range's block (kuid takes it,
  and the two range tables hand out the same addresses);
- a claim written again skips the rules (the "exists" shortcut, §2.6 step 1) only when it stores what it
  stored before; a claim that changed type or expansion is checked as a new claim is, and an address or
  a range against the index without what the claim lets go;
- the claim's own labels win over the labels an address inherits from its parent (Q12);
- releasing a parent removes what lies under it and reports the claims that lost values, so the caller
  can re-evaluate them instead of leaving them Ready with a stale value (Q9); so are the claims of the
  addresses right under a prefix inserted over them or retyped, and those of a subnet whose gateway
  changed (their ``defaultGateway``). A change of a prefix's labels keeps the values
  under it, and the addresses in it (or in a range's table) that inherit the prefix's labels take the new
  ones at once, as do the addresses a new prefix is inserted over.
An index built with ``legacy=True`` applies the legacy model's types and rules (``ipam.legacy``) instead
of regular/network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from ipam import ipclaim as ct
from ipam import labels as lk
from ipam import legacy
from ipam.allocation import Allocation, ChangeLog, Outcome, ValueKey, work_out
from ipam.blocks import cover
from ipam.errors import AllocationError
from ipam.ipaddr import FAMILY_NAME, WIDTH, Prefix, ip_text, parse_prefix, subnet_name
from ipam.ipclaim import IPClaim
from ipam.iprib import RIB, Route
from ipam.labels import check_owner, go_map, matches
from ipam.table import Holder, RangeTable, RangeTables

NEEDS_PARENT = "a prefix range always needs a parent"
# what a route stores besides its prefix: a claim writing them again unchanged changes nothing
_ROUTE_VALUE = ("owner", "uid", "kind", "claim_type", "summary", "prefix_type", "subnet", "gateway", "index_entry",
                "user", "own")


class IPIndex:
    def __init__(self, name: str = "", *, legacy: bool = False) -> None:
        self.name = name
        self.legacy = legacy
        self.rib = RIB()
        self.changes = ChangeLog()
        self._owned: dict[str, dict[tuple[int, int, int], Route]] = {}
        self._ranges = RangeTables(self.changes)  # range claim tables, and the addresses claims hold in them
        self._gateways: dict[str, dict[tuple[int, int, int], Route]] = {}  # subnet name -> its gateway routes

    # ================================================================ public API

    def claim(self, claim: IPClaim) -> Outcome:
        """Allocate (or re-confirm) what ``claim`` asks for; raises ``AllocationError``."""
        handler = {
            ct.STATIC_PREFIX: self._static_prefix,
            ct.STATIC_ADDRESS: self._static_address,
            ct.STATIC_RANGE: self._static_range,
            ct.DYNAMIC_PREFIX: self._dynamic_prefix,
            ct.DYNAMIC_ADDRESS: self._dynamic_address,
        }[claim.claim_type]
        return work_out(claim.name, lambda dependents: handler(claim, dependents))

    def restore(self, claim: IPClaim) -> Outcome:
        """Apply a claim the store holds as Ready to an index being rebuilt from the store (a new process, a
        restart, another IP model). Live, a dynamic claim keeps the value it holds whatever its selector picks
        now; so it first takes back the value its status names as the value it holds, when that is free in a
        parent the model lets it come from (selected or not: ``held``), and then meets the rule a live claim
        meets (``_kept_prefix``, ``_kept_address``)."""
        if claim.claim_type == ct.DYNAMIC_PREFIX:
            prefix = self._reclaim_prefix(claim, self._status_prefix(claim, "prefix"), held=True)
            if prefix is not None:
                self._set_routes(claim, self._prefix_routes(claim, prefix), set())
        elif claim.claim_type == ct.DYNAMIC_ADDRESS:
            address = self._reclaim_address(claim, self._status_prefix(claim, "address"), held=True)
            if address is not None:
                self._place_address(claim, *address, set(), gateway=False)
        return self.claim(claim)

    def release(self, name: str) -> list[str]:
        """Remove everything ``name`` holds; returns the other claims that lost values with it."""
        dependents: set[str] = set()
        self._drop_routes(name, set(), dependents)
        self._ranges.drop_held(name)
        self._ranges.drop(name, dependents)
        dependents.discard(name)
        return sorted(dependents)

    def owns(self, name: str) -> bool:
        return bool(self._owned.get(name)) or name in self._ranges.held

    def allocations(self) -> Iterator[Allocation]:
        """Every stored value, main tree first (RIB order), then the range tables by name."""
        for route in self.rib.walk():
            yield self._route_allocation(route)
        for table_name in self._ranges.names():
            table = self._ranges[table_name]
            for value, holder in table.items():
                yield self._table_allocation(table_name, table.family, value, holder)

    def allocation(self, key: ValueKey) -> Allocation | None:
        table_name, family, value, plen = key
        if not table_name:
            route = self.rib.routes.get((family, value, plen))
            return None if route is None else self._route_allocation(route)
        holder = self._ranges.holder(key)
        return None if holder is None else self._table_allocation(table_name, family, value, holder)

    @staticmethod
    def entry_suffix(key: ValueKey) -> str:
        """The name part of a value's entry: ``<subnet>`` or ``<range claim>.<subnet>``."""
        table_name, family, value, plen = key
        name = subnet_name(Prefix(family, value, plen))
        return f"{table_name}.{name}" if table_name else name

    # ================================================================ static prefix

    def _static_prefix(self, c: IPClaim, dependents: set[str]) -> dict[str, object]:
        assert c.prefix is not None
        subnet = c.prefix.masked
        routes = self._prefix_routes(c, c.prefix)
        existing = self.rib.get(subnet)
        if existing is not None:
            check_owner(c.name, c.uid, existing.owner, existing.uid)
        if not self._stores_again(c, routes):
            self._check_prefix_rules(c, subnet)
            self._check_routes_free(c, routes)
        self._set_routes(c, routes, dependents)
        return self._prefix_status(c, c.text, subnet)

    def _stores_again(self, c: IPClaim, routes: list[Route]) -> bool:
        """Whether ``routes`` are the routes ``c`` holds now, of the same kind, type and flags (their labels
        aside). Only then is the earlier insertion trusted and the rules skipped (the reference's "exists"
        shortcut, §2.6 step 1): a claim whose type or expansion changed is checked as a new claim is."""
        owned = self._owned.get(c.name, {})
        if owned.keys() != {r.key for r in routes}:
            return False
        return all(_shape(owned[route.key]) == _shape(route) for route in routes)

    def _check_prefix_rules(self, c: IPClaim, subnet: Prefix) -> None:
        """The rules of a prefix's parent and children (§2.6 steps 2 and 3; the legacy model's in a legacy
        index). The children are the routes under ``subnet`` but ``c``'s own, when it holds ``subnet`` already
        (its network addresses, about to be made again or dropped)."""
        existing = self.rib.get(subnet)
        parent = self.rib.parent_of(subnet)
        if existing is None:
            children = parent.children_in(subnet)
        else:
            children = [r for r in existing.children() if r.owner != c.name]
        if self.legacy:
            legacy.check_prefix(c, subnet, parent, children)
            return
        self._check_prefix_nesting(c, subnet, parent)
        if c.network and any(r.summary == "prefix" for child in children for r in self.rib.subtree(child)):
            raise AllocationError("child with addressing prefix not allowed in claim of type network")

    def _check_routes_free(self, c: IPClaim, routes: list[Route]) -> None:
        """Refuse routes another claim holds (the owner rule): a stored route, or an address in another
        claim's range (the network addresses of a prefix over a range, which the range's table would hand
        out again). The reference lets a network prefix take them silently (``addRib`` ignores "already
        exists", Q14)."""
        for route in routes:
            holder = self.rib.routes.get(route.key)
            if holder is None and route.summary == "address":
                holder = self.rib.parent_of(route.prefix)
                if holder.summary != "range":
                    continue
            if holder is not None:
                check_owner(c.name, c.uid, holder.owner, holder.uid)

    def _check_prefix_nesting(self, c: IPClaim, subnet: Prefix, parent: Route) -> None:
        """The parent rules of today's model. No prefix lies in a range (kuid refuses only a network there):
        the range's table would hand its addresses out again, and an index rebuilt from the store could not
        place the range over it."""
        if parent.is_root:
            return
        if parent.summary in ("address", "range"):
            raise AllocationError(f"parent {parent.summary} not allowed in claim of type {c.prefix_type}")
        if not c.network:
            if parent.prefix_type == ct.NETWORK:
                raise AllocationError(f"parent {parent.prefix}/{subnet} nesting network/regular is not possible")
            return
        if parent.prefix_type == ct.NETWORK:
            raise AllocationError(f"parent {parent.prefix}/{subnet} nesting network/network is not possible")

    def _prefix_routes(self, c: IPClaim, prefix: Prefix) -> list[Route]:
        """The routes a prefix claim stores: the subnet, plus (network) first, last and gateway addresses."""
        subnet = prefix.masked
        name = subnet_name(subnet)
        routes = [self._new_route(c, subnet, "prefix", self._claim_type(c), subnet=name)]
        if not c.network or prefix.point_to_point or prefix.full:
            return routes
        gateway = c.default_gateway and prefix.address not in (prefix.network, prefix.broadcast)
        for address in dict.fromkeys((prefix.address, prefix.network, prefix.broadcast)):
            is_gateway = gateway and address == prefix.address
            routes.append(
                self._new_route(c, prefix.host(address), "address", ct.NETWORK, subnet=name, gateway=is_gateway)
            )
        return routes

    def _prefix_status(self, c: IPClaim, text: str, subnet: Prefix) -> dict[str, object]:
        status: dict[str, object] = {"prefix": text}
        if c.network:
            gateway = self._gateway(subnet_name(subnet))
            if gateway is not None:
                status["defaultGateway"] = ip_text(gateway.prefix.family, gateway.prefix.address)
        return status

    # ================================================================ static address

    def _static_address(self, c: IPClaim, dependents: set[str]) -> dict[str, object]:
        assert c.prefix is not None
        host = c.prefix.host()
        goes = self._goes_with(c)
        existing = self.rib.get(host)
        parent: Route | None = None
        if existing is not None and not goes(existing):
            if existing.summary == "range":  # an address equal to a /32 block of a range (Q8)
                parent = existing
            else:
                check_owner(c.name, c.uid, existing.owner, existing.uid)
        if parent is None:
            parent = self.rib.parent_of(host, ignore=goes)
        if parent.is_root:
            raise AllocationError(NEEDS_PARENT)
        if c.prefix.full:
            if parent.summary == "range":
                self._check_table_free(c, parent, host.address)
            elif parent.prefix_type == ct.NETWORK:
                raise AllocationError("a /32 or /128 address is not possible with a parent of type network")
            elif self.legacy:
                legacy.check_address_parent(parent)
        elif parent.summary == "range" or parent.prefix_type != ct.NETWORK:
            kind = "range" if parent.summary == "range" else parent.prefix_type
            raise AllocationError(f"a prefix based address is not possible with a parent of type {kind}")
        self._place_address(c, parent, host.address, dependents, gateway=c.default_gateway and not c.prefix.full)
        return self._address_status(parent, c.text)

    def _check_table_free(self, c: IPClaim, range_route: Route, address: int) -> None:
        table = self._ranges[range_route.owner]
        holder = table.used.get(address)
        if holder is not None:
            try:
                check_owner(c.name, c.uid, holder.name, holder.uid)
            except AllocationError as exc:
                raise AllocationError(f"address is already allocated in range {table.text}, err: {exc}") from None

    def _place_address(self, c: IPClaim, parent: Route, address: int, dependents: set[str], gateway: bool) -> None:
        family = parent.prefix.family
        if parent.summary == "range":
            self._drop_routes(c.name, set(), dependents)
            held = self._ranges.held.get(c.name)
            if held is not None and held != (parent.owner, address):
                self._ranges.drop_held(c.name)
            holder = Holder(c.name, c.uid, c.kind, c.claim_type, {**parent.user, **c.labels}, dict(c.labels))
            self._ranges.hold(c.name, parent.owner, address, holder)
            return
        network = parent.prefix_type == ct.NETWORK
        route = self._new_route(
            c,
            Prefix(family, address, WIDTH[family]),
            "address",
            ct.NETWORK if network else self._claim_type(c) if self.legacy else ct.REGULAR,
            subnet=subnet_name(parent.prefix) if network else "",
            gateway=gateway,
            inherited=parent.user,
        )
        self._set_routes(c, [route], dependents)

    def _address_status(self, parent: Route, text: str) -> dict[str, object]:
        status: dict[str, object] = {"address": text}
        if parent.summary == "prefix" and parent.prefix_type == ct.NETWORK:
            gateway = self._gateway(subnet_name(parent.prefix))
            if gateway is not None:
                status["defaultGateway"] = ip_text(gateway.prefix.family, gateway.prefix.address)
        return status

    # ================================================================ static range

    def _static_range(self, c: IPClaim, dependents: set[str]) -> dict[str, object]:
        assert c.range is not None
        family, first, last_ = c.range
        width = WIDTH[family]
        blocks = [Prefix(family, start, plen) for start, plen in cover(first, last_, width)]
        routes = [self._new_route(c, b, "range", self._claim_type(c) if self.legacy else ct.REGULAR) for b in blocks]
        if not self._stores_again(c, routes):
            self._check_range(c, blocks)
        self._set_routes(c, routes, dependents)
        self._ranges.ensure(RangeTable(c.name, first, last_, c.range_text, family, width), dependents)
        return {"range": c.range_text}

    def _check_range(self, c: IPClaim, blocks: list[Prefix]) -> None:
        goes = self._goes_with(c)
        for block in blocks:
            existing = self.rib.get(block)
            if existing is not None and not goes(existing):
                check_owner(c.name, c.uid, existing.owner, existing.uid)
        parents = [self.rib.parent_of(b, ignore=goes) for b in blocks]
        if any(p.is_root for p in parents):
            raise AllocationError(NEEDS_PARENT)
        for p in parents[1:]:
            if p is not parents[0]:
                raise AllocationError(
                    f"a range has to fit into a single parent prefix got {parents[0].prefix} and {p.prefix}"
                )
        if parents[0].summary == "range":  # kuid takes it, and both tables would hand out the same addresses
            other = self._ranges[parents[0].owner].text
            raise AllocationError(f"a range cannot lie in another range: {c.range_text} in {other}")
        if self.legacy:
            legacy.check_range_parent(parents[0])
        for block, parent in zip(blocks, parents, strict=True):
            if any(not goes(child) for child in parent.children_in(block)):
                raise AllocationError(f"cannot have children for a range {block}")

    # ================================================================ dynamic prefix

    def _dynamic_prefix(self, c: IPClaim, dependents: set[str]) -> dict[str, object]:
        assert c.prefix_length is not None
        target = c.prefix_length
        previous = self._status_prefix(c, "prefix")
        found = self._kept_prefix(c, previous) or self._reclaim_prefix(c, previous) or self._find_prefix(c, target)
        self._set_routes(c, self._prefix_routes(c, found), dependents)
        return self._prefix_status(c, str(found), found)

    def _kept_prefix(self, c: IPClaim, previous: Prefix | None) -> Prefix | None:
        """The prefix the claim holds and its status names, when it may keep it: it has the length the claim
        asks for (kuid keeps it whatever its length), and the claim stores the same routes there as before
        or what it would store now passes the rules a new claim's prefix passes (a claim that became a
        network cannot keep a prefix with prefixes or others' addresses in it)."""
        if (
            previous is None
            or previous.plen != c.prefix_length
            or (previous.family, previous.network, previous.plen) not in self._owned.get(c.name, {})
        ):
            return None
        routes = self._prefix_routes(c, previous.masked)
        if not self._stores_again(c, routes):
            try:
                self._check_prefix_rules(c, previous.masked)
                self._check_routes_free(c, routes)
            except AllocationError:
                return None
        return previous.masked

    def _usable_prefix_parent(self, c: IPClaim, route: Route, target: int, *, held: bool = False) -> bool:
        """Whether ``c``'s prefix of length ``target`` may come from ``route``: the model lets it nest there
        and the selector picks ``route`` (whatever it picks for a prefix the claim ``held``)."""
        if self.legacy:
            nests = legacy.is_prefix_parent(c, route)
        else:
            nests = route.summary == "prefix" and route.prefix_type != ct.NETWORK  # nothing nests in a network (Q7)
        fits = nests and route.prefix.plen < target <= route.prefix.width
        return fits and (held or matches(c.selector, route.labels()))

    def _reclaim_prefix(self, c: IPClaim, previous: Prefix | None, *, held: bool = False) -> Prefix | None:
        """Reuse the status prefix when a usable parent still has it free (Q5); ``held``: the claim held it
        (``restore``), so the parent need not be one its selector picks."""
        if previous is None or previous.plen != c.prefix_length or self.rib.get(previous) is not None:
            return None
        parent = self.rib.parent_of(previous)
        if parent.is_root or not self._usable_prefix_parent(c, parent, previous.plen, held=held):
            return None
        assert parent.free is not None
        return previous.masked if parent.free.is_free((previous.network, previous.plen)) else None

    def _find_prefix(self, c: IPClaim, target: int) -> Prefix:
        for route in self._selectable(c, self.rib.walk_shorter(target), below=target):
            if self._usable_prefix_parent(c, route, target):
                assert route.free is not None
                start = route.free.best_fit(target)
                if start is not None:
                    return Prefix(route.prefix.family, start, target)
        self._require_candidates(c)
        raise AllocationError("no free prefix found")

    def _selectable(self, c: IPClaim, walked: Iterable[Route], below: int | None = None) -> Iterable[Route]:
        """The routes ``c``'s selector may pick, in RIB order: those of ``walked`` (the RIB walk a search makes),
        or, when the selector names a user label, only the prefixes and range blocks carrying it (shorter than
        ``below``); addresses are never parents. A system label key is not looked up this way: the system value
        is the one a selector sees."""
        label = next((k for k in c.selector if k not in lk.SYSTEM_KEYS), None)
        if label is None:
            return walked
        routes = self.rib.labelled(label, c.selector[label])
        return routes if below is None else [r for r in routes if r.prefix.plen < below]

    def _require_candidates(self, c: IPClaim) -> None:
        if not any(matches(c.selector, r.labels()) for r in self.rib.walk()):
            raise AllocationError(
                f"dynamic claim: no available routes based on the selector labels {go_map(c.selector)}"
            )

    # ================================================================ dynamic address

    def _dynamic_address(self, c: IPClaim, dependents: set[str]) -> dict[str, object]:
        previous = self._status_prefix(c, "address")
        kept = self._kept_address(c, previous)
        if kept is not None:
            parent, address = kept
        else:
            self._drop_routes(c.name, set(), dependents)
            self._ranges.drop_held(c.name)
            parent, address = self._reclaim_address(c, previous) or self._find_address(c)
        family = parent.prefix.family
        network = parent.summary == "prefix" and parent.prefix_type == ct.NETWORK
        length = parent.prefix.plen if network else WIDTH[family]
        self._place_address(c, parent, address, dependents, gateway=False)
        return self._address_status(parent, f"{ip_text(family, address)}/{length}")

    def _kept_address(self, c: IPClaim, previous: Prefix | None) -> tuple[Route, int] | None:
        """The address the claim already holds and its status names, with its parent, while the model lets
        that parent hand it out (whatever the selector picks now: the claim holds it)."""
        if previous is None:
            return None
        held = self._ranges.held.get(c.name)
        if held is not None:
            family = self._ranges[held[0]].family
            if (family, held[1]) == (previous.family, previous.address):
                return self._range_route(held[0], held[1]), held[1]
        route = self._owned.get(c.name, {}).get((previous.family, previous.address, previous.width))
        if route is None or route.parent is None or route.parent.is_root:
            return None
        return (route.parent, previous.address) if self._is_address_candidate(c, route.parent, held=True) else None

    def _range_route(self, range_claim: str, address: int) -> Route:
        for route in self._owned[range_claim].values():
            if route.prefix.network == route.prefix.address and address in _span(route.prefix):
                return route
        raise AssertionError("range table without its blocks")

    def _reclaim_address(
        self, c: IPClaim, previous: Prefix | None, *, held: bool = False
    ) -> tuple[Route, int] | None:
        """Reuse the status address when a parent that hands out addresses still has it free (Q5, Q10), with
        that parent (a /32 or /128 block of a range is the range's address, Q8); ``held``: the claim held it
        (``restore``), so the parent need not be one its selector picks."""
        if previous is None:
            return None
        existing = self.rib.get(previous.host())
        if existing is not None and existing.summary != "range":
            return None
        parent = existing or self.rib.parent_of(previous.host())
        if parent.is_root or not self._is_address_candidate(c, parent, held=held):
            return None
        if parent.summary == "range":
            table = self._ranges[parent.owner]
            return (parent, previous.address) if table.is_free(previous.address) else None
        assert parent.free is not None
        if parent.summary == "prefix" and parent.free.is_free((previous.address, previous.width)):
            return parent, previous.address
        return None

    def _find_address(self, c: IPClaim) -> tuple[Route, int]:
        tried: list[str] = []
        seen_tables: set[str] = set()
        for route in self._selectable(c, self.rib.walk(prune=lambda r: r.prefix.full)):
            if not matches(c.selector, route.labels()):
                continue
            if self.legacy and not legacy.is_address_parent(route):  # aggregates and other prefixes hand out none
                if route.summary == "prefix" and not route.prefix.full:
                    tried.append(str(route.prefix))
                continue
            if route.summary == "range":
                if route.owner in seen_tables:
                    continue
                seen_tables.add(route.owner)
                value = self._ranges[route.owner].lowest_free()
                if value is None:
                    raise AllocationError("no free entry found")
                return self._range_route(route.owner, value), value
            if route.summary == "prefix" and not route.prefix.full:
                tried.append(str(route.prefix))
                assert route.free is not None
                start = route.free.best_fit(route.prefix.width)
                if start is not None:
                    return route, start
        self._require_candidates(c)
        raise AllocationError(f"no free addresses found in routes: [{' '.join(tried)}]")

    def _is_address_candidate(self, c: IPClaim, route: Route, *, held: bool = False) -> bool:
        """Whether ``route`` may hand ``c`` an address: the model lets it, and the selector picks it (whatever
        it picks for an address the claim ``held``)."""
        selected = held or matches(c.selector, route.labels())
        return selected and (not self.legacy or legacy.is_address_parent(route))

    # ================================================================ bookkeeping

    def _goes_with(self, c: IPClaim) -> Callable[[Route], bool]:
        """Whether a route goes when ``c`` takes a new value: one of its routes, or a route under one of them.
        An address or a range is checked against the index without them, as a new claim is: what the claim
        lets go is neither the parent of its new value nor a clash with it."""
        if c.name not in self._owned:
            return lambda route: False

        def goes(route: Route) -> bool:
            item: Route | None = route
            while item is not None:
                if item.owner == c.name:
                    return True
                item = item.parent
            return False

        return goes

    def _claim_type(self, c: IPClaim) -> str:
        """The prefix type stored with ``c``'s prefixes (and, legacy, its addresses and range blocks)."""
        return legacy.claim_type(c) if self.legacy else c.prefix_type

    @staticmethod
    def _status_prefix(c: IPClaim, key: str) -> Prefix | None:
        text = c.status.get(key)
        if not text:
            return None
        try:
            return parse_prefix(str(text), bare_ok=True)
        except ValueError:
            return None

    def _new_route(
        self,
        c: IPClaim,
        prefix: Prefix,
        summary: str,
        prefix_type: str,
        *,
        subnet: str = "",
        gateway: bool = False,
        inherited: dict[str, str] | None = None,
    ) -> Route:
        return Route(
            prefix=prefix,
            owner=c.name,
            uid=c.uid,
            kind=c.kind,
            claim_type=c.claim_type,
            summary=summary,
            prefix_type=prefix_type,
            subnet=subnet,
            gateway=gateway,
            index_entry=c.index_owned,
            user={**(inherited or {}), **c.labels},
            own=dict(c.labels),
        )

    def _set_routes(self, c: IPClaim, routes: list[Route], dependents: set[str]) -> None:
        """Store ``routes`` for ``c`` (updating those that exist) and drop what it held before and no longer has,
        an address in a range's table included."""
        keep = {r.key for r in routes}
        # a range whose blocks all change keeps its table (the caller fits it to the new bounds, keeping the
        # values that still lie in it), though for a moment the claim holds no block
        self._drop_routes(c.name, keep, dependents, keep_table=any(r.summary == "range" for r in routes))
        self._ranges.drop_held(c.name)
        owned = self._owned.setdefault(c.name, {})
        for route in routes:
            current = self.rib.routes.get(route.key)
            changed = current is None or _differs(current, route)
            # the addresses right under a new prefix (inserted over them) or a relabelled one inherit its labels
            relabelled = current is None or current.user != route.user
            was: tuple[str, str, str] | None = None
            # the addresses right under a new prefix (inserted over them) or a retyped one are placed again
            reparented = current is None or current.prefix_type != route.prefix_type
            if current is None:
                self.rib.insert(route)
                current = route
            elif changed:
                was = (current.owner, current.prefix_type, current.summary)
                if current.owner != c.name:  # taken under the owner rule (same uid): no longer the other's
                    self._disown(current)
                self.rib.restate(current, {attr: getattr(route, attr) for attr in _ROUTE_VALUE})
            owned[current.key] = current
            self._track_gateway(current, dependents)
            if changed:
                self._log(current, was)
            if relabelled:
                self._pass_labels_down(current)
            if reparented:
                dependents.update(self._addresses_under(current))

    def _pass_labels_down(self, route: Route) -> None:
        """The addresses right under ``route`` (and the values of its range table) inherit its labels: give
        them its current ones, keeping their own claim's labels on top."""
        if route.summary == "range":
            self._ranges.inherit(route.owner, route.user)
            return
        for child in route.children():
            if child.summary == "address" and child.owner != route.owner:
                wanted = {**route.user, **child.own}
                if wanted != child.user:
                    child.user = wanted
                    self._log(child)

    def _log(self, route: Route, was: tuple[str, str, str] | None = None) -> None:
        """Log a change of ``route`` (``was``: its owner, prefix type and summary before, when it was restated)
        with the claims it may concern: its owner, the one it had, and those of the routes under it, whose
        parent or its labels changed. A change of a network route (subnet gateways), of a range block (its
        table's holders), or in the legacy model (parent rules by type) may concern any claim."""
        key = ("", *route.key)
        kinds = {(route.prefix_type, route.summary), *([was[1:]] if was else [])}
        if self.legacy or any(prefix_type == ct.NETWORK or summary == "range" for prefix_type, summary in kinds):
            self.changes.touch(key)
            return
        concerned = {r.owner for r in self.rib.subtree(route)}
        if was is not None:
            concerned.add(was[0])
        self.changes.touch(key, concerned)

    def _gateway(self, subnet: str) -> Route | None:
        """The gateway a subnet's claims show: its lowest gateway address, should it have two, so that what
        they show depends on what is stored, not on the order it was written in."""
        gateways = self._gateways.get(subnet)
        return gateways[min(gateways)] if gateways else None

    def _track_gateway(self, route: Route, dependents: set[str], *, stored: bool = True) -> None:
        """Note whether ``route`` (``stored``: False once removed) is a gateway of its subnet. When the gateway
        the subnet shows changes, its network prefix and the addresses in it (whose status names it, §2.11)
        are worked out again with the claims that lost values, so that no stored status waits for its claim's
        next write to show it (kuid: until that write)."""
        if not route.gateway and route.subnet not in self._gateways:
            return
        shown = self._gateway(route.subnet)
        gateways = self._gateways.setdefault(route.subnet, {})
        if stored and route.gateway:
            gateways[route.key] = route
        elif gateways.get(route.key) is route:
            del gateways[route.key]
        if not gateways:
            del self._gateways[route.subnet]
        now = self._gateway(route.subnet)
        if (shown and shown.prefix) != (now and now.prefix):
            self._tell_subnet(route, dependents)

    def _tell_subnet(self, gateway: Route, dependents: set[str]) -> None:
        """Add the claims whose status shows the gateway of ``gateway``'s subnet to ``dependents``."""
        subnet = self.rib.parent_of(gateway.prefix)
        if subnet.summary != "prefix" or subnet_name(subnet.prefix) != gateway.subnet:
            return
        dependents.add(subnet.owner)
        dependents.update(self._addresses_under(subnet))

    @staticmethod
    def _addresses_under(route: Route) -> set[str]:
        """The claims of the addresses right under ``route`` (its own network addresses aside), whose route
        and status follow its type, labels and gateway: worked out again when they change."""
        return {child.owner for child in route.children() if child.summary == "address" and child.owner != route.owner}

    def _drop_routes(
        self, name: str, keep: set[tuple[int, int, int]], dependents: set[str], *, keep_table: bool = False
    ) -> None:
        """Remove ``name``'s routes but those in ``keep``; its range table goes with its last block unless
        ``keep_table``."""
        owned = self._owned.get(name)
        if not owned:
            return
        for key in sorted((k for k in owned if k not in keep), key=lambda k: k[2]):
            route = owned.get(key)
            if route is None or self.rib.routes.get(key) is not route:
                continue
            for removed in self.rib.delete(route):
                self._forget(removed, dependents, keep_table=keep_table and removed.owner == name)

    def _disown(self, route: Route) -> None:
        """``route``'s owner no longer holds it."""
        owned = self._owned.get(route.owner)
        if owned is not None:
            owned.pop(route.key, None)
            if not owned:
                del self._owned[route.owner]

    def _forget(self, route: Route, dependents: set[str], *, keep_table: bool = False) -> None:
        self._log(route)
        self._track_gateway(route, dependents, stored=False)
        self._disown(route)
        dependents.add(route.owner)
        if route.summary == "range" and route.owner not in self._owned and not keep_table:
            self._ranges.drop(route.owner, dependents)

    # ================================================================ entries

    def _route_allocation(self, route: Route) -> Allocation:
        prefix = route.prefix
        return Allocation(
            key=("", *route.key),
            name=self.entry_suffix(("", *route.key)),
            value=str(prefix),
            owner=route.owner,
            uid=route.uid,
            kind=route.kind,
            claim_type=route.claim_type,
            labels=dict(route.user),
            prefix_type=route.prefix_type,
            address_family=FAMILY_NAME[prefix.family],
            default_gateway=route.gateway,
            index_entry=route.index_entry,
        )

    def _table_allocation(self, table_name: str, family: int, value: int, holder: Holder) -> Allocation:
        prefix = Prefix(family, value, WIDTH[family])
        return Allocation(
            key=(table_name, family, value, WIDTH[family]),
            name=self.entry_suffix((table_name, family, value, WIDTH[family])),
            value=str(prefix),
            owner=holder.name,
            uid=holder.uid,
            kind=holder.kind,
            claim_type=holder.claim_type,
            labels=dict(holder.labels),
            prefix_type=ct.REGULAR,
            address_family=FAMILY_NAME[family],
        )


def _shape(route: Route) -> tuple[str, str, str, bool]:
    """What a route is, its labels aside: what the rules a claim passes look at."""
    return route.summary, route.prefix_type, route.subnet, route.gateway


def _differs(current: Route, wanted: Route) -> bool:
    return any(getattr(current, attr) != getattr(wanted, attr) for attr in _ROUTE_VALUE)


def _span(prefix: Prefix) -> range:
    return range(prefix.network, prefix.broadcast + 1)
