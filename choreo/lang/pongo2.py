"""pongo2 (Django-syntax) forms in Jinja2 templates: the translation and the filters it needs (spec §4.3).

The reference renders "Jinja2" reconcilers with pongo2, so a template written for it uses pongo2's
syntax wherever it differs from Jinja2's. ``translate`` rewrites those forms inside ``{{ }}`` and
``{% %}`` tags (never inside string literals, comments or ``{% raw %}``), keeping every line where it
was so that messages name the line of the original text:

* ``{% macro m(a) export %}`` -> ``{% macro m(a) %}`` (Jinja2 exports every macro);
* ``{% import 'f.jinja2' m1, m2 as x %}`` -> ``{% from 'f.jinja2' import m1, m2 as x %}``;
* filter arguments after a colon, ``x|default:"none"`` -> ``x|default("none", true)`` (pongo2's
  ``default`` replaces every false value, Jinja2's only an undefined one, unless told so) and
  ``x|cut:","`` -> ``x|cut(",")``; a filter whose Jinja2 namesake differs (``join``, ``upper``, ``first``,
  ... ``_RENAMED``) becomes pongo2's own (``x|join:","`` -> ``x|pongo2_join(",")``, ``x|upper`` ->
  ``x|pongo2_upper``) unless called with parentheses, Jinja2's form (``x|upper()`` stays Jinja2's);
* ``&&``, ``||``, ``!`` and ``<>`` -> ``and``, ``or``, ``not`` and ``!=``;
* ``forloop.Counter``, ``Counter0``, ``Revcounter``, ``Revcounter0``, ``First``, ``Last`` -> ``loop.index``,
  ``index0``, ``revindex``, ``revindex0``, ``first``, ``last``;
* ``{% for k, v in mapping %}`` iterates the mapping's items (keys in order; pongo2's order is Go's
  random map order), ``{% for x in y reversed sorted %}`` reverses and sorts; ``{% empty %}`` ->
  ``{% else %}``;
* ``{% ifequal a b %}``/``{% ifnotequal a b %}`` -> ``{% if a == b %}``/``{% if a != b %}``;
* ``{% comment %}...{% endcomment %}`` -> ``{# ... #}``;
* the filters of ``{% filter upper|center:9 %}`` as in ``{{ }}``.

``FILTERS`` are pongo2's filters that Jinja2 lacks, and those whose Jinja2 namesake differs, written after
pongo2 v6's ``filters_builtin.go``: they read their input and argument as pongo2's ``Value`` does (a
string is a number when Go's ``strconv.ParseFloat`` reads it, a number has no length, a float is written
with ``%f``), and refuse what pongo2 refuses with its words (``stringformat`` formats with Go's ``fmt``, as
pongo2 does). ``random`` (pongo2's and Jinja2's alike) picks the same item on every run: a project gives the
same output on every run. ``GLOBALS`` is the helper the ``for`` translation calls.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jinja2

from choreo.lang.gotemplate.funcs import query_escape
from choreo.lang.gotemplate.gofmt import format_float, sprintf

_MACRO_EXPORT = re.compile(r"(\{%-?\s*macro\s[^%]*?\))\s+export(\s*-?%\})")
_PONGO_IMPORT = re.compile(r"(\{%-?\s*)import(\s+(?:'[^']*'|\"[^\"]*\"))(\s+(?!as\b)[A-Za-z_][^%]*?-?%\})")
_COMMENT_BLOCK = re.compile(r"\{%-?\s*comment\s*-?%\}(.*?)\{%-?\s*endcomment\s*-?%\}", re.S)

# One token of an expression: a string literal, a number, a name (dotted path), blanks, an operator.
_TOKEN = re.compile(
    r"""(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    |(?P<num>\d+(?:\.\d+)?)
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
    |(?P<ws>\s+)
    |(?P<op>&&|\|\||!=|<>|==|<=|>=|.)""",
    re.S | re.X,
)
_FORLOOP = {
    "Counter": "index", "Counter0": "index0", "Revcounter": "revindex", "Revcounter0": "revindex0",
    "First": "first", "Last": "last",
}
# pongo2 filters whose Jinja2 namesake differs, under the name the translation gives them when written as
# pongo2 writes them (``x|upper``, ``x|center:20``); with parentheses (``x|upper()``) they stay Jinja2's.
_RENAMED = {
    name: f"pongo2_{name}"
    for name in (
        "center", "e", "escape", "first", "float", "join", "last", "length", "lower", "safe", "slice",
        "striptags", "title", "upper", "urlencode", "wordcount", "wordwrap",
    )
}
_FOR = re.compile(
    r"^(?P<head>\s*for\s+)(?P<targets>[A-Za-z_][\w]*(?:\s*,\s*[A-Za-z_][\w]*)*)\s+in\s+(?P<expr>.*?)"
    r"(?P<mods>(?:\s+(?:reversed|sorted))*)(?P<tail>\s*)$",
    re.S,
)
_FILTER_BLOCK = re.compile(r"^(?P<head>\s*filter\s+)(?P<chain>.*)$", re.S)
_IFEQUAL = re.compile(r"^(?P<head>\s*)if(?P<not>not)?equal\s+(?P<args>.*?)(?P<tail>\s*)$", re.S)
_ENDIFEQUAL = re.compile(r"^(\s*)endif(?:not)?equal(\s*)$")


def translate(text: str) -> str:
    """``text`` with the pongo2 forms above rewritten into Jinja2 (line numbers unchanged)."""
    text = _MACRO_EXPORT.sub(r"\1\2", text)
    text = _PONGO_IMPORT.sub(r"\1from\2 import\3", text)
    text = _COMMENT_BLOCK.sub(_comment, text)
    out: list[str] = []
    pos = 0
    while True:
        start = _next_tag(text, pos)
        if start < 0:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:start])
        opener = text[start : start + 2]
        if opener == "{#":
            end = text.find("#}", start + 2)
            end = len(text) if end < 0 else end + 2
            out.append(text[start:end])
            pos = end
            continue
        closer = "}}" if opener == "{{" else "%}"
        end = _tag_end(text, start + 2, closer)
        if end < 0:  # unclosed: Jinja2 reports it
            out.append(text[start:])
            return "".join(out)
        inner_start = start + 2 + (text[start + 2 : start + 3] in ("-", "+"))
        inner_end = end - (text[end - 1 : end] in ("-", "+") and end - 1 >= inner_start)
        body = text[inner_start:inner_end]
        if opener == "{%" and re.match(r"\s*raw\s*$", body):
            stop = re.compile(r"\{%-?\s*endraw\s*-?%\}").search(text, end + 2)
            end = stop.end() - 2 if stop else len(text) - 2
            out.append(text[start : end + 2])
            pos = end + 2
            continue
        translated = _statement(body) if opener == "{%" else _expression(body)
        translated += "\n" * (body.count("\n") - translated.count("\n"))  # lines stay where they were
        out.append(text[start:inner_start] + translated + text[inner_end : end + 2])
        pos = end + 2


def _comment(match: re.Match[str]) -> str:
    body = match.group(1)
    if "#}" in body:
        return match.group(0)
    return "{#" + match.group(0)[2:-2].replace("#}", "") + "#}"


def _next_tag(text: str, pos: int) -> int:
    found = [i for i in (text.find("{{", pos), text.find("{%", pos), text.find("{#", pos)) if i >= 0]
    return min(found) if found else -1


def _tag_end(text: str, pos: int, closer: str) -> int:
    """Where ``closer`` ends the tag that starts before ``pos`` (string literals skipped); -1 if never."""
    i = pos
    while i < len(text):
        ch = text[i]
        if ch in "\"'":
            match = _TOKEN.match(text, i)
            if match is None or match.lastgroup != "str":
                return -1
            i = match.end()
            continue
        if text.startswith(closer, i):
            return i
        i += 1
    return -1


def _statement(body: str) -> str:
    stripped = body.strip()
    if stripped == "empty":
        return body.replace("empty", "else")
    if _ENDIFEQUAL.match(body):
        return _ENDIFEQUAL.sub(r"\1endif\2", body)
    ifequal = _IFEQUAL.match(body)
    if ifequal:
        args = _split_args(_expression(ifequal["args"]))
        if len(args) == 2:
            op = "!=" if ifequal["not"] else "=="
            return f"{ifequal['head']}if ({args[0]}) {op} ({args[1]}){ifequal['tail']}"
    block = _FILTER_BLOCK.match(body)
    if block:  # the first filter of the chain is written like those after a "|"
        return block["head"] + _expression("|" + block["chain"])[1:]
    loop = _FOR.match(body)
    if loop and not re.search(r"\s(?:if|recursive)\s|\srecursive$", loop["expr"] + " "):
        targets, expr, mods = loop["targets"], _expression(loop["expr"]), loop["mods"].split()
        if "," in targets or mods:
            flags = ", ".join(str(flag).lower() for flag in ("," in targets, "reversed" in mods, "sorted" in mods))
            return f"{loop['head']}{targets} in pongo2_for({expr}, {flags}){loop['tail']}"
        return f"{loop['head']}{targets} in {expr}{loop['tail']}"
    return _expression(body)


def _split_args(text: str) -> list[str]:
    """Space-separated operands (string literals kept whole)."""
    args: list[str] = []
    current: list[str] = []
    for match in _TOKEN.finditer(text):
        if match.lastgroup == "ws":
            if current:
                args.append("".join(current))
                current = []
        else:
            current.append(match.group())
    if current:
        args.append("".join(current))
    return args


def _expression(body: str) -> str:
    tokens = [(m.lastgroup or "op", m.group()) for m in _TOKEN.finditer(body)]
    out: list[str] = []
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == "op" and value == "|":
            rewritten = _colon_filter(tokens, i) or _bare_filter(tokens, i)
            if rewritten is not None:
                text, i = rewritten
                out.append(text)
                continue
        if kind == "op" and value in ("&&", "||"):
            out.append(" and " if value == "&&" else " or ")
        elif kind == "op" and value == "!":
            out.append(" not ")
        elif kind == "op" and value == "<>":
            out.append("!=")
        elif kind == "name" and value.startswith("forloop."):
            attribute = value.split(".")
            if len(attribute) >= 2 and attribute[1] in _FORLOOP:
                attribute[:2] = ["loop", _FORLOOP[attribute[1]]]
            out.append(".".join(attribute))
        else:
            out.append(value)
        i += 1
    return "".join(out)


def _colon_filter(tokens: list[tuple[str, str]], i: int) -> tuple[str, int] | None:
    """``|name:arg`` starting at token ``i``: its Jinja2 form and the index after it, or None."""
    j = _skip_ws(tokens, i + 1)
    if j >= len(tokens) or tokens[j][0] != "name" or "." in tokens[j][1]:
        return None
    name = tokens[j][1]
    k = _skip_ws(tokens, j + 1)
    if k >= len(tokens) or tokens[k] != ("op", ":"):
        return None
    a = _skip_ws(tokens, k + 1)
    sign = ""
    if a < len(tokens) and tokens[a] in (("op", "-"), ("op", "+")) and a + 1 < len(tokens):
        sign, a = tokens[a][1], a + 1
    if a >= len(tokens) or tokens[a][0] not in ("str", "num", "name"):
        return None
    end = a + 1
    while tokens[a][0] == "name" and end < len(tokens):  # a variable goes on: spec.ports[0].name
        if tokens[end] == ("op", "["):
            depth, end = 1, end + 1
            while end < len(tokens) and depth:
                depth += {"[": 1, "]": -1}.get(tokens[end][1], 0) if tokens[end][0] == "op" else 0
                end += 1
        elif tokens[end] == ("op", ".") and end + 1 < len(tokens) and tokens[end + 1][0] == "name":
            end += 2
        else:
            break
    arg = sign + "".join(value for _, value in tokens[a:end])
    if name == "default":
        return f"|default({arg}, true)", end
    return f"|{_RENAMED.get(name, name)}({arg})", end


def _bare_filter(tokens: list[tuple[str, str]], i: int) -> tuple[str, int] | None:
    """``|name`` without arguments starting at token ``i``, for a filter pongo2 and Jinja2 both have: pongo2's
    under its ``_RENAMED`` name and the index after it; None if it is called with parentheses or not one."""
    j = _skip_ws(tokens, i + 1)
    if j >= len(tokens) or tokens[j][0] != "name" or tokens[j][1] not in _RENAMED:
        return None
    k = _skip_ws(tokens, j + 1)
    if k < len(tokens) and tokens[k] == ("op", "("):
        return None
    return f"|{_RENAMED[tokens[j][1]]}", j + 1


def _skip_ws(tokens: list[tuple[str, str]], i: int) -> int:
    while i < len(tokens) and tokens[i][0] == "ws":
        i += 1
    return i


# --- runtime helpers -------------------------------------------------------------------------------------


def _value(value: Any) -> Any:
    """A missing value as pongo2 sees it: nil."""
    return None if isinstance(value, jinja2.Undefined) else value


def pongo2_for(value: Any, pairs: bool, reverse: bool, sort: bool) -> Iterable[Any]:
    """What a translated ``for`` iterates: a mapping's items (``pairs``) or keys in key order, a list as it
    is; then sorted and reversed as asked."""
    value = _value(value)
    if value is None:
        return []
    if isinstance(value, Mapping):
        keys = sorted(value) if pairs or sort else list(value)
        items: list[Any] = [(k, value[k]) for k in keys] if pairs else keys
    else:
        items = list(value)
        if sort:
            items = sorted(items)
    return items[::-1] if reverse else items


class FilterError(Exception):
    """A filter refused its input or argument, in pongo2's words."""


# Go's strconv.ParseFloat grammar (ASCII, no blanks; "_" only between digits); hexadecimal needs an exponent.
_GO_FLOAT = re.compile(
    r"[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?", re.ASCII
)
_GO_HEX_FLOAT = re.compile(r"[+-]?0[xX](?:_?[0-9a-fA-F])*(?:\.[0-9a-fA-F]*)?[pP][+-]?\d+", re.ASCII)
_GO_SPECIAL = re.compile(r"[+-]?(?:inf|infinity)|nan", re.IGNORECASE)
_MIN_INT = -(1 << 63)


def _parse_float(text: str) -> float | None:
    """``strconv.ParseFloat(text, 64)``, None where Go returns an error (a number out of range included)."""
    if _GO_SPECIAL.fullmatch(text):
        return float(text)
    if _GO_HEX_FLOAT.fullmatch(text):
        number = float.fromhex(text.replace("_", ""))
    elif _GO_FLOAT.fullmatch(text):
        number = float(text.replace("_", ""))
    else:
        return None
    return None if math.isinf(number) else number


def _go_int(number: float) -> int:
    """Go's ``int(f)`` on amd64: truncated; NaN and what int64 cannot hold are its smallest value."""
    if math.isnan(number) or not -(2.0**63) <= number < 2.0**63:
        return _MIN_INT
    return int(number)


def _is_number(value: Any) -> bool:
    """pongo2's ``IsNumber``: an integer or a float (a bool or a numeric string is not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _float(value: Any) -> float:
    """pongo2's ``Value.Float()``: a number, a string Go parses as one, else 0."""
    value = _value(value)
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        return _parse_float(value) or 0.0
    return 0.0


def _integer(value: Any) -> int:
    """pongo2's ``Value.Integer()``: an int as it is, a float or a numeric string truncated, else 0."""
    value = _value(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _go_int(value)
    if isinstance(value, str):
        number = _parse_float(value)
        return _go_int(number) if number is not None else 0
    return 0


def _len(value: Any) -> int:
    """pongo2's ``Value.Len()``: characters of a string, items of a list or mapping, else 0."""
    value = _value(value)
    return len(value) if isinstance(value, str | list | tuple | dict) else 0


def text(value: Any) -> str:
    """pongo2's ``Value.String()`` of data: nothing for nil, ``True``/``False``, a float with ``%f``."""
    value = _value(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):  # Python's text of a finite float is Go's (both round exactly, ties to even)
        return f"{value:f}" if math.isfinite(value) else format_float(value, "f", 6)
    return str(value)


def _add(value: Any, other: Any) -> Any:
    value, other = _value(value), _value(other)
    if _is_number(value) and _is_number(other):
        return value + other
    return text(value) + text(other)


def _stringformat(value: Any, fmt: Any) -> str:
    """Go's ``fmt.Sprintf(fmt, value)``, as pongo2 formats."""
    return sprintf(text(fmt), [_value(value)])


def _capfirst(value: Any) -> str:
    """The first character upper-cased as Go's ``strings.ToUpper`` does it (one character stays one: ``ß``);
    nothing for a value without a length (a number)."""
    if _len(value) <= 0:
        return ""
    line = text(value)
    upper = line[:1].upper()
    return (upper if len(upper) == 1 else line[:1]) + line[1:]


def _cut(value: Any, removed: Any) -> str:
    return text(value).replace(text(removed), "")


def _default_if_none(value: Any, default: Any) -> Any:
    return default if _value(value) is None else value


def _yesno(value: Any, choices: Any = None) -> str:
    given = text(choices)
    words = ["yes", "no", "maybe"]
    if given:
        custom = given.split(",")
        if len(custom) > 3:
            raise FilterError(f"you cannot pass more than 3 options to the 'yesno'-filter (got: '{given}')")
        if len(custom) < 2:
            raise FilterError(f"you must pass either no or at least 2 arguments to the 'yesno'-filter (got: '{given}')")
        words[: len(custom)] = custom
    value = _value(value)
    if value is None:
        return words[2]
    return words[0] if value else words[1]


def _split(value: Any, separator: Any) -> list[str]:
    """Go's ``strings.Split``: an empty separator splits between characters."""
    line, sep = text(value), text(separator)
    return list(line) if sep == "" else line.split(sep)


def _sequence(value: Any) -> Any:
    """A missing value as nil, and what Jinja2's own filters and methods hand on as an iterator or view
    (``map``, ``select``, ``dict.keys()``: no data a pongo2 template sees) as the list of its items."""
    value = _value(value)
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | list | tuple | Mapping):
        return list(value)
    return value


def _join(value: Any, separator: Any = None) -> Any:
    """pongo2's ``join``: each item as pongo2 writes it (a float with ``%f``, null as nothing); a value that
    is not a list or string as it is."""
    value = _sequence(value)
    if not isinstance(value, list | tuple | str):
        return value
    return text(separator).join(text(item) for item in value)


def _length_is(value: Any, length: Any) -> bool:
    return _len(value) == _integer(length)


def _divisibleby(value: Any, divisor: Any) -> bool:
    divisor = _integer(divisor)
    return divisor != 0 and _integer(value) % divisor == 0


def _ljust(value: Any, width: Any) -> str:
    """Padded by the width less the value's length (0 for a number, so a number gets the whole width)."""
    return text(value) + " " * max(_integer(width) - _len(value), 0)


def _rjust(value: Any, width: Any) -> str:
    """Go's ``%<width>s`` (a negative width pads on the right)."""
    return sprintf(f"%{_integer(width)}s", [text(value)])


def _floatformat(value: Any, decimals: Any = None) -> Any:
    """pongo2's floatformat: one decimal by default, N decimals, and without decimals (an integer) when
    the value has none and the argument is not a positive number."""
    val = _float(value)
    given = _value(decimals)
    places = -1 if given is None else _integer(given)
    trim = not _is_number(given)
    if places <= 0:
        places, trim = -places, True
    if trim and math.isfinite(val) and val == int(val):
        return _integer(value)
    return format_float(val, "f", places)


def _pluralize(value: Any, suffixes: Any = None) -> str:
    """The plural ending for a number other than 1 (``s``, or ``"y,ies"``'s second, ``"es"``); an error for
    anything but a number, as in pongo2."""
    value = _value(value)
    if not _is_number(value):
        raise FilterError("filter 'pluralize' does only work on numbers")
    plural = _integer(value) != 1
    if _len(suffixes) <= 0:
        return "s" if plural else ""
    endings = text(suffixes).split(",")
    if len(endings) > 2:
        raise FilterError("you cannot pass more than 2 arguments to filter 'pluralize'")
    if len(endings) == 1:
        return endings[0] if plural else ""
    return endings[1] if plural else endings[0]


def _make_list(value: Any) -> list[Any]:
    value = _value(value)
    return list(value) if isinstance(value, str | list) else list(text(value))


_SLICE_FORMAT = "Slice string must have the format 'from:to' [from/to can be omitted, but the ':' is required]"


def _slice(value: Any, bounds: Any) -> Any:
    """pongo2's ``slice:"from:to"``: from and to count from the start (an empty one is 0); a to beyond the
    length or before from means the end, so ``":"`` is empty. A value that is not a list or string is
    returned as it is."""
    parts = text(bounds).split(":")
    if len(parts) != 2:
        raise FilterError(_SLICE_FORMAT)
    value = _value(value)
    if not isinstance(value, list | tuple | str):
        return value
    start, stop = _integer(parts[0]), len(value)
    start = min(start, stop)
    given = _integer(parts[1])
    if start <= given <= len(value):
        stop = given
    if start < 0:  # pongo2 (Go) panics: slice bounds out of range
        raise FilterError(f"slice:{text(bounds)!r}: slice bounds out of range [{start}:{stop}]")
    return value[start:stop]


# Go's unicode.IsSpace: ASCII blanks, then the characters with Unicode's White_Space property.
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_GO_FIELDS = re.compile(f"[^{_GO_SPACE}]+")
_TAG = re.compile(r"<[^>]*?>")


def _missing_stays_missing(function: Callable[..., Any]) -> Callable[..., Any]:
    """A text filter that hands a missing value on as it is: printing it stays an error, as choreo wants,
    and it stays false in tests (pongo2 would make it an empty string)."""

    def filtered(value: Any, *args: Any) -> Any:
        return value if isinstance(value, jinja2.Undefined) else function(value, *args)

    filtered.__name__ = function.__name__
    filtered.__doc__ = function.__doc__
    return filtered


def _go_case(line: str, convert: Callable[[str], str]) -> str:
    """Go's rune-by-rune case mapping: a character whose Python mapping is more than one character
    (``ß`` -> ``SS``) keeps itself, as Go's one-rune mapping does; ``İ`` lowers to ``i``."""
    out = []
    for char in line:
        mapped = convert(char)
        out.append(mapped if len(mapped) == 1 else "i" if char == "\u0130" and convert is str.lower else char)
    return "".join(out)


def _go_separator(char: str) -> bool:
    """Go's word separator in ``strings.Title``: not an ASCII letter, digit or ``_``, nor any letter or
    decimal digit; past ASCII, only a space separates."""
    if char <= "\x7f":
        return not (char.isalnum() or char == "_")
    if char.isalpha() or char.isdecimal():
        return False
    return char in _GO_SPACE


def _go_fields(line: str) -> list[str]:
    """Go's ``strings.Fields``: the runs between Go's spaces."""
    return _GO_FIELDS.findall(line)


@_missing_stays_missing
def _first(value: Any) -> Any:
    """The first item of a list or character of a string; an empty string for anything else."""
    value = _sequence(value)
    return value[0] if isinstance(value, list | tuple | str) and value else ""


@_missing_stays_missing
def _last(value: Any) -> Any:
    """The last item of a list or character of a string; an empty string for anything else."""
    value = _sequence(value)
    return value[-1] if isinstance(value, list | tuple | str) and value else ""


@_missing_stays_missing
def _lower(value: Any) -> str:
    return _go_case(text(value), str.lower)


@_missing_stays_missing
def _upper(value: Any) -> str:
    return _go_case(text(value), str.upper)


@_missing_stays_missing
def _title(value: Any) -> str:
    """Go's ``strings.Title`` of the lower-cased string (``it's`` -> ``It'S``, ``1st`` -> ``1st``); an empty
    string for anything but a string."""
    if not isinstance(value, str):
        return ""
    out, previous = [], " "
    for char in _go_case(value, str.lower):
        out.append(_go_case(char, str.title) if _go_separator(previous) else char)
        previous = char
    return "".join(out)


def _length(value: Any) -> int:
    """Characters of a string, items of a list or mapping (also of an iterator of Jinja2's), else 0."""
    return _len(_sequence(value))


def _wordcount(value: Any) -> int:
    """The words as Go's ``strings.Fields`` cuts them (``ge-0/0/1`` is one)."""
    return len(_go_fields(text(value)))


@_missing_stays_missing
def _center(value: Any, width: Any = None) -> Any:
    """Centred in ``width`` (the odd space on the left); the value as it is when it fills the width."""
    size, length = _integer(width), _len(value)
    if size <= length:
        return value
    spaces = size - length
    return " " * (spaces // 2 + spaces % 2) + text(value) + " " * (spaces // 2)


@_missing_stays_missing
def _escape(value: Any) -> str:
    """pongo2's HTML escape (``"`` -> ``&quot;``, where Jinja2 writes ``&#34;``)."""
    line = text(value).replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
    return line.replace('"', "&quot;").replace("'", "&#39;")


def _safe(value: Any) -> Any:
    """The value as it is (choreo does not escape; Jinja2's would make it a string: ``None``, ``1.5``)."""
    return value


@_missing_stays_missing
def _striptags(value: Any) -> str:
    """Every ``<...>`` removed and the ends trimmed (Jinja2 also joins blanks and decodes entities)."""
    return _TAG.sub("", text(value)).strip(_GO_SPACE)


@_missing_stays_missing
def _urlencode(value: Any) -> str:
    """Go's ``url.QueryEscape``, as the Go templates' ``urlquery``."""
    return query_escape(text(value))


@_missing_stays_missing
def _wordwrap(value: Any, words: Any = None) -> Any:
    """pongo2's wordwrap: ``words`` words a line (not characters, as Jinja2's); the value as it is for a
    count that is not positive."""
    count, fields = _integer(words), _go_fields(text(value))
    if count <= 0:
        return value
    return "\n".join(" ".join(fields[i : i + count]) for i in range(0, len(fields), count))


@_missing_stays_missing
def _truncatechars(value: Any, length: Any) -> str:
    """At most ``length`` characters, the last three of them ``...`` when it is cut."""
    line, size = text(value), _integer(length)
    if size >= len(line):
        return line
    if size < 0:  # pongo2 (Go) panics: slice bounds out of range
        raise FilterError(f"truncatechars:{size}: slice bounds out of range [:{size}]")
    return line[: size - 3] + "..." if size >= 3 else line[:size]


@_missing_stays_missing
def _truncatewords(value: Any, length: Any) -> str:
    """The first ``length`` words (as Go's ``strings.Fields`` cuts them), then `` ...`` when there were more."""
    fields, size = _go_fields(text(value)), _integer(length)
    if size <= 0:
        return ""
    return " ".join(fields[:size] + (["..."] if size < len(fields) else []))


def _random(value: Any) -> Any:
    """An item of ``value`` (a character of a string), picked by a digest of the items rather than at random,
    so that a rendering is the same on every run and in every process; ``value`` itself when it has no items
    (as pongo2 returns it)."""
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        return value
    items = list(value)
    if not items:
        return value
    text = json.dumps(items, default=str, ensure_ascii=False)  # keys as they come: they may not be comparable
    return items[int(hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(), 16) % len(items)]


FILTERS: dict[str, Callable[..., Any]] = {
    "random": _random,
    "add": _add, "capfirst": _capfirst, "cut": _cut, "default_if_none": _default_if_none,
    "divisibleby": _divisibleby, "floatformat": _floatformat, "integer": _integer, "length_is": _length_is,
    "ljust": _ljust, "make_list": _make_list, "pluralize": _pluralize, "rjust": _rjust, "split": _split,
    "stringformat": _stringformat, "truncatechars": _truncatechars, "truncatewords": _truncatewords,
    "yesno": _yesno,
    **{
        _RENAMED[name]: function
        for name, function in (
            ("center", _center), ("e", _escape), ("escape", _escape), ("first", _first), ("float", _float),
            ("join", _join), ("last", _last), ("length", _length), ("lower", _lower), ("safe", _safe),
            ("slice", _slice), ("striptags", _striptags), ("title", _title), ("upper", _upper),
            ("urlencode", _urlencode), ("wordcount", _wordcount), ("wordwrap", _wordwrap),
        )
    },
}
GLOBALS: dict[str, Callable[..., Any]] = {"pongo2_for": pongo2_for}
