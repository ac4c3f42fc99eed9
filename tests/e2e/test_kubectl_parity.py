"""kubectl is the judge of choreo's reads: the same command, given to kubectl against a server of a project and
to ``choreo`` on the project folder and on that server, prints the same bytes on stdout and stderr and exits
alike (an AGE cell aside, which moves between two commands).

One real server serves the interface example with ``-r`` (its IPClaims have printer columns, its Reconciler
has code over several lines); kubectl 1.21 and later (1.20 still showed managed fields and explained fields in
its older layout).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import choreo
from tests.e2e.test_describe import NEWER_KUBECTLS
from tests.e2e.test_server import kubeconfig
from tests.server.harness import Http, ServerProcess, copy_example, idle, wait_for

pytestmark = pytest.mark.skipif(not NEWER_KUBECTLS, reason="no kubectl 1.21 or later")
AGE = re.compile(r"(?<=\s)\d+[smhd](\d+[smh])?(?=\s|$)")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    folder = tmp_path_factory.mktemp("parity")
    project = copy_example("interface", folder)
    server = ServerProcess(str(project), "-r", "--address", "127.0.0.1:0")
    try:
        url = server.wait_ready()
        wait_for(lambda: idle(Http(url)), "the first reconciles")
        yield url, project, kubeconfig(folder / "kubeconfig", url)
    finally:
        server.stop()


def _same(served: tuple[str, Path, Path], tmp_path: Path, *args: str) -> None:
    url, project, config = served
    kubectl = NEWER_KUBECTLS[-1]
    theirs = subprocess.run([kubectl, "--kubeconfig", str(config), "--cache-dir", str(tmp_path / "cache"), *args],
                            capture_output=True, text=True, timeout=60)
    expected = (AGE.sub("AGE", theirs.stdout), theirs.stderr, theirs.returncode)
    for where in (("-C", str(project)), ("--server", url)):
        ours = choreo(*args, *where)
        assert (AGE.sub("AGE", ours.out), ours.err, ours.code) == expected, (args, where)


@pytest.mark.parametrize("args", [
    ("get", "ipclaims", "-o", "jsonpath={}"),  # the whole object (choreo failed with an internal error)
    ("get", "nodes", "-o", "jsonpath={.items[0].metadata.managedFields[0].manager}"),  # templates see them
    ("get", "nodes", "-o", "jsonpath={.items[*]['metadata.name']} {true} {.}"),  # a quoted key is a path
    ("get", "nodes", "-o", "jsonpath={.items["),
    ("get", "nodes", "-o", "jsonpath={.items[a]}"),
    ("get", "nodes", "-o", "jsonpath={.kind,.apiVersion}"),
    ("get", "nodes", "-o", "jsonpath={.kind"),
    ("get", "ipclaims", "-o", "custom-columns=NAME:.metadata.name,C:.status.conditions,L:.metadata.finalizers"),
    ("get", "namespaces", "-o", "custom-columns=NAME:.metadata.name"),  # nothing: the header alone
    ("get", "namespaces"),  # a kind of no namespace: nothing found, without one
    ("get", "namespaces,nodes", "-l", "x=y"),
    ("get", "nodes", "-A", "-l", "x=y"),
    ("get", "nodes", "-l", "x=y"),
    ("get", "nodes", "-l", "x=y", "-o", "name"),  # no line under a format that is no table
    ("describe", "nodes", "-l", "x=y", "-A"),
    ("describe", "namespaces"),
    ("describe", "reconcilers"),  # code over several lines: the columns after it are aligned anew
])
def test_reads_print_what_kubectl_prints(served: tuple[str, Path, Path], tmp_path: Path, args: tuple[str, ...]) -> None:
    _same(served, tmp_path, *args)


@pytest.mark.parametrize("args", [
    ("get", "nodes", "nope1", "node1", "nope2"),  # what is there, then a line for each name that is not
    ("get", "nodes", "nope1", "node1", "-o", "name"),
    ("get", "nodes", "nope1", "-o", "yaml"),  # no empty List around nothing
    ("get", "nodes/nope1", "namespaces/x", "node/node1"),
    ("get", "nodes", "node1", "-n", "lab"),  # kubectl asks whether the namespace is there
    ("get", "customresourcedefinitions", "nope", "-n", "lab"),
    ("describe", "nodes", "nope1", "node1", "nope2"),
    ("describe", "nodes", "node1", "-n", "lab"),
    ("get", "nodes", "-l", "a=("),
    ("get", "nodes,namespaces", "--field-selector", "spec.x=y"),  # one error for each kind
    ("describe", "nodes,namespaces", "-l", "a=("),
    ("get", "nodes", "node1", "-l", "a=b"),
    ("get", "nodes/node1", "-l", "a=b"),
    ("get", "nodes", "node1", "-A"),
])
def test_errors_of_the_api_are_worded_as_kubectl_words_them(
    served: tuple[str, Path, Path], tmp_path: Path, args: tuple[str, ...]
) -> None:
    _same(served, tmp_path, *args)


@pytest.mark.parametrize("args", [
    ("get", "node.v1alpha1.example.com", "-o", "name"),  # RESOURCE.VERSION.GROUP
    ("get", "ipclaims.ipam", "-o", "name"),  # the start of a group
    ("get", "nodes.example", "node1"),
    ("get", "namespaces.v1.", "-o", "name"),  # the core group, by version
    ("get", "node.kuid.dev"),  # a group's end is no group: the resource is named in the error
    ("describe", "ipclaim.ipam.be", "node1.loopback.ipv4"),
    ("explain", "nodes.example"),  # explain reads a field there, not a group
])
def test_a_kind_is_named_as_kubectl_reads_it(served: tuple[str, Path, Path], tmp_path: Path,
                                              args: tuple[str, ...]) -> None:
    _same(served, tmp_path, *args)


@pytest.mark.parametrize("args", [
    ("explain", "nodes.nope"),  # the kind's heading on stdout, then the error
    ("explain", "nodes.spec.index.x"),
    ("explain", "nope"),  # said without error:, as kubectl says it
    ("explain", "nodes", "--api-version", "example.com/v9"),
    ("explain", "nodes", "--api-version", "v1"),
    ("explain", "nodes.spec."),
    ("explain", "nodes.spec..index"),
    ("explain", "nodes", "ipclaims"),
    ("explain", "events.note", "--api-version", "events.k8s.io/v1"),  # the kind of that name in that group
])
def test_explain_mistakes_are_said_as_kubectl_says_them(served: tuple[str, Path, Path], tmp_path: Path,
                                                         args: tuple[str, ...]) -> None:
    _same(served, tmp_path, *args)


@pytest.mark.parametrize("args", [
    ("get", "nodes", "-o", "bogus"),
    ("get", "nodes", "-o", "jsonpath"),
    ("get", "nodes", "-o", "jsonpath="),
    ("get", "nodes", "-o", "custom-columns="),
    ("get", "nodes", "-o", "custom-columns=A:.kind,B"),
    ("get", "nodes", "-o", "jsonpath-file=/nope"),
    ("get", "nodes", "-o", "custom-columns-file=/nope"),
    ("get", "nodes", "-o", "template={{.kind}}"),  # kubectl's other name of go-template
    ("get", "nodes", "-o", 'jsonpath-as-json={range .items[*]}{.metadata.name}{"\\n"}{end}{.kind}{true}'),
    ("get", "nodes", "-o", "name", "--sort-by", ".nope"),
    ("get", "nodes", "-o", "name", "--sort-by", "{.metadata.name"),
    ("get", "nodes", "-o", "name", "--sort-by", ".metadata.x["),
    ("get", "nodes", "-o", "custom-columns=A:{.x"),
    ("get", "ipclaims,nodes", "--sort-by", ".metadata.name", "-o", "name"),  # one list of both kinds, sorted
])
def test_output_formats_and_their_mistakes_are_kubectls(served: tuple[str, Path, Path], tmp_path: Path,
                                                         args: tuple[str, ...]) -> None:
    _same(served, tmp_path, *args)


@pytest.mark.parametrize("args", [
    ("api-resources", "-o", "yaml"),
    ("api-resources", "--sort-by", "plural"),
    ("api-resources", "--verbs", "list,watch", "-o", "name"),
    ("api-resources", "--verbs", "list", "--verbs", "nope"),  # every verb given: none has nope
    ("api-resources", "--categories", "kuid,other", "-o", "name"),  # every category given
    ("api-resources", "--cached", "--api-group", "ipam.be.kuid.dev"),
])
def test_api_resources_filters_and_mistakes_are_kubectls(served: tuple[str, Path, Path], tmp_path: Path,
                                                          args: tuple[str, ...]) -> None:
    _same(served, tmp_path, *args)


@pytest.mark.parametrize("command", ["get", "describe"])
def test_a_read_without_a_kind_says_what_kubectl_says(served: tuple[str, Path, Path], command: str) -> None:
    """kubectl's lines, naming choreo's commands where kubectl names its own."""
    _url, project, config = served
    theirs = subprocess.run([NEWER_KUBECTLS[-1], "--kubeconfig", str(config), command], capture_output=True,
                            text=True, timeout=60)
    ours = choreo(command, "-C", str(project))
    mine = theirs.stderr.replace("kubectl explain pods", "kubectl explain reconcilers").replace("kubectl", "choreo")
    assert (ours.code, ours.out, ours.err) == (theirs.returncode, theirs.stdout, mine) == (1, "", mine)


@pytest.mark.parametrize("args", [
    ("explain", "crds.spec.versions"),  # a CRD's fields are explained below spec, as kube-apiserver's are
    ("explain", "crds.spec.versions.additionalPrinterColumns.priority"),
    ("explain", "customresourcedefinitions.status.acceptedNames"),
])
def test_a_crds_fields_are_explained(served: tuple[str, Path, Path], tmp_path: Path, args: tuple[str, ...]) -> None:
    _same(served, tmp_path, *args)
    assert "FIELD:" in choreo(*args, "-C", str(served[1])).out


@pytest.mark.parametrize("args", [
    ("get", "nodes", "--show-labels=true", "--no-headers=false"),  # a flag takes kubectl's true/false
    ("explain", "nodes", "--recursive=false"),
    ("get", "ipclaims", "--all-namespaces=1", "-o", "name"),
])
def test_a_flag_takes_a_value_as_kubectls_do(served: tuple[str, Path, Path], tmp_path: Path,
                                             args: tuple[str, ...]) -> None:
    _same(served, tmp_path, *args)


@pytest.mark.parametrize("args", [
    ("get", "nodes", "nope", "node1", "--ignore-not-found"),
    ("get", "nodes", "nope", "--ignore-not-found", "-o", "yaml"),  # nothing at all
    ("get", "nodes", "-l", "x=y", "--ignore-not-found"),  # no 'No resources found' either
])
def test_ignore_not_found_as_kubectl(served: tuple[str, Path, Path], tmp_path: Path, args: tuple[str, ...]) -> None:
    _same(served, tmp_path, *args)


@pytest.mark.parametrize("args", [
    ("get", "nodes", "--show-kind", "-A"),
    ("get", "nodes", "--chunk-size", "1", "-o", "name"),
    ("describe", "nodes", "--show-events=false"),
])
def test_kubectls_other_read_flags(served: tuple[str, Path, Path], tmp_path: Path, args: tuple[str, ...]) -> None:
    _same(served, tmp_path, *args)
