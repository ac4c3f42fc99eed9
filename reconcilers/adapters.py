"""The allocator-specific parts of the binding: IPAM and the four ID allocators (VLAN, AS, GENID, EXTCOMM).

Each adapter says which kinds it serves, how an index and a claim object turn into engine input, which
claims an index derives, the restore order, and what an Entry looks like (names as the reference's:
IPAM ``<namespace>.<index>.<subnet>``, IDs ``<index>.<id>-<len>`` and, inside a range,
``<range claim>.<id>-<len>``).
"""

from __future__ import annotations

from typing import Any

from choreo.plugin_api import is_dns1123_subdomain
from ipam import idclaim, ipclaim, legacy
from ipam.allocation import Allocation, ValueKey
from ipam.errors import ClaimSyntaxError
from ipam.idindex import IDIndex
from ipam.ipaddr import Prefix, parse_prefix, subnet_name
from ipam.ipindex import IPIndex
from ipam.labels import SYSTEM_KEYS

Object = dict[str, Any]


def _md(obj: Object) -> Object:
    return obj.get("metadata") or {}


def _user_labels(allocation: Allocation) -> Object:
    """The labels an entry shows: the value's non-system labels (a user label named like a system one is the
    system's, so not the user's)."""
    return {k: v for k, v in allocation.labels.items() if k not in SYSTEM_KEYS}


def _index_owned(claim: Object, index_kind: str) -> bool:
    return any(r.get("kind") == index_kind for r in _md(claim).get("ownerReferences") or [])


class IPAMAdapter:
    group = "ipam.be.kuid.dev"
    index_kind, claim_kind, entry_kind = "IPIndex", "IPClaim", "IPEntry"
    failure_prefix = "cannot claim ip err "
    value_fields: tuple[str, ...] = ("prefix", "address", "range")
    range_entries_drop_index = False
    _order = (ipclaim.STATIC_PREFIX, ipclaim.STATIC_RANGE, ipclaim.DYNAMIC_PREFIX, ipclaim.STATIC_ADDRESS,
              ipclaim.DYNAMIC_ADDRESS)

    def validate_index(self, index: Object) -> None:
        """Refuse a prefix that does not parse, or whose claim would not (a /32, host bits in a regular
        prefix), naming the prefix in the index: the index is what the user wrote, not its derived claim."""
        name = _md(index).get("name", "")
        for i, item in enumerate((index.get("spec") or {}).get("prefixes") or []):
            try:
                prefix = parse_prefix(str(item.get("prefix", "")))
            except ValueError as exc:
                raise ClaimSyntaxError([f"prefixes[{i}].prefix: {exc}"]) from None
            derived, spec = self._derived_claim(name, item, prefix)
            if not is_dns1123_subdomain(derived):  # an IPv6 prefix at "::" (kuid writes its colons as dashes)
                raise ClaimSyntaxError([
                    f"prefixes[{i}].prefix: {item.get('prefix')}: the claim derived for it would be named "
                    f"{derived}, which is no object name (a name begins and ends with a letter or digit); its "
                    "entries too: kuid names both after the prefix"])
            try:
                ipclaim.parse_ip_claim(derived, spec, index_owned=True)
            except ClaimSyntaxError as exc:
                raise ClaimSyntaxError([f"prefixes[{i}]: {detail}" for detail in exc.details]) from None

    @staticmethod
    def _legacy(index: Object) -> bool:
        return legacy.is_legacy_index((index.get("spec") or {}).get("prefixes") or [])

    def new_engine(self, index: Object) -> IPIndex:
        return IPIndex(_md(index)["name"], legacy=self._legacy(index))

    def engine_fits(self, engine: IPIndex, index: Object) -> bool:
        return engine.legacy == self._legacy(index)

    def parse_claim(
        self, engine: IPIndex | None, index: Object | None, claim: Object, status: Object
    ) -> ipclaim.IPClaim:
        return ipclaim.parse_ip_claim(
            _md(claim)["name"],
            claim.get("spec") or {},
            uid=_md(claim).get("uid", ""),
            status=status,
            index_owned=_index_owned(claim, self.index_kind),
            kind=self.claim_kind,
        )

    def derived_claims(self, index: Object) -> list[tuple[str, Object]]:
        name = _md(index)["name"]
        out = []
        for item in (index.get("spec") or {}).get("prefixes") or []:
            prefix = parse_prefix(str(item["prefix"]))
            out.append(self._derived_claim(name, item, prefix))
        return out

    @staticmethod
    def _derived_claim(index: str, item: Object, prefix: Prefix) -> tuple[str, Object]:
        """The name and spec of the static-prefix claim an index prefix ``item`` derives (kuid ``IPIndex ::
        GetClaim``)."""
        spec: Object = {"index": index, "prefix": str(item["prefix"]), "prefixLength": prefix.plen,
                        "createPrefix": True}
        if item.get("prefixType"):
            spec["prefixType"] = item["prefixType"]
        if item.get("labels"):
            spec["labels"] = dict(item["labels"])
        return f"{index}.{subnet_name(prefix)}", spec

    def restore_rank(self, parsed: ipclaim.IPClaim) -> tuple[int, ...]:
        """The prefixes first, a shorter one before a longer one (so whatever lies in a prefix, a dynamic one
        included, comes after it, as it did live), then in the reference's order: index-owned static, static
        and dynamic prefixes, ranges, static and dynamic addresses."""
        rank = 0 if parsed.index_owned and parsed.claim_type == ipclaim.STATIC_PREFIX else (
            1 + self._order.index(parsed.claim_type))
        if parsed.claim_type == ipclaim.STATIC_PREFIX and parsed.prefix is not None:
            return 0, parsed.prefix.plen, rank
        if parsed.claim_type == ipclaim.DYNAMIC_PREFIX and parsed.prefix_length is not None:
            return 0, parsed.prefix_length, rank
        return 1, 0, rank

    def entry_name(self, namespace: str, index: str, key: ValueKey, suffix: str) -> str:
        return f"{namespace}.{index}.{suffix}"

    def entry_spec(self, index: str, allocation: Allocation) -> Object:
        spec: Object = {
            "index": index,
            "indexEntry": allocation.index_entry,
            "prefixType": allocation.prefix_type,
            "claimType": allocation.claim_type,
            "prefix": allocation.value,
            "addressFamily": allocation.address_family,
        }
        if allocation.default_gateway:
            spec["defaultGateway"] = True
        labels = _user_labels(allocation)
        if labels:
            spec["labels"] = labels
        return spec


