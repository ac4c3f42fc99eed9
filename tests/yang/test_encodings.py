"""JSON text is checked as RFC 7951, mappings follow the documented YAML leniency; null and the operation
annotation delete what lower-precedence data set."""

from __future__ import annotations

import copy
import json

import pytest

from tests.yang.conftest import snippet
from tests.yang.schemas import routing_context
from yang.libyang_adapter import SchemaContext
from yang.merge import RUNNING_PRIORITY, Snippet, Source, merge_device
from yang.stage import decode_value

PORT = "/fx-net:network/port[name='e1']"

WRONG_ENCODINGS = {
    "leaf-list as a string": ({"fx-net:system": {"ntp-server": "a"}}, "/fx-net:system/ntp-server",
                              "expected an array for leaf-list ntp-server"),
    "list as an object": ({"fx-net:network": {"port": {"name": "e1"}}}, "/fx-net:network/port",
                          "expected a list of entries"),
    "uint16 as a string": ({"fx-net:network": {"port": [{"name": "e1", "mtu": "1500"}]}}, f"{PORT}/mtu",
                           "RFC 7951 encodes uint16 values as a JSON number, got a string"),
    "boolean as a string": ({"fx-net:network": {"port": [{"name": "e1", "enabled": "true"}]}}, f"{PORT}/enabled",
                            "RFC 7951 encodes boolean values as true or false, got a string"),
    "int64 as a number": ({"fx-route:routing": {"cost": 5}}, "/fx-route:routing/cost",
                          "RFC 7951 encodes int64 values as a JSON string, got a number"),
    "empty as true": ({"fx-route:routing": {"passive": True}}, "/fx-route:routing/passive", "Invalid empty value"),
    "augment without its prefix": ({"fx-net:network": {"port": [{"name": "e1", "weight": 1}]}},
                                   f"{PORT}/fx-route:weight", 'module-qualified name "fx-route:weight"'),
    "top level without a prefix": ({"network": {}}, "/fx-net:network", 'module-qualified name "fx-net:network"'),
}


@pytest.fixture
def fxr() -> SchemaContext:
    return routing_context()


def strict(value: object, name: str = "a", priority: int = 10) -> Snippet:
    text = json.dumps(value, indent=1)
    decoded = decode_value(None, text)  # JSON text needs no schema to decode
    return Snippet(Source("Config", "default", name), priority, decoded.value, decoded.strict, decoded.text)


@pytest.mark.parametrize("case", sorted(WRONG_ENCODINGS))
def test_json_text_in_the_wrong_encoding_is_an_error_naming_the_path(fxr, case):
    value, path, message = WRONG_ENCODINGS[case]
    merged = merge_device(fxr, [strict(value)])
    assert [p.path for p in merged.problems] == [path]
    assert message in merged.problems[0].message
    assert merged.problems[0].line > 0


@pytest.mark.parametrize("case", ["leaf-list as a string", "list as an object", "uint16 as a string",
                                  "boolean as a string", "int64 as a number", "augment without its prefix",
                                  "top level without a prefix"])
def test_the_same_values_in_a_mapping_follow_the_yaml_rules(fxr, case):
    value, _path, _message = WRONG_ENCODINGS[case]
    merged = merge_device(fxr, [snippet("a", value)])
    assert merged.valid, merged.problems


def test_rfc7951_json_text_is_accepted_as_is(fxr):
    value = {"fx-route:routing": {"cost": "5", "ratio": "1.5", "passive": [None], "tag": "x"},
             "fx-net:network": {"port": [{"name": "e1", "mtu": 1500, "enabled": True, "fx-route:weight": 1}]}}
    merged = merge_device(fxr, [strict(value)])
    assert merged.valid, merged.problems
    assert merged.config["fx-route:routing"] == {"cost": "5", "ratio": "1.5", "passive": [None], "tag": "x"}


