"""IP text, read and printed as the reference does: Go's netip.ParseAddr / netip.ParsePrefix (accepted
spellings, their value and the exact message of each refusal), netipx.ParseIPRange and Addr.String.
The shortcut for plain IPv4 agrees with the general parser on every spelling, valid or not."""

from __future__ import annotations

import ipaddress
import random

import pytest

from ipam.ipaddr import (
    Prefix,
    _parse_addr,
    _parse_prefix,
    go_quote,
    ip_text,
    parse_addr,
    parse_prefix,
    parse_range,
    subnet_name,
)

MAPPED = 0xFFFF_0000_0000  # ::ffff:0.0.0.0


def v6(text: str) -> int:
    return int(ipaddress.IPv6Address(text))


# ------------------------------------------------------------------ addresses Go accepts

ADDRESSES = [
    ("0.0.0.0", (4, 0, "")),
    ("10.0.0.1", (4, 0x0A000001, "")),
    ("255.255.255.255", (4, 0xFFFFFFFF, "")),
    ("::", (6, 0, "")),
    ("::1", (6, 1, "")),
    ("1::", (6, 1 << 112, "")),
    ("2001:db8::1", (6, v6("2001:db8::1"), "")),
    ("2001:DB8:0:0:0:0:0:1", (6, v6("2001:db8::1"), "")),
    ("0000:0000:0000:0000:0000:0000:0000:0001", (6, 1, "")),
    ("1:2:3:4:5:6:7:8", (6, v6("1:2:3:4:5:6:7:8"), "")),
    ("1:2:3:4:5:6::", (6, v6("1:2:3:4:5:6::"), "")),
    ("::ffff:10.0.0.1", (6, MAPPED | 0x0A000001, "")),  # IPv4-mapped: stays IPv6
    ("::1.2.3.4", (6, 0x01020304, "")),
    ("1:2:3:4:5:6:1.2.3.4", (6, v6("1:2:3:4:5:6:102:304"), "")),
    ("1::2:3:4:5:1.2.3.4", (6, v6("1:0:2:3:4:5:102:304"), "")),
    ("fe80::1%eth0", (6, v6("fe80::1"), "eth0")),
    ("::%x", (6, 0, "x")),
    ("fe80::1%a%b", (6, v6("fe80::1"), "a%b")),
    ("::1.2.3.4%eth0", (6, 0x01020304, "eth0")),
]


@pytest.mark.parametrize(("text", "value"), ADDRESSES)
def test_accepted_addresses(text: str, value: tuple[int, int, str]) -> None:
    assert parse_addr(text) == value


# ------------------------------------------------------------------ addresses Go refuses, with its message

