"""Benchmark: one Starlark reconcile call (choreo/lang/starlark_engine.py) against the committed engine.

A fabric run makes thousands of Starlark calls, each passing the for-object in, a few client results in and
out, and the returned object out again. This times ``StarlarkReconciler.reconcile`` on a Link-sized
for-object (spec, status with conditions, managedFields) against ``starlark_engine.py`` of ``--rev``
(default HEAD) loaded beside the current one, with two reconcilers: a small one that reads two objects,
creates two children and returns the object with a new status, and the example fabric's own Link
reconciler with its IPAM library (claim written, created and read back, both Interfaces read and created,
the IP helpers), answered as in a first run. Both versions must give the same output and the same client
calls; times are CPU seconds of this process (the machine is shared).

    .venv/bin/python -m benchmarks.starlark_calls          # 300 calls per version
    .venv/bin/python -m benchmarks.starlark_calls 1000 --rev HEAD~1
"""

from __future__ import annotations

import argparse
import time
import types
from pathlib import Path
from typing import Any

from benchmarks.baseline import module_from_git
from choreo.errors import NotFound
from choreo.lang import starlark_engine
from choreo.loader.project import Library

Object = dict[str, Any]
FABRIC = Path(__file__).resolve().parents[1] / "examples" / "fabric"
FABRIC_LINK = "reconcilers/link/reconciler.star"
IPAM = Library(
    "fabric.example.com.ipam.star",
    (FABRIC / "crds" / "fabric.example.com_ipam.star").read_text(),
    "crds/fabric.example.com_ipam.star",
)

RECONCILER = """
def reconcile(self):
    md = self["metadata"]
    ends = self["spec"]["endpoints"]
    for i in range(2):
        node = client_get(ends[i]["node"], md["namespace"], {"apiVersion": "infra.kuid.dev/v1alpha1", "kind": "Node"})
        client_create({
            "apiVersion": "fabric.example.com/v1alpha1",
            "kind": "Interface",
            "metadata": {"name": "%s-%s" % (ends[i]["node"], ends[i]["port"].replace("/", "-")),
                         "namespace": md["namespace"], "labels": node["resource"]["metadata"]["labels"]},
            "spec": {"node": ends[i]["node"], "name": ends[i]["port"], "address": "10.0.0.%d" % i,
                     "prefixLength": 31, "mtu": self["spec"].get("mtu", 9000)},
        })
    self["status"] = {"prefix": "10.0.0.0/31", "conditions": self["status"]["conditions"]}
    return reconcile_result(self, False, 0, "", False)
"""


def managed(manager: str, fields: dict[str, Any]) -> Object:
    return {
        "apiVersion": "infra.kuid.dev/v1alpha1",
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
        "manager": manager,
        "operation": "Apply",
        "time": "2024-01-01T00:00:00Z",
    }


def link() -> Object:
    endpoints = [{"node": "leaf1", "port": "ethernet-1/1"}, {"node": "spine1", "port": "ethernet-1/7"}]
    condition = {"type": "Ready", "status": "True", "reason": "Ready", "message": "", "lastTransitionTime": "x"}
    return {
        "apiVersion": "infra.kuid.dev/v1alpha1",
        "kind": "Link",
        "metadata": {
            "name": "leaf1-spine1-1",
            "namespace": "default",
            "uid": "0b8e8c62-5d4f-4b0a-9a51-6f9f1f0c0c01",
            "resourceVersion": "1234",
            "generation": 1,
            "creationTimestamp": "2024-01-01T00:00:00Z",
            "finalizers": ["link.fabric.example.com/finalizer"],
            "managedFields": [
                managed("choreo", {"f:spec": {"f:endpoints": {}}}),
                managed("link", {"f:status": {"f:prefix": {}, "f:conditions": {}}}),
            ],
        },
        "spec": {"endpoints": endpoints},
        "status": {"prefix": "10.0.0.0/31", "conditions": [condition]},
    }


def node(name: str) -> Object:
    return {
        "apiVersion": "infra.kuid.dev/v1alpha1",
        "kind": "Node",
        "metadata": {"name": name, "namespace": "default", "labels": {"inv.kuid.dev/node": name}},
        "spec": {"node": name, "provider": "ietf.choreo.dev", "version": "1.0.0", "platformType": "generic"},
    }


