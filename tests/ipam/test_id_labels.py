"""The ID engine's values by user label: a selector naming one finds the first value carrying it, as a scan of
every value in id order would, however the values were claimed, relabelled and released."""

from __future__ import annotations

import random
from typing import Any

import pytest

from ipam import idclaim as it
from ipam.errors import AllocationError
from ipam.idindex import IDIndex
from tests.ipam.randomised import grow_and_shrink


def claim(index: IDIndex, name: str, spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    parsed = it.parse_id_claim(index.space, name, spec, kind="GENIDClaim", uid=f"uid-{name}", index="i",
                               status=status)
    return index.claim(parsed).status


def scanned(index: IDIndex, label: str, value: str) -> list[tuple[int, int]]:
    return sorted(k for k, v in index.values.items() if v.user.get(label) == value)


def test_values_by_label_follow_claims_relabels_and_releases() -> None:
    space = it.GENID_TYPES["32bit"]
    for seed in range(5):
        rng = random.Random(seed)
        index = IDIndex(space, "i")

        def fresh(rng: random.Random) -> dict[str, Any]:
            roll = rng.random()
            if roll < 0.3:
                lo = rng.randrange(0, 5000)
                return {"range": f"{lo}-{lo + rng.randrange(1, 40)}"}
            if roll < 0.6:
                return {"id": rng.randrange(0, 6000)}
            return {} if roll < 0.85 else {"selector": {"matchLabels": {"pool": rng.choice("ab")}}}

        grow_and_shrink(rng, 400, fresh, lambda rng: {"pool": rng.choice("abc")},
                        lambda name, spec, index=index: claim(index, name, spec), index.release)
        assert len(index.values) > 100
        for value in "abcd":
            assert sorted(index._labelled.get(("pool", value), ())) == scanned(index, "pool", value), (seed, value)


def test_a_label_selector_takes_from_the_first_value_with_the_label() -> None:
    index = IDIndex(it.VLAN, "i")
    claim(index, "s", {"id": 5, "labels": {"pool": "a"}})
    claim(index, "ra", {"range": "100-109", "labels": {"pool": "a"}})
    claim(index, "rb", {"range": "200-209", "labels": {"pool": "b"}})
    assert claim(index, "d1", {"selector": {"matchLabels": {"pool": "b"}}}) == {"id": 200}
    with pytest.raises(AllocationError, match="a parent can only be a range, got: staticID"):
        claim(index, "d2", {"selector": {"matchLabels": {"pool": "a"}}})
    claim(index, "s", {"id": 5, "labels": {"pool": "z"}})  # relabelled: no longer the first with pool a
    assert claim(index, "d2", {"selector": {"matchLabels": {"pool": "a"}}}) == {"id": 100}
    with pytest.raises(AllocationError, match="no parent found"):
        claim(index, "d3", {"selector": {"matchLabels": {"pool": "c"}}})
