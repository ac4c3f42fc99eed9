"""The ID engine (VLAN, AS, GENID, EXTCOMM), table-driven: claim types, errors and the fixed quirks."""

from __future__ import annotations

from typing import Any

import pytest

from ipam import idclaim as it
from ipam.errors import AllocationError, ClaimSyntaxError
from ipam.idindex import IDIndex

Step = tuple[str, dict[str, Any]]
RANGE_R = {"selector": {"matchLabels": {"be.kuid.dev/claim-name": "r"}}}


def make(space: it.IDSpace, index_spec: dict[str, Any] | None = None) -> IDIndex:
    index = IDIndex(space, "index1")
    for name, spec in it.derived_claims(space, "index1", index_spec or {}):
        apply(index, name, spec, index_owned=True)
    return index


def apply(
    index: IDIndex, name: str, spec: dict[str, Any], status: dict[str, Any] | None = None, index_owned: bool = False
) -> dict[str, Any]:
    claim = it.parse_id_claim(
        index.space,
        name,
        spec,
        kind="VLANClaim",
        uid=f"uid-{name}",
        index="index1",
        status=status,
        index_owned=index_owned,
    )
    return index.claim(claim).status


def ids(index: IDIndex, steps: list[Step]) -> list[Any]:
    return [apply(index, n, s).get("id", apply(index, n, s).get("range")) for n, s in steps]


SPACES = {
    "vlan": it.VLAN,
    "as": it.AS,
    "genid16": it.GENID_TYPES["16bit"],
    "genid32": it.GENID_TYPES["32bit"],
    "genid48": it.GENID_TYPES["48bit"],
    "genid64": it.GENID_TYPES["64bit"],
    "extcomm2byteAS": it.EXTCOMM_TYPES["2byteAS"],
    "extcommOpaque": it.EXTCOMM_TYPES["opaque"],
}


@pytest.mark.parametrize("space", SPACES.values(), ids=SPACES.keys())
def test_dynamic_ids_best_fit_from_zero_in_every_space(space: it.IDSpace) -> None:
    # Q1 fixed: 32-bit trees no longer always answer 0
    assert ids(make(space), [(f"d{i}", {}) for i in range(5)]) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("space", "index_spec", "expected"),
    [
        (it.VLAN, {"minID": 1, "maxID": 4094}, [1, 4094, 2, 3, 4092]),
        (it.VLAN, {"minID": 1, "maxID": 4090}, [1, 4090, 2, 3, 4088]),
        (it.AS, {"minID": 65000, "maxID": 65535}, [65000, 65001, 65002, 65003, 65004]),  # no single-id block
        (it.AS, {"minID": 1, "maxID": 65535}, [1, 2, 3, 4, 5]),
        (it.GENID_TYPES["16bit"], {"minID": 100, "maxID": 199}, [100, 101, 102, 103, 104]),
    ],
)
def test_dynamic_ids_avoid_reserved_ranges(space: it.IDSpace, index_spec: dict[str, Any], expected: list[int]) -> None:
    index = make(space, index_spec)
    assert ids(index, [(f"d{i}", {}) for i in range(5)]) == expected


def test_static_range_and_selector_claims() -> None:
    index = make(it.VLAN)
    assert ids(
        index, [("s", {"id": 100}), ("r", {"range": "200-209"}), ("a", RANGE_R), ("b", RANGE_R), ("c", {"id": 205})]
    ) == [100, "200-209", 200, 201, 205]
    assert [a.name for a in index.allocations()] == ["100-16", "200-13", "208-15", "r.200-32", "r.201-32", "r.205-32"]


def test_reapplied_dynamic_id_keeps_its_value() -> None:
    index = make(it.VLAN)
    first = apply(index, "d", {})
    apply(index, "e", {})
    assert apply(index, "d", {}, status=first) == first


def test_static_id_change_moves_the_claim() -> None:
    index = make(it.VLAN)
    apply(index, "s", {"id": 10})
    apply(index, "s", {"id": 11})
    assert [a.value for a in index.allocations()] == ["11/16"]


