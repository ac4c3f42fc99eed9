"""The allocators through the real CLI on a small project of indexes and claims, locally and served:
kuid's plurals (and the old spelling), the legacy IP model's values, entry names of ids taken from a
range, and labels that an index prefix passes down when they change."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import choreo
from tests.server.harness import Http, ServerProcess, idle, wait_for

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

LATER = """\
apiVersion: ipam.be.kuid.dev/v1alpha1
kind: IPClaim
metadata: {name: later, namespace: default}
spec: {index: legacy}
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


def cli(project: Path, *args: str, server: str | None = None) -> str:
    where = ("--server", server) if server else ("-C", str(project))
    result = choreo(*args, *where, cwd=project)  # cwd: never the checkout's own packages first
    assert result.code == 0, result.err
    return result.out


def run(project: Path) -> None:
    result = choreo("run", "-r", str(project), cwd=project)
    assert result.code == 0 and "execution success" in result.out, result.err + result.out


def column(project: Path, kind: str, path: str, server: str | None = None) -> dict[str, str]:
    out = cli(project, "get", kind, "-o", f"custom-columns=NAME:.metadata.name,VALUE:{path}", server=server)
    return dict(line.split() for line in out.splitlines()[1:])


def make_project(tmp_path: Path) -> Path:
    project = tmp_path / "allocators"
    (project / "in").mkdir(parents=True)
    (project / "in" / "legacy.yaml").write_text(LEGACY.replace("PURPOSE", "loopback"))
    (project / "in" / "others.yaml").write_text(OTHERS)
    return project


def check_values(project: Path, server: str | None = None) -> None:
    """What the project's first load allocates, and the names of its entries."""
    # the legacy index hands out its pool's addresses; today's model cuts around the /24 in the /16
    addresses = column(project, "ipclaims", ".status.address", server)
    assert {k: addresses[k] for k in ("plain", "selected", "today")} == {
        "plain": "10.0.0.0/32", "selected": "10.0.0.1/32", "today": "10.1.1.0/32"}
    assert column(project, "ipentries", ".spec.prefixType", server) == {
        "default.legacy.10.0.0.0-16": "aggregate", "default.legacy.10.0.0.0-24": "pool",
        "default.legacy.10.0.0.0-32": "other", "default.legacy.10.0.0.1-32": "pool",
        "default.current.10.1.0.0-16": "regular", "default.current.10.1.0.0-24": "regular",
        "default.current.10.1.1.0-32": "regular"}

    # an id taken from a range is named after the range claim
    assert column(project, "vlanclaims", ".status.id", server)["v1"] == "200"
    assert column(project, "vlanentries", ".spec.id", server) == {
        "range1.200-32": "200/32", "vl.0-16": "0/16", "vl.200-13": "200/13", "vl.208-15": "208/15",
        "vl.4095-16": "4095/16"}

    # kuid's plural, and the old spelling
    assert cli(project, "get", "asindexes", "-o", "name", server=server) == "asindex.as.be.kuid.dev/as1\n"
    assert cli(project, "get", "asindices", "-o", "name", server=server) == "asindex.as.be.kuid.dev/as1\n"


