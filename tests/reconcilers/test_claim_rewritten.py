"""An IP claim written again with another type or expansion passes the rules a new claim passes.

kuid trusts a prefix a claim already holds and skips every rule when the claim is written again (§2.6 step
1): a regular prefix with prefixes in it could become a network, and its network expansion took the
addresses other claims held, which stayed Ready. Here only a claim that stores what it stored before is
trusted; any other rewrite is checked as a new claim is, and a refused one lets its old values go and
leaves every other claim's values where they were.
"""

from __future__ import annotations

from typing import Any

import pytest
from allocator_api import IPAM, claim, index, make_api, ready

from choreo.apiserver.server import APIServer

POOL = {"matchLabels": {"role": "pool"}}


def entries(api: APIServer) -> dict[str, str]:
    """Each stored value and the claim that owns it."""
    return {e["spec"]["prefix"]: e["metadata"]["ownerReferences"][0]["name"] for e in api.list(IPAM, "IPEntry")}


def stored(api: APIServer, name: str) -> dict[str, Any]:
    return api.get(IPAM, "IPClaim", "default", name)


def uid(api: APIServer, name: str) -> str:
    return str(stored(api, name)["metadata"]["uid"])


def test_a_regular_prefix_with_prefixes_in_it_cannot_become_a_network(api: APIServer) -> None:
    index(api, {"prefix": "10.2.0.0/16"})
    claim(api, "n", prefix="10.2.1.0/24")
    claim(api, "inner", prefix="10.2.1.128/25")
    claim(api, "a", address="10.2.1.7/32")
    refused = claim(api, "n", prefix="10.2.1.0/24", prefixType="network")
    assert ready(refused) == ("False", "cannot claim ip err child with addressing prefix not allowed in claim of "
                                       "type network")
    assert "prefix" not in refused["status"]
    assert stored(api, "inner")["status"]["prefix"] == "10.2.1.128/25"
    assert stored(api, "a")["status"]["address"] == "10.2.1.7/32"
    assert entries(api) == {"10.2.0.0/16": "kubenet.10.2.0.0-16", "10.2.1.128/25": "inner", "10.2.1.7/32": "a"}


@pytest.mark.parametrize("rewritten", [True, False], ids=["rewritten", "new"])
def test_a_network_never_takes_an_address_another_claim_holds(api: APIServer, rewritten: bool) -> None:
    index(api, {"prefix": "10.2.0.0/16"})
    if rewritten:
        claim(api, "n", prefix="10.2.1.0/24")
    held = claim(api, "g", address="10.2.1.1/32")
    refused = claim(api, "n", prefix="10.2.1.1/24", prefixType="network", defaultGateway=True)
    assert ready(refused) == ("False", f"cannot claim ip err route owned by different claim got name n/g uid "
                                       f"{uid(api, 'n')}/{uid(api, 'g')}")
    assert stored(api, "g") == held  # told nothing, and nothing to tell: it keeps its address
    assert entries(api) == {"10.2.0.0/16": "kubenet.10.2.0.0-16", "10.2.1.1/32": "g"}


def test_a_network_that_only_changes_labels_or_gains_a_free_gateway_keeps_its_values(api: APIServer) -> None:
    index(api, {"prefix": "10.2.0.0/16"})
    claim(api, "n", prefix="10.2.1.0/24", prefixType="network")
    a = claim(api, "a", address="10.2.1.7/24")
    claim(api, "n", prefix="10.2.1.0/24", prefixType="network", labels={"k": "v"})
    gateway = claim(api, "n", prefix="10.2.1.1/24", prefixType="network", defaultGateway=True)
    assert ready(gateway) == ("True", "")
    assert gateway["status"]["defaultGateway"] == "10.2.1.1"
    assert stored(api, "a")["status"] == {**a["status"], "defaultGateway": "10.2.1.1"}  # told at once
    assert entries(api) == {"10.2.0.0/16": "kubenet.10.2.0.0-16", "10.2.1.0/24": "n", "10.2.1.0/32": "n",
                            "10.2.1.1/32": "n", "10.2.1.7/32": "a", "10.2.1.255/32": "n"}


def test_a_dynamic_prefix_that_becomes_a_network_over_another_claims_address_moves(api: APIServer) -> None:
    index(api, {"prefix": "10.2.0.0/24", "labels": {"role": "pool"}})
    assert claim(api, "x", createPrefix=True, prefixLength=26, selector=POOL)["status"]["prefix"] == "10.2.0.0/26"
    claim(api, "y", address="10.2.0.0/32")  # in x's prefix: its network address, were x a network
    moved = claim(api, "x", createPrefix=True, prefixLength=26, selector=POOL, prefixType="network")
    assert moved["status"]["prefix"] == "10.2.0.64/26"  # where a new network claim goes
    assert stored(api, "y")["status"]["address"] == "10.2.0.0/32"
    assert entries(api) == {"10.2.0.0/24": "kubenet.10.2.0.0-24", "10.2.0.0/32": "y", "10.2.0.64/26": "x",
                            "10.2.0.64/32": "x", "10.2.0.127/32": "x"}


def test_an_address_written_over_its_claims_own_prefix_is_checked_without_it(api: APIServer) -> None:
    index(api, {"prefix": "10.2.0.0/16"})
    claim(api, "n", prefix="10.2.1.1/24", prefixType="network", defaultGateway=True)
    refused = claim(api, "n", address="10.2.1.1/24")  # its network goes with it: the parent is the /16
    assert ready(refused) == ("False", "cannot claim ip err a prefix based address is not possible with a parent "
                                       "of type regular")
    claim(api, "r", range="10.2.3.10-10.2.3.20")
    assert claim(api, "r", address="10.2.3.11/32")["status"]["address"] == "10.2.3.11/32"
    assert entries(api) == {"10.2.0.0/16": "kubenet.10.2.0.0-16", "10.2.3.11/32": "r"}


def test_claims_that_lose_values_in_a_refused_write_are_worked_out_again(api: APIServer) -> None:
    index(api, {"prefix": "10.2.0.0/16"})
    claim(api, "p", prefix="10.2.5.0/24")
    claim(api, "d", address="10.2.5.9/32")
    refused = claim(api, "p", selector={"matchLabels": {"role": "none"}})  # lets its prefix go, then finds nothing
    assert ready(refused)[0] == "False"
    assert ready(stored(api, "d")) == ("True", "")
    assert entries(api) == {"10.2.0.0/16": "kubenet.10.2.0.0-16", "10.2.5.9/32": "d"}



def test_a_dynamic_prefix_keeps_its_prefix_only_at_the_length_it_asks_for(sqlite_api: APIServer) -> None:
    api = sqlite_api
    index(api, {"prefix": "10.2.0.0/16", "labels": {"role": "pool"}})
    assert claim(api, "d", prefix="10.2.0.0/24")["status"]["prefix"] == "10.2.0.0/24"
    assert claim(api, "d", createPrefix=True, prefixLength=31, selector=POOL)["status"]["prefix"] == "10.2.1.0/31"
    before = entries(api)
    fresh = make_api(api.backend)  # another server over the same state: its engine replays the stored claims
    assert claim(fresh, "d", createPrefix=True, prefixLength=31, selector=POOL)["status"]["prefix"] == "10.2.1.0/31"
    assert entries(fresh) == before == {"10.2.0.0/16": "kubenet.10.2.0.0-16", "10.2.1.0/31": "d"}
