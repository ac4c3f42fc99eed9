"""The -r plug-in through the API server: synchronous allocation, entries, index-derived claims,
re-evaluation of dependents, every allocator kind, rejection of bad specs, and restarts."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from allocator_api import IPAM, claim, index, make_api, obj, ready

from choreo.apiserver.server import APIServer
from choreo.errors import Invalid
from choreo.plugins import StageContext
from reconcilers.binding import TOKENS
from reconcilers.plugin import AllocatorPlugin

V4 = {"matchLabels": {"ipam.be.kuid.dev/address-family": "ipv4"}}
V6 = {"matchLabels": {"ipam.be.kuid.dev/address-family": "ipv6"}}


def names(api: APIServer, kind: str, group: str = IPAM) -> list[str]:
    return [o["metadata"]["name"] for o in api.list(group, kind)]


def test_plugin_serves_fifteen_kinds_as_v1alpha1() -> None:
    crds = AllocatorPlugin().crds()
    assert len(crds) == 15
    assert {c["spec"]["versions"][0]["name"] for c in crds} == {"v1alpha1"}
    groups = {c["spec"]["group"] for c in crds}
    assert groups == {f"{g}.be.kuid.dev" for g in ("ipam", "vlan", "as", "genid", "extcomm")}


def test_the_stage_fails_for_each_input_of_the_project_that_got_no_value(api: APIServer, tmp_path: Path) -> None:
    """The reference refuses a claim it cannot allocate, which fails the load of its file; stored here with
    Ready=False, an input claim or index that is still not Ready when the reconcilers are quiet fails the stage.
    A claim written through the API (or by a reconciler: it has an owner) is the writer's to look at."""
    file_origin = {"api.choreo.kform.dev/origin": '{"kind":"File"}'}
    stage = AllocatorPlugin().after_reconcile
    index(api, {"prefix": "10.0.0.0/30"})
    assert stage(StageContext(api, tmp_path)) is None
    for name, address in (("outside", "10.9.0.1/32"), ("by-hand", "10.8.0.1/32"), ("inside", "10.0.0.1/32")):
        written = obj(IPAM, "IPClaim", name, {"index": "kubenet", "address": address})
        if name != "by-hand":
            written["metadata"]["annotations"] = file_origin
        api.apply(written, manager="inputfileloader")
    result = stage(StageContext(api, tmp_path))
    assert result is not None and result.name == "allocators"
    assert result.errors == [
        "IPClaim default/outside (an input of the project) is not Ready: cannot claim ip err a prefix range always "
        "needs a parent"
    ]
    api.apply(obj(IPAM, "IPIndex", "kubenet", {"prefixes": [{"prefix": "10.0.0.0/8"}]}), manager="test")
    assert stage(StageContext(api, tmp_path)) is None  # the index grew: the claim was retried and got its value


def test_claim_is_allocated_while_written_and_mirrored_by_entries(api: APIServer) -> None:
    stored = index(api, {"prefix": "10.0.0.0/24", "prefixType": "network"}, {"prefix": "1000::/64"})
    assert ready(stored) == ("True", "")
    assert names(api, "IPClaim") == ["kubenet.10.0.0.0-24", "kubenet.1000---64"]
    a = claim(api, "a", selector=V4)
    b = claim(api, "b", selector=V6)
    assert a["status"]["address"] == "10.0.0.1/24"
    assert b["status"]["address"] == "1000::/128"
    assert api.get(IPAM, "IPClaim", "default", "a")["status"]["address"] == "10.0.0.1/24"
    assert names(api, "IPEntry") == [
        "default.kubenet.10.0.0.0-24", "default.kubenet.10.0.0.0-32", "default.kubenet.10.0.0.1-32",
        "default.kubenet.10.0.0.255-32", "default.kubenet.1000---128", "default.kubenet.1000---64"]
    entry = api.get(IPAM, "IPEntry", "default", "default.kubenet.10.0.0.1-32")
    assert entry["spec"] == {"index": "kubenet", "indexEntry": False, "prefixType": "network",
                             "claimType": "dynamicAddress", "prefix": "10.0.0.1/32", "addressFamily": "ipv4"}
    assert entry["metadata"]["ownerReferences"][0]["name"] == "a"
    api.delete(IPAM, "IPClaim", "default", "a")
    assert "default.kubenet.10.0.0.1-32" not in names(api, "IPEntry")


def test_claim_before_its_index_fails_then_is_retried(api: APIServer) -> None:
    early = claim(api, "early")
    assert ready(early) == ("False", "cannot claim ip err index default.kubenet not initialized")
    index(api, {"prefix": "10.0.0.0/24"})
    assert api.get(IPAM, "IPClaim", "default", "early")["status"]["address"] == "10.0.0.0/32"


