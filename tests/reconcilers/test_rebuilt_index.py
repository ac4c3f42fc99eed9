"""An index rebuilt from the store (a new process, a server restart, an index switching IP model) gives
every claim what it held while the engine was live.

A dynamic claim keeps the value it holds by ownership, even when its selector no longer picks the parent
(its spec changed, or the parent's labels did). The rebuild replays the stored Ready claims, which hold
nothing yet: each takes its stored value back as its own first, so the same rule keeps it. And a subnet
that gains or loses its gateway tells its network prefix and addresses at once, so no stored status
waits for its claim's next write to show what a rebuilt engine (or a full run) answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from allocator_api import IPAM, claim, index, make_api, obj, ready

from choreo.apiserver.server import APIServer

POOL = {"matchLabels": {"role": "pool"}}
VLAN = "vlan.be.kuid.dev"


def snapshot(api: APIServer) -> dict[str, Any]:
    """Every claim's values and Ready condition, and every entry (name, value, owner, spec)."""
    claims = {}
    for group, kind in ((IPAM, "IPClaim"), (VLAN, "VLANClaim")):
        for c in api.list(group, kind):
            values = {k: v for k, v in c["status"].items() if k != "conditions"}
            claims[f'{kind}/{c["metadata"]["name"]}'] = (values, ready(c))
    entries = {}
    for group, kind in ((IPAM, "IPEntry"), (VLAN, "VLANEntry")):
        for e in api.list(group, kind):
            entries[e["metadata"]["name"]] = (e["metadata"]["ownerReferences"][0]["name"], e["spec"])
    return {"claims": claims, "entries": entries}


def write_all_again(api: APIServer) -> None:
    """Write every user claim again as it stands (as a reconciler does on every run)."""
    for group, kind in ((IPAM, "IPClaim"), (VLAN, "VLANClaim")):
        for c in api.list(group, kind):
            if not c["metadata"].get("ownerReferences"):
                api.apply(obj(group, kind, c["metadata"]["name"], c["spec"]), manager="test")


def relabel_pool(api: APIServer) -> None:
    index(api, {"prefix": "10.2.0.0/16", "labels": {"role": "other"}})


def address_selector_changed(api: APIServer) -> None:
    claim(api, "a", selector={"matchLabels": {"role": "none"}})


def prefix_selector_changed(api: APIServer) -> None:
    claim(api, "p", createPrefix=True, prefixLength=31, selector={"matchLabels": {"role": "none"}})


def range_selector_changed(api: APIServer) -> None:
    claim(api, "r2", range="10.2.3.1-10.2.3.9")
    claim(api, "ra", selector={"matchLabels": {"be.kuid.dev/claim-name": "r2"}})


def vlan_selector_changed(api: APIServer) -> None:
    api.apply(obj(VLAN, "VLANClaim", "r2", {"index": "vl", "range": "300-309"}), manager="test")
    api.apply(obj(VLAN, "VLANClaim", "v", {"index": "vl", "selector": {
        "matchLabels": {"be.kuid.dev/claim-name": "r2"}}}), manager="test")


@pytest.mark.parametrize("change", [
    relabel_pool, address_selector_changed, prefix_selector_changed, range_selector_changed, vlan_selector_changed,
])
def test_a_rebuilt_index_gives_each_claim_what_it_held_live(
    sqlite_api: APIServer, change: Callable[[APIServer], None]
) -> None:
    api = sqlite_api
    index(api, {"prefix": "10.2.0.0/16", "labels": {"role": "pool"}})
    assert claim(api, "a", selector=POOL)["status"]["address"] == "10.2.0.0/32"
    assert claim(api, "p", createPrefix=True, prefixLength=31, selector=POOL)["status"]["prefix"] == "10.2.0.2/31"
    claim(api, "r", range="10.2.1.1-10.2.1.9")
    ranged = claim(api, "ra", selector={"matchLabels": {"be.kuid.dev/claim-name": "r"}})
    assert ranged["status"]["address"] == "10.2.1.1/32"
    api.apply(obj(VLAN, "VLANIndex", "vl", {"minID": 1, "maxID": 4094}), manager="test")
    api.apply(obj(VLAN, "VLANClaim", "r", {"index": "vl", "range": "200-209"}), manager="test")
    held = api.apply(obj(VLAN, "VLANClaim", "v", {"index": "vl", "selector": {
        "matchLabels": {"be.kuid.dev/claim-name": "r"}}}), manager="test")
    assert held["status"]["id"] == 200
    change(api)
    live = snapshot(api)
    kept = ("IPClaim/a", "IPClaim/p", "IPClaim/ra", "VLANClaim/v")
    assert {name: live["claims"][name] for name in kept} == {  # kept by ownership while the engine is live
        "IPClaim/a": ({"address": "10.2.0.0/32"}, ("True", "")), "IPClaim/p": ({"prefix": "10.2.0.2/31"}, ("True", "")),
        "IPClaim/ra": ({"address": "10.2.1.1/32"}, ("True", "")), "VLANClaim/v": ({"id": 200}, ("True", ""))}
    write_all_again(api)
    assert snapshot(api) == live
    fresh = make_api(api.backend)  # another server over the same state: its engines are rebuilt from the store
    write_all_again(fresh)
    assert snapshot(fresh) == live


