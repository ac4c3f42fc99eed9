"""The ID engine of one VLAN/AS/GENID/EXTCOMM index: static ids, dynamic ids and ranges.

The main tree holds single ids and range blocks, all disjoint (a static id inside a range goes into the
range's own table). Dynamic ids without a selector take the best-fit free block of the whole space
(§1.6 A), so reserved min/max ranges and range blocks are avoided; with a selector they take the lowest
free id of the first matching range. Reference quirks fixed here:
- a dynamic claim without a selector no longer always gets 0 in 32-bit trees (Q1);
- ids inside the reserved min/max ranges are refused (Q2);
- a range that changes bounds rebuilds its table, and a released range (or one rewritten as an id) takes
  its ids with it; their holders are reported for re-evaluation (Q3);
- any overlap of a range with another owner's value is refused (Q4);
- a dynamic id re-claims its previous value only when it is still free (Q6).
The values are also kept by their user labels, so a dynamic claim whose selector names one looks only at the
values carrying it, not at every value of the index.
"""

from __future__ import annotations

from collections.abc import Iterator

from ipam import idclaim as it
from ipam.allocation import Allocation, ChangeLog, Outcome, ValueKey, work_out
from ipam.blocks import FreeSpace, align, cover, last
from ipam.errors import AllocationError
from ipam.idclaim import IDClaim, IDSpace
from ipam.labels import CLAIM_NAME, CLAIM_TYPE, CLAIM_UID, OWNER_KIND, SYSTEM_KEYS, check_owner, matches
from ipam.sortedlist import SortedList
from ipam.table import Holder, RangeTable, RangeTables

Key = tuple[int, int]  # (start, prefix length) in the space's naming width


class Value:
    __slots__ = ("claim_type", "key", "kind", "owner", "uid", "user")

    def __init__(self, key: Key, claim: IDClaim) -> None:
        self.key = key
        self.owner, self.uid, self.kind = claim.name, claim.uid, claim.kind
        self.claim_type = claim.claim_type
        self.user = dict(claim.labels)

    def labels(self) -> dict[str, str]:
        """User labels plus the system labels, as a selector sees them."""
        return {**self.user, CLAIM_NAME: self.owner, CLAIM_UID: self.uid, OWNER_KIND: self.kind,
                CLAIM_TYPE: self.claim_type}