def test_failed_claims_are_retried_static_before_dynamic_as_a_new_index_replays_them(api: APIServer) -> None:
    # "a0" sorts before "gw": by name the dynamic claim would take the gateway address the static one names
    index(api, {"prefix": "10.0.0.0/24", "prefixType": "network"})
    assert claim(api, "gw", address="10.0.0.1/24")["status"]["address"] == "10.0.0.1/24"
    assert claim(api, "a0")["status"]["address"] == "10.0.0.254/24"
    index(api)
    assert [ready(api.get(IPAM, "IPClaim", "default", n))[0] for n in ("a0", "gw")] == ["False", "False"]
    index(api, {"prefix": "10.0.0.0/24", "prefixType": "network"})
    assert {n: api.get(IPAM, "IPClaim", "default", n)["status"].get("address") for n in ("a0", "gw")} == {
        "a0": "10.0.0.254/24", "gw": "10.0.0.1/24"}


def test_removed_prefix_makes_dependents_not_ready_and_a_new_prefix_recovers_them(api: APIServer) -> None:
    index(api, {"prefix": "10.0.0.0/24"}, {"prefix": "1000::/64"})
    claim(api, "a", selector=V6)
    index(api, {"prefix": "10.0.0.0/24"})
    a = api.get(IPAM, "IPClaim", "default", "a")
    assert "address" not in a["status"]
    assert ready(a) == ("False", "cannot claim ip err dynamic claim: no available routes based on the selector "
                                 "labels map[ipam.be.kuid.dev/address-family:ipv6]")
    assert names(api, "IPClaim") == ["a", "kubenet.10.0.0.0-24"]
    index(api, {"prefix": "10.0.0.0/24"}, {"prefix": "2000::/64"})
    assert api.get(IPAM, "IPClaim", "default", "a")["status"]["address"] == "2000::/128"


def test_a_claim_whose_new_spec_fails_gives_up_its_old_values_in_the_store_and_the_engine(api: APIServer) -> None:
    pool = {"matchLabels": {"role": "pool"}}
    index(api, {"prefix": "10.2.0.0/24", "labels": {"role": "pool"}})
    assert claim(api, "x", createPrefix=True, prefixLength=25, selector=pool)["status"]["prefix"] == "10.2.0.0/25"
    assert ready(claim(api, "f", prefix="10.2.0.0/25"))[0] == "False"  # x's: f waits among the failed claims
    # c lives in x: releasing x's prefix re-evaluates c, which then fails, and retries the failed claims
    claim(api, "c", selector={"matchLabels": {"be.kuid.dev/claim-name": "x"}})
    moved = api.get(IPAM, "IPClaim", "default", "x")
    moved["spec"] = {"index": "kubenet", "address": "10.9.9.9/32"}  # no parent: fails
    written = api.update(moved)  # at x's resourceVersion: no write of x meanwhile (its old spec retried: Conflict)
    assert ready(written) == ("False", "cannot claim ip err a prefix range always needs a parent")
    assert api.get(IPAM, "IPClaim", "default", "x") == written
    assert ready(api.get(IPAM, "IPClaim", "default", "c"))[0] == "False"
    assert api.get(IPAM, "IPClaim", "default", "f")["status"]["prefix"] == "10.2.0.0/25"  # the freed space
    assert {e["spec"]["prefix"]: e["metadata"]["ownerReferences"][0]["name"] for e in api.list(IPAM, "IPEntry")} == {
        "10.2.0.0/24": "kubenet.10.2.0.0-24", "10.2.0.0/25": "f"}
    assert claim(api, "y", prefix="10.2.0.128/25")["status"]["prefix"] == "10.2.0.128/25"  # the engine let x go


def test_a_claim_that_moves_frees_its_old_value_for_the_failed_claims_at_once(api: APIServer) -> None:
    index(api, {"prefix": "10.3.0.0/24"})
    assert claim(api, "x", prefix="10.3.0.0/25")["status"]["prefix"] == "10.3.0.0/25"
    assert ready(claim(api, "f", prefix="10.3.0.0/25"))[0] == "False"  # x's: f waits among the failed claims
    moved = api.get(IPAM, "IPClaim", "default", "x")
    moved["spec"] = {"index": "kubenet", "prefix": "10.3.0.128/25"}  # x lets 10.3.0.0/25 go in its own write
    assert api.update(moved)["status"]["prefix"] == "10.3.0.128/25"
    assert api.get(IPAM, "IPClaim", "default", "f")["status"]["prefix"] == "10.3.0.0/25"  # the space x freed
    assert {e["spec"]["prefix"]: e["metadata"]["ownerReferences"][0]["name"] for e in api.list(IPAM, "IPEntry")} == {
        "10.3.0.0/24": "kubenet.10.3.0.0-24", "10.3.0.0/25": "f", "10.3.0.128/25": "x"}