@pytest.mark.parametrize("text", ["010", "-0010", "+017"])
def test_a_64_bit_integer_libyang_would_read_as_octal_is_refused(fxr, text):
    """libyang reads int64/uint64 text with C's base 0 ("010" becomes 8; yanglint too): the value would change
    silently, where RFC 7950 reads data integers as decimal. In JSON text and in a YAML mapping alike (more, and
    hexadecimal, in test_numbers_and_documents)."""
    for made in (strict({"fx-route:routing": {"cost": text}}), snippet("a", {"fx-route:routing": {"cost": text}})):
        merged = merge_device(fxr, [made])
        assert [p.path for p in merged.problems] == ["/fx-route:routing/cost"]
        assert merged.problems[0].message.startswith(
            f'Invalid int64 value "{text}": integers are decimal in YANG data (RFC 7950 9.2.1); libyang would '
            "read this one as octal")
    for same in ("0", "07", "-00"):  # the same number in octal and decimal
        assert merge_device(fxr, [strict({"fx-route:routing": {"cost": same}})]).valid


def test_a_json_object_naming_a_member_twice_is_an_error():
    with pytest.raises(ValueError, match='member "mtu" appears twice'):
        decode_value(None, '{"fx-net:network": {"port": [{"name": "e1", "mtu": 1, "mtu": 2}]}}')


def running(value: object) -> Snippet:
    return Snippet(Source("RunningConfig", "default", "dev", file="runningconfigs/dev.json"), RUNNING_PRIORITY, value,
                   True, json.dumps(value), edits=False)  # as the stage reads runningconfigs/<device>.json


RUNNING = {"fx-net:network": {"port": [{"name": "e1", "mtu": 1400, "slot": 3}, {"name": "e2", "mtu": 1500}]},
           "fx-net:system": {"hostname": "h", "ntp-server": ["a"]}}


def test_null_deletes_a_running_config_leaf_and_blame_records_it(fxr):
    merged = merge_device(fxr, [snippet("a", {"network": {"port": [{"name": "e1", "mtu": None}]}})], running(RUNNING))
    assert merged.valid, merged.problems
    assert merged.config["fx-net:network"]["port"][0] == {"name": "e1", "slot": 3}
    assert f"{PORT}/mtu" not in merged.owners
    [deletion] = merged.deletions
    assert (deletion.path, deletion.by.source.name) == (f"{PORT}/mtu", "a")
    assert [(p, o.value, o.source.kind) for p, o in deletion.removed] == [(f"{PORT}/mtu", 1400, "RunningConfig")]


def test_the_operation_annotation_deletes_an_entry_and_null_a_container(fxr):
    value = {"network": {"port": [{"name": "e2", "@": {"ietf-netconf:operation": "delete"}}]}, "fx-net:system": None}
    merged = merge_device(fxr, [snippet("a", value)], running(RUNNING))
    assert merged.valid, merged.problems
    assert merged.config == {"fx-net:network": {"port": [{"name": "e1", "mtu": 1400, "slot": 3}]}}
    assert sorted(d.path for d in merged.deletions) == ["/fx-net:network/port[name='e2']", "/fx-net:system"]


def test_a_leaf_annotation_deletes_the_leaf_and_other_annotations_are_errors(fxr):
    value = {"network": {"port": [{"name": "e1", "@slot": {"ietf-netconf:operation": "remove"},
                                   "@mtu": {"ietf-netconf:operation": "merge"}}]}}
    merged = merge_device(fxr, [snippet("a", value)], running(RUNNING))
    assert "slot" not in merged.config["fx-net:network"]["port"][0]
    assert [p.path for p in merged.problems] == [f"{PORT}/mtu"]
    assert "unsupported annotation" in merged.problems[0].message


