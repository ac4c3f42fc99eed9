"""The allocators through the real CLI on a small project of indexes and claims: kuid's plurals (and the
old spelling), the legacy IP model's values, entry names of ids taken from a range, and labels that an
index prefix passes down when they change."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import choreo

LEGACY = """\
apiVersion: ipam.be.kuid.dev/v1alpha1
kind: IPIndex
metadata: {name: legacy, namespace: default}
spec:
  prefixes:
  - {prefix: 10.0.0.0/16, prefixType: aggregate}
  - {prefix: 10.0.0.0/24, prefixType: pool, labels: {purpose: PURPOSE}}
---
apiVersion: ipam.be.kuid.dev/v1alpha1
kind: IPClaim
metadata: {name: plain, namespace: default}
spec: {index: legacy}
---
apiVersion: ipam.be.kuid.dev/v1alpha1
kind: IPClaim
metadata: {name: selected, namespace: default}
spec:
  index: legacy
  prefixType: pool
  selector: {matchLabels: {purpose: loopback}}
"""

OTHERS = """\
apiVersion: ipam.be.kuid.dev/v1alpha1
kind: IPIndex
metadata: {name: current, namespace: default}
spec:
  prefixes:
  - {prefix: 10.1.0.0/16}
  - {prefix: 10.1.0.0/24}
---
apiVersion: ipam.be.kuid.dev/v1alpha1
kind: IPClaim
metadata: {name: today, namespace: default}
spec: {index: current}
---
apiVersion: vlan.be.kuid.dev/v1alpha1
kind: VLANIndex
metadata: {name: vl, namespace: default}
spec: {minID: 1, maxID: 4094}
---
apiVersion: vlan.be.kuid.dev/v1alpha1
kind: VLANClaim
metadata: {name: range1, namespace: default}
spec: {index: vl, range: 200-209}
---
apiVersion: vlan.be.kuid.dev/v1alpha1
kind: VLANClaim
metadata: {name: v1, namespace: default}
spec:
  index: vl
  selector: {matchLabels: {be.kuid.dev/claim-name: range1}}
---
apiVersion: as.be.kuid.dev/v1alpha1
kind: ASIndex
metadata: {name: as1, namespace: default}
spec: {minID: 65000, maxID: 65100}
"""


def cli(project: Path, *args: str) -> str:
    result = choreo(*args, "-C", str(project), cwd=project)  # cwd: never the checkout's own packages first
    assert result.code == 0, result.err
    return result.out


def run(project: Path) -> None:
    result = choreo("run", "-r", str(project), cwd=project)
    assert result.code == 0 and "execution success" in result.out, result.err + result.out


def column(project: Path, kind: str, path: str) -> dict[str, str]:
    out = cli(project, "get", kind, "-o", f"custom-columns=NAME:.metadata.name,VALUE:{path}")
    return dict(line.split() for line in out.splitlines()[1:])


def test_allocators_project(tmp_path: Path) -> None:
    project = tmp_path / "allocators"
    (project / "in").mkdir(parents=True)
    (project / "in" / "legacy.yaml").write_text(LEGACY.replace("PURPOSE", "loopback"))
    (project / "in" / "others.yaml").write_text(OTHERS)
    run(project)

    # the legacy index hands out its pool's addresses; today's model cuts around the /24 in the /16
    addresses = column(project, "ipclaims", ".status.address")
    assert {k: addresses[k] for k in ("plain", "selected", "today")} == {
        "plain": "10.0.0.0/32", "selected": "10.0.0.1/32", "today": "10.1.1.0/32"}
    assert column(project, "ipentries", ".spec.prefixType") == {
        "default.legacy.10.0.0.0-16": "aggregate", "default.legacy.10.0.0.0-24": "pool",
        "default.legacy.10.0.0.0-32": "other", "default.legacy.10.0.0.1-32": "pool",
        "default.current.10.1.0.0-16": "regular", "default.current.10.1.0.0-24": "regular",
        "default.current.10.1.1.0-32": "regular"}

    # an id taken from a range is named after the range claim
    assert column(project, "vlanclaims", ".status.id")["v1"] == "200"
    assert column(project, "vlanentries", ".spec.id") == {
        "range1.200-32": "200/32", "vl.0-16": "0/16", "vl.200-13": "200/13", "vl.208-15": "208/15",
        "vl.4095-16": "4095/16"}

    # kuid's plural, and the old spelling
    assert cli(project, "get", "asindexes", "-o", "name") == "asindex.as.be.kuid.dev/as1\n"
    assert cli(project, "get", "asindices", "-o", "name") == "asindex.as.be.kuid.dev/as1\n"

    # the pool's labels change: the addresses kept in it carry the new ones after this run
    (project / "in" / "legacy.yaml").write_text(LEGACY.replace("PURPOSE", "infra"))
    run(project)
    assert column(project, "ipclaims", ".status.address")["selected"] == "10.0.0.1/32"
    labels = column(project, "ipentries", ".spec.labels.purpose")
    assert {k: v for k, v in labels.items() if ".legacy." in k} == {
        "default.legacy.10.0.0.0-16": "<none>", "default.legacy.10.0.0.0-24": "infra",
        "default.legacy.10.0.0.0-32": "infra", "default.legacy.10.0.0.1-32": "infra"}
