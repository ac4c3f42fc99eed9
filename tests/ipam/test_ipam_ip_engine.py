"""The IP engine, table-driven: every claim type, IPv4 and IPv6, the §2.16 errors and the fixed quirks."""

from __future__ import annotations

from typing import Any

import pytest

from ipam.errors import AllocationError, ClaimSyntaxError
from ipam.ipclaim import parse_ip_claim
from ipam.ipindex import IPIndex

NET4 = {"prefix": "10.0.0.0/24", "prefixType": "network"}
REG4 = {"prefix": "10.0.0.0/24"}
NET6 = {"prefix": "1000::/64", "prefixType": "network"}
REG6 = {"prefix": "1000::/64"}
V4 = {"matchLabels": {"ipam.be.kuid.dev/address-family": "ipv4"}}
V6 = {"matchLabels": {"ipam.be.kuid.dev/address-family": "ipv6"}}

Step = tuple[str, dict[str, Any]]


def apply(
    index: IPIndex, name: str, spec: dict[str, Any], status: dict[str, Any] | None = None, index_owned: bool = False
) -> dict[str, Any]:
    claim = parse_ip_claim(name, spec, uid=f"uid-{name}", status=status, index_owned=index_owned)
    return index.claim(claim).status


def run(steps: list[Step]) -> tuple[IPIndex, list[dict[str, Any]]]:
    index = IPIndex("kubenet")
    return index, [apply(index, name, spec) for name, spec in steps]


def last_error(steps: list[Step]) -> str:
    index, _ = run(steps[:-1])
    with pytest.raises(AllocationError) as info:
        apply(index, *steps[-1])
    return str(info.value)


# ------------------------------------------------------------------ successful allocations


@pytest.mark.parametrize(
    ("steps", "field", "expected"),
    [
        # dynamic addresses: best-fit, lowest address on ties (network reserves first/last)
        (
            [("p", NET4)] + [(f"a{i}", {}) for i in range(5)],
            "address",
            ["10.0.0.1/24", "10.0.0.254/24", "10.0.0.2/24", "10.0.0.3/24", "10.0.0.252/24"],
        ),
        ([("p", REG4)] + [(f"a{i}", {}) for i in range(3)], "address", ["10.0.0.0/32", "10.0.0.1/32", "10.0.0.2/32"]),
        (
            [("p", NET6)] + [(f"a{i}", {}) for i in range(3)],
            "address",
            ["1000::1/64", "1000::ffff:ffff:ffff:fffe/64", "1000::2/64"],
        ),
        ([("p", REG6)] + [(f"a{i}", {}) for i in range(2)], "address", ["1000::/128", "1000::1/128"]),
        # in an index of today's model, a claim naming a legacy prefix type is regular
        ([("p", {"prefix": "10.0.0.0/24", "prefixType": "pool"}), ("a", {})], "address", ["10.0.0.0/32"]),
        ([("p", {"prefix": "10.0.0.0/24", "prefixType": "aggregate"}), ("a", {})], "address", ["10.0.0.0/32"]),
        # IPv4 sorts before IPv6; the family selector picks the family
        ([("p6", REG6), ("p4", REG4), ("a", {}), ("b", {"selector": V6})], "address", ["10.0.0.0/32", "1000::/128"]),
        # static addresses keep the written form
        ([("p", NET4), ("a", {"address": "10.0.0.5/24"})], "address", ["10.0.0.5/24"]),
        ([("p", REG4), ("a", {"address": "10.0.0.5/32"})], "address", ["10.0.0.5/32"]),
        ([("p", REG6), ("a", {"address": "1000::5"})], "address", ["1000::5"]),
        # dynamic prefixes: best fit inside the first usable parent
        (
            [
                ("p", {"prefix": "10.0.0.0/16"}),
                ("s", {"prefix": "10.0.0.0/24"}),
                ("d1", {"createPrefix": True, "prefixLength": 24}),
                ("d2", {"createPrefix": True, "prefixLength": 25}),
            ],
            "prefix",
            ["10.0.1.0/24", "10.0.2.0/25"],
        ),
        ([("p", {"prefix": "1000::/48"}), ("d", {"createPrefix": True, "prefixLength": 64})], "prefix", ["1000::/64"]),
        # ranges and lowest free inside them, selected by claim-name
        (
            [("p", REG4), ("r", {"range": "10.0.0.10-10.0.0.19"})]
            + [(f"a{i}", {"selector": {"matchLabels": {"be.kuid.dev/claim-name": "r"}}}) for i in range(3)],
            "address",
            ["10.0.0.10/32", "10.0.0.11/32", "10.0.0.12/32"],
        ),
        # an address outside a range's blocks does not take from it
        ([("p", REG4), ("r", {"range": "10.0.0.0-10.0.0.3"}), ("a", {})], "address", ["10.0.0.4/32"]),
    ],
)
def test_allocations(steps: list[Step], field: str, expected: list[str]) -> None:
    _, results = run(steps)
    assert [r[field] for r in results if field in r and r is not results[0]][-len(expected) :] == expected