def test_null_deletes_a_string_leaf_in_yaml_too_where_an_empty_string_would_be_valid(fxr):
    running_value = {"fx-net:system": {"hostname": "h", "ntp-server": ["a"]}, "fx-route:routing": {"tag": "x"}}
    merged = merge_device(fxr, [snippet("a", {"routing": {"tag": None}, "fx-net:system": {"hostname": None}})],
                          running(running_value))
    assert merged.valid, merged.problems
    assert merged.config == {"fx-net:system": {"ntp-server": ["a"]}}
    assert sorted(d.path for d in merged.deletions) == ["/fx-net:system/hostname", "/fx-route:routing/tag"]


def test_null_sets_an_empty_leaf_in_yaml_but_deletes_it_in_json(fxr):
    assert merge_device(fxr, [snippet("a", {"routing": {"passive": None}})]).config == {
        "fx-route:routing": {"passive": [None]}}
    base = Snippet(Source("Config", "default", "base"), 20, {"fx-route:routing": {"passive": [None], "cost": "1"}})
    merged = merge_device(fxr, [base, strict({"fx-route:routing": {"passive": None}})])
    assert merged.config == {"fx-route:routing": {"cost": "1"}}


def test_a_delete_against_a_set_at_equal_priority_is_a_conflict(fxr):
    merged = merge_device(fxr, [snippet("a", {"network": {"port": [{"name": "e1", "mtu": 1500}]}}),
                                snippet("b", {"network": {"port": [{"name": "e1", "mtu": None}]}})])
    assert [p.path for p in merged.problems] == [f"{PORT}/mtu"]
    assert "1500 from Config default/a, deleted by Config default/b" in merged.problems[0].message


def test_merging_never_changes_the_snippet_values_it_is_given(fxr):
    """The stage merges the store's own Config objects, uncopied: every form of input is only read."""
    values = [value for value, _path, _message in WRONG_ENCODINGS.values()] + [
        {"network": {"port": {"name": "e9", "mtu": 1500, "enabled": "on"}}},  # one entry for a list, yes/no
        {"network": {"port": [{"name": "e2", "@": {"ietf-netconf:operation": "delete"}}]}, "fx-net:system": None},
        {"network": {"port": [{"name": "e1", "@slot": {"ietf-netconf:operation": "remove"}, "mtu": None}]}},
        {"routing": {"passive": None, "tag": None}, "network": {"port": [{"name": "e1", "mtu": 1500}]}},
    ]
    snippets = [snippet(f"s{index}", value, priority=10 + index % 2) for index, value in enumerate(values)]
    snippets.append(strict(RUNNING, "json"))
    before = copy.deepcopy([s.value for s in snippets])
    running_config = running(copy.deepcopy(RUNNING))
    merged = merge_device(fxr, snippets, running_config)
    assert merged.problems  # conflicts and bad values on the way: every path of the merge was taken
    assert [s.value for s in snippets] == before
    assert running_config.value == RUNNING


SUB = "/fx-route:routing/sub[index='1']"


def test_a_union_value_in_json_text_keeps_its_json_type_which_picks_the_member_type(fxr):
    """RFC 7951 §6.10: each member type of a union keeps its own encoding. "10" is no value of a union of uint16
    and an enumeration; "5" of uint16 | string is the string, not the number."""
    value = {"fx-route:routing": {"sub": [{"index": 1, "type": "fx-route:routed", "vlan": "10"},
                                          {"index": 2, "type": "fx-route:routed", "vlan": 10}],
                                  "vlans": [10, "11", "any"], "tag": "5"}}
    merged = merge_device(fxr, [strict(value)])
    assert [(p.path, p.message) for p in merged.problems] == [
        (f"{SUB}/vlan", 'Invalid union value "10" - no matching subtype found'),
        ("/fx-route:routing/vlans", 'Invalid union value "11" - no matching subtype found'),
    ]
    assert [p.line for p in merged.problems] == [7, 15]
    assert merged.config == {"fx-route:routing": {"sub": [{"index": 1, "type": "fx-route:routed"},
                                                          {"index": 2, "type": "fx-route:routed", "vlan": 10}],
                                                  "vlans": [10, "any"], "tag": "5"}}  # only the bad values left out
    assert f"{SUB}/vlan" not in merged.owners and "/fx-route:routing/vlans[.='11']" not in merged.owners


