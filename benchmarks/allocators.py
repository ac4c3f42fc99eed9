"""Benchmark: the built-in allocators, at engine level and through the API server (``-r`` plug-in).

Reports, each with its baseline from the same run:
1. 100 000 dynamic /32 claims from one /8 (IPAM engine): claims per second, peak memory (tracemalloc,
   in a separate pass so that tracing does not skew the timing), and the time of the last 10 000 claims
   against the first 10 000 (the baseline: equal times mean the cost per claim does not grow with the
   number of allocations);
2. 4 094 dynamic VLAN claims in an index with minID 1 / maxID 4094 (ID engine), first 10 % vs last 10 %;
3. the same kinds of claims through the API server with the plug-in installed (in-memory store and
   SQLite store), fewer claims, first vs last block, to show what the API machinery adds per claim;
4. the IPAM claims of 3. applied again unchanged, as reconcilers do on every reconcile: the engine
   confirms each claim and nothing is written (no entry, no token), so this is the floor of a claim write
   that is worked out (section 7 has the writes answered without the engine);
5. the claims of the fabric benchmark (``benchmarks/fabric.py``) as its first run writes them, through the
   API server on SQLite: an IPIndex with a loopback and a point-to-point /16, a /32 per node and a /31 per
   link (1.9 links per node), the loopbacks first (the worst order for a search that walks the values
   handed out); each claim written twice per reconcile (the reconcile's write, then its children's) and
   reconciled twice. CPU per claim write for the allocation, for the confirmations, and at N and 3N nodes
   (the baseline: the cost of a claim must not grow with the number of claims);
6. the same claims at engine level with the pools the other way round (the point-to-point /16 first, the
   links' /31s claimed first, then the loopbacks from the second /16): CPU per loopback claim at N and 3N
   nodes, which must not grow either (a search that walked the values of the pools before its own did).
7. the admission of the fabric's claims written as a run writes them (one transaction, each claim written
   twice in a row, reconciled twice), CPU in the allocators' hook per write: the allocations, and the three
   confirmations of each claim (answered from its last admission) against the same writes worked out by
   the engine (the baseline: the answers dropped before each write).

Usage: .venv/bin/python -m benchmarks.allocators [--ip 100000] [--api 5000] [--fabric 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from choreo.apiserver.server import APIServer
from choreo.store.memory import MemoryBackend
from choreo.store.sqlite import SqliteBackend
from ipam import idclaim
from ipam.idindex import IDIndex
from ipam.ipclaim import parse_ip_claim
from ipam.ipindex import IPIndex
from reconcilers.adapters import all_adapters
from reconcilers.binding import Binding
from reconcilers.plugin import AllocatorPlugin

SELECTOR = {"selector": {"matchLabels": {"purpose": "bench"}}}


def blocks(count: int, block: int, one: Callable[[int], Any]) -> tuple[list[float], float]:
    """Run ``one(i)`` for i in range(count): seconds taken by each full block of ``block`` calls, and in all."""
    times = []
    began = start = time.perf_counter()
    for i in range(count):
        one(i)
        if (i + 1) % block == 0:
            now = time.perf_counter()
            times.append(now - start)
            start = now
    return times, time.perf_counter() - began


def report(title: str, count: int, measured: tuple[list[float], float], peak: int | None = None) -> None:
    times, total = measured
    print(f"{title}: {count} claims in {total:.2f} s = {count / total:,.0f} claims/s")
    print(f"  first block {times[0] * 1000:.1f} ms, last block {times[-1] * 1000:.1f} ms, "
          f"last/first {times[-1] / times[0]:.2f}")
    if peak is not None:
        print(f"  peak traced memory {peak / 2**20:.1f} MiB ({peak / count:.0f} bytes per claim)")


# ---------------------------------------------------------------------------- engines


def ip_engine(count: int) -> Callable[[int], Any]:
    index = IPIndex("bench")
    index.claim(parse_ip_claim("bench.10.0.0.0-8", {"prefix": "10.0.0.0/8", "labels": {"purpose": "bench"}},
                               index_owned=True))

    def one(i: int) -> Any:
        return index.claim(parse_ip_claim(f"c{i}", SELECTOR, uid=f"u{i}"))

    return one


def vlan_engine() -> Callable[[int], Any]:
    index = IDIndex(idclaim.VLAN, "bench")
    for name, spec in idclaim.derived_claims(idclaim.VLAN, "bench", {"minID": 1, "maxID": 4094}):
        index.claim(idclaim.parse_id_claim(idclaim.VLAN, name, spec, kind="VLANClaim", index="bench"))

    def one(i: int) -> Any:
        return index.claim(idclaim.parse_id_claim(idclaim.VLAN, f"v{i}", {}, kind="VLANClaim", uid=f"u{i}"))

    return one


def peak_of(make: Callable[[], Callable[[int], Any]], count: int) -> int:
    tracemalloc.start()
    one = make()
    for i in range(count):
        one(i)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


# ---------------------------------------------------------------------------- API server


def api_server(backend: Any, bindings: Sequence[Binding] | None = None) -> APIServer:
    """An API server with the allocators' kinds, and their hooks: the plug-in's, or ``bindings``."""
    plugin = AllocatorPlugin()
    api = APIServer(backend)
    for crd in plugin.crds():
        api.register_crd(crd, source="benchmark")
    if bindings is None:
        plugin.install(api)
    for binding in bindings or []:
        binding.install(api)
    return api


def ip_api(backend: Any) -> Callable[[int], Any]:
    api = api_server(backend)
    api.apply({"apiVersion": "ipam.be.kuid.dev/v1alpha1", "kind": "IPIndex",
               "metadata": {"name": "bench", "namespace": "default"},
               "spec": {"prefixes": [{"prefix": "10.0.0.0/8", "labels": {"purpose": "bench"}}]}}, manager="bench")

    def one(i: int) -> Any:
        claim = {"apiVersion": "ipam.be.kuid.dev/v1alpha1", "kind": "IPClaim",
                 "metadata": {"name": f"c{i}", "namespace": "default"}, "spec": {"index": "bench", **SELECTOR}}
        return api.apply(claim, manager="bench")

    return one


def vlan_api(backend: Any) -> Callable[[int], Any]:
    api = api_server(backend)
    api.apply({"apiVersion": "vlan.be.kuid.dev/v1alpha1", "kind": "VLANIndex",
               "metadata": {"name": "bench", "namespace": "default"}, "spec": {"minID": 1, "maxID": 4094}},
              manager="bench")

    def one(i: int) -> Any:
        claim = {"apiVersion": "vlan.be.kuid.dev/v1alpha1", "kind": "VLANClaim",
                 "metadata": {"name": f"v{i}", "namespace": "default"}, "spec": {"index": "bench"}}
        return api.apply(claim, manager="bench")

    return one


def ip_api_twice(store: str, count: int, backend: Any) -> None:
    """IPAM claims through the API server, then the same claims applied again unchanged."""
    one = ip_api(backend)
    report(f"IPAM /32, {store} (blocks of {count // 10})", count, blocks(count, count // 10, one))
    report(f"  the same claims applied again unchanged, {store}", count, blocks(count, count // 10, one))


def fabric_spec(nodes: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The fabric benchmark's IPIndex and its claims: a /32 per node, then a /31 per link (1.9 per node)."""
    group = "ipam.be.kuid.dev/v1alpha1"
    pools = [{"prefix": "10.0.0.0/16", "labels": {"pool": "loopback"}},
             {"prefix": "10.1.0.0/16", "labels": {"pool": "p2p"}}]
    index = {"apiVersion": group, "kind": "IPIndex", "metadata": {"name": "fabric", "namespace": "default"},
             "spec": {"prefixes": pools}}

    def claim(name: str, spec: dict[str, Any]) -> dict[str, Any]:
        owner = {"apiVersion": "infra.kuid.dev/v1alpha1", "kind": "Link", "name": name, "uid": f"uid-{name}",
                 "controller": True}
        return {"apiVersion": group, "kind": "IPClaim",
                "metadata": {"name": name, "namespace": "default", "ownerReferences": [owner]},
                "spec": {"index": "fabric", **spec}}

    claims = [claim(f"node{i}.loopback", {"selector": {"matchLabels": {"pool": "loopback"}}})
              for i in range(nodes)]
    claims += [claim(f"link{i}.p2p", {"createPrefix": True, "prefixLength": 31,
                                      "selector": {"matchLabels": {"pool": "p2p"}}})
               for i in range(nodes * 19 // 10)]
    return index, claims


def fabric_claims(nodes: int) -> tuple[float, float]:
    """Section 5 for ``nodes`` nodes: CPU seconds per claim write of the first write of each claim (the
    allocation) and of the three writes that confirm it."""
    with tempfile.TemporaryDirectory() as folder:
        backend = SqliteBackend(Path(folder) / "bench.db")
        api = api_server(backend)
        index, claims = fabric_spec(nodes)
        api.apply(index, manager="bench")
        first = confirm = 0.0
        for reconcile in range(2):
            for obj in claims:
                began = time.process_time()
                with backend.transaction():
                    api.apply(obj, manager="link")
                    middle = time.process_time()
                    api.apply(obj, manager="link")
                ended = time.process_time()
                if reconcile == 0:
                    first += middle - began
                    confirm += ended - middle
                else:
                    confirm += ended - began
        backend.close()
    return first / len(claims), confirm / (3 * len(claims))


def fabric_report(nodes: int) -> None:
    print(f"== the fabric's claims ({nodes} and {3 * nodes} nodes), through the API server on SQLite")
    small, large = fabric_claims(nodes), fabric_claims(3 * nodes)
    for label, before, after in (("allocation", small[0], large[0]), ("confirmation", small[1], large[1])):
        print(f"  {label}: {before * 1e6:.0f} us per claim write at {nodes} nodes, {after * 1e6:.0f} us at "
              f"{3 * nodes} (ratio {after / before:.2f}; 1.00 = no growth with the number of claims)")


def loopbacks_after_links(nodes: int) -> float:
    """Section 6 for ``nodes`` nodes: CPU seconds per loopback claim, claimed after the links' /31s."""
    index = IPIndex("fabric")
    for name, prefix, pool in (("p2p", "10.0.0.0/16", "p2p"), ("lo", "10.1.0.0/16", "loopback")):
        index.claim(parse_ip_claim(name, {"prefix": prefix, "labels": {"pool": pool}}, uid=name, index_owned=True))
    p2p = {"createPrefix": True, "prefixLength": 31, "selector": {"matchLabels": {"pool": "p2p"}}}
    for i in range(nodes * 19 // 10):
        index.claim(parse_ip_claim(f"link{i}", p2p, uid=f"l{i}"))
    loopback = {"selector": {"matchLabels": {"pool": "loopback"}}}
    began = time.process_time()
    for i in range(nodes):
        index.claim(parse_ip_claim(f"node{i}", loopback, uid=f"n{i}"))
    return (time.process_time() - began) / nodes


def pools_reversed_report(nodes: int) -> None:
    print(f"== loopbacks claimed after the links' /31s from an earlier pool ({nodes} and {3 * nodes} nodes, engine)")
    before, after = loopbacks_after_links(nodes), loopbacks_after_links(3 * nodes)
    print(f"  {before * 1e6:.0f} us per loopback claim at {nodes} nodes, {after * 1e6:.0f} us at {3 * nodes} "
          f"(ratio {after / before:.2f}; 1.00 = no growth with the number of claims)")


def admission_report(nodes: int) -> None:
    """Section 7: CPU seconds per write spent in the allocators' admission hook, by kind of write."""
    spent = [0.0]

    class Timed(Binding):
        def admit_claim(self, api: Any, old: Any, new: Any) -> None:
            began = time.process_time()
            try:
                super().admit_claim(api, old, new)
            finally:
                spent[0] += time.process_time() - began

    backend = MemoryBackend()
    hooks = [Timed(adapter) for adapter in all_adapters()]
    api = api_server(backend, hooks)
    index, claims = fabric_spec(nodes)
    api.apply(index, manager="bench")
    took: dict[str, float] = {}

    def write(label: str, obj: dict[str, Any], forget: bool = False) -> None:
        if forget:
            for binding in hooks:
                for state in binding._states.values():
                    state.admitted.clear()
        spent[0] = 0.0
        api.apply(obj, manager="link")
        took[label] = took.get(label, 0.0) + spent[0]

    answered, baseline = "a confirmation, answered", "a confirmation, worked out (baseline)"
    with backend.transaction():
        for obj in claims:
            write("allocation", obj)
            write(answered, obj)  # the reconcile's children write it again
        for obj in claims:  # the second reconcile
            write(answered, obj)
            write(answered, obj)
        for obj in claims:  # the same writes once more, worked out by the engine
            write(baseline, obj, forget=True)
            write(baseline, obj, forget=True)
            write(baseline, obj, forget=True)
    print(f"== the admission of the fabric's claims as a run writes them ({nodes} nodes, memory store), "
          "CPU in the hook per write")
    for label, seconds in took.items():
        print(f"  {label}: {seconds / len(claims) / (1 if label == 'allocation' else 3) * 1e6:.1f} us")
    print(f"  answered / worked out: {took[answered] / took[baseline]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ip", type=int, default=100_000, help="dynamic /32 claims at engine level")
    parser.add_argument("--api", type=int, default=5_000, help="dynamic /32 claims through the API server")
    parser.add_argument("--fabric", type=int, default=1_000, help="nodes of the smaller fabric (section 5)")
    parser.add_argument("--only-fabric", action="store_true", help="run sections 5 and 6 only")
    args = parser.parse_args()
    if args.only_fabric:
        fabric_report(args.fabric)
        pools_reversed_report(args.fabric)
        admission_report(args.fabric)
        return

    print("== engines")
    report(f"IPAM /32 from a /8 (blocks of {args.ip // 10})", args.ip,
           blocks(args.ip, args.ip // 10, ip_engine(args.ip)), peak_of(lambda: ip_engine(args.ip), args.ip))
    report("VLAN 1..4094 (blocks of 409)", 4094, blocks(4094, 409, vlan_engine()), peak_of(vlan_engine, 4094))

    print("== through the API server with the -r plug-in (entries written, same transaction)")
    ip_api_twice("memory store", args.api, MemoryBackend())
    report("VLAN 1..4094, memory store (blocks of 409)", 4094, blocks(4094, 409, vlan_api(MemoryBackend())))
    with tempfile.TemporaryDirectory() as folder:
        backend = SqliteBackend(Path(folder) / "bench.db")
        ip_api_twice("SQLite store", args.api, backend)
        backend.close()
    fabric_report(args.fabric)
    pools_reversed_report(args.fabric)
    admission_report(args.fabric)


if __name__ == "__main__":
    main()
