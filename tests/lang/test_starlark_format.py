"""Starlark's ``%``, ``str.format``, ``str`` and ``repr`` write values as go.starlark.net does.

The tables are Go 1.19's output (strconv.FormatFloat, fmt of a math/big Int), as go.starlark.net's
Float.format, interpolate and Int formatting use them; the rewrite that routes ``%`` and ``.format(...)``
to the prelude is tested for Starlark's precedence and for the columns it reports.
"""

from __future__ import annotations

import random

import pytest
import starlark

from choreo.errors import ReconcileError
from choreo.lang.starlark_rewrite import rewrite
from choreo.loader.project import Library
from tests.lang.test_starlark import SOURCE, FakeClient, fails, probe, run

OK = '    return reconcile_result(self, False, 0, "", False)\n'

# Go: strconv.FormatFloat(x, 'g', -1, 64), then go.starlark.net's Float.format for
# g, G, e, E, f, F ("%F": strconv knows no 'F'; non-finite values are written by name).
FLOATS = [
    ("0", "0.0", "0.0", "0.000000e+00", "0.000000E+00", "0.000000", "%F"),
    ("-0", "-0.0", "-0.0", "-0.000000e+00", "-0.000000E+00", "-0.000000", "%F"),
    ("1", "1.0", "1.0", "1.000000e+00", "1.000000E+00", "1.000000", "%F"),
    ("-1", "-1.0", "-1.0", "-1.000000e+00", "-1.000000E+00", "-1.000000", "%F"),
    ("0.1", "0.1", "0.1", "1.000000e-01", "1.000000E-01", "0.100000", "%F"),
    ("0.5", "0.5", "0.5", "5.000000e-01", "5.000000E-01", "0.500000", "%F"),
    ("1.5", "1.5", "1.5", "1.500000e+00", "1.500000E+00", "1.500000", "%F"),
    ("2.5", "2.5", "2.5", "2.500000e+00", "2.500000E+00", "2.500000", "%F"),
    ("100", "100.0", "100.0", "1.000000e+02", "1.000000E+02", "100.000000", "%F"),
    ("1e+06", "1e+06", "1E+06", "1.000000e+06", "1.000000E+06", "1000000.000000", "%F"),
    ("1e+20", "1e+20", "1E+20", "1.000000e+20", "1.000000E+20", "100000000000000000000.000000", "%F"),
    ("1e+21", "1e+21", "1E+21", "1.000000e+21", "1.000000E+21", "1000000000000000000000.000000", "%F"),
    ("0.0001", "0.0001", "0.0001", "1.000000e-04", "1.000000E-04", "0.000100", "%F"),
    ("1e-05", "1e-05", "1E-05", "1.000000e-05", "1.000000E-05", "0.000010", "%F"),
    ("1e-07", "1e-07", "1E-07", "1.000000e-07", "1.000000E-07", "0.000000", "%F"),
    ("1.2345675e+06", "1.2345675e+06", "1.2345675E+06", "1.234568e+06", "1.234568E+06", "1234567.500000", "%F"),
    ("1.23456789125e+08", "1.23456789125e+08", "1.23456789125E+08", "1.234568e+08", "1.234568E+08", "123456789.125000", "%F"),  # noqa: E501
    ("0.000123456", "0.000123456", "0.000123456", "1.234560e-04", "1.234560E-04", "0.000123", "%F"),
    ("3.14159265358979", "3.14159265358979", "3.14159265358979", "3.141593e+00", "3.141593E+00", "3.141593", "%F"),
    ("1.0000005", "1.0000005", "1.0000005", "1.000001e+00", "1.000001E+00", "1.000001", "%F"),
    ("2.0000005", "2.0000005", "2.0000005", "2.000001e+00", "2.000001E+00", "2.000001", "%F"),
    ("9.9999995", "9.9999995", "9.9999995", "9.999999e+00", "9.999999E+00", "9.999999", "%F"),
    ("1.5e-06", "1.5e-06", "1.5E-06", "1.500000e-06", "1.500000E-06", "0.000002", "%F"),
    ("1e+100", "1e+100", "1E+100", "1.000000e+100", "1.000000E+100", "10000000000000000159028911097599180468360808563945281389781327557747838772170381060813469985856815104.000000", "%F"),  # noqa: E501
    ("1.7976931348623157e+308", "1.7976931348623157e+308", "1.7976931348623157E+308", "1.797693e+308", "1.797693E+308", "179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.000000", "%F"),  # noqa: E501
    ("5e-324", "5e-324", "5E-324", "4.940656e-324", "4.940656E-324", "0.000000", "%F"),
    ("2.2250738585072014e-308", "2.2250738585072014e-308", "2.2250738585072014E-308", "2.225074e-308", "2.225074E-308", "0.000000", "%F"),  # noqa: E501
    ("123456", "123456.0", "123456.0", "1.234560e+05", "1.234560E+05", "123456.000000", "%F"),
    ("1.234567e+06", "1.234567e+06", "1.234567E+06", "1.234567e+06", "1.234567E+06", "1234567.000000", "%F"),
    ("1.2345678901234567e+19", "1.2345678901234567e+19", "1.2345678901234567E+19", "1.234568e+19", "1.234568E+19", "12345678901234567168.000000", "%F"),  # noqa: E501
    ("-2.5e-07", "-2.5e-07", "-2.5E-07", "-2.500000e-07", "-2.500000E-07", "-0.000000", "%F"),
    ("1e+15", "1e+15", "1E+15", "1.000000e+15", "1.000000E+15", "1000000000000000.000000", "%F"),
    ("1e+16", "1e+16", "1E+16", "1.000000e+16", "1.000000E+16", "10000000000000000.000000", "%F"),
    ("1.2345678901234568e+17", "1.2345678901234568e+17", "1.2345678901234568E+17", "1.234568e+17", "1.234568E+17", "123456789012345680.000000", "%F"),  # noqa: E501
    ("+Inf", "+inf", "+inf", "+inf", "+inf", "+inf", "+inf"),
    ("-Inf", "-inf", "-inf", "-inf", "-inf", "-inf", "-inf"),
    ("NaN", "nan", "nan", "nan", "nan", "nan", "nan"),
]
# Go: fmt.Sprintf("%d" / "%o" / "%x" / "%X") of a math/big Int.
INTS = [
    ("0", "0", "0", "0", "0"),
    ("1", "1", "1", "1", "1"),
    ("-1", "-1", "-1", "-1", "-1"),
    ("255", "255", "377", "ff", "FF"),
    ("-255", "-255", "-377", "-ff", "-FF"),
    ("8", "8", "10", "8", "8"),
    ("9223372036854775807", "9223372036854775807", "777777777777777777777", "7fffffffffffffff", "7FFFFFFFFFFFFFFF"),
    ("-9223372036854775808", "-9223372036854775808", "-1000000000000000000000", "-8000000000000000", "-8000000000000000"),  # noqa: E501
    ("12345678901234567890123", "12345678901234567890123", "2472412662347316120442313", "29d42b64e76714244cb", "29D42B64E76714244CB"),  # noqa: E501
    ("-12345678901234567890123", "-12345678901234567890123", "-2472412662347316120442313", "-29d42b64e76714244cb", "-29D42B64E76714244CB"),  # noqa: E501
]
# Go: a float's %d / %o / %x: truncated toward zero into a big Int (go.starlark.net's NumberToInt).
TRUNCATED = [
    ("1.9", "1", "1", "1"),
    ("-1.9", "-1", "-1", "-1"),
    ("1e+30", "1000000000000000019884624838656", "1447626234640431650000000000000000", "c9f2c9cd04675000000000000"),
    ("-2.5e+20", "-250000000000000000000", "-33065623267056752000000", "-d8d726b7177a80000"),
    ("0.5", "0", "0", "0"),
]


