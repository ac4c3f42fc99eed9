"""Aligned power-of-two blocks and the best-fit free-space index shared by the IP and ID engines.

A block is ``(start, plen)`` in a ``width``-bit space: ``2**(width - plen)`` values starting at ``start``
(aligned). The reference picks free space with a *best-fit* rule (netipx ``IPSet.RemoveFreePrefix``,
idxtable ``RemoveFreePrefix``): write the free part of a parent as its minimal aligned-block cover,
take the smallest block that still fits the requested length, lowest address on ties, and return the
requested-size block at its start. The minimal cover of a free set is exactly its *maximal* free aligned
blocks, so ``FreeSpace`` keeps those, one sorted list per prefix length: a best-fit query looks at most
``width`` lists, and taking or giving back a block splits or merges buddies along one path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ipam.sortedlist import SortedList

Block = tuple[int, int]  # (start, prefix length)


def size(width: int, plen: int) -> int:
    return 1 << (width - plen)


def last(start: int, plen: int, width: int) -> int:
    return start + size(width, plen) - 1


def align(value: int, plen: int, width: int) -> int:
    """``value`` with the low ``width - plen`` bits cleared."""
    return value & ~(size(width, plen) - 1)


def cover(lo: int, hi: int, width: int) -> Iterator[Block]:
    """The minimal list of aligned blocks covering ``lo..hi`` (inclusive), ascending."""
    while lo <= hi:
        step = (lo & -lo) if lo else 1 << width
        while step > hi - lo + 1:
            step >>= 1
        yield lo, width - (step.bit_length() - 1)
        lo += step


class FreeSpace:
    """The maximal free aligned blocks inside one block (the *root*) of a ``width``-bit space."""

    __slots__ = ("_free", "root", "width")

    def __init__(self, width: int, root: Block, free: Iterable[Block] | None = None) -> None:
        self.width = width
        self.root = root
        self._free: dict[int, SortedList] = {}
        for block in [root] if free is None else free:
            self._add(block)

    # ------------------------------------------------------------ primitives

    def _add(self, block: Block) -> None:
        bucket = self._free.get(block[1])
        if bucket is None:
            bucket = self._free[block[1]] = SortedList()
        bucket.add(block[0])

    def _remove(self, block: Block) -> None:
        bucket = self._free[block[1]]
        bucket.remove(block[0])
        if not bucket:
            del self._free[block[1]]

    def _has(self, block: Block) -> bool:
        bucket = self._free.get(block[1])
        return bucket is not None and block[0] in bucket

    # ------------------------------------------------------------ queries

    def blocks(self) -> list[Block]:
        """Every maximal free block, ascending by start."""
        return sorted((start, plen) for plen, bucket in self._free.items() for start in bucket)

    def containing(self, block: Block) -> Block | None:
        """The maximal free block that holds all of ``block``, if ``block`` is entirely free."""
        for plen in range(block[1], self.root[1] - 1, -1):
            candidate = (align(block[0], plen, self.width), plen)
            if self._has(candidate):
                return candidate
        return None

    def is_free(self, block: Block) -> bool:
        return self.containing(block) is not None

    def best_fit(self, plen: int) -> int | None:
        """Start of the best-fit free block of length ``plen`` (see module docstring), or None."""
        for length in range(plen, self.root[1] - 1, -1):
            bucket = self._free.get(length)
            if bucket:
                return bucket.first()
        return None

    def inside(self, block: Block) -> list[Block]:
        """Free blocks lying inside ``block`` (which is not itself inside a free block)."""
        end = last(block[0], block[1], self.width)
        found: list[Block] = []
        for plen, bucket in self._free.items():
            if plen >= block[1]:
                found.extend((start, plen) for start in bucket.irange(block[0], end))
        return sorted(found)

    # ------------------------------------------------------------ updates

    def take(self, block: Block) -> list[Block]:
        """Mark ``block`` used; returns the free blocks it covered (``[block]`` when it was all free)."""
        holder = self.containing(block)
        if holder is None:
            covered = self.inside(block)
            for item in covered:
                self._remove(item)
            return covered
        self._remove(holder)
        start, plen = holder
        while plen < block[1]:
            plen += 1
            half = size(self.width, plen)
            if block[0] >= start + half:
                self._add((start, plen))
                start += half
            else:
                self._add((start + half, plen))
        return [block]

    def give(self, block: Block) -> None:
        """Mark ``block`` free (it must be used and hold no other used value), merging buddies."""
        start, plen = block
        while plen > self.root[1]:
            buddy = (start ^ size(self.width, plen), plen)
            if not self._has(buddy):
                break
            self._remove(buddy)
            start, plen = min(start, buddy[0]), plen - 1
        self._add((start, plen))
