"""Numbers and whole documents where libyang's JSON reader and RFC 7950/7951 part ways, checked against yanglint
(Debian's libyang2-tools, the same libyang 2.1.30): exponent forms, 64-bit integers libyang reads with C's base 0
(octal, hexadecimal), byte order marks, whitespace-only data and text after the JSON value. Where choreo agrees
with yanglint the tests say so; where it does not, they pin both verdicts, which README's "YAML vs JSON snippets"
explains (a later libyang that changes its verdict makes them fail, and the README with them)."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from tests.yang.conftest import FIXTURES, snippet
from tests.yang.test_profiles import write_schema
from yang.data_text import decode_value
from yang.libyang_adapter import ModuleSource, SchemaContext
from yang.merge import Merged, Snippet, Source, merge_device
from yang.outputs import config_json
from yang.validate import validate_file

NUMBERS = FIXTURES / "numbers"
BOM = "\ufeff"
TOP = "/fx-num:numbers"
LINT = shutil.which("yanglint")
needs_yanglint = pytest.mark.skipif(LINT is None, reason="yanglint (libyang2-tools) is not installed")


@cache
def numbers() -> SchemaContext:
    return SchemaContext([NUMBERS], [ModuleSource("fx-num", NUMBERS / "fx-num.yang")])


def data_file(text: str) -> Merged:
    """``text`` as ``config validate`` reads a data file (JSON, or XML when it starts with ``<``)."""
    decoded = decode_value(numbers(), text)
    problems = list(decoded.issues)
    merged = merge_device(numbers(), [Snippet(Source("File", "", "f"), 0, decoded.value, True, text, edits=False)])
    assert not problems, problems
    return merged


def json_members(members: str) -> str:
    return f'{{"fx-num:numbers": {{{members}}}}}'


def yanglint_valid(text: str, suffix: str) -> bool:
    """yanglint's verdict on ``text`` written to a file with ``suffix`` (``-t config -e``, as choreo validates)."""
    with_suffix = Path(subprocess.check_output(["mktemp", "--suffix", suffix], text=True).strip())
    try:
        with_suffix.write_bytes(text.encode())
        done = subprocess.run([str(LINT), "-p", str(NUMBERS), "-e", "-t", "config", str(NUMBERS / "fx-num.yang"),
                               str(with_suffix)], capture_output=True, text=True, timeout=60, check=False)
        return done.returncode == 0
    finally:
        with_suffix.unlink()


# ---------------------------------------------------------------------------------------------- exponent forms


@pytest.mark.parametrize(("number", "value"), [("1e1", 10), ("1.5E2", 150), ("150e-1", 15), ("1E+2", 100),
                                               ("4.294967295e9", 4294967295), ("-0e0", 0)])
def test_a_json_number_with_an_exponent_is_the_integer_it_equals(number, value):
    """RFC 7951 writes integer types as JSON numbers, and a JSON number may have an exponent: libyang reads
    ``1e1`` as 10 for an integer leaf, and so does choreo; the output has the plain integer."""
    merged = data_file(json_members(f'"count": {number}'))
    assert merged.valid, merged.problems
    assert merged.config == {"fx-num:numbers": {"count": value}}


@pytest.mark.parametrize(("number", "message"), [
    ("1e-1", 'Invalid type uint32 value "0.1"'), ("1.55e1", 'Invalid type uint32 value "15.5"'),
    ("5.0", 'Invalid type uint32 value "5.0"'), ("-1e0", 'Value "-1" is out of type uint32 min/max bounds')])
def test_a_number_that_is_no_integer_is_refused_in_libyang_s_words(number, message):
    """A fraction (also one an exponent leaves) is no integer; ``5.0``, written with a fraction and no exponent, is
    refused as libyang refuses it."""
    merged = data_file(json_members(f'"count": {number}'))
    assert [(p.path, p.message) for p in merged.problems] == [(f"{TOP}/count", message)]


def test_exponent_forms_in_the_other_places_numbers_go():
    """A union member, a leaf-list (``1e1`` and ``10`` are one value twice), a range edge; 64-bit and decimal64
    leaves want JSON strings, and ``"1e1"`` as a string is no integer text (RFC 7950 9.2.1)."""
    assert data_file(json_members('"level": 1e1, "small": -1.28e2')).config == {
        "fx-num:numbers": {"small": -128, "level": 10}}
    assert [p.path for p in data_file(json_members('"small": 1.28e2')).problems] == [f"{TOP}/small"]
    for members in ('"big": 1e1', '"big": "1e1"', '"ratio": 1.5e0', '"ratio": "1.5e0"'):
        assert not data_file(json_members(members)).valid, members