def test_network_prefix_with_gateway_expands_and_reports_it() -> None:
    index, results = run(
        [
            ("p", {"prefix": "10.0.0.1/24", "prefixType": "network", "defaultGateway": True}),
            ("a", {}),
            ("s", {"address": "10.0.0.9/24"}),
        ]
    )
    assert results[0] == {"prefix": "10.0.0.1/24", "defaultGateway": "10.0.0.1"}
    assert results[1] == {"address": "10.0.0.254/24", "defaultGateway": "10.0.0.1"}  # [2..254]: .254 fits best
    assert results[2]["defaultGateway"] == "10.0.0.1"
    names = [a.name for a in index.allocations()]
    assert names == ["10.0.0.0-24", "10.0.0.0-32", "10.0.0.1-32", "10.0.0.9-32", "10.0.0.254-32", "10.0.0.255-32"]
    gateway = [a for a in index.allocations() if a.default_gateway]
    assert [a.value for a in gateway] == ["10.0.0.1/32"]


def test_ipv4_mapped_prefixes_are_ipv6_named_and_reported_as_go_prints_them() -> None:
    index, results = run(
        [
            ("p", {"prefix": "::ffff:10.0.0.1/120", "prefixType": "network", "defaultGateway": True}),
            ("a", {"selector": V6}),  # an IPv4-mapped prefix is IPv6
            ("q", {"prefix": "::ffff:10.1.0.0/120"}),
            ("r", {"range": "::ffff:10.1.0.10-::ffff:10.1.0.11"}),
        ]
    )
    assert results[0] == {"prefix": "::ffff:10.0.0.1/120", "defaultGateway": "::ffff:10.0.0.1"}
    assert results[1] == {"address": "::ffff:10.0.0.254/120", "defaultGateway": "::ffff:10.0.0.1"}
    assert results[3] == {"range": "::ffff:10.1.0.10-::ffff:10.1.0.11"}
    assert [a.name for a in index.allocations()] == [
        "--ffff-10.0.0.0-120",
        "--ffff-10.0.0.0-128",
        "--ffff-10.0.0.1-128",
        "--ffff-10.0.0.254-128",
        "--ffff-10.0.0.255-128",
        "--ffff-10.1.0.0-120",
        "--ffff-10.1.0.10-127",
    ]


def test_point_to_point_network_is_not_expanded() -> None:
    index, _ = run([("p", {"prefix": "10.0.0.0/31", "prefixType": "network"})])
    assert [a.value for a in index.allocations()] == ["10.0.0.0/31"]


def test_range_entries_are_named_after_the_range_claim() -> None:
    index, _ = run(
        [
            ("p", REG4),
            ("r", {"range": "10.0.0.10-10.0.0.19"}),
            ("a", {"selector": {"matchLabels": {"be.kuid.dev/claim-name": "r"}}}),
        ]
    )
    assert [a.name for a in index.allocations()] == [
        "10.0.0.0-24",
        "10.0.0.10-31",
        "10.0.0.12-30",
        "10.0.0.16-30",
        "r.10.0.0.10-32",
    ]


def test_reapplied_dynamic_claims_keep_their_values() -> None:
    index, results = run([("p", NET4), ("a", {}), ("b", {})])
    assert apply(index, "a", {}, status=results[1]) == results[1]
    assert apply(index, "b", {}, status=results[2]) == results[2]


# ------------------------------------------------------------------ errors (§2.16)

