"""Best-fit free space, aligned covers, the sorted list and range tables."""

from __future__ import annotations

import random

import pytest

from ipam.blocks import FreeSpace, cover
from ipam.sortedlist import SortedList
from ipam.table import Holder, RangeTable


def model_best_fit(free_ranges: list[tuple[int, int]], target: int, width: int) -> int | None:
    """The spec's reference model (§1.6), used as the oracle."""
    best = None
    for lo, hi in free_ranges:
        for start, plen in cover(lo, hi, width):
            if plen <= target and (best is None or plen > best[1]):
                best = (start, plen)
    return None if best is None else best[0]


def free_ranges(used: set[int], width: int) -> list[tuple[int, int]]:
    out, lo = [], 0
    for value in sorted(used):
        if value > lo:
            out.append((lo, value - 1))
        lo = value + 1
    if lo <= (1 << width) - 1:
        out.append((lo, (1 << width) - 1))
    return out


@pytest.mark.parametrize(
    ("lo", "hi", "width", "expected"),
    [
        (10, 19, 16, [(10, 15), (12, 14), (16, 14)]),
        (0, 255, 8, [(0, 0)]),
        (
            1,
            254,
            8,
            [
                (1, 8),
                (2, 7),
                (4, 6),
                (8, 5),
                (16, 4),
                (32, 3),
                (64, 2),
                (128, 2),
                (192, 3),
                (224, 4),
                (240, 5),
                (248, 6),
                (252, 7),
                (254, 8),
            ],
        ),
        (5, 5, 32, [(5, 32)]),
    ],
)
def test_cover(lo: int, hi: int, width: int, expected: list[tuple[int, int]]) -> None:
    assert list(cover(lo, hi, width)) == expected


def test_best_fit_matches_the_reference_model_on_random_sequences() -> None:
    rng = random.Random(7)
    width = 8
    for _ in range(30):
        space = FreeSpace(width, (0, 0))
        used: set[int] = set()
        for _ in range(60):
            if used and rng.random() < 0.3:
                value = rng.choice(sorted(used))
                used.discard(value)
                space.give((value, width))
                continue
            expected = model_best_fit(free_ranges(used, width), width, width)
            assert space.best_fit(width) == expected
            if expected is None:
                break
            space.take((expected, width))
            used.add(expected)


def test_network_like_sequence() -> None:
    space = FreeSpace(32, (0, 24))
    space.take((0, 32))
    space.take((255, 32))
    got = []
    for _ in range(5):
        value = space.best_fit(32)
        assert value is not None
        space.take((value, 32))
        got.append(value)
    assert got == [1, 254, 2, 3, 252]


def test_take_region_returns_the_free_blocks_inside() -> None:
    space = FreeSpace(8, (0, 0))
    space.take((4, 8))
    assert space.take((0, 4)) == [(0, 6), (5, 8), (6, 7), (8, 5)]
    space.give((0, 4))  # the region and everything in it is free again: buddies merge up to the root
    assert space.blocks() == [(0, 0)]


def test_sorted_list_against_a_plain_list() -> None:
    rng = random.Random(3)
    values = SortedList()
    plain: list[int] = []
    for _ in range(5000):
        value = rng.randrange(2000)
        if value in plain:
            values.remove(value)
            plain.remove(value)
        else:
            values.add(value)
            plain.append(value)
    plain.sort()
    assert list(values) == plain
    assert values.first() == plain[0]
    assert list(values.irange(500, 700)) == [v for v in plain if 500 <= v <= 700]
    assert values.floor(1000) == max(v for v in plain if v <= 1000)


def test_range_table_lowest_free_and_reuse() -> None:
    table = RangeTable("r", 10, 19, "10-19")
    holder = Holder("c", "u", "K", "dynamicID", {})
    for expected in (10, 11, 12):
        value = table.lowest_free()
        assert value == expected
        table.claim(value, holder)
    table.release(11)
    assert table.lowest_free() == 11
    for value in range(11, 20):
        if table.is_free(value):
            table.claim(value, holder)
    assert table.lowest_free() is None
