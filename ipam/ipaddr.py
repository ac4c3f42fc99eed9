"""IP text handling for the IP engine: parsing prefixes, addresses and ranges to integers, and naming.

IPv4 and IPv6 live in one index but in separate bit spaces (32 and 128 bits); a value is
``(family, start, plen)``. Subnet names follow henderiw/iputil: masked network address, ``-``, length,
with every ``:`` replaced by ``-`` (``1000::/32`` -> ``1000---32``).

The reference reads prefixes with Go's ``netip.ParsePrefix``, addresses with ``netip.ParseAddr`` and
ranges with netipx ``ParseIPRange``; this module accepts exactly the spellings they accept, reads them
to the same value and refuses the others with the same message (``ParseAddr("1.2.3"): IPv4 address too
short``, ``netip.ParsePrefix("10.0.0.0/024"): bad bits after slash: "024"``), the input quoted as Go's
``strconv.Quote`` does. The Go read is a recent Go's (1.22 or later): a sign or a leading zero in
the length and a group of five hex digits are refused, and an embedded IPv4 error is not nested in a
second ParseAddr(...). Addresses are printed as Go's ``Addr.String`` does: RFC 5952 for IPv6, and an
IPv4-mapped IPv6 address stays IPv6 but shows its IPv4 part dotted (``::ffff:10.0.0.0``).
Every claim written is parsed (its spec and its previous status), so the plain IPv4 forms, which Go
and this parser read the same way, are matched and printed directly before the general parser runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ipam.blocks import align, last

WIDTH = {4: 32, 6: 128}
FAMILY_NAME = {4: "ipv4", 6: "ipv6"}


@dataclass(frozen=True, order=True)
class Prefix:
    """A prefix as written: ``address`` may carry host bits (``10.0.0.1/24``)."""

    family: int
    address: int
    plen: int

    @property
    def width(self) -> int:
        return WIDTH[self.family]

    @property
    def network(self) -> int:
        return align(self.address, self.plen, self.width)

    @property
    def broadcast(self) -> int:
        return last(self.network, self.plen, self.width)

    @property
    def full(self) -> bool:
        return self.plen == self.width

    @property
    def point_to_point(self) -> bool:
        return self.plen == self.width - 1

    @property
    def masked(self) -> Prefix:
        return Prefix(self.family, self.network, self.plen)

    def host(self, address: int | None = None) -> Prefix:
        return Prefix(self.family, self.address if address is None else address, self.width)

    def __str__(self) -> str:
        return f"{ip_text(self.family, self.address)}/{self.plen}"


# --- Go's strconv.Quote ---------------------------------------------------------------------------

_QUOTE_PLAIN = re.compile(r'[ !#-\[\]-~]*')  # printable ASCII but " and \: quoted as it is
_QUOTE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
                  '"': '\\"', "\\": "\\\\"}


def go_quote(text: str) -> str:
    """``text`` as Go's ``strconv.Quote`` writes it: printable characters kept, the others escaped."""
    if _QUOTE_PLAIN.fullmatch(text):
        return f'"{text}"'
    out = []
    for ch in text:
        code = ord(ch)
        if ch in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif ch.isprintable():  # Go's IsPrint: letters, marks, numbers, punctuation, symbols and ' '
            out.append(ch)
        elif 0xD800 <= code <= 0xDFFF:  # not a rune: Go would have read U+FFFD
            out.append("\\ufffd")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


# --- Go's netip.ParseAddr -------------------------------------------------------------------------

def _addr_error(text: str, msg: str, at: str = "") -> ValueError:
    where = f" (at {go_quote(at)})" if at else ""
    return ValueError(f"ParseAddr({go_quote(text)}): {msg}{where}")


def _ipv4_fields(text: str, start: int, end: int) -> int:
    """``text[start:end]`` as a dotted-decimal IPv4 address; errors name the whole ``text``."""
    value = octet = dots = digits = 0
    for i in range(start, end):
        ch = text[i]
        if "0" <= ch <= "9":
            if digits == 1 and octet == 0:
                raise _addr_error(text, "IPv4 field has octet with leading zero")
            octet = octet * 10 + ord(ch) - 48
            digits += 1
            if octet > 255:
                raise _addr_error(text, "IPv4 field has value >255")
        elif ch == ".":
            if i == start or i == end - 1 or text[i - 1] == ".":
                raise _addr_error(text, "IPv4 field must have at least one digit", text[i:end])
            if dots == 3:
                raise _addr_error(text, "IPv4 address too long")
            value = (value << 8) | octet
            dots += 1
            octet = digits = 0
        else:
            raise _addr_error(text, "unexpected character", text[i:end])
    if dots < 3:
        raise _addr_error(text, "IPv4 address too short")
    return (value << 8) | octet


