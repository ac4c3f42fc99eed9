"""System label keys, label maps, selector matching and the owner rule shared by every allocator.

Every stored value carries the labels below next to the claim's own labels; selectors
(``spec.selector.matchLabels``, all pairs must match, empty matches everything) may use both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ipam.errors import AllocationError

CLAIM_NAME = "be.kuid.dev/claim-name"
CLAIM_UID = "be.kuid.dev/claim-uid"
OWNER_KIND = "be.kuid.dev/owner-kind"
CLAIM_TYPE = "be.kuid.dev/claim-type"
INDEX_ENTRY = "be.kuid.dev/index-entry"
PREFIX_TYPE = "ipam.be.kuid.dev/ipprefix-type"
SUMMARY_TYPE = "ipam.be.kuid.dev/claim-summary-type"
ADDRESS_FAMILY = "ipam.be.kuid.dev/address-family"
SUBNET = "ipam.be.kuid.dev/subnet"
DEFAULT_GATEWAY = "ipam.be.kuid.dev/default-gateway"
SYSTEM_KEYS = frozenset((CLAIM_NAME, CLAIM_UID, OWNER_KIND, CLAIM_TYPE, INDEX_ENTRY, PREFIX_TYPE, SUMMARY_TYPE,
                         ADDRESS_FAMILY, SUBNET, DEFAULT_GATEWAY))


def string_map(values: Mapping[Any, Any] | None) -> dict[str, str]:
    """Labels or a selector's ``matchLabels`` as text (YAML may have given numbers or booleans)."""
    return {str(k): str(v) for k, v in (values or {}).items()}


def matches(selector: Mapping[str, str] | None, labels: Mapping[str, str]) -> bool:
    return not selector or all(labels.get(k) == v for k, v in selector.items())


def go_map(values: Mapping[str, str] | None) -> str:
    """A string map as Go's fmt prints it: ``map[a:1 b:2]`` (keys sorted)."""
    return "map[" + " ".join(f"{k}:{v}" for k, v in sorted((values or {}).items())) + "]"


def check_owner(name: str, uid: str, held_name: str, held_uid: str) -> None:
    """The reference's owner rule: a conflict only when both the name and the uid differ."""
    if name != held_name and uid != held_uid:
        raise AllocationError(f"route owned by different claim got name {name}/{held_name} uid {uid}/{held_uid}")