@pytest.mark.parametrize(
    ("index_spec", "steps", "message"),
    [
        ({}, [("a", {"id": 7}), ("b", {"id": 7})], "route owned by different claim got name b/a uid uid-b/uid-a"),
        ({}, [("r", {"range": "10-19"}), ("a", {"id": 12}), ("b", {"id": 12})], "claim failed id 12 already claimed"),
        ({}, [("x", RANGE_R)], "no parent found"),
        ({}, [("r", {"id": 5}), ("x", RANGE_R)], "a parent can only be a range, got: staticID"),
        (
            {},
            [("r", {"range": "10-11"}), ("a", RANGE_R), ("b", RANGE_R), ("x", RANGE_R)],
            "claimed failed, no claim ID found err: no free entry found",
        ),
        (
            {"minID": 1, "maxID": 2},
            [("a", {}), ("b", {}), ("x", {})],
            "claimed failed, no claim ID found err: no free ids available, err: no free id available",
        ),
        ({}, [("a", {"id": 12}), ("r", {"range": "10-19"})], "range id 12/14 overlaps with children: [12/16]"),
        ({}, [("a", {"range": "8-15"}), ("r", {"range": "10-11"})], "range id 10/15 overlaps with parent: [8/13]"),
        # Q4 fixed: a single-id range over another owner's id
        ({}, [("a", {"id": 100}), ("r", {"range": "100-100"})], "range id 100/16 overlaps with children: [100/16]"),
        # Q2 fixed: reserved ranges are refused
        ({"minID": 1, "maxID": 4094}, [("x", {"id": 4095})], "cannot claim an id from a reserved range"),
        (
            {"minID": 1, "maxID": 4094},
            [("x", {"selector": {"matchLabels": {"be.kuid.dev/claim-name": "index1.rangereservedmin"}}})],
            "cannot claim from a reserved range",
        ),
    ],
)
def test_errors(index_spec: dict[str, Any], steps: list[Step], message: str) -> None:
    index = make(it.VLAN, index_spec)
    for name, spec in steps[:-1]:
        apply(index, name, spec)
    with pytest.raises(AllocationError) as info:
        apply(index, *steps[-1])
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("space", "spec", "name", "message"),
    [
        (it.VLAN, {"id": 1, "range": "1-2"}, "x", "a claim can only have 1 addressing, got id: 1, range: 1-2"),
        (it.VLAN, {"id": 4096}, "x", "invalid vlan id staticID"),
        (it.AS, {"id": -1}, "x", "invalid AS id staticID"),
        (it.GENID_TYPES["16bit"], {"id": 70000}, "x", "invalid GENID id staticID"),
        (
            it.VLAN,
            {"range": "12"},
            "x",
            "invalid vlan range range, err: invalid vlan range, expected <start>-<end>, got: 12",
        ),
        (it.VLAN, {"range": "a-12"}, "x", "invalid vlan range range, err: invalid vlan range start, got: a"),
        (it.VLAN, {"range": "12-10"}, "x", "invalid vlan range range, err: invalid vlan range start > end 12-10"),
        # ASCII decimal digits only: no spaces, signs or other scripts' digits (Python's int() takes them)
        (it.VLAN, {"range": " 10-20"}, "x", "invalid vlan range range, err: invalid vlan range start, got:  10"),
        (it.VLAN, {"range": "10-20 "}, "x", "invalid vlan range range, err: invalid vlan range end, got: 20 "),
        (it.VLAN, {"range": "²-5"}, "x", "invalid vlan range range, err: invalid vlan range start, got: ²"),
        # a range given empty is a range (the reference's pointer field), not a dynamic id
        (it.VLAN, {"range": ""}, "x",
         "invalid vlan range range, err: invalid vlan range, expected <start>-<end>, got: "),
        (it.VLAN, {"id": 3, "range": ""}, "x", "a claim can only have 1 addressing, got id: 3, range: "),
        (it.VLAN, {"range": "٣-5"}, "x", "invalid vlan range range, err: invalid vlan range start, got: ٣"),
        (
            it.VLAN,
            {"range": "1-2"},
            "index1",
            "invalid vlan range range, err: a name of range cannot be the same as the index",
        ),
    ],
)
def test_claim_syntax(space: it.IDSpace, spec: dict[str, Any], name: str, message: str) -> None:
    with pytest.raises(ClaimSyntaxError) as info:
        it.parse_id_claim(space, name, spec, kind="VLANClaim", index="index1")
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("allocator", "spec", "message"),
    [
        ("vlan", {"minID": 5000}, "invalid vlan ID 5000"),
        ("vlan", {"minID": 10, "maxID": 5}, "min vlan ID 10 cannot be bigger than max vlan ID 5"),
        ("as", {"maxID": 1 << 32}, f"invalid vlan ID {1 << 32}"),
        ("genid", {"type": "8bit"}, "invalid GENID Type 8bit"),
        ("genid", {"type": "16bit", "minID": 9, "maxID": 1}, "min GENID ID 9 cannot be bigger than max GENID ID 1"),
        ("extcomm", {"type": "bogus"}, "invalid EXTCOMM Type bogus"),
        ("extcomm", {"type": "4byteAS", "subType": "x"}, "invalid EXTCOMM SubType x"),
    ],
)
def test_index_validation(allocator: str, spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ClaimSyntaxError) as info:
        it.index_space(allocator, spec)
    assert str(info.value) == message


