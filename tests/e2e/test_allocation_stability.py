"""Allocations are stable through the real CLI: a claim keeps its value across runs, across an incremental
and a ``--full`` run of the same edit, and when other claims come and go; new claims take the reference's
best fit (spec §1.6) of what is left.

The project holds only indexes and claims (``in/``), one of each ID allocator and IPAM, dynamic claims
everywhere: every run after the first rebuilds each engine from the stored claims (a new process), so
what a run keeps is what a restart keeps.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from choreo.runtime.state import open_api
from tests.e2e.conftest import choreo

INDEXES = """\
apiVersion: ipam.be.kuid.dev/v1alpha1
kind: IPIndex
metadata: {name: kubenet, namespace: default}
spec:
  prefixes:
  - {prefix: 10.0.0.0/24, prefixType: network}
  - {prefix: 1000::/64}
---
apiVersion: vlan.be.kuid.dev/v1alpha1
kind: VLANIndex
metadata: {name: vl, namespace: default}
spec: {minID: 1, maxID: 4094}
---
apiVersion: as.be.kuid.dev/v1alpha1
kind: ASIndex
metadata: {name: as1, namespace: default}
spec: {minID: 65000, maxID: 65100}
---
apiVersion: genid.be.kuid.dev/v1alpha1
kind: GENIDIndex
metadata: {name: gi, namespace: default}
spec: {type: 32bit}
"""
V4 = {"matchLabels": {"ipam.be.kuid.dev/address-family": "ipv4"}}
V6 = {"matchLabels": {"ipam.be.kuid.dev/address-family": "ipv6"}}
CLAIMS = {  # claim name -> (group, kind, spec)
    "ip-a": ("ipam", "IPClaim", {"index": "kubenet", "selector": V4}),
    "ip-b": ("ipam", "IPClaim", {"index": "kubenet", "selector": V4}),
    "ip-c": ("ipam", "IPClaim", {"index": "kubenet", "selector": V4}),
    "ip-v6": ("ipam", "IPClaim", {"index": "kubenet", "selector": V6}),
    "vl-a": ("vlan", "VLANClaim", {"index": "vl"}),
    "vl-b": ("vlan", "VLANClaim", {"index": "vl"}),
    "vl-c": ("vlan", "VLANClaim", {"index": "vl"}),
    "as-a": ("as", "ASClaim", {"index": "as1"}),
    "as-b": ("as", "ASClaim", {"index": "as1"}),
    "gi-a": ("genid", "GENIDClaim", {"index": "gi"}),
    "gi-b": ("genid", "GENIDClaim", {"index": "gi"}),
}
LATER = {  # added by the edit; ip-0 sorts before every claim that holds a value
    "ip-0": ("ipam", "IPClaim", {"index": "kubenet", "selector": V4}),
    "ip-d": ("ipam", "IPClaim", {"index": "kubenet", "selector": V4}),
    "vl-d": ("vlan", "VLANClaim", {"index": "vl"}),
    "as-c": ("as", "ASClaim", {"index": "as1"}),
    "gi-c": ("genid", "GENIDClaim", {"index": "gi"}),
}
GONE = ("ip-b", "vl-b", "as-a")  # removed by the edit


def documents(claims: dict[str, tuple[str, str, dict[str, Any]]]) -> str:
    return "---\n".join(
        f"apiVersion: {group}.be.kuid.dev/v1alpha1\nkind: {kind}\nmetadata: {{name: {name}, namespace: default}}\n"
        f"spec: {json.dumps(spec)}\n"
        for name, (group, kind, spec) in claims.items()
    )


def run(project: Path, *extra: str) -> None:
    result = choreo("run", "-r", str(project), *extra, cwd=project)
    assert result.code == 0 and "execution success" in result.out, result.err + result.out


def allocated(project: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each user claim's value and Ready status, and every entry's spec with its owner, as stored."""
    api, backend = open_api(project)
    try:
        objects = list(api.stored_objects())
    finally:
        backend.close()
    values, entries = {}, {}
    for obj in objects:
        md, status = obj["metadata"], obj.get("status") or {}
        if obj["kind"].endswith("Claim") and not md.get("ownerReferences"):
            ready = [c["status"] for c in status.get("conditions", []) if c["type"] == "Ready"]
            values[md["name"]] = (status.get("address", status.get("id")), ready)
        elif obj["kind"].endswith("Entry"):
            entries[f"{obj['kind']} {md['name']}"] = (obj["spec"], md["ownerReferences"][0]["name"])
    return values, entries


def test_claims_keep_their_values_across_runs_and_full_runs(tmp_path: Path) -> None:
    project = tmp_path / "stable"
    (project / "in").mkdir(parents=True)
    (project / "in" / "indexes.yaml").write_text(INDEXES)
    (project / "in" / "claims.yaml").write_text(documents(CLAIMS))
    run(project)
    first, _ = allocated(project)
    # best fit (§1.6): a network reserves .0 and .255, so .1, then the lone .254, then .2; VLAN 1..4094 gives
    # 1, the lone 4094, 2; AS 65000..65100 the lone 65100, then the start of the smallest block left (65096/30);
    # 32-bit GENID counts from 0 (Q1 fixed)
    assert first == {
        "ip-a": ("10.0.0.1/24", ["True"]), "ip-b": ("10.0.0.254/24", ["True"]), "ip-c": ("10.0.0.2/24", ["True"]),
        "ip-v6": ("1000::/128", ["True"]), "vl-a": (1, ["True"]), "vl-b": (4094, ["True"]), "vl-c": (2, ["True"]),
        "as-a": (65100, ["True"]), "as-b": (65096, ["True"]), "gi-a": (0, ["True"]), "gi-b": (1, ["True"])}

    # the same project again, incrementally and with --full: nothing moves
    run(project)
    assert allocated(project)[0] == first
    run(project, "--full")
    assert allocated(project)[0] == first

    # an edit removes some claims and adds others; the incremental run and a --full run of a saved copy of the
    # same project and state (in the project's own folder) store the same values and the same entries
    (project / "in" / "claims.yaml").write_text(documents({k: v for k, v in CLAIMS.items() if k not in GONE}))
    (project / "in" / "later.yaml").write_text(documents(LATER))
    saved, incremental = tmp_path / "saved", tmp_path / "incremental"
    shutil.copytree(project, saved)
    run(project)
    project.rename(incremental)
    saved.rename(project)
    run(project, "--full")
    assert allocated(incremental) == allocated(project)

    values, _ = allocated(project)
    assert {k: v for k, v in values.items() if k in first} == {k: v for k, v in first.items() if k not in GONE}
    # the new claims take the best fit of what is left: ip-0, first by name, gets .3 (of .3..254, .3 and .254
    # are single-address blocks: the lowest wins), then ip-d .254; VLAN 3..4094 gives 3; AS 65097..65100 has
    # the single-id blocks 65097 and 65100: 65097
    assert {k: values[k] for k in LATER} == {
        "ip-0": ("10.0.0.3/24", ["True"]), "ip-d": ("10.0.0.254/24", ["True"]), "vl-d": (3, ["True"]),
        "as-c": (65097, ["True"]), "gi-c": (2, ["True"])}