def test_allocators_project(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    run(project)
    check_values(project)

    # the pool's labels change: the addresses kept in it carry the new ones after this run
    (project / "in" / "legacy.yaml").write_text(LEGACY.replace("PURPOSE", "infra"))
    run(project)
    assert column(project, "ipclaims", ".status.address")["selected"] == "10.0.0.1/32"
    labels = column(project, "ipentries", ".spec.labels.purpose")
    assert {k: v for k, v in labels.items() if ".legacy." in k} == {
        "default.legacy.10.0.0.0-16": "<none>", "default.legacy.10.0.0.0-24": "infra",
        "default.legacy.10.0.0.0-32": "infra", "default.legacy.10.0.0.1-32": "infra"}
    # a new claim in the next run: the engine, rebuilt from the store, gives "selected" the address it kept
    # by ownership although its selector picks no prefix now, so the new claim gets another one
    addresses = column(project, "ipclaims", ".status.address")
    (project / "in" / "later.yaml").write_text(LATER)
    run(project)
    assert column(project, "ipclaims", ".status.address") == {**addresses, "later": "10.0.0.2/32"}


def test_allocators_project_served(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    server = ServerProcess(str(project), "-r", "--address", "127.0.0.1:0", "--log-format", "json", cwd=project)
    try:
        url = server.wait_ready()
        wait_for(lambda: idle(Http(url)), "the server to be idle")
        check_values(project, url)
    finally:
        server.stop()


BAD_INDEX = """\
apiVersion: ipam.be.kuid.dev/v1alpha1
kind: IPIndex
metadata: {name: kubenet, namespace: default}
spec:
  prefixes:
  - {prefix: 10.0.0.0/24}
  - {prefix: 10.0.1.1/32}
"""

BAD_CLAIMS = """\
apiVersion: vlan.be.kuid.dev/v1alpha1
kind: VLANIndex
metadata: {name: vl, namespace: default}
spec: {}
---
apiVersion: vlan.be.kuid.dev/v1alpha1
kind: VLANClaim
metadata: {name: trunk, namespace: default}
spec: {index: vl, range: 10 - 20}
"""

EMPTY_PREFIX = """\
apiVersion: ipam.be.kuid.dev/v1alpha1
kind: IPClaim
metadata: {name: uplink, namespace: default}
spec: {index: kubenet, prefix: ""}
"""


def test_allocator_mistakes_fail_the_run_with_one_line_naming_the_file_and_field(tmp_path: Path) -> None:
    """A user's allocator mistake ends the run (exit 1) with one line naming the file, the object and the field:
    an index prefix that cannot be a prefix claim (the index's item, not the claim it derives), a range whose
    bounds are not decimal numbers, a prefix left empty (a static prefix, not a dynamic address)."""
    cases = [
        ("index.yaml", BAD_INDEX, 'error: in/index.yaml: IPIndex.ipam.be.kuid.dev "default/kubenet" is invalid: '
         "spec: prefixes[1]: staticIPprefix invalid prefix, no /32 for ipv4 or /128 for ipv6 notationallowed, got "
         "10.0.1.1/32\n"),
        ("vlan.yaml", BAD_CLAIMS, 'error: in/vlan.yaml#2: VLANClaim.vlan.be.kuid.dev "default/trunk" is invalid: '
         "spec: invalid vlan range range, err: invalid vlan range start, got: 10 ; invalid vlan range end, got:  20\n"),
        ("uplink.yaml", EMPTY_PREFIX, 'error: in/uplink.yaml: IPClaim.ipam.be.kuid.dev "default/uplink" is invalid: '
         'spec: staticIPprefix invalid prefix , err: netip.ParsePrefix(""): no \'/\'\n'),
    ]
    for file, text, message in cases:
        project = tmp_path / file.removesuffix(".yaml")
        (project / "in").mkdir(parents=True)
        if text is not BAD_INDEX:  # the claims' index
            (project / "in" / "kubenet.yaml").write_text(BAD_INDEX.replace("  - {prefix: 10.0.1.1/32}\n", ""))
        (project / "in" / file).write_text(text)
        result = choreo("run", "-r", str(project), cwd=project)
        assert (result.code, result.err) == (1, message), result.out
        assert "Traceback" not in result.out


UNALLOCATED = """\
apiVersion: ipam.be.kuid.dev/v1alpha1
kind: IPClaim
metadata: {name: uplink, namespace: default}
spec: {index: kubenet, address: 10.9.0.1/32}
"""


def test_a_claim_of_the_project_that_gets_no_value_fails_the_run(tmp_path: Path) -> None:
    """The reference refuses a claim it cannot allocate, so its file fails the load; choreo keeps it with
    Ready=False (to retry it when the index changes), and the run fails all the same, naming the claim and why.
    Once the index holds its address, the next run allocates it and succeeds."""
    project = tmp_path / "unallocated"
    (project / "in").mkdir(parents=True)
    (project / "in" / "kubenet.yaml").write_text(BAD_INDEX.replace("  - {prefix: 10.0.1.1/32}\n", ""))
    (project / "in" / "uplink.yaml").write_text(UNALLOCATED)
    failed = choreo("run", "-r", str(project), cwd=project)
    assert failed.code == 1, failed.out + failed.err
    assert ("  IPClaim default/uplink (an input of the project) is not Ready: cannot claim ip err a prefix range "
            "always needs a parent\n") in failed.out
    assert "run failed: allocators (1 error(s))" in failed.out + failed.err
    (project / "in" / "kubenet.yaml").write_text(BAD_INDEX.replace("10.0.1.1/32", "10.9.0.0/24"))
    passed = choreo("run", "-r", str(project), cwd=project)
    assert passed.code == 0, passed.out + passed.err
    assert column(project, "ipclaims", ".status.address")["uplink"] == "10.9.0.1/32"