def _float(text: str) -> str:
    return f'float("{text}")'


@pytest.mark.parametrize("row", FLOATS, ids=[row[0] for row in FLOATS])
def test_float_conversions_are_go_starlarks(row: tuple[str, ...]) -> None:
    x = _float(row[0])
    got = probe(
        f'["%g" % {x}, "%G" % {x}, "%e" % {x}, "%E" % {x}, "%f" % {x}, "%F" % {x},'
        f' "%s" % {x}, "%r" % {x}, "{{}}".format({x}), "{{!r}}".format({x}), str({x}), repr({x}),'
        f' "%s|%r" % ([{x}], {{"k": ({x},)}}), "{{}}".format([{x}, "a"])]'
    )
    g = row[1]
    assert got == [*row[1:], g, g, g, g, g, g, f'[{g}]|{{"k": ({g},)}}', f'[{g}, "a"]']


def test_ints_format_the_go_way_in_e_f_g() -> None:
    assert probe('["%g" % 10, "%e" % 10, "%f" % -3, "%G" % 12345678901234567890123]') == [
        "10.0", "1.000000e+01", "-3.000000", "1.2345678901234568E+22"]


@pytest.mark.parametrize("row", INTS, ids=[row[0] for row in INTS])
def test_integer_conversions_are_gos(row: tuple[str, ...]) -> None:
    x = row[0]
    assert probe(f'["%d" % {x}, "%o" % {x}, "%x" % {x}, "%X" % {x}, "%i" % {x}, "%s" % {x}, "{{}}".format({x})]') == [
        *row[1:], row[1], row[1], row[1]]


