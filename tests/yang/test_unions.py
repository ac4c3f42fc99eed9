"""A union leaf's value in a YAML mapping against the same value as RFC 7951 JSON text (choreo's strict reading
and yanglint's): where JSON text has a value of the leaf, the mapping gets that value — the JSON type picks the
member type (RFC 7951 6.10), also past a leafref member that takes the text but has no target; where JSON text
has none, the mapping's leniency gives the first member that takes the text (README, "YAML vs JSON snippets")."""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import choreo
from tests.yang.conftest import FIXTURES, snippet
from tests.yang.test_profiles import write_schema
from tests.yang.test_stage_incremental import CRDS, NODE
from yang.libyang_adapter import ModuleSource, SchemaContext
from yang.merge import Merged, Snippet, Source, merge_device

UNIONS = FIXTURES / "unions"
MODULE = UNIONS / "fx-union.yang"
TOP = "fx-union:u"
TARGETS = {"item": [{"id": 7}], "named": [{"name": "x"}]}  # what the leafref members may point at
LINT = shutil.which("yanglint")
NO_SUBTYPE = 'Invalid union value "{}" - no matching subtype found'


def refused(text: str) -> tuple[str, str]:
    """An expected error: libyang finds no member type for the value ``text``."""
    return ("refused", NO_SUBTYPE.format(text))


@cache
def unions() -> SchemaContext:
    return SchemaContext([UNIONS], [ModuleSource("fx-union", MODULE)])


def members(merged: Merged) -> dict[str, Any]:
    return {k: v for k, v in merged.config.get(TOP, {}).items() if k not in TARGETS}


def mapping(leaf: str, value: Any) -> Merged:
    return merge_device(unions(), [snippet("a", {"u": {**TARGETS, leaf: value}})])


def json_text(leaf: str, value: Any) -> Merged:
    data = {TOP: {**TARGETS, leaf: value}}
    return merge_device(unions(), [Snippet(Source("Config", "default", "j"), 10, data, strict=True)])


def yanglint(leaf: str, value: Any, tmp_path: Path) -> tuple[bool, dict[str, Any]]:
    """yanglint's verdict on the value as JSON text (``-t config -e``), and the leaf as it prints it."""
    data = tmp_path / "data.json"
    data.write_text(json.dumps({TOP: {**TARGETS, leaf: value}}))
    done = subprocess.run([str(LINT), "-p", str(UNIONS), "-e", "-t", "config", "-f", "json", str(MODULE), str(data)],
                          capture_output=True, text=True, timeout=60, check=False)
    if done.returncode:
        return False, {}
    return True, {k: v for k, v in json.loads(done.stdout)[TOP].items() if k not in TARGETS}


# (leaf, the value as YAML writes it, the leaf in choreo's output or the error)
AGREE = [
    ("lr-str", "7", 7),  # leafref to a string key | uint8: the number is the uint8, as in JSON text
    ("lr-str", "'7'", refused("7")),  # the string is the leafref's, which has no target "7"
    ("lr-str", "x", "x"),
    ("lr-int", "7", 7),
    ("lr-or-str", "'7'", "7"),  # leafref to an integer key | string: the string is the string
    ("lr-or-str", "8", refused("8")),  # the number is the leafref's, which has no target 8
    ("enum-int", "7", 7),
    ("enum-int", "'7'", "7"),  # the enum "7"
    ("ident-int", "red", "fx-union:red"),
    ("ident-int", "3", 3),
    ("dec-int", "7", 7),
    ("dec-int", "'7'", "7.0"),
    ("pat-int", "7", 7),
    ("pat-int", "'7'", "7"),
    ("int-str", "'7'", "7"),
    ("bool-str", "'on'", "on"),
    ("str-bool", "true", True),
    ("str-bool", "yes", True),  # YAML 1.1's boolean: the boolean member, as JSON's true
    ("int-bool", "true", True),
    ("empty-int", "[null]", [None]),
    ("str-empty", "[null]", [None]),
    ("str-empty", "''", ""),
    ("nested", "7", 7),
    ("nested", "auto", "auto"),
    ("nested", "abc", "abc"),
    ("nested", "no", False),
    ("i64-int", "7", 7),
    ("i64-int", "'7'", "7"),
    ("str-i64", "'010'", "010"),  # the string member, listed first, takes it: libyang never reads it in base 0
    ("str-i64", "'0x10'", "0x10"),
    ("tagged", "[{tag: 7}]", [{"tag": 7}]),
    ("tagged", "[{tag: '7'}]", refused("7")),
    ("pair", "[{tag: 7, name: z}]", [{"tag": 7, "name": "z"}]),
]

# JSON text has no value of the leaf here; the mapping's leniency gives the first member that takes the text
LENIENT = [
    ("lr-int", "'7'", 7),
    ("enum-int", "'8'", 8),
    ("ident-int", "'3'", 3),
    ("dec-int", "1.5", "1.5"),
    ("dec-str", "7", "7.0"),
    ("pat-int", "300", "300"),
    ("int-str", "300", "300"),
    ("int-str", "22:22", "1342"),  # YAML 1.1 read 1342; its spellings are tried in order
    ("int-bool", "'true'", True),
    ("empty-int", "''", [None]),
    ("nested", "'7'", 7),
    ("i64-int", "300", "300"),
    ("str-i64", "7", "7"),
]