def test_q3_range_that_changes_bounds_rebuilds_its_table() -> None:
    index = make(it.VLAN)
    apply(index, "r", {"range": "10-19"})
    assert [apply(index, n, RANGE_R)["id"] for n in ("a", "b", "c")] == [10, 11, 12]
    moved = index.claim(it.parse_id_claim(it.VLAN, "r", {"range": "11-20"}, kind="VLANClaim", index="index1"))
    assert moved.dependents == ["a"]
    assert apply(index, "a", RANGE_R, status={"id": 10}) == {"id": 13}


def test_q3_released_range_takes_its_ids_along() -> None:
    index = make(it.VLAN)
    apply(index, "r", {"range": "10-19"})
    apply(index, "a", RANGE_R)
    assert index.release("r") == ["a"]
    assert list(index.allocations()) == []


def test_q6_dynamic_status_id_taken_by_another_claim_is_not_reused() -> None:
    index = make(it.VLAN)
    apply(index, "s", {"id": 0})
    assert apply(index, "d", {}, status={"id": 0}) == {"id": 1}


def test_index_claims_items_become_claims() -> None:
    derived = it.derived_claims(it.VLAN, "index1", {"minID": 1, "claims": [{"name": "mgmt", "id": 10}]})
    assert derived == [
        ("index1.rangereservedmin", {"index": "index1", "range": "0-0"}),
        ("index1.mgmt", {"index": "index1", "id": 10}),
    ]


def test_change_log_names_only_values_that_changed() -> None:
    index = make(it.VLAN, {"minID": 1, "maxID": 4094})
    steps: list[Step] = [("s", {"id": 100}), ("r", {"range": "200-209"}), ("a", RANGE_R), ("d", {}),
                         ("c", {"id": 205})]
    statuses = {name: apply(index, name, spec) for name, spec in steps}
    assert index.changes.drain() != []
    for name, spec in steps:
        assert apply(index, name, spec, status=statuses[name]) == statuses[name]
    assert index.changes.drain() == []
    apply(index, "r", {"range": "200-209", "labels": {"role": "x"}})
    assert [index.entry_suffix(k) for k in index.changes.drain()] == ["200-13", "208-15"]
    apply(index, "c", {"id": 206})
    assert [index.entry_suffix(k) for k in index.changes.drain()] == ["r.205-32", "r.206-32"]


@pytest.mark.parametrize(("name", "spec"), [("s", {"id": 100}), ("d", {}), ("a", RANGE_R)])
def test_a_kept_id_takes_the_labels_of_the_reapplied_claim(name: str, spec: dict[str, Any]) -> None:
    index = make(it.VLAN, {"minID": 1, "maxID": 4094})
    apply(index, "r", {"range": "200-209"})
    status = apply(index, name, spec)
    index.changes.drain()
    assert apply(index, name, {**spec, "labels": {"role": "edge"}}, status=status) == status
    changed = index.changes.drain()
    assert len(changed) == 1
    allocation = index.allocation(changed[0])
    assert allocation is not None and allocation.labels["role"] == "edge"


@pytest.mark.parametrize("spec", [{}, {"id": 205}], ids=["dynamic", "static"])
def test_a_range_rewritten_as_an_id_lets_its_range_go(spec: dict[str, Any]) -> None:
    index = make(it.VLAN)
    apply(index, "r", {"range": "205-215"})
    apply(index, "h", RANGE_R)  # holds 205 in r's table
    changed = index.claim(it.parse_id_claim(index.space, "r", spec, kind="VLANClaim", uid="uid-r", index="index1"))
    assert changed.dependents == ["h"]  # h lost its id with the table
    held = [(a.key[0], a.owner, a.claim_type) for a in index.allocations() if a.owner in ("r", "h")]
    assert held == [("", "r", "staticID" if spec else "dynamicID")]  # one id in the tree, no range block or table


# ------------------------------------------------------------------ further spec statements (conformance audit)