ADDRESS_ERRORS = [
    ("", 'ParseAddr(""): unable to parse IP'),
    ("1", 'ParseAddr("1"): unable to parse IP'),
    ("%eth0", 'ParseAddr("%eth0"): missing IPv6 address'),
    ("1%2.3", 'ParseAddr("1%2.3"): missing IPv6 address'),
    ("1.2.3", 'ParseAddr("1.2.3"): IPv4 address too short'),
    ("1.2.3.4.5", 'ParseAddr("1.2.3.4.5"): IPv4 address too long'),
    ("256.1.1.1", 'ParseAddr("256.1.1.1"): IPv4 field has value >255'),
    ("1.2.3.1000", 'ParseAddr("1.2.3.1000"): IPv4 field has value >255'),
    ("01.2.3.4", 'ParseAddr("01.2.3.4"): IPv4 field has octet with leading zero'),
    ("1.2.3.00", 'ParseAddr("1.2.3.00"): IPv4 field has octet with leading zero'),
    (".1.2.3", 'ParseAddr(".1.2.3"): IPv4 field must have at least one digit (at ".1.2.3")'),
    ("1..2.3", 'ParseAddr("1..2.3"): IPv4 field must have at least one digit (at ".2.3")'),
    ("1.2.3.", 'ParseAddr("1.2.3."): IPv4 field must have at least one digit (at ".")'),
    ("1.2.3.4.", 'ParseAddr("1.2.3.4."): IPv4 field must have at least one digit (at ".")'),
    ("1.2.3.x", 'ParseAddr("1.2.3.x"): unexpected character (at "x")'),
    ("1.2.3.4 ", 'ParseAddr("1.2.3.4 "): unexpected character (at " ")'),
    (" 1.2.3.4", 'ParseAddr(" 1.2.3.4"): unexpected character (at " 1.2.3.4")'),
    ("1.2.3.4%eth0", 'ParseAddr("1.2.3.4%eth0"): unexpected character (at "%eth0")'),
    ("1.2.3.4:80", 'ParseAddr("1.2.3.4:80"): unexpected character (at ":80")'),
    ("٣.2.3.4", 'ParseAddr("٣.2.3.4"): unexpected character (at "٣.2.3.4")'),  # only ASCII digits
    ("1.2.3.4\n", 'ParseAddr("1.2.3.4\\n"): unexpected character (at "\\n")'),
    ("fe80::1%", 'ParseAddr("fe80::1%"): zone must be a non-empty string'),
    ("12345::", 'ParseAddr("12345::"): each group must have 4 or less digits (at "12345::")'),
    ("1:00000::", 'ParseAddr("1:00000::"): each group must have 4 or less digits (at "00000::")'),
    (":::", 'ParseAddr(":::"): each colon-separated field must have at least one digit (at ":")'),
    (":1::", 'ParseAddr(":1::"): each colon-separated field must have at least one digit (at ":1::")'),
    ("1:2:3:4:5:1.2.3.4",
     'ParseAddr("1:2:3:4:5:1.2.3.4"): embedded IPv4 address must replace the final 2 fields of the address'
     ' (at "1.2.3.4")'),
    ("1.2.3.4::", 'ParseAddr("1.2.3.4::"): unexpected character (at "::")'),
    ("1::2:3:4:5:6:7:1.2.3.4",
     'ParseAddr("1::2:3:4:5:6:7:1.2.3.4"): too many hex fields to fit an embedded IPv4 at the end of the address'
     ' (at "1.2.3.4")'),
    ("::1.2.3", 'ParseAddr("::1.2.3"): IPv4 address too short'),
    ("::1.2..3", 'ParseAddr("::1.2..3"): IPv4 field must have at least one digit (at ".3")'),
    ("::01.2.3.4", 'ParseAddr("::01.2.3.4"): IPv4 field has octet with leading zero'),
    ("::a.2.3.4", 'ParseAddr("::a.2.3.4"): unexpected character (at "a.2.3.4")'),
    ("::1.2.3.4:5", 'ParseAddr("::1.2.3.4:5"): unexpected character (at ":5")'),
    ("::1.2.3.x%eth0", 'ParseAddr("::1.2.3.x%eth0"): unexpected character (at "x")'),
    ("fe80::g", 'ParseAddr("fe80::g"): each colon-separated field must have at least one digit (at "g")'),
    ("fe80:g::", 'ParseAddr("fe80:g::"): each colon-separated field must have at least one digit (at "g::")'),
    ("1g::", 'ParseAddr("1g::"): unexpected character, want colon (at "g::")'),
    ("::1 ", 'ParseAddr("::1 "): unexpected character, want colon (at " ")'),
    ("1:", 'ParseAddr("1:"): colon must be followed by more characters (at ":")'),
    ("1::2:", 'ParseAddr("1::2:"): colon must be followed by more characters (at ":")'),
    ("1::2::3", 'ParseAddr("1::2::3"): multiple :: in address (at ":3")'),
    ("1:2:3:4:5:6:7:8:9", 'ParseAddr("1:2:3:4:5:6:7:8:9"): trailing garbage after address (at "9")'),
    ("1:2:3:4:5:6:7", 'ParseAddr("1:2:3:4:5:6:7"): address string too short'),
    ("1:2:3:4:5:6:7:8::", 'ParseAddr("1:2:3:4:5:6:7:8::"): the :: must expand to at least one field of zeros'),
    ("1:2:3:4::5:6:7:8", 'ParseAddr("1:2:3:4::5:6:7:8"): the :: must expand to at least one field of zeros'),
    ('a"b:', 'ParseAddr("a\\"b:"): unexpected character, want colon (at "\\"b:")'),
    ("a\\b:", 'ParseAddr("a\\\\b:"): unexpected character, want colon (at "\\\\b:")'),
]