@pytest.mark.parametrize("number", ["1e400", "1e-400"])
def test_a_number_no_float_holds_is_a_document_error(number):
    with pytest.raises(ValueError, match=f"the number {number} is out of range"):
        decode_value(None, json_members(f'"count": {number}'))


@pytest.mark.parametrize(("yaml_value", "value"), [(10.0, 10), ("1e1", 10), ("1.5E2", 150), ("150e-1", 15)])
def test_in_a_yaml_mapping_an_exponent_form_is_the_number_it_is(yaml_value, value):
    """YAML 1.1 makes a float of ``1.5e+2`` only (a point and a signed exponent) and leaves ``1e1`` and ``1.5E2``
    strings; YAML 1.2, JSON and the reference read them as numbers, and so does the YAML coercion for a number
    type — a string leaf keeps the text as written."""
    merged = merge_device(numbers(), [snippet("a", {"numbers": {"count": yaml_value, "name": "1e1"}})])
    assert merged.valid, merged.problems
    assert merged.config == {"fx-num:numbers": {"count": value, "name": "1e1"}}
    decimal = merge_device(numbers(), [snippet("a", {"numbers": {"ratio": "15e-1"}})])
    assert decimal.config == {"fx-num:numbers": {"ratio": "1.5"}}
    assert not merge_device(numbers(), [snippet("a", {"numbers": {"count": "1.55e1"}})]).valid


# ------------------------------------------------------------------------------------- 64-bit integers, base 0


@pytest.mark.parametrize(("member", "text", "read"), [
    ("big", "010", "octal, 8"), ("offset", "-0010", "octal, -8"), ("big", "+017", "octal, 15"),
    ("big", "0x10", "hexadecimal, 16"), ("big", "0X1f", "hexadecimal, 31"),
    ("label", "0x10", "hexadecimal, 16"), ("label", "010", "octal, 8")])
def test_a_64_bit_integer_libyang_would_read_in_another_base_is_refused(member, text, read):
    """libyang reads int64/uint64 text in JSON with C's base 0, yanglint too: "010" is 8 and "0x10" 16 — also in a
    union whose string member RFC 7950 gives "0x10" to. RFC 7950 (9.2.1) reads data integers as decimal, so the
    value would change silently: refused in JSON text and in a YAML mapping alike."""
    wide = "int64" if member == "offset" else "uint64"
    message = (f'Invalid {wide} value "{text}": integers are decimal in YANG data (RFC 7950 9.2.1); libyang would '
               f"read this one as {read}")
    for made in (json_members(f'"{member}": "{text}"'), {"numbers": {member: text}}):
        merged = data_file(made) if isinstance(made, str) else merge_device(numbers(), [snippet("a", made)])
        assert [(p.path, p.message) for p in merged.problems] == [(f"{TOP}/{member}", message)]


def test_a_leading_zero_that_reads_the_same_in_both_bases_and_hex_like_strings_are_kept():
    """``07`` and ``00`` are the same number in octal and decimal; ``0xg`` is no number in any base, so the union's
    string member has it (libyang's reading too)."""
    merged = data_file(json_members('"big": "07", "offset": "-00", "label": "0xg"'))
    assert merged.valid, merged.problems
    assert merged.config == {"fx-num:numbers": {"big": "7", "offset": "0", "label": "0xg"}}


def test_base_zero_texts_behind_a_leafref_in_a_leaf_list_and_in_a_list_key():
    text = ('{"fx-num:numbers": {"ref": "010", "ids": ["1", "010"]}, "fx-num:items": {"item": [{"id": "0x8"}, '
            '{"id": "8"}]}}')
    merged = data_file(text)
    paths = [p.path for p in merged.problems]
    assert paths == [f"{TOP}/ref", f"{TOP}/ids", "/fx-num:items/item/id"], merged.problems


