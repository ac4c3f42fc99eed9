"""Merging snippets: ownership, priorities, conflicts, member resolution and scalar coercion."""

from __future__ import annotations

from tests.yang.conftest import snippet
from yang.merge import RUNNING_PRIORITY, Snippet, Source, merge_device, split_last

MTU = "/fx-net:network/port[name='e1']/mtu"


def test_equal_priority_conflict_names_both_resources_path_and_values(fx):
    merged = merge_device(fx, [
        snippet("a", {"network": {"port": [{"name": "e1", "mtu": 1500}]}}),
        snippet("b", {"network": {"port": [{"name": "e1", "mtu": 9000}]}}),
    ])
    conflict = [p for p in merged.problems if "conflicting" in p.message]
    assert len(conflict) == 1
    assert conflict[0].path == MTU
    assert "1500 from Config default/a" in conflict[0].message
    assert "9000 from Config default/b" in conflict[0].message
    assert [s.name for s in conflict[0].sources] == ["a", "b"]


def test_smaller_priority_number_wins_and_the_override_is_recorded(fx):
    merged = merge_device(fx, [
        snippet("low", {"network": {"port": [{"name": "e1", "mtu": 1500}]}}, priority=20),
        snippet("high", {"network": {"port": [{"name": "e1", "mtu": 9000}]}}, priority=5),
    ])
    assert merged.valid
    assert merged.config["fx-net:network"]["port"][0]["mtu"] == 9000
    assert merged.owners[MTU].source.name == "high"
    assert [(o.loser.source.name, o.winner.source.name) for o in merged.overrides] == [("low", "high")]


def test_running_config_is_overridden_by_any_snippet(fx):
    running = Snippet(Source("RunningConfig", "default", "dev"), RUNNING_PRIORITY,
                      {"fx-net:network": {"port": [{"name": "e1", "mtu": 1400, "slot": 3}]}})
    merged = merge_device(fx, [snippet("a", {"network": {"port": [{"name": "e1", "mtu": 9000}]}})], running)
    port = merged.config["fx-net:network"]["port"][0]
    assert (port["mtu"], port["slot"]) == (9000, 3)
    assert merged.owners["/fx-net:network/port[name='e1']/slot"].source.kind == "RunningConfig"


def test_unknown_and_ambiguous_top_level_members_are_errors(fx):
    merged = merge_device(fx, [snippet("a", {"nowhere": {}, "system": {"hostname": "h"}, "extra": {"note": "n"}})])
    messages = {p.path: p.message for p in merged.problems}
    assert messages["/nowhere"] == 'unknown node "nowhere": no module of the schema defines it'
    assert "ambiguous member \"system\": defined by fx-extra:system, fx-net:system" in messages["/system"]
    assert merged.config == {"fx-extra:extra": {"note": "n"}}


def test_a_module_prefix_resolves_an_ambiguous_member(fx):
    merged = merge_device(fx, [snippet("a", {"fx-net:system": {"hostname": "h", "ntp-server": ["b", "a"]}})])
    assert merged.valid
    assert merged.config == {"fx-net:system": {"hostname": "h", "ntp-server": ["b", "a"]}}


def test_yaml_1_1_scalars_are_coerced_back_by_schema_type(fx):
    port = {"name": "e1", "admin-state": "enable", "enabled": True, "mtu": "1500", "kind": "fiber", "slot": 2}
    link = {"id": 7, "port": "e1", "label": 1342, "community": 1342}
    merged = merge_device(fx, [snippet("a", {"network": {"port": [port], "link": [link]}})])
    assert merged.valid, merged.problems
    out = merged.config["fx-net:network"]
    assert out["port"][0]["mtu"] == 1500 and out["port"][0]["kind"] == "fx-net:fiber"
    assert out["link"][0]["id"] == "7" and out["link"][0]["label"] == "1342"


def test_boolean_read_from_yes_fits_an_enumeration_spelled_yes(fx):
    merged = merge_device(fx, [snippet("a", {"network": {"port": [{"name": "e1", "admin-state": True}]}})])
    assert merged.problems[0].message.endswith("(YAML read the value as true; tried true, on, yes, y)")


def test_xml_and_json_text_snippets_are_accepted(fx):
    from yang.stage import decode_value

    xml = '<network xmlns="urn:choreo:test:fx-net"><port><name>e1</name><mtu>1500</mtu></port></network>'
    assert decode_value(fx, xml).value == {"fx-net:network": {"port": [{"name": "e1", "mtu": 1500}]}}
    assert decode_value(fx, xml).strict
    assert decode_value(fx, '{"fx-net:network": {}}').value == {"fx-net:network": {}}
    assert not decode_value(fx, {"network": {}}).strict


def test_split_last_respects_quoted_predicates():
    assert split_last("/a/b[k='x/y']/c") == ("/a/b[k='x/y']", "c")
    assert split_last("/a") == ("", "a")
