"""Range tables: the ids (or addresses) of one range claim, handed out lowest-free first.

The reference gives each range claim its own table (idxtable ``table*``/``iptable``); dynamic claims
taking from a range get the lowest free value, static claims a given one. Free values are kept as sorted
disjoint intervals, so lowest-free, claim and release are O(log n) whatever the range's size.
``RangeTables`` is the bookkeeping both engines share: the tables of an index, which claim holds which
value, and the change log entries of every value held, released or dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from ipam.allocation import ChangeLog, ValueKey
from ipam.sortedlist import SortedList


@dataclass
class Holder:
    """Who holds a value of a table: the claim's name and uid, plus the labels stored with it (the
    range's labels, when the table's values inherit them, then the claim's ``own``)."""

    name: str
    uid: str
    kind: str
    claim_type: str
    labels: dict[str, str]
    own: dict[str, str] = field(default_factory=dict)


class RangeTable:
    def __init__(self, name: str, lo: int, hi: int, text: str, family: int = 0, width: int = 32) -> None:
        self.name = name  # the range claim's name
        self.lo, self.hi = lo, hi
        self.text = text  # the range as the claim wrote it, for messages
        self.family = family  # IP family (4 or 6); 0 for ids
        self.width = width  # the prefix length a value of the table is shown with (its entry name)
        self.used: dict[int, Holder] = {}
        self._starts = SortedList([lo])
        self._ends = {lo: hi}

    def __contains__(self, value: int) -> bool:
        return self.lo <= value <= self.hi

    def key(self, value: int) -> ValueKey:
        """The change log key of ``value`` in this table."""
        return self.name, self.family, value, self.width

    def items(self) -> Iterator[tuple[int, Holder]]:
        for value in sorted(self.used):
            yield value, self.used[value]

    def lowest_free(self) -> int | None:
        return self._starts.first()

    def is_free(self, value: int) -> bool:
        return value in self and value not in self.used

    def claim(self, value: int, holder: Holder) -> None:
        if value not in self.used:
            self._split(value)
        self.used[value] = holder

    def _split(self, value: int) -> None:
        start = self._starts.floor(value)
        assert start is not None and self._ends[start] >= value, "claim of a value outside the free intervals"
        end = self._ends.pop(start)
        self._starts.remove(start)
        if start < value:
            self._starts.add(start)
            self._ends[start] = value - 1
        if value < end:
            self._starts.add(value + 1)
            self._ends[value + 1] = end

    def release(self, value: int) -> Holder | None:
        holder = self.used.pop(value, None)
        if holder is None:
            return None
        start, end = value, value
        left = self._starts.floor(value - 1)
        if left is not None and self._ends[left] == value - 1:
            self._starts.remove(left)
            start = left
            del self._ends[left]
        if value + 1 in self._ends:
            end = self._ends.pop(value + 1)
            self._starts.remove(value + 1)
        self._starts.add(start)
        self._ends[start] = end
        return holder


class RangeTables:
    """The range tables of one index, keyed by range claim, and the value each other claim holds in them."""

    def __init__(self, changes: ChangeLog) -> None:
        self._changes = changes
        self.tables: dict[str, RangeTable] = {}
        self.held: dict[str, tuple[str, int]] = {}  # claim -> (range claim, value)

    def __getitem__(self, range_name: str) -> RangeTable:
        return self.tables[range_name]

    def names(self) -> list[str]:
        return sorted(self.tables)

    def holder(self, key: ValueKey) -> Holder | None:
        """Who holds the value of ``key`` (table name, family, value, length), if anyone."""
        table = self.tables.get(key[0])
        return table.used.get(key[2]) if table is not None and table.family == key[1] else None

    def hold(self, name: str, range_name: str, value: int, holder: Holder) -> None:
        """``name`` holds ``value`` of ``range_name``'s table with ``holder``; logged only when it differs."""
        table = self.tables[range_name]
        current = table.used.get(value)
        if current is not None and current.name != name and self.held.get(current.name) == (range_name, value):
            del self.held[current.name]  # taken under the owner rule (same uid): no longer the other's
        if current != holder:
            table.claim(value, holder)
            self._changes.touch(table.key(value))
        self.held[name] = (range_name, value)

    def inherit(self, range_name: str, labels: dict[str, str]) -> None:
        """The values of ``range_name``'s table take the range's new ``labels`` (their own ones still win)."""
        table = self.tables.get(range_name)
        if table is None:
            return
        for value, holder in list(table.items()):
            wanted = {**labels, **holder.own}
            if wanted != holder.labels:
                table.used[value] = replace(holder, labels=wanted)
                self._changes.touch(table.key(value))

    def drop_held(self, name: str) -> None:
        """Give back the value ``name`` holds in a table, if any."""
        held = self.held.pop(name, None)
        if held is not None and held[0] in self.tables:
            table = self.tables[held[0]]
            table.release(held[1])
            self._changes.touch(table.key(held[1]))

    def drop(self, range_name: str, dependents: set[str]) -> None:
        """Remove ``range_name``'s table; its holders lose their values and are added to ``dependents``."""
        table = self.tables.pop(range_name, None)
        if table is not None:
            self._evict(table, table.items(), dependents)

    def ensure(self, wanted: RangeTable, dependents: set[str]) -> None:
        """Make ``wanted`` (still empty) the claim's table unless it has one with the same bounds. A table whose
        bounds changed keeps the holders that still fit; the others lose their values (``dependents``)."""
        current = self.tables.get(wanted.name)
        if current is not None and (current.family, current.lo, current.hi) == (wanted.family, wanted.lo, wanted.hi):
            current.text = wanted.text
            return
        if current is not None:
            evicted = []
            for value, holder in current.items():
                if current.family == wanted.family and value in wanted:
                    wanted.claim(value, holder)
                else:
                    evicted.append((value, holder))
            self._evict(current, evicted, dependents)
        self.tables[wanted.name] = wanted

    def _evict(self, table: RangeTable, items: Iterable[tuple[int, Holder]], dependents: set[str]) -> None:
        for value, holder in list(items):
            self.held.pop(holder.name, None)
            dependents.add(holder.name)
            self._changes.touch(table.key(value))
