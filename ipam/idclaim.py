"""ID spaces (VLAN, AS, GENID, EXTCOMM), generic claims and index specs, with the reference's validation.

An ID space has ``bits`` of values and a naming ``width``: a VLAN is 12 bits shown in a 16-bit tree
(``100-16``; a range block of 8 ids is ``200-13``). The messages reuse the reference's words, including
its oddities (AS index errors say "vlan").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from ipam.errors import ClaimSyntaxError
from ipam.labels import string_map

STATIC_ID = "staticID"
DYNAMIC_ID = "dynamicID"
RANGE = "range"
RESERVED_MIN = "rangereservedmin"
RESERVED_MAX = "rangereservedmax"


@dataclass(frozen=True)
class IDSpace:
    claim_word: str  # in claim messages: "vlan", "AS", "GENID", "EXTCOMM"
    index_word: str  # in index messages: "vlan" (VLAN and AS), "GENID", "EXTCOMM"
    bits: int
    width: int

    @property
    def max(self) -> int:
        return (1 << self.bits) - 1

    @property
    def root(self) -> tuple[int, int]:
        return 0, self.width - self.bits

    @property
    def table_width(self) -> int:
        """The length shown for a value inside a range table (``range1.200-32``)."""
        return 64 if self.width == 64 else 32


VLAN = IDSpace("vlan", "vlan", 12, 16)
AS = IDSpace("AS", "vlan", 32, 32)
GENID_TYPES = {
    "16bit": IDSpace("GENID", "GENID", 16, 16),
    "32bit": IDSpace("GENID", "GENID", 32, 32),
    "48bit": IDSpace("GENID", "GENID", 48, 64),
    "64bit": IDSpace("GENID", "GENID", 64, 64),
}
EXTCOMM_TYPES = {
    "2byteAS": IDSpace("EXTCOMM", "EXTCOMM", 32, 32),
    "4byteAS": IDSpace("EXTCOMM", "EXTCOMM", 16, 16),
    "ipv4Address": IDSpace("EXTCOMM", "EXTCOMM", 16, 16),
    "opaque": IDSpace("EXTCOMM", "EXTCOMM", 48, 64),
}
EXTCOMM_SUBTYPES = ("target", "origin")


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


# ------------------------------------------------------------------ index


def index_space(allocator: str, spec: Mapping[str, Any]) -> IDSpace:
    """The space an index of ``allocator`` (vlan, as, genid, extcomm) describes; validates the spec."""
    errors: list[str] = []
    if allocator == "vlan":
        space = VLAN
    elif allocator == "as":
        space = AS
    else:
        types = GENID_TYPES if allocator == "genid" else EXTCOMM_TYPES
        word = "GENID" if allocator == "genid" else "EXTCOMM"
        found = types.get(str(spec.get("type")))
        if found is None:
            raise ClaimSyntaxError([f"invalid {word} Type {spec.get('type')}"])
        space = found
        sub = spec.get("subType")
        if allocator == "extcomm" and sub is not None and sub not in EXTCOMM_SUBTYPES:
            errors.append(f"invalid EXTCOMM SubType {sub}")
    lo, hi = spec.get("minID"), spec.get("maxID")
    for bound in (lo, hi):
        if bound is not None and (not _is_int(bound) or not 0 <= bound <= space.max):
            errors.append(f"invalid {space.index_word} ID {bound}")
    if not errors and lo is not None and hi is not None and lo > hi:
        word = space.index_word
        errors.append(f"min {word} ID {lo} cannot be bigger than max {word} ID {hi}")
    if errors:
        raise ClaimSyntaxError(errors)
    return space


def derived_claims(space: IDSpace, index: str, spec: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The claims an index implies: reserved ranges below minID / above maxID, then ``spec.claims``."""
    out: list[tuple[str, dict[str, Any]]] = []
    lo, hi = spec.get("minID"), spec.get("maxID")
    if lo:
        out.append((f"{index}.{RESERVED_MIN}", {"index": index, "range": f"0-{lo - 1}"}))
    if hi is not None and hi != space.max:
        out.append((f"{index}.{RESERVED_MAX}", {"index": index, "range": f"{hi + 1}-{space.max}"}))
    return out + listed_claims(index, spec)