def test_bad_claim_and_bad_index_are_rejected_with_one_line(api: APIServer) -> None:
    with pytest.raises(Invalid) as info:
        claim(api, "x", prefix="10.0.0.0/24", address="10.0.0.1/32")
    assert str(info.value) == ('IPClaim.ipam.be.kuid.dev "default/x" is invalid: spec: an ipclaim can only have '
                               "1 claimType, got address: 10.0.0.1/32, prefix: 10.0.0.0/24")
    with pytest.raises(Invalid) as info:
        index(api, {"prefix": "10.0.0/24"})
    assert str(info.value).startswith('IPIndex.ipam.be.kuid.dev "default/kubenet" is invalid: spec: prefixes[0]')
    assert names(api, "IPClaim") == []


@pytest.mark.parametrize(
    ("group", "kind", "spec", "message"),
    [
        (IPAM, "IPIndex", {"prefixes": [{"prefix": "10.0.0.0/24"}, {"prefix": "10.0.1.1/32"}]},
         "prefixes[1]: staticIPprefix invalid prefix, no /32 for ipv4 or /128 for ipv6 notationallowed, got "
         "10.0.1.1/32"),
        (IPAM, "IPIndex", {"prefixes": [{"prefix": "10.0.0.1/24"}]},
         "prefixes[0]: staticIPprefix, invalid prefix net <> address is not allowed for claimType: regular"),
        ("vlan.be.kuid.dev", "VLANIndex", {"claims": [{"name": "ok", "id": 7}, {"name": "mgmt", "id": 5000}]},
         "claims[1]: invalid vlan id staticID"),
        ("vlan.be.kuid.dev", "VLANIndex", {"claims": [{"name": "pool", "range": "20-10"}]},
         "claims[0]: invalid vlan range range, err: invalid vlan range start > end 20-10"),
        ("vlan.be.kuid.dev", "VLANIndex", {"claims": [{"name": "pool", "range": ""}]},
         "claims[0]: invalid vlan range range, err: invalid vlan range, expected <start>-<end>, got: "),
        (IPAM, "IPIndex", {"prefixes": [{"prefix": "1000::/64"}, {"prefix": "::/64"}]},
         "prefixes[1].prefix: ::/64: the claim derived for it would be named kubenet.---64, which is no object "
         "name (a name begins and ends with a letter or digit); its entries too: kuid names both after the prefix"),
    ],
)
def test_an_index_item_whose_claim_would_not_parse_refuses_the_index_naming_the_item(
    api: APIServer, group: str, kind: str, spec: dict[str, Any], message: str
) -> None:
    """The user wrote the index: the refusal names it and the item, not the claim it would derive."""
    with pytest.raises(Invalid) as info:
        api.apply(obj(group, kind, "kubenet", spec), manager="t")
    assert str(info.value) == f'{kind}.{group} "default/kubenet" is invalid: spec: {message}'
    assert api.list(group, kind) == [] and api.list(group, kind.replace("Index", "Claim")) == []


def test_index_prefix_label_change_reaches_the_entries_under_it_in_the_same_write(api: APIServer) -> None:
    index(api, {"prefix": "10.0.0.0/24", "labels": {"purpose": "loopback"}})
    claim(api, "a", selector={"matchLabels": {"purpose": "loopback"}})
    claim(api, "b", address="10.0.0.9/32", labels={"role": "static"})
    index(api, {"prefix": "10.0.0.0/24", "labels": {"purpose": "infra"}})
    labels = {e["metadata"]["name"]: e["spec"].get("labels") for e in api.list(IPAM, "IPEntry")}
    assert labels == {"default.kubenet.10.0.0.0-24": {"purpose": "infra"},
                      "default.kubenet.10.0.0.0-32": {"purpose": "infra"},
                      "default.kubenet.10.0.0.9-32": {"purpose": "infra", "role": "static"}}
    assert api.get(IPAM, "IPClaim", "default", "a")["status"]["address"] == "10.0.0.0/32"


def test_network_under_network_index_prefix_fails_the_index(api: APIServer) -> None:
    stored = index(api, {"prefix": "10.0.0.0/16", "prefixType": "network"},
                   {"prefix": "10.0.1.0/24", "prefixType": "network"})
    assert ready(stored) == (
        "False", "cannot apply index err parent 10.0.0.0/16/10.0.1.0/24 nesting network/network is not possible")


def test_index_delete_removes_every_claim_and_entry(api: APIServer) -> None:
    index(api, {"prefix": "10.0.0.0/24"})
    claim(api, "a")
    api.delete(IPAM, "IPIndex", "default", "kubenet")
    assert names(api, "IPClaim") == []
    assert names(api, "IPEntry") == []