def test_a_union_value_in_a_mapping_is_coerced_as_yaml_values_are(fxr):
    merged = merge_device(fxr, [snippet("a", {"routing": {"sub": [{"index": 1, "type": "routed", "vlan": "10"}]}})])
    assert merged.valid, merged.problems
    assert merged.config["fx-route:routing"]["sub"][0]["vlan"] == 10


@pytest.mark.parametrize(("text", "path", "spellings"), [
    ('{"fx-net:network": {"port": [{"name": "e1", "mtu": 1500, "fx-net:mtu": 1600}]}}', f"{PORT}/mtu",
     ("mtu", "fx-net:mtu")),
    ('{"fx-net:network": {"shared": {"x": "1"}, "fx-net:shared": {"x": "2"}}}', "/fx-net:network/shared",
     ("shared", "fx-net:shared")),
    ('{"fx-net:network": {"port": [{"name": "e1", "fx-net:name": "e2"}]}}', f"{PORT}/name", ("name", "fx-net:name")),
])
def test_a_member_given_twice_in_json_text_is_an_error_naming_its_path(fxr, text, path, spellings):
    decoded = decode_value(None, text)
    merged = merge_device(fxr, [Snippet(Source("Config", "default", "a"), 10, decoded.value, True, text)])
    name = spellings[0]
    assert [(p.path, p.message) for p in merged.problems] == [
        (path, f'Duplicate instance of "{name}": given as "{spellings[0]}" and as "{spellings[1]}"')]
    assert merged.problems[0].line == 1


def test_in_a_mapping_a_leaf_given_twice_is_an_error_and_two_spellings_of_a_container_combine(fxr):
    value = {"network": {"port": [{"name": "e1", "mtu": 1500, "fx-net:mtu": 1600}], "shared": {"x": "1"}},
             "fx-net:network": {"port": [{"name": "e2"}], "shared": {"x": "2"}}}
    merged = merge_device(fxr, [snippet("a", value)])
    assert [(p.path, p.message) for p in merged.problems] == [
        (f"{PORT}/mtu", 'Duplicate instance of "mtu": given as "mtu" and as "fx-net:mtu"'),
        ("/fx-net:network/shared/x", 'Duplicate instance of "x"')]
    assert merged.config == {"fx-net:network": {"port": [{"name": "e1", "mtu": 1500}, {"name": "e2"}],
                                                "shared": {"x": "1"}}}


def test_in_a_data_file_metadata_deletes_nothing_and_is_checked_as_yanglint_does(fxr):
    entry = {"name": "e1", "mtu": 10, "@": {"ietf-netconf:operation": "delete"}, "@slot": {"operation": "delete"}}
    text = json.dumps({"fx-net:network": {"port": [entry]}})
    data = Snippet(Source("File", "", "f.json"), 0, json.loads(text), True, text, edits=False)
    merged = merge_device(fxr, [data])
    assert [(p.path, p.message) for p in merged.problems] == [
        (PORT, 'Prefix "ietf-netconf" of the metadata "operation" does not match any module in the context'),
        (f"{PORT}/mtu", 'Unsatisfied range - value "10" is out of the allowed range'),  # the entry stays
        (f"{PORT}/slot", "Missing JSON data instance to be coupled with @slot metadata"),
    ]


def test_in_a_snippet_the_operation_deletes_and_what_the_snippet_sets_itself_stays_and_is_validated(fxr):
    value = {"network": {"port": [{"name": "e1", "mtu": 10, "@mtu": {"ietf-netconf:operation": "delete"}}]}}
    merged = merge_device(fxr, [snippet("a", value)], running(RUNNING))
    assert [(p.path, p.message) for p in merged.problems] == [
        (f"{PORT}/mtu", 'Unsatisfied range - value "10" is out of the allowed range')]