@pytest.mark.parametrize(("text", "message"), ADDRESS_ERRORS)
def test_refused_addresses(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_addr(text)
    assert str(info.value) == message


# ------------------------------------------------------------------ prefixes

PREFIXES = [
    ("0.0.0.0/0", Prefix(4, 0, 0)),
    ("10.0.0.1/24", Prefix(4, 0x0A000001, 24)),  # host bits kept
    ("255.255.255.255/32", Prefix(4, 0xFFFFFFFF, 32)),
    ("10.0.0.0/8", Prefix(4, 0x0A000000, 8)),
    ("::/0", Prefix(6, 0, 0)),
    ("2001:db8::1/64", Prefix(6, v6("2001:db8::1"), 64)),
    ("::1/128", Prefix(6, 1, 128)),
    ("::ffff:10.0.0.0/120", Prefix(6, MAPPED | 0x0A000000, 120)),
    ("::ffff:10.0.0.0/33", Prefix(6, MAPPED | 0x0A000000, 33)),  # the length counts in 128 bits
]


@pytest.mark.parametrize(("text", "prefix"), PREFIXES)
def test_accepted_prefixes(text: str, prefix: Prefix) -> None:
    assert parse_prefix(text) == prefix
    assert _parse_prefix(text, False) == prefix


@pytest.mark.parametrize(
    ("text", "prefix"),
    [("10.0.0.1", Prefix(4, 0x0A000001, 32)), ("1000::5", Prefix(6, v6("1000::5"), 128)),
     ("::ffff:10.0.0.1", Prefix(6, MAPPED | 0x0A000001, 128)), ("10.0.0.1/24", Prefix(4, 0x0A000001, 24))],
)
def test_a_bare_address_is_a_full_length_prefix_where_allowed(text: str, prefix: Prefix) -> None:
    assert parse_prefix(text, bare_ok=True) == prefix


PREFIX_ERRORS = [
    ("10.0.0.0", "no '/'"),
    ("", "no '/'"),
    ("10.0.0.0/33", "prefix length out of range"),
    ("::/129", "prefix length out of range"),
    ("10.0.0.0/9999999999", "prefix length out of range"),
    ("10.0.0.0/024", 'bad bits after slash: "024"'),
    ("10.0.0.0/08", 'bad bits after slash: "08"'),
    ("10.0.0.0/00", 'bad bits after slash: "00"'),
    ("10.0.0.0/+1", 'bad bits after slash: "+1"'),
    ("10.0.0.0/-1", 'bad bits after slash: "-1"'),
    ("10.0.0.0/-0", 'bad bits after slash: "-0"'),
    ("10.0.0.0/ 24", 'bad bits after slash: " 24"'),
    ("10.0.0.0/24 ", 'bad bits after slash: "24 "'),
    ("10.0.0.0/", 'bad bits after slash: ""'),
    ("10.0.0.0/x", 'bad bits after slash: "x"'),
    ("10.0.0.0/1_0", 'bad bits after slash: "1_0"'),
    ("10.0.0.0/٣", 'bad bits after slash: "٣"'),
    ("10.0.0.0/99999999999999999999", 'bad bits after slash: "99999999999999999999"'),
    ("10.0.0.0/255.255.0.0", 'bad bits after slash: "255.255.0.0"'),
    ("10.0.0.0/24\n", 'bad bits after slash: "24\\n"'),
    ("fe80::1%eth0/64", "IPv6 zones cannot be present in a prefix"),
    ("fe80::1%eth0/x", "IPv6 zones cannot be present in a prefix"),  # before the length is read
    ("fe80::1%/64", 'ParseAddr("fe80::1%"): zone must be a non-empty string'),
    ("1.2.3/8", 'ParseAddr("1.2.3"): IPv4 address too short'),
    ("010.0.0.0/8", 'ParseAddr("010.0.0.0"): IPv4 field has octet with leading zero'),
    ("1.1.1.1//8", 'ParseAddr("1.1.1.1/"): unexpected character (at "/")'),
    (" 10.0.0.0/8", 'ParseAddr(" 10.0.0.0"): unexpected character (at " 10.0.0.0")'),
    ("/8", 'ParseAddr(""): unable to parse IP'),
    ("1:2:3:4:5:6:7:8:9/64", 'ParseAddr("1:2:3:4:5:6:7:8:9"): trailing garbage after address (at "9")'),
    ("10.0.0.0/24/8", 'ParseAddr("10.0.0.0/24"): unexpected character (at "/24")'),
]


@pytest.mark.parametrize(("text", "message"), PREFIX_ERRORS)
def test_refused_prefixes(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_prefix(text)
    assert str(info.value) == f"netip.ParsePrefix({go_quote(text)}): {message}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fe80::1%eth0", 'netip.ParsePrefix("fe80::1%eth0"): IPv6 zones cannot be present in a prefix'),
        ("1.2.3", 'netip.ParsePrefix("1.2.3"): ParseAddr("1.2.3"): IPv4 address too short'),
        ("10.0.0.0/08", 'netip.ParsePrefix("10.0.0.0/08"): bad bits after slash: "08"'),
    ],
)
def test_a_bare_address_is_refused_with_the_prefix_wording(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_prefix(text, bare_ok=True)
    assert str(info.value) == message


# ------------------------------------------------------------------ ranges (netipx.ParseIPRange)

@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10.0.0.1-10.0.0.9", (4, 0x0A000001, 0x0A000009)),
        ("10.0.0.1-10.0.0.1", (4, 0x0A000001, 0x0A000001)),
        ("1000::1-1000::ff", (6, v6("1000::1"), v6("1000::ff"))),
        ("::ffff:10.0.0.1-::ffff:10.0.0.9", (6, MAPPED | 0x0A000001, MAPPED | 0x0A000009)),
        ("fe80::1%eth0-fe80::2%eth1", (6, v6("fe80::1"), v6("fe80::2"))),  # netipx drops the zones
    ],
)
def test_accepted_ranges(text: str, value: tuple[int, int, int]) -> None:
    assert parse_range(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10.0.0.1", 'no hyphen in range "10.0.0.1"'),
        ('10.0.0.1"', 'no hyphen in range "10.0.0.1\\""'),
        ("10.0.0.01-10.0.0.9", 'invalid From IP "10.0.0.01" in range "10.0.0.01-10.0.0.9"'),
        ("-10.0.0.9", 'invalid From IP "" in range "-10.0.0.9"'),
        ("10.0.0.1-", 'invalid To IP "" in range "10.0.0.1-"'),
        ("10.0.0.1-10.0.0.9-10.0.0.10", 'invalid To IP "10.0.0.9-10.0.0.10" in range "10.0.0.1-10.0.0.9-10.0.0.10"'),
        ("10.0.0.1-10.0.0.9\t", 'invalid To IP "10.0.0.9\\t" in range "10.0.0.1-10.0.0.9\\t"'),
        ("10.0.0.0/24-10.0.0.9", 'invalid From IP "10.0.0.0/24" in range "10.0.0.0/24-10.0.0.9"'),
        ("10.0.0.9-10.0.0.1", "range 10.0.0.9 to 10.0.0.1 not valid"),
        ("10.0.0.1-::ffff:10.0.0.9", "range 10.0.0.1 to ::ffff:10.0.0.9 not valid"),
        ("1000::9%a-1000::1", "range 1000::9 to 1000::1 not valid"),
    ],
)
def test_refused_ranges(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_range(text)
    assert str(info.value) == message


# ------------------------------------------------------------------ printing (Addr.String) and quoting

@pytest.mark.parametrize(
    ("family", "value", "text"),
    [
        (4, 0x0A000001, "10.0.0.1"),
        (6, 0, "::"),
        (6, 1, "::1"),
        (6, v6("2001:db8::1"), "2001:db8::1"),
        (6, v6("1:0:0:1:0:0:0:1"), "1:0:0:1::1"),  # the longest run of zeros
        (6, v6("1:0:0:1:0:0:1:1"), "1::1:0:0:1:1"),  # the first of two as long
        (6, v6("1:0:1:0:1:0:1:0"), "1:0:1:0:1:0:1:0"),  # a single zero field stays
        (6, MAPPED | 0x0A000000, "::ffff:10.0.0.0"),  # IPv4-mapped: dotted, as Go prints it
        (6, MAPPED, "::ffff:0.0.0.0"),
        (6, 0x01020304, "::102:304"),  # IPv4-compatible is plain IPv6 to Go
        (6, (0xFFFF << 32) | (1 << 48), "::1:ffff:0:0"),
    ],
)
def test_ip_text_is_go_addr_string(family: int, value: int, text: str) -> None:
    assert ip_text(family, value) == text


def test_mapped_prefix_names() -> None:
    prefix = parse_prefix("::ffff:10.0.0.1/120")
    assert str(prefix) == "::ffff:10.0.0.1/120"
    assert subnet_name(prefix) == "--ffff-10.0.0.0-120"
    assert subnet_name(parse_prefix("::ffff:10.0.0.1/64")) == "---64"


@pytest.mark.parametrize(
    ("text", "quoted"),
    [("abc", '"abc"'), ('a"b', '"a\\"b"'), ("a\\b", '"a\\\\b"'), ("\n\t\r\a\b\f\v", '"\\n\\t\\r\\a\\b\\f\\v"'),
     ("\x00\x1b\x7f", '"\\x00\\x1b\\x7f"'), ("é٣", '"é٣"'), ("\u00a0\u200b", '"\\u00a0\\u200b"'),
     ("\U0001F600", '"\U0001F600"'), ("\U000E0001", '"\\U000e0001"'), ("\ud800", '"\\ufffd"')],
)
def test_go_quote(text: str, quoted: str) -> None:
    assert go_quote(text) == quoted


# ------------------------------------------------------------------ the plain-IPv4 shortcut

def general(text: str, bare_ok: bool) -> Prefix | str:
    try:
        return _parse_prefix(text, bare_ok)
    except ValueError as exc:
        return str(exc)


def shortcut(text: str, bare_ok: bool) -> Prefix | str:
    try:
        return parse_prefix(text, bare_ok=bare_ok)
    except ValueError as exc:
        return str(exc)


EDGES = ["0.0.0.0/0", "255.255.255.255/32", "10.0.0.1", "10.0.0.0/8", "10.0.0.0/08", "10.0.0.0/016",
         "010.0.0.0/8", "10.0.0.256/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "10.0.0.0.0/8", " 10.0.0.0/8",
         "10.0.0.0/8 ", "10.0.0.0/8\n", "10.0.0.0/255.255.0.0", "1.2.3.4/-1", "٣.1.1.1/8", "1.1.1.1/٣",
         "1000::1/64", "::ffff:10.0.0.1/120", "1.2.3.04/24", "00.1.1.1/8", "999.1.1.1/8", "1.1.1.1//8"]


@pytest.mark.parametrize("text", EDGES)
@pytest.mark.parametrize("bare_ok", [False, True])
def test_edge_spellings_read_as_the_general_parser_reads_them(text: str, bare_ok: bool) -> None:
    assert shortcut(text, bare_ok) == general(text, bare_ok)


def test_random_spellings_read_as_the_general_parser_reads_them() -> None:
    rng = random.Random(7)
    pieces = ["0", "1", "00", "01", "9", "10", "99", "100", "199", "255", "256", "300", "999", "0255", ""]
    for _ in range(5000):
        text = ".".join(rng.choice(pieces) for _ in range(rng.choice((3, 4, 4, 4, 5))))
        if rng.random() < 0.8:
            text += "/" + rng.choice(["0", "8", "08", "24", "31", "32", "33", "", "x", "016"])
        bare_ok = rng.random() < 0.5
        assert shortcut(text, bare_ok) == general(text, bare_ok), text
        address = text.partition("/")[0]
        try:
            fast: object = parse_addr(address)
        except ValueError as exc:
            fast = str(exc)
        try:
            slow: object = _parse_addr(address)
        except ValueError as exc:
            slow = str(exc)
        assert fast == slow, address


def test_plain_addresses_read_and_print_as_ipaddress_does() -> None:
    rng = random.Random(3)
    values = [0, 1, 255, 256, 2**24, 2**32 - 1] + [rng.randrange(2**32) for _ in range(2000)]
    for value in values:
        text = str(ipaddress.IPv4Address(value))
        assert ip_text(4, value) == text
        assert parse_addr(text) == (4, value, "")
    for _ in range(2000):
        groups = [rng.choice((0, 0, 0, 1, 0xFFFF, rng.randrange(2**16))) for _ in range(8)]
        value = int.from_bytes(b"".join(g.to_bytes(2, "big") for g in groups), "big")
        if value >> 32 == 0xFFFF:
            continue  # IPv4-mapped: Go prints these differently (above)
        text = str(ipaddress.IPv6Address(value))
        assert ip_text(6, value) == text
        assert parse_addr(text) == (6, value, "")


@pytest.mark.parametrize(
    ("text", "name"),
    [("10.0.0.1/24", "10.0.0.0-24"), ("1000::/32", "1000---32"), ("1000::1/128", "1000--1-128"),
     ("10.0.0.0/8", "10.0.0.0-8")],
)
def test_subnet_names_are_the_masked_prefix_with_dashes(text: str, name: str) -> None:
    """§2.1 ``iputil.GetSubnetName``: the masked network address, ``-`` and the length, every ``:`` a ``-``."""
    assert subnet_name(parse_prefix(text)) == name