@pytest.mark.parametrize(
    ("group", "prefix", "index_spec", "expected", "entry"),
    [
        ("vlan", "VLAN", {"minID": 1, "maxID": 4094}, [1, 4094, 2], "index1.1-16"),
        ("as", "AS", {"minID": 65000, "maxID": 65100}, [65100, 65096, 65097], "index1.65100-32"),
        ("genid", "GENID", {"type": "48bit"}, [0, 1, 2], "index1.0-64"),
        ("extcomm", "EXTCOMM", {"type": "4byteAS", "subType": "target"}, [0, 1, 2], "index1.0-16"),
    ],
)
def test_id_allocators(api: APIServer, group: str, prefix: str, index_spec: dict[str, Any], expected: list[int],
                       entry: str) -> None:
    g = f"{group}.be.kuid.dev"
    assert ready(api.apply(obj(g, f"{prefix}Index", "index1", index_spec), manager="t")) == ("True", "")
    got = [api.apply(obj(g, f"{prefix}Claim", f"c{i}", {"index": "index1"}), manager="t")["status"]["id"]
           for i in range(3)]
    assert got == expected
    assert entry in names(api, f"{prefix}Entry", g)
    lo = index_spec.get("minID", 0) + 10
    ranged = api.apply(obj(g, f"{prefix}Claim", "r", {"index": "index1", "range": f"{lo}-{lo + 9}"}), manager="t")
    assert ranged["status"]["range"] == f"{lo}-{lo + 9}"
    sel = {"index": "index1", "selector": {"matchLabels": {"be.kuid.dev/claim-name": "r"}}}
    assert api.apply(obj(g, f"{prefix}Claim", "s", sel), manager="t")["status"]["id"] == lo


def test_kinds_use_kuids_plurals_and_keep_the_old_spelling_as_a_short_name(api: APIServer) -> None:
    plurals = {c["spec"]["names"]["kind"]: c["spec"]["names"]["plural"] for c in AllocatorPlugin().crds()}
    assert {k: v for k, v in plurals.items() if k.endswith("Index")} == {
        "IPIndex": "ipindices", "VLANIndex": "vlanindices", "ASIndex": "asindexes", "GENIDIndex": "genidindexes",
        "EXTCOMMIndex": "extcommindexes"}
    assert plurals["IPClaim"] == "ipclaims" and plurals["ASEntry"] == "asentries"
    for old, kind in (("asindices", "ASIndex"), ("genidindices.genid.be.kuid.dev", "GENIDIndex"),
                      ("extcommindices", "EXTCOMMIndex"), ("asindexes", "ASIndex")):
        assert api.registry.resolve(old).kind == kind


@pytest.mark.parametrize(("range_claim", "owner"), [("r", None), ("index1.pool", "index1")])
def test_an_id_taken_from_a_range_has_the_range_claims_entry_name(
    api: APIServer, range_claim: str, owner: str | None
) -> None:
    g = "vlan.be.kuid.dev"
    spec: dict[str, Any] = {"minID": 1, "maxID": 4094}
    if owner:  # the range is one the index derives (spec.claims): its claim is named <index>.<name>
        spec["claims"] = [{"name": "pool", "range": "200-209"}]
    api.apply(obj(g, "VLANIndex", "index1", spec), manager="t")
    if not owner:
        api.apply(obj(g, "VLANClaim", range_claim, {"index": "index1", "range": "200-209"}), manager="t")
    sel = {"index": "index1", "selector": {"matchLabels": {"be.kuid.dev/claim-name": range_claim}}}
    assert api.apply(obj(g, "VLANClaim", "a", sel), manager="t")["status"]["id"] == 200
    entries = names(api, "VLANEntry", g)
    assert f"{range_claim}.200-32" in entries
    assert "index1.200-13" in entries  # the range's own blocks are values of the index's tree
    assert not any(e.startswith(f"index1.{range_claim}.") for e in entries)
    entry = api.get(g, "VLANEntry", "default", f"{range_claim}.200-32")
    assert entry["spec"]["id"] == "200/32"
    assert entry["metadata"]["ownerReferences"][0]["name"] == "a"


def test_a_genid_index_that_changes_type_is_rebuilt_and_its_entries_renamed(api: APIServer) -> None:
    g = "genid.be.kuid.dev"
    api.apply(obj(g, "GENIDIndex", "index1", {"type": "16bit"}), manager="t")
    assert api.apply(obj(g, "GENIDClaim", "c", {"index": "index1", "id": 7}), manager="t")["status"]["id"] == 7
    assert names(api, "GENIDEntry", g) == ["index1.7-16"]
    api.apply(obj(g, "GENIDIndex", "index1", {"type": "48bit"}), manager="t")
    assert names(api, "GENIDEntry", g) == ["index1.7-64"]
    assert api.get(g, "GENIDEntry", "default", "index1.7-64")["spec"]["id"] == "7/64"