def test_in_xml_libyang_reads_integers_as_decimal_as_rfc_7950_says():
    """XML: "010" is 10 and "0x10" an error, in libyang as in RFC 7950 — choreo and yanglint agree."""
    xml = '<numbers xmlns="urn:choreo:test:fx-num"><big>010</big><offset>-007</offset></numbers>'
    assert data_file(xml).config == {"fx-num:numbers": {"big": "10", "offset": "-7"}}
    decoded = decode_value(numbers(), '<numbers xmlns="urn:choreo:test:fx-num"><big>0x10</big></numbers>')
    assert [(i.path, i.message) for i in decoded.issues] == [(f"{TOP}/big", 'Invalid type uint64 value "0x10"')]


# ------------------------------------------------------------------------------------------- whole documents


@pytest.mark.parametrize(("text", "message"), [
    ("", "no JSON value: the text is empty or only whitespace"),
    (" \n\t", "no JSON value: the text is empty or only whitespace"),
    ('{"fx-num:numbers": {}} x', "text after the JSON value at line 1 column 24: JSON text is one value"),
    ('{"fx-num:numbers": {}}\n{}', "text after the JSON value at line 2 column 1"),
    (BOM + '{"fx-num:numbers": {}}', "JSON text must not start with a byte order mark (U+FEFF)")])
def test_json_text_is_one_json_value_without_a_byte_order_mark(text, message):
    with pytest.raises(ValueError) as err:
        decode_value(numbers(), text, "json")
    assert str(err.value).startswith(message)


def test_xml_may_start_with_a_byte_order_mark_and_may_hold_no_element():
    """XML 1.0 (4.3.3) lets UTF-8 text start with a byte order mark; whitespace, a comment or a declaration alone
    are XML without data."""
    xml = BOM + '<?xml version="1.0"?>\n<numbers xmlns="urn:choreo:test:fx-num"><count>5</count></numbers>'
    assert decode_value(numbers(), xml).value == {"fx-num:numbers": {"count": 5}}
    for empty in (" \n", "<!-- nothing -->", '<?xml version="1.0"?>\n'):
        assert decode_value(numbers(), empty, "xml").value == {}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_schema(tmp_path, "num", f"  repositories:\n  - path: {NUMBERS}\n    schema:\n      models: [fx-num.yang]\n")
    return tmp_path


@pytest.mark.parametrize(("name", "content", "valid", "says"), [
    ("bom.json", BOM + '{"fx-num:numbers": {"count": 5}}', False, "must not start with a byte order mark"),
    ("bom.xml", BOM + '<numbers xmlns="urn:choreo:test:fx-num"><count>5</count></numbers>', True, "valid"),
    ("bom.yaml", BOM + "numbers:\n  count: 5\n", True, "valid"),
    ("ws.json", "  \n", False, "no JSON value"),
    ("ws.xml", "  \n", True, "valid (num, 0 leaves)"),
    ("empty.json", "", False, "the file is empty"),
    ("empty.xml", "", False, "the file is empty"),
    ("trailing.json", '{"fx-num:numbers": {"count": 5}}\n]', False, "text after the JSON value at line 2"),
    ("xml-in.json", '<numbers xmlns="urn:choreo:test:fx-num"/>', False, "Expecting value"),
    ("json-in.xml", '{"fx-num:numbers": {}}', False, "expected element tag start"),
    ("exponent.json", '{"fx-num:numbers": {"count": 1e1}}', True, "valid (num, 1 leaves)"),
])
def test_config_validate_reads_a_file_as_its_suffix_says(project, name, content, valid, says):
    """As yanglint: ``.json`` is JSON and ``.xml`` XML whatever the text looks like; an empty file has no data."""
    file = project / name
    file.write_bytes(content.encode())
    lines, ok = validate_file(project, "num", file)
    assert ok is valid, lines
    assert says in "\n".join(lines)


# ------------------------------------------------------------------------------------------ against yanglint

