"""Operating ``choreo server start DIR`` as a real process: failures as Kubernetes shows them (condition,
Events, retries), the project folder feeder and who owns what, ``run load`` and ``run once`` while running."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import watch

from tests.e2e import test_server
from tests.e2e.conftest import CAROL, choreo
from tests.e2e.test_server import KUBECTLS, NS, _kubectl, kubeconfig
from tests.server.harness import Http, ServerProcess, copy_example, idle, wait_for

greeting_server = test_server.greeting_server  # the served greeting example, once idle

ALICE_FILE = "in/example.com.greeting.alice.yaml"
HACKED = (
    "apiVersion: example.com/v1alpha1\nkind: Message\nmetadata:\n  name: alice-message\n  namespace: default\n"
    "spec:\n  text: Hacked\n"
)


def _ready(http: Http, name: str) -> dict:
    _, obj = http.call("GET", f"{NS}/greetings/{name}")
    return next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")


@pytest.mark.parametrize("kubectl_bin", KUBECTLS)
def test_a_forced_conflict_on_a_child_shows_ready_false_an_event_and_retries(
    greeting_server, tmp_path: Path, kubectl_bin: str
) -> None:
    _server, url, _project = greeting_server
    http = Http(url)
    config = kubeconfig(tmp_path / "kubeconfig", url)

    def kubectl(*args: str, stdin: str | None = None) -> str:
        result = _kubectl(kubectl_bin, tmp_path, config, *args, stdin=stdin)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert _ready(http, "alice")["status"] == "True"
    kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=HACKED)

    def retried_twice() -> str | None:
        described = kubectl("describe", "greeting", "alice")
        return described if "ApplyConflict" in described and "(x" in described else None

    described = wait_for(retried_twice, "the failed reconcile to be retried")
    conflict = 'reconciler greeting: Apply failed with 1 conflict: conflict with "kubectl": .spec.text'
    assert "Warning  ApplyConflict" in described and conflict in described
    ready = _ready(http, "alice")
    assert (ready["status"], ready["reason"], ready["message"]) == ("False", "ApplyConflict", conflict)
    events = kubectl("get", "events", "-o", "json")
    event = next(e for e in json.loads(events)["items"] if e["reason"] == "ApplyConflict")
    assert event["involvedObject"]["name"] == "alice" and event["count"] >= 2 and event["type"] == "Warning"
    header, *rows = kubectl("get", "events").splitlines()  # the server's Table, as kube-apiserver fills it
    assert header.split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any(row.split()[2:5] == ["ApplyConflict", "greeting/alice", "reconciler"] for row in rows), rows
    local = choreo("get", "events", "--server", url)  # `events`: the core kind, its OBJECT the same way
    assert local.code == 0 and any(row.split()[2:5] == ["ApplyConflict", "greeting/alice", "reconciler"]
                                   for row in local.out.splitlines()[1:]), local.out

    result = choreo("run", "result", "--server", url)
    assert result.code == 1
    assert "reason task greeting.Greeting.example.com.alice message Apply failed with 1 conflict" in result.out
    assert (
        "  task greeting.Greeting.example.com.alice reconciler greeting object Greeting.example.com default/alice "
        "attempts "
    ) in result.out

    kubectl("delete", "message", "alice-message")  # the drift goes: the next retry succeeds
    wait_for(lambda: _ready(http, "alice")["status"] == "True", "alice to be Ready again")
    assert "Normal   Reconciled" in kubectl("describe", "greeting", "alice")
    assert http.call("GET", f"{NS}/messages/alice-message")[1]["spec"]["text"] == "Bonjour, Alice!"
    wait_for(lambda: choreo("run", "result", "--server", url).code == 0, "a successful pass")


def test_events_through_the_official_client(greeting_server, tmp_path: Path) -> None:
    _server, url, _project = greeting_server
    api_client = k8s.ApiClient(k8s.Configuration(host=url))
    core, new = k8s.CoreV1Api(api_client), k8s.EventsV1Api(api_client)
    stream = watch.Watch().stream(core.list_namespaced_event, "default", timeout_seconds=30)
    code, _ = Http(url).call(
        "PATCH",
        f"{NS}/messages/alice-message?fieldManager=intruder&force=true",
        raw=HACKED.encode(),
        content_type="application/apply-patch+yaml",
    )
    assert code == 200
    first = next(stream)
    assert first["type"] == "ADDED"
    assert (first["object"].reason, first["object"].involved_object.name) == ("ApplyConflict", "alice")
    assert 'conflict with "intruder"' in first["object"].message
    listed = new.list_namespaced_event("default").items
    assert [(e.reason, e.regarding.kind, e.reporting_controller) for e in listed] == [
        ("ApplyConflict", "Greeting", "choreo")
    ]
    selected = core.list_namespaced_event("default", field_selector="involvedObject.name=bob").items
    assert selected == []


def test_an_edited_file_reaches_the_server_and_a_bad_one_changes_nothing(greeting_server) -> None:
    server, url, project = greeting_server
    http = Http(url)
    source = project / ALICE_FILE
    source.write_text(source.read_text().replace("name: Alice", "name: Alicia"))
    wait_for(lambda: http.call("GET", f"{NS}/greetings/alice")[1]["spec"]["name"] == "Alicia", "the edit to load")
    wait_for(lambda: http.call("GET", f"{NS}/messages/alice-message")[1]["spec"]["text"] == "Bonjour, Alicia!",
             "the runner to reconcile the edit")

    (project / "in" / "carol.yaml").write_text(CAROL)
    (project / "in" / "broken.yaml").write_text("apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata: [\n")
    refused = wait_for(lambda: next((line for line in server.lines if line["event"] == "feed-refused"), None),
                       "the bad file to be reported")
    assert refused["error"].startswith("in/broken.yaml:4: invalid YAML")
    assert http.call("GET", f"{NS}/greetings/carol")[0] == 404  # the burst is loaded as a whole, or not at all

    (project / "in" / "broken.yaml").unlink()
    wait_for(lambda: http.call("GET", f"{NS}/messages/carol-message")[0] == 200, "carol once the bad file is gone")
    (project / "in" / "carol.yaml").unlink()
    wait_for(lambda: http.call("GET", f"{NS}/greetings/carol")[0] == 404, "carol to go with its file")
    wait_for(lambda: http.call("GET", f"{NS}/messages/carol-message")[0] == 404, "carol-message to be collected")


@pytest.mark.parametrize("kubectl_bin", KUBECTLS)
def test_the_folder_owns_its_objects_and_the_store_owns_the_apis(tmp_path: Path, kubectl_bin: str) -> None:
    project = copy_example("greeting", tmp_path)
    server = ServerProcess(str(project), "--address", "127.0.0.1:0")
    try:
        url = server.wait_ready()
        config = kubeconfig(tmp_path / "kubeconfig", url)
        refused = _kubectl(kubectl_bin, tmp_path, config, "delete", "greeting", "alice")
        assert refused.returncode == 1
        assert refused.stderr.strip() == (
            "Error from server (Forbidden): Greeting.example.com default/alice is loaded from the project folder "
            f"and owned by its file: edit the file {ALICE_FILE} instead (the server loads the change; objects "
            "created through the API can be written here)"
        )
        labelled = _kubectl(kubectl_bin, tmp_path, config, "label", "greeting", "alice", "team=red")
        assert labelled.returncode == 1 and f"edit the file {ALICE_FILE}" in labelled.stderr
        created = _kubectl(kubectl_bin, tmp_path, config, "apply", "--server-side", "-f", "-", stdin=CAROL)
        assert created.returncode == 0, created.stderr
        assert choreo("run", "load", "--server", url).code == 0
        assert Http(url).call("GET", f"{NS}/greetings/carol")[0] == 200  # a load keeps what the API created
        assert server.terminate() == 0
    finally:
        server.stop()
    again = ServerProcess(str(project), "--address", "127.0.0.1:0")
    try:
        url = again.wait_ready()
        http = Http(url)
        wait_for(lambda: http.call("GET", f"{NS}/messages/carol-message")[0] == 200, "carol to survive a restart")
        assert http.call("GET", f"{NS}/greetings/alice")[1]["metadata"].get("labels") is None
        config = kubeconfig(tmp_path / "kubeconfig", url)
        deleted = _kubectl(kubectl_bin, tmp_path, config, "delete", "greeting", "carol")
        assert deleted.returncode == 0, deleted.stderr
        wait_for(lambda: http.call("GET", f"{NS}/greetings/carol")[0] == 404, "carol to be deleted")
    finally:
        again.stop()


@pytest.mark.parametrize("kubectl_bin", KUBECTLS)
def test_a_file_does_not_take_over_an_object_created_through_the_api(
    greeting_server, tmp_path: Path, kubectl_bin: str
) -> None:
    """A file naming an object a client created is refused (its load changes nothing), not applied over it:
    the client's fields would be replaced, its labels left behind, and the object deleted with the file. The
    refusal is a Warning Event about that object (``kubectl get events``, ``kubectl describe``), and once the
    client deletes the object the server loads the folder by itself (no save, no ``run load``)."""
    server, url, project = greeting_server
    http = Http(url)
    config = kubeconfig(tmp_path / "kubeconfig", url)

    def kubectl(*args: str) -> str:
        result = _kubectl(kubectl_bin, tmp_path, config, *args)
        assert result.returncode == 0, result.stderr
        return result.stdout

    created = {
        "apiVersion": "example.com/v1alpha1", "kind": "Greeting",
        "metadata": {"name": "carol", "namespace": "default", "labels": {"team": "red"}}, "spec": {"name": "Carolyn"},
    }
    assert http.call("POST", f"{NS}/greetings", created)[0] == 201
    (project / "in" / "carol.yaml").write_text(CAROL)
    refused = wait_for(lambda: server.event("feed-refused"), "the file to be refused")
    assert refused["error"].startswith(
        "in/carol.yaml: Greeting.example.com default/carol was created through the API by "
    ) and "the file cannot take it over" in refused["error"]
    assert "delete it through the API (a server then loads the folder again by itself)" in refused["error"]
    kept = http.call("GET", f"{NS}/greetings/carol")[1]
    assert (kept["spec"]["name"], kept["metadata"]["labels"]) == ("Carolyn", {"team": "red"})

    [event] = [e for e in json.loads(kubectl("get", "events", "-o", "json"))["items"] if e["reason"] == "LoadRefused"]
    assert (event["type"], event["message"]) == ("Warning", refused["error"])
    assert (event["involvedObject"]["kind"], event["involvedObject"]["name"]) == ("Greeting", "carol")
    assert event["involvedObject"]["uid"] == kept["metadata"]["uid"]
    rows = kubectl("get", "events").splitlines()[1:]
    assert any(row.split()[1:5] == ["Warning", "LoadRefused", "greeting/carol", "in/carol.yaml:"] for row in rows)
    assert "LoadRefused" in kubectl("describe", "greeting", "carol")

    kubectl("delete", "greeting", "carol")
    def loaded_from_the_file() -> dict | None:
        code, obj = http.call("GET", f"{NS}/greetings/carol")
        return obj if code == 200 and obj["spec"]["name"] == "Carol" else None

    loaded = wait_for(loaded_from_the_file, "the folder to load once carol is deleted")
    assert "labels" not in loaded["metadata"]
    assert http.call("DELETE", f"{NS}/greetings/carol")[0] == 403  # the file's carol now, owned by its file
    fed = wait_for(lambda: server.event("fed"), "the load to be logged")
    assert fed["files"] == ["in/carol.yaml"] and "no longer blocks" in fed["reason"]
    assert [line["event"] for line in server.lines if line.get("level") == "error"] == ["feed-refused"]


def test_a_client_s_object_follows_its_kind_to_a_new_version_of_the_folder_s_crd(greeting_server) -> None:
    """The folder's CRD renamed v1alpha1 to v1beta1 (files and reconciler too): the greeting a client created
    at v1alpha1 is stored at v1beta1 and reconciled, not failed for ever at a version nobody serves."""
    server, url, project = greeting_server
    http = Http(url)
    assert http.call("POST", f"{NS}/greetings", {
        "apiVersion": "example.com/v1alpha1", "kind": "Greeting", "metadata": {"name": "dave"},
        "spec": {"name": "Dave"},
    })[0] == 201
    wait_for(lambda: http.call("GET", f"{NS}/messages/dave-message")[0] == 200, "dave's message")
    for path in [project / "crds" / "example.com_greetings.yaml", *(project / "in").glob("*.yaml")]:
        path.write_text(path.read_text().replace("v1alpha1", "v1beta1"))
    config = project / "reconcilers" / "greeting" / "config.yaml"
    for_greetings = "version: {}\n    kind: Greeting"
    config.write_text(config.read_text().replace(for_greetings.format("v1alpha1"), for_greetings.format("v1beta1")))
    beta = NS.replace("v1alpha1", "v1beta1")
    wait_for(lambda: http.call("GET", f"{beta}/greetings/alice")[0] == 200, "the new version to load")
    wait_for(lambda: idle(http), "the reconciles of the new version")
    dave = http.call("GET", f"{beta}/greetings/dave")[1]
    assert next(c for c in dave["status"]["conditions"] if c["type"] == "Ready")["status"] == "True"
    assert server.event("reconcile-error") is None and server.event("failure-report-failed") is None


def _left_at_an_unserved_version(project: Path, name: str) -> None:
    """Make the store one written by a choreo that did not move objects when a CRD's versions changed: the stored
    Greeting ``name`` at ``v1alpha0``, a version its (since unchanged) CRD does not serve, and no record of the
    versions objects were moved for (such a choreo kept none)."""
    from choreo.api.objects import ObjectKey
    from choreo.apiserver.server import MOVED_FOR_TABLE
    from choreo.runtime.state import open_state

    backend = open_state(project)
    try:
        with backend.transaction():
            key = ObjectKey("example.com", "Greeting", "default", name)
            stored = backend.get(key)
            assert stored is not None
            backend.update(key, {**stored, "apiVersion": "example.com/v1alpha0"})
            for kind, _versions in list(backend.list_records(MOVED_FOR_TABLE)):
                backend.delete_record(MOVED_FOR_TABLE, kind)
    finally:
        backend.close()


def test_objects_a_store_holds_at_a_version_nobody_serves_are_moved_when_a_run_or_a_server_opens_it(
    greeting_server,
) -> None:
    """A store written before choreo moved objects to their kind's storage version held a client's objects at a
    version their CRD no longer serves; nothing moved them until the CRD changed again, and every reconcile of
    them failed. A batch run and a server move them as they open the store."""
    server, url, project = greeting_server
    http = Http(url)
    dave = {"apiVersion": "example.com/v1alpha1", "kind": "Greeting", "metadata": {"name": "dave"},
            "spec": {"name": "Dave"}}
    assert http.call("POST", f"{NS}/greetings", dave)[0] == 201
    wait_for(lambda: http.call("GET", f"{NS}/messages/dave-message")[0] == 200, "dave's message")
    assert server.terminate() == 0

    _left_at_an_unserved_version(project, "dave")
    batch = choreo("run", str(project))
    assert batch.code == 0, batch.out + batch.err
    stored = json.loads(choreo("get", "greetings", "-C", str(project), "-o", "json").out)["items"]
    assert {(g["metadata"]["name"], g["apiVersion"]) for g in stored} == {
        (name, "example.com/v1alpha1") for name in ("alice", "bob", "dave")
    }
    assert next(g for g in stored if g["metadata"]["name"] == "dave")["spec"]["name"] == "Dave"

    _left_at_an_unserved_version(project, "dave")
    again = ServerProcess(str(project), "--address", "127.0.0.1:0")
    try:
        http = Http(again.wait_ready())
        wait_for(lambda: idle(http), "the restarted server's pass")
        moved = http.call("GET", f"{NS}/greetings/dave")[1]
        assert (moved["apiVersion"], moved["spec"]["name"]) == ("example.com/v1alpha1", "Dave")
        assert again.event("reconcile-error") is None
        assert http.call("GET", "/api/v1/namespaces/default/events")[1]["items"] == []
    finally:
        again.stop()


def test_run_load_reads_the_folder_into_a_server_that_does_not_watch_it(tmp_path: Path) -> None:
    project = copy_example("greeting", tmp_path)
    server = ServerProcess(str(project), "--address", "127.0.0.1:0", "--no-watch")
    try:
        url = server.wait_ready()
        http = Http(url)
        wait_for(lambda: idle(http), "the first reconciles")
        listed = choreo("get", "greetings", "-o", "name", "--server", url)
        assert listed.out == "greeting.example.com/alice\ngreeting.example.com/bob\n"
        (project / "in" / "carol.yaml").write_text(CAROL)
        assert http.call("GET", f"{NS}/greetings/carol")[0] == 404  # nobody watches the folder
        loaded = choreo("run", "load", "--server", url)
        assert (loaded.code, loaded.out.splitlines()[1]) == (0, "status: Running")
        assert http.call("GET", f"{NS}/greetings/carol")[0] == 200
        wait_for(lambda: http.call("GET", f"{NS}/messages/carol-message")[0] == 200, "the runner to follow")
        once = choreo("run", "once", "-o", "json", "--server", url)  # while Running: one pass, reported
        assert once.code == 0, once.err
        doc = json.loads(once.out)
        # the pass covers the three greetings: each is executed, or reused when its inputs are unchanged
        executed = sum(r["start"] for r in doc["reconcilers"] if r["name"] == "greeting")
        assert doc["success"] and executed + doc["reused"] == 3
        assert all(r["error"] == 0 and r["start"] == r["stop"] for r in doc["reconcilers"])
        assert choreo("server", "get", "--server", url).out.splitlines()[1] == "status: Running"
    finally:
        server.stop()
