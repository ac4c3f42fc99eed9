"""Benchmark: server-side apply (choreo/apiserver/ssa.py) against the committed version, in one run.

Every API write of a reconciler run goes through ``ssa.apply`` or ``ssa.update``, so their cost per call
sets much of the pace of ``choreo run``. This measures applies per second on three realistic objects:

* ``for-object``: a resource with a user-applied spec and finalizer, and a reconciler's status
  (``status.conditions`` list-map, a finalizer of its own), written through apply and update;
* ``child``: an object a reconciler creates with a 30-leaf spec (nested maps and a list-map);
* ``claim``: an allocator claim with labels, an owner reference and an allocated status;

each for (a) create, (b) a real change of the applied values and (c) a no-op re-apply of the same intent; and
a second manager adding just a finalizer to the child (what a reconciler watching an object applies).
The baseline is ``git show <rev>:`` of ssa.py and fieldpath.py (default HEAD) loaded into a private module
namespace, so both versions run on the same machine, interleaved, in the same process; the results of both
are checked to be identical before anything is timed.

    .venv/bin/python -m benchmarks.ssa                 # against HEAD
    .venv/bin/python -m benchmarks.ssa --rev HEAD~3 --seconds 0.5
"""

from __future__ import annotations

import argparse
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.baseline import module_from_git
from choreo.apiserver import ssa
from choreo.apiserver.openapi import SchemaInfo

REPO = Path(__file__).resolve().parents[1]
NOW = "2024-01-01T00:00:00Z"
LATER = "2024-01-01T00:05:00Z"

Object = dict[str, Any]
Call = Callable[[types.ModuleType], Object]


def load_baseline(rev: str) -> types.ModuleType:
    """ssa.py of ``rev`` as a module whose ``choreo.apiserver.fieldpath`` import is fieldpath.py of ``rev``."""
    fieldpath = module_from_git(rev, "choreo/apiserver/fieldpath.py")
    return module_from_git(rev, "choreo/apiserver/ssa.py", {"choreo.apiserver.fieldpath": fieldpath})


# --------------------------------------------------------------------------------------------------
# realistic objects and their schemas


def _conditions_schema() -> dict[str, Any]:
    condition = {"type": "object", "properties": {k: {"type": "string"} for k in ("type", "status", "reason")}}
    return {
        "type": "array",
        "items": condition,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
    }


def _schema(spec: dict[str, Any]) -> SchemaInfo:
    return SchemaInfo(
        {
            "type": "object",
            "properties": {
                "spec": spec,
                "status": {
                    "type": "object",
                    "properties": {"conditions": _conditions_schema()},
                    "x-kubernetes-preserve-unknown-fields": True,
                },
            },
        }
    )


def _meta(name: str, **extra: Any) -> Object:
    return {"name": name, "namespace": "default", **extra}


def for_object(version: int) -> tuple[Object, Object]:
    """(user intent, reconciler status intent) of a for-object; ``version`` changes the values."""
    user = {
        "apiVersion": "infra.example.com/v1",
        "kind": "Node",
        "metadata": _meta("leaf1", labels={"site": "ams", "role": "leaf"}, finalizers=["user.example.com/keep"]),
        "spec": {"node": "leaf1", "provider": "ietf", "version": f"1.0.{version}", "platformType": "generic"},
    }
    status = {
        "apiVersion": "infra.example.com/v1",
        "kind": "Node",
        "metadata": _meta("leaf1", finalizers=["node.reconciler/finalizer"]),
        "status": {
            "conditions": [
                {"type": "Ready", "status": "True", "reason": f"Reconciled{version}"},
                {"type": "Synced", "status": "True", "reason": "Applied"},
            ],
            "observedGeneration": version,
        },
    }
    return user, status


def child(version: int) -> Object:
    """A reconciler's child with a 30-leaf spec."""
    ports = [{"name": f"ethernet-1/{i}", "mtu": 9000 + version, "enabled": True} for i in range(1, 5)]
    return {
        "apiVersion": "infra.example.com/v1",
        "kind": "Interface",
        "metadata": _meta(
            "leaf1-e1",
            labels={"node": "leaf1", "app": "fabric"},
            ownerReferences=[{"apiVersion": "infra.example.com/v1", "kind": "Node", "name": "leaf1", "uid": "u1"}],
        ),
        "spec": {
            "node": "leaf1",
            "description": f"uplink {version}",
            "ports": ports,
            "ipv4": {"address": f"10.0.{version}.1", "prefixLength": 31, "secondary": ["10.1.0.1", "10.1.0.2"]},
            "ipv6": {"address": "2001:db8::1", "prefixLength": 127},
            "vlan": {"id": 100 + version, "tagged": True, "name": "core"},
            "bgp": {"asn": 65000, "peerAsn": 65001, "peer": "10.0.0.0", "bfd": True, "holdTime": 90},
            "qos": {"profile": "default", "trust": "dscp"},
        },
    }


def _child_schema() -> SchemaInfo:
    ports = {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]}
    return _schema({"type": "object", "properties": {"ports": ports}})


def claim(version: int) -> Object:
    """An IP claim as an allocator plug-in sees it: spec from the reconciler, status from the allocator."""
    return {
        "apiVersion": "ipam.be.kuid.dev/v1alpha1",
        "kind": "IPClaim",
        "metadata": _meta(
            "fabric.leaf1-spine1-1.a",
            labels={"ipam.be.kuid.dev/index": "fabric", "owner": "link"},
            ownerReferences=[{"apiVersion": "infra.kuid.dev/v1alpha1", "kind": "Link", "name": "l1", "uid": "u2"}],
        ),
        "spec": {"index": "fabric", "prefixType": "network", "selector": {"matchLabels": {"purpose": "p2p"}}},
        "status": {"prefix": f"10.0.{version}.0/31", "address": f"10.0.{version}.0", "expiryTime": "never"},
    }


