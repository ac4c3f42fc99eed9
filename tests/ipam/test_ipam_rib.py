"""The IP RIB's shortcuts: the routes shorter than n and the routes carrying a label, each in RIB order and
equal to what a walk of the whole tree finds, whatever the tree holds and however it got there."""

from __future__ import annotations

import random

from ipam.ipclaim import parse_ip_claim
from ipam.ipindex import IPIndex
from ipam.iprib import RIB
from tests.ipam.randomised import Spec, grow_and_shrink


def shorter_by_full_walk(rib: RIB, plen: int) -> list[tuple[int, int, int]]:
    return [r.key for r in rib.walk() if r.prefix.plen < plen]


def random_index(seed: int) -> IPIndex:
    """An index grown and shrunk at random: nested static prefixes, ranges, dynamic prefixes and addresses,
    with labels that change as claims are written again."""
    rng = random.Random(seed)
    index = IPIndex("rib")
    for name, prefix in (("p4", "10.0.0.0/16"), ("p6", "1000::/48"), ("n4", "10.1.0.0/24")):
        kind = {"prefixType": "network"} if name == "n4" else {}
        spec = {"prefix": prefix, "labels": {"role": rng.choice("ab")}, **kind}
        index.claim(parse_ip_claim(name, spec, uid=name, index_owned=True))

    def fresh(rng: random.Random) -> Spec:
        roll = rng.random()
        if roll < 0.2:
            return {"prefix": f"10.0.{rng.randrange(256)}.0/{rng.choice((24, 25, 26))}"}
        if roll < 0.27:
            base = rng.randrange(0, 250)
            return {"range": f"10.0.200.{base}-10.0.200.{base + rng.randrange(5)}"}
        spec: Spec = {"createPrefix": True, "prefixLength": rng.choice((26, 28, 31, 64, 120))} if roll < 0.7 else {}
        if rng.random() < 0.3:
            spec["selector"] = {"matchLabels": {"role": rng.choice("abc")}}
        return spec

    grow_and_shrink(
        rng,
        300,
        fresh,
        lambda rng: {"role": rng.choice("abc"), "tier": rng.choice("xy")},
        lambda name, spec: index.claim(parse_ip_claim(name, spec, uid=name)),
        index.release,
    )
    return index


def test_walk_shorter_is_the_full_walk_restricted_to_shorter_routes() -> None:
    for seed in range(6):
        rib = random_index(seed).rib
        assert len(rib.routes) > 100
        for plen in (1, 17, 24, 25, 26, 27, 31, 32, 33, 64, 120, 128):
            assert [r.key for r in rib.walk_shorter(plen)] == shorter_by_full_walk(rib, plen), (seed, plen)


def test_labelled_routes_are_the_prefixes_and_ranges_a_full_walk_finds_with_the_label() -> None:
    for seed in range(6):
        rib = random_index(seed).rib
        found = 0
        for label, value in [("role", v) for v in "abcd"] + [("tier", v) for v in "xy"]:
            wanted = [r.key for r in rib.walk() if r.summary != "address" and r.user.get(label) == value]
            assert [r.key for r in rib.labelled(label, value)] == wanted, (seed, label, value)
            found += len(wanted)
        assert found > 50


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


def test_addresses_come_from_a_later_pool_past_the_prefixes_of_an_earlier_one() -> None:
    """The first pool holds many /31s (each a possible parent of addresses); the /32s come from the second
    pool, which only the routes labelled like the selector are looked at to find."""
    index = IPIndex("fabric")
    for name, prefix, pool in (("p2p", "10.0.0.0/16", "p2p"), ("lo", "10.1.0.0/16", "loopback")):
        index.claim(parse_ip_claim(name, {"prefix": prefix, "labels": {"pool": pool}}, uid=name, index_owned=True))
    p2p = {"createPrefix": True, "prefixLength": 31, "selector": {"matchLabels": {"pool": "p2p"}}}
    for i in range(200):
        index.claim(parse_ip_claim(f"link{i}", p2p, uid=f"l{i}"))
    loopback = {"selector": {"matchLabels": {"pool": "loopback"}}}
    got = [index.claim(parse_ip_claim(f"node{i}", loopback, uid=f"n{i}")).status["address"] for i in range(3)]
    assert got == ["10.1.0.0/32", "10.1.0.1/32", "10.1.0.2/32"]
    assert [r.owner for r in index.rib.labelled("pool", "loopback")] == ["lo"]