_HEX = {c: int(c, 16) for c in "0123456789abcdefABCDEF"}


def _ipv6(text: str) -> tuple[int, str]:
    """``text`` as an IPv6 address and its zone (``""`` for none)."""
    end = text.find("%")
    zone = ""
    if end < 0:
        end = len(text)
    else:
        zone = text[end + 1:]
        if not zone:
            raise _addr_error(text, "zone must be a non-empty string")
    groups: list[int] = []  # 16-bit fields read so far
    gap = -1  # index in groups where the :: stands
    pos = 0
    if end >= 2 and text[0] == ":" and text[1] == ":":
        gap, pos = 0, 2
        if pos == end:
            return 0, zone
    while len(groups) < 8:
        off, field = pos, 0
        while off < end:
            digit = _HEX.get(text[off])
            if digit is None:
                break
            field = (field << 4) | digit
            if off - pos > 3:
                raise _addr_error(text, "each group must have 4 or less digits", text[pos:end])
            if field > 0xFFFF:  # not reached with at most 4 hex digits; kept as the reference has it
                raise _addr_error(text, "IPv6 field has value >=2^16", text[pos:end])
            off += 1
        if off == pos:
            raise _addr_error(text, "each colon-separated field must have at least one digit", text[pos:end])
        if off < end and text[off] == ".":  # an embedded IPv4 address, which must end the address
            if gap < 0 and len(groups) != 6:
                raise _addr_error(text, "embedded IPv4 address must replace the final 2 fields of the address",
                                  text[pos:end])
            if len(groups) > 6:
                raise _addr_error(text, "too many hex fields to fit an embedded IPv4 at the end of the address",
                                  text[pos:end])
            v4 = _ipv4_fields(text, pos, end)
            groups += (v4 >> 16, v4 & 0xFFFF)
            pos = end
            break
        groups.append(field)
        pos = off
        if pos == end:
            break
        if text[pos] != ":":
            raise _addr_error(text, "unexpected character, want colon", text[pos:end])
        if pos + 1 == end:
            raise _addr_error(text, "colon must be followed by more characters", text[pos:end])
        pos += 1
        if text[pos] == ":":
            if gap >= 0:
                raise _addr_error(text, "multiple :: in address", text[pos:end])
            gap = len(groups)
            pos += 1
            if pos == end:
                break
    if pos != end:
        raise _addr_error(text, "trailing garbage after address", text[pos:end])
    if len(groups) < 8:
        if gap < 0:
            raise _addr_error(text, "address string too short")
        groups[gap:gap] = [0] * (8 - len(groups))
    elif gap >= 0:
        raise _addr_error(text, "the :: must expand to at least one field of zeros")
    value = 0
    for field in groups:
        value = (value << 16) | field
    return value, zone


_ADDR_KIND = re.compile(r"[.:%]")
_OCTET = "(0|[1-9][0-9]{0,2})"
_PLAIN_IPV4_ADDR = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")


def parse_addr(text: str) -> tuple[int, int, str]:
    """``text`` read as Go's ``netip.ParseAddr`` reads it: ``(family, value, zone)``, or ValueError with
    Go's message. IPv4-mapped IPv6 addresses stay IPv6; only IPv6 addresses carry a zone."""
    plain = _PLAIN_IPV4_ADDR.fullmatch(text)
    if plain is not None:
        a, b, c, d = map(int, plain.groups())
        if a < 256 and b < 256 and c < 256 and d < 256:
            return 4, (a << 24) | (b << 16) | (c << 8) | d, ""
    return _parse_addr(text)


def _parse_addr(text: str) -> tuple[int, int, str]:
    """``parse_addr`` without its shortcut for plain IPv4."""
    kind = _ADDR_KIND.search(text)
    if kind is None:
        raise _addr_error(text, "unable to parse IP")
    if kind.group() == ".":
        return 4, _ipv4_fields(text, 0, len(text)), ""
    if kind.group() == ":":
        return (6, *_ipv6(text))
    raise _addr_error(text, "missing IPv6 address")  # a zone with no address before it


# --- Go's netip.ParsePrefix -----------------------------------------------------------------------

# a.b.c.d[/len] in the spellings Go reads without question: decimal octets and length, no leading zeros
_PLAIN_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}(?:/([0-9]|[12][0-9]|3[0-2]))?")
_MAX_INT = 2**63 - 1  # strconv.Atoi's range on the reference's platforms


def _prefix_error(text: str, msg: str) -> ValueError:
    return ValueError(f"netip.ParsePrefix({go_quote(text)}): {msg}")


