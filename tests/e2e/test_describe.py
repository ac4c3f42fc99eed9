"""``choreo describe`` writes what ``kubectl describe`` writes for a custom resource: the same text, locally and
from a server, with the Events about the object (a failed reconcile's)."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from choreo.cli.describe import aligned, describe_object, smart_label
from tests.e2e import test_server
from tests.e2e.conftest import choreo
from tests.e2e.test_server import KUBECTLS, kubeconfig
from tests.server.harness import Http, copy_example, wait_for

NOW = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
GREETINGS = "/apis/example.com/v1alpha1/namespaces/default/greetings"


def test_field_names_in_words_and_columns_as_gos_tabwriter() -> None:
    assert [smart_label(f) for f in ("apiVersion", "uid", "lastTransitionTime", "IPAddress", "mtu", "ipv4",
                                     "prefix-length", "ietf-interfaces:interfaces")] == [
        "API Version", "UID", "Last Transition Time", "IP Address", "Mtu", "ipv4", "Prefix - Length",
        "ietf-interfaces:interfaces"]
    assert aligned(["Name:\tx", "Spec:", "  Node:\tleaf1", "  Mtu:\t9000", "Kind:\tLink"]) == [
        "Name:  x", "Spec:", "  Node:  leaf1", "  Mtu:   9000", "Kind:    Link"]  # a run of lines with cells


def test_an_object_and_its_events() -> None:
    link = {"apiVersion": "infra.kuid.dev/v1alpha1", "kind": "Link",
            "metadata": {"name": "l1", "namespace": "default", "uid": "u1", "labels": {"b": "2", "a": "1"},
                         "managedFields": [{"manager": "x"}], "finalizers": ["link"]},
            "spec": {"endpoints": [{"node": "leaf1", "port": "e1"}], "mtu": 9000, "enabled": True},
            "status": {"conditions": [{"type": "Ready", "status": "False", "message": ""}]}}
    event = {"type": "Warning", "reason": "ReconcileFailed", "message": " boom ", "count": 3,
             "source": {"component": "choreo"}, "firstTimestamp": "2026-12-06T11:55:00Z",
             "lastTimestamp": "2026-12-06T11:59:00Z"}
    assert describe_object(link, [event], NOW) == [
        "Name:         l1",
        "Namespace:    default",
        "Labels:       a=1",
        "              b=2",
        "Annotations:  <none>",
        "API Version:  infra.kuid.dev/v1alpha1",
        "Kind:         Link",
        "Metadata:",
        "  Finalizers:",
        "    link",
        "  UID:  u1",  # managed fields left out
        "Spec:",
        "  Enabled:  true",
        "  Endpoints:",
        "    Node:  leaf1",
        "    Port:  e1",
        "  Mtu:     9000",
        "Status:",
        "  Conditions:",
        "    Message:  ",  # an empty value: the tabwriter's padding stays, as in kubectl's text
        "    Status:   False",
        "    Type:     Ready",
        "Events:",
        "  Type     Reason           Age               From    Message",
        "  ----     ------           ----              ----    -------",
        "  Warning  ReconcileFailed  60s (x3 over 5m)  choreo  boom",
    ]


greeting_server = test_server.greeting_server  # the served greeting example, once idle


@pytest.fixture
def failing_server(greeting_server):
    """The greeting server with a Greeting whose reconcile keeps failing (a conflict on its Message)."""
    _server, url, project = greeting_server
    hacked = {"apiVersion": "example.com/v1alpha1", "kind": "Message",
              "metadata": {"name": "alice-message", "namespace": "default"}, "spec": {"text": "hacked"}}
    path = "/apis/example.com/v1alpha1/namespaces/default/messages/alice-message"
    code, _ = Http(url).call("PATCH", f"{path}?fieldManager=kubectl&force=true", hacked,
                             content_type="application/apply-patch+yaml")
    assert code == 200
    wait_for(lambda: "ApplyConflict" in choreo("describe", "greeting", "alice", "--server", url).out,
             "the failed reconcile's Event")
    return url, project


def test_describe_on_a_server_shows_the_failure_event(failing_server) -> None:
    url, _project = failing_server
    text = choreo("describe", "greeting", "alice", "--server", url)
    assert text.code == 0, text.err
    lines = text.out.splitlines()
    assert lines[:2] == ["Name:         alice", "Namespace:    default"]
    assert "Kind:         Greeting" in lines and "Spec:" in lines and "Managed Fields:" not in text.out
    at = lines.index("Events:")
    assert lines[at + 1].split() == ["Type", "Reason", "Age", "From", "Message"]
    assert lines[at + 3].split()[:2] == ["Warning", "ApplyConflict"] and "choreo" in lines[at + 3]


NEWER_KUBECTLS = [k for k in KUBECTLS if int(re.search(r"v1\.(\d+)", subprocess.run(
    [k, "version", "--client"], capture_output=True, text=True).stdout).group(1)) >= 21]  # 1.21 hid managedFields


@pytest.mark.parametrize("kubectl_bin", NEWER_KUBECTLS)
def test_describe_writes_what_kubectl_writes(failing_server, tmp_path: Path, kubectl_bin: str) -> None:
    url, _project = failing_server
    config = kubeconfig(tmp_path / "kubeconfig", url)
    code, _ = Http(url).call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                             "metadata": {"name": "lab", "labels": {"team": "a"}}})
    assert code == 201
    for what in (("greeting", "alice"), ("greeting", "bob"), ("message", "bob-message"), ("namespace", "lab")):
        theirs = subprocess.run([kubectl_bin, "--kubeconfig", str(config), "describe", *what],
                                capture_output=True, text=True, timeout=60)
        ours = choreo("describe", *what, "--server", url)
        assert theirs.returncode == 0 and ours.code == 0, theirs.stderr + ours.err
        assert _steady(theirs.stdout.splitlines()) == _steady(ours.out.splitlines())  # trailing spaces too


def _steady(lines: list[str]) -> list[object]:
    """A description without what moves between two commands: the lines before the Events table as they are,
    then each Event's cells but its age (a retried reconcile's Event grows older and counts up meanwhile)."""
    if "Events:" not in lines:
        return list(lines)
    at = lines.index("Events:")
    rows = [re.split(r"\s{2,}", line.strip()) for line in lines[at + 1:]]
    return [*lines[:at], *([cell for i, cell in enumerate(row) if i != 2] for row in rows)]


def test_describe_reads_the_project_store(tmp_path: Path) -> None:
    project = copy_example("greeting", tmp_path)
    assert choreo("run", str(project)).code == 0
    text = choreo("describe", "greetings", "-C", str(project))  # every Greeting, two blank lines between
    assert text.code == 0 and text.out.count("\n\n\nName:") == 1 and text.out.startswith("Name:         alice\n")
    assert re.search(r"\nEvents: +<none>\n$", text.out)
    none = choreo("describe", "greetings", "-l", "team=none", "-C", str(project))
    assert (none.code, none.out, none.err) == (0, "", "No resources found in default namespace.\n")


def test_a_namespace_as_kubectls_own_describer_writes_it() -> None:
    lab = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lab", "labels": {"team": "a"}},
           "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
    assert describe_object(lab, [], NOW) == [
        "Name:         lab", "Labels:       team=a", "Annotations:  <none>", "Status:       Active"]