def listed_claims(index: str, spec: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The claims of ``spec.claims``, one per item, in order: ``<index>.<name>`` with its id or range."""
    out: list[tuple[str, dict[str, Any]]] = []
    for item in spec.get("claims") or []:
        claim: dict[str, Any] = {"index": index}
        if item.get("id") is not None:
            claim["id"] = item["id"]
        elif item.get("range") is not None:
            claim["range"] = item["range"]
        if item.get("labels"):
            claim["labels"] = dict(item["labels"])
        out.append((f"{index}.{item.get('name')}", claim))
    return out


def reserved_names(index: str) -> tuple[str, str]:
    return f"{index}.{RESERVED_MIN}", f"{index}.{RESERVED_MAX}"


# ------------------------------------------------------------------ claim


@dataclass
class IDClaim:
    name: str
    uid: str
    claim_type: str
    kind: str
    index_owned: bool = False
    id: int | None = None
    range: tuple[int, int] | None = None
    range_text: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    selector: dict[str, str] = field(default_factory=dict)
    status_id: int | None = None


_DECIMAL = re.compile(r"[0-9]+")  # ASCII digits only, no spaces: what the reference reads as a decimal integer


def _parse_range(space: IDSpace, text: str) -> tuple[tuple[int, int] | None, list[str]]:
    word = space.claim_word
    head, sep, tail = text.partition("-")
    if not sep:
        return None, [f"invalid {word} range, expected <start>-<end>, got: {text}"]
    errors = []
    if not _DECIMAL.fullmatch(head):
        errors.append(f"invalid {word} range start, got: {head}")
    if not _DECIMAL.fullmatch(tail):
        errors.append(f"invalid {word} range end, got: {tail}")
    if errors:
        return None, errors
    lo, hi = int(head), int(tail)
    if lo > hi:
        errors.append(f"invalid {word} range start > end {text}")
    errors += [f"invalid {word} id {n}" for n in (lo, hi) if n > space.max]
    return (lo, hi), errors


def previous_id(space: IDSpace, status: Mapping[str, Any] | None) -> int | None:
    """What a claim takes of its previous status: the id it holds, when it is one of ``space``."""
    previous = (status or {}).get("id")
    return previous if _is_int(previous) and 0 <= previous <= space.max else None


def parse_id_claim(
    space: IDSpace,
    name: str,
    spec: Mapping[str, Any],
    *,
    kind: str,
    uid: str = "",
    index: str = "",
    status: Mapping[str, Any] | None = None,
    index_owned: bool = False,
) -> IDClaim:
    """Validate a generic claim against ``space``; raises ``ClaimSyntaxError``."""
    word = space.claim_word
    given_id, given_range = spec.get("id"), spec.get("range")
    if given_id is not None and given_range is not None:
        raise ClaimSyntaxError([f"a claim can only have 1 addressing, got id: {given_id}, range: {given_range}"])
    # a field given empty is given (the reference's pointer fields): ``range: ""`` is a range that does not parse
    claim_type = STATIC_ID if given_id is not None else RANGE if given_range is not None else DYNAMIC_ID
    claim = IDClaim(
        name=name,
        uid=uid,
        claim_type=claim_type,
        kind=kind,
        index_owned=index_owned,
        labels=string_map(spec.get("labels")),
        selector=string_map((spec.get("selector") or {}).get("matchLabels")),
        status_id=previous_id(space, status),
    )
    if claim_type == STATIC_ID:
        if not _is_int(given_id) or not 0 <= given_id <= space.max:
            raise ClaimSyntaxError([f"invalid {word} id {STATIC_ID}"])
        claim.id = given_id
    elif claim_type == RANGE:
        claim.range, errors = _parse_range(space, str(given_range))
        claim.range_text = str(given_range)
        if name == index:
            errors.append("a name of range cannot be the same as the index")
        if errors:
            raise ClaimSyntaxError([f"invalid {word} range range, err: {'; '.join(errors)}"])
    return claim
