"""A range table: the ids (or addresses) of one range claim, handed out lowest-free first.

The reference gives each range claim its own table (idxtable ``table*``/``iptable``); dynamic claims
taking from a range get the lowest free value, static claims a given one. Free values are kept as sorted
disjoint intervals, so lowest-free, claim and release are O(log n) whatever the range's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ipam.sortedlist import SortedList


@dataclass
class Holder:
    """Who holds a value of a table: the claim's name and uid, plus the labels stored with it."""

    name: str
    uid: str
    kind: str
    claim_type: str
    labels: dict[str, str]


class RangeTable:
    def __init__(self, name: str, lo: int, hi: int, text: str) -> None:
        self.name = name  # the range claim's name
        self.lo, self.hi = lo, hi
        self.text = text  # the range as the claim wrote it, for messages
        self.used: dict[int, Holder] = {}
        self._starts = SortedList([lo])
        self._ends = {lo: hi}

    def __contains__(self, value: int) -> bool:
        return self.lo <= value <= self.hi

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
