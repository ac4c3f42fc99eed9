"""Every error of a device is found (also behind a failing default), and errors caused by the stage's own
removal of offending data hang below their root cause instead of counting as errors of their own."""

from __future__ import annotations

import pytest

from tests.yang.conftest import snippet
from tests.yang.schemas import routing_context
from yang.libyang_adapter import SchemaContext
from yang.merge import Problem, entry_scope, locate_line, merge_device

ROUTING = "/fx-route:routing"
SUB0 = f"{ROUTING}/sub[index='0']"


@pytest.fixture
def fxr() -> SchemaContext:
    return routing_context()


def roots(problems: list[Problem]) -> dict[str, list[str]]:
    """Root path → the paths of its follow-ons."""
    return {p.path: [f.path for f in p.follow_ons] for p in problems}


def test_a_failing_must_on_a_default_leaf_does_not_hide_later_errors(fxr):
    value = {
        "fx-route:routing": {
            "group": [{"name": "g1"}, {"name": "g2", "family": ["ipv4"]}],
            "neighbor": [{"address": "n1", "group": "g1"}, {"address": "n2", "group": "g3"},
                         {"address": "n3", "group": "g2", "port": "e7"}],
        },
        "fx-net:network": {"port": [{"name": "e1", "speed": 10}]},
    }
    merged = merge_device(fxr, [snippet("a", value)])
    found = roots(merged.problems)
    group = f"{ROUTING}/group[name='g1']/admin-state"
    assert sorted(found) == sorted([
        group,  # admin-state is not in the data: libyang added it as a default, and its must fails
        f"{ROUTING}/neighbor[address='n2']/group",
        f"{ROUTING}/neighbor[address='n3']/port",
        "/fx-net:network/port[name='e1']/speed",
    ])
    by_path = {p.path: p for p in merged.problems}
    assert by_path[group].message == "one address family must be enabled"
    assert [s.name for s in by_path[group].sources] == ["a"]
    # the group entry went away with its default leaf: the neighbor's reference to it is a consequence
    assert f"{ROUTING}/neighbor[address='n1']/group" in found[group]


def test_a_dropped_bad_identity_explains_the_errors_it_causes(fxr):
    value = {"fx-route:routing": {"sub": [
        {"index": 0, "type": "fx-route:routedd", "ipv4": {"address": "10.0.0.1"}},
        {"index": 1, "type": "bridged", "ipv4": {"address": "10.0.0.2"}},
    ]}}
    merged = merge_device(fxr, [snippet("a", value)])
    found = roots(merged.problems)
    assert sorted(found) == [f"{SUB0}/type", f"{ROUTING}/sub[index='1']/ipv4"]
    assert "Invalid identityref" in merged.problems[0].message
    # missing mandatory type and "ipv4 not allowed" follow from dropping the bad type, in the same entry
    assert sorted(found[f"{SUB0}/type"]) == [f"{SUB0}/ipv4", f"{SUB0}/type"]
    # the same error in the other entry is its own, not a consequence
    assert found[f"{ROUTING}/sub[index='1']/ipv4"] == []


def test_a_must_failing_again_on_a_default_added_back_is_reported_once(fxr):
    value = {"fx-route:routing": {"sub": [{"index": 99, "type": "fx-route:routed", "arp": {"timeout": 5}},
                                          {"index": 98, "type": "fx-route:nothing"}]}}
    merged = merge_device(fxr, [snippet("a", value)])
    proxy, bad_type = f"{ROUTING}/sub[index='99']/arp/proxy", f"{ROUTING}/sub[index='98']/type"
    # the same must again on the arp libyang adds back is no follow-on; the mandatory type after the bad one is
    assert roots(merged.problems) == {proxy: [], bad_type: [bad_type]}
    assert {p.path: p.message for p in merged.problems}[proxy] == "proxy not supported on sub 99"


def test_independent_errors_in_one_entry_stay_independent(fxr):
    value = {"fx-net:network": {"port": [{"name": "e1", "slot": 1}], "link": [{"id": "l1", "port": "e9"}]}}
    merged = merge_device(fxr, [snippet("a", value)])
    link = "/fx-net:network/link[id='l1']"
    assert roots(merged.problems) == {f"{link}/port": [], f"{link}/label": []}


def test_coercion_errors_are_all_roots(fxr):
    value = {"network": {"port": [{"name": "e1", "mtu": 1, "admin-state": "up", "kind": "wood"}]}}
    merged = merge_device(fxr, [snippet("a", value)])
    assert len(merged.problems) == 3 and all(not p.follow_ons for p in merged.problems)


def test_duplicate_list_entry_in_one_snippet_is_rejected(fxr):
    value = {"network": {"port": [{"name": "e1", "mtu": 1500}, {"name": "e2"}, {"name": "e1", "mtu": 9000}]}}
    merged = merge_device(fxr, [snippet("a", value)])
    assert [(p.path, p.message) for p in merged.problems] == [(
        "/fx-net:network/port[name='e1']",
        "duplicate entry of list port in one snippet: entries 1 and 3 have the same key")]
    assert [s.name for s in merged.problems[0].sources] == ["a"]


def test_duplicate_leaf_list_value_in_one_snippet_is_rejected(fxr):
    merged = merge_device(fxr, [snippet("a", {"fx-net:system": {"ntp-server": ["a", "b", "a"]}})])
    assert [p.path for p in merged.problems] == ["/fx-net:system/ntp-server[.='a']"]


def test_entries_without_their_key_can_be_told_apart(fxr):
    merged = merge_device(fxr, [snippet("a", {"network": {"port": [{"mtu": 1500}, {"name": "e1"}, {"mtu": 9000}]}})])
    assert [(p.path, p.message) for p in merged.problems] == [
        ("/fx-net:network/port[1]", 'entry 1 of list port misses its key "name"'),
        ("/fx-net:network/port[3]", 'entry 3 of list port misses its key "name"'),
    ]


def test_a_number_is_not_explained_by_yaml_retries(fxr):
    merged = merge_device(fxr, [snippet("a", {"network": {"port": [{"name": "e1", "mtu": 1000000}]}})])
    assert merged.problems[0].message == 'Value "1000000" is out of type uint16 min/max bounds'


def test_entry_scope_and_line_location():
    assert entry_scope("/a/b[k='1']/c/d") == "/a/b[k='1']"
    assert entry_scope("/a/c") == ""
    text = '{\n "fx-net:network": {\n  "port": [\n   {"name": "e1"},\n   {"name": "e2",\n    "mtu": "x"}]}}'
    assert locate_line(text, "/fx-net:network/port[name='e2']/mtu") == 6
    assert locate_line(text, "/fx-net:network/nothing") == 0
