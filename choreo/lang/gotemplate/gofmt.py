"""Go's ``fmt`` printing (``Sprint``, ``Sprintln``, ``Sprintf``) for the values templates see.

Templates print through ``fmt``, so float64 data prints the Go way (``1e+06``, ``1.5``), maps print
``map[k:v]`` with sorted keys, lists ``[a b]``, nil ``<nil>``, and a verb that does not fit its
argument prints Go's error form (``%!d(float64=0)``), as do missing and extra arguments.
Supported verbs: ``v s d q x X o b c t f F e E g G T %`` with flags ``+ - # 0 space``, width and
precision (also ``*``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from choreo.lang.gotemplate.values import MISSING, type_name

_SPEC = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d*))?(.?)", re.S)


def sprint(args: list[Any]) -> str:
    """``fmt.Sprint``: a space between operands when neither is a string."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(format_value(arg, "v"))
    return "".join(out)


def sprintln(args: list[Any]) -> str:
    return " ".join(format_value(a, "v") for a in args) + "\n"


def sprintf(fmt: str, args: list[Any]) -> str:
    out: list[str] = []
    pos = 0
    argi = 0
    while True:
        percent = fmt.find("%", pos)
        if percent < 0:
            out.append(fmt[pos:])
            break
        out.append(fmt[pos:percent])
        spec = _SPEC.match(fmt, percent)
        assert spec is not None
        pos = spec.end()
        flags, width, prec, verb = spec.groups()
        if verb == "%":
            out.append("%")
            continue
        if not verb:
            out.append("%!(NOVERB)")
            continue
        width, argi = _star(width, args, argi)
        prec, argi = _star(prec, args, argi)
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        out.append(format_value(args[argi], verb, flags, width, prec))
        argi += 1
    if argi < len(args):
        extra = ", ".join(f"{type_name(a)}={format_value(a, 'v')}" for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _star(value: str | None, args: list[Any], argi: int) -> tuple[int | None, int]:
    if value == "*":
        if argi < len(args) and isinstance(args[argi], int) and not isinstance(args[argi], bool):
            return args[argi], argi + 1
        return None, argi + 1
    if value is None:
        return None, argi
    return int(value) if value else 0, argi


def format_value(
    value: Any, verb: str, flags: str = "", width: int | None = None, prec: int | None = None
) -> str:
    """One operand formatted with one verb, padded to ``width``."""
    if verb == "T":
        return _pad(type_name(value), flags, width)
    if value is None or value is MISSING:
        return _pad("<nil>", flags, width) if verb == "v" else f"%!{verb}(<nil>)"
    if isinstance(value, list):
        inner = " ".join(_element(v, verb, flags, prec) for v in value)
        return f"[{inner}]"
    if isinstance(value, dict):
        items = " ".join(
            f"{_element(k, verb, flags, prec)}:{_element(value[k], verb, flags, prec)}" for k in sorted(value)
        )
        return f"map[{items}]"
    text = _scalar(value, verb, flags, prec)
    if text is None:
        return f"%!{verb}({type_name(value)}={format_value(value, 'v')})"
    return _pad(text, flags, width, numeric=isinstance(value, int | float) and not isinstance(value, bool))


def _element(value: Any, verb: str, flags: str, prec: int | None) -> str:
    """An element of a list or map: a nil interface prints ``<nil>`` whatever the verb."""
    return "<nil>" if value is None else format_value(value, verb, flags, None, prec)


def _scalar(value: Any, verb: str, flags: str, prec: int | None) -> str | None:
    if isinstance(value, bool):
        return ("true" if value else "false") if verb in "vt" else None
    if isinstance(value, int):
        return _int(value, verb, flags, prec)
    if isinstance(value, float):
        return _float(value, verb, flags, prec)
    if isinstance(value, str):
        return _string(value, verb, prec)
    return None


def _int(value: int, verb: str, flags: str, prec: int | None) -> str | None:
    bases = {"d": "d", "v": "d", "x": "x", "X": "X", "o": "o", "b": "b"}
    if verb == "c":
        return chr(value)
    if verb == "U":
        return f"U+{value:04X}"
    if verb == "q":
        return _quote(chr(value), "'")
    if verb not in bases:
        return None
    digits = format(abs(value), bases[verb])
    if prec is not None:
        digits = digits.zfill(prec)
    if "#" in flags and verb in "xX":
        digits = ("0x" if verb == "x" else "0X") + digits
    elif "#" in flags and verb == "o":
        digits = "0" + digits
    return _sign(value < 0, flags) + digits


def _float(value: float, verb: str, flags: str, prec: int | None) -> str | None:
    if verb in "vgG":
        text = _shortest_g(value, verb) if prec is None else _precise_g(value, prec, verb)
    elif verb in "fF":
        text = f"{abs(value):.{6 if prec is None else prec}f}"
    elif verb in "eE":
        text = f"{abs(value):.{6 if prec is None else prec}{verb}}"
    else:
        return None
    if text in ("inf", "INF"):
        return ("-" if value < 0 else "+") + "Inf"
    if text.lower() == "nan":
        return "NaN"
    return _sign(value < 0 or (value == 0 and str(value).startswith("-")), flags) + text


def _shortest_g(value: float, verb: str) -> str:
    """strconv's shortest ``%g`` (also ``%v``): exponent form when the decimal exponent is < -4 or >= 6."""
    value = abs(value)
    if value == 0:
        return "0"
    if value != value or value == float("inf"):
        return "nan" if value != value else "inf"
    _, digits_t, exponent = Decimal(repr(value)).as_tuple()
    digits = "".join(map(str, digits_t)).rstrip("0") or "0"
    point = len(digits_t) + int(exponent)  # decimal point position relative to the digits
    exp = point - 1
    if exp < -4 or exp >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        e = "e" if verb != "G" else "E"
        return f"{mantissa}{e}{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return "0." + "0" * -point + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def _precise_g(value: float, prec: int, verb: str) -> str:
    return f"{abs(value):.{max(prec, 1)}{'G' if verb == 'G' else 'g'}}"


def _string(value: str, verb: str, prec: int | None) -> str | None:
    if verb in "vs":
        return value if prec is None else value[:prec]
    if verb == "q":
        return _quote(value, '"')
    if verb in "xX":
        hexed = value.encode().hex()
        return hexed.upper() if verb == "X" else hexed
    return None


def _quote(text: str, quote: str) -> str:
    """strconv.Quote: Go escapes, printable Unicode kept."""
    escapes = {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t", "\v": r"\v", "\\": "\\\\"}
    out = [quote]
    for ch in text:
        if ch == quote:
            out.append("\\" + ch)
        elif ch in escapes:
            out.append(escapes[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append(quote)
    return "".join(out)


def _sign(negative: bool, flags: str) -> str:
    if negative:
        return "-"
    return "+" if "+" in flags else (" " if " " in flags else "")


def _pad(text: str, flags: str, width: int | None, numeric: bool = False) -> str:
    if width is None or len(text) >= width:
        return text
    if "-" in flags:
        return text.ljust(width)
    if "0" in flags and numeric:
        sign = text[0] if text[:1] in "+- " and text[:1] else ""
        return sign + text[len(sign) :].rjust(width - len(sign), "0")
    return text.rjust(width)