def finalizer_only(obj: Object) -> Object:
    """What a second reconciler applies to an object it watches: its identity and a finalizer of its own."""
    metadata = {"name": obj["metadata"]["name"], "namespace": "default", "finalizers": ["config.reconciler/keep"]}
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": metadata}


# --------------------------------------------------------------------------------------------------
# the cases


def cases() -> dict[str, Call]:
    """Each case takes an ssa module and performs one apply/update with it."""
    node_sem = _schema({"type": "object"})
    child_sem = _child_schema()
    claim_sem = _schema({"type": "object"})
    user1, status1 = for_object(1)
    user2, status2 = for_object(2)

    def for_live(mod: types.ModuleType, user: Object, status: Object) -> Object:
        live = mod.apply(None, user, "user", node_sem, now=NOW)
        live = mod.apply(live, status, "node-reconciler", node_sem, now=NOW, subresource="status")
        return mod.update(live, {**live, "status": {**live["status"], "lastSeen": NOW}}, "watcher", node_sem, now=NOW)

    def once(make: Callable[[types.ModuleType], Object]) -> Callable[[types.ModuleType], Object]:
        memo: dict[str, Object] = {}

        def get(mod: types.ModuleType) -> Object:
            if mod.__name__ not in memo:
                memo[mod.__name__] = make(mod)
            return memo[mod.__name__]

        return get

    node_live = once(lambda mod: for_live(mod, user1, status1))
    child_live = once(lambda mod: mod.apply(None, child(1), "node-reconciler", child_sem, now=NOW))
    claim_live = once(lambda mod: mod.apply(None, claim(1), "allocator", claim_sem, now=NOW))
    child2, claim2 = child(2), claim(2)
    return {
        "for-object create": lambda mod: for_live(mod, user1, status1),
        "for-object change (apply)": lambda mod: mod.apply(
            node_live(mod), status2, "node-reconciler", node_sem, now=LATER, subresource="status"
        ),
        "for-object change (update)": lambda mod: mod.update(
            node_live(mod), {**node_live(mod), "spec": user2["spec"]}, "editor", node_sem, now=LATER
        ),
        "for-object no-op": lambda mod: mod.apply(
            node_live(mod), status1, "node-reconciler", node_sem, now=LATER, subresource="status"
        ),
        "child create": lambda mod: mod.apply(None, child(1), "node-reconciler", child_sem, now=NOW),
        "child change": lambda mod: mod.apply(child_live(mod), child2, "node-reconciler", child_sem, now=LATER),
        "child no-op": lambda mod: mod.apply(child_live(mod), child(1), "node-reconciler", child_sem, now=LATER),
        "child finalizer (2nd mgr)": lambda mod: mod.apply(
            child_live(mod), finalizer_only(child(1)), "config-reconciler", child_sem, now=LATER
        ),
        "claim create": lambda mod: mod.apply(None, claim(1), "allocator", claim_sem, now=NOW),
        "claim change": lambda mod: mod.apply(claim_live(mod), claim2, "allocator", claim_sem, now=LATER),
        "claim no-op": lambda mod: mod.apply(claim_live(mod), claim(1), "allocator", claim_sem, now=LATER),
    }


CALLS_PER_CASE = {"for-object create": 3}  # apply, apply, update


def rate(call: Call, mod: types.ModuleType, seconds: float, calls: int) -> float:
    """Best calls per CPU second over a few timed batches of about ``seconds`` in total (CPU time of this
    process: on a shared machine wall-clock time mostly measures the neighbours)."""
    batch = 50
    best = 0.0
    deadline = time.process_time() + seconds
    while time.process_time() < deadline or best == 0.0:
        started = time.process_time()
        for _ in range(batch):
            call(mod)
        best = max(best, batch * calls / max(time.process_time() - started, 1e-9))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="HEAD", help="git revision of the baseline (default HEAD)")
    parser.add_argument("--seconds", type=float, default=1.0, help="time per case and version (default 1)")
    args = parser.parse_args()
    baseline = load_baseline(args.rev)
    current = ssa
    all_cases = cases()
    for name, call in all_cases.items():  # same behaviour first: identical results on every case
        if call(baseline) != call(current):
            sys.exit(f"{name}: the current ssa.py gives a different result than {args.rev}")
    print(f"ssa apply/update, calls per second (best of batches, {args.seconds:g} s per case and version)")
    print(f"  {'case':<28} {args.rev:>12} {'current':>12} {'speed-up':>9}")
    ratios = []
    for name, call in all_cases.items():
        calls = CALLS_PER_CASE.get(name, 1)
        half = args.seconds / 2
        base = new = 0.0
        for _ in range(2):  # interleaved, so a noisy neighbour hits both versions alike
            base = max(base, rate(call, baseline, half, calls))
            new = max(new, rate(call, current, half, calls))
        ratios.append(new / base)
        print(f"  {name:<28} {base:12,.0f} {new:12,.0f} {new / base:8.2f}x", flush=True)
    geomean = 1.0
    for ratio in ratios:
        geomean *= ratio
    print(f"  {'geometric mean':<28} {'':>12} {'':>12} {geomean ** (1 / len(ratios)):8.2f}x")


if __name__ == "__main__":
    main()
