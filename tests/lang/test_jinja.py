"""Tests of the Jinja2 template reconciler (spec §4.3): rendering, the pongo2 translation layer, errors,
and the output contract shared with the Go-template engine (one owned KRM object)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from choreo.errors import LoadError, ReconcileError
from choreo.lang import pongo2
from choreo.lang.engines import make_engine
from choreo.lang.jinja_engine import JinjaReconciler, pongo2_finalize, translate_pongo2
from choreo.lang.limits import LimitExceeded, Limits
from choreo.loader.project import ReconcilerConfig, ResourceSelector

DIR = "reconcilers/cfg"
OBJ: dict[str, Any] = {
    "apiVersion": "device.example.com/v1alpha1",
    "kind": "Interface",
    "metadata": {"name": "node1.e1-1", "namespace": "default", "uid": "u-1"},
    "spec": {"node": "node1", "mtu": 9000, "ratio": 1.5, "up": True, "none": None, "items": ["a", "b"]},
}
CHILD = (
    "apiVersion: config.sdcio.dev/v1alpha1\nkind: Config\nmetadata:\n  name: {{ metadata.name }}\n"
    "spec:\n  priority: 10\n"
)


class Recorder:
    """A ReconcileClient that only records children (all a template engine may do)."""

    def __init__(self) -> None:
        self.children: list[dict[str, Any]] = []

    def create_child(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.children.append(obj)
        return obj


def config(code: dict[str, str], kind: str = "jinjatemplate") -> ReconcilerConfig:
    return ReconcilerConfig(
        name="cfg",
        source=f"{DIR}/config.yaml",
        type=kind,
        for_=ResourceSelector("device.example.com", "v1alpha1", "Interface"),
        owns=[ResourceSelector("config.sdcio.dev", "v1alpha1", "Config")],
        code=code,
        code_files={key: f"{DIR}/{key}" for key in code},
    )


def render(main: str, **others: str) -> str:
    return JinjaReconciler(config({"main.jinja2": main, **others})).render(dict(OBJ))


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ metadata.name }}", "node1.e1-1"),
        ("{{ spec.mtu }}", "9000"),  # ints stay ints
        ("{{ spec.ratio }}", "1.500000"),  # floats print like pongo2 (%f)
        ("{{ spec.up }}", "True"),
        ("[{{ spec.none }}]", "[]"),  # null prints nothing, as in pongo2
        # a list or mapping as Python writes it (pongo2: <[]interface {} Value>, <map[string]interface {} Value>)
        ("{{ spec.items }}", "['a', 'b']"),
        ("{{ metadata }}", "{'name': 'node1.e1-1', 'namespace': 'default', 'uid': 'u-1'}"),
        ("{% for i in spec['items'] %}{{ loop.index }}={{ i }} {% endfor %}", "1=a 2=b "),
        ("{% if spec.up and spec.mtu > 1500 %}jumbo{% else %}std{% endif %}", "jumbo"),
        ("{% if spec.vlan is defined %}v{% else %}none{% endif %}", "none"),
        ("{% set n = spec.node | upper %}{{ n }}", "NODE1"),
        ("{{ '%05d' | format(spec.mtu) }}", "09000"),
        ("{% for k, v in spec | dictsort %}{{ k }} {% endfor %}", "items mtu node none ratio up "),
        ("line\n", "line\n"),  # the trailing newline is kept
        ("{% include 'part.jinja2' %}", "part of node1"),
    ],
)
def test_renders_construct(template: str, expected: str) -> None:
    assert render(template, **{"part.jinja2": "part of {{ spec.node }}"}) == expected


def test_mapping_keys_win_over_dict_methods() -> None:
    obj = {**OBJ, "spec": {"items": "key", "keys": "k2"}}
    reconciler = JinjaReconciler(config({"main.jinja2": "{{ spec.items }} {{ spec.keys }}"}))
    assert reconciler.render(obj) == "key k2"


@pytest.mark.parametrize(
    ("pongo2", "jinja2"),
    [
        ("{% macro m(a, b) export %}x{% endmacro %}", "{% macro m(a, b) %}x{% endmacro %}"),
        ("{%- macro m() export -%}", "{%- macro m() -%}"),
        ("{% import 'lib.jinja2' m %}", "{% from 'lib.jinja2' import m %}"),
        ('{% import "lib.jinja2" m1, m2 as x %}', '{% from "lib.jinja2" import m1, m2 as x %}'),
        ("{%- import 'lib.jinja2' m -%}", "{%- from 'lib.jinja2' import m -%}"),
        ("{% import 'lib.jinja2' as lib %}", "{% import 'lib.jinja2' as lib %}"),  # Jinja2 form untouched
        ("{{ x|upper }}{{ x | first|e }}", "{{ x|pongo2_upper }}{{ x |pongo2_first|pongo2_e }}"),
        ('{{ x|center:20 }}{{ x|join:"," }}', '{{ x|pongo2_center(20) }}{{ x|pongo2_join(",") }}'),
        ("{{ x|upper() }}{{ x|center(20) }}{{ x|trim }}", "{{ x|upper() }}{{ x|center(20) }}{{ x|trim }}"),
        ("{% filter upper|center:9 %}", "{% filter pongo2_upper|pongo2_center(9) %}"),
        ("{%- filter upper() -%}{% filter trim %}", "{%- filter upper() -%}{% filter trim %}"),
        ("{% macro export_it() %}", "{% macro export_it() %}"),
    ],
)
def test_translates_pongo2_forms(pongo2: str, jinja2: str) -> None:
    assert translate_pongo2(pongo2) == jinja2


def test_pongo2_macro_export_and_import_render() -> None:
    lib = "{% macro label(key, value) export %}{{ key }}: {{ value }}{% endmacro %}"
    main = "{% import 'lib.jinja2' label %}{{ label('node', spec.node) }}"
    assert render(main, **{"lib.jinja2": lib}) == "node: node1"


PONGO2_OBJ = {**OBJ, "spec": {**OBJ["spec"], "labels": {"b": "2", "ab": "1", "xyz": "3"}}}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        # a mapping's items in key order (pongo2's are in Go's random map order); reversed, sorted, empty
        ("{% for k, v in spec.labels %}{{ k }}={{ v }};{% endfor %}", "ab=1;b=2;xyz=3;"),
        ("{% for k, v in spec.labels reversed %}{{ k }};{% endfor %}", "xyz;b;ab;"),
        ("{% for x in spec['items'] reversed %}{{ x }}{% endfor %}", "ba"),
        ("{% for k in spec.labels sorted %}{{ k }};{% endfor %}", "ab;b;xyz;"),
        ("{% for k, v in spec.vlans %}{{ k }}{% empty %}none{% endfor %}", "none"),
        ("{% for i in spec['items'] %}{{ forloop.Counter }}{{ forloop.Counter0 }}{{ forloop.First }}"
         "{{ forloop.Last }}{{ forloop.Revcounter }}{{ forloop.Revcounter0 }} {% endfor %}",
         "10TrueFalse21 21FalseTrue10 "),
        # filter arguments after a colon; pongo2's default replaces every false value
        ('{{ spec.node|default:"x" }} {{ spec.vlan|default:"x" }} {{ spec.none|default:"n" }} {{ 0|default:5 }}',
         "node1 x n 5"),
        ("{{ spec.vlan|default:spec['items'][1]|upper }} {{ spec.vlan|default:spec.labels.ab }}", "B 1"),
        ('{{ spec["items"]|join:", " }} {{ spec.node|stringformat:"%-6s|" }} {{ spec.mtu|stringformat:"%05d" }}',
         "a, b node1 | 09000"),
        ('{{ spec.ratio|stringformat:"%.2f" }} {{ spec.node|stringformat:"%d" }}', "1.50 %!d(string=node1)"),
        ("{% if spec.mtu > 1500 && spec.up %}y{% endif %}{% if !spec.up || spec.mtu <> 9000 %}n{% else %}e{% endif %}",
         "ye"),
        ('{{ spec.mtu|add:1 }} {{ spec.node|add:"x" }} {{ spec.node|capfirst }} {{ "a b"|cut:" " }}',
         "9001 node1x Node1 ab"),
        ('{{ spec.none|default_if_none:"-" }} {{ spec.up|yesno }} {{ spec.none|yesno:"y,n" }} {{ "a,b"|split:"," }}',
         "- yes maybe ['a', 'b']"),
        ('{{ spec["items"]|length_is:2 }} {{ spec.mtu|divisibleby:7 }} {{ spec.node|ljust:6 }}|{{ spec.node|rjust:6 }}',
         "True False node1 | node1"),
        ("{{ 3.14159|floatformat }} {{ 3.0|floatformat }} {{ 3.14159|floatformat:3 }} {{ 3.0|floatformat:-2 }}"
         ' {{ "12"|integer }} {{ 2|pluralize }} {{ 1|pluralize:"y,ies" }}', "3.1 3 3.142 3 12 s y"),
        ('{{ spec["items"]|slice:":1" }} {{ spec.node|slice:"1:3" }} {{ spec["items"]|slice(2)|list }}',
         "['a'] od [['a'], ['b']]"),
        ('{% ifequal spec.node "node1" %}eq{% endifequal %}{% ifnotequal spec.mtu 1 %}ne{% endifnotequal %}', "eqne"),
        ("a{% comment %} {{ nope }} {% endcomment %}b", "ab"),
        # never inside strings, raw blocks and comments; Jinja2's own forms untouched
        ("{{ 'a|b:c && d' }} {% raw %}{{ a|b:\"c\" }}{% endraw %}{# a|b:\"c\" #}", 'a|b:c && d {{ a|b:"c" }}'),
        ('{% for x in spec["items"] if x != "a" %}{{ x }}{% endfor %}'
         "{% for a, b in [(1, 2)] %}{{ a }}{{ b }}{% endfor %}", "b12"),
    ],
)
def test_pongo2_syntax_and_filters(template: str, expected: str) -> None:
    assert JinjaReconciler(config({"main.jinja2": template})).render(dict(PONGO2_OBJ)) == expected


# pongo2 v6's filters (filters_builtin.go) on pongo2's Value conversions: a string is a number where Go's
# strconv.ParseFloat reads one (" 12" no, "1_000" and "0x1p4" yes, "1e400" is out of range: 0), a float
# becomes an int as Go's int() on amd64 makes it (+Inf: -9223372036854775808), a number has no length,
# Go's strings.ToUpper keeps one character one ("ß"), Go's %-5s pads on the right. The Go parts were checked
# with Go 1.19 (strconv.ParseFloat, int(), strings.ToUpper, strings.Split, fmt.Sprintf, FormatFloat).
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ('{{ 1|add:2 }} {{ 1|add:1.5 }} {{ 1|add:"2" }} {{ "a"|add:1.5 }} {{ spec.up|add:1 }} {{ spec.none|add:"x" }}',
         "3 2.500000 12 a1.500000 True1 x"),
        ('[{{ 5|capfirst }}] {{ "ßa"|capfirst }} {{ "éa"|capfirst }} [{{ ""|capfirst }}] {{ 1.5|cut:"0" }}',
         "[] ßa Éa [] 1.5"),
        ('{{ "21"|divisibleby:"7" }} {{ 7|divisibleby:0 }} {{ "x"|divisibleby:3 }} {{ 0|default_if_none:"x" }}',
         "True False True 0"),
        ('{{ "3.0"|floatformat }} {{ 3.0|floatformat:3 }} {{ 3.0|floatformat:"3" }} {{ 3.7|floatformat:0 }}'
         ' {{ "abc"|floatformat }} {{ 2.5|floatformat:0 }} {{ 3.25|floatformat:"-1" }}', "3 3.000 3 4 0 2 3.2"),
        ('{{ " 12"|integer }} {{ "1_000"|integer }} {{ "1e3"|integer }} {{ "inf"|integer }} {{ "1e400"|integer }}'
         ' {{ "0x1p4"|integer }} {{ "0x10"|integer }} {{ -1.9|integer }} {{ 1e30|integer }}',
         "0 1000 1000 -9223372036854775808 0 16 0 -1 -9223372036854775808"),
        ('{{ 5|length_is:0 }} {{ "é"|length_is:1 }} {{ spec.none|length_is:0 }} {{ 5|ljust:3 }}|{{ "é"|ljust:3 }}|'
         '{{ "ab"|rjust:-5 }}|{{ "é"|rjust:5 }}|{{ 1.5|rjust:10 }}', "True True True 5   |é  |ab   |    é|  1.500000"),
        ('{{ 2|pluralize:2 }}{{ 1.5|pluralize }}|{{ 0|pluralize:"es" }}|{{ 1|pluralize:"es" }}', "s|es|"),
        ('{{ "aé"|split:""|join:"-" }} {{ [1.5, None, True, 2]|join:"," }} {{ [1.5, None]|join(",") }}',
         "a-é 1.500000,,True,2 1.5,None"),  # join with a colon is pongo2's, Jinja2's own stays
        ('[{{ "abcde"|slice:":" }}] [{{ "abcde"|slice:"0:" }}] {{ "abcde"|slice:"2:" }} {{ "abcde"|slice:"3:1" }}'
         ' {{ "abcde"|slice:"1:10" }} {{ 5|slice:"1:2" }} {{ spec["items"]|slice:"1:"|join:"" }}',
         "[] [] cde de bcde 5 b"),
        ('{{ 0|yesno:"y,n" }} {{ spec.none|yesno:"y,n" }} {{ spec.none|stringformat:"%s" }} {{ 1e300*1e300 }}',
         "n maybe %!s(<nil>) +Inf"),
    ],
)
def test_pongo2_filters_read_values_as_pongo2(template: str, expected: str) -> None:
    assert JinjaReconciler(config({"main.jinja2": template})).render(dict(PONGO2_OBJ)) == expected


# Filters pongo2 and Jinja2 both have: written as pongo2 writes them (no argument, or one after a colon) they
# are pongo2 v6's; with parentheses they stay Jinja2's. The Go parts (strings.ToUpper/ToLower/Title/Fields/
# TrimSpace, url.QueryEscape) were run with Go 1.19, their outputs are the expected texts here.
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        # first/last: an item of a list or a character of a string, else an empty string (Jinja2: a
        # mapping's first key, an error for a number, a missing value for an empty list)
        ('{{ spec["items"]|first }}{{ spec["items"]|last }} {{ "é1"|first }}{{ "é1"|last }}'
         " [{{ spec.labels|first }}] [{{ []|last }}] [{{ 5|first }}] [{{ spec.none|last }}]",
         "ab é1 [] [] [] []"),
        # length: characters, items; a number or null has none (Jinja2: an error)
        ('{{ 5|length }} {{ spec.none|length }} {{ "é"|length }} {{ spec.labels|length }} {{ spec.vlan|length }}',
         "0 0 1 3 0"),
        # Go's one-rune case mapping (Python: STRASSE, i̇stanbul, a final sigma), pongo2's text of null and floats
        ('{{ "Straße ﬁ İ"|upper }} {{ "İSTANBUL ΣΑΣ"|lower }} [{{ spec.none|lower }}] {{ spec.ratio|upper }}'
         " {{ spec.up|lower }} {{ spec.up|upper }}", "STRAßE ﬁ İ istanbul \u03c3\u03b1\u03c3 [] 1.500000 true TRUE"),
        # Go's strings.Title (Jinja2: It's, 1St A.b_c); a value that is not a string is empty
        ("{{ \"it's ge-0/0/1\"|title }} {{ '1st a.b_c'|title }} {{ 'ÉCOLE été'|title }} {{ 'ǆemal'|title }}"
         " [{{ 5|title }}]", "It'S Ge-0/0/1 1st A.B_c École Été ǅemal []"),
        # Go's strings.Fields (Jinja2 counts \w+ runs: 4 for ge-0/0/1, and cuts at U+001C)
        ('{{ "ge-0/0/1 up"|wordcount }} {{ "a\u00a0b\u2003c\u200bd\x1ce"|wordcount }} {{ 1.5|wordcount }}', "2 3 1"),
        # the odd space on the left (Python's str.center puts it on the right); a number has no length
        ('[{{ "abc"|center:6 }}] [{{ "abc"|center:2 }}] [{{ 5|center:3 }}] [{{ "ab"|center:"5" }}]',
         "[  abc ] [abc] [  5 ] [  ab ]"),
        # join without a separator: pongo2's text of each item
        ('{{ [1.5, None, "a", True]|join }}', "1.500000aTrue"),
        # escape/e: &quot; (Jinja2 &#34;), null as nothing; safe leaves the value as it is
        ("{{ \"<a href=\\\"x\\\">'&'</a>\"|escape }} [{{ spec.none|e }}] [{{ spec.none|safe }}] {{ spec.ratio|safe }}",
         "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt; [] [] 1.500000"),
        # striptags removes tags and trims (Jinja2 also joins blanks and decodes &amp;)
        ('[{{ "  <b>a</b>  b &amp; <i>c</i> \n"|striptags }}]', "[a  b &amp; c]"),
        # Go's url.QueryEscape (Jinja2: a%20b/c...)
        ('{{ "a b/c?d=é&x~_.-+"|urlencode }}', "a+b%2Fc%3Fd%3D%C3%A9%26x~_.-%2B"),
        # float reads a string as Go's ParseFloat (Jinja2: 12.0 and inf)
        ('{{ " 12"|float }} {{ "1e400"|float }} {{ "1_5"|float }} {{ spec.vlan|float }}',
         "0.000000 0.000000 15.000000 0.000000"),
        # wordwrap puts N words on a line (Jinja2: N characters)
        ('{{ "a b c d e"|wordwrap:2 }}|{{ "a b"|wordwrap:0 }}', "a b\nc d\ne|a b"),
        # pongo2's truncatechars/truncatewords (Jinja2 has neither)
        ('{{ "interface"|truncatechars:6 }} {{ "interface"|truncatechars:2 }} {{ "ab"|truncatechars:5 }}'
         ' {{ "a b  c"|truncatewords:2 }} [{{ "a b"|truncatewords:0 }}] {{ "a b"|truncatewords:2 }}',
         "int... in ab a b ... [] a b"),
        # also in a filter block
        ("[{% filter upper|center:9 %}straße{% endfilter %}]", "[  STRAßE ]"),
        # an iterator or view of Jinja2's (no pongo2 data) is read as the list of its items
        ('{{ spec.labels.keys()|first }} {{ [1, 2]|map("string")|last }} {{ spec.labels.items()|length }}'
         ' {{ [3, 1]|select("odd")|length }} {{ spec.labels.values()|join:"," }} {{ [1.5]|map("abs")|join }}',
         "b 2 3 2 2,1,3 1.500000"),
        # with parentheses, Jinja2's own
        ('{{ spec.labels|first() }} [{{ "abc"|center(6) }}] {{ [1.5, None]|join(",") }} {{ "a b"|urlencode() }}'
         ' {{ "ab cd"|wordwrap(3) }} {{ "Straße"|upper() }} {{ "a-b c"|wordcount() }} {{ "x"|escape() }}',
         "b [ abc  ] 1.5,None a%20b ab\ncd STRASSE 3 x"),
    ],
)
def test_filters_both_have_are_pongo2s_in_pongo2s_form(template: str, expected: str) -> None:
    assert JinjaReconciler(config({"main.jinja2": template})).render(dict(PONGO2_OBJ)) == expected


@pytest.mark.parametrize(
    "template",
    ["{{ spec.vlan|upper }}", "{{ spec.vlan|first }}", "{{ spec.vlan|center:5 }}", '{{ spec.vlan|truncatechars:2 }}'],
)
def test_a_text_filter_of_a_missing_value_is_still_missing(template: str) -> None:
    """pongo2 makes it an empty string; choreo keeps it missing: false in tests, an error when printed."""
    assert render("{% if " + template[3:-3] + " %}y{% else %}n{% endif %}") == "n"
    with pytest.raises(ReconcileError, match=r"main\.jinja2:1: undefined"):
        render(template)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ('{{ "x"|pluralize }}', "filter 'pluralize' does only work on numbers"),
        ("{{ spec.none|pluralize }}", "filter 'pluralize' does only work on numbers"),
        ('{{ 2|pluralize:"a,b,c" }}', "you cannot pass more than 2 arguments to filter 'pluralize'"),
        ('{{ 0|yesno:"a" }}', "you must pass either no or at least 2 arguments to the 'yesno'-filter (got: 'a')"),
        ('{{ 0|yesno:"a,b,c,d" }}', "you cannot pass more than 3 options to the 'yesno'-filter (got: 'a,b,c,d')"),
        ('{{ "abc"|slice:"1" }}',
         "Slice string must have the format 'from:to' [from/to can be omitted, but the ':' is required]"),
        ('{{ "abc"|slice:"-2:" }}', "slice:'-2:': slice bounds out of range [-2:0]"),
        ('{{ "abc"|truncatechars:-1 }}', "truncatechars:-1: slice bounds out of range [:-1]"),
    ],
)
def test_pongo2_filters_refuse_what_pongo2_refuses(template: str, message: str) -> None:
    with pytest.raises(ReconcileError) as info:
        JinjaReconciler(config({"main.jinja2": "\n" + template})).render(dict(PONGO2_OBJ))
    assert str(info.value) == f"{DIR}/main.jinja2:2: {message}"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        # a key the mapping lacks is missing even where dicts have a method of that name (pongo2's maps have none)
        ('{% if spec.values %}y{% else %}n{% endif %}{% if spec["keys"] %}y{% else %}n{% endif %}', "nn"),
        ("{{ spec.values is defined }} [{% for x in spec.values %}{{ x }}{% endfor %}] {{ spec.values|default:1 }}",
         "False [] 1"),
        # ... and the method is still there to call
        ("{% for k, v in spec.labels.items() %}{{ k }}{% endfor %} {{ spec.node.upper() }}", "babxyz NODE1"),
    ],
)
def test_a_missing_key_named_like_a_method_is_missing(template: str, expected: str) -> None:
    assert JinjaReconciler(config({"main.jinja2": template})).render(dict(PONGO2_OBJ)) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ spec.values }}", "main.jinja2:1: undefined: 'dict object' has no attribute 'values'"),
        ("\n{{ spec.node.upper }}", "main.jinja2:2: undefined: 'str object' has no attribute 'upper'"),
        ("{{ lipsum }}", "main.jinja2:1: cannot print the function 'generate_lorem_ipsum': call it, or print a value"),
        ("{% macro m() %}{% endmacro %}{{ m }}", "main.jinja2:1: cannot print the function 'm'"),
    ],
)
def test_printing_a_method_or_function_is_an_error_not_an_address(template: str, message: str) -> None:
    with pytest.raises(ReconcileError) as err:
        JinjaReconciler(config({"main.jinja2": template})).render(dict(PONGO2_OBJ))
    assert message in str(err.value)


def test_pongo2_translation_keeps_lines() -> None:
    text = '{{ a|default:"x" }}\n{% for k, v in m\n reversed %}{{ forloop.Counter }}{% endfor %}\n{{ !b }}'
    assert translate_pongo2(text).count("\n") == text.count("\n")


# Go 1.19's fmt.Sprintf("%f", f) of each float, as pongo2's Value.String() writes a float
@pytest.mark.parametrize(
    ("value", "printed"),
    [
        (0.0, "0.000000"), (-0.0, "-0.000000"), (1e21, "1000000000000000000000.000000"), (1e-7, "0.000000"),
        (0.1 + 0.2, "0.300000"), (123456789.125, "123456789.125000"), (2.5e-6, "0.000003"),
        (2, 2), (None, ""), ("x", "x"), (True, True),
    ],
)
def test_pongo2_finalize(value: Any, printed: Any) -> None:
    assert pongo2_finalize(value) == printed


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ({"main.jinja2": "ok\n{% if %}"}, f"{DIR}/main.jinja2:2: syntax error: Expected an expression"),
        ({"main.jinja2": "{{ nope }}"}, f"{DIR}/main.jinja2:1: undefined: 'nope' is undefined"),
        ({"main.jinja2": "a\n\n{{ spec.vlan }}"}, f"{DIR}/main.jinja2:3: undefined: 'dict object' has no attribute"),
        ({"main.jinja2": "a\n{% include 'x.jinja2' %}"}, f"{DIR}/main.jinja2:2: template 'x.jinja2' not found"),
        (
            {"main.jinja2": "{% include 'p.jinja2' %}", "p.jinja2": "\n{{ missing.x }}"},
            f"{DIR}/p.jinja2:2: undefined: 'missing' is undefined",
        ),
        ({"main.jinja2": "{{ 1 // 0 }}"}, f"{DIR}/main.jinja2:1: integer division or modulo by zero"),
        ({"main.jinja2": "{{ spec.__class__ }}"}, f"{DIR}/main.jinja2:1: access to attribute '__class__'"),
    ],
)
def test_template_errors_are_one_line_naming_file_and_line(code: dict[str, str], message: str) -> None:
    with pytest.raises(ReconcileError) as err:
        JinjaReconciler(config(code)).render(dict(OBJ))
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


# --- missing values (issue 11): pongo2's tests, but printing one is an error ----------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{% if spec.vlanTagging %}vlan{% endif %}", ""),
        ("{% if spec.ipv4 %}4{% else %}no ipv4{% endif %}", "no ipv4"),
        ("{% if spec.ipv4.address %}a{% else %}none{% endif %}", "none"),  # missing at any depth
        ("{% if spec.node.nope %}a{% else %}none{% endif %}", "none"),  # an attribute a string lacks
        ("{% if status %}s{% else %}no status{% endif %}", "no status"),  # a top-level key
        ("{% if not spec.vlanTagging %}untagged{% endif %}", "untagged"),
        ("{% if spec.up and spec.vlanTagging %}a{% else %}b{% endif %}", "b"),
        ("{% if spec.vlanTagging or spec.up %}a{% endif %}", "a"),
        ("{{ spec.vlanTagging or 'off' }}", "off"),
        ("{% if spec.type == 'routed' %}r{% else %}other{% endif %}", "other"),
        ("{{ spec.vlanId | default(1) }}", "1"),
        ("{{ spec.ipv4.address | default('none') }}", "none"),
        ("[{% for p in spec.ipv4 %}{{ p }}{% endfor %}]", "[]"),
        ("{{ spec.ipv4 | length }}", "0"),
        ("{% if spec.vlan is defined %}v{% else %}undefined{% endif %}", "undefined"),
    ],
)
def test_missing_values_are_false_empty_or_default_in_tests(template: str, expected: str) -> None:
    assert render(template) == expected


@pytest.mark.parametrize(
    ("template", "line"),
    [
        ("{{ spec.vlanTagging }}", 1),
        ("a\n{{ spec.ipv4.address }}", 2),
        ("a\nb\n{{ 'vlan-' ~ spec.vlanId }}", 3),
        ("{% if spec.up %}\n{{ status }}{% endif %}", 2),
    ],
)
def test_printing_a_missing_value_is_an_error_naming_template_and_line(template: str, line: int) -> None:
    with pytest.raises(ReconcileError, match=f"^{DIR}/main.jinja2:{line}: undefined: "):
        render(template)


# --- limits: the same bounds and messages as the other engines ---------------------------------------


def bounded(main: str, **limits: Any) -> str:
    reconciler = JinjaReconciler(config({"main.jinja2": main}), limits=Limits(**limits))
    with pytest.raises(LimitExceeded) as err:
        reconciler.render(dict(OBJ))
    return str(err.value)


@pytest.mark.parametrize(
    "main",
    [
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}\n{{ f(60) }}",
    ],
)
def test_runaway_templates_stop_at_the_time_limit(main: str) -> None:
    started = time.monotonic()
    message = bounded(main, time=0.2)
    assert re.fullmatch(rf"{DIR}/main\.jinja2:\d: reconciler exceeded the time limit of 0\.2s", message)
    assert time.monotonic() - started < 2


def test_macro_recursion_stops_at_the_depth_limit() -> None:
    message = bounded("{% macro f(n) %}\n{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", depth=30)
    assert message == f"{DIR}/main.jinja2:2: reconciler exceeded the call depth limit of 30"


def test_include_recursion_is_the_depth_limit() -> None:
    message = bounded("x{% include 'main.jinja2' %}")
    assert message == f"{DIR}/main.jinja2:1: reconciler exceeded the call depth limit of 1000"


def test_each_include_is_one_level_of_the_call_depth() -> None:
    """Counted, not left to Python's recursion limit: in the worker that limit lies beyond what the C stack
    holds for nested includes, and a template including itself killed the worker (SIGSEGV)."""
    chain = "{% set n = (n or 0) + 1 %}{% if n < 8 %}{% include 'main.jinja2' %}{% endif %}"
    assert bounded(chain, depth=5) == f"{DIR}/main.jinja2:1: reconciler exceeded the call depth limit of 5"
    reconciler = JinjaReconciler(config({"main.jinja2": chain + "{{ n }}"}), limits=Limits(depth=9))
    assert reconciler.render(dict(OBJ)).strip() == "87654321"  # eight levels: the entry and seven includes


def test_output_stops_at_the_size_limit() -> None:
    message = bounded("{% for i in range(100000) %}0123456789{% endfor %}", output=64 * 1024)
    assert message == f"{DIR}/main.jinja2: reconciler exceeded the output size limit of 64 KiB"


# --- the output contract, for both template engines ------------------------------------------------

ENGINES = {"jinjatemplate": ("main.jinja2", "{{ metadata.name }}"), "gotemplate": ("main.tpl", "{{ .metadata.name }}")}


def engine_output(kind: str, body: str) -> tuple[Any, Recorder]:
    entry, name = ENGINES[kind]
    engine = make_engine(config({entry: body.replace("NAME", name)}, kind), {}, log=print)
    client = Recorder()
    return engine.reconcile(dict(OBJ), client), client  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", sorted(ENGINES))
def test_output_becomes_the_one_child_and_the_object_is_returned_unchanged(kind: str) -> None:
    output, client = engine_output(kind, CHILD.replace("{{ metadata.name }}", "NAME"))
    assert output.obj == OBJ
    assert (output.requeue, output.error, output.condition_type) == (False, "", None)
    assert client.children == [
        {
            "apiVersion": "config.sdcio.dev/v1alpha1",
            "kind": "Config",
            "metadata": {"name": "node1.e1-1"},
            "spec": {"priority": 10},
        }
    ]


@pytest.mark.parametrize("kind", sorted(ENGINES))
@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("", "output must be exactly one YAML object, got nothing"),
        ("# only a comment\n", "output must be exactly one YAML object, got nothing"),
        ("kind: A\n---\nkind: B\n", "output must be exactly one YAML object, got 2 YAML documents"),
        ("- a\n- b\n", "output must be one YAML object (a mapping), got a list"),
        ("just text", "output must be one YAML object (a mapping), got a string"),
        ("kind: Config\nmetadata: {name: x}\n", "output object has no apiVersion"),
        ("apiVersion: config.sdcio.dev/v1alpha1\nmetadata: {name: x}\n", "output object has no kind"),
        ("apiVersion: config.sdcio.dev/v1alpha1\nkind: Config\n", "output object has no metadata.name"),
        ("a: [1\nb: 2\n", 'output is not valid YAML (output line 2: "b: 2"):'),
        ("kind: Config\nspec:\n  desc: uplink: to spine1\n",
         'output is not valid YAML (output line 3: "  desc: uplink: to spine1"): mapping values are not allowed'),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
            "output is a v1 ConfigMap, which the reconciler does not own (owns: config.sdcio.dev/v1alpha1 Config)",
        ),
        (
            "apiVersion: other.dev/v1alpha1\nkind: Config\nmetadata: {name: x}\n",
            "output is a other.dev/v1alpha1 Config, which the reconciler does not own",
        ),
    ],
)
def test_output_that_is_not_one_owned_object_is_an_error_naming_the_file(kind: str, body: str, problem: str) -> None:
    with pytest.raises(ReconcileError) as err:
        engine_output(kind, body)
    assert str(err.value).startswith(f"{DIR}/{ENGINES[kind][0]}: {problem}")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kind", sorted(ENGINES))
def test_missing_entry_template_is_a_load_error(kind: str) -> None:
    with pytest.raises(LoadError, match=f"{DIR}/config.yaml: {kind} reconciler cfg has no {ENGINES[kind][0]} code"):
        make_engine(config({"other": "x"}, kind), {}, log=print)


# Go 1.19: strconv.ParseFloat(s, 64) -> its value, or None where it returns an error (pongo2 then reads 0).
PARSE_FLOAT = [
    ("12", 12.0), ("-12.7", -12.7), (" 12", None), ("12 ", None), ("1_000", 1000.0), ("1_0.5", 10.5),
    ("0x10", None), ("0x1p4", 16.0), ("0x_1p4", 16.0), ("0X1P-2", 0.25), ("0x1.8p1", 3.0), ("1e3", 1000.0),
    ("1E+3", 1000.0), (".5", 0.5), ("5.", 5.0), ("1.e5", 1e5), ("00.5", 0.5), ("+5", 5.0), ("1e+1_0", 1e10),
    ("inf", math.inf), ("-Inf", -math.inf), ("+infinity", math.inf), ("+INF", math.inf), ("infinit", None),
    ("1e400", None), ("-1e400", None), ("1e-400", 0.0), ("", None), ("abc", None), ("0b101", None),
    ("0o17", None), ("017", 17.0), ("1__0", None), ("_1", None), ("1_", None), ("1e", None), ("٣", None),
    ("1,5", None), ("+nan", None), ("-NaN", None),
]


@pytest.mark.parametrize(("text", "number"), PARSE_FLOAT)
def test_pongo2_reads_a_number_in_a_string_as_go_parses_it(text: str, number: float | None) -> None:
    assert pongo2._parse_float(text) == number
    assert math.isnan(pongo2._parse_float("nAn") or 0.0)


REPO = Path(__file__).resolve().parents[2]
_PICKS = ("{{ spec.names|random }} {{ spec.names|random() }} {{ 'eth'|random }} [{{ spec.none|random }}]"
          "{% set d = {1: 'a', 'b': 2} %}{{ [d, d]|random|length }}")


def test_random_picks_the_same_item_in_every_process() -> None:
    """pongo2 and Jinja2 pick at random; a project must give the same output on every run, so choreo picks by a
    digest of the items: the same in a new interpreter (another hash seed) as here, and one of the items."""
    obj = {**OBJ, "spec": {**OBJ["spec"], "names": ["leaf1", "leaf2", "spine1", "spine2", "border1"]}}
    here = JinjaReconciler(config({"main.jinja2": _PICKS})).render(obj)
    name, called, letter, empty = here.split(" ")
    assert name == called and name in obj["spec"]["names"] and letter in "eth" and empty == "[]2"
    program = ("import json, sys\nfrom tests.lang.test_jinja import JinjaReconciler, config, _PICKS\n"
               "print(JinjaReconciler(config({'main.jinja2': _PICKS})).render(json.loads(sys.argv[1])), end='')")
    for seed in ("1", "2"):
        other = subprocess.run([sys.executable, "-c", program, json.dumps(obj)], capture_output=True, text=True,
                               env={**os.environ, "PYTHONHASHSEED": seed}, cwd=REPO, check=True)
        assert other.stdout == here