def test_a_range_claim_and_an_index_may_not_share_a_name(api: APIServer) -> None:
    """Their entries would collide: ``r.5-32`` is both id 5 of index r and id 5 taken from range r."""
    g = "vlan.be.kuid.dev"
    api.apply(obj(g, "VLANIndex", "index1", {}), manager="t")
    api.apply(obj(g, "VLANIndex", "other", {}), manager="t")
    with pytest.raises(Invalid) as info:
        api.apply(obj(g, "VLANClaim", "other", {"index": "index1", "range": "10-19"}), manager="t")
    assert str(info.value) == (
        'VLANClaim.vlan.be.kuid.dev "default/other" is invalid: spec.range: a range claim cannot be named like '
        'the VLANIndex "other": their entries would share names')
    api.apply(obj(g, "VLANClaim", "r", {"index": "index1", "range": "10-19"}), manager="t")
    with pytest.raises(Invalid, match=r'metadata\.name: the range VLANClaim "r" has this name'):
        api.apply(obj(g, "VLANIndex", "r", {}), manager="t")
    api.apply(obj(g, "VLANClaim", "s", {"index": "index1", "id": 5}), manager="t")
    api.apply(obj(g, "VLANIndex", "s", {}), manager="t")  # a claim of a single id names no entry after itself
    assert names(api, "VLANIndex", g) == ["index1", "other", "s"]


def test_vlan_static_in_reserved_range_is_refused(api: APIServer) -> None:
    g = "vlan.be.kuid.dev"
    api.apply(obj(g, "VLANIndex", "index1", {"minID": 1, "maxID": 4094}), manager="t")
    failed = api.apply(obj(g, "VLANClaim", "x", {"index": "index1", "id": 4095}), manager="t")
    assert ready(failed) == ("False", "cannot claim err cannot claim an id from a reserved range")
    with pytest.raises(Invalid):
        api.apply(obj(g, "VLANClaim", "y", {"index": "index1", "id": 5000}), manager="t")