@pytest.mark.parametrize(("leaf", "written", "expected"), AGREE)
def test_a_mapping_s_union_value_is_what_the_same_json_text_gives(leaf, written, expected):
    value = yaml.safe_load(written)
    merged, strict = mapping(leaf, value), json_text(leaf, value)
    if isinstance(expected, tuple):
        assert [p.message for p in merged.problems] == [expected[1]]
        assert [p.message for p in strict.problems] == [expected[1]]
        return
    assert merged.valid, merged.problems
    assert members(merged) == {leaf: expected}
    assert strict.valid, strict.problems
    assert members(strict) == {leaf: expected}


@pytest.mark.parametrize(("leaf", "written", "expected"), LENIENT)
def test_a_mapping_s_union_value_json_text_has_no_reading_of_is_coerced(leaf, written, expected):
    value = yaml.safe_load(written)
    merged = mapping(leaf, value)
    assert merged.valid, merged.problems
    assert members(merged) == {leaf: expected}
    assert [p.message for p in json_text(leaf, value).problems] == [NO_SUBTYPE.format(json.dumps(value).strip('"'))]


@pytest.mark.skipif(LINT is None, reason="yanglint (libyang2-tools) is not installed")
@pytest.mark.parametrize(("leaf", "written", "expected"), AGREE + LENIENT)
def test_yanglint_agrees_with_choreo_s_reading_of_the_json_text(leaf, written, expected, tmp_path):
    value = yaml.safe_load(written)
    strict = json_text(leaf, value)
    valid, printed = yanglint(leaf, value, tmp_path)
    assert valid is strict.valid
    assert printed == (members(strict) if valid else {})


def test_a_leaf_list_of_a_union_reads_each_value_by_its_json_type():
    merged = mapping("lr-ints", [7, "x"])
    assert merged.valid, merged.problems
    assert members(merged) == {"lr-ints": [7, "x"]}
    refused = mapping("lr-ints", ["7"])  # the leafref's string, no target "7": as JSON text
    assert [(p.path, p.message) for p in refused.problems] == [(f"/{TOP}/lr-ints[.='7']", NO_SUBTYPE.format(7))]


def test_the_stage_takes_a_mapping_s_number_for_a_union_of_a_leafref_and_an_integer(tmp_path):
    """End to end: a Config written in YAML, ``lr-str: 7`` (leafref to a string key | uint8), validates, and the
    output has the number, as JSON text with ``"lr-str": 7`` has."""
    project = tmp_path / "p"
    (project / "crds").mkdir(parents=True)
    for crd in ("config.sdcio.dev_configs.yaml", "config.sdcio.dev_runningconfigs.yaml", "infra.kuid.dev_nodes.yaml"):
        shutil.copy(CRDS / crd, project / "crds" / crd)
    write_schema(project, "fx", f"  repositories:\n  - path: {UNIONS}\n    schema:\n      models: [fx-union.yang]\n")
    (project / "in").mkdir()
    (project / "in" / "node.yaml").write_text(NODE.format(name="dev1", version="1"))
    (project / "in" / "config.yaml").write_text("""apiVersion: config.sdcio.dev/v1alpha1
kind: Config
metadata:
  name: unions
  namespace: default
  labels: {config.sdcio.dev/targetName: dev1}
spec:
  priority: 10
  config:
  - path: /
    value:
      u:
        named: [{name: x}]
        lr-str: 7
        str-bool: yes
        tagged: {tag: 7}
""")
    done = choreo("run", str(project), "-s")
    assert done.code == 0, done.out
    written = json.loads((project / "out" / "dev1.json").read_text())
    assert written == {TOP: {"named": [{"name": "x"}], "tagged": [{"tag": 7}], "lr-str": 7, "str-bool": True}}


def test_a_mapping_s_null_sets_a_union_whose_first_member_taking_no_text_is_empty():
    """YAML writes a leaf of type ``empty`` as ``leaf:`` (null); for ``string | empty`` the string takes "" first,
    and null deletes, as for a string leaf."""
    running = Snippet(Source("File", "", "running"), 2**31 - 1, {TOP: {"str-empty": "s"}}, strict=True, edits=False)
    merged = merge_device(unions(), [snippet("a", {"u": {"empty-int": None, "str-empty": None}})], running)
    assert merged.valid, merged.problems
    assert members(merged) == {"empty-int": [None]}


@pytest.mark.skipif(LINT is None, reason="yanglint (libyang2-tools) is not installed")
def test_a_leaf_list_s_number_and_string_of_one_text_are_one_value_to_choreo_two_to_yanglint(tmp_path):
    """README, "Where choreo differs": ``7`` and ``"7"`` are different member types (RFC 7951 6.10) but one value
    (RFC 7950 7.7.2, ``<lr-ints>7</lr-ints>`` twice in XML); libyang keeps both."""
    value = [7, "7"]
    data = {TOP: {"named": [{"name": "7"}], "lr-ints": value}}
    strict = merge_device(unions(), [Snippet(Source("Config", "default", "j"), 10, data, strict=True)])
    assert [(p.path, p.message) for p in strict.problems] == [
        (f"/{TOP}/lr-ints[.='7']", 'duplicate value "7" of leaf-list lr-ints')]
    file = tmp_path / "data.json"
    file.write_text(json.dumps(data))
    done = subprocess.run([str(LINT), "-p", str(UNIONS), "-e", "-t", "config", str(MODULE), str(file)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