@pytest.mark.parametrize("row", TRUNCATED, ids=[row[0] for row in TRUNCATED])
def test_integer_conversions_of_a_float_truncate(row: tuple[str, ...]) -> None:
    x = _float(row[0])
    assert probe(f'["%d" % {x}, "%o" % {x}, "%x" % {x}]') == list(row[1:])


def test_other_values() -> None:
    got = probe(
        '["%s %r %s %r" % (True, None, "a", "a"), "%(a)s/%(b)r" % {"a": 1.25e7, "b": "x"},'
        ' "%c%c%c" % (65, "é", 0xD800), "%s" % ((1.5, [2e-7], {"a": None}),), "%%d%%" % (),'
        ' "{} {!r} {!s} {x} {{}}".format("a", "b", 2.5e20, x=(1.0,)), "{1}{0}{1}".format("a", "b"), "{:}".format(1)]'
    )
    assert got == [
        'True None a "a"', '1.25e+07/"x"', "Aé\ufffd", '(1.5, [2e-07], {"a": None})', "%d%", 'a "b" 2.5e+20 (1.0,) {}',
        "bab", "1"]


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ('"%d" % True', "%d format requires integer: cannot convert bool to int"),
        ('"%x" % "a"', "%x format requires integer: cannot convert string to int"),
        ('"%d" % float("inf")', "%d format requires integer: cannot convert float infinity to integer"),
        ('"%o" % float("nan")', "%o format requires integer: cannot convert float NaN to integer"),
        ('"%e" % "1"', "%e format requires float, not string"),
        ('"%G" % None', "%G format requires float, not NoneType"),
        ('"%c" % -1', "%c format requires a valid Unicode code point, got -1"),
        ('"%c" % "ab"', "%c format requires a single-character string"),
        ('"%c" % ""', "%c format requires a single-character string"),
        ('"%c" % 1.5', "%c format requires int or single-character string, not float"),
        ('"%5d" % 3', "unknown conversion %5"),
        ('"%é" % 1', "unknown conversion %\u00c3"),
        ('"%s %s" % (1,)', "not enough arguments for format string"),
        ('"%s" % ()', "not enough arguments for format string"),
        ('"%s" % (1, 2)', "too many arguments for format string"),
        ('"x" % 1', "too many arguments for format string"),
        ('"%" % 1', "incomplete format"),
        ('"%(a" % {"a": 1}', "incomplete format key"),
        ('"%(a)s" % [1]', "format requires a mapping"),
        ('"%(b)s" % {"a": 1}', "key not found: b"),
        ('"}".format()', "format: single '}' in format"),
        ('"{".format()', "format: unmatched '{' in format"),
        ('"{} {}".format(1)', "format: tuple index out of range"),
        ('"{2}".format(1)', "format: tuple index out of range"),
        ('"{0}{}".format(1, 2)', "format: cannot switch from manual field specification to automatic field numbering"),
        ('"{}{0}".format(1, 2)', "format: cannot switch from automatic field numbering to manual field specification"),
        ('"{a.b}".format()', "format: attribute syntax x.y is not supported in replacement fields: a.b"),
        ('"{a[0]}".format()', "format: element syntax a[i] is not supported in replacement fields: a[0]"),
        ('"{a{b}".format()', "format: nested replacement fields not supported"),
        ('"{a}".format(b=1)', "format: keyword a not found"),
        ('"{:3}".format(1)', "format spec features not supported in replacement fields: 3"),
        ('"{!a}".format(1)', 'format: unknown conversion "a"'),
    ],
)
def test_errors_are_worded_as_go_starlarks(expr: str, message: str) -> None:
    assert fails(f"def reconcile(self):\n    x = {expr}\n" + OK) == f"{SOURCE}:2: {message}"


# --- the rewrite -----------------------------------------------------------------------------------------


