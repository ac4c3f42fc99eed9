"""Go's ``fmt`` printing (``Sprint``, ``Sprintln``, ``Sprintf``) for the values templates see.

A port of Go's ``fmt/print.go`` and ``fmt/format.go`` (with ``strconv``'s float and quote formatting)
for the values a template handles: ``nil``, ``bool``, ``int``, ``float64``, ``string``,
``[]interface {}`` and ``map[string]interface {}``. So float64 data prints the Go way (``1e+06``,
``1.5``), maps print ``map[k:v]`` with sorted keys, lists ``[a b]``, nil ``<nil>``; a verb that does not
fit its argument prints Go's error form (``%!d(float64=0)``), as do missing, extra and bad arguments.
Every verb, flag (``+ - # 0 space``), width, precision (also ``*``) and argument index (``%[2]d``) is
handled as Go handles it, except ``%p``: Go prints a memory address, here the argument's bad-verb form.
"""

from __future__ import annotations

import math
import struct
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from choreo.lang.gotemplate.values import MISSING, type_name

_MAX_RUNE = 0x10FFFF
_RUNE_ERROR = "\ufffd"
_LDIGITS = "0123456789abcdefx"
_UDIGITS = "0123456789ABCDEFX"
_U64 = (1 << 64) - 1
_FLOAT_FORMATS = frozenset("beEfgGxX")


def sprint(args: list[Any]) -> str:
    """``fmt.Sprint``: a space between operands when neither is a string."""
    p = _Printer()
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            p.buf.append(" ")
        p.print_arg(arg, "v")
    return "".join(p.buf)


def sprintln(args: list[Any]) -> str:
    p = _Printer()
    for i, arg in enumerate(args):
        if i:
            p.buf.append(" ")
        p.print_arg(arg, "v")
    p.buf.append("\n")
    return "".join(p.buf)


def sprintf(fmt: str, args: list[Any]) -> str:
    p = _Printer()
    p.do_printf(fmt, args)
    return "".join(p.buf)


def format_value(value: Any, verb: str) -> str:
    """One operand formatted with one verb and no flags (``fmt.Sprintf("%<verb>", value)``)."""
    p = _Printer()
    p.print_arg(None if value is MISSING else value, verb)
    return "".join(p.buf)


@dataclass
class _Flags:
    wid: int = 0
    prec: int = 0
    wid_present: bool = False
    prec_present: bool = False
    minus: bool = False
    plus: bool = False
    sharp: bool = False
    space: bool = False
    zero: bool = False
    plus_v: bool = False
    sharp_v: bool = False