class Client:
    """The calls a reconcile makes, answered from two Nodes; creates are recorded."""

    def __init__(self) -> None:
        self.created: list[Object] = []
        self.nodes = {name: node(name) for name in ("leaf1", "spine1")}

    def get(self, api_version: str, kind: str, name: str, namespace: str) -> Object:
        return self.nodes[name]

    def list(self, api_version: str, kind: str, field_selector: dict[str, str] | None) -> list[Object]:
        return list(self.nodes.values())

    def apply(self, obj: Object) -> Object:
        return obj

    def create_child(self, obj: Object) -> Object:
        self.created.append(obj)
        return obj

    def apply_children(self) -> None:
        pass

    def delete_children(self) -> None:
        pass

    def log(self, message: str) -> None:
        pass


class FabricClient(Client):
    """The example fabric's Link reconcile in a first run: the claim is allocated as it is written, and each
    Interface read is the one this Link made before (stored objects come with their keys sorted)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, ...]] = []

    def _stored(self, obj: Object) -> Object:
        md = {**obj["metadata"], "uid": "u-" + obj["metadata"]["name"], "resourceVersion": "7", "generation": 1}
        md["creationTimestamp"] = "2024-01-01T00:00:00Z"
        return {**obj, "metadata": dict(sorted(md.items()))}

    def _allocated(self, claim: Object) -> Object:
        condition = {"lastTransitionTime": "x", "message": "", "reason": "Ready", "status": "True", "type": "Ready"}
        return {**self._stored(claim), "status": {"conditions": [condition], "prefix": "10.1.0.6/31"}}

    def apply(self, obj: Object) -> Object:
        self.calls.append(("apply", obj["kind"]))
        return self._allocated(obj)

    def get(self, api_version: str, kind: str, name: str, namespace: str) -> Object:
        self.calls.append(("get", kind, name))
        if kind == "IPClaim":
            return self._allocated({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}})
        owner = {"apiVersion": "infra.kuid.dev/v1alpha1", "controller": True, "kind": "Link", "name": "leaf1-spine1-1"}
        metadata = {"name": name, "namespace": namespace, "ownerReferences": [owner]}
        if kind != "Interface":
            raise NotFound(f'{kind.lower()}s "{name}" not found')
        return self._stored({"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": {"mtu": 9000}})


CASES = {
    "small reconciler": (RECONCILER, Client, {}),
    "example fabric Link": ((FABRIC / FABRIC_LINK).read_text(), FabricClient, {IPAM.name: IPAM}),
}


def engine(module: types.ModuleType, case: str) -> Any:
    code, _, libraries = CASES[case]
    return module.StarlarkReconciler("link", code, FABRIC_LINK, libraries)


def one_call(reconciler: Any, case: str) -> tuple[Any, list[Object], list[tuple[str, ...]]]:
    client = CASES[case][1]()
    return reconciler.reconcile(link(), client), client.created, getattr(client, "calls", [])


def timed(reconciler: Any, case: str, calls: int) -> float:
    started = time.process_time()
    for _ in range(calls):
        one_call(reconciler, case)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("calls", nargs="?", type=int, default=300, help="calls per version and round (default 300)")
    parser.add_argument("--rev", default="HEAD", help="git revision of the baseline (default HEAD)")
    args = parser.parse_args()
    module = module_from_git(args.rev, "choreo/lang/starlark_engine.py")
    print(f"Starlark reconcile calls, CPU µs per call (best of 3 rounds of {args.calls}; baseline {args.rev})")
    for case in CASES:
        baseline, current = engine(module, case), engine(starlark_engine, case)
        if one_call(baseline, case) != one_call(current, case):
            raise SystemExit(f"{case}: the current engine gives a different result than {args.rev}")
        old = new = float("inf")
        for _ in range(3):  # interleaved, so a noisy neighbour hits both versions alike; the best round counts
            old = min(old, timed(baseline, case, args.calls))
            new = min(new, timed(current, case, args.calls))
        print(f"  {case:20s} baseline {old / args.calls * 1e6:9.1f}   current {new / args.calls * 1e6:9.1f}   "
              f"{old / new:5.2f}x")


if __name__ == "__main__":
    main()
