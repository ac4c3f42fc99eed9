"""SetMap behaves as a dict of sets, whether a key holds one value or several."""

from __future__ import annotations

import random

from choreo.store.multimap import SetMap


def test_set_map_matches_a_dict_of_sets() -> None:
    rng = random.Random(7)
    indexed: SetMap[str, str] = SetMap()
    expected: dict[str, set[str]] = {}
    for _ in range(3000):
        key, value = rng.choice("abcd"), rng.choice("vwxyz")
        action = rng.random()
        if action < 0.5:
            indexed.add(key, value)
            expected.setdefault(key, set()).add(value)
        elif action < 0.8:
            indexed.discard(key, value)
            expected.get(key, set()).discard(value)
            if not expected.get(key, True):
                del expected[key]
        else:
            assert set(indexed.pop(key)) == expected.pop(key, set())
        for k in "abcd":
            assert sorted(indexed.get(k)) == sorted(expected.get(k, ()))
        assert len(indexed) == len(expected)


def test_a_lone_value_is_held_without_a_set() -> None:
    indexed: SetMap[str, tuple[str, str]] = SetMap()
    indexed.add("uid", ("a", "b"))
    indexed.add("uid", ("a", "b"))
    assert indexed.get("uid") == (("a", "b"),)
    indexed.add_all("uid", [("c", "d")])
    assert indexed.get("uid") == {("a", "b"), ("c", "d")}
    indexed.discard("uid", ("c", "d"))
    assert indexed.get("uid") == (("a", "b"),)
    indexed.discard("uid", ("a", "b"))
    assert indexed.get("uid") == () and len(indexed) == 0
