"""IP text: the direct IPv4 parsing and printing agree with ``ipaddress`` on every spelling, valid or not."""

from __future__ import annotations

import ipaddress
import random

import pytest

from ipam.ipaddr import Prefix, ip_text, parse_prefix


def by_ipaddress(text: str) -> Prefix | str:
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError:
        return "error"
    return Prefix(iface.version, int(iface.ip), iface.network.prefixlen)


def by_parse_prefix(text: str) -> Prefix | str:
    try:
        return parse_prefix(text, bare_ok=True)
    except ValueError:
        return "error"


EDGES = ["0.0.0.0/0", "255.255.255.255/32", "10.0.0.1", "10.0.0.0/8", "10.0.0.0/08", "10.0.0.0/016",
         "010.0.0.0/8", "10.0.0.256/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "10.0.0.0.0/8", " 10.0.0.0/8",
         "10.0.0.0/8 ", "10.0.0.0/8\n", "10.0.0.0/255.255.0.0", "1.2.3.4/-1", "٣.1.1.1/8", "1.1.1.1/٣",
         "1000::1/64", "::ffff:10.0.0.1/120", "1.2.3.04/24", "00.1.1.1/8", "999.1.1.1/8", "1.1.1.1//8"]


@pytest.mark.parametrize("text", EDGES)
def test_edge_spellings_parse_as_ipaddress_reads_them(text: str) -> None:
    assert by_parse_prefix(text) == by_ipaddress(text)


def test_random_spellings_parse_as_ipaddress_reads_them() -> None:
    rng = random.Random(7)
    pieces = ["0", "1", "00", "01", "9", "10", "99", "100", "199", "255", "256", "300", "999", "0255", ""]
    for _ in range(5000):
        text = ".".join(rng.choice(pieces) for _ in range(rng.choice((3, 4, 4, 4, 5))))
        if rng.random() < 0.8:
            text += "/" + rng.choice(["0", "8", "08", "24", "31", "32", "33", "", "x", "016"])
        assert by_parse_prefix(text) == by_ipaddress(text), text


def test_ipv4_text_is_ipaddress_text() -> None:
    rng = random.Random(3)
    values = [0, 1, 255, 256, 2**24, 2**32 - 1] + [rng.randrange(2**32) for _ in range(2000)]
    for value in values:
        assert ip_text(4, value) == str(ipaddress.IPv4Address(value))
    assert ip_text(6, 1) == "::1"