@pytest.mark.parametrize("fixture", ["api", "sqlite_api"])
def test_bounds_narrowed_over_ids_in_use_keep_the_old_reserved_ranges(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    api = request.getfixturevalue(fixture)
    g = "vlan.be.kuid.dev"
    api.apply(obj(g, "VLANIndex", "vi", {"minID": 1, "maxID": 4094}), manager="t")
    assert [api.apply(obj(g, "VLANClaim", n, {"index": "vi"}), manager="t")["status"]["id"] for n in "ab"] == [1, 4094]
    narrowed = api.apply(obj(g, "VLANIndex", "vi", {"minID": 10, "maxID": 4000}), manager="t")
    assert ready(narrowed) == ("False", "cannot apply index err range id 0/13 overlaps with children: [1/16]; "
                                        "range id 4032/10 overlaps with children: [4094/16]")
    kept = {n: api.get(g, "VLANClaim", "default", f"vi.{n}") for n in ("rangereservedmin", "rangereservedmax")}
    assert {n: (c["spec"]["range"], ready(c)[0]) for n, c in kept.items()} == {
        "rangereservedmin": ("0-0", "True"), "rangereservedmax": ("4095-4095", "True")}
    assert {"vi.0-16", "vi.4095-16"} <= set(names(api, "VLANEntry", g))
    fresh = make_api(api.backend)  # an engine rebuilt from the store keeps them reserved too
    assert fresh.apply(obj(g, "VLANClaim", "c", {"index": "vi"}), manager="t")["status"]["id"] == 2
    refused = fresh.apply(obj(g, "VLANClaim", "d", {"index": "vi", "id": 4095}), manager="t")
    assert ready(refused) == ("False", "cannot claim err cannot claim an id from a reserved range")


def test_engine_is_rebuilt_from_stored_claims_in_the_same_process(sqlite_api: APIServer) -> None:
    index(sqlite_api, {"prefix": "10.0.0.0/24", "prefixType": "network"})
    first = [claim(sqlite_api, f"c{i}")["status"]["address"] for i in range(4)]
    fresh = make_api(sqlite_api.backend)  # a second server over the same state: rebuilds from the claims
    again = [claim(fresh, f"c{i}")["status"]["address"] for i in range(4)]
    assert again == first
    assert claim(fresh, "c9")["status"]["address"] == "10.0.0.252/24"


_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from choreo.store.sqlite import SqliteBackend
    sys.path.insert(0, sys.argv[3])
    from allocator_api import make_api, obj
    backend = SqliteBackend(sys.argv[1])
    api = make_api(backend)
    if sys.argv[2] == "setup":
        api.apply(obj("ipam.be.kuid.dev", "IPIndex", "kubenet", {"prefixes": [
            {"prefix": "10.0.0.0/24", "prefixType": "network"}, {"prefix": "1000::/64"}]}), manager="t")
        api.apply(obj("vlan.be.kuid.dev", "VLANIndex", "vl", {"minID": 1, "maxID": 4094}), manager="t")
    out = {}
    for name in ("c3", "c1", "c2", "c0") if sys.argv[2] == "setup" else ("c0", "c1", "c2", "c3", "new"):
        sel = {"matchLabels": {"ipam.be.kuid.dev/address-family": "ipv6" if name == "c2" else "ipv4"}}
        c = api.apply(obj("ipam.be.kuid.dev", "IPClaim", name, {"index": "kubenet", "selector": sel}), manager="t")
        v = api.apply(obj("vlan.be.kuid.dev", "VLANClaim", name, {"index": "vl"}), manager="t")
        out[name] = [c["status"]["address"], v["status"]["id"]]
    backend.close()
    print(json.dumps(out, sort_keys=True))
    """
)


def _process(db: Path, mode: str) -> dict[str, Any]:
    root = Path(__file__).resolve().parents[2]
    args = [sys.executable, "-c", _SCRIPT, str(db), mode, str(Path(__file__).parent)]
    done = subprocess.run(args, capture_output=True, text=True, cwd=root, check=True)
    return json.loads(done.stdout)


def test_restart_in_a_new_process_keeps_every_value(tmp_path: Path) -> None:
    first = _process(tmp_path / "a.db", "setup")
    again = _process(tmp_path / "a.db", "rerun")
    assert {k: again[k] for k in first} == first
    assert again["new"] == ["10.0.0.3/24", 4092]
    assert _process(tmp_path / "b.db", "setup") == first  # from scratch: the same values every time


def _versions(api: APIServer, group: str, kind: str) -> dict[str, str]:
    return {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in api.list(group, kind)}


def test_a_claim_written_again_unchanged_writes_no_entry_and_keeps_the_engine(api: APIServer) -> None:
    index(api, {"prefix": "10.0.0.0/24", "prefixType": "network"}, {"prefix": "1000::/64"})
    claim(api, "a", selector=V4)
    claim(api, "s", address="10.0.0.9/24")
    claim(api, "b", selector=V6, labels={"role": "x"})
    vlan = "vlan.be.kuid.dev"
    api.apply(obj(vlan, "VLANIndex", "vl", {"minID": 1, "maxID": 4094}), manager="t")
    api.apply(obj(vlan, "VLANClaim", "v", {"index": "vl"}), manager="t")
    entries, vlan_entries = _versions(api, IPAM, "IPEntry"), _versions(api, vlan, "VLANEntry")
    token_keys = (f"{IPAM}/default/kubenet", f"{vlan}/default/vl")
    tokens = {k: api.backend.get_record(TOKENS, k) for k in token_keys}
    for name in ("a", "s", "b"):
        api.update(api.get(IPAM, "IPClaim", "default", name))
    claim(api, "a", selector=V4)
    api.apply(obj(vlan, "VLANClaim", "v", {"index": "vl"}), manager="t")
    assert _versions(api, IPAM, "IPEntry") == entries
    assert _versions(api, vlan, "VLANEntry") == vlan_entries
    assert {k: api.backend.get_record(TOKENS, k) for k in token_keys} == tokens
    claim(api, "b", selector=V6, labels={"role": "y"})  # a real change rewrites exactly its entry
    changed = {k for k, v in _versions(api, IPAM, "IPEntry").items() if entries[k] != v}
    assert changed == {"default.kubenet.1000---128"}
    assert api.get(IPAM, "IPEntry", "default", "default.kubenet.1000---128")["spec"]["labels"] == {"role": "y"}


# ------------------------------------------------------------------ further spec statements (conformance audit)


def _condition(o: dict[str, Any]) -> tuple[str, str, str]:
    cond = next(c for c in o["status"]["conditions"] if c["type"] == "Ready")
    return cond["status"], cond["reason"], cond.get("message", "")


def test_conditions_are_ready_or_failed_with_the_references_reasons(api: APIServer) -> None:
    """§2.13 / §1.4: Ready/True/Ready on success; a failure is Ready/False/Failed with ``cannot claim[ ip] err``
    (claims) or ``cannot apply index err`` (indexes)."""
    assert _condition(index(api, {"prefix": "10.0.0.0/24"})) == ("True", "Ready", "")
    assert _condition(claim(api, "a")) == ("True", "Ready", "")
    assert _condition(claim(api, "x", address="10.9.0.1/32")) == (
        "False", "Failed", "cannot claim ip err a prefix range always needs a parent")
    g = "vlan.be.kuid.dev"
    assert _condition(api.apply(obj(g, "VLANIndex", "vi", {"minID": 1, "claims": [{"name": "z", "id": 0}]}),
                                manager="t")) == ("False", "Failed",
                                                  "cannot apply index err cannot claim an id from a reserved range")
    assert _condition(api.apply(obj(g, "VLANClaim", "d", {"index": "vi"}), manager="t")) == ("True", "Ready", "")
    assert _condition(api.apply(obj(g, "VLANClaim", "s", {"index": "vi", "selector": {"matchLabels": {"no": "x"}}}),
                                manager="t")) == ("False", "Failed", "cannot claim err no parent found")


def test_a_claim_belongs_to_the_index_of_its_own_namespace(api: APIServer) -> None:
    """§1.2: an index is keyed by namespace and name; entries live in the index's namespace."""
    api.apply(obj(IPAM, "IPIndex", "kubenet", {"prefixes": [{"prefix": "10.9.0.0/24"}]}, namespace="site1"),
              manager="t")
    elsewhere = api.apply(obj(IPAM, "IPClaim", "x", {"index": "kubenet"}, namespace="site2"), manager="t")
    assert ready(elsewhere) == ("False", "cannot claim ip err index site2.kubenet not initialized")
    here = api.apply(obj(IPAM, "IPClaim", "x", {"index": "kubenet"}, namespace="site1"), manager="t")
    assert here["status"]["address"] == "10.9.0.0/32"
    assert [(e["metadata"]["namespace"], e["metadata"]["name"]) for e in api.list(IPAM, "IPEntry")] == [
        ("site1", "site1.kubenet.10.9.0.0-24"), ("site1", "site1.kubenet.10.9.0.0-32")]


def test_index_prefixes_become_owned_static_prefix_claims_and_index_entries(api: APIServer) -> None:
    """§2.1: one claim ``<index>.<subnet>`` per prefix (owned by the index; identical prefixes share it, the later
    one wins, as server-side apply has it), whose entries say ``indexEntry: true`` (§2.12)."""
    stored = index(api, {"prefix": "10.0.0.0/24", "labels": {"v": "1"}},
                   {"prefix": "10.0.0.0/24", "prefixType": "network", "labels": {"v": "2"}}, {"prefix": "1000::/32"})
    uid = stored["metadata"]["uid"]
    claims = {c["metadata"]["name"]: c for c in api.list(IPAM, "IPClaim")}
    assert {name: c["spec"] for name, c in claims.items()} == {
        "kubenet.10.0.0.0-24": {"index": "kubenet", "prefix": "10.0.0.0/24", "prefixLength": 24, "createPrefix": True,
                                "prefixType": "network", "labels": {"v": "2"}},
        "kubenet.1000---32": {"index": "kubenet", "prefix": "1000::/32", "prefixLength": 32, "createPrefix": True}}
    assert {(r["apiVersion"], r["kind"], r["name"], r["uid"]) for c in claims.values()
            for r in c["metadata"]["ownerReferences"]} == {("ipam.be.kuid.dev/v1alpha1", "IPIndex", "kubenet", uid)}
    entries = {e["metadata"]["name"]: e for e in api.list(IPAM, "IPEntry")}
    assert sorted(entries) == ["default.kubenet.10.0.0.0-24", "default.kubenet.10.0.0.0-32",
                               "default.kubenet.10.0.0.255-32", "default.kubenet.1000---32"]
    assert {e["spec"]["indexEntry"] for e in entries.values()} == {True}
    assert entries["default.kubenet.1000---32"]["metadata"]["ownerReferences"][0]["kind"] == "IPClaim"
    assert claim(api, "a")["status"]["address"] == "10.0.0.1/24"
    assert api.get(IPAM, "IPEntry", "default", "default.kubenet.10.0.0.1-32")["spec"]["indexEntry"] is False


def test_a_selector_of_match_expressions_alone_selects_everything(api: APIServer) -> None:
    """§1.3: only matchLabels selects (kuid ``GetLabelSelector``)."""
    index(api, {"prefix": "10.0.0.0/24"})
    selector = {"matchExpressions": [{"key": "role", "operator": "In", "values": ["none"]}]}
    assert claim(api, "x", selector=selector)["status"]["address"] == "10.0.0.0/32"


@pytest.mark.parametrize(
    ("group", "kind", "indexes", "field", "values"),
    [
        (IPAM, "IP", {"a": {"prefixes": [{"prefix": "10.0.0.0/24"}]}, "b": {"prefixes": [{"prefix": "10.1.0.0/24"}]}},
         "address", ("10.0.0.0/32", "10.1.0.0/32")),
        ("vlan.be.kuid.dev", "VLAN", {"a": {"minID": 1}, "b": {"minID": 100}}, "id", (1, 100)),
    ],
)
def test_a_claim_that_names_another_index_leaves_the_first(
    api: APIServer, group: str, kind: str, indexes: dict[str, Any], field: str, values: tuple[Any, Any]
) -> None:
    """A claim belongs to the index its ``spec.index`` names (§1.2): naming another one releases what it held in
    the first (its value and entry) and allocates in the second."""
    for name, spec in indexes.items():
        api.apply(obj(group, f"{kind}Index", name, spec), manager="t")

    def held() -> list[str]:
        return [e["spec"]["index"] for e in api.list(group, f"{kind}Entry")
                if e["metadata"]["ownerReferences"][0]["name"] == "c"]

    assert api.apply(obj(group, f"{kind}Claim", "c", {"index": "a"}), manager="t")["status"][field] == values[0]
    assert held() == ["a"]
    assert api.apply(obj(group, f"{kind}Claim", "c", {"index": "b"}), manager="t")["status"][field] == values[1]
    assert held() == ["b"]


def test_entry_names_are_the_spec_examples(api: APIServer) -> None:
    """§2.12's examples byte for byte: a gateway address ``default.vpc1.10.0.0.1-32`` and an address taken from the
    range claim ``vpc1.10.0.0.10-10.0.0.19``, ``default.vpc1.vpc1.10.0.0.10-10.0.0.19.10.0.0.10-32``."""
    api.apply(obj(IPAM, "IPIndex", "vpc1", {"prefixes": [{"prefix": "10.0.0.0/8"}]}), manager="t")
    for name, spec in (("net", {"prefix": "10.0.0.1/24", "prefixType": "network", "defaultGateway": True}),
                       ("vpc1.10.0.0.10-10.0.0.19", {"range": "10.0.0.10-10.0.0.19"}),
                       ("a", {"selector": {"matchLabels": {"be.kuid.dev/claim-name": "vpc1.10.0.0.10-10.0.0.19"}}})):
        stored = api.apply(obj(IPAM, "IPClaim", name, {"index": "vpc1", **spec}), manager="t")
        assert ready(stored) == ("True", "")
    gateway = api.get(IPAM, "IPEntry", "default", "default.vpc1.10.0.0.1-32")
    assert (gateway["spec"]["defaultGateway"], gateway["metadata"]["ownerReferences"][0]["name"]) == (True, "net")
    taken = api.get(IPAM, "IPEntry", "default", "default.vpc1.vpc1.10.0.0.10-10.0.0.19.10.0.0.10-32")
    assert (taken["spec"]["prefix"], taken["metadata"]["ownerReferences"][0]["name"]) == ("10.0.0.10/32", "a")


def test_id_entries_carry_the_values_type_id_and_user_labels_and_never_index_entry(api: APIServer) -> None:
    """§3.6: spec = index, claimType, id, the non-system labels; ``indexEntry`` is false at HEAD even for the
    index's own reserved ranges (kuid never sets it on generic entries, Q13); the owner is the claim."""
    g = "vlan.be.kuid.dev"
    api.apply(obj(g, "VLANIndex", "vi", {"maxID": 4094}), manager="t")
    api.apply(obj(g, "VLANClaim", "r", {"index": "vi", "range": "10-11", "labels": {"pool": "a"}}), manager="t")
    api.apply(obj(g, "VLANClaim", "h", {"index": "vi", "labels": {"me": "h"},
                                        "selector": {"matchLabels": {"pool": "a"}}}), manager="t")
    api.apply(obj(g, "VLANClaim", "s", {"index": "vi", "id": 7}), manager="t")
    entries = {e["metadata"]["name"]: (e["spec"], e["metadata"]["ownerReferences"][0]["name"])
               for e in api.list(g, "VLANEntry")}
    assert entries == {
        "vi.4095-16": ({"index": "vi", "indexEntry": False, "claimType": "range", "id": "4095/16"},
                       "vi.rangereservedmax"),
        "vi.10-15": ({"index": "vi", "indexEntry": False, "claimType": "range", "id": "10/15", "labels": {"pool": "a"}},
                     "r"),
        "r.10-32": ({"index": "vi", "indexEntry": False, "claimType": "dynamicID", "id": "10/32",
                     "labels": {"me": "h"}}, "h"),
        "vi.7-16": ({"index": "vi", "indexEntry": False, "claimType": "staticID", "id": "7/16"}, "s"),
    }


@pytest.mark.parametrize(
    ("group", "kind", "spec"),
    [(IPAM, "IP", {"address": "10.0.0.5/32"}), ("vlan.be.kuid.dev", "VLAN", {"id": 5})],
)
def test_entries_show_only_the_non_system_labels(api: APIServer, group: str, kind: str, spec: dict[str, Any]) -> None:
    """§2.12/§3.6: an entry's labels are the value's non-system ones; a user label named like a system label is
    overridden by the system's value, so it is not shown."""
    index_spec = {"prefixes": [{"prefix": "10.0.0.0/24"}]} if kind == "IP" else {}
    api.apply(obj(group, f"{kind}Index", "ix", index_spec), manager="t")
    labels = {"role": "edge", "be.kuid.dev/claim-name": "someone-else"}
    api.apply(obj(group, f"{kind}Claim", "c", {"index": "ix", "labels": labels, **spec}), manager="t")
    entry = next(e for e in api.list(group, f"{kind}Entry") if e["metadata"]["ownerReferences"][0]["name"] == "c")
    assert entry["spec"]["labels"] == {"role": "edge"}
