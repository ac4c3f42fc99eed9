"""IP claims as the engine sees them: the claim type derived from the spec, and its syntax validation.

The claim type follows the reference (``GetIPClaimType``): ``address`` -> staticAddress, ``prefix`` ->
staticPrefix, ``range`` -> staticRange, none of them with ``createPrefix`` present -> dynamicPrefix,
otherwise dynamicAddress. Each type has its own validator whose messages are the reference's, prefixed
with the validator's name. Legacy prefix types (aggregate, pool, other) validate as regular; the claim
keeps the name it was given (``declared_type``) for indexes that follow the legacy model (``ipam.legacy``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ipam.errors import ClaimSyntaxError
from ipam.ipaddr import Prefix, parse_prefix, parse_range
from ipam.labels import string_map

STATIC_PREFIX = "staticPrefix"
STATIC_ADDRESS = "staticAddress"
STATIC_RANGE = "staticRange"
DYNAMIC_PREFIX = "dynamicPrefix"
DYNAMIC_ADDRESS = "dynamicAddress"

REGULAR, NETWORK = "regular", "network"
AGGREGATE, POOL, OTHER = "aggregate", "pool", "other"
LEGACY_TYPES = (AGGREGATE, POOL, OTHER)
INVALID = "invalid"

_VALIDATOR = {
    STATIC_PREFIX: "staticIPprefix",
    STATIC_ADDRESS: "staticIPAddress",
    STATIC_RANGE: "staticIPRange",
    DYNAMIC_PREFIX: "dynamicIPprefix",
    DYNAMIC_ADDRESS: "dynamicIPRange",  # sic: the reference's name
}
_FIELD_WORD = {"defaultGateway": "defaultGateway", "createPrefix": "createPrefix", "prefixLength": "prefixLength",
               "addressFamily": "addressFamily", "idx": "index"}


def prefix_type_of(value: Any) -> str:
    """regular (also for absent and legacy names), network, or ``invalid``."""
    if value in (None, "", REGULAR, *LEGACY_TYPES):
        return REGULAR
    return NETWORK if value == NETWORK else INVALID


@dataclass
class IPClaim:
    """A validated IP claim: what to allocate and for whom."""

    name: str
    uid: str
    claim_type: str
    prefix_type: str
    kind: str = "IPClaim"
    declared_type: str = ""  # spec.prefixType as written when it is a known type name ("" when absent)
    index_owned: bool = False
    prefix: Prefix | None = None  # static prefix or static address, parsed
    text: str = ""  # static prefix or static address exactly as written
    range: tuple[int, int, int] | None = None  # (family, first, last)
    range_text: str = ""
    prefix_length: int | None = None
    default_gateway: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    selector: dict[str, str] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)  # the previous status (prefix/address/range)

    @property
    def network(self) -> bool:
        return self.prefix_type == NETWORK


def claim_type_of(spec: Mapping[str, Any]) -> str:
    # a field given empty is given (the reference's pointer fields): ``prefix: ""`` is a prefix that does not parse
    given = [(k, spec[k]) for k in ("address", "prefix", "range") if spec.get(k) is not None]
    if len(given) > 1:
        got = ", ".join(f"{k}: {v}" for k, v in given)
        raise ClaimSyntaxError([f"an ipclaim can only have 1 claimType, got {got}"])
    if given:
        return {"address": STATIC_ADDRESS, "prefix": STATIC_PREFIX, "range": STATIC_RANGE}[given[0][0]]
    return DYNAMIC_PREFIX if spec.get("createPrefix") is not None else DYNAMIC_ADDRESS


def _present(spec: Mapping[str, Any], key: str) -> bool:
    return spec.get(key) is not None


def _forbid(name: str, spec: Mapping[str, Any], keys: tuple[str, ...]) -> list[str]:
    return [f"{name} cannot have a {_FIELD_WORD[k]}" for k in keys if _present(spec, k)]


def _check_prefix_type(name: str, prefix_type: str) -> list[str]:
    return [f"{name}, invalid claim type, got {INVALID}"] if prefix_type == INVALID else []


def _validate_static_prefix(name: str, spec: Mapping[str, Any], claim: IPClaim) -> list[str]:
    errors = _check_prefix_type(name, claim.prefix_type)
    try:
        prefix = parse_prefix(str(spec["prefix"]))
    except ValueError as exc:
        return [*errors, f"{name} invalid prefix {spec['prefix']}, err: {exc}"]
    claim.prefix, claim.text = prefix, str(spec["prefix"])
    claim.prefix_length = prefix.plen
    if prefix.full:
        errors.append(f"{name} invalid prefix, no /32 for ipv4 or /128 for ipv6 notationallowed, got {spec['prefix']}")
    if claim.prefix_type != NETWORK and prefix.address != prefix.network:
        errors.append(f"{name}, invalid prefix net <> address is not allowed for claimType: {REGULAR}")
    if _present(spec, "defaultGateway"):
        if claim.prefix_type != NETWORK:
            errors.append(f"{name} cannot have a defaultGateway on a prefix which is not a network type")
        elif prefix.address in (prefix.network, prefix.broadcast):
            errors.append(
                f"{name} cannot have a defaultGateway on a prefix which is the first or last ip in the prefix"
            )
    return errors + _forbid(name, spec, ("addressFamily", "idx"))


def _validate_static_address(name: str, spec: Mapping[str, Any], claim: IPClaim) -> list[str]:
    try:
        address = parse_prefix(str(spec["address"]), bare_ok=True)
    except ValueError as exc:
        return [f"{name} invalid address {spec['address']}, err: {exc}"]
    claim.prefix, claim.text = address, str(spec["address"])
    errors = []
    if address.full and _present(spec, "defaultGateway"):
        errors.append(f"{name} cannot have a defaultGateway on a prefix which is not a network type")
    if not address.full and not address.point_to_point and address.address in (address.network, address.broadcast):
        errors.append(f"{name} cannot have a address that is the first or last address in a prefix based address")
    return errors + _forbid(name, spec, ("createPrefix", "prefixLength", "addressFamily", "idx"))


def _validate_static_range(name: str, spec: Mapping[str, Any], claim: IPClaim) -> list[str]:
    errors = []
    try:
        claim.range = parse_range(str(spec["range"]))
        claim.range_text = str(spec["range"])
    except ValueError as exc:
        errors.append(f"{name} invalid range; err {exc}")
    if claim.prefix_type != REGULAR:
        errors.append(f"{name} invalid claim, expecting {REGULAR}, got {claim.prefix_type}")
    return errors + _forbid(name, spec, ("defaultGateway", "createPrefix", "prefixLength", "addressFamily", "idx"))


def _validate_dynamic_prefix(name: str, spec: Mapping[str, Any], claim: IPClaim) -> list[str]:
    errors = _check_prefix_type(name, claim.prefix_type) + _forbid(name, spec, ("defaultGateway",))
    if not _present(spec, "createPrefix"):
        errors.append(f"{name} must have a createPrefix")
    length = spec.get("prefixLength")
    if length is None:
        errors.append(f"{name} must have a prefixLength")
    elif not isinstance(length, int) or isinstance(length, bool) or not 0 <= length <= 128:
        errors.append(f"{name} invalid prefixLength {length}")
    else:
        claim.prefix_length = length
    return errors


def _validate_dynamic_address(name: str, spec: Mapping[str, Any], claim: IPClaim) -> list[str]:
    return _check_prefix_type(name, claim.prefix_type) + _forbid(
        name, spec, ("defaultGateway", "createPrefix", "prefixLength")
    )


_VALIDATORS = {
    STATIC_PREFIX: _validate_static_prefix,
    STATIC_ADDRESS: _validate_static_address,
    STATIC_RANGE: _validate_static_range,
    DYNAMIC_PREFIX: _validate_dynamic_prefix,
    DYNAMIC_ADDRESS: _validate_dynamic_address,
}


def previous_values(status: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a claim takes of its previous status: the value fields it holds."""
    return {k: v for k, v in (status or {}).items() if k in ("prefix", "address", "range") and v}


def parse_ip_claim(
    name: str,
    spec: Mapping[str, Any],
    *,
    uid: str = "",
    status: Mapping[str, Any] | None = None,
    index_owned: bool = False,
    kind: str = "IPClaim",
) -> IPClaim:
    """Validate ``spec`` and return the claim; raises ``ClaimSyntaxError`` with every problem found."""
    claim_type = claim_type_of(spec)
    claim = IPClaim(
        name=name,
        uid=uid,
        claim_type=claim_type,
        prefix_type=prefix_type_of(spec.get("prefixType")),
        kind=kind,
        declared_type=str(spec["prefixType"]) if spec.get("prefixType") in (REGULAR, NETWORK, *LEGACY_TYPES) else "",
        index_owned=index_owned,
        default_gateway=bool(spec.get("defaultGateway")),
        labels=string_map(spec.get("labels")),
        selector=string_map((spec.get("selector") or {}).get("matchLabels")),
        status=previous_values(status),
    )
    errors = _VALIDATORS[claim_type](_VALIDATOR[claim_type], spec, claim)
    if errors:
        raise ClaimSyntaxError(errors)
    return claim
