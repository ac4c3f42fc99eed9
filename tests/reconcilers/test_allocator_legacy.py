"""Legacy-model IP indexes through the API server: values, entries, refusals, and a change of model."""

from __future__ import annotations

from allocator_api import IPAM, claim, index, make_api, ready

from choreo.apiserver.server import APIServer

AGG16 = {"prefix": "10.0.0.0/16", "prefixType": "aggregate"}
POOL24 = {"prefix": "10.0.0.0/24", "prefixType": "pool", "labels": {"purpose": "loopback"}}


def entries(api: APIServer) -> dict[str, tuple[str, str]]:
    return {e["metadata"]["name"]: (e["spec"]["prefix"], e["spec"]["prefixType"]) for e in api.list(IPAM, "IPEntry")}


def test_legacy_index_allocates_from_its_pool(api: APIServer) -> None:
    assert ready(index(api, AGG16, POOL24)) == ("True", "")
    assert claim(api, "a")["status"]["address"] == "10.0.0.0/32"
    pool = {"matchLabels": {"purpose": "loopback"}}
    assert claim(api, "b", prefixType="pool", selector=pool)["status"]["address"] == "10.0.0.1/32"
    assert entries(api) == {
        "default.kubenet.10.0.0.0-16": ("10.0.0.0/16", "aggregate"),
        "default.kubenet.10.0.0.0-24": ("10.0.0.0/24", "pool"),
        "default.kubenet.10.0.0.0-32": ("10.0.0.0/32", "other"),
        "default.kubenet.10.0.0.1-32": ("10.0.0.1/32", "pool"),
    }


def test_legacy_refusals_fail_the_index_or_the_claim(api: APIServer) -> None:
    stored = index(api, {"prefix": "10.0.0.0/24", "prefixType": "aggregate"}, AGG16)
    assert ready(stored) == ("False", "cannot apply index err nesting aggregate is not possible")
    index(api, AGG16, POOL24)
    assert ready(claim(api, "x", prefix="10.1.0.0/24", prefixType="pool")) == (
        "False", "cannot claim ip err no parent found, only possible for routes owned by IPIndex")
    assert ready(claim(api, "y", address="10.0.9.9/32")) == (
        "False", "cannot claim ip err a /32 or /128 address is not possible with a parent of type aggregate")


def test_an_index_that_changes_model_is_rebuilt_and_its_entries_follow(api: APIServer) -> None:
    index(api, {"prefix": "10.0.0.0/16"}, {"prefix": "10.0.0.0/24"})
    assert claim(api, "a")["status"]["address"] == "10.0.1.0/32"
    assert ready(index(api, AGG16, POOL24)) == ("True", "")
    again = api.get(IPAM, "IPClaim", "default", "a")
    assert (again["status"]["address"], ready(again)) == ("10.0.0.0/32", ("True", ""))
    assert entries(api) == {
        "default.kubenet.10.0.0.0-16": ("10.0.0.0/16", "aggregate"),
        "default.kubenet.10.0.0.0-24": ("10.0.0.0/24", "pool"),
        "default.kubenet.10.0.0.0-32": ("10.0.0.0/32", "other"),
    }
    # and back: today's model takes over again, the claim keeps its address (still free in the /24)
    assert ready(index(api, {"prefix": "10.0.0.0/16"}, {"prefix": "10.0.0.0/24"})) == ("True", "")
    assert api.get(IPAM, "IPClaim", "default", "a")["status"]["address"] == "10.0.0.0/32"
    assert {v[1] for v in entries(api).values()} == {"regular"}


def test_the_reference_interface_example_in_its_legacy_form(api: APIServer) -> None:
    """The Go Choreo's interface example types its index prefixes and its claims as pools."""
    loopback = {"labels": {"purpose": "loopback"}, "prefixType": "pool"}
    assert ready(index(api, {"prefix": "10.0.0.0/24", **loopback}, {"prefix": "1000::/64", **loopback})) == (
        "True", "")
    got = []
    for node in ("node1", "node2"):
        for family in ("ipv4", "ipv6"):
            sel = {"matchLabels": {"purpose": "loopback", "ipam.be.kuid.dev/address-family": family}}
            got.append(claim(api, f"{node}.loopback.{family}", prefixType="pool", selector=sel)["status"]["address"])
    assert got == ["10.0.0.0/32", "1000::/128", "10.0.0.1/32", "1000::1/128"]
    assert "default.kubenet.10.0.0.1-32" in entries(api)


def test_a_legacy_index_is_rebuilt_with_its_model_after_a_restart(sqlite_api: APIServer) -> None:
    index(sqlite_api, AGG16, POOL24)
    first = [claim(sqlite_api, f"c{i}")["status"]["address"] for i in range(3)]
    fresh = make_api(sqlite_api.backend)  # a second server over the same state rebuilds from the claims
    assert [claim(fresh, f"c{i}")["status"]["address"] for i in range(3)] == first == [
        "10.0.0.0/32", "10.0.0.1/32", "10.0.0.2/32"]
    assert claim(fresh, "c9")["status"]["address"] == "10.0.0.3/32"
    assert ready(claim(fresh, "y", address="10.0.9.9/32"))[0] == "False"