def gateways(api: APIServer) -> dict[str, str | None]:
    return {c["metadata"]["name"]: c["status"].get("defaultGateway") for c in api.list(IPAM, "IPClaim")}


def test_a_subnet_that_gains_or_loses_its_gateway_tells_its_claims_at_once(
    sqlite_api: APIServer, api: APIServer
) -> None:
    other, api = api, sqlite_api
    net = {"prefix": "10.3.0.0/24", "prefixType": "network", "labels": {"role": "net"}}
    index(api, net)
    assert claim(api, "a", selector={"matchLabels": {"role": "net"}})["status"] == {
        "address": "10.3.0.1/24", "conditions": api.get(IPAM, "IPClaim", "default", "a")["status"]["conditions"]}
    claim(api, "s", address="10.3.0.9/24")
    claim(api, "g", address="10.3.0.7/24", defaultGateway=True)
    assert gateways(api) == dict.fromkeys(("a", "g", "kubenet.10.3.0.0-24", "s"), "10.3.0.7")
    live = snapshot(api)
    fresh = make_api(api.backend)  # rebuilt from the store
    write_all_again(fresh)
    assert snapshot(fresh) == live
    fresh.delete(IPAM, "IPClaim", "default", "g")
    assert gateways(fresh) == dict.fromkeys(("a", "kubenet.10.3.0.0-24", "s"))

    index(other, net)  # the same claims, the gateway written first: the same statuses

    claim(other, "g", address="10.3.0.7/24", defaultGateway=True)
    claim(other, "s", address="10.3.0.9/24")
    claim(other, "a", selector={"matchLabels": {"role": "net"}})
    assert snapshot(other)["claims"] == live["claims"]


def test_what_lies_in_a_dynamic_prefix_is_replayed_after_it(sqlite_api: APIServer) -> None:
    """A static prefix, a range and a dynamic prefix in a dynamic prefix (named to be replayed before it,
    were the replay by kind and name only) leave it where it was live."""
    api = sqlite_api
    index(api, {"prefix": "10.2.0.0/16", "labels": {"role": "pool"}})
    assert claim(api, "z", createPrefix=True, prefixLength=24, selector=POOL)["status"]["prefix"] == "10.2.0.0/24"
    claim(api, "s", prefix="10.2.0.0/28")
    claim(api, "r", range="10.2.0.100-10.2.0.110")
    inner = claim(api, "a", createPrefix=True, prefixLength=28, selector={
        "matchLabels": {"be.kuid.dev/claim-name": "z"}})
    assert inner["status"]["prefix"] == "10.2.0.16/28"
    live = snapshot(api)
    fresh = make_api(api.backend)
    write_all_again(fresh)
    assert snapshot(fresh) == live


def test_the_addresses_under_a_prefix_that_becomes_a_network_are_worked_out_again(sqlite_api: APIServer) -> None:
    """They lie in a network now: a dynamic one shows the network's length, a /32 static one is refused,
    as an index rebuilt from the store (the prefix replayed first) has them."""
    api = sqlite_api
    index(api, {"prefix": "10.2.0.0/16"})
    claim(api, "n", prefix="10.2.1.0/24")
    claim(api, "pad", address="10.2.1.0/32")
    assert claim(api, "a", selector={"matchLabels": {"be.kuid.dev/claim-name": "n"}})["status"]["address"] == (
        "10.2.1.1/32")
    claim(api, "s", address="10.2.1.9/32")
    api.delete(IPAM, "IPClaim", "default", "pad")
    assert ready(claim(api, "n", prefix="10.2.1.0/24", prefixType="network")) == ("True", "")
    live = snapshot(api)
    assert live["claims"]["IPClaim/a"] == ({"address": "10.2.1.1/24"}, ("True", ""))
    assert live["claims"]["IPClaim/s"] == ({}, ("False", "cannot claim ip err a /32 or /128 address is not "
                                                         "possible with a parent of type network"))
    fresh = make_api(api.backend)
    write_all_again(fresh)
    assert snapshot(fresh) == live


def test_an_address_in_a_pool_that_becomes_an_aggregate_is_given_up(sqlite_api: APIServer) -> None:
    """A legacy aggregate hands out no address, to a claim that holds one there neither: live as rebuilt."""
    api = sqlite_api
    index(api, {"prefix": "10.0.0.0/24", "prefixType": "pool"})
    assert claim(api, "a")["status"]["address"] == "10.0.0.0/32"
    index(api, {"prefix": "10.0.0.0/24", "prefixType": "aggregate"})
    live = snapshot(api)
    assert live["claims"]["IPClaim/a"] == ({}, ("False", "cannot claim ip err no free addresses found in routes: "
                                                         "[10.0.0.0/24]"))
    fresh = make_api(api.backend)
    write_all_again(fresh)
    assert snapshot(fresh) == live