OWNER = "route owned by different claim got name b/a uid uid-b/uid-a"


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([("p", REG4), ("a", {"address": "10.0.0.5/32"}), ("b", {"address": "10.0.0.5/32"})], OWNER),
        ([("p", REG6), ("a", {"address": "1000::5/128"}), ("b", {"address": "1000::5/128"})], OWNER),
        ([("a", {"prefix": "10.0.0.0/24"}), ("b", {"prefix": "10.0.0.0/24"})], OWNER),
        ([("x", {"address": "10.0.0.5/32"})], "a prefix range always needs a parent"),
        ([("x", {"range": "10.0.0.1-10.0.0.5"})], "a prefix range always needs a parent"),
        (
            [("p", NET4), ("x", {"address": "10.0.0.5/32"})],
            "a /32 or /128 address is not possible with a parent of type network",
        ),
        (
            [("p", NET6), ("x", {"address": "1000::5/128"})],
            "a /32 or /128 address is not possible with a parent of type network",
        ),
        (
            [("p", REG4), ("x", {"address": "10.0.0.5/24"})],
            "a prefix based address is not possible with a parent of type regular",
        ),
        (
            [
                ("p", REG4),
                ("r", {"range": "10.0.0.10-10.0.0.19"}),
                ("a", {"address": "10.0.0.12/32"}),
                ("b", {"address": "10.0.0.12/32"}),
            ],
            "address is already allocated in range 10.0.0.10-10.0.0.19, err: "
            "route owned by different claim got name b/a uid uid-b/uid-a",
        ),
        (
            [("p", NET4), ("x", {"prefix": "10.0.0.0/26"})],
            "parent 10.0.0.0/24/10.0.0.0/26 nesting network/regular is not possible",
        ),
        (
            [("p", NET4), ("x", {"prefix": "10.0.0.0/26", "prefixType": "network"})],
            "parent 10.0.0.0/24/10.0.0.0/26 nesting network/network is not possible",
        ),
        (
            [
                ("p", {"prefix": "1000::/48", "prefixType": "network"}),
                ("x", {"prefix": "1000::/64", "prefixType": "network"}),
            ],
            "parent 1000::/48/1000::/64 nesting network/network is not possible",
        ),
        (
            [
                ("p", REG4),
                ("r", {"range": "10.0.0.0-10.0.0.63"}),
                ("x", {"prefix": "10.0.0.0/28", "prefixType": "network"}),
            ],
            "parent range not allowed in claim of type network",
        ),
        (  # nor a regular one (kuid: only a network), whose values the range's table would hand out again
            [("p", REG4), ("r", {"range": "10.0.0.8-10.0.0.23"}), ("x", {"prefix": "10.0.0.12/30"})],
            "parent range not allowed in claim of type regular",
        ),
        (
            [("p", {"prefix": "10.0.0.0/16"}), ("c", REG4), ("x", {"prefix": "10.0.0.0/20", "prefixType": "network"})],
            "child with addressing prefix not allowed in claim of type network",
        ),
        (  # a network's network, broadcast and gateway addresses are never another claim's (Q14)
            [("p", {"prefix": "10.0.0.0/16"}), ("a", {"address": "10.0.0.255/32"}), ("x", NET4)],
            "route owned by different claim got name x/a uid uid-x/uid-a",
        ),
        (  # nor an address of another claim's range, which its table would hand out again
            [("p", {"prefix": "10.0.0.0/16"}), ("r", {"range": "10.0.0.250-10.0.0.255"}), ("x", NET4)],
            "route owned by different claim got name x/r uid uid-x/uid-r",
        ),
        (
            [("p", REG4), ("a", {"address": "10.0.0.12/32"}), ("r", {"range": "10.0.0.10-10.0.0.19"})],
            "cannot have children for a range 10.0.0.12/30",
        ),
        (  # two overlapping ranges: a block of the new one holds a block of the other
            [("p", REG4), ("q", {"range": "10.0.0.10-10.0.0.19"}), ("r", {"range": "10.0.0.0-10.0.0.11"})],
            "cannot have children for a range 10.0.0.8/30",
        ),
        (  # ... or a block of the other holds one of the new range's (their parents differ)
            [("p", REG4), ("q", {"range": "10.0.0.10-10.0.0.19"}), ("r", {"range": "10.0.0.15-10.0.0.25"})],
            "a range has to fit into a single parent prefix got 10.0.0.12/30 and 10.0.0.0/24",
        ),
        (  # the same range twice: its blocks are the other claim's
            [("p", REG4), ("q", {"range": "10.0.0.10-10.0.0.19"}), ("r", {"range": "10.0.0.10-10.0.0.19"})],
            "route owned by different claim got name r/q uid uid-r/uid-q",
        ),
        (  # a range inside one block of another (kuid takes it: both tables would hand out 10.0.0.12)
            [("p", REG4), ("q", {"range": "10.0.0.10-10.0.0.19"}), ("r", {"range": "10.0.0.12-10.0.0.13"})],
            "a range cannot lie in another range: 10.0.0.12-10.0.0.13 in 10.0.0.10-10.0.0.19",
        ),
        (
            [("p", REG4), ("q", {"prefix": "10.0.1.0/24"}), ("r", {"range": "10.0.0.250-10.0.1.5"})],
            "a range has to fit into a single parent prefix got 10.0.0.0/24 and 10.0.1.0/24",
        ),
        (
            [("p", REG4), ("x", {"selector": V6})],
            "dynamic claim: no available routes based on the selector labels map[ipam.be.kuid.dev/address-family:ipv6]",
        ),
        ([("p", {"prefix": "10.0.0.0/24"}), ("x", {"createPrefix": True, "prefixLength": 16})], "no free prefix found"),
        (
            [("p", {"prefix": "10.0.0.0/31"}), ("a", {}), ("b", {}), ("x", {})],
            "no free addresses found in routes: [10.0.0.0/31]",
        ),
        (
            [("p", REG4), ("r", {"range": "10.0.0.10-10.0.0.11"})]
            + [(n, {"selector": {"matchLabels": {"be.kuid.dev/claim-name": "r"}}}) for n in ("a", "b", "x")],
            "no free entry found",
        ),
    ],
)
def test_errors(steps: list[Step], message: str) -> None:
    assert last_error(steps) == message


