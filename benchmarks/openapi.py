"""OpenAPI benchmark: defaulting and validation of realistic objects, this tree against the committed code.

The API server runs ``apply_defaults``, ``validate`` and ``validate_metadata`` on every write, against the
same few schemas again and again. This benchmark does exactly that, N times per case, for:

* ``widget``: a CRD-typed object with a nested spec (patterns, enums, formats, int-or-string, defaults,
  allOf/oneOf, a label map, a list of objects) and a list-map ``status.conditions``;
* ``ipclaim``: the kuid IPClaim CRD from reconcilers/crds with a claim and its status;
* ``interface``: the fabric example's Interface CRD (a default to fill in, list-map conditions);
* ``config``: the fabric example's sdcio Config CRD carrying an SR-Linux-like interface tree;
* ``invalid``: a widget with a dozen mistakes, so the error paths are timed too.

The baseline is ``git show HEAD:`` of choreo/apiserver/openapi.py and metadata.py, loaded into temporary
modules in the same process, so both are timed in the same run on the same machine. Before timing, every
case is checked to give the same defaulted object and the same errors (path and message) both ways.

    .venv/bin/python -m benchmarks.openapi           # N = 5000
    .venv/bin/python -m benchmarks.openapi 20000
"""

from __future__ import annotations

import argparse
import copy
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from benchmarks.baseline import module_from_git
from choreo.apiserver import metadata, openapi

REPO = Path(__file__).resolve().parents[1]
BASELINE_FILES = {"openapi": "choreo/apiserver/openapi.py", "metadata": "choreo/apiserver/metadata.py"}

Obj = dict[str, Any]
Case = tuple[str, Obj, Obj, bool]  # name, schema, object, namespaced
Check = Callable[[Obj, Obj, bool], list[tuple[str, str]]]


# ---------------------------------------------------------------------------------------------------
# The code under test: committed (baseline) and current
# ---------------------------------------------------------------------------------------------------


def load_baseline(name: str) -> types.ModuleType:
    """The committed version of a module, loaded under a private name (it never replaces the real one)."""
    return module_from_git("HEAD", BASELINE_FILES[name])


def checker(openapi_module: Any, metadata_module: Any) -> Check:
    """What the API server does on a write: default, then validate metadata and the schema."""

    def check(schema: Obj, obj: Obj, namespaced: bool) -> list[tuple[str, str]]:
        openapi_module.apply_defaults(schema, obj)
        errors = metadata_module.validate_metadata(obj, namespaced=namespaced) + openapi_module.validate(schema, obj)
        return [(e.path, e.message) for e in errors]

    return check


# ---------------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------------

CONDITIONS = {
    "type": "array",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
    "items": {
        "type": "object",
        "required": ["type", "status"],
        "properties": {
            "type": {"type": "string", "pattern": "^[A-Z][A-Za-z]*$"},
            "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
            "reason": {"type": "string", "maxLength": 1024},
            "message": {"type": "string", "maxLength": 32768},
            "lastTransitionTime": {"type": "string", "format": "date-time"},
            "observedGeneration": {"type": "integer", "format": "int64", "minimum": 0},
        },
    },
}

WIDGET_SCHEMA: Obj = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["size", "ports"],
            "properties": {
                "size": {"type": "string", "enum": ["small", "medium", "large"]},
                "replicas": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 100, "default": 1},
                "mode": {"type": "string", "default": "auto"},
                "image": {"type": "string", "pattern": "^[a-z0-9./-]+(:[A-Za-z0-9._-]+)?$", "maxLength": 255},
                "timeout": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
                "labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 63}},
                "owner": {"type": "string", "format": "hostname"},
                "network": {
                    "type": "object",
                    "properties": {
                        "cidr": {"type": "string", "format": "cidr"},
                        "gateway": {"type": "string", "format": "ipv4"},
                        "mtu": {"type": "integer", "minimum": 576, "maximum": 9216, "default": 1500},
                        "vlans": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "integer"}},
                    },
                    "oneOf": [{"required": ["cidr"]}, {"required": ["gateway"]}],
                },
                "ports": {
                    "type": "array",
                    "minItems": 1,
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name", "protocol"],
                    "items": {
                        "type": "object",
                        "required": ["name", "port"],
                        "properties": {
                            "name": {"type": "string", "pattern": "^[a-z][a-z0-9-]*$"},
                            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                            "protocol": {"type": "string", "enum": ["TCP", "UDP"], "default": "TCP"},
                            "weight": {"type": "number", "multipleOf": 0.5},
                        },
                    },
                },
                "template": {"type": "object", "x-kubernetes-embedded-resource": True, "properties": {}},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
            "allOf": [{"properties": {"replicas": {"maximum": 50}}}],
        },
        "status": {
            "type": "object",
            "properties": {"observedGeneration": {"type": "integer"}, "conditions": CONDITIONS},
        },
    },
}