class _Printer:
    """Go's ``pp`` and ``fmt`` in one: ``buf`` collects the output, ``f`` holds the current flags."""

    def __init__(self) -> None:
        self.buf: list[str] = []
        self.f = _Flags()
        self.arg: Any = None
        self.reordered = False
        self.good_arg_num = True

    # --- Printf --------------------------------------------------------------------------------------

    def do_printf(self, fmt: str, a: list[Any]) -> None:
        end = len(fmt)
        arg_num = 0
        after_index = False
        self.reordered = False
        i = 0
        while i < end:
            self.good_arg_num = True
            last = i
            while i < end and fmt[i] != "%":
                i += 1
            if i > last:
                self.buf.append(fmt[last:i])
            if i >= end:
                break
            i += 1
            self.f = f = _Flags()
            while i < end:
                c = fmt[i]
                if c == "#":
                    f.sharp = True
                elif c == "0":
                    f.zero = not f.minus
                elif c == "+":
                    f.plus = True
                elif c == "-":
                    f.minus = True
                    f.zero = False
                elif c == " ":
                    f.space = True
                else:
                    break
                i += 1
            arg_num, i, after_index = self._arg_number(arg_num, fmt, i, len(a))
            if i < end and fmt[i] == "*":
                i += 1
                f.wid, f.wid_present, arg_num = _int_from_arg(a, arg_num)
                if not f.wid_present:
                    self.buf.append("%!(BADWIDTH)")
                if f.wid < 0:
                    f.wid = -f.wid
                    f.minus = True
                    f.zero = False
                after_index = False
            else:
                f.wid, f.wid_present, i = _parse_num(fmt, i, end)
                if after_index and f.wid_present:
                    self.good_arg_num = False
            if i + 1 < end and fmt[i] == ".":
                i += 1
                if after_index:
                    self.good_arg_num = False
                arg_num, i, after_index = self._arg_number(arg_num, fmt, i, len(a))
                if i < end and fmt[i] == "*":
                    i += 1
                    f.prec, f.prec_present, arg_num = _int_from_arg(a, arg_num)
                    if f.prec < 0:
                        f.prec = 0
                        f.prec_present = False
                    if not f.prec_present:
                        self.buf.append("%!(BADPREC)")
                    after_index = False
                else:
                    f.prec, f.prec_present, i = _parse_num(fmt, i, end)
                    if not f.prec_present:
                        f.prec, f.prec_present = 0, True
            if not after_index:
                arg_num, i, after_index = self._arg_number(arg_num, fmt, i, len(a))
            if i >= end:
                self.buf.append("%!(NOVERB)")
                break
            verb = fmt[i]
            i += 1
            if verb == "%":
                self.buf.append("%")
            elif not self.good_arg_num:
                self._bad_arg_num(verb)
            elif arg_num >= len(a):
                self.buf.append(f"%!{verb}(MISSING)")
            else:
                if verb == "v":
                    f.sharp_v, f.sharp = f.sharp, False
                    f.plus_v, f.plus = f.plus, False
                self.print_arg(a[arg_num], verb)
                arg_num += 1
        if not self.reordered and arg_num < len(a):
            self.f = _Flags()
            self.buf.append("%!(EXTRA ")
            for n, arg in enumerate(a[arg_num:]):
                if n:
                    self.buf.append(", ")
                if arg is None:
                    self.buf.append("<nil>")
                else:
                    self.buf.append(type_name(arg) + "=")
                    self.print_arg(arg, "v")
            self.buf.append(")")

    def _arg_number(self, arg_num: int, fmt: str, i: int, num_args: int) -> tuple[int, int, bool]:
        if len(fmt) <= i or fmt[i] != "[":
            return arg_num, i, False
        self.reordered = True
        index, wid, ok = _parse_arg_number(fmt[i:])
        if ok and 0 <= index < num_args:
            return index, i + wid, True
        self.good_arg_num = False
        return arg_num, i + wid, ok

    def _bad_arg_num(self, verb: str) -> None:
        self.buf.append(f"%!{verb}(BADINDEX)")

    # --- arguments -----------------------------------------------------------------------------------

    def print_arg(self, arg: Any, verb: str) -> None:
        self.arg = arg
        if arg is None or arg is MISSING:
            self.arg = None
            if verb in "Tv":
                self._pad_string("<nil>")
            else:
                self._bad_verb(verb, None)
            return
        if verb == "T":
            self._fmt_s(type_name(arg))
            return
        if verb in "pw":  # %w wraps errors (Errorf only); %p prints an address
            self._bad_verb(verb, arg)
            return
        self._print_value(arg, verb, 0)

    def _print_value(self, value: Any, verb: str, depth: int) -> None:
        if isinstance(value, bool):
            self._fmt_bool(value, verb)
        elif isinstance(value, int):
            self._fmt_integer(value, verb)
        elif isinstance(value, float):
            self._fmt_float_verb(value, verb)
        elif isinstance(value, str):
            self._fmt_string(value, verb)
        elif isinstance(value, dict):
            self._print_map(value, verb, depth)
        elif isinstance(value, list | tuple):
            self._print_list(list(value), verb, depth)
        else:
            self._fmt_string(str(value), verb)

    def _print_element(self, value: Any, verb: str, depth: int) -> None:
        """An element of a list or map: an ``interface {}``, ``<nil>`` when nil whatever the verb."""
        if value is None or value is MISSING:
            self.buf.append("interface {}(nil)" if self.f.sharp_v else "<nil>")
        else:
            self._print_value(value, verb, depth + 1)

    def _print_map(self, value: dict[str, Any], verb: str, depth: int) -> None:
        sharp_v = self.f.sharp_v
        self.buf.append("map[string]interface {}{" if sharp_v else "map[")
        for n, key in enumerate(sorted(value)):
            if n:
                self.buf.append(", " if sharp_v else " ")
            self._print_value(key, verb, depth + 1)
            self.buf.append(":")
            self._print_element(value[key], verb, depth)
        self.buf.append("}" if sharp_v else "]")

    def _print_list(self, value: list[Any], verb: str, depth: int) -> None:
        sharp_v = self.f.sharp_v
        self.buf.append("[]interface {}{" if sharp_v else "[")
        for n, item in enumerate(value):
            if n:
                self.buf.append(", " if sharp_v else " ")
            self._print_element(item, verb, depth)
        self.buf.append("}" if sharp_v else "]")

    def _bad_verb(self, verb: str, value: Any) -> None:
        self.buf.append(f"%!{verb}(")
        if value is None:
            self.buf.append("<nil>")
        else:
            self.buf.append(type_name(value) + "=")
            self._print_value(value, "v", 0)
        self.buf.append(")")

    # --- by type -------------------------------------------------------------------------------------

    def _fmt_bool(self, value: bool, verb: str) -> None:
        if verb in "tv":
            self._pad_string("true" if value else "false")
        else:
            self._bad_verb(verb, value)

    def _fmt_integer(self, value: int, verb: str) -> None:
        bases = {"v": 10, "d": 10, "b": 2, "o": 8, "O": 8, "x": 16, "X": 16}
        if verb in bases:
            self._integer(value, bases[verb], verb, _UDIGITS if verb == "X" else _LDIGITS)
        elif verb == "c":
            self._pad(_rune(value))
        elif verb == "q":
            self._pad(_quote(_rune(value), "'", ascii_only=self.f.plus))
        elif verb == "U":
            self._unicode(value)
        else:
            self._bad_verb(verb, value)

    def _integer(self, value: int, base: int, verb: str, digits: str) -> None:
        f = self.f
        negative = value < 0
        u = -value if negative else value
        prec = 0
        if f.prec_present:
            prec = f.prec
            if prec == 0 and u == 0:
                zero, f.zero = f.zero, False
                self._write_padding(f.wid)
                f.zero = zero
                return
        elif f.zero and f.wid_present:
            prec = f.wid
            if negative or f.plus or f.space:
                prec -= 1
        text = _to_base(u, base, digits)
        if len(text) < prec:
            text = "0" * (prec - len(text)) + text
        if f.sharp:
            if base == 2:
                text = "0b" + text
            elif base == 8 and text[0] != "0":
                text = "0" + text
            elif base == 16:
                text = "0" + digits[16] + text
        if verb == "O":
            text = "0o" + text
        if negative:
            text = "-" + text
        elif f.plus:
            text = "+" + text
        elif f.space:
            text = " " + text
        zero, f.zero = f.zero, False
        self._pad(text)
        f.zero = zero

    def _unicode(self, value: int) -> None:
        f = self.f
        u = value & _U64
        prec = f.prec if f.prec_present and f.prec > 4 else 4
        text = "U+" + _to_base(u, 16, _UDIGITS).rjust(prec, "0")
        if f.sharp and u <= _MAX_RUNE and _is_print(chr(u)):
            text += f" '{chr(u)}'"
        zero, f.zero = f.zero, False
        self._pad(text)
        f.zero = zero

    def _fmt_float_verb(self, value: float, verb: str) -> None:
        if verb == "v":
            self._fmt_float(value, "g", -1)
        elif verb in "bgGxX":
            self._fmt_float(value, verb, -1)
        elif verb in "feE":
            self._fmt_float(value, verb, 6)
        elif verb == "F":
            self._fmt_float(value, "f", 6)
        else:
            self._bad_verb(verb, value)

    def _fmt_float(self, value: float, verb: str, prec: int) -> None:
        f = self.f
        if f.prec_present:
            prec = f.prec
        num = format_float(value, verb, prec)
        num = num if num[0] in "+-" else "+" + num
        if f.space and num[0] == "+" and not f.plus:
            num = " " + num[1:]
        if num[1] in "IN":
            zero, f.zero = f.zero, False
            if num[1] == "N" and not f.space and not f.plus:
                num = num[1:]
            self._pad(num)
            f.zero = zero
            return
        if f.sharp and verb != "b":
            num = _sharp_float(num, verb, prec)
        if f.plus or num[0] != "+":
            if f.zero and f.wid_present and f.wid > len(num):
                self.buf.append(num[0])
                self._write_padding(f.wid - len(num))
                self.buf.append(num[1:])
                return
            self._pad(num)
            return
        self._pad(num[1:])

    def _fmt_string(self, value: str, verb: str) -> None:
        if verb == "v":
            if self.f.sharp_v:
                self._fmt_q(value)
            else:
                self._fmt_s(value)
        elif verb == "s":
            self._fmt_s(value)
        elif verb in "xX":
            self._fmt_sx(value, _LDIGITS if verb == "x" else _UDIGITS)
        elif verb == "q":
            self._fmt_q(value)
        else:
            self._bad_verb(verb, value)

    def _fmt_s(self, value: str) -> None:
        self._pad_string(self._truncate(value))

    def _fmt_q(self, value: str) -> None:
        value = self._truncate(value)
        if self.f.sharp and _can_backquote(value):
            self._pad_string("`" + value + "`")
        else:
            self._pad(_quote(value, '"', ascii_only=self.f.plus))

    def _fmt_sx(self, value: str, digits: str) -> None:
        f = self.f
        data = value.encode("utf-8", errors="surrogatepass")
        length = min(len(data), f.prec) if f.prec_present else len(data)
        width = 2 * length
        if width > 0:
            if f.space:
                if f.sharp:
                    width *= 2
                width += length - 1
            elif f.sharp:
                width += 2
        else:
            if f.wid_present:
                self._write_padding(f.wid)
            return
        if f.wid_present and f.wid > width and not f.minus:
            self._write_padding(f.wid - width)
        out = ["0" + digits[16]] if f.sharp else []
        for n, c in enumerate(data[:length]):
            if f.space and n:
                out.append(" ")
                if f.sharp:
                    out.append("0" + digits[16])
            out.append(digits[c >> 4] + digits[c & 0xF])
        self.buf.append("".join(out))
        if f.wid_present and f.wid > width and f.minus:
            self._write_padding(f.wid - width)

    # --- padding -------------------------------------------------------------------------------------

    def _truncate(self, value: str) -> str:
        return value[: self.f.prec] if self.f.prec_present else value

    def _write_padding(self, n: int) -> None:
        if n > 0:
            self.buf.append(("0" if self.f.zero else " ") * n)

    def _pad(self, text: str) -> None:
        f = self.f
        if not f.wid_present or f.wid == 0:
            self.buf.append(text)
            return
        width = f.wid - len(text)
        if not f.minus:
            self._write_padding(width)
            self.buf.append(text)
        else:
            self.buf.append(text)
            self._write_padding(width)

    _pad_string = _pad


