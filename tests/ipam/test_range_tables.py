"""Range tables shared by both engines: an IP range that changes bounds or family keeps only what still fits."""

from __future__ import annotations

from typing import Any

from ipam.ipclaim import parse_ip_claim
from ipam.ipindex import IPIndex

FROM_R = {"selector": {"matchLabels": {"be.kuid.dev/claim-name": "r"}}}


def apply(index: IPIndex, name: str, spec: dict[str, Any], status: dict[str, Any] | None = None) -> Any:
    return index.claim(parse_ip_claim(name, spec, uid=f"uid-{name}", status=status))


def filled_range() -> IPIndex:
    index = IPIndex("kubenet")
    apply(index, "p4", {"prefix": "10.0.0.0/24"})
    apply(index, "p6", {"prefix": "1000::/64"})
    apply(index, "r", {"range": "10.0.0.10-10.0.0.19"})
    assert [apply(index, n, FROM_R).status["address"] for n in "abc"] == [
        "10.0.0.10/32", "10.0.0.11/32", "10.0.0.12/32"
    ]
    index.changes.drain()
    return index


def held(index: IPIndex) -> list[tuple[str, str]]:
    return [(a.name, a.owner) for a in index.allocations() if a.owner in ("a", "b", "c")]


def test_ip_range_that_shrinks_evicts_only_the_values_outside() -> None:
    index = filled_range()
    assert apply(index, "r", {"range": "10.0.0.11-10.0.0.20"}).dependents == ["a"]
    assert ("r", 4, 0x0A00000A, 32) in index.changes.drain()
    assert held(index) == [("r.10.0.0.11-32", "b"), ("r.10.0.0.12-32", "c")]
    assert apply(index, "a", FROM_R, status={"address": "10.0.0.10/32"}).status == {"address": "10.0.0.13/32"}


def test_ip_range_that_changes_family_evicts_every_value() -> None:
    index = filled_range()
    assert apply(index, "r", {"range": "1000::10-1000::1f"}).dependents == ["a", "b", "c"]
    assert held(index) == []
    assert apply(index, "a", FROM_R).status == {"address": "1000::10/128"}
    assert held(index) == [("r.1000--10-128", "a")]


def test_ip_range_whose_every_block_changes_keeps_the_values_that_still_fit() -> None:
    # 10-19 is covered by 10/31, 12/30, 16/29; 11-13 by 11/32, 12/31: no block is kept, the table still is
    index = filled_range()
    assert apply(index, "r", {"range": "10.0.0.11-10.0.0.13"}).dependents == ["a"]
    assert held(index) == [("r.10.0.0.11-32", "b"), ("r.10.0.0.12-32", "c")]
    assert apply(index, "a", FROM_R, status={"address": "10.0.0.10/32"}).status == {"address": "10.0.0.13/32"}