AGREE = {
    "exponent forms": (json_members('"count": 1.5E2, "small": -1.28e2, "level": 1e1'), ".json", True),
    "an exponent leaving a fraction": (json_members('"count": 1.55e1'), ".json", False),
    "a fraction": (json_members('"count": 5.0'), ".json", False),
    "a 64-bit exponent string": (json_members('"big": "1e1"'), ".json", False),
    "leading zeros reading the same": (json_members('"big": "07", "label": "0xg"'), ".json", True),
    "08 is no octal number": (json_members('"big": "08"'), ".json", False),
    "XML leading zero": ('<numbers xmlns="urn:choreo:test:fx-num"><big>010</big><label>010</label></numbers>', ".xml",
                         True),
    "XML hexadecimal": ('<numbers xmlns="urn:choreo:test:fx-num"><big>0x10</big></numbers>', ".xml", False),
    "XML whitespace only": (" \n ", ".xml", True),
    "XML comment only": ("<!-- nothing -->", ".xml", True),
    "JSON byte order mark": (BOM + json_members('"count": 5'), ".json", False),
    "XML must fails": ('<numbers xmlns="urn:choreo:test:fx-num"><limit>5</limit></numbers>', ".xml", False),
    "JSON must fails": (json_members('"limit": 5'), ".json", False),
    "XML when fails": ('<numbers xmlns="urn:choreo:test:fx-num"><mode>b</mode><detail>x</detail></numbers>', ".xml",
                       False),
    "XML leafref to a uint64 key": ('<numbers xmlns="urn:choreo:test:fx-num"><ref>08</ref></numbers><items '
                                    'xmlns="urn:choreo:test:fx-num"><item><id>8</id></item></items>', ".xml", True),
    "JSON dangling leafref": ('{"fx-num:numbers": {"ref": "9"}, "fx-num:items": {"item": [{"id": "8"}]}}', ".json",
                              False),
}

DIFFER = {
    # RFC 7950 9.2.1: integers in data are decimal (RFC 7951 6.1: the JSON string holds that text)
    "octal in JSON": (json_members('"big": "010"'), ".json", False),
    "hexadecimal in JSON": (json_members('"big": "0x10"'), ".json", False),
    "hexadecimal for a union with a string": (json_members('"label": "0x10"'), ".json", False),
    # RFC 8259 2: JSON text is one value, with whitespace around it
    "whitespace only JSON": (" \n", ".json", False),
    "text after the JSON value": (json_members('"count": 5') + " x", ".json", False),
    # libyang writes an exponent form out as digits, and some whose value is an integer come out wrong
    "0.5e1, which libyang reads as '.'": (json_members('"count": 0.5e1'), ".json", True),
    "5.0e0": (json_members('"count": 5.0e0'), ".json", True),
    "120.0e-1": (json_members('"count": 120.0e-1'), ".json", True),
    # XML 1.0 4.3.3: UTF-8 text may start with a byte order mark
    "XML byte order mark": (BOM + '<numbers xmlns="urn:choreo:test:fx-num"><count>5</count></numbers>', ".xml", True),
    # the union's string member has "0x10" in XML (libyang too), but choreo hands libyang JSON, read with base 0
    "XML hexadecimal for a union with a string": (
        '<numbers xmlns="urn:choreo:test:fx-num"><label>0x10</label></numbers>', ".xml", False),
}
"""Where choreo's verdict (the value) is the opposite of yanglint's, each explained in the README."""


def choreo_valid(text: str, suffix: str, tmp_path: Path) -> bool:
    project = tmp_path / "p"
    project.mkdir()
    write_schema(project, "num", f"  repositories:\n  - path: {NUMBERS}\n    schema:\n      models: [fx-num.yang]\n")
    file = project / f"data{suffix}"
    file.write_bytes(text.encode())
    return validate_file(project, "num", file)[1]


@needs_yanglint
@pytest.mark.parametrize("case", sorted(AGREE))
def test_choreo_and_yanglint_agree(case, tmp_path):
    text, suffix, valid = AGREE[case]
    assert (choreo_valid(text, suffix, tmp_path), yanglint_valid(text, suffix)) == (valid, valid)


@needs_yanglint
@pytest.mark.parametrize("case", sorted(DIFFER))
def test_where_choreo_and_yanglint_differ_as_the_readme_says(case, tmp_path):
    text, suffix, valid = DIFFER[case]
    assert (choreo_valid(text, suffix, tmp_path), yanglint_valid(text, suffix)) == (valid, not valid)


@needs_yanglint
def test_the_output_of_an_exponent_form_is_what_yanglint_reads(tmp_path):
    """The exponent form's integer is what choreo's output holds, and yanglint takes that output."""
    merged = data_file(json_members('"count": 1.5E2, "big": "07"'))
    assert merged.config == {"fx-num:numbers": {"count": 150, "big": "7"}}
    assert yanglint_valid(config_json(merged.config), ".json")