def _metadata(name: str, namespaced: bool = True) -> Obj:
    md: Obj = {
        "name": name,
        "uid": "0b6f1d36-1c5e-4a53-9d6e-6a8b7b0f2c11",
        "resourceVersion": "42",
        "generation": 3,
        "labels": {"app.kubernetes.io/name": "widget", "tier": "backend"},
        "annotations": {"example.com/note": "benchmark object"},
        "ownerReferences": [
            {
                "apiVersion": "example.com/v1",
                "kind": "Parent",
                "name": "parent-1",
                "uid": "6c1b2a9e-2f4d-4e6a-8b3c-1d2e3f4a5b6c",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
        "finalizers": ["example.com/cleanup"],
    }
    if namespaced:
        md["namespace"] = "default"
    return md


def _conditions() -> list[Obj]:
    return [
        {
            "type": kind,
            "status": "True",
            "reason": "Ready",
            "message": "all good",
            "lastTransitionTime": "2024-05-01T10:00:00Z",
            "observedGeneration": 3,
        }
        for kind in ("Ready", "Synced")
    ]


def widget() -> Obj:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": _metadata("widget-1"),
        "spec": {
            "size": "medium",
            "image": "registry.example.com/widget:1.2.3",
            "timeout": "30s",
            "labels": {"team": "net", "env": "prod", "zone": "a"},
            "owner": "leaf1.fabric.example.com",
            "network": {"cidr": "10.0.0.0/24", "vlans": [10, 20, 30]},
            "ports": [
                {"name": "http", "port": 80, "weight": 1.5},
                {"name": "dns", "port": 53, "protocol": "UDP"},
                {"name": "dns", "port": 53},
            ],
            "template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
            "extra": {"anything": [1, 2, {"goes": True}]},
        },
        "status": {"observedGeneration": 3, "conditions": _conditions()},
    }


def invalid_widget() -> Obj:
    obj = widget()
    spec = obj["spec"]
    spec.update(size="huge", replicas=70, image="Not An Image!", timeout=1.5, owner="-bad-", unknown=1)
    spec["network"] = {"cidr": "10.0.0.0/33", "gateway": "10.0.0.1", "mtu": 100, "vlans": [10, 10]}
    spec["ports"].append({"name": "http", "port": 70000, "weight": 0.3})
    spec["template"] = {"kind": 5}
    obj["status"]["conditions"].append({"type": "ready", "status": "Maybe", "lastTransitionTime": "yesterday"})
    obj["metadata"]["name"] = "Widget_1"
    obj["metadata"]["finalizers"] = ["a/b/c", "a/b/c"]
    return obj


def crd_schema(path: str) -> Obj:
    crd = yaml.safe_load((REPO / path).read_text())
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def ipclaim() -> Obj:
    return {
        "apiVersion": "ipam.be.kuid.dev/v1alpha1",
        "kind": "IPClaim",
        "metadata": _metadata("leaf1.loopback"),
        "spec": {
            "index": "fabric",
            "prefixType": "pool",
            "createPrefix": False,
            "addressFamily": "ipv4",
            "labels": {"infra.kuid.dev/node": "leaf1", "infra.kuid.dev/purpose": "loopback"},
            "selector": {
                "matchLabels": {"ipam.be.kuid.dev/purpose": "loopback"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}],
            },
        },
        "status": {"address": "10.0.0.1/32", "conditions": _conditions()},
    }