# ------------------------------------------------------------------ syntax validation


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"prefix": "10.0.0.0/24", "address": "10.0.0.1/32"},
            "an ipclaim can only have 1 claimType, got address: 10.0.0.1/32, prefix: 10.0.0.0/24",
        ),
        (
            {"prefix": "10.0.0.1/32"},
            "staticIPprefix invalid prefix, no /32 for ipv4 or /128 for ipv6 notationallowed, got 10.0.0.1/32",
        ),
        (
            {"prefix": "1000::1/128"},
            "staticIPprefix invalid prefix, no /32 for ipv4 or /128 for ipv6 notationallowed, got 1000::1/128",
        ),
        ({"prefix": "10.0.0.0/24", "prefixType": "bogus"}, "staticIPprefix, invalid claim type, got invalid"),
        (
            {"prefix": "10.0.0.1/24"},
            "staticIPprefix, invalid prefix net <> address is not allowed for claimType: regular",
        ),
        (
            {"prefix": "10.0.0.0/24", "defaultGateway": True},
            "staticIPprefix cannot have a defaultGateway on a prefix which is not a network type",
        ),
        (
            {"prefix": "10.0.0.0/24", "prefixType": "network", "defaultGateway": True},
            "staticIPprefix cannot have a defaultGateway on a prefix which is the first or last ip in the prefix",
        ),
        ({"prefix": "10.0.0.0/24", "addressFamily": "ipv4"}, "staticIPprefix cannot have a addressFamily"),
        ({"prefix": "10.0.0.0/24", "idx": 1}, "staticIPprefix cannot have a index"),
        (
            {"address": "10.0.0.1/32", "defaultGateway": True},
            "staticIPAddress cannot have a defaultGateway on a prefix which is not a network type",
        ),
        (
            {"address": "10.0.0.0/24"},
            "staticIPAddress cannot have a address that is the first or last address in a prefix based address",
        ),
        ({"address": "10.0.0.1/32", "prefixLength": 32}, "staticIPAddress cannot have a prefixLength"),
        ({"range": "10.0.0.1"}, 'staticIPRange invalid range; err no hyphen in range "10.0.0.1"'),
        ({"range": "10.0.0.9-10.0.0.1"}, "staticIPRange invalid range; err range 10.0.0.9 to 10.0.0.1 not valid"),
        (
            {"range": "10.0.0.1-10.0.0.9", "prefixType": "network"},
            "staticIPRange invalid claim, expecting regular, got network",
        ),
        ({"createPrefix": True}, "dynamicIPprefix must have a prefixLength"),
        (
            {"createPrefix": True, "prefixLength": 24, "defaultGateway": True},
            "dynamicIPprefix cannot have a defaultGateway",
        ),
        ({"prefixType": "bogus"}, "dynamicIPRange, invalid claim type, got invalid"),
        ({"prefixLength": 24}, "dynamicIPRange cannot have a prefixLength"),
    ],
)
def test_syntax_errors(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ClaimSyntaxError) as info:
        parse_ip_claim("x", spec)
    assert message in info.value.details


def test_point_to_point_prefix_based_address_may_be_first_or_last() -> None:
    assert parse_ip_claim("x", {"address": "10.0.0.0/31"}).prefix is not None


# ------------------------------------------------------------------ §5 quirks, fixed


def test_q5_status_address_outside_every_selected_parent_is_not_reused() -> None:
    index, _ = run([("p", REG4)])
    assert apply(index, "a", {}, status={"address": "192.168.0.7/32"}) == {"address": "10.0.0.0/32"}


def test_q5_q10_status_address_is_reused_when_free_in_a_selected_parent_or_range() -> None:
    index, _ = run([("p", REG4), ("r", {"range": "10.0.0.10-10.0.0.19"})])
    assert apply(index, "a", {}, status={"address": "10.0.0.77/32"}) == {"address": "10.0.0.77/32"}
    selector = {"selector": {"matchLabels": {"be.kuid.dev/claim-name": "r"}}}
    assert apply(index, "b", selector, status={"address": "10.0.0.15/32"}) == {"address": "10.0.0.15/32"}


def test_q7_dynamic_prefixes_do_not_nest_in_network_prefixes() -> None:
    assert last_error([("p", NET4), ("x", {"createPrefix": True, "prefixLength": 28})]) == "no free prefix found"


def test_q8_static_address_on_a_single_address_range_block_is_a_range_address() -> None:
    index, results = run([("p", REG4), ("r", {"range": "10.0.0.10-10.0.0.11"}), ("a", {"address": "10.0.0.10/32"})])
    assert results[2] == {"address": "10.0.0.10/32"}
    assert "r.10.0.0.10-32" in [a.name for a in index.allocations()]


def test_q9_releasing_a_parent_reports_the_claims_that_lost_values() -> None:
    index, _ = run(
        [
            ("p", REG4),
            ("q", REG6),
            ("a", {}),
            ("b", {"selector": V6}),
            ("r", {"range": "10.0.0.10-10.0.0.19"}),
            ("c", {"selector": {"matchLabels": {"be.kuid.dev/claim-name": "r"}}}),
        ]
    )
    assert index.release("p") == ["a", "c", "r"]
    assert [a.owner for a in index.allocations()] == ["q", "b"]


def test_q9_label_change_keeps_the_values_under_a_prefix() -> None:
    index, _ = run([("p", REG4), ("a", {})])
    apply(index, "p", {"prefix": "10.0.0.0/24", "labels": {"purpose": "loopback"}})
    assert [a.owner for a in index.allocations()] == ["p", "a"]


