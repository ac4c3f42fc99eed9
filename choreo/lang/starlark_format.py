"""Starlark values written as go.starlark.net writes them: ``str``, ``repr``, ``%`` and ``str.format``.

A project's output must not depend on which interpreter ran it, and the reference's differs from
starlark-rust's in the text of floats (go.starlark.net: Go's shortest ``%g``, ``1.2345675e+06``; here 7
significant digits, ``1.234568e+06``), in the conversions ``%`` knows (``%c``, ``%i``, ``%(key)s``), in
what it refuses (``%d`` of a bool) and in the wording of its errors. ``PRELUDE`` is Starlark evaluated
into every module before the user's code: it redefines ``str`` and ``repr`` and defines the functions the
source rewrite (``choreo.lang.starlark_rewrite``) hands ``%`` and ``.format(...)`` to. They follow
go.starlark.net's ``interpolate`` and ``string.format``; the float digits come from the port of Go's
``strconv`` that Go templates use (``choreo.lang.gotemplate.gofmt``), through ``BUILTINS``.

The prelude's own code is not rewritten: ``%`` in it is the interpreter's, used for integers (whose text
is Go's) and for its own messages.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from choreo.lang.builtins import BuiltinError
from choreo.lang.gotemplate.gofmt import format_float, quote


def float_format(value: float | int, conv: str) -> str:
    """go.starlark.net's ``Float.format``: ``nan``/``+inf``/``-inf``; for ``g``/``G`` the shortest text
    with ``.0`` added when it has neither a point nor an exponent; else ``strconv.FormatFloat`` with
    precision 6 (which writes ``%F`` for ``F``). An int is converted as Go's ``Int.Float`` does."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf if value > 0 else -math.inf
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "+inf" if number > 0 else "-inf"
    if conv in "gG":
        text = format_float(number, conv, -1)
        exponent = "e" if conv == "g" else "E"
        return text if exponent in text or "." in text else text + ".0"
    return format_float(number, conv, 6)


def float_text(value: float) -> str:
    """A float as go.starlark.net's ``str`` writes it."""
    return float_format(value, "g")


def format_error(message: str) -> None:
    """Fails the Starlark call with ``message`` as it is (go.starlark.net's wording)."""
    raise BuiltinError(message)


# Python functions the prelude calls, by name.
BUILTINS: dict[str, Callable[..., Any]] = {
    "_choreo_float_text": float_text,
    "_choreo_float_format": float_format,
    "_choreo_format_error": format_error,
    "_choreo_quote": quote,
}

