"""Every YANG error class is reported with its data path, libyang's message and the snippet behind it."""

from __future__ import annotations

import pytest

from tests.yang.conftest import snippet
from yang.merge import merge_device
from yang.snippets import spellings

PORT = "/fx-net:network/port[name='e1']"
LINK = "/fx-net:network/link[id='l1']"

CASES = {
    "wrong type": ({"port": [{"name": "e1", "mtu": "abc"}]}, f"{PORT}/mtu", "Invalid"),
    "range": ({"port": [{"name": "e1", "mtu": 10}]}, f"{PORT}/mtu", "Unsatisfied range"),
    "pattern": ({"port": [{"name": "E-1"}]}, "/fx-net:network/port/name", "Unsatisfied pattern"),
    "enumeration": ({"port": [{"name": "e1", "admin-state": "up"}]}, f"{PORT}/admin-state", "Invalid enumeration"),
    "identityref": ({"port": [{"name": "e1", "kind": "wood"}]}, f"{PORT}/kind", "Invalid identityref"),
    "leafref target missing": (
        {"link": [{"id": "l1", "port": "e9", "label": "x"}]}, f"{LINK}/port", "Invalid leafref value \"e9\""),
    "must": ({"port": [{"name": "e1", "speed": 10}]}, f"{PORT}/speed", "speed must be at least 1000"),
    "when": (
        {"port": [{"name": "e1", "kind": "copper", "fiber-mode": "x"}]}, f"{PORT}/fiber-mode", "When condition"),
    "mandatory": ({"link": [{"id": "l1"}]}, f"{LINK}/label", 'Mandatory node "label"'),
    "unique": (
        {"port": [{"name": "e1", "slot": 1}, {"name": "e2", "slot": 1}]},
        "/fx-net:network/port[name='e2']", "Unique data leaf(s) \"slot\""),
    "unknown node": ({"port": [{"name": "e1", "colour": "red"}]}, f"{PORT}/colour", 'unknown node "colour"'),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_error_class_is_reported_with_path_message_and_source(fx, case):
    network, path, message = CASES[case]
    merged = merge_device(fx, [snippet("a", {"network": network})])
    assert not merged.valid
    found = [p for p in merged.problems if p.path == path]
    assert found, [(p.path, p.message) for p in merged.problems]
    assert message in found[0].message
    assert [s.name for s in found[0].sources] == ["a"]
    assert found[0].sources[0].reconciler == "r-a"
    assert found[0].sources[0].intent == "Intent default/a"


def test_every_error_of_one_device_is_reported_not_only_the_first(fx):
    network = {
        "port": [{"name": "e1", "speed": 10, "mtu": 1}, {"name": "e2", "speed": 5}],
        "link": [{"id": "l1", "port": "e9"}, {"id": "l2", "port": "e1", "label": "ok"}],
    }
    merged = merge_device(fx, [snippet("a", {"network": network})])
    paths = sorted(p.path for p in merged.problems)
    assert paths == sorted([
        f"{PORT}/mtu",
        f"{PORT}/speed",
        "/fx-net:network/port[name='e2']/speed",
        f"{LINK}/port",
        f"{LINK}/label",
    ])


def test_unique_violation_removes_only_the_clashing_leaf_so_references_still_resolve(fx):
    network = {
        "port": [{"name": "e1", "slot": 1}, {"name": "e2", "slot": 1}],
        "link": [{"id": "l1", "port": "e2", "label": "x"}],
    }
    merged = merge_device(fx, [snippet("a", {"network": network})])
    assert [p.message.split(" not ")[0] for p in merged.problems] == ['Unique data leaf(s) "slot"']


def test_valid_config_has_no_problem_and_an_xml_payload(fx):
    merged = merge_device(fx, [snippet("a", {"network": {"port": [{"name": "e1", "mtu": 1500}]}})])
    assert merged.valid
    assert "<mtu>1500</mtu>" in merged.xml
    assert merged.config == {"fx-net:network": {"port": [{"name": "e1", "mtu": 1500}]}}


def test_yaml_spellings_cover_booleans_and_sexagesimal_numbers():
    assert spellings(True)[:3] == ["true", "on", "yes"]
    assert "22:22" in spellings(1342)
    assert spellings("x") == ["x"]