def _plain_ipv4(text: str) -> Prefix | None:
    """``text`` as a prefix when it is a plain IPv4 address or prefix, else None (then the parser decides)."""
    found = _PLAIN_IPV4.fullmatch(text)
    if found is None:
        return None
    a, b, c, d, plen = found.groups()
    octets = (int(a), int(b), int(c), int(d))
    if max(octets) > 255:
        return None
    value = (octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]
    return Prefix(4, value, 32 if plen is None else int(plen))


def _address(text: str, whole: str) -> tuple[int, int]:
    """The address of a prefix: ``(family, value)``; ``whole`` is the prefix text, for the messages."""
    try:
        family, value, zone = _parse_addr(text)
    except ValueError as exc:
        raise _prefix_error(whole, str(exc)) from None
    if zone:
        raise _prefix_error(whole, "IPv6 zones cannot be present in a prefix")
    return family, value


def parse_prefix(text: str, *, bare_ok: bool = False) -> Prefix:
    """``addr/len`` as Go's ``netip.ParsePrefix`` reads it (host bits kept) or, with ``bare_ok``, a bare
    address meaning full length (refused as a prefix would be: with the ParsePrefix wording, no zone)."""
    plain = _plain_ipv4(text)
    if plain is not None and (bare_ok or "/" in text):
        return plain
    return _parse_prefix(text, bare_ok)


def _parse_prefix(text: str, bare_ok: bool) -> Prefix:
    """``parse_prefix`` without its shortcut for plain IPv4."""
    slash = text.rfind("/")
    if slash < 0:
        if not bare_ok:
            raise _prefix_error(text, "no '/'")
        family, value = _address(text, text)
        return Prefix(family, value, WIDTH[family])
    family, value = _address(text[:slash], text)
    bits = text[slash + 1:]
    # a sign and leading zeros are refused (strconv.Atoi would take them), and so is what Atoi refuses
    if not (bits.isascii() and bits.isdigit()) or (len(bits) > 1 and bits[0] == "0") or len(bits) > 19 \
            or int(bits) > _MAX_INT:
        raise _prefix_error(text, f"bad bits after slash: {go_quote(bits)}")
    plen = int(bits)
    if plen > WIDTH[family]:
        raise _prefix_error(text, "prefix length out of range")
    return Prefix(family, value, plen)


# --- netipx.ParseIPRange --------------------------------------------------------------------------

def parse_range(text: str) -> tuple[int, int, int]:
    """``<ip>-<ip>`` as (family, first, last), read as netipx.ParseIPRange reads it: each end with
    ``netip.ParseAddr`` (its zone dropped), split at the first hyphen, the ends of one family and in order."""
    head, sep, tail = text.partition("-")
    if not sep:
        raise ValueError(f"no hyphen in range {go_quote(text)}")
    try:
        family, first, _ = parse_addr(head)
    except ValueError:
        raise ValueError(f"invalid From IP {go_quote(head)} in range {go_quote(text)}") from None
    try:
        family_to, second, _ = parse_addr(tail)
    except ValueError:
        raise ValueError(f"invalid To IP {go_quote(tail)} in range {go_quote(text)}") from None
    if family != family_to or first > second:
        raise ValueError(f"range {ip_text(family, first)} to {ip_text(family_to, second)} not valid")
    return family, first, second


# --- Go's Addr.String -----------------------------------------------------------------------------

def ip_text(family: int, value: int) -> str:
    """``value`` as Go's ``Addr.String`` prints it."""
    if family == 4:
        return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"
    return _ipv6_text(value)


def _ipv6_text(value: int) -> str:
    if value >> 32 == 0xFFFF:  # IPv4-mapped: Go keeps it IPv6 and prints the IPv4 part dotted
        return "::ffff:" + ip_text(4, value & 0xFFFFFFFF)
    groups = [(value >> shift) & 0xFFFF for shift in range(112, -16, -16)]
    # RFC 5952: the first longest run of two or more zero fields becomes ::
    best, best_len, start = -1, 1, -1
    for i, field in enumerate(groups):
        if field:
            start = -1
            continue
        if start < 0:
            start = i
        if i - start + 1 > best_len:
            best, best_len = start, i - start + 1
    if best < 0:
        return ":".join(f"{g:x}" for g in groups)
    head = ":".join(f"{g:x}" for g in groups[:best])
    tail = ":".join(f"{g:x}" for g in groups[best + best_len:])
    return f"{head}::{tail}"


def subnet_name(prefix: Prefix) -> str:
    return f"{ip_text(prefix.family, prefix.network)}-{prefix.plen}".replace(":", "-")