def test_percent_keeps_starlarks_precedence() -> None:
    got = probe(
        '[-7 % 3, 2 * 7 % 4, 2 + 7 % 4, 100 // 7 % 4, 7.5 % 2, "%d-%d" % (1, 2) * 2, "a" + "%s" % 1 + "b",'
        ' [i % 3 for i in range(5) if i % 2 == 0], (lambda n: "%03d" % n if n else "-")(0), ("%s"\n      % 1),'
        ' not 4 % 2, "%s" % "%s" % 1]'
    )
    assert got == [2, 2, 5, 2, 1.5, "1-21-2", "a1b", [0, 2, 1], "-", "1", True, "1"]


def test_augmented_percent_and_format_calls() -> None:
    setup = '    s = "%s-%s"\n    s %= (1.5e6, 2)\n    d = {"k": "{}!"}\n    d["k"] %= ()\n'
    setup += '    if s: t = "%s"; t %= 0.1\n'
    assert probe('[s, d["k"], t, "{}".format(1e21).upper(), "{}-{}".format(*[1e-7, 2]), " ".join(["%s" % 1])]',
                 setup=setup) == ["1.5e+06-2", "{}!", "0.1", "1E+21", "1e-07-2", "1"]


def test_augmented_percent_reads_a_bare_tuple_whole_and_its_target_once() -> None:
    """``s %= 1, 2`` is ``s %= (1, 2)``; an element target is left to the interpreter, so that its operands
    (``d[key()]``) are evaluated once, as Starlark evaluates them; ``format`` takes a keyword named ``s``."""
    setup = '    s = "%s-%s"\n    s %= 1.5e6, 2\n    calls = []\n'
    setup += '    def key():\n        calls.append(1)\n        return "k"\n'
    setup += '    d = {"k": 7}\n    d[key()] %= 4\n'
    assert probe('[s, d, len(calls), "{s}-{args}".format(s=1, args=2)]', setup=setup) == [
        "1.5e+06-2", {"k": 3}, 1, "1-2"]
    assert fails('def reconcile(self):\n    x = "{!\u00e9}".format(1)\n' + OK) == (
        f'{SOURCE}:2: format: unknown conversion "\u00e9"')


def test_percent_and_format_in_strings_and_comments_are_text() -> None:
    assert probe('"a % b" + \'.format(\' + """%\n""" # x % y .format(\n') == "a % b.format(%\n"


def test_print_and_libraries_format_too() -> None:
    client = FakeClient()
    lib = Library("fmt.star", 'def show(x):\n    return "<%s>" % x\n', "libs/fmt.star")
    code = 'load("fmt.star", "show")\ndef reconcile(self):\n'
    code += '    print("%s %s" % (show(1234567.5), "{}".format(2.5e-7)))\n'
    run(code + OK, client=client, libraries=[lib])
    assert client.logs == ["<1.2345675e+06> 2.5e-07"]
    lib = Library("fmt.star", 'def show(x):\n    return "<%d>" % x\n', "libs/fmt.star")
    assert fails(code.replace("show(1234567.5)", 'show("a")') + OK, libraries=[lib]) == (
        "libs/fmt.star:2: %d format requires integer: cannot convert string to int"
    )


def test_an_error_on_a_rewritten_line_names_the_column_as_written() -> None:
    code = 'def reconcile(self):\n    x = "%s" % 1 + "{}".format(2) + 3\n' + OK
    assert fails(code) == f"{SOURCE}:2:9: Operation `+` not supported for types `string` and `int`"


def test_a_syntax_error_after_a_rewrite_names_the_column_as_written() -> None:
    message = fails('def reconcile(self):\n    x = "%s" % 1 +\n' + OK)
    assert message.startswith(f"{SOURCE}:2:19: Parse error")


def test_values_other_than_strings_keep_the_interpreters_operator() -> None:
    assert fails("def reconcile(self):\n    x = 1 % 0\n" + OK) == f"{SOURCE}:2: Modulo by zero: 1 % 0"
    assert "has no attribute `format`" in fails("def reconcile(self):\n    x = (1).format()\n" + OK)


@pytest.mark.parametrize(
    ("code", "mark"),
    [
        ('x = "%s" % y', "x"),
        ('x = "%s" % y', '"%s"'),
        ('x = "%s" % y + z', "z"),
        ('x = -a % b % c * d', "d"),
        ("a = 1\nb = c % d\ne = f", "f"),
        ("a = 1\nb = c % d\ne = f", "d"),
        ('x = "{}".format(1) + z', "z"),
        ('x = "{}".format(1) + z', "1"),
        ("s %= t; u = v", "v"),
    ],
)
def test_rewrite_maps_columns_back(code: str, mark: str) -> None:
    rewritten = rewrite(code)
    assert rewritten.code != code and rewritten.code.count("\n") == code.count("\n")
    line = code[: code.index(mark)].count("\n") + 1
    column = code.index(mark) - code.rfind("\n", 0, code.index(mark))
    new_column = rewritten.code.index(mark) - rewritten.code.rfind("\n", 0, rewritten.code.index(mark))
    assert rewritten.column(line, new_column) == column