class IDIndex:
    def __init__(self, space: IDSpace, name: str = "") -> None:
        self.space = space
        self.name = name
        self.full = space.width
        self.free = FreeSpace(space.width, space.root)
        self.values: dict[Key, Value] = {}
        self._starts = SortedList()
        self._owned: dict[str, dict[Key, Value]] = {}
        self._labelled: dict[tuple[str, str], set[Key]] = {}  # (user label, value) -> keys of the values with it
        self.reserved = set(it.reserved_names(name))
        self.changes = ChangeLog()
        self._ranges = RangeTables(self.changes)

    # ================================================================ public API

    def claim(self, claim: IDClaim) -> Outcome:
        """Allocate (or re-confirm) what ``claim`` asks for; raises ``AllocationError``."""
        handler = {it.STATIC_ID: self._static, it.DYNAMIC_ID: self._dynamic, it.RANGE: self._range}[claim.claim_type]
        return work_out(claim.name, lambda dependents: handler(claim, dependents))

    def restore(self, claim: IDClaim) -> Outcome:
        """Apply a claim the store holds as Ready to an index being rebuilt from the store (a new process, a
        restart, another ID space). Live, a dynamic claim keeps the id it holds whatever its selector picks
        now; so it first takes back the id its status names, when that is still free, as the id it holds, and
        the rule a live claim meets (``_kept``) decides as it did live."""
        if claim.claim_type == it.DYNAMIC_ID and claim.status_id is not None:
            self._take_back(claim, claim.status_id)
        return self.claim(claim)

    def release(self, name: str) -> list[str]:
        dependents: set[str] = set()
        self._drop_values(name, set())
        self._ranges.drop_held(name)
        self._ranges.drop(name, dependents)
        dependents.discard(name)
        return sorted(dependents)

    def owns(self, name: str) -> bool:
        return bool(self._owned.get(name)) or name in self._ranges.held

    def allocations(self) -> Iterator[Allocation]:
        for start in self._starts:
            for key in self._keys_at(start):
                yield self._value_allocation(self.values[key])
        for table_name in self._ranges.names():
            for value, holder in self._ranges[table_name].items():
                yield self._table_allocation(table_name, value, holder)

    def allocation(self, key: ValueKey) -> Allocation | None:
        table_name, _family, start, plen = key
        if not table_name:
            found = self.values.get((start, plen))
            return None if found is None else self._value_allocation(found)
        holder = self._ranges.holder(key)
        return None if holder is None else self._table_allocation(table_name, start, holder)

    @staticmethod
    def entry_suffix(key: ValueKey) -> str:
        """The name part of a value's entry: ``<id>-<len>`` or ``<range claim>.<id>-<len>``."""
        table_name, _family, value, plen = key
        return f"{table_name}.{value}-{plen}" if table_name else f"{value}-{plen}"

    # ================================================================ static id

    def _static(self, c: IDClaim, dependents: set[str]) -> dict[str, object]:
        assert c.id is not None
        value = c.id
        if value in self._ids_of(c.name):
            self._keep(c, value, dependents)
            return {"id": value}
        range_name = self._range_holding(value)
        if range_name == c.name:  # a range rewritten as an id in it: the range goes (``_release_other``)
            range_name = None
        if range_name in self.reserved:
            raise AllocationError("cannot claim an id from a reserved range")
        existing = self.values.get((value, self.full))
        if existing is not None and existing.claim_type != it.RANGE:
            check_owner(c.name, c.uid, existing.owner, existing.uid)
        if range_name is not None:
            holder = self._ranges[range_name].used.get(value)
            if holder is not None and holder.name != c.name:
                raise AllocationError(f"claim failed id {value} already claimed")
        self._release_other(c, value, dependents)
        self._take(c, value, range_name)
        return {"id": value}

    def _range_holding(self, value: int) -> str | None:
        """The range claim whose block holds ``value`` in the main tree, if any."""
        for plen in range(self.full, self.space.root[1] - 1, -1):
            found = self.values.get((align(value, plen, self.full), plen))
            if found is not None:
                return found.owner if found.claim_type == it.RANGE else None
        return None

    # ================================================================ dynamic id

    def _dynamic(self, c: IDClaim, dependents: set[str]) -> dict[str, object]:
        kept = self._kept(c)
        if kept is not None:
            self._keep(c, kept, dependents)
            return {"id": kept}
        self._release_other(c, None, dependents)
        if not c.selector:
            value = self._tree_pick(c)
            self._take(c, value, None)
            return {"id": value}
        range_name = self._selected_range(c)
        table = self._ranges[range_name]
        picked = c.status_id if c.status_id is not None and table.is_free(c.status_id) else table.lowest_free()
        if picked is None:
            raise AllocationError("claimed failed, no claim ID found err: no free entry found")
        self._take(c, picked, range_name)
        return {"id": picked}

    def _keep(self, c: IDClaim, value: int, dependents: set[str]) -> None:
        """``c`` keeps ``value``: drop anything else it holds and give the value the claim's current
        labels and type (a claim re-applied with other labels must not leave the old ones on its entry)."""
        self._release_other(c, value, dependents)
        held = self._ranges.held.get(c.name)
        self._take(c, value, held[0] if held is not None and held[1] == value else None)

    def _ids_of(self, name: str) -> list[int]:
        """The single ids a claim holds: in the tree (not the blocks of a range it was) or in a range's table."""
        mine = [k[0] for k, v in self._owned.get(name, {}).items() if v.claim_type != it.RANGE]
        held = self._ranges.held.get(name)
        if held is not None:
            mine.append(held[1])
        return mine

    def _kept(self, c: IDClaim) -> int | None:
        mine = self._ids_of(c.name)
        if c.status_id is not None:
            return c.status_id if c.status_id in mine else None
        return min(mine) if mine else None

    def _take_back(self, c: IDClaim, value: int) -> None:
        """Hold ``value`` for ``c`` again, in the range table or the tree it lies in, when it is free there
        (and not in a reserved range, where no dynamic id is ever taken)."""
        range_name = self._range_holding(value)
        if range_name is None:
            if self.free.is_free((value, self.full)):
                self._take(c, value, None)
        elif range_name not in self.reserved and self._ranges[range_name].is_free(value):
            self._take(c, value, range_name)

    def _tree_pick(self, c: IDClaim) -> int:
        if c.status_id is not None and self.free.is_free((c.status_id, self.full)):
            return c.status_id
        value = self.free.best_fit(self.full)
        if value is None:
            raise AllocationError(
                "claimed failed, no claim ID found err: no free ids available, err: no free id available"
            )
        return value

    def _selected_range(self, c: IDClaim) -> str:
        owner = c.selector.get(CLAIM_NAME)
        label = next((k for k in c.selector if k not in SYSTEM_KEYS), None)
        if owner:
            pool: list[Value] | None = sorted(self._owned.get(owner, {}).values(), key=lambda v: v.key)
        elif label is not None:  # a system key's value is the system one, whatever the user labels say
            pool = [self.values[k] for k in sorted(self._labelled.get((label, c.selector[label]), ()))]
        else:
            pool = None
        candidates = pool if pool is not None else (self.values[k] for s in self._starts for k in self._keys_at(s))
        for value in candidates:
            if matches(c.selector, value.labels()):
                if value.claim_type != it.RANGE:
                    raise AllocationError(f"a parent can only be a range, got: {value.claim_type}")
                if value.owner in self.reserved:
                    raise AllocationError("cannot claim from a reserved range")
                return value.owner
        raise AllocationError("no parent found")

    # ================================================================ range

    def _range(self, c: IDClaim, dependents: set[str]) -> dict[str, object]:
        assert c.range is not None
        lo, hi = c.range
        blocks = list(cover(lo, hi, self.full))
        mine = {k for k, v in self._owned.get(c.name, {}).items() if v.claim_type == it.RANGE}
        if set(blocks) != mine:
            errors = [e for b in blocks for e in self._overlaps(c, b)]
            if errors:
                raise AllocationError("; ".join(errors))
        self._ranges.drop_held(c.name)
        self._drop_values(c.name, set(blocks))
        owned = self._owned.setdefault(c.name, {})
        for block in blocks:
            current = self.values.get(block)
            if current is None:
                self._insert(Value(block, c))
            else:
                self._refresh(current, c)
            owned[block] = self.values[block]
        self._ranges.ensure(RangeTable(c.name, lo, hi, c.range_text, width=self.space.table_width), dependents)
        return {"range": c.range_text}

    def _overlaps(self, c: IDClaim, block: Key) -> list[str]:
        end = last(block[0], block[1], self.full)
        inside, around = [], []
        for start in list(self._starts.irange(block[0], end)):
            for key in self._keys_at(start):
                value = self.values[key]
                if value.owner == c.name:
                    continue
                if key[1] >= block[1]:
                    inside.append(key)
                else:
                    around.append(key)
        for plen in range(block[1] - 1, self.space.root[1] - 1, -1):
            outer = self.values.get((align(block[0], plen, self.full), plen))
            if outer is not None and outer.owner != c.name:
                around.append(outer.key)
        errors = []
        text = f"{block[0]}/{block[1]}"
        if inside:
            errors.append(f"range id {text} overlaps with children: [{' '.join(f'{s}/{p}' for s, p in inside)}]")
        if around:
            errors.append(f"range id {text} overlaps with parent: [{' '.join(f'{s}/{p}' for s, p in around)}]")
        return errors

    # ================================================================ bookkeeping

    def _keys_at(self, start: int) -> list[Key]:
        """Keys of the values starting at ``start`` (a single id and a block cannot both start there)."""
        return [k for k in ((start, p) for p in range(self.space.root[1], self.full + 1)) if k in self.values]

    def _insert(self, value: Value) -> None:
        self.free.take(value.key)
        self.values[value.key] = value
        self._label(value, +1)
        self._starts.add(value.key[0])
        self.changes.touch(("", 0, *value.key))

    def _take(self, c: IDClaim, value: int, range_name: str | None) -> None:
        if range_name is not None:
            self._ranges.hold(c.name, range_name, value, Holder(c.name, c.uid, c.kind, c.claim_type, dict(c.labels)))
            return
        key = (value, self.full)
        existing = self.values.get(key)
        if existing is None:
            self._insert(Value(key, c))
        else:
            self._refresh(existing, c)
        self._owned.setdefault(c.name, {})[key] = self.values[key]

    def _refresh(self, value: Value, c: IDClaim) -> None:
        """Give a value its claim's current labels, uid and type, and the claim as its owner (the owner rule lets a
        claim of the same name or uid take another's value, which that one then no longer holds); logged only
        when they differ."""
        if value.owner != c.name:
            owned = self._owned.get(value.owner)
            if owned is not None:
                owned.pop(value.key, None)
                if not owned:
                    del self._owned[value.owner]
        wanted = (c.name, c.kind, c.labels, c.uid, c.claim_type)
        if (value.owner, value.kind, value.user, value.uid, value.claim_type) != wanted:
            self._label(value, -1)
            value.owner, value.kind, value.uid, value.claim_type = c.name, c.kind, c.uid, c.claim_type
            value.user = dict(c.labels)
            self._label(value, +1)
            self.changes.touch(("", 0, *value.key))

    def _label(self, value: Value, way: int) -> None:
        """Add (+1) or remove (-1) ``value`` in the keys of its user labels."""
        for pair in value.user.items():
            keys = self._labelled.setdefault(pair, set())
            if way > 0:
                keys.add(value.key)
            else:
                keys.discard(value.key)
                if not keys:
                    del self._labelled[pair]

    def _release_other(self, c: IDClaim, keep: int | None, dependents: set[str]) -> None:
        """Drop what ``c`` holds except the single id ``keep``: the range it was, with its table (whose
        holders lose their ids: ``dependents``), included."""
        if c.name in self._ranges.tables:
            self._drop_values(c.name, set())
            self._ranges.drop(c.name, dependents)
        held = self._ranges.held.get(c.name)
        if held is not None and held[1] != keep:
            self._ranges.drop_held(c.name)
        self._drop_values(c.name, set() if keep is None else {(keep, self.full)})

    def _drop_values(self, name: str, keep: set[Key]) -> None:
        owned = self._owned.get(name)
        if not owned:
            return
        for key in [k for k in owned if k not in keep]:
            self._label(owned.pop(key), -1)
            del self.values[key]
            self._starts.remove(key[0])
            self.free.give(key)
            self.changes.touch(("", 0, *key))
        if not owned:
            del self._owned[name]

    # ================================================================ entries

    def _value_allocation(self, value: Value) -> Allocation:
        start, plen = value.key
        return Allocation(
            key=("", 0, start, plen),
            name=self.entry_suffix(("", 0, start, plen)),
            value=f"{start}/{plen}",
            owner=value.owner,
            uid=value.uid,
            kind=value.kind,
            claim_type=value.claim_type,
            labels=dict(value.user),
        )

    def _table_allocation(self, table_name: str, value: int, holder: Holder) -> Allocation:
        width = self.space.table_width
        return Allocation(
            key=(table_name, 0, value, width),
            name=self.entry_suffix((table_name, 0, value, width)),
            value=f"{value}/{width}",
            owner=holder.name,
            uid=holder.uid,
            kind=holder.kind,
            claim_type=holder.claim_type,
            labels=dict(holder.labels),
        )