def test_addresses_under_a_prefix_take_its_new_labels_at_once() -> None:
    index, _ = run([("p", {"prefix": "10.0.0.0/24", "labels": {"purpose": "loopback", "site": "x"}}),
                    ("q", {"prefix": "10.0.0.128/25"}),
                    ("a", {"labels": {"site": "own"}}), ("b", {"address": "10.0.0.7/32"}),
                    ("c", {"address": "10.0.0.130/32"})])
    index.changes.drain()
    apply(index, "p", {"prefix": "10.0.0.0/24", "labels": {"purpose": "infra", "site": "y"}})
    assert [index.entry_suffix(k) for k in index.changes.drain()] == ["10.0.0.0-24", "10.0.0.0-32", "10.0.0.7-32"]
    labels = {a.owner: a.labels for a in index.allocations()}
    assert labels["a"] == {"purpose": "infra", "site": "own"}  # its own label still wins
    assert labels["b"] == {"purpose": "infra", "site": "y"}
    assert labels["c"] == {}  # in the /25, which has labels of its own (none)
    apply(index, "p", {"prefix": "10.0.0.0/24", "labels": {"purpose": "infra", "site": "y"}})
    assert index.changes.drain() == []


def test_a_prefix_inserted_over_addresses_passes_its_labels_to_them() -> None:
    """As an index rebuilt from the store has them: the prefix is replayed before the address."""
    index, _ = run([("p", {"prefix": "10.0.0.0/24", "labels": {"site": "x"}}), ("a", {"address": "10.0.0.7/32"})])
    index.changes.drain()
    apply(index, "q", {"prefix": "10.0.0.0/25", "labels": {"site": "q"}})
    assert [index.entry_suffix(k) for k in index.changes.drain()] == ["10.0.0.0-25", "10.0.0.7-32"]
    assert next(a for a in index.allocations() if a.owner == "a").labels == {"site": "q"}
    rebuilt, _ = run([("p", {"prefix": "10.0.0.0/24", "labels": {"site": "x"}}),
                      ("q", {"prefix": "10.0.0.0/25", "labels": {"site": "q"}}), ("a", {"address": "10.0.0.7/32"})])
    assert list(rebuilt.allocations()) == list(index.allocations())


def test_addresses_in_a_range_take_its_new_labels_at_once() -> None:
    index, _ = run([("p", REG4), ("r", {"range": "10.0.0.10-10.0.0.13", "labels": {"pool": "a"}})])
    apply(index, "h", {"selector": {"matchLabels": {"be.kuid.dev/claim-name": "r"}}, "labels": {"me": "h"}})
    index.changes.drain()
    apply(index, "r", {"range": "10.0.0.10-10.0.0.13", "labels": {"pool": "b"}})
    changed = {index.entry_suffix(k): k for k in index.changes.drain()}
    assert sorted(changed) == ["10.0.0.10-31", "10.0.0.12-31", "r.10.0.0.10-32"]
    held = index.allocation(changed["r.10.0.0.10-32"])
    assert held is not None and held.labels == {"pool": "b", "me": "h"}


def test_q12_claim_labels_win_over_inherited_parent_labels() -> None:
    index, _ = run(
        [
            ("p", {"prefix": "10.0.0.0/24", "labels": {"role": "parent", "site": "x"}}),
            ("a", {"labels": {"role": "child"}}),
        ]
    )
    address = next(a for a in index.allocations() if a.owner == "a")
    assert address.labels == {"role": "child", "site": "x"}


def test_q14_a_stale_status_prefix_never_shares_another_claims_route() -> None:
    index, _ = run([("p", {"prefix": "10.0.0.0/16"}), ("d", {"createPrefix": True, "prefixLength": 24})])
    got = apply(index, "e", {"createPrefix": True, "prefixLength": 24}, status={"prefix": "10.0.0.0/24"})
    assert got == {"prefix": "10.0.1.0/24"}


@pytest.mark.parametrize(
    ("held", "message"),
    [
        (("g", {"address": "10.0.0.1/32"}), "route owned by different claim got name n/g uid uid-n/uid-g"),
        (("q", {"prefix": "10.0.0.128/25"}), "child with addressing prefix not allowed in claim of type network"),
        (("r", {"range": "10.0.0.0-10.0.0.3"}), "route owned by different claim got name n/r uid uid-n/uid-r"),
    ],
)
def test_a_prefix_rewritten_as_a_network_is_checked_as_a_new_one_and_refused_leaves_the_index(
    held: Step, message: str
) -> None:
    index, _ = run([("p", {"prefix": "10.0.0.0/16"}), ("n", REG4), held])
    before = [(a.name, a.owner, a.prefix_type, a.default_gateway) for a in index.allocations()]
    index.changes.drain()
    with pytest.raises(AllocationError) as info:
        apply(index, "n", {"prefix": "10.0.0.1/24", "prefixType": "network", "defaultGateway": True})
    assert str(info.value) == message
    assert [(a.name, a.owner, a.prefix_type, a.default_gateway) for a in index.allocations()] == before
    assert index.changes.drain() == []