def test_rewrite_maps_a_column_in_text_it_put_in_to_the_edit() -> None:
    rewritten = rewrite('x = "%s" % y')
    assert rewritten.code == 'x = _choreo_percent("%s" , y)'
    assert [rewritten.column(1, c) for c in (5, 20, 26, 29)] == [5, 5, 10, 13]


def test_rewrite_leaves_text_it_cannot_read() -> None:
    assert rewrite('x = "unterminated % y\n').code == 'x = "unterminated % y\n'


def test_a_reconciler_without_percent_is_not_rewritten() -> None:
    code = "def reconcile(self):\n    return 1\n"
    assert rewrite(code).code == code


def test_reconcile_errors_still_single_line() -> None:
    with pytest.raises(ReconcileError, match=r"^reconcilers/demo/reconciler\.star:2: not enough arguments"):
        run('def reconcile(self):\n    x = "%s%s" % 1\n' + OK)


def test_rewrite_keeps_the_value_of_random_integer_expressions() -> None:
    """Rewritten with a plain ``%`` behind ``_choreo_percent``, every expression keeps its value (or fails
    as it did: a division by zero)."""
    rng = random.Random(7)

    def expression(depth: int) -> str:
        if depth == 0 or rng.random() < 0.3:
            return rng.choice(["7", "-3", "x", "y[1]", "f(2)", "(5)", "-x", "(not 0)", "(2 if x else 3)", "0"])
        op = rng.choice(["+", "-", "*", "//", "%", "%", "%", "<", "==", "and", "or", "if"])
        left, right = expression(depth - 1), expression(depth - 1)
        if op == "if":
            return f"({left} if {right} else {expression(depth - 1)})"
        if op in ("<", "=="):
            return f"({left} {op} {right})"
        return rng.choice([f"{left} {op} {right}", f"({left} {op} {right})", f"-({left}) {op} {right}"])

    dialect = starlark.Dialect.extended()
    prelude = starlark.parse("p", "x = 11\ny = [4, 9]\ndef f(n):\n    return n + 1\n"
                             "def _choreo_percent(a, b):\n    return a % b\n", dialect)

    def value(code: str) -> object:
        module = starlark.Module()
        starlark.eval(module, prelude, starlark.Globals.standard())
        try:
            starlark.eval(module, starlark.parse("t", code, dialect), starlark.Globals.standard())
        except starlark.StarlarkError as exc:
            return next(line for line in str(exc).splitlines() if line.startswith("error:")).split(": ")[1]
        return module["r"]

    expressions = [expression(4) for _ in range(300)]
    values = [value(f"r = {e}\n") for e in expressions]
    assert [value(rewrite(f"r = {e}\n").code) for e in expressions] == values
    assert sum(type(v) is int for v in values) > 100 and sum("%" in e for e in expressions) > 150


# Go: strconv.Quote (go.starlark.net's repr of a string): printable characters as they are, the rest escaped.
QUOTED = [
    ("é😀ü", "\"é😀ü\""),
    ("a\a\b\f\v\x00\x1f\x7f", "\"a\\a\\b\\f\\v\\x00\\x1f\\x7f\""),
    ("\u200b\u00ad\ufeff", "\"\\u200b\\u00ad\\ufeff\""),
    ("'\"\\", "\"'\\\"\\\\\""),
    ("tab\there\n", "\"tab\\there\\n\""),
    ("\U000e0001 \u0378", "\"\\U000e0001 \\u0378\""),
]


@pytest.mark.parametrize(("text", "quoted"), QUOTED)
def test_strings_are_quoted_as_go_quotes_them(text: str, quoted: str) -> None:
    client = FakeClient()
    code = "def reconcile(self):\n    s = self['spec']['s']\n"
    code += '    print(repr(s), "%r" % s, "{!r}".format(s), str([s]), "%s" % {s: (s,)}, [1.5e7, s])\n' + OK
    run(code, obj={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"s": text}}, client=client)
    assert client.logs == [f"{quoted} {quoted} {quoted} [{quoted}] {{{quoted}: ({quoted},)}} [1.5e+07, {quoted}]"]