# --- numbers ------------------------------------------------------------------------------------------


def _parse_num(s: str, start: int, end: int) -> tuple[int, bool, int]:
    if start >= end:
        return 0, False, end
    num, i, present = 0, start, False
    while i < end and "0" <= s[i] <= "9":
        if num > 1_000_000:  # Go's tooLarge: the width or precision is refused
            return 0, False, end
        num = num * 10 + int(s[i])
        present = True
        i += 1
    return num, present, i


def _parse_arg_number(s: str) -> tuple[int, int, bool]:
    if len(s) < 3:
        return 0, 1, False
    for i in range(1, len(s)):
        if s[i] == "]":
            width, ok, newi = _parse_num(s, 1, i)
            if not ok or newi != i:
                return 0, i + 1, False
            return width - 1, i + 1, True
    return 0, 1, False


def _int_from_arg(a: list[Any], arg_num: int) -> tuple[int, bool, int]:
    if arg_num >= len(a):
        return 0, False, arg_num
    value = a[arg_num]
    if isinstance(value, int) and not isinstance(value, bool) and -1_000_000 <= value <= 1_000_000:
        return value, True, arg_num + 1
    return 0, False, arg_num + 1


def _to_base(u: int, base: int, digits: str) -> str:
    if u == 0:
        return "0"
    out = []
    while u:
        u, r = divmod(u, base)
        out.append(digits[r])
    return "".join(reversed(out))


