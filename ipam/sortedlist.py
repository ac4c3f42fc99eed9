"""A sorted list of integers with cheap inserts and deletes, for the engines' ordered indexes.

The engines keep tens of thousands of sorted keys per node (children of a /8, free blocks, free
intervals). A flat Python list costs O(n) per insert; this keeps the values in chunks of bounded size
(the scheme popularised by ``sortedcontainers``), so inserts, deletes and bisection touch one chunk:
O(log n) comparisons plus a memmove of at most ``_LOAD * 2`` items.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator

_LOAD = 256


class SortedList:
    __slots__ = ("_len", "_lists", "_maxes")

    def __init__(self, values: Iterable[int] = ()) -> None:
        self._lists: list[list[int]] = []
        self._maxes: list[int] = []
        self._len = 0
        for value in sorted(values):
            self._append(value)

    def _append(self, value: int) -> None:
        if not self._lists or len(self._lists[-1]) >= _LOAD:
            self._lists.append([])
            self._maxes.append(value)
        self._lists[-1].append(value)
        self._maxes[-1] = value
        self._len += 1

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    def __iter__(self) -> Iterator[int]:
        for chunk in self._lists:
            yield from chunk

    def __contains__(self, value: int) -> bool:
        i = bisect_left(self._maxes, value)
        if i == len(self._maxes):
            return False
        chunk = self._lists[i]
        return chunk[bisect_left(chunk, value)] == value

    def add(self, value: int) -> None:
        if not self._lists:
            self._append(value)
            return
        i = bisect_left(self._maxes, value)
        if i == len(self._maxes):
            i -= 1
        chunk = self._lists[i]
        insort(chunk, value)
        self._maxes[i] = chunk[-1]
        self._len += 1
        if len(chunk) > 2 * _LOAD:
            self._lists[i : i + 1] = [chunk[:_LOAD], chunk[_LOAD:]]
            self._maxes[i : i + 1] = [chunk[_LOAD - 1], chunk[-1]]

    def remove(self, value: int) -> None:
        i = bisect_left(self._maxes, value)
        chunk = self._lists[i] if i < len(self._maxes) else []
        j = bisect_left(chunk, value)
        if j == len(chunk) or chunk[j] != value:
            raise KeyError(value)
        del chunk[j]
        self._len -= 1
        if chunk:
            self._maxes[i] = chunk[-1]
        else:
            del self._lists[i]
            del self._maxes[i]

    def first(self) -> int | None:
        return self._lists[0][0] if self._lists else None

    def floor(self, value: int) -> int | None:
        """The largest stored value <= ``value``."""
        i = bisect_left(self._maxes, value)
        if i < len(self._maxes):
            chunk = self._lists[i]
            j = bisect_right(chunk, value)
            if j:
                return chunk[j - 1]
        return self._lists[i - 1][-1] if i > 0 else None

    def irange(self, lo: int, hi: int) -> Iterator[int]:
        """Stored values v with lo <= v <= hi, ascending."""
        i = bisect_left(self._maxes, lo)
        first = True
        while i < len(self._lists):
            chunk = self._lists[i]
            j = bisect_left(chunk, lo) if first else 0
            first = False
            while j < len(chunk):
                if chunk[j] > hi:
                    return
                yield chunk[j]
                j += 1
            i += 1
