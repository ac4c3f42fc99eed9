"""IP text handling for the IP engine: parsing prefixes, addresses and ranges to integers, and naming.

IPv4 and IPv6 live in one index but in separate bit spaces (32 and 128 bits); a value is
``(family, start, plen)``. Subnet names follow henderiw/iputil: masked network address, ``-``, length,
with every ``:`` replaced by ``-`` (``1000::/32`` -> ``1000---32``).
Every claim written is parsed (its spec and its previous status), so the plain IPv4 forms are parsed and
printed here directly; anything else goes through ``ipaddress``, which the direct forms agree with.
"""

from __future__ import annotations

import ipaddress
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


# a.b.c.d[/len] in the one spelling ipaddress reads the same way: decimal octets without leading zeros
_OCTET = "(0|[1-9][0-9]{0,2})"
_PLAIN_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}(?:/([0-9]|[12][0-9]|3[0-2]))?")


def ip_text(family: int, value: int) -> str:
    if family == 4:
        return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"
    return str(ipaddress.IPv6Address(value))


def _plain_ipv4(text: str) -> Prefix | None:
    """``text`` as a prefix when it is a plain IPv4 address or prefix, else None (then ``ipaddress`` decides)."""
    found = _PLAIN_IPV4.fullmatch(text)
    if found is None:
        return None
    a, b, c, d, plen = found.groups()
    octets = (int(a), int(b), int(c), int(d))
    if max(octets) > 255:
        return None
    value = (octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]
    return Prefix(4, value, 32 if plen is None else int(plen))


def parse_prefix(text: str, *, bare_ok: bool = False) -> Prefix:
    """``a.b.c.d/len`` (host bits allowed) or, with ``bare_ok``, a bare address meaning full length."""
    if "/" not in text and not bare_ok:
        raise ValueError(f'netip.ParsePrefix("{text}"): no \'/\'')
    plain = _plain_ipv4(text)
    if plain is not None:
        return plain
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError as exc:
        raise ValueError(f'netip.ParsePrefix("{text}"): {exc}') from None
    return Prefix(iface.version, int(iface.ip), iface.network.prefixlen)


def parse_range(text: str) -> tuple[int, int, int]:
    """``<ip>-<ip>`` as (family, first, last), with the wording of netipx.ParseIPRange errors."""
    head, sep, tail = text.partition("-")
    if not sep:
        raise ValueError(f'no hyphen in range "{text}"')
    try:
        first = ipaddress.ip_address(head)
    except ValueError:
        raise ValueError(f'invalid From IP "{head}" in range "{text}"') from None
    try:
        second = ipaddress.ip_address(tail)
    except ValueError:
        raise ValueError(f'invalid To IP "{tail}" in range "{text}"') from None
    if first.version != second.version or int(first) > int(second):
        raise ValueError(f"range {first} to {second} not valid")
    return first.version, int(first), int(second)


def subnet_name(prefix: Prefix) -> str:
    return f"{ip_text(prefix.family, prefix.network)}-{prefix.plen}".replace(":", "-")