def test_static_prefix_moves_and_releases_the_old_value() -> None:
    index, _ = run([("p", {"prefix": "10.0.0.0/16"}), ("s", {"prefix": "10.0.1.0/24"})])
    apply(index, "s", {"prefix": "10.0.2.0/24"})
    assert [a.value for a in index.allocations()] == ["10.0.0.0/16", "10.0.2.0/24"]


def test_index_owned_prefix_may_be_top_level_and_regular_nests_in_regular() -> None:
    index, _ = run(
        [("a", {"prefix": "10.0.0.0/8"}), ("b", {"prefix": "10.1.0.0/16"}), ("c", {"prefix": "10.0.0.0/12"})]
    )
    assert [a.value for a in index.allocations()] == ["10.0.0.0/8", "10.0.0.0/12", "10.1.0.0/16"]


# ------------------------------------------------------------------ change log (what the plug-in writes as entries)

CHANGE_LOG_STEPS: list[Step] = [
    ("p", {"prefix": "10.0.0.1/24", "prefixType": "network", "defaultGateway": True}),
    ("q", {"prefix": "10.1.0.0/24"}),
    ("r", {"range": "10.1.0.10-10.1.0.13"}),
    ("a", {"selector": V4}),
    ("s", {"address": "10.0.0.9/24"}),
    ("t", {"address": "10.1.0.11/32"}),
    ("h", {"selector": {"matchLabels": {"be.kuid.dev/claim-name": "r"}}}),
    ("d", {"createPrefix": True, "prefixLength": 28, "selector": {"matchLabels": {"role": "pool"}}}),
]


def test_claims_written_again_unchanged_log_no_change() -> None:
    index = IPIndex("kubenet")
    index.claim(parse_ip_claim("pool", {"prefix": "10.2.0.0/16", "labels": {"role": "pool"}}, uid="uid-pool"))
    statuses = {name: apply(index, name, spec) for name, spec in CHANGE_LOG_STEPS}
    assert index.changes.drain() != []
    for name, spec in CHANGE_LOG_STEPS:
        assert apply(index, name, spec, status=statuses[name]) == statuses[name]
    assert index.changes.drain() == []


def test_change_log_names_exactly_the_values_that_changed() -> None:
    index, _ = run([("p", REG4), ("r", {"range": "10.0.0.10-10.0.0.13"}), ("a", {"address": "10.0.0.5/32"})])
    held = apply(index, "h", {"selector": {"matchLabels": {"be.kuid.dev/claim-name": "r"}}})
    index.changes.drain()
    apply(index, "a", {"address": "10.0.0.5/32", "labels": {"role": "x"}})
    assert [index.entry_suffix(k) for k in index.changes.drain()] == ["10.0.0.5-32"]
    apply(index, "h", {"selector": {"matchLabels": {"be.kuid.dev/claim-name": "r"}}, "labels": {"role": "y"}},
          status=held)
    assert [index.entry_suffix(k) for k in index.changes.drain()] == ["r.10.0.0.10-32"]
    apply(index, "a", {"address": "10.0.0.6/32", "labels": {"role": "x"}})
    assert sorted(index.entry_suffix(k) for k in index.changes.drain()) == ["10.0.0.5-32", "10.0.0.6-32"]


def test_an_address_from_a_range_rewritten_as_a_prefix_lets_the_range_address_go() -> None:
    index, _ = run([("p", REG4), ("r", {"range": "10.0.0.10-10.0.0.13"}),
                    ("a", {"selector": {"matchLabels": {"be.kuid.dev/claim-name": "r"}}})])
    apply(index, "a", {"prefix": "10.0.0.64/26"})
    assert [(x.name, x.value) for x in index.allocations() if x.owner == "a"] == [("10.0.0.64-26", "10.0.0.64/26")]


# ------------------------------------------------------------------ further spec statements (conformance audit)


@pytest.mark.parametrize("address", ["10.0.0.5/32", "10.0.0.12/32"], ids=["prefix", "range"])
def test_the_owner_rule_conflicts_only_when_both_the_name_and_the_uid_differ(address: str) -> None:
    """§1.2 ``ValidateOwner``: a claim re-created under its name (a new uid) is the same owner, and so is another
    claim with its uid; the value is then the taker's (the one it was taken from no longer holds it)."""
    index, _ = run([("p", REG4), ("r", {"range": "10.0.0.10-10.0.0.19"})])
    spec = {"address": address}
    assert index.claim(parse_ip_claim("a", spec, uid="first")).status == spec
    assert index.claim(parse_ip_claim("a", spec, uid="second")).status == spec
    assert index.claim(parse_ip_claim("b", spec, uid="second")).status == spec
    assert index.release("a") == []
    assert [x.owner for x in index.allocations() if x.value == address] == ["b"]
    with pytest.raises(AllocationError) as info:
        index.claim(parse_ip_claim("c", spec, uid="third"))
    assert str(info.value).endswith("route owned by different claim got name c/b uid third/second")