class IDAdapter:
    """VLAN, AS, GENID or EXTCOMM (``allocator`` = the API group's first label)."""

    failure_prefix = "cannot claim err "
    value_fields: tuple[str, ...] = ("id", "range")
    range_entries_drop_index = True  # an id from a range is <range claim>.<id>-<len>, no index in it

    def __init__(self, allocator: str, kind_prefix: str) -> None:
        self.allocator = allocator
        self.group = f"{allocator}.be.kuid.dev"
        self.index_kind = f"{kind_prefix}Index"
        self.claim_kind = f"{kind_prefix}Claim"
        self.entry_kind = f"{kind_prefix}Entry"

    def _space(self, index: Object) -> idclaim.IDSpace:
        return idclaim.index_space(self.allocator, index.get("spec") or {})

    def validate_index(self, index: Object) -> None:
        """Refuse a bad space (type, bounds) or a ``spec.claims`` item whose claim would not parse, naming the
        item in the index: the index is what the user wrote, not its derived claim."""
        space = self._space(index)
        name = _md(index).get("name", "")
        for i, (claim_name, spec) in enumerate(idclaim.listed_claims(name, index.get("spec") or {})):
            try:
                idclaim.parse_id_claim(space, claim_name, spec, kind=self.claim_kind, index=name)
            except ClaimSyntaxError as exc:
                raise ClaimSyntaxError([f"claims[{i}]: {detail}" for detail in exc.details]) from None

    def new_engine(self, index: Object) -> IDIndex:
        return IDIndex(self._space(index), _md(index)["name"])

    def engine_fits(self, engine: IDIndex, index: Object) -> bool:
        return engine.space == self._space(index)

    def _claim_space(self, engine: IDIndex | None, index: Object | None) -> idclaim.IDSpace:
        if engine is not None:
            return engine.space
        if index is not None:
            return self._space(index)
        # no index: check what can be checked without knowing the space (the widest one of the allocator)
        return idclaim.GENID_TYPES["64bit"] if self.allocator in ("genid", "extcomm") else self._space({})

    def parse_claim(
        self, engine: IDIndex | None, index: Object | None, claim: Object, status: Object
    ) -> idclaim.IDClaim:
        return idclaim.parse_id_claim(
            self._claim_space(engine, index),
            _md(claim)["name"],
            claim.get("spec") or {},
            kind=self.claim_kind,
            uid=_md(claim).get("uid", ""),
            index=str((claim.get("spec") or {}).get("index", "")),
            status=status,
            index_owned=_index_owned(claim, self.index_kind),
        )

    def derived_claims(self, index: Object) -> list[tuple[str, Object]]:
        return idclaim.derived_claims(self._space(index), _md(index)["name"], index.get("spec") or {})

    def restore_rank(self, parsed: idclaim.IDClaim) -> tuple[int, ...]:
        """Index-owned ranges, index-owned ids, other ranges, other static ids, then dynamic ids."""
        if parsed.claim_type == idclaim.DYNAMIC_ID:
            return (4,)
        rank = 0 if parsed.claim_type == idclaim.RANGE else 1
        return (rank if parsed.index_owned else rank + 2,)

    def entry_name(self, namespace: str, index: str, key: ValueKey, suffix: str) -> str:
        """``<index>.<id>-<len>`` for the main tree; a range table's value is ``<range claim>.<id>-<len>``."""
        return suffix if key[0] else f"{index}.{suffix}"

    def entry_spec(self, index: str, allocation: Allocation) -> Object:
        spec: Object = {"index": index, "indexEntry": False, "claimType": allocation.claim_type,
                        "id": allocation.value}
        labels = _user_labels(allocation)
        if labels:
            spec["labels"] = labels
        return spec


def all_adapters() -> list[IPAMAdapter | IDAdapter]:
    return [
        IPAMAdapter(),
        IDAdapter("vlan", "VLAN"),
        IDAdapter("as", "AS"),
        IDAdapter("genid", "GENID"),
        IDAdapter("extcomm", "EXTCOMM"),
    ]
