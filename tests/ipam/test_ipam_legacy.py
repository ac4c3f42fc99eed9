"""The legacy IPAM model (aggregate, pool, network, other): allocated values, nesting rules and refusals."""

from __future__ import annotations

from typing import Any

import pytest

from ipam.errors import AllocationError
from ipam.ipclaim import parse_ip_claim
from ipam.ipindex import IPIndex
from ipam.legacy import is_legacy_index

AGG16 = {"prefix": "10.0.0.0/16", "prefixType": "aggregate"}
POOL24 = {"prefix": "10.0.0.0/24", "prefixType": "pool"}
NET24 = {"prefix": "10.0.1.0/24", "prefixType": "network"}

Step = tuple[str, dict[str, Any]]


def make(*index_prefixes: dict[str, Any], legacy: bool = True) -> IPIndex:
    """An index whose prefixes are applied as the index's own claims, in order."""
    index = IPIndex("kubenet", legacy=legacy)
    for i, spec in enumerate(index_prefixes):
        apply(index, f"kubenet.p{i}", spec, index_owned=True)
    return index


def apply(index: IPIndex, name: str, spec: dict[str, Any], index_owned: bool = False) -> dict[str, Any]:
    claim = parse_ip_claim(name, spec, uid=f"uid-{name}", index_owned=index_owned)
    return index.claim(claim).status


def values(index: IPIndex, steps: list[Step], field: str = "address") -> list[Any]:
    return [apply(index, name, spec)[field] for name, spec in steps]


def refusal(index: IPIndex, spec: dict[str, Any], index_owned: bool = False) -> str:
    with pytest.raises(AllocationError) as info:
        apply(index, "x", spec, index_owned=index_owned)
    return str(info.value)


def test_an_index_is_legacy_when_a_prefix_names_a_legacy_type() -> None:
    assert is_legacy_index([{"prefix": "10.0.0.0/8"}, {"prefix": "10.0.0.0/24", "prefixType": "pool"}])
    assert is_legacy_index([{"prefix": "10.0.0.0/8", "prefixType": "other"}])
    assert not is_legacy_index([{"prefix": "10.0.0.0/8"}, {"prefix": "10.0.0.0/24", "prefixType": "network"}])
    assert not is_legacy_index([{"prefix": "10.0.0.0/8", "prefixType": "regular"}])


def test_a_dynamic_address_without_selector_comes_from_the_pool_not_the_aggregate() -> None:
    legacy = make(AGG16, POOL24)
    assert values(legacy, [("a", {}), ("b", {}), ("c", {})]) == ["10.0.0.0/32", "10.0.0.1/32", "10.0.0.2/32"]
    # today's model, same prefixes as regular ones: best fit in the /16 first, around the /24
    current = make({"prefix": "10.0.0.0/16"}, {"prefix": "10.0.0.0/24"}, legacy=False)
    assert values(current, [("a", {})]) == ["10.0.1.0/32"]


def test_network_prefixes_in_an_aggregate_reserve_first_and_last() -> None:
    index = make(AGG16, NET24, POOL24)
    # RIB order: the pool 10.0.0.0/24 comes before the network 10.0.1.0/24
    assert values(index, [("a", {})]) == ["10.0.0.0/32"]
    net = {"selector": {"matchLabels": {"ipam.be.kuid.dev/ipprefix-type": "network"}}}
    assert values(index, [("b", net), ("c", net)]) == ["10.0.1.1/24", "10.0.1.254/24"]


def test_the_prefix_types_are_the_legacy_names_in_labels_and_entries() -> None:
    index = make(AGG16, POOL24)
    apply(index, "a", {"prefixType": "pool"})
    by_value = {a.value: a.prefix_type for a in index.allocations()}
    assert by_value == {"10.0.0.0/16": "aggregate", "10.0.0.0/24": "pool", "10.0.0.0/32": "pool"}
    pool = {"selector": {"matchLabels": {"ipam.be.kuid.dev/ipprefix-type": "pool"}}}
    assert values(index, [("b", pool)]) == ["10.0.0.1/32"]


def test_an_untyped_index_prefix_is_an_aggregate() -> None:
    index = make({"prefix": "10.0.0.0/16"}, POOL24)
    assert {a.value: a.prefix_type for a in index.allocations()} == {"10.0.0.0/16": "aggregate", "10.0.0.0/24": "pool"}