def interface() -> Obj:
    return {
        "apiVersion": "fabric.example.com/v1alpha1",
        "kind": "Interface",
        "metadata": _metadata("leaf1-ethernet-1-1"),
        "spec": {"node": "leaf1", "name": "ethernet-1/1", "address": "10.1.0.0", "prefixLength": 31, "mtu": 9000},
        "status": {"conditions": [{k: v for k, v in _conditions()[0].items() if k != "observedGeneration"}]},
    }


def config() -> Obj:
    interfaces = [
        {
            "name": f"ethernet-1/{i}",
            "description": f"to spine{i}",
            "admin-state": "enable",
            "mtu": 9232,
            "subinterface": [
                {
                    "index": 0,
                    "ipv4": {"admin-state": "enable", "address": [{"ip-prefix": f"10.1.{i}.0/31"}]},
                    "ipv6": {"admin-state": "enable"},
                }
            ],
        }
        for i in range(1, 5)
    ]
    return {
        "apiVersion": "config.sdcio.dev/v1alpha1",
        "kind": "Config",
        "metadata": _metadata("leaf1-interfaces"),
        "spec": {
            "priority": 10,
            "config": [
                {"path": "/", "value": {"interface": interfaces}},
                {"path": "/network-instance[name=default]", "value": {"type": "default", "admin-state": "enable"}},
            ],
        },
    }


def cases() -> list[Case]:
    return [
        ("widget", WIDGET_SCHEMA, widget(), True),
        ("ipclaim", crd_schema("reconcilers/crds/ipam.be.kuid.dev_ipclaims.yaml"), ipclaim(), True),
        ("interface", crd_schema("examples/fabric/crds/fabric.example.com_interfaces.yaml"), interface(), True),
        ("config", crd_schema("examples/fabric/crds/config.sdcio.dev_configs.yaml"), config(), True),
        ("invalid", WIDGET_SCHEMA, invalid_widget(), True),
    ]


# ---------------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------------


def same_results(case: Case, baseline: Check, current: Check) -> int:
    """Fail loudly unless both give the same defaulted object and errors; the number of errors."""
    name, schema, obj, namespaced = case
    old_obj, new_obj = copy.deepcopy(obj), copy.deepcopy(obj)
    old, new = baseline(schema, old_obj, namespaced), current(schema, new_obj, namespaced)
    if old != new or old_obj != new_obj:
        raise SystemExit(f"{name}: results differ\n  baseline: {old}\n  current:  {new}")
    return len(new)


def timed(check: Check, case: Case, n: int) -> float:
    """CPU seconds for ``n`` writes of fresh copies of the case's object (copying is not timed; CPU time
    because wall-clock time on the shared machine mostly measures the neighbours)."""
    _name, schema, obj, namespaced = case
    objects = [copy.deepcopy(obj) for _ in range(n)]
    started = time.process_time()
    for each in objects:
        check(schema, each, namespaced)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=5000, help="writes per case (default 5000)")
    args = parser.parse_args()
    baseline = checker(load_baseline("openapi"), load_baseline("metadata"))
    current = checker(openapi, metadata)
    print(f"N={args.n} writes per case (apply_defaults + validate_metadata + validate)")
    print(f"  {'case':<10} {'errors':>6} {'baseline µs':>12} {'current µs':>11} {'speed-up':>9}")
    totals = [0.0, 0.0]
    for case in cases():
        errors = same_results(case, baseline, current)
        old, new = timed(baseline, case, args.n), timed(current, case, args.n)
        totals[0] += old
        totals[1] += new
        print(f"  {case[0]:<10} {errors:>6} {old / args.n * 1e6:>12.1f} {new / args.n * 1e6:>11.1f} {old / new:>8.2f}x")
    print(f"  {'total':<10} {'':>6} {totals[0]:>11.2f}s {totals[1]:>10.2f}s {totals[0] / totals[1]:>8.2f}x")


if __name__ == "__main__":
    main()
