"""The store's canonical JSON is ``json``'s text byte for byte, whichever encoder wrote it."""

from __future__ import annotations

import enum
import json
import math
import random
from collections import OrderedDict
from typing import Any

import pytest

from choreo.errors import Invalid
from choreo.store._common import _canonical_text, decode, encode


def reference(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


class Colour(enum.StrEnum):
    RED = "red"


class Size(enum.IntEnum):
    LARGE = 3


class Name(str):
    pass


class Spec(dict):  # type: ignore[type-arg]
    pass


def _deep(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"a": value}
    return value


ODD_VALUES = [
    {"b": 1, "a": {"d": [True, False], "c": "é ü ☃ 𝄞"}},
    {"é": 1, "e": 2, "𝄞": 3, "\uffff": 4, "z": 5},  # key order is code point order either way
    {"s": "".join(chr(c) for c in range(0x20)) + '"\\/\x7f\u2028\u2029'},  # escapes
    {"none": None, "in a tuple": (None, 1), "nested": [{"x": None}]},
    {"floats": [0.0, -0.0, 1.0, 0.1, 2.5e-3, 1e-4, 1.2e-5, 1e-5, 3e-7, 1.5e-10, 5e-324, 1e15, 1e16, 1.5e300]},
    {"ints": [0, -1, 2**63 - 1, -(2**63), 2**64 - 1, 2**64, -(2**63) - 1, 10**40]},
    {2: "int keys", 1: "are written as strings"},
    {"colour": Colour.RED, "size": Size.LARGE, "name": Name("n"), "spec": Spec(x=1), "ordered": OrderedDict(b=1, a=2)},
    {"tuple": (1, "two", [3])},
    3e-7,
    {"uid": "759cde66-bacf-43d0-8b1f-9163ce9ff57f", "tiny": [1.5e-6], "small": {"x": 2e-9}},
    {"time": "2026-12-05T03:26:10.000042+00:00", "tiny": 1e-5},  # text that looks like a tiny float, and one
    {"time": "2026-12-05T03:26:10.000042+00:00", "name": "leaf1e-1", "wall": [26.5, 1e16]},  # only text
    _deep(300),  # deeper than orjson writes
    "a string",
    12,
    1.5,
    None,
    [],
    {},
]


@pytest.mark.parametrize("value", ODD_VALUES, ids=range(len(ODD_VALUES)))
def test_odd_values_are_written_as_json_writes_them(value: Any) -> None:
    assert encode(value, "v").encode() == reference(value)


def test_random_objects_are_written_as_json_writes_them() -> None:
    rng = random.Random(10)

    def scalar() -> Any:
        choice = rng.randrange(7)
        if choice == 0:
            return rng.uniform(-1, 1) * 10.0 ** rng.randrange(-12, 20)
        if choice == 1:
            return rng.randrange(-(2**65), 2**65)
        if choice == 2:
            points = [rng.choice([rng.randrange(0, 0x80), rng.randrange(0x80, 0xD800), 0x1F600]) for _ in range(5)]
            return "".join(map(chr, points))
        return rng.choice([None, True, False, "node-1e-5", "10.0.0.1/31"])

    def value(depth: int) -> Any:
        if depth > 3 or rng.random() < 0.3:
            return scalar()
        if rng.random() < 0.5:
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        return {str(scalar()): value(depth + 1) for _ in range(rng.randrange(4))}

    for _ in range(3000):
        item = value(0)
        assert encode(item, "v").encode() == reference(item)


REFUSED = [math.nan, math.inf, -math.inf, [None, math.nan], {(1,): "tuple key"}, {"s": {1, 2}}, b"x"]


@pytest.mark.parametrize("bad", REFUSED)
def test_what_json_refuses_is_invalid_with_its_message(bad: Any) -> None:
    value = {"spec": {"deep": [bad]}}
    with pytest.raises((TypeError, ValueError)) as expected:
        reference(value)
    with pytest.raises(Invalid) as refused:
        encode(value, "Thing x")
    assert str(refused.value) == f"Thing x: value is not JSON-compatible ({expected.value})"


@pytest.mark.parametrize(
    "value",
    [
        {"big": 10**30, "small": 1},
        {"max": 2**64 - 1, "over": 2**64, "min": -(2**63), "under": -(2**63) - 1},
        [{"n": -(10**40)}, 1.5, "12345678901234567890123"],
        {"s": "lone \ud800 surrogate", "n": 10**20},
    ],
)
def test_a_stored_text_reads_back_as_the_value_it_was_written_from(value: Any) -> None:
    back = decode(encode(value, "object"))
    assert back == value
    # an integer stays an integer, never the float nearest to it
    assert json.dumps(back, sort_keys=True) == json.dumps(value, sort_keys=True)


def test_a_record_whose_text_only_looks_like_a_tiny_float_is_written_by_orjson() -> None:
    """A run record's timestamps (``10.000042``) look like the floats orjson writes differently: the floats
    themselves are compared, so such a record keeps the fast path (it used to fall back to ``json``)."""
    events = [{"time": f"2026-12-05T03:26:10.{i:06d}+00:00", "operation": "START"} for i in range(0, 200, 7)]
    record = {"events": events, "wallSeconds": 26.5}
    assert _canonical_text(record) == reference(record).decode()
    assert _canonical_text({**record, "tiny": 1e-5}) is None
