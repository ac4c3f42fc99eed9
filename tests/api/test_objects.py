"""``clone``: the deep copy every API write relies on to keep stored and returned objects apart."""

from __future__ import annotations

from typing import Any

from choreo.api.objects import clone


def test_clone_is_equal_in_value_and_key_order_but_shares_no_container() -> None:
    original: dict[str, Any] = {
        "z": 1,
        "a": {"list": [1, {"deep": ["x"]}, [2, 3]], "empty": {}, "none": None},
        "m": [True, 1.5, "s"],
    }
    copied = clone(original)
    assert copied == original
    assert list(copied) == ["z", "a", "m"]
    copied["a"]["list"][1]["deep"].append("y")
    copied["a"]["list"][2].append(4)
    copied["a"]["empty"]["new"] = 1
    copied["m"][0] = False
    assert original == {
        "z": 1,
        "a": {"list": [1, {"deep": ["x"]}, [2, 3]], "empty": {}, "none": None},
        "m": [True, 1.5, "s"],
    }


def test_clone_of_a_scalar_is_the_scalar() -> None:
    for value in ("text", 3, 2.5, None, False):
        assert clone(value) is value