# Needs ``_choreo_str``, ``_choreo_repr`` (the interpreter's) and ``_choreo_range`` defined first.
PRELUDE = r'''
# str() and repr() as go.starlark.net writes values: a float as the shortest text that reads back as the
# same number (the interpreter's own keeps 7 significant digits in exponent form: 1234567.5 ->
# 1.234568e+06), a string quoted as Go's strconv.Quote does (the interpreter escapes every character past
# ASCII: "\xe9" for "é", and writes \x07 for \a). The interpreter's text is kept unless it shows one of
# those (a float in exponent form, an escape), then the value is written again, item by item.
_CHOREO_CONTAINERS = ("list", "tuple", "dict", "string")
_CHOREO_REDO_MARKS = ("e+", "e-", "0.0000", "infe", "\\x", "\\u", "\\U")
_CHOREO_INF = float("inf")

def _choreo_float(x):
    text = _choreo_str(x)
    if text in ("nan", "+inf", "-inf"):  # (NaN would reach Python as None)
        return text
    return _choreo_float_text(x)

def _choreo_redo(text):
    return len([m for m in _CHOREO_REDO_MARKS if m in text]) > 0

def _choreo_deep_repr(x):
    kind = type(x)
    if kind == "float":
        return _choreo_float(x)
    if kind == "string":
        return _choreo_quote(x)
    if kind == "list":
        return "[" + ", ".join([_choreo_deep_repr(v) for v in x]) + "]"
    if kind == "tuple":
        return "(" + ", ".join([_choreo_deep_repr(v) for v in x]) + ("," if len(x) == 1 else "") + ")"
    if kind == "dict":
        return "{" + ", ".join([_choreo_deep_repr(k) + ": " + _choreo_deep_repr(v) for k, v in x.items()]) + "}"
    return _choreo_repr(x)

def _choreo_shown(x, plain):
    kind = type(x)
    if kind == "float":
        return _choreo_float(x)
    text = plain(x)
    if kind in _CHOREO_CONTAINERS and _choreo_redo(text):
        return _choreo_deep_repr(x)
    return text

def str(x):
    if type(x) == "string":
        return x
    return _choreo_shown(x, _choreo_str)

def repr(x):
    return _choreo_shown(x, _choreo_repr)

# x % y and x.format(...) of the user's code (see choreo.lang.starlark_rewrite): go.starlark.net's
# interpolate and string.format for a string, the interpreter's operator and method for anything else.

def _choreo_percent(x, y):
    if type(x) != "string":
        return x % y
    return _choreo_interpolate(x, y)

def _choreo_interpolate(format, x):
    out = []
    nargs = len(x) if type(x) == "tuple" else 1
    index = 0
    for _ in _choreo_range(len(format) + 1):
        i = format.find("%")
        if i < 0:
            break
        out.append(format[:i])
        format = format[i + 1:]
        if format.startswith("%"):
            out.append("%")
            format = format[1:]
            continue
        if format.startswith("("):
            j = format.find(")")
            if j < 0:
                _choreo_format_error("incomplete format key")
            key = format[1:j]
            if type(x) != "dict":
                _choreo_format_error("format requires a mapping")
            if key not in x:
                _choreo_format_error("key not found: " + key)
            arg = x[key]
            format = format[j + 1:]
        elif index >= nargs:
            _choreo_format_error("not enough arguments for format string")
        else:
            arg = x[index] if type(x) == "tuple" else x
        if not format:
            _choreo_format_error("incomplete format")
        out.append(_choreo_conversion(format[0], arg))
        format = format[1:]
        index += 1
    if index < nargs:
        _choreo_format_error("too many arguments for format string")
    out.append(format)
    return "".join(out)

_CHOREO_INTEGER_VERBS = {"d": "%d", "i": "%d", "o": "%o", "x": "%x", "X": "%X"}
_CHOREO_FLOAT_VERBS = ("e", "f", "g", "E", "F", "G")

def _choreo_conversion(c, arg):
    kind = type(arg)
    if c == "s" or c == "r":
        if c == "s" and kind == "string":
            return arg
        return _choreo_shown(arg, _choreo_repr)
    if c in _CHOREO_INTEGER_VERBS:
        return _CHOREO_INTEGER_VERBS[c] % _choreo_integer(c, arg, kind)
    if c in _CHOREO_FLOAT_VERBS:
        if kind != "float" and kind != "int":
            _choreo_format_error("%%%s format requires float, not %s" % (c, kind))
        if kind == "float" and _choreo_str(arg) in ("nan", "+inf", "-inf"):
            return _choreo_str(arg)
        return _choreo_float_format(arg, c)
    if c == "c":
        return _choreo_character(arg, kind)
    _choreo_format_error("unknown conversion %" + _choreo_first_byte(c))

def _choreo_integer(c, arg, kind):
    if kind == "int":
        return arg
    if kind != "float":
        _choreo_format_error("%%%s format requires integer: cannot convert %s to int" % (c, kind))
    if arg == _CHOREO_INF or arg == -_CHOREO_INF:
        _choreo_format_error("%%%s format requires integer: cannot convert float infinity to integer" % c)
    if _choreo_str(arg) == "nan":
        _choreo_format_error("%%%s format requires integer: cannot convert float NaN to integer" % c)
    return int(arg)

def _choreo_character(arg, kind):
    if kind == "int":
        if arg < 0 or arg > 1114111:
            _choreo_format_error("%%c format requires a valid Unicode code point, got %d" % arg)
        if arg >= 55296 and arg <= 57343:  # a surrogate: Go writes the replacement character
            return chr(65533)
        return chr(arg)
    if kind == "string":
        if len(arg) != 1:
            _choreo_format_error("%c format requires a single-character string")
        return arg
    _choreo_format_error("%%c format requires int or single-character string, not %s" % kind)

def _choreo_first_byte(c):
    # Go reads the conversion as a byte: the first byte of a character's UTF-8 form, shown as a rune.
    o = ord(c)
    if o < 128:
        return c
    if o < 2048:
        return chr(192 + o // 64)
    if o < 65536:
        return chr(224 + o // 4096)
    return chr(240 + o // 262144)

_CHOREO_SWITCH = "format: cannot switch from %s to %s"

def _choreo_format(_choreo_self, *args, **kwargs):
    if type(_choreo_self) != "string":
        return _choreo_self.format(*args, **kwargs)
    out = []
    auto = False
    manual = False
    index = 0
    format = _choreo_self
    for _ in _choreo_range(len(_choreo_self) + 1):
        i = format.find("{")
        literal = format if i < 0 else format[:i]
        for _ in _choreo_range(len(literal) + 1):  # "}}" is "}"; a "}" alone is an error
            j = literal.find("}")
            if j < 0:
                out.append(literal)
                break
            if j + 1 == len(literal) or literal[j + 1] != "}":
                _choreo_format_error("format: single '}' in format")
            out.append(literal[:j + 1])
            literal = literal[j + 2:]
        if i < 0:
            break
        if format[i + 1:i + 2] == "{":
            out.append("{")
            format = format[i + 2:]
            continue
        format = format[i + 1:]
        i = format.find("}")
        if i < 0:
            _choreo_format_error("format: unmatched '{' in format")
        field = format[:i]
        format = format[i + 1:]
        conv = "s"
        bang = field.find("!")
        if bang >= 0:
            conv = field[bang + 1:]
            field = field[:bang]
            name = field
            colon = conv.find(":")
            spec = "" if colon < 0 else conv[colon + 1:]
            conv = conv if colon < 0 else conv[:colon]
        else:
            colon = field.find(":")
            name = field if colon < 0 else field[:colon]
            spec = "" if colon < 0 else field[colon + 1:]
        if name == "":
            if manual:
                _choreo_format_error(_CHOREO_SWITCH % ("manual field specification", "automatic field numbering"))
            auto = True
            if index >= len(args):
                _choreo_format_error("format: tuple index out of range")
            arg = args[index]
            index += 1
        elif _choreo_decimal(name):
            if auto:
                _choreo_format_error(_CHOREO_SWITCH % ("automatic field numbering", "manual field specification"))
            manual = True
            if int(name) >= len(args):
                _choreo_format_error("format: tuple index out of range")
            arg = args[int(name)]
        elif name in kwargs:
            arg = kwargs[name]
        elif "." in name:
            _choreo_format_error("format: attribute syntax x.y is not supported in replacement fields: " + name)
        elif "[" in name:
            _choreo_format_error("format: element syntax a[i] is not supported in replacement fields: " + name)
        elif "{" in name:
            _choreo_format_error("format: nested replacement fields not supported")
        else:
            _choreo_format_error("format: keyword %s not found" % name)
        if spec != "":
            _choreo_format_error("format spec features not supported in replacement fields: " + spec)
        if conv == "s":
            out.append(arg if type(arg) == "string" else _choreo_shown(arg, _choreo_repr))
        elif conv == "r":
            out.append(_choreo_shown(arg, _choreo_repr))
        else:
            _choreo_format_error("format: unknown conversion " + _choreo_quote(conv))
    return "".join(out)

def _choreo_decimal(name):
    # Go's decimal(): ASCII digits whose value fits an int (a longer number is a keyword's name).
    return name.lstrip("0123456789") == "" and int(name) < 9223372036854775808
'''