def test_an_aggregate_only_index_hands_out_no_address() -> None:
    index = make(AGG16)
    assert refusal(index, {}) == "no free addresses found in routes: [10.0.0.0/16]"


def test_a_range_in_a_pool_hands_out_its_lowest_free_address() -> None:
    index = make(AGG16, POOL24)
    apply(index, "r", {"range": "10.0.0.10-10.0.0.19"})
    sel = {"selector": {"matchLabels": {"be.kuid.dev/claim-name": "r"}}}
    assert values(index, [("a", sel), ("b", sel)]) == ["10.0.0.10/32", "10.0.0.11/32"]
    assert values(index, [("c", {"address": "10.0.0.5/32"})]) == ["10.0.0.5/32"]


def test_dynamic_prefixes_are_cut_from_aggregates_only() -> None:
    index = make(AGG16, POOL24)
    steps: list[Step] = [("p", {"prefixType": "pool", "createPrefix": True, "prefixLength": 24}),
                         ("n", {"prefixType": "network", "createPrefix": True, "prefixLength": 24})]
    assert values(index, steps, "prefix") == ["10.0.1.0/24", "10.0.2.0/24"]
    assert refusal(make(POOL24), {"prefixType": "pool", "createPrefix": True, "prefixLength": 26}) == (
        "no free prefix found")


@pytest.mark.parametrize(
    ("index_prefixes", "spec", "message"),
    [
        ((AGG16,), {"prefix": "10.1.0.0/24", "prefixType": "pool"},
         "no parent found, only possible for routes owned by IPIndex"),
        ((AGG16,), {"prefix": "10.0.1.0/24", "prefixType": "aggregate"},
         "parent 10.0.0.0/16/10.0.1.0/24 nesting aggregate/aggregate is not possible"),
        ((AGG16, POOL24), {"prefix": "10.0.0.0/25", "prefixType": "pool"},
         "parent 10.0.0.0/24/10.0.0.0/25 nesting pool/pool is not possible"),
        ((AGG16, POOL24), {"prefix": "10.0.0.64/26", "prefixType": "network"},
         "parent 10.0.0.0/24/10.0.0.64/26 nesting pool/network is not possible"),
        ((AGG16, NET24), {"prefix": "10.0.1.0/25", "prefixType": "pool"},
         "parent 10.0.1.0/24/10.0.1.0/25 nesting network/pool is not possible"),
        ((AGG16, POOL24), {"prefix": "10.0.0.0/20", "prefixType": "pool"},
         "child with addressing prefix not allowed in claim of type pool"),
        ((AGG16, POOL24), {"prefix": "10.0.0.0/20", "prefixType": "network"},
         "child with addressing prefix not allowed in claim of type network"),
        ((AGG16,), {"prefix": "10.0.2.0/24"}, "invalid prefixType: other"),
        ((AGG16,), {"prefix": "10.0.2.0/24", "prefixType": "regular"}, "invalid prefixType: regular"),
        ((AGG16,), {"address": "10.0.5.5/32"}, "a /32 or /128 address is not possible with a parent of type aggregate"),
        ((AGG16, NET24), {"address": "10.0.1.5/32"},
         "a /32 or /128 address is not possible with a parent of type network"),
        ((AGG16, POOL24), {"address": "10.0.0.5/24"},
         "a prefix based address is not possible with a parent of type pool"),
        ((AGG16,), {"range": "10.0.5.10-10.0.5.19"}, "a range is not possible with a parent of type aggregate"),
    ],
)
def test_refusals(index_prefixes: tuple[dict[str, Any], ...], spec: dict[str, Any], message: str) -> None:
    assert refusal(make(*index_prefixes), spec) == message


def test_index_prefixes_nest_aggregate_over_pools_in_either_order() -> None:
    index = make(POOL24, AGG16)  # the aggregate adopts the pool
    assert values(index, [("a", {})]) == ["10.0.0.0/32"]
    assert refusal(make({"prefix": "10.0.0.0/24", "prefixType": "aggregate"}), AGG16, index_owned=True) == (
        "nesting aggregate is not possible")
    other = {"prefix": "10.0.0.0/16", "prefixType": "other"}
    assert refusal(make(POOL24), other, index_owned=True) == "invalid claimType: other"
    assert values(make(other), [("o", {"address": "10.0.7.7/32"})]) == ["10.0.7.7/32"]
