"""kubectl against ``choreo server start``: explain, diff, server dry-run, tables, paging, namespaces.

Each test runs with Debian's kubectl 1.20 (which reads only the protobuf ``/openapi/v2``) and with the
kubectl on PATH, against one real server process serving the interface example with ``-r`` (its IPClaims
have printer columns).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import choreo
from tests.e2e.test_server import KUBECTLS, kubeconfig
from tests.server.harness import Http, ServerProcess, copy_example, idle, wait_for

Kubectl = Callable[..., subprocess.CompletedProcess]


@pytest.fixture(scope="module")
def served_interface(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("kubectl")
    server = ServerProcess(str(copy_example("interface", folder)), "-r", "--address", "127.0.0.1:0")
    try:
        url = server.wait_ready()
        wait_for(lambda: idle(Http(url)), "the first reconciles")
        yield url, kubeconfig(folder / "kubeconfig", url)
    finally:
        server.stop()


@pytest.fixture(params=KUBECTLS, ids=lambda path: "kubectl-1.20" if ".tools" in path else "kubectl")
def kubectl(request: pytest.FixtureRequest, served_interface: tuple[str, Path], tmp_path: Path) -> Kubectl:
    _url, config = served_interface

    def run(*args: str, stdin: str | None = None, ok: bool = True) -> subprocess.CompletedProcess:
        command = [request.param, "--kubeconfig", str(config), "--cache-dir", str(tmp_path / "cache"), *args]
        result = subprocess.run(command, capture_output=True, text=True, input=stdin, timeout=60)
        assert not ok or result.returncode == 0, result.stderr
        return result

    return run


def _node(name: str, index: str) -> str:
    return f"apiVersion: example.com/v1alpha1\nkind: Node\nmetadata:\n  name: {name}\nspec:\n  index: {index}\n"


def test_explain_reads_the_kinds_schema(kubectl: Kubectl) -> None:
    whole = kubectl("explain", "node").stdout
    assert "KIND:" in whole and "Node" in whole and "spec" in whole
    spec = kubectl("explain", "node.spec").stdout
    assert "index" in spec and "the IPIndex to take loopback addresses from" in spec


def test_diff_and_server_dry_runs_show_only_real_changes_and_keep_nothing(kubectl: Kubectl, tmp_path: Path) -> None:
    name = f"n{abs(hash(tmp_path)) % 10**6}"
    kubectl("apply", "-f", "-", stdin=_node(name, "kubenet"))
    before = kubectl("get", "node.example.com", name, "-o", "jsonpath={.metadata.resourceVersion}").stdout
    changed = _node(name, "other")
    diff = kubectl("diff", "-f", "-", stdin=changed, ok=False)
    assert diff.returncode == 1, diff.stderr
    changes = [line for line in diff.stdout.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert "-  index: kubenet" in changes and "+  index: other" in changes
    assert not [line for line in changes if "resourceVersion" in line or "annotations: {}" in line], changes
    same = kubectl("diff", "-f", "-", stdin=_node(name, "kubenet"), ok=False)
    assert (same.returncode, same.stdout) == (0, "")
    configured = kubectl("apply", "--dry-run=server", "-f", "-", stdin=changed).stdout
    assert f"node.example.com/{name} configured (server dry run)" in configured
    applied = kubectl("apply", "--server-side", "--force-conflicts", "--dry-run=server", "-f", "-", stdin=changed)
    assert f"node.example.com/{name} serverside-applied (server dry run)" in applied.stdout
    after = kubectl("get", "node.example.com", name, "-o", "jsonpath={.metadata.resourceVersion} {.spec.index}")
    assert after.stdout == f"{before} kubenet"


def test_get_shows_printer_columns_and_pages(kubectl: Kubectl) -> None:
    table = kubectl("get", "ipclaims").stdout.splitlines()
    assert table[0].split()[:6] == ["NAME", "READY", "INDEX", "PREFIXTYPE", "CLAIMREQ", "CLAIMRSP"]
    row = next(line.split() for line in table if line.startswith("node1.loopback.ipv4"))
    assert row[1:3] == ["True", "kubenet"] and "10.0.0.0/32" in row
    assert kubectl("get", "ipclaims", "--chunk-size=1").stdout.splitlines() == table
    assert len(table) > 2  # more than one page of one


def test_a_namespace_file_is_applied_diffed_and_labelled(kubectl: Kubectl, tmp_path: Path) -> None:
    """kubectl patches core kinds with a strategic merge patch."""
    name = f"team{abs(hash(tmp_path)) % 10**6}"
    manifest = f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels:\n    tier: a\n"
    assert f"namespace/{name} created" in kubectl("apply", "-f", "-", stdin=manifest).stdout
    changed = manifest.replace("tier: a", "tier: b")
    diff = kubectl("diff", "-f", "-", stdin=changed, ok=False)
    assert diff.returncode == 1 and "-    tier: a" in diff.stdout and "+    tier: b" in diff.stdout, diff.stderr
    assert f"namespace/{name} configured" in kubectl("apply", "-f", "-", stdin=changed).stdout
    kubectl("label", "ns", name, "extra=yes")
    labels = kubectl("get", "ns", name, "-o", "jsonpath={.metadata.labels.tier} {.metadata.labels.extra}").stdout
    assert labels == "b yes"
    kubectl("delete", "ns", name)


def test_namespaces_are_created_listed_and_deleted(kubectl: Kubectl, tmp_path: Path) -> None:
    name = f"lab{abs(hash(tmp_path)) % 10**6}"
    assert f"namespace/{name} created" in kubectl("create", "ns", name).stdout
    listed = {line.split()[0]: line.split()[1] for line in kubectl("get", "ns").stdout.splitlines()[1:]}
    assert listed[name] == "Active"
    kubectl("apply", "-n", name, "-f", "-", stdin=_node("inside", "kubenet"))
    assert f'namespace "{name}" deleted' in kubectl("delete", "ns", name).stdout
    assert name not in kubectl("get", "ns").stdout
    gone = kubectl("get", "node.example.com", "inside", "-n", name, ok=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


def test_go_template_and_file_formats_print_what_kubectl_prints(
    kubectl: Kubectl, served_interface: tuple[str, Path], tmp_path: Path
) -> None:
    url, _config = served_interface
    (tmp_path / "columns.txt").write_text("NAME   ADDRESS\n.metadata.name   {.status.address}\n")
    (tmp_path / "names.jsonpath").write_text('{range .items[*]}{.metadata.name}{"\\n"}{end}')
    (tmp_path / "names.tmpl").write_text("{{range .items}}{{.metadata.name}} {{.spec.index}}\n{{end}}")
    formats = [
        '-o=go-template={{range .items}}{{.metadata.name}}={{.status.address}}{{.nope}}{{"\\n"}}{{end}}',
        '-o=go-template={{range $i, $c := .items}}{{if eq $i 0}}{{printf "%d %v" (len $.items) $c.spec}}{{end}}'
        '{{end}}',
        '-o=go-template={{range .items}}{{exists . "status" "address"}} {{exists . "spec" "nope" 0}} '
        '{{base64decode "aGk="}}{{"\\n"}}{{end}}',  # kubectl's two functions
        f"-o=custom-columns-file={tmp_path / 'columns.txt'}",
        f"-o=jsonpath-file={tmp_path / 'names.jsonpath'}",
        f"-o=go-template-file={tmp_path / 'names.tmpl'}",
    ]
    for fmt in formats:
        theirs = kubectl("get", "ipclaims", fmt).stdout
        ours = choreo("get", "ipclaims", fmt, "--server", url)
        assert (ours.code, ours.err) == (0, ""), fmt
        assert ours.out == theirs and theirs.strip(), fmt
    assert "=10.0.0.0/32<no value>\n" in choreo("get", "ipclaims", formats[0], "--server", url).out  # a missing key
    broken = choreo("get", "ipclaims", "-o", "go-template={{.items", "--server", url)
    assert (broken.code, broken.out, broken.err) == (1, "", "error: -o go-template: go-template:1: unclosed action\n")


def test_tables_and_api_resources_are_written_byte_for_byte_as_kubectl_writes_them(
    kubectl: Kubectl, served_interface: tuple[str, Path]
) -> None:
    """kubectl's tabwriter: a column at least 6 wide, gap included; the last cell unpadded, so a row whose
    last cells are empty keeps the padding before them."""
    url, _config = served_interface
    for args in (
        ("get", "ipclaims", "-o", "wide"),  # empty trailing cells
        ("get", "nodes", "-o", "custom-columns=G:.metadata.generation,N:.metadata.name,X:.metadata.labels.x"),
        ("api-resources",),
        ("api-resources", "-o", "wide"),
        ("api-resources", "-o", "name"),
        ("api-resources", "--api-group=ipam.be.kuid.dev", "--no-headers"),
        ("api-resources", "--namespaced=false", "--sort-by=kind"),
        ("get", "reconcilers", "-o", "yaml"),  # code as literal blocks, quoted strings as Go's yaml.v2 quotes them
        ("get", "crds", "-o", "yaml"),  # long descriptions wrapped at 80
        ("get", "ipclaims", "-o", "yaml"),
        ("get", "reconcilers", "-o", "json"),  # Go's JSON: <, > and & escaped
    ):
        theirs = kubectl(*args).stdout
        shown = ("--show-managed-fields",) if "managedFields" in theirs else ()
        if shown:  # kubectl 1.20 showed managed fields, and a List's selfLink
            theirs = theirs.replace('  selfLink: ""\n', "").replace(',\n        "selfLink": ""', "")
        ours = choreo(*args, *shown, "--server", url)
        assert (ours.code, ours.err) == (0, ""), args
        if args == ("api-resources", "-o", "wide") and "CATEGORIES" not in theirs:
            # kubectl 1.20 wrote VERBS as Go's [a b] and no CATEGORIES; choreo writes today's form
            assert "[create delete deletecollection get list patch update watch]" in theirs
            assert "create,delete,deletecollection,get,list,patch,update,watch" in ours.out
            continue
        assert ours.out == theirs and theirs, args  # none of these tables has an AGE column
