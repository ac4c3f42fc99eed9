"""pongo2 (Django-syntax) forms in Jinja2 templates: the translation and the filters it needs (spec §4.3).

The reference renders "Jinja2" reconcilers with pongo2, so a template written for it uses pongo2's
syntax wherever it differs from Jinja2's. ``translate`` rewrites those forms inside ``{{ }}`` and
``{% %}`` tags (never inside string literals, comments or ``{% raw %}``), keeping every line where it
was so that messages name the line of the original text:

* ``{% macro m(a) export %}`` -> ``{% macro m(a) %}`` (Jinja2 exports every macro);
* ``{% import 'f.jinja2' m1, m2 as x %}`` -> ``{% from 'f.jinja2' import m1, m2 as x %}``;
* filter arguments after a colon, ``x|default:"none"`` -> ``x|default("none", true)`` (pongo2's
  ``default`` replaces every false value, Jinja2's only an undefined one, unless told so) and
  ``x|join:","`` -> ``x|join(",")``; pongo2's ``slice:"1:3"`` takes Python's slice syntax;
* ``&&``, ``||``, ``!`` and ``<>`` -> ``and``, ``or``, ``not`` and ``!=``;
* ``forloop.Counter``, ``Counter0``, ``Revcounter``, ``Revcounter0``, ``First``, ``Last`` -> ``loop.index``,
  ``index0``, ``revindex``, ``revindex0``, ``first``, ``last``;
* ``{% for k, v in mapping %}`` iterates the mapping's items (keys in order; pongo2's order is Go's
  random map order), ``{% for x in y reversed sorted %}`` reverses and sorts; ``{% empty %}`` ->
  ``{% else %}``;
* ``{% ifequal a b %}``/``{% ifnotequal a b %}`` -> ``{% if a == b %}``/``{% if a != b %}``;
* ``{% comment %}...{% endcomment %}`` -> ``{# ... #}``.

``FILTERS`` are pongo2's filters that Jinja2 lacks (``stringformat`` formats with Go's ``fmt``, as pongo2
does); ``GLOBALS`` the helper the ``for`` translation calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jinja2

from choreo.lang.gotemplate.gofmt import sprintf

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
# pongo2 filters whose Jinja2 namesake differs, under the name the translation gives them.
_RENAMED = {"slice": "pongo2_slice"}
_FOR = re.compile(
    r"^(?P<head>\s*for\s+)(?P<targets>[A-Za-z_][\w]*(?:\s*,\s*[A-Za-z_][\w]*)*)\s+in\s+(?P<expr>.*?)"
    r"(?P<mods>(?:\s+(?:reversed|sorted))*)(?P<tail>\s*)$",
    re.S,
)
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
            rewritten = _colon_filter(tokens, i)
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


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        for kind in (int, float):
            try:
                return kind(value)  # type: ignore[operator]
            except ValueError:
                pass
    return None


def _integer(value: Any) -> int:
    number = _number(_value(value))
    return int(number) if number is not None else 0


def _text(value: Any) -> str:
    value = _value(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return f"{value:f}"
    return str(value)


def _add(value: Any, other: Any) -> Any:
    value, other = _value(value), _value(other)
    if isinstance(value, int | float) and isinstance(other, int | float) and not isinstance(value, bool):
        return value + other
    return _text(value) + _text(other)


def _stringformat(value: Any, fmt: Any) -> str:
    """Go's ``fmt.Sprintf(fmt, value)``, as pongo2 formats."""
    return sprintf(str(fmt), [_value(value)])


def _capfirst(value: Any) -> str:
    text = _text(value)
    return text[:1].upper() + text[1:]


def _cut(value: Any, text: Any) -> str:
    return _text(value).replace(_text(text), "")


def _default_if_none(value: Any, default: Any) -> Any:
    return default if _value(value) is None else value


def _yesno(value: Any, choices: Any = "yes,no,maybe") -> str:
    words = [*str(choices).split(","), "maybe"]
    value = _value(value)
    if value is None:
        return words[2]
    return words[0] if value else words[1]


def _split(value: Any, separator: Any) -> list[str]:
    return _text(value).split(_text(separator))


def _length_is(value: Any, length: Any) -> bool:
    value = _value(value)
    return len(value if value is not None else "") == _integer(length)


def _divisibleby(value: Any, divisor: Any) -> bool:
    divisor = _integer(divisor)
    return divisor != 0 and _integer(value) % divisor == 0


def _ljust(value: Any, width: Any) -> str:
    return _text(value).ljust(_integer(width))


def _rjust(value: Any, width: Any) -> str:
    return _text(value).rjust(_integer(width))


def _floatformat(value: Any, decimals: Any = None) -> Any:
    """Django's floatformat: one decimal by default, N decimals, -N only when the value has decimals."""
    number = _number(_value(value))
    val = float(number) if number is not None else 0.0
    places = -1 if decimals is None else _integer(decimals)
    given = _value(decimals)
    trim = places <= 0 or isinstance(given, bool) or not isinstance(given, int | float)
    places = abs(places)
    if trim and val == int(val):
        return int(val)
    return f"{val:.{places}f}"


def _pluralize(value: Any, suffixes: Any = "s") -> str:
    parts = str(suffixes).split(",")
    singular, plural = (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])
    value = _value(value)
    count = len(value) if isinstance(value, list | dict | str) else _integer(value)
    return singular if count == 1 else plural


def _make_list(value: Any) -> list[Any]:
    value = _value(value)
    return list(value) if isinstance(value, str | list) else list(_text(value))


def _slice(value: Any, bounds: Any) -> Any:
    """pongo2's ``slice:"from:to"`` (Python's slice bounds, either may be left out or negative)."""
    value = _value(value)
    if value is None:
        return []
    text = str(bounds)
    lower, _, upper = text.partition(":")
    start = int(lower) if lower.strip() else None
    stop = int(upper) if upper.strip() else None
    return value[start:stop]


FILTERS: dict[str, Callable[..., Any]] = {
    "add": _add, "capfirst": _capfirst, "cut": _cut, "default_if_none": _default_if_none,
    "divisibleby": _divisibleby, "floatformat": _floatformat, "integer": _integer, "length_is": _length_is,
    "ljust": _ljust, "make_list": _make_list, "pluralize": _pluralize, "rjust": _rjust, "split": _split,
    "stringformat": _stringformat, "yesno": _yesno, "pongo2_slice": _slice,
}
GLOBALS: dict[str, Callable[..., Any]] = {"pongo2_for": pongo2_for}
