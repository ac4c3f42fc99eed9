"""Tests of the Go text/template interpreter and the Go-template reconciler (spec §4.2).

Expected outputs were checked against Go's own text/template (except where marked: behaviour added
after Go 1.11 — ``slice``, ``break``/``continue``, ``else with``, range over int, digit separators,
``\\u003C``-style ``js`` escapes, sorted map printing, nil-pointer field errors) and where choreo
differs on purpose: printing a missing key is an error where Go prints ``<no value>``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from choreo.errors import ReconcileError
from choreo.lang.gotemplate import KUBECTL_FUNCS, TemplateError, from_json, parse_sources, render
from choreo.lang.gotemplate.gofmt import sprint, sprintf
from choreo.lang.gotemplate_engine import GoTemplateReconciler
from choreo.lang.limits import Budget, LimitExceeded, Limits
from tests.lang.test_jinja import DIR, OBJ, Recorder, config

DATA = {
    "name": "system", "id": 0, "a": {"b": [1, 2, 3]}, "n": None, "m": {"x": 1, "y": "z"},
    "l": ["p", "q"], "e": [], "t": True, "big": 12345678, "f": 2.5, "s": 0.000012, "neg": -0.5,
}


def run(template: str, data: Any = None, **others: str) -> str:
    sources = {"t.tpl": (template, "t.tpl"), **{k: (v, k) for k, v in others.items()}}
    return render(parse_sources(sources), "t.tpl", from_json(DATA if data is None else data))


CASES = [
    # fields, numbers as float64, missing keys
    ("{{ .name }} {{ .id }} {{ .a.b }}", "system 0 [1 2 3]"),
    ('{{ printf "%s.%d" .name .id }}', "system.%!d(float64=0)"),
    ("{{ .big }} {{ .f }} {{ .s }} {{ .neg }} {{ 1.5 }} {{ 1e7 }} {{ 3 }}",
     "1.2345678e+07 2.5 1.2e-05 -0.5 1.5 1e+07 3"),
    ("{{ .m }} {{ .e }}", "map[x:1 y:z] []"),
    # control structures
    ("{{ if .n }}1{{ else if .t }}2{{ else }}3{{ end }}", "2"),
    ("{{ if .n }}1{{ else if .missing }}2{{ else }}3{{ end }}", "3"),
    ("{{ with .nope }}a{{ else }}b{{ end }}{{ with .m }}{{ .y }}{{ end }}", "bz"),
    ("{{ with .nope }}a{{ else with .name }}{{ . }}{{ end }}", "system"),  # Go >= 1.23
    ("{{ range .l }}<{{ . }}>{{ end }}", "<p><q>"),
    ("{{ range $i, $v := .a.b }}{{ $i }}={{ $v }} {{ end }}", "0=1 1=2 2=3 "),
    ("{{ range $v := .l }}{{ $v }}{{ $.name }}{{ end }}", "psystemqsystem"),
    ("{{ range $k, $v := .m }}{{ $k }}:{{ $v }};{{ end }}", "x:1;y:z;"),
    ("{{ range .e }}x{{ else }}empty{{ end }} {{ range .missing }}x{{ else }}none{{ end }}", "empty none"),
    ("{{ range .l }}{{ if eq . \"q\" }}{{ break }}{{ end }}{{ . }}{{ end }}", "p"),
    ("{{ range .l }}{{ if eq . \"p\" }}{{ continue }}{{ end }}{{ . }}{{ end }}", "q"),
    ("{{ range 3 }}{{ . }}{{ end }}", "012"),  # Go >= 1.22
    # variables
    ("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2"),
    ("{{ $x := .l }}{{ with .m }}{{ $x }}{{ end }}", "[p q]"),
    ("{{ with $x := .m }}{{ $x.y }}{{ .x }}{{ end }}", "z1"),
    # templates
    ('{{ define "a" }}A{{ template "b" . }}{{ end }}{{ define "b" }}B{{ .name }}{{ end }}{{ template "a" . }}',
     "ABsystem"),
    ('{{ block "x" .l }}{{ range . }}<{{ . }}>{{ end }}{{ end }}', "<p><q>"),
    ('{{ define "d" }}[{{ . }}]{{ end }}{{ template "d" "x" }}', "[x]"),
    # whitespace trimming and comments
    ('a  {{- 1 -}}  b {{- "x" }}  c\n  {{- /* hi */ -}}\n  d', "a1bx  cd"),
    ("{{/* comment */}}x", "x"),
    # pipes, parentheses, constants
    ('{{ .a.b | len | printf "%03d" }} {{ ( .name ) }} {{ (index .m "x") }} {{ (.a).b }}', "003 system 1 [1 2 3]"),
    ("{{ \"a\\tb\\u00e9\\x41\" }} {{ `raw\\n` }} {{ 'a' }} {{ 0x1F }} {{ -3 }} {{ +4 }} {{ 0o17 }} {{ 017 }}",
     "a\tbéA raw\\n 97 31 -3 4 15 15"),
    # builtins
    ('{{ len .l }} {{ len .m }} {{ len .name }} {{ index .a.b 1 }} {{ index .a "b" 2 }}', "2 2 6 2 3"),
    ("{{ slice .l 1 }} {{ slice .name 0 2 }} {{ slice .l }}", "[q] sy [p q]"),
    ('{{ eq .name "system" }} {{ eq .name "a" "system" }} {{ eq .id 0.0 }} {{ ne .name "x" }}', "true true true true"),
    ('{{ lt 1 2 }} {{ le 2.5 .f }} {{ gt "b" "a" }} {{ ge 1 2 }}', "true true true false"),
    ('{{ and 1 0 }} {{ and 1 "x" }} {{ or .missing .n "" }} {{ or 0 "y" }} {{ not .a }} {{ not .e }}',
     "0 x  y false true"),
    ("{{ if and .n .n.x }}y{{ else }}n{{ end }} {{ or .t .n.x }}", "n true"),  # short-circuit: no .n.x
    ('{{ print "a" "b" 1 2 "c" }} {{ println 1 "a" }}', "ab1 2c 1 a\n"),
    ("{{ print nil }} {{ print .missing }} {{ printf \"%s\" .missing }} {{ .missing | print }}",
     "<nil> <nil> %!s(<nil>) <nil>"),
    ("{{ html \"<a href='x'>&\\\"\" }}", "&lt;a href=&#39;x&#39;&gt;&amp;&#34;"),
    ("{{ js \"a'b\\\"<>=&\" }}", "a\\'b\\\"\\u003C\\u003E\\u003D\\u0026"),
    ('{{ urlquery "a b&c=d/é" }}', "a+b%26c%3Dd%2F%C3%A9"),
]


@pytest.mark.parametrize(("template", "expected"), CASES)
def test_renders_like_go(template: str, expected: str) -> None:
    assert run(template) == expected


def test_named_templates_from_other_code_entries() -> None:
    helpers = '{{ define "label" }}{{ .spec.node }}/{{ .metadata.name }}{{ end }}'
    assert run('{{ template "label" . }}', OBJ, **{"helpers.tpl": helpers}) == "node1/node1.e1-1"


@pytest.mark.parametrize(
    ("fmt", "args", "expected"),
    [
        ("%5.1f|%-8v|%08d|% d|%x|%X|%o|%b|%c|%U", [3.14159, "ab", 42, 5, 255, 255, 8, 5, 65, 65],
         "  3.1|ab      |00000042| 5|ff|FF|10|101|A|U+0041"),
        ("%6.2v|%+d|%08.3f", [3.14159, 5, -3.14159], "   3.1|+5|-003.142"),
        ("%3c|%q|%v|%s", [66, 'a"b\n', ["p", "q"], ["p", "q"]], '  B|"a\\"b\\n"|[p q]|[p q]'),
        ("%d %s %v %d", [[1.0], {"x": 1.0}, None, None], "[%!d(float64=1)] map[x:%!s(float64=1)] <nil> %!d(<nil>)"),
        ("%T %T %T %T %T", [0.0, 1, "s", {}, []], "float64 int string map[string]interface {} []interface {}"),
        ("%e %g %G %v", [12345678.0, 12345678.0, 0.000012, 123456.0], "1.234568e+07 1.2345678e+07 1.2E-05 123456"),
        ("%d %d", [1], "1 %!d(MISSING)"),
        ("%d", [1, 2, "x"], "1%!(EXTRA int=2, string=x)"),
        ("100%% %t %x", [True, "hi"], "100% true 6869"),
    ],
)
def test_sprintf_like_go(fmt: str, args: list[Any], expected: str) -> None:
    assert sprintf(fmt, args) == expected


def test_sprint_spaces_only_between_non_strings() -> None:
    assert sprint(["a", 1, 2, "b", True, None]) == "a1 2btrue <nil>"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ nofunc 1 }}", 't.tpl:1: function "nofunc" not defined'),
        ("x\n{{ if .t }}x", "t.tpl:2: unexpected EOF"),
        ("{{ end }}", "t.tpl:1: unexpected {{end}}"),
        ("{{ else }}", "t.tpl:1: unexpected {{else}}"),
        ("{{ .x | \"a\" }}", "t.tpl:1: non executable command in pipeline stage 2"),
        ("{{ $u }}", 't.tpl:1: undefined variable "$u"'),
        ("{{ .x }", 't.tpl:1: unexpected "}" in operand'),
        ("{{ .x ", "t.tpl:1: unclosed action"),
        ("{{ .x # }}", 't.tpl:1: unexpected "#" in operand'),
        ("{{ .x \x01 }}", "t.tpl:1: unrecognized character in action: U+0001 '\\x01'"),
        ("{{ break }}", "t.tpl:1: {{break}} outside {{range}}"),
        ("{{/* x */ .a }}", "t.tpl:1: comment ends before closing delimiter"),
        ("{{ /* x */ .a }}", 't.tpl:1: unexpected "/" in command'),  # a comment starts right after {{
        ("{{ 3x }}", 't.tpl:1: bad number syntax: "3x"'),
        ("{{ .n.x }}", 't.tpl:1:5: executing "t.tpl" at <.n.x>: nil pointer evaluating interface {}.x'),
        ("{{ .name.x }}", 't.tpl:1:8: executing "t.tpl" at <.name.x>: can\'t evaluate field x in type interface {}'),
        ("{{ len .id }}", 't.tpl:1:3: executing "t.tpl" at <len .id>: error calling len: len of type float64'),
        ("{{ index .l 5 }}", 'at <index .l 5>: error calling index: index out of range: 5'),
        ("{{ index .l .id }}", "error calling index: cannot index slice/array with type float64"),
        ("{{ eq .id 0 }}", 'at <eq .id 0>: error calling eq: incompatible types for comparison'),
        ("{{ lt .name 1 }}", "error calling lt: incompatible types for comparison"),
        ("{{ .name 1 }}", 'at <.name>: name is not a method but has arguments'),
        ("{{ printf }}", "wrong number of args for printf: want at least 1 got 0"),
        ("{{ $ .name }}", "at <$>: can't give argument to non-function $"),
        ('{{ template "nope" }}',
         't.tpl:1:12: executing "t.tpl" at <{{template "nope"}}>: template "nope" not defined'),
        ("{{ range .f }}{{ end }}", "range can't iterate over 2.5"),
    ],
)
def test_errors_like_go(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as err:
        run(template)
    assert message in str(err.value)
    assert str(err.value).startswith("t.tpl:")
    assert "\n" not in str(err.value)


def test_redefining_a_template_is_an_error() -> None:
    with pytest.raises(TemplateError, match=r'^t\.tpl:1: template: multiple definition of template "a"$'):
        run('{{ define "a" }}1{{ end }}{{ define "a" }}2{{ end }}')


def test_a_template_defined_in_two_files_is_an_error_naming_both() -> None:
    # Go keeps the one parsed last, and the reference parses its code files in random (map) order.
    with pytest.raises(TemplateError) as err:
        run('{{ define "a" }}1{{ end }}{{ template "a" }}', **{"h.tpl": 'x\n{{ define "a" }}2{{ end }}'})
    assert str(err.value) == 'h.tpl:2: template: multiple definition of template "a" (also defined in t.tpl)'
    assert run('{{ define "a" }}1{{ end }}{{ template "a" }}', **{"h.tpl": '{{ define "a" }} {{ end }}'}) == "1"


# Checked against Go 1.19's text/template and fmt (a program rendering each with the same JSON data).
GO_CASES = [
    # fmt: flags, width and precision on every kind of value, argument indexes, bad verbs keep the flags
    ('{{ printf "%03d|%5v|%-5v|%+v|%05s|%x|%#v" .i .f .name .i .name .f .m }}',
     '%!d(float64=003)|  2.5|sys  |3|00sys|0x1.4p+01|'
     'map[string]interface {}{"a":[]interface {}{"p", 1}, "n":interface {}(nil)}'),
    ('{{ printf "%[2]v %[1]v %[3]v" .name 1 }} {{ printf "%*d|%.*f|%*d" 4 7 1 .f .f 1 }}',
     "1 sys %!v(BADINDEX)    7|2.5|%!(BADWIDTH)1"),
    ('{{ printf "%08.3d|%08.3f|%#g|%#.3x|% x|%# X|%+q|%#q|%U|%#U|%c" 5 .f .f 255 .name .name "é" "`" 233 233 65 }}',
     '     005|0002.500|2.50000|0x0ff|73 79 73|0X73 0X79 0X73|"\\u00e9"|"`"|U+00E9|U+00E9 \'é\'|A'),
    ('{{ printf "%5v|%d|%s|%T|%t|%q" .m.a .m.a .l .n .t .l }}',
     '[    p     1]|[%!d(string=p) %!d(float64=1)]|[a %!s(float64=1)]|<nil>|true|["a" %!q(float64=1)]'),
    ('{{ printf "%e|%.2e|%g|%.3g|%G|%b|%x|%.1f|%.0f|%.0f" .big .big .big 0.0001234 1e-7 .f 0.0 .h .h .f }}',
     "1.234568e+07|1.23e+07|1.2345678e+07|0.000123|1E-07|5629499534213120p-51|0x0p+00|0.1|0|2"),
    # html, js and urlquery print nil as <no value>; eq names what it cannot compare
    ("{{ html .n }} {{ js .missing }} {{ urlquery .n .name }}",
     "&lt;no value&gt; \\u003Cno value\\u003E %3Cno+value%3Esys"),
]
GO_DATA = {"i": 3, "f": 2.5, "name": "sys", "m": {"a": ["p", 1], "n": None}, "l": ["a", 1], "n": None, "t": True,
           "big": 12345678, "h": 0.05}


@pytest.mark.parametrize(("template", "expected"), GO_CASES)
def test_formats_like_go(template: str, expected: str) -> None:
    assert run(template, GO_DATA) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ('{{ eq .m .l }}', 'error calling eq: non-comparable types map[a:[p %!s(float64=1)] n:<nil>]: '
         'map[string]interface {}, []interface {}: [a 1]'),
        ('{{ eq .l .l }}', "error calling eq: non-comparable type [a %!s(float64=1)]: []interface {}"),
        ('{{ printf 1 }}', 't.tpl:1:10: executing "t.tpl" at <1>: expected string; found 1'),
        ('{{ printf .f }}', "at <.f>: wrong type for value; expected string; got float64"),
        ('{{ printf .n }}', "at <.n>: wrong type for value; expected string; got interface {}"),
        ('{{ not 1 2 }}', "at <not>: wrong number of args for not: want 1 got 2"),
        ('{{ "x" 1 }}', 't.tpl:1:3: executing "t.tpl" at <"x">: can\'t give argument to non-function "x"'),
        ('{{ range $i, $v := .name }}{{ end }}',
         't.tpl:1:19: executing "t.tpl" at <.name>: range can\'t iterate over sys'),
        ("{{ 9223372036854775808 }}", "at <9223372036854775808>: 9223372036854775808 overflows int"),
        ('{{ print "a""b" }}', 't.tpl:1: unexpected "\\"b\\"" in operand'),
        ("{{ .l.0 }}", 't.tpl:1: unexpected ".0" in operand'),
        ("{{ 1-2 }}", 't.tpl:1: bad number syntax: "1-2"'),
        ("{{ | len }}", 't.tpl:1: unexpected "|" in command'),
        ('{{ "a".x }}', 't.tpl:1: unexpected . after term "\\"a\\""'),
        ("{{ len .l) }}", 't.tpl:1: unexpected ")" in command'),
        ("{{ .x }", 't.tpl:1: unexpected "}" in operand'),
        ("{{ if 1 }}{{ else }}{{ else }}{{ end }}", "t.tpl:1: expected end; found {{else}}"),
        ('{{ define "a" }}{{ else }}{{ end }}', "t.tpl:1: unexpected {{else}} in define clause"),
        ("{{ range .l }}{{ define \"x\" }}{{ end }}{{ end }}", "t.tpl:1: unexpected <define> in command"),
        ("{{ range $x, $y, $z := .l }}{{ end }}", "t.tpl:1: too many declarations in range"),
        ("{{ range .l }}{{ break 1 }}{{ end }}", 't.tpl:1: unexpected "1" in {{break}}'),
    ],
)
def test_fails_like_go(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as err:
        run(template, GO_DATA)
    assert str(err.value).endswith(message)


# --- missing values (issue 11): false in tests, an error when printed -----------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ if .missing }}y{{ else }}n{{ end }}", "n"),
        ("{{ if .missing.deeper.still }}y{{ else }}n{{ end }}", "n"),
        ("{{ if not .missing }}y{{ end }}", "y"),
        ("{{ if and .t .missing }}y{{ else }}n{{ end }}", "n"),
        ("{{ if or .missing .name }}y{{ end }}", "y"),
        ("{{ if or .missing .also.missing }}y{{ else }}n{{ end }}", "n"),
        ("{{ with .missing }}y{{ else }}n{{ end }}", "n"),
        ("{{ range .missing }}y{{ else }}n{{ end }}", "n"),
        ("{{ print .missing }}", "<nil>"),  # a function's result is a value: Go's print says <nil>
    ],
)
def test_missing_keys_are_false_in_tests(template: str, expected: str) -> None:
    assert run(template) == expected


@pytest.mark.parametrize(
    ("template", "at"),
    [
        ("{{ .missing }}", "t.tpl:1:3: executing \"t.tpl\" at <.missing>"),
        ("x\n  {{ .a.nope }}", "t.tpl:2:5: executing \"t.tpl\" at <.a.nope>"),
        ("{{ .n }}", "at <.n>"),  # null prints as <no value> in Go too
        ('{{ index .m "zz" }}', 'at <index .m "zz">'),
        ("{{ and .n .n.x }}", "at <and .n .n.x>"),
        ('{{ define "d" }}[{{ . }}]{{ end }}{{ template "d" }}', 'executing "d" at <.>'),
        ("{{ $v := .missing }}{{ $v }}", "at <$v>"),
    ],
)
def test_printing_a_missing_key_is_an_error_naming_the_place(template: str, at: str) -> None:
    with pytest.raises(TemplateError) as err:
        run(template)
    assert at in str(err.value)
    assert str(err.value).endswith("no value to print (a missing key or null); test it with if or with")


# --- limits --------------------------------------------------------------------------------------------


def bounded(template: str, **limits: Any) -> str:
    templates = parse_sources({"t": (template, "t.tpl")})
    with pytest.raises(LimitExceeded) as err:
        render(templates, "t", {}, budget=Budget(Limits(**limits), "t.tpl"))
    return str(err.value)


def test_execution_stops_at_the_time_limit() -> None:
    started = time.monotonic()
    message = bounded("{{ range 100000000 }}{{ end }}", time=0.05)
    assert message.startswith("t.tpl:1:") and message.endswith("reconciler exceeded the time limit of 0.05s")
    assert time.monotonic() - started < 2


def test_output_is_bounded() -> None:
    message = bounded("{{ range 100000000 }}0123456789{{ end }}", output=1000)
    assert message == "t.tpl:1:21: reconciler exceeded the output size limit of 1000 B"


def test_template_recursion_is_bounded() -> None:
    message = bounded('{{ define "r" }}{{ template "r" }}{{ end }}{{ template "r" }}', depth=50)
    assert message == "t.tpl:1:28: reconciler exceeded the call depth limit of 50"


def test_recursion_deeper_than_the_python_stack_is_the_depth_limit() -> None:
    code = {"main.tpl": '{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}'}
    engine = GoTemplateReconciler(config(code, "gotemplate"), limits=Limits(depth=100000))
    with pytest.raises(LimitExceeded, match=f"^{DIR}/main.tpl: reconciler exceeded the call depth limit of 100000$"):
        engine.render(dict(OBJ))


def test_reconciler_renders_the_for_object_with_numbers_as_float64() -> None:
    main = '{{ .spec.mtu }} {{ printf "%d" .spec.mtu }} {{ printf "%.0f" .spec.mtu }} {{ .metadata.uid }}'
    engine = GoTemplateReconciler(config({"main.tpl": main}, "gotemplate"))
    assert engine.render(dict(OBJ)) == "9000 %!d(float64=9000) 9000 u-1"


def test_templates_are_parsed_once_and_render_each_object(monkeypatch: pytest.MonkeyPatch) -> None:
    from choreo.lang import gotemplate_engine

    parsed = []
    monkeypatch.setattr(gotemplate_engine, "parse_sources", lambda sources: parsed.append(1) or parse_sources(sources))
    engine = GoTemplateReconciler(config({"main.tpl": "{{ .metadata.uid }} {{ template \"h\" . }}",
                                          "h.tpl": '{{ define "h" }}{{ .spec.mtu }}{{ end }}'}, "gotemplate"))
    first = engine.render(dict(OBJ))
    second = engine.render({**OBJ, "metadata": {**OBJ["metadata"], "uid": "u-2"}, "spec": {"mtu": 1500}})
    assert (first, second, len(parsed)) == ("u-1 9000", "u-2 1500", 1)


def test_templates_that_do_not_parse_fail_every_reconcile_alike() -> None:
    engine = GoTemplateReconciler(config({"main.tpl": "ok\n{{ if }}"}, "gotemplate"))
    messages = []
    for _ in range(2):
        with pytest.raises(ReconcileError) as err:
            engine.render(dict(OBJ))
        messages.append(str(err.value))
    assert messages == [f"{DIR}/main.tpl:2: missing value for if"] * 2


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ({"main.tpl": "ok\n{{ if }}"}, f"{DIR}/main.tpl:2: missing value for if"),
        ({"main.tpl": "{{ template \"h\" . }}", "h.tpl": '{{ define "h" }}\n{{ .spec.none.x }}{{ end }}'},
         f'{DIR}/h.tpl:2:8: executing "h" at <.spec.none.x>: nil pointer evaluating interface {{}}.x'),
        ({"main.tpl": "{{ $.x.y }}\n{{ nope }}"}, f'{DIR}/main.tpl:2: function "nope" not defined'),
    ],
)
def test_reconciler_errors_name_the_code_file(code: dict[str, str], message: str) -> None:
    engine = GoTemplateReconciler(config(code, "gotemplate"))
    with pytest.raises(ReconcileError) as err:
        engine.reconcile(dict(OBJ), Recorder())  # type: ignore[arg-type]
    assert str(err.value) == message


def test_kubectls_functions_and_missing_keys_only_where_asked_for() -> None:
    text = '{{exists . "a" 1}} {{exists . "a" 2}} {{exists . "b"}} {{base64decode "aGk="}} {{.nope}}'
    with pytest.raises(TemplateError, match='function "exists" not defined'):
        parse_sources({"t": (text, "t.tpl")})  # a reconciler's template has Go's functions only
    templates = parse_sources({"t": (text, "t.tpl")}, KUBECTL_FUNCS)
    data = {"a": [1, None], "b": None}
    shown = render(templates, "t", data, functions=KUBECTL_FUNCS, print_missing=True)
    assert shown == "false false false hi <no value>"
    assert render(templates, "t", {"a": [1, 2, 3], "b": 0}, functions=KUBECTL_FUNCS, print_missing=True) == (
        "true true true hi <no value>")
    with pytest.raises(TemplateError, match="no value to print"):  # a reconciler's: a missing key is an error
        render(templates, "t", data, functions=KUBECTL_FUNCS)
    bad = parse_sources({"t": ('{{base64decode "a!=="}}', "t.tpl")}, KUBECTL_FUNCS)
    with pytest.raises(TemplateError, match="base64 decode failed: illegal base64 data at input byte 1"):
        render(bad, "t", {}, functions=KUBECTL_FUNCS)


# Go 1.19 text/template executing each template on GO_TYPE_DATA (decoded by encoding/json): the output, or
# the error. Go names the type it holds a value as: interface {} for what a map or a list's range gives,
# the value's own type for a pipeline's result (variables, (pipe).field, with, template), and a missing
# value is its invalid value ("invalid value; expected string").
GO_TYPE_DATA = {"name": "x", "n": None, "f": 1.5, "b": True, "l": ["a", 1, None],
                "m": {"k": "v", "z": None, "d": {"q": 1}}, "e": []}
GO_TYPE_CASES = [
    ("{{ .n.x }}", "", "template: t.tpl:1:5: executing \"t.tpl\" at <.n.x>: nil pointer evaluating interface {}.x"),
    (
        "{{ .name.x }}",
        "",
        "template: t.tpl:1:8: executing \"t.tpl\" at <.name.x>: can't evaluate field x in type interface {}",
    ),
    (
        "{{ .f.x }}",
        "",
        "template: t.tpl:1:5: executing \"t.tpl\" at <.f.x>: can't evaluate field x in type interface {}",
    ),
    (
        "{{ .l.x }}",
        "",
        "template: t.tpl:1:5: executing \"t.tpl\" at <.l.x>: can't evaluate field x in type interface {}",
    ),
    (
        "{{ .m.k.x }}",
        "",
        "template: t.tpl:1:5: executing \"t.tpl\" at <.m.k.x>: can't evaluate field x in type interface {}",
    ),
    ("{{ .m.z.x }}", "", "template: t.tpl:1:5: executing \"t.tpl\" at <.m.z.x>: nil pointer evaluating interface {}.x"),
    ("{{ .missing.x }}", "<no value>", ""),
    (
        "{{ $x := 1 }}{{ $x.y }}",
        "",
        "template: t.tpl:1:18: executing \"t.tpl\" at <$x.y>: can't evaluate field y in type int",
    ),
    (
        "{{ $x := .name }}{{ $x.y }}",
        "",
        "template: t.tpl:1:22: executing \"t.tpl\" at <$x.y>: can't evaluate field y in type string",
    ),
    (
        "{{ $x := .f }}{{ $x.y }}",
        "",
        "template: t.tpl:1:19: executing \"t.tpl\" at <$x.y>: can't evaluate field y in type float64",
    ),
    (
        "{{ $x := .b }}{{ $x.y }}",
        "",
        "template: t.tpl:1:19: executing \"t.tpl\" at <$x.y>: can't evaluate field y in type bool",
    ),
    (
        "{{ $x := .l }}{{ $x.y }}",
        "",
        "template: t.tpl:1:19: executing \"t.tpl\" at <$x.y>: can't evaluate field y in type []interface {}",
    ),
    (
        "{{ $x := .m }}{{ $x.k.y }}",
        "",
        "template: t.tpl:1:19: executing \"t.tpl\" at <$x.k.y>: can't evaluate field y in type interface {}",
    ),
    (
        "{{ $x := .m }}{{ $x.d.q.y }}",
        "",
        "template: t.tpl:1:19: executing \"t.tpl\" at <$x.d.q.y>: can't evaluate field y in type interface {}",
    ),
    ("{{ $x := .n }}{{ $x.y }}", "<no value>", ""),
    (
        "{{ (.name).y }}",
        "",
        "template: t.tpl:1:4: executing \"t.tpl\" at <.name>: can't evaluate field y in type string",
    ),
    ("{{ (.f).y }}", "", "template: t.tpl:1:4: executing \"t.tpl\" at <.f>: can't evaluate field y in type float64"),
    (
        "{{ (.l).y }}",
        "",
        "template: t.tpl:1:4: executing \"t.tpl\" at <.l>: can't evaluate field y in type []interface {}",
    ),
    (
        "{{ (index .l 0).y }}",
        "",
        "template: t.tpl:1:13: executing \"t.tpl\" at <0>: can't evaluate field y in type string",
    ),
    ("{{ (index .l 2).y }}", "<no value>", ""),
    ("{{ (len .l).y }}", "", "template: t.tpl:1:8: executing \"t.tpl\" at <.l>: can't evaluate field y in type int"),
    (
        "{{ with .name }}{{ .y }}{{ end }}",
        "",
        "template: t.tpl:1:19: executing \"t.tpl\" at <.y>: can't evaluate field y in type string",
    ),
    (
        "{{ with .l }}{{ .y }}{{ end }}",
        "",
        "template: t.tpl:1:16: executing \"t.tpl\" at <.y>: can't evaluate field y in type []interface {}",
    ),
    (
        "{{ with .m }}{{ .k.y }}{{ end }}",
        "",
        "template: t.tpl:1:18: executing \"t.tpl\" at <.k.y>: can't evaluate field y in type interface {}",
    ),
    (
        "{{ range .l }}{{ .y }}{{ end }}",
        "",
        "template: t.tpl:1:17: executing \"t.tpl\" at <.y>: can't evaluate field y in type interface {}",
    ),
    (
        "{{ range $i, $e := .l }}{{ $e.y }}{{ end }}",
        "",
        "template: t.tpl:1:29: executing \"t.tpl\" at <$e.y>: can't evaluate field y in type interface {}",
    ),
    (
        "{{ range $i, $e := .l }}{{ $i.y }}{{ end }}",
        "",
        "template: t.tpl:1:29: executing \"t.tpl\" at <$i.y>: can't evaluate field y in type int",
    ),
    (
        "{{ range $k, $v := .m }}{{ $k.y }}{{ end }}",
        "",
        "template: t.tpl:1:29: executing \"t.tpl\" at <$k.y>: can't evaluate field y in type string",
    ),
    (
        "{{ range $k, $v := .m }}{{ $v.y }}{{ end }}",
        "<no value>",
        "template: t.tpl:1:29: executing \"t.tpl\" at <$v.y>: can't evaluate field y in type interface {}",
    ),
    (
        "{{ range .l }}{{ $.name.y }}{{ end }}",
        "",
        "template: t.tpl:1:18: executing \"t.tpl\" at <$.name.y>: can't evaluate field y in type interface {}",
    ),
    (
        "{{ define \"s\" }}{{ .y }}{{ end }}{{ template \"s\" .name }}",
        "",
        "template: t.tpl:1:19: executing \"s\" at <.y>: can't evaluate field y in type string",
    ),
    (
        "{{ define \"s\" }}{{ .y }}{{ end }}{{ template \"s\" .f }}",
        "",
        "template: t.tpl:1:19: executing \"s\" at <.y>: can't evaluate field y in type float64",
    ),
    (
        "{{ define \"s\" }}{{ $.y }}{{ end }}{{ template \"s\" .b }}",
        "",
        "template: t.tpl:1:20: executing \"s\" at <$.y>: can't evaluate field y in type bool",
    ),
    (
        "{{ define \"s\" }}{{ .y }}{{ end }}{{ range .l }}{{ template \"s\" . }}{{ end }}",
        "",
        "template: t.tpl:1:19: executing \"s\" at <.y>: can't evaluate field y in type string",
    ),
    (
        "{{ printf .n }}",
        "",
        "template: t.tpl:1:10: executing \"t.tpl\" at <.n>: wrong type for value; expected string; got interface {}",
    ),
    (
        "{{ printf .missing }}",
        "",
        "template: t.tpl:1:10: executing \"t.tpl\" at <.missing>: invalid value; expected string",
    ),
    (
        "{{ printf .f }}",
        "",
        "template: t.tpl:1:10: executing \"t.tpl\" at <.f>: wrong type for value; expected string; got float64",
    ),
    ("{{ .n | printf }}", "", "template: t.tpl:1:8: executing \"t.tpl\" at <printf>: invalid value; expected string"),
    (
        "{{ .missing | printf }}",
        "",
        "template: t.tpl:1:14: executing \"t.tpl\" at <printf>: invalid value; expected string",
    ),
    (
        "{{ .f | printf }}",
        "",
        "template: t.tpl:1:8: executing \"t.tpl\" at <printf>: wrong type for value; expected string; got float64",
    ),
    (
        "{{ .l | printf }}",
        "",
        "template: t.tpl:1:8: executing \"t.tpl\" at <printf>: wrong type for value; expected"
        " string; got []interface {}",
    ),
    (
        "{{ printf (index .l 2) }}",
        "",
        "template: t.tpl:1:20: executing \"t.tpl\" at <2>: invalid value; expected string",
    ),
    (
        "{{ $x := .n }}{{ printf $x }}",
        "",
        "template: t.tpl:1:24: executing \"t.tpl\" at <$x>: invalid value; expected string",
    ),
    (
        "{{ range .l }}{{ printf . }}{{ end }}",
        "a",
        "template: t.tpl:1:24: executing \"t.tpl\" at <.>: wrong type for value; expected string; got float64",
    ),
    ("{{ (1).y }}", "", "template: t.tpl:1:4: executing \"t.tpl\" at <1>: can't evaluate field y in type int"),
    (
        "{{ $.name.y }}",
        "",
        "template: t.tpl:1:4: executing \"t.tpl\" at <$.name.y>: can't evaluate field y in type interface {}",
    ),
    (
        "{{ .name.y.z }}",
        "",
        "template: t.tpl:1:8: executing \"t.tpl\" at <.name.y.z>: can't evaluate field y in type interface {}",
    ),
    (
        "{{ .l.y.z }}",
        "",
        "template: t.tpl:1:5: executing \"t.tpl\" at <.l.y.z>: can't evaluate field y in type interface {}",
    ),
    (
        "{{ range .e }}{{ else }}{{ .name.y }}{{ end }}",
        "",
        "template: t.tpl:1:32: executing \"t.tpl\" at <.name.y>: can't evaluate field y in type interface {}",
    ),
    (
        "{{ with .n }}{{ else }}{{ .f.y }}{{ end }}",
        "",
        "template: t.tpl:1:28: executing \"t.tpl\" at <.f.y>: can't evaluate field y in type interface {}",
    ),
    (
        "{{ range .l }}{{ with .}}{{ .y }}{{ end }}{{ end }}",
        "",
        "template: t.tpl:1:28: executing \"t.tpl\" at <.y>: can't evaluate field y in type string",
    ),
    (
        "{{ len .missing }}",
        "",
        "template: t.tpl:1:3: executing \"t.tpl\" at <len .missing>: error calling len: reflect:"
        " call of reflect.Value.Type on zero Value",
    ),
    ("{{ len .n }}", "", "template: t.tpl:1:3: executing \"t.tpl\" at <len .n>: error calling len: len of nil pointer"),
    (
        "{{ index .missing 0 }}",
        "",
        "template: t.tpl:1:3: executing \"t.tpl\" at <index .missing 0>: error calling index: index of untyped nil",
    ),
    (
        "{{ index .n 0 }}",
        "",
        "template: t.tpl:1:3: executing \"t.tpl\" at <index .n 0>: error calling index: index of untyped nil",
    ),
    (
        "{{ .missing | len }}",
        "",
        "template: t.tpl:1:14: executing \"t.tpl\" at <len>: error calling len: reflect: call of"
        " reflect.Value.Type on zero Value",
    ),
    ("{{ eq .missing 1 }}", "false", ""),
    ("{{ not .missing }}", "true", ""),
    ("{{ slice .name 1 }}", "", ""),
    (
        "{{ (slice .name 1).y }}",
        "",
        "template: t.tpl:1:16: executing \"t.tpl\" at <1>: can't evaluate field y in type string",
    ),
    (
        "{{ (print .f).y }}",
        "",
        "template: t.tpl:1:10: executing \"t.tpl\" at <.f>: can't evaluate field y in type string",
    ),
    ("{{ (not .b).y }}", "", "template: t.tpl:1:8: executing \"t.tpl\" at <.b>: can't evaluate field y in type bool"),
    ("{{ (eq 1 1).y }}", "", "template: t.tpl:1:9: executing \"t.tpl\" at <1>: can't evaluate field y in type bool"),
    (
        "{{ (html .name).y }}",
        "",
        "template: t.tpl:1:9: executing \"t.tpl\" at <.name>: can't evaluate field y in type string",
    ),
    (
        "{{ printf (print 1) }}{{ printf (len .l) }}",
        "1",
        "template: t.tpl:1:37: executing \"t.tpl\" at <.l>: wrong type for value; expected string; got int",
    ),
    ("{{ printf (.m).k }}", "v", ""),
    (
        "{{ printf (.m).z }}",
        "",
        "template: t.tpl:1:11: executing \"t.tpl\" at <.m>: wrong type for value; expected string; got interface {}",
    ),
    (
        "{{ printf $ }}",
        "",
        "template: t.tpl:1:10: executing \"t.tpl\" at <$>: wrong type for value; expected string;"
        " got map[string]interface {}",
    ),
    (
        "{{ printf . }}",
        "",
        "template: t.tpl:1:10: executing \"t.tpl\" at <.>: wrong type for value; expected string;"
        " got map[string]interface {}",
    ),
    (
        "{{ range .l }}{{ printf $ }}{{ end }}",
        "",
        "template: t.tpl:1:24: executing \"t.tpl\" at <$>: wrong type for value; expected string;"
        " got map[string]interface {}",
    ),
    (
        "{{ with .m }}{{ printf . }}{{ end }}",
        "",
        "template: t.tpl:1:23: executing \"t.tpl\" at <.>: wrong type for value; expected string;"
        " got map[string]interface {}",
    ),
    (
        "{{ (.m).k.y }}",
        "",
        "template: t.tpl:1:4: executing \"t.tpl\" at <.m>: can't evaluate field y in type interface {}",
    ),
    ("{{ (.m).z.y }}", "", "template: t.tpl:1:4: executing \"t.tpl\" at <.m>: nil pointer evaluating interface {}.y"),
    ("{{ ((.m).d).y }}", "<no value>", ""),
    (
        "{{ (index .m \"d\").q.y }}",
        "",
        "template: t.tpl:1:13: executing \"t.tpl\" at <\"d\">: can't evaluate field y in type interface {}",
    ),
    (
        "{{ .m.d.q.y }}",
        "",
        "template: t.tpl:1:5: executing \"t.tpl\" at <.m.d.q.y>: can't evaluate field y in type interface {}",
    ),
    (
        "{{ range $i, $e := .l }}{{ $i = 5 }}{{ $i.y }}{{ end }}",
        "",
        "template: t.tpl:1:41: executing \"t.tpl\" at <$i.y>: can't evaluate field y in type int",
    ),
    (
        "{{ $e := 0 }}{{ range $e = .l }}{{ $e.y }}{{ end }}",
        "",
        "template: t.tpl:1:37: executing \"t.tpl\" at <$e.y>: can't evaluate field y in type interface {}",
    ),
    (
        "{{ $x := .l }}{{ range .l }}{{ $x.y }}{{ end }}",
        "",
        "template: t.tpl:1:33: executing \"t.tpl\" at <$x.y>: can't evaluate field y in type []interface {}",
    ),
]


@pytest.mark.parametrize(("template", "output", "error"), GO_TYPE_CASES)
def test_execution_errors_name_the_type_go_names(template: str, output: str, error: str) -> None:
    templates = parse_sources({"t.tpl": (template, "t.tpl")})
    if not error:
        assert render(templates, "t.tpl", from_json(GO_TYPE_DATA), print_missing=True) == output
        return
    with pytest.raises(TemplateError) as info:
        render(templates, "t.tpl", from_json(GO_TYPE_DATA), print_missing=True)
    assert f"template: {info.value}" == error
