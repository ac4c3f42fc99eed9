"""Data shapes found by comparing choreo's ``config validate`` with yanglint (Debian's libyang2-tools, libyang
2.1.30, ``-t config -e``): a list key written with its module's name, anyxml whose value is ``null``, anyxml
given in XML, a list keyed by a union with a string member. Where choreo agrees with yanglint the tests say so;
where it does not, they pin both verdicts and README's yanglint differences say why."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from tests.yang.conftest import FIXTURES
from tests.yang.test_profiles import write_schema
from yang.data_text import decode_value
from yang.libyang_adapter import ModuleSource, SchemaContext
from yang.validate import validate_file

SHAPES = FIXTURES / "shapes"
LINT = shutil.which("yanglint")
needs_yanglint = pytest.mark.skipif(LINT is None, reason="yanglint (libyang2-tools) is not installed")
XML_TOP = '<shapes xmlns="urn:choreo:test:fx-shape">%s</shapes>'


@cache
def context() -> SchemaContext:
    return SchemaContext([SHAPES], [ModuleSource("fx-shape", SHAPES / "fx-shape.yang")])


def shapes(members: str) -> str:
    return f'{{"fx-shape:shapes": {{{members}}}}}'


def choreo(text: str, suffix: str, tmp_path: Path) -> tuple[bool, list[str]]:
    """``config validate``'s verdict on ``text`` in a file with ``suffix``, and its report lines."""
    project = tmp_path / "p"
    project.mkdir(exist_ok=True)
    write_schema(project, "shape", f"  repositories:\n  - path: {SHAPES}\n    schema:\n      models: [fx-shape.yang]\n")
    file = project / f"data{suffix}"
    file.write_text(text)
    lines, valid = validate_file(project, "shape", file)
    return valid, lines


def yanglint_valid(text: str, suffix: str, tmp_path: Path) -> bool:
    file = tmp_path / f"lint{suffix}"
    file.write_text(text)
    done = subprocess.run([str(LINT), "-p", str(SHAPES), "-e", "-t", "config", str(SHAPES / "fx-shape.yang"),
                           str(file)], capture_output=True, text=True, timeout=60, check=False)
    return done.returncode == 0


AGREE = {
    # RFC 7951 4 wants the plain name there, but libyang takes the qualified one, for a key as for any member
    "a list key with its module's name": (shapes('"port": [{"fx-shape:name": "e1", "mtu": 1500}]'), ".json", True),
    "a key given plain and qualified": (shapes('"port": [{"name": "e1", "fx-shape:name": "e1"}]'), ".json", False),
    "a key with another module's name": (shapes('"port": [{"ietf-netconf:name": "e1"}]'), ".json", False),
    # RFC 7951 5.5: an anyxml value is any JSON value, null too; anydata's is an object
    "anyxml null": (shapes('"blob": null'), ".json", True),
    "anydata null": (shapes('"bag": null'), ".json", False),
    "XML anydata content of numbers and empty elements": (XML_TOP % "<bag><n>1</n><e/></bag>", ".xml", True),
    # libyang 2.1 prints "t" (a prefix of true) bare when it writes the XML content as JSON
    "XML anyxml text that starts like a boolean": (XML_TOP % '<blob><n a="1">t</n><m>fals</m></blob>',
                                                   ".xml", True),
    "union keys of different member types": (shapes('"tagged": [{"tag": 1}, {"tag": "x"}]'), ".json", True),
}

DIFFER = {
    # RFC 7950 7.8.2: key values are unique; 1 and "1" are both <tag>1</tag> in XML and [tag='1'] in a path
    "union keys 1 and \"1\"": (shapes('"tagged": [{"tag": 1}, {"tag": "1"}]'), ".json", False),
    # RFC 8259 7: a quote, a backslash and a control character are escaped in JSON; libyang 2.1 writes anydata and
    # anyxml strings unescaped, so choreo could not write the config out (out/<device>.json)
    "anydata text with a quote": (shapes('"bag": {"x": "a\\"b"}'), ".json", False),
    "anyxml text with a control character": (shapes('"blob": {"x": ["a\\nb"]}'), ".json", False),
    "XML anyxml text with a backslash": (XML_TOP % "<blob><x>a\\nb</x></blob>", ".xml", False),
    "XML anydata attribute with a quote": (XML_TOP % '<bag><x a=\'q"\'>1</x></bag>', ".xml", False),
    # RFC 8259 4: names in an object should be unique; choreo refuses a name twice in any JSON object
    "an anydata member twice": (shapes('"bag": {"x": 1, "x": 2}'), ".json", False),
}


@needs_yanglint
@pytest.mark.parametrize("case", sorted(AGREE))
def test_choreo_and_yanglint_agree(case, tmp_path):
    text, suffix, valid = AGREE[case]
    assert (choreo(text, suffix, tmp_path)[0], yanglint_valid(text, suffix, tmp_path)) == (valid, valid)


@needs_yanglint
@pytest.mark.parametrize("case", sorted(DIFFER))
def test_where_choreo_and_yanglint_differ_as_the_readme_says(case, tmp_path):
    text, suffix, valid = DIFFER[case]
    assert (choreo(text, suffix, tmp_path)[0], yanglint_valid(text, suffix, tmp_path)) == (valid, not valid)


def test_a_qualified_key_names_the_entry_and_the_value_is_kept(tmp_path):
    valid, lines = choreo(shapes('"port": [{"fx-shape:name": "e1", "mtu": 1500}]'), ".json", tmp_path)
    assert valid and lines == ["data.json: valid (shape, 2 leaves)"]


def test_union_keys_that_are_one_in_xml_are_a_duplicate_entry(tmp_path):
    valid, lines = choreo(shapes('"tagged": [{"tag": 1}, {"tag": "1"}]'), ".json", tmp_path)
    assert not valid
    assert lines[0].startswith("data.json: /fx-shape:shapes/tagged[tag='1']: duplicate entry of list tagged")


def test_xml_anyxml_text_libyang_takes_for_a_boolean_stays_the_text(tmp_path):
    text = XML_TOP % '<blob><n>t</n><m>fa</m><s>x: t, f</s></blob>'
    decoded = decode_value(context(), text, "xml")
    assert decoded.value == {"fx-shape:shapes": {"blob": {"n": "t", "m": "fa", "s": "x: t, f"}}}


def test_anydata_text_libyang_would_write_unescaped_is_an_error_naming_the_node(tmp_path):
    valid, lines = choreo(shapes('"bag": {"x": "a\\"b"}, "port": [{"name": "e1"}]'), ".json", tmp_path)
    assert not valid
    assert lines[0].startswith('data.json: /fx-shape:shapes/bag: anydata/anyxml text "a\\"b" holds a quote, a '
                               "backslash or a control character, which libyang 2.1 writes into JSON unescaped: choreo "
                               "could not write this config out [from File data.json (")
    assert lines[1:] == ["data.json: 1 error(s) (shape, 1 leaves)"]


def test_xml_anyxml_text_that_would_print_as_other_json_is_dropped_not_changed(tmp_path):
    """libyang prints ``a", "y": "b`` as two members: the anyxml is dropped as an error, the rest is read."""
    decoded = decode_value(context(), XML_TOP % '<blob><x>a", "y": "b</x></blob><port><name>e1</name></port>', "xml")
    assert decoded.value == {"fx-shape:shapes": {"port": [{"name": "e1"}]}}
    assert [(i.path, i.message.split(" holds")[0]) for i in decoded.issues] == [
        ("/fx-shape:shapes/blob", 'anydata/anyxml text "a\\", \\"y\\": \\"b"')]