@pytest.mark.parametrize(
    ("spec", "claim_type"),
    [
        ({"address": "10.0.0.1/32"}, "staticAddress"),
        ({"prefix": "10.0.0.0/24"}, "staticPrefix"),
        ({"range": "10.0.0.1-10.0.0.2"}, "staticRange"),
        ({"createPrefix": True, "prefixLength": 28}, "dynamicPrefix"),
        ({"createPrefix": False, "prefixLength": 28}, "dynamicPrefix"),  # its presence, not its value
        ({}, "dynamicAddress"),
        ({"address": None, "prefix": None, "range": None}, "dynamicAddress"),  # null is absent
    ],
)
def test_the_claim_type_follows_the_fields_that_are_set(spec: dict[str, Any], claim_type: str) -> None:
    assert parse_ip_claim("x", spec).claim_type == claim_type


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"prefix": ""}, 'staticIPprefix invalid prefix , err: netip.ParsePrefix(""): no \'/\''),
        ({"range": ""}, 'staticIPRange invalid range; err no hyphen in range ""'),
        ({"address": "", "range": ""}, "an ipclaim can only have 1 claimType, got address: , range: "),
    ],
)
def test_a_value_given_empty_is_given_and_does_not_parse(spec: dict[str, Any], message: str) -> None:
    """An empty ``prefix`` (a template that rendered nothing) is a static prefix that does not parse, as the
    reference's pointer fields have it, not a dynamic address that silently gets one."""
    with pytest.raises(ClaimSyntaxError) as info:
        parse_ip_claim("x", spec)
    assert message in info.value.details


def test_three_values_name_all_three_in_the_reference_order() -> None:
    with pytest.raises(ClaimSyntaxError) as info:
        parse_ip_claim("x", {"range": "10.0.0.1-10.0.0.2", "prefix": "10.0.0.0/24", "address": "10.0.0.1/32"})
    assert str(info.value) == ("an ipclaim can only have 1 claimType, got address: 10.0.0.1/32, prefix: 10.0.0.0/24, "
                               "range: 10.0.0.1-10.0.0.2")


def test_address_family_of_a_dynamic_claim_is_accepted_and_not_used() -> None:
    """§2.2: the family is chosen through the selector label, so the first parent in RIB order (IPv4) wins."""
    _, results = run([("p6", REG6), ("p4", REG4), ("a", {"addressFamily": "ipv6"})])
    assert results[2] == {"address": "10.0.0.0/32"}


def test_only_addresses_right_in_a_network_show_its_gateway() -> None:
    """§2.11: an address in a range (even one inside a network) or in a regular prefix never gets it; §2.10: an
    address from a range is a /32."""
    _, results = run(
        [
            ("n", {"prefix": "10.0.0.1/24", "prefixType": "network", "defaultGateway": True}),
            ("r", {"range": "10.0.0.10-10.0.0.19"}),
            ("q", {"prefix": "10.1.0.0/24"}),
            ("from-range", {"selector": {"matchLabels": {"be.kuid.dev/claim-name": "r"}}}),
            ("in-range", {"address": "10.0.0.15/32"}),
            ("in-network", {}),
            ("regular", {"selector": {"matchLabels": {"be.kuid.dev/claim-name": "q"}}}),
        ]
    )
    assert results[3:] == [
        {"address": "10.0.0.10/32"},
        {"address": "10.0.0.15/32"},
        {"address": "10.0.0.254/24", "defaultGateway": "10.0.0.1"},
        {"address": "10.1.0.0/32"},
    ]


def test_a_prefix_based_address_keeps_its_length_which_is_not_checked_against_the_parent() -> None:
    """§2.8: ``10.0.0.50/16`` in the network ``10.0.0.0/24`` is accepted as written, and is in that subnet."""
    index, results = run([("n", {"prefix": "10.0.0.1/24", "prefixType": "network", "defaultGateway": True}),
                          ("a", {"address": "10.0.0.50/16"})])
    assert results[1] == {"address": "10.0.0.50/16", "defaultGateway": "10.0.0.1"}
    held = next(a for a in index.allocations() if a.owner == "a")
    assert (held.value, held.prefix_type) == ("10.0.0.50/32", "network")


def test_a_dynamic_network_prefix_expands_and_keeps_only_its_own_labels() -> None:
    """§2.9 step 5: applied like a static prefix (first and last address reserved), no label inheritance."""
    index, results = run([("p", {"prefix": "10.0.0.0/16", "labels": {"site": "a"}}),
                          ("d", {"createPrefix": True, "prefixLength": 24, "prefixType": "network",
                                 "labels": {"role": "net"}}),
                          ("x", {"selector": {"matchLabels": {"be.kuid.dev/claim-name": "d"}}})])
    assert results[1:] == [{"prefix": "10.0.0.0/24"}, {"address": "10.0.0.1/24"}]
    assert [(a.value, a.labels) for a in index.allocations() if a.owner == "d"] == [
        ("10.0.0.0/24", {"role": "net"}), ("10.0.0.0/32", {"role": "net"}), ("10.0.0.255/32", {"role": "net"})]