def _rune(value: int) -> str:
    u = value & _U64
    if u > _MAX_RUNE or 0xD800 <= u <= 0xDFFF:
        return _RUNE_ERROR
    return chr(u)


def _digits(value: float, fmt: str, prec: int) -> tuple[str, int, int]:
    """strconv's decimal digits of ``|value|`` (trailing zeros trimmed) and the decimal point position, with
    the precision Go continues with (the shortest form sets it from the digits)."""
    if value == 0:
        digits, dp = "", 0
    elif prec < 0:
        _, parts, exponent = Decimal(repr(value)).as_tuple()
        digits = "".join(map(str, parts))
        dp = len(digits) + int(exponent)
    elif fmt == "f":
        whole, _, frac = f"{value:.{prec}f}".partition(".")
        digits, dp = whole + frac, len(whole)
    else:
        count = prec + 1 if fmt in "eE" else max(prec, 1)
        mantissa, _, power = f"{value:.{count - 1}e}".partition("e")
        digits, dp = mantissa.replace(".", ""), int(power) + 1
    stripped = digits.lstrip("0")
    dp -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    if not digits:
        dp = 0
    if prec < 0:
        prec = {"e": max(len(digits) - 1, 0), "E": max(len(digits) - 1, 0), "f": max(len(digits) - dp, 0)}.get(
            fmt, len(digits)
        )
    elif fmt in "gG" and prec == 0:
        prec = 1
    return digits, dp, prec


