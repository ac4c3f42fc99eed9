"""The IP RIB's length-restricted walk: the routes shorter than n, in RIB order, whatever the tree holds."""

from __future__ import annotations

import random

from ipam.errors import AllocationError
from ipam.ipclaim import parse_ip_claim
from ipam.ipindex import IPIndex
from ipam.iprib import RIB


def shorter_by_full_walk(rib: RIB, plen: int) -> list[tuple[int, int, int]]:
    return [r.key for r in rib.walk() if r.prefix.plen < plen]


def random_index(seed: int) -> IPIndex:
    """An index grown and shrunk at random: nested static prefixes, ranges, dynamic prefixes and addresses."""
    rng = random.Random(seed)
    index = IPIndex("rib")
    for name, prefix in (("p4", "10.0.0.0/16"), ("p6", "1000::/48"), ("n4", "10.1.0.0/24")):
        kind = {"prefixType": "network"} if name == "n4" else {}
        index.claim(parse_ip_claim(name, {"prefix": prefix, **kind}, uid=name, index_owned=True))
    names: list[str] = []
    for i in range(300):
        roll = rng.random()
        name = f"c{i}"
        if roll < 0.15:
            spec = {"prefix": f"10.0.{rng.randrange(256)}.0/{rng.choice((24, 25, 26))}"}
        elif roll < 0.2:
            base = rng.randrange(0, 250)
            spec = {"range": f"10.0.200.{base}-10.0.200.{base + rng.randrange(5)}"}
        elif roll < 0.55:
            spec = {"createPrefix": True, "prefixLength": rng.choice((26, 28, 31, 64, 120))}
        elif roll < 0.8:
            spec = {}
        elif names:
            index.release(names.pop(rng.randrange(len(names))))
            continue
        else:
            continue
        try:
            index.claim(parse_ip_claim(name, spec, uid=name))
            names.append(name)
        except AllocationError:
            index.release(name)
    return index


def test_walk_shorter_is_the_full_walk_restricted_to_shorter_routes() -> None:
    for seed in range(6):
        rib = random_index(seed).rib
        assert len(rib.routes) > 100
        for plen in (1, 17, 24, 25, 26, 27, 31, 32, 33, 64, 120, 128):
            assert [r.key for r in rib.walk_shorter(plen)] == shorter_by_full_walk(rib, plen), (seed, plen)


def test_dynamic_prefixes_come_from_a_later_pool_past_the_values_of_an_earlier_one() -> None:
    """The first pool holds many /32s; the /31s still come from the second pool, first the lowest."""
    index = IPIndex("fabric")
    for name, prefix, pool in (("lo", "10.0.0.0/16", "loopback"), ("p2p", "10.1.0.0/16", "p2p")):
        index.claim(parse_ip_claim(name, {"prefix": prefix, "labels": {"pool": pool}}, uid=name, index_owned=True))
    loopback = {"selector": {"matchLabels": {"pool": "loopback"}}}
    p2p = {"createPrefix": True, "prefixLength": 31, "selector": {"matchLabels": {"pool": "p2p"}}}
    for i in range(200):
        index.claim(parse_ip_claim(f"node{i}", loopback, uid=f"n{i}"))
    got = [index.claim(parse_ip_claim(f"link{i}", p2p, uid=f"l{i}")).status["prefix"] for i in range(3)]
    assert got == ["10.1.0.0/31", "10.1.0.2/31", "10.1.0.4/31"]
    assert [r.key for r in index.rib.walk_shorter(31)] == [(4, 10 << 24, 16), (4, (10 << 24) + (1 << 16), 16)]