def test_a_dynamic_prefix_whose_selector_matches_nothing_says_so() -> None:
    assert last_error([("p", REG4), ("d", {"createPrefix": True, "prefixLength": 28,
                                           "selector": {"matchLabels": {"purpose": "p2p", "site": "x"}}})]) == (
        "dynamic claim: no available routes based on the selector labels map[purpose:p2p site:x]")


def test_exhausted_addresses_list_every_prefix_tried_in_rib_order() -> None:
    steps: list[Step] = [("q", {"prefix": "10.0.1.0/31"}), ("p", {"prefix": "10.0.0.0/31"})]
    assert last_error([*steps, *((n, {}) for n in "abcd"), ("x", {})]) == (
        "no free addresses found in routes: [10.0.0.0/31 10.0.1.0/31]")


def test_a_point_to_point_ipv6_network_reserves_nothing() -> None:
    """§2.4/§2.5: a /127 network stores its subnet only; both addresses go out, with the network's length."""
    index, results = run([("p", {"prefix": "1000::/127", "prefixType": "network"}), ("a", {}), ("b", {})])
    assert [a.value for a in index.allocations() if a.owner == "p"] == ["1000::/127"]
    assert results[1:] == [{"address": "1000::/127"}, {"address": "1000::1/127"}]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ({"ipam.be.kuid.dev/ipprefix-type": "network"}, "10.1.0.1/24"),
        ({"ipam.be.kuid.dev/claim-summary-type": "range"}, "10.0.0.10/32"),
        ({"be.kuid.dev/claim-type": "staticRange"}, "10.0.0.10/32"),
        ({"ipam.be.kuid.dev/subnet": "10.1.0.0-24"}, "10.1.0.1/24"),
        ({"be.kuid.dev/index-entry": "true"}, "10.1.0.1/24"),  # only n is the index's own
        ({"be.kuid.dev/owner-kind": "IPClaim", "ipam.be.kuid.dev/address-family": "ipv6"}, "1000::/128"),
        ({"role": "edge", "site": "x"}, "10.2.0.0/32"),  # all pairs must match: not the prefix with role=edge only
    ],
)
def test_selectors_match_system_labels_and_every_pair(selector: dict[str, str], expected: str) -> None:
    """§1.3: the system labels stored with each value are selectable; matchLabels pairs are ANDed."""
    index = IPIndex("kubenet")
    apply(index, "p", {"prefix": "10.0.0.0/24", "labels": {"role": "edge"}})
    apply(index, "n", {"prefix": "10.1.0.0/24", "prefixType": "network"}, index_owned=True)
    apply(index, "q", {"prefix": "10.2.0.0/24", "labels": {"role": "edge", "site": "x"}})
    apply(index, "v6", REG6)
    apply(index, "r", {"range": "10.0.0.10-10.0.0.19"})
    assert apply(index, "x", {"selector": {"matchLabels": selector}}) == {"address": expected}


def test_match_expressions_are_ignored() -> None:
    """§1.3: only matchLabels selects; a selector of matchExpressions alone matches everything."""
    index, _ = run([("p", REG4)])
    selector = {"matchExpressions": [{"key": "role", "operator": "In", "values": ["none"]}]}
    assert apply(index, "x", {"selector": selector}) == {"address": "10.0.0.0/32"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"address": "10.0.0.1/32", "createPrefix": True}, "staticIPAddress cannot have a createPrefix"),
        ({"address": "10.0.0.1/32", "addressFamily": "ipv4"}, "staticIPAddress cannot have a addressFamily"),
        ({"address": "10.0.0.1/32", "idx": 1}, "staticIPAddress cannot have a index"),
        ({"range": "10.0.0.1-10.0.0.9", "defaultGateway": True}, "staticIPRange cannot have a defaultGateway"),
        ({"range": "10.0.0.1-10.0.0.9", "createPrefix": True}, "staticIPRange cannot have a createPrefix"),
        ({"range": "10.0.0.1-10.0.0.9", "prefixLength": 24}, "staticIPRange cannot have a prefixLength"),
        ({"range": "10.0.0.1-10.0.0.9", "addressFamily": "ipv4"}, "staticIPRange cannot have a addressFamily"),
        ({"range": "10.0.0.1-10.0.0.9", "idx": 1}, "staticIPRange cannot have a index"),
        ({"createPrefix": True, "prefixLength": 24, "prefixType": "bogus"}, "dynamicIPprefix, invalid claim type, got "
                                                                            "invalid"),
        ({"defaultGateway": True}, "dynamicIPRange cannot have a defaultGateway"),
    ],
)
def test_fields_a_claim_type_cannot_have(spec: dict[str, Any], message: str) -> None:
    """§2.3, the validators' forbidden fields (each message is prefixed with the validator's name, sic)."""
    with pytest.raises(ClaimSyntaxError) as info:
        parse_ip_claim("x", spec)
    assert message in info.value.details