@pytest.mark.parametrize(
    ("space", "index_spec", "expected"),
    [
        (it.VLAN, {"minID": 0, "maxID": 4095}, []),  # bounds at the ends of the space reserve nothing
        (it.VLAN, {"minID": 0, "maxID": 4094}, [("index1.rangereservedmax", "4095-4095")]),
        (it.AS, {"minID": 1}, [("index1.rangereservedmin", "0-0")]),
        (it.GENID_TYPES["16bit"], {"maxID": 65535}, []),
        (it.EXTCOMM_TYPES["opaque"], {"minID": 10, "maxID": (1 << 48) - 2},
         [("index1.rangereservedmin", "0-9"), ("index1.rangereservedmax", f"{(1 << 48) - 1}-{(1 << 48) - 1}")]),
    ],
)
def test_only_bounds_inside_the_space_derive_reserved_ranges(
    space: it.IDSpace, index_spec: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    """§3.1: minID set and not 0 -> rangereservedmin 0-(min-1); maxID set, not the space's max -> rangereservedmax."""
    assert [(name, spec["range"]) for name, spec in it.derived_claims(space, "index1", index_spec)] == expected


@pytest.mark.parametrize(
    ("space", "values"),
    [(it.VLAN, [0, 4095]), (it.AS, [0, 23456, 65535, (1 << 32) - 1]), (it.GENID_TYPES["64bit"], [(1 << 64) - 1])],
)
def test_no_id_is_reserved_unless_the_bounds_say_so(space: it.IDSpace, values: list[int]) -> None:
    """§3.1: VLAN 0 and 4095, AS 0/23456/65535/4294967295 are all claimable in an index without bounds."""
    index = make(space)
    assert [apply(index, f"s{v}", {"id": v}) for v in values] == [{"id": v} for v in values]


def test_the_id_owner_rule_conflicts_only_when_both_the_name_and_the_uid_differ() -> None:
    """§1.2: a claim re-created under its name (a new uid), or another claim with its uid, is the same owner; the
    id is then the taker's (the claim it was taken from no longer holds it). In a range's table an id is held
    by a claim name (§3.3 step 3)."""
    index = make(it.VLAN)
    apply(index, "r", {"range": "10-19"})
    for name, uid in (("a", "first"), ("a", "second"), ("b", "second")):
        claim = it.parse_id_claim(it.VLAN, name, {"id": 7}, kind="VLANClaim", uid=uid, index="index1")
        assert index.claim(claim).status == {"id": 7}
    assert index.release("a") == []
    assert [x.owner for x in index.allocations() if x.value == "7/16"] == ["b"]
    with pytest.raises(AllocationError) as info:
        index.claim(it.parse_id_claim(it.VLAN, "c", {"id": 7}, kind="VLANClaim", uid="third", index="index1"))
    assert str(info.value) == "route owned by different claim got name c/b uid third/second"
    for name, uid in (("h", "first"), ("h", "second")):
        claim = it.parse_id_claim(it.VLAN, name, {"id": 15}, kind="VLANClaim", uid=uid, index="index1")
        assert index.claim(claim).status == {"id": 15}
    with pytest.raises(AllocationError) as info:
        index.claim(it.parse_id_claim(it.VLAN, "g", {"id": 15}, kind="VLANClaim", uid="second", index="index1"))
    assert str(info.value) == "claim failed id 15 already claimed"


def test_a_dynamic_id_from_a_range_takes_back_its_status_id_while_it_is_free_there() -> None:
    """§3.4 step 3: ``status.id`` if it is still free in the range's table, otherwise the lowest free id."""
    index = make(it.VLAN)
    apply(index, "r", {"range": "10-19"})
    assert apply(index, "a", RANGE_R, status={"id": 15}) == {"id": 15}
    assert apply(index, "b", RANGE_R, status={"id": 15}) == {"id": 10}


def test_a_dynamic_id_written_again_without_a_status_keeps_what_it_holds() -> None:
    """§3.4 step 1: with no ``status.id`` the claim keeps any value it owns."""
    index = make(it.VLAN, {"minID": 1, "maxID": 4094})
    first = apply(index, "d", {})
    apply(index, "e", {})
    assert apply(index, "d", {}) == first == {"id": 1}


def test_ids_taken_from_a_range_of_a_48_or_64_bit_space_are_named_with_64() -> None:
    """§3.6: a range table's value is ``<range claim>.<id>-32``, or ``-64`` in 48- and 64-bit spaces."""
    for space, suffix in ((it.GENID_TYPES["48bit"], "64"), (it.GENID_TYPES["32bit"], "32"), (it.VLAN, "32")):
        index = make(space)
        apply(index, "r", {"range": "100-109"})
        apply(index, "a", RANGE_R)
        assert [a.name for a in index.allocations() if a.owner == "a"] == [f"r.100-{suffix}"]