def format_float(value: float, fmt: str, prec: int) -> str:
    """``strconv.FormatFloat(value, fmt, prec, 64)`` (``%`` and ``fmt`` for a format strconv does not know)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if fmt not in _FLOAT_FORMATS:
        return "%" + fmt
    neg = math.copysign(1.0, value) < 0
    value = abs(value)
    if fmt == "b":
        return _fmt_b(neg, value)
    if fmt in "xX":
        return _fmt_x(neg, value, prec, fmt)
    shortest = prec < 0
    digits, dp, prec = _digits(value, fmt, prec)
    if fmt in "eE":
        return _fmt_e(neg, digits, dp, prec, fmt)
    if fmt == "f":
        return _fmt_f(neg, digits, dp, prec)
    eprec = prec
    if eprec > len(digits) and len(digits) >= dp:
        eprec = len(digits)
    if shortest:
        eprec = 6
    exp = dp - 1
    if exp < -4 or exp >= eprec:
        prec = min(prec, len(digits))
        return _fmt_e(neg, digits, dp, prec - 1, "e" if fmt == "g" else "E")
    if prec > dp:
        prec = len(digits)
    return _fmt_f(neg, digits, dp, max(prec - dp, 0))


def _fmt_e(neg: bool, digits: str, dp: int, prec: int, fmt: str) -> str:
    out = ["-"] if neg else []
    out.append(digits[0] if digits else "0")
    if prec > 0:
        out.append(".")
        tail = digits[1 : prec + 1]
        out.append(tail + "0" * (prec - len(tail)))
    exp = dp - 1 if digits else 0
    out.append(f"{fmt}{'-' if exp < 0 else '+'}{abs(exp):02d}")
    return "".join(out)


def _fmt_f(neg: bool, digits: str, dp: int, prec: int) -> str:
    out = ["-"] if neg else []
    out.append(digits[:dp] + "0" * (dp - len(digits)) if dp > 0 else "0")
    if prec > 0:
        out.append(".")
        out.append("".join(digits[dp + i] if 0 <= dp + i < len(digits) else "0" for i in range(prec)))
    return "".join(out)


def _bits(value: float) -> tuple[int, int]:
    """Mantissa (with the implicit bit) and binary exponent of a finite ``value >= 0``, as strconv has them."""
    bits = int.from_bytes(struct.pack(">d", value), "big")
    exp = (bits >> 52) & 0x7FF
    mant = bits & ((1 << 52) - 1)
    if exp == 0:
        exp += 1
    else:
        mant |= 1 << 52
    return mant, exp - 1023


def _fmt_b(neg: bool, value: float) -> str:
    mant, exp = _bits(value)
    exp -= 52
    return f"{'-' if neg else ''}{mant}p{'+' if exp >= 0 else ''}{exp}"


def _fmt_x(neg: bool, value: float, prec: int, fmt: str) -> str:
    mant, exp = _bits(value)
    if mant == 0:
        exp = 0
    mant <<= 60 - 52
    while mant != 0 and mant & (1 << 60) == 0:
        mant <<= 1
        exp -= 1
    if 0 <= prec < 15:
        shift = prec * 4
        extra = (mant << shift) & ((1 << 60) - 1)
        mant >>= 60 - shift
        if extra | (mant & 1) > 1 << 59:
            mant += 1
        mant <<= 60 - shift
        if mant & (1 << 61):
            mant >>= 1
            exp += 1
    hexdigits = "0123456789abcdef" if fmt == "x" else "0123456789ABCDEF"
    out = ["-" if neg else "", "0", fmt, str((mant >> 60) & 1)]
    mant = (mant << 4) & _U64
    if prec < 0 and mant != 0:
        out.append(".")
        while mant != 0:
            out.append(hexdigits[(mant >> 60) & 15])
            mant = (mant << 4) & _U64
    elif prec > 0:
        out.append(".")
        for _ in range(prec):
            out.append(hexdigits[(mant >> 60) & 15])
            mant = (mant << 4) & _U64
    out.append("p" if fmt == "x" else "P")
    out.append(f"{'-' if exp < 0 else '+'}{abs(exp):02d}")
    return "".join(out)


def _sharp_float(num: str, verb: str, prec: int) -> str:
    """The ``#`` flag: a decimal point always, and ``%g``'s trailing zeros kept."""
    digits = (6 if prec == -1 else prec) if verb in "vgGx" else 0
    tail = ""
    has_point = False
    seen_nonzero = False
    body = [num[0]]
    for i in range(1, len(num)):
        c = num[i]
        if c == ".":
            has_point = True
        elif c in "pP" or (c in "eE" and verb not in "xX"):
            tail = num[i:]
            break
        else:
            if c != "0":
                seen_nonzero = True
            if seen_nonzero:
                digits -= 1
        body.append(c)
    text = "".join(body)
    if not has_point:
        if len(text) == 2 and text[1] == "0":
            digits -= 1
        text += "."
    return text + "0" * max(digits, 0) + tail


# --- strings ------------------------------------------------------------------------------------------


def _is_print(ch: str) -> bool:
    """strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space."""
    return ch == " " or unicodedata.category(ch)[0] in "LMNPS"


def _can_backquote(text: str) -> bool:
    return all(
        not ((c < " " and c != "\t") or c in "`\x7f\ufeff" or 0xD800 <= ord(c) <= 0xDFFF) for c in text
    )


_ESCAPES = {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t", "\v": r"\v"}


def quote(text: str) -> str:
    """strconv.Quote: ``text`` in double quotes, printable characters as they are, others escaped."""
    return _quote(text, '"')


def _quote(text: str, quote: str, *, ascii_only: bool = False) -> str:
    """strconv.Quote / QuoteRune (``ascii_only``: QuoteToASCII)."""
    out = [quote]
    for ch in text:
        code = ord(ch)
        if ch == quote or ch == "\\":
            out.append("\\" + ch)
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")
        elif (code < 0x80 or not ascii_only) and _is_print(ch):
            out.append(ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append(quote)
    return "".join(out)
