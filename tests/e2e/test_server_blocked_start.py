"""A server that starts on a folder whose file names an object a client created through the API (kept by an
earlier server; the file added while it was down) or whose files do not load (a bad CRD): it comes up serving
the store as it is, refuses the writes it cannot know to be safe, says why on its log, ``/readyz``,
``choreo run result`` and (for a client's object) a ``LoadRefused`` Event, and loads the folder by itself
once the object is deleted through the API, or once the file is fixed: no restart."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import CAROL, choreo
from tests.e2e.test_server import KUBECTLS, NS, _kubectl, kubeconfig
from tests.server.harness import Http, ServerProcess, copy_example, idle, wait_for

CAROLYN = {"apiVersion": "example.com/v1alpha1", "kind": "Greeting",
           "metadata": {"name": "carol", "namespace": "default", "labels": {"team": "red"}},
           "spec": {"name": "Carolyn"}}


def _first_server(project: Path) -> None:
    """A server that reconciles the folder, and a client that creates carol through its API."""
    server = ServerProcess(str(project), "--address", "127.0.0.1:0")
    try:
        http = Http(server.wait_ready())
        assert http.call("POST", f"{NS}/greetings", CAROLYN)[0] == 201
        wait_for(lambda: http.call("GET", f"{NS}/messages/carol-message")[0] == 200 and idle(http),
                 "carol's message")
        assert server.terminate() == 0
    finally:
        server.stop()


@pytest.mark.parametrize("kubectl_bin", KUBECTLS)
def test_a_server_started_on_a_file_naming_a_client_s_object_serves_the_store_until_it_is_deleted(
    tmp_path: Path, kubectl_bin: str
) -> None:
    project = copy_example("greeting", tmp_path)
    _first_server(project)
    (project / "in" / "carol.yaml").write_text(CAROL)  # while no server runs

    server = ServerProcess(str(project), "--address", "127.0.0.1:0")
    try:
        url = server.wait_ready()
        http = Http(url)
        config = kubeconfig(tmp_path / "kubeconfig", url)

        def kubectl(*args: str, stdin: str | None = None) -> tuple[int, str]:
            result = _kubectl(kubectl_bin, tmp_path, config, *args, stdin=stdin)
            return result.returncode, (result.stdout if result.returncode == 0 else result.stderr).strip()

        [failed] = [line for line in server.lines if line.get("level") == "error"]
        assert failed["event"] == "load-failed"
        refusal = failed["error"]
        assert refusal.startswith("in/carol.yaml: Greeting.example.com default/carol was created through the API")
        serving = server.event("serving-stored")
        assert serving is not None and "only objects created through the API" in serving["reason"]

        # The store is served as it is: reads, lists, events (the refusal's among them).
        assert kubectl("get", "greeting", "carol", "-o", "jsonpath={.spec.name}") == (0, "Carolyn")
        code, names = kubectl("get", "greetings", "-o", "name")
        assert code == 0 and names.split() == [f"greeting.example.com/{name}" for name in ("alice", "bob", "carol")]
        code, events = kubectl("get", "events", "-o", "json")
        [event] = [e for e in json.loads(events)["items"] if e["reason"] == "LoadRefused"]
        assert (event["type"], event["message"], event["involvedObject"]["name"]) == ("Warning", refusal, "carol")

        # Not ready, and saying why; the latest run is an earlier server's, and said to be.
        assert http.call("GET", "/readyz") == (503, f"not ready: the project folder does not load: {refusal}\n")
        assert http.call("GET", "/choreo/v1/status")[1]["status"] == "Stopped"
        result = choreo("run", "result", "--server", url)
        assert result.code == 1
        assert result.out.splitlines()[0] == (
            f"the project folder does not load: {refusal} (the run below is from before it; nothing is "
            "reconciled until it loads)")

        # What the folder loaded, and new objects, cannot be written: which file names what is unknown.
        code, said = kubectl("label", "greeting", "alice", "team=red")
        assert code == 1 and said == (
            "Error from server (ServiceUnavailable): Greeting.example.com default/alice: the project folder does not "
            f"load ({refusal}): only objects created through the API can be changed or deleted until it loads")
        dave = CAROL.replace("carol", "dave")
        code, said = kubectl("create", "-f", "-", stdin=dave)
        assert code == 1 and "Greeting.example.com default/dave: the project folder does not load" in said
        assert said.endswith("nothing can be created until it loads"), said
        assert http.call("GET", f"{NS}/greetings/dave")[0] == 404

        # The client's own object can be changed, and deleted as the refusal asks (its reconciler's finalizer,
        # which no reconciler removes meanwhile, first): then the folder loads by itself.
        assert kubectl("label", "greeting", "carol", "seen=yes")[0] == 0
        code, said = kubectl("delete", "greeting", "carol")
        unfinalize = ("kubectl patch greeting.example.com carol -n default --type=merge "
                      """-p '{"metadata":{"finalizers":null}}'""")
        assert code == 1 and said == (
            "Error from server (ServiceUnavailable): Greeting.example.com default/carol holds the finalizers "
            f"greeting, and no reconciler runs while the project folder does not load ({refusal}): remove them "
            f"first ({unfinalize}; what the object owns is deleted with it, nothing else its reconcilers would "
            "withdraw is), then delete it")
        assert http.call("GET", f"{NS}/greetings/carol")[1]["metadata"].get("deletionTimestamp") is None
        patched = _kubectl(kubectl_bin, tmp_path, config, *shlex.split(unfinalize)[1:])  # as the message says
        assert patched.returncode == 0, patched.stderr
        assert kubectl("delete", "greeting", "carol") == (0, 'greeting.example.com "carol" deleted')

        def loaded_from_the_file() -> dict | None:
            code, obj = http.call("GET", f"{NS}/greetings/carol")
            return obj if code == 200 and obj["spec"]["name"] == "Carol" else None

        loaded = wait_for(loaded_from_the_file, "the folder to load once carol is deleted")
        assert "labels" not in loaded["metadata"]
        def message() -> str:
            return str(http.call("GET", f"{NS}/messages/carol-message")[1].get("spec", {}).get("text", ""))

        wait_for(lambda: "Carol" in message() and "Carolyn" not in message() and idle(http),
                 "carol's message from the file's carol, reconciled")
        assert http.call("GET", "/readyz") == (200, "ok")
        assert http.call("GET", "/choreo/v1/status")[1]["status"] == "Running"
        assert choreo("run", "result", "--server", url).code == 0
        assert kubectl("label", "greeting", "alice", "team=red")[0] == 1  # the file's again: Forbidden
        assert [line["event"] for line in server.lines if line.get("level") == "error"] == ["load-failed"]
        assert server.terminate() == 0
    finally:
        server.stop()


def test_a_server_started_on_a_bad_crd_serves_the_store_and_loads_the_fixed_file(tmp_path: Path) -> None:
    project = copy_example("greeting", tmp_path)
    _first_server(project)
    crd_file = project / "crds" / "example.com_greetings.yaml"
    good = crd_file.read_text()
    bad = yaml.safe_load(good)
    bad["spec"]["scope"] = "Sideways"
    crd_file.write_text(yaml.safe_dump(bad))

    server = ServerProcess(str(project), "--address", "127.0.0.1:0")
    try:
        http = Http(server.wait_ready())
        [failed] = [line for line in server.lines if line.get("level") == "error"]
        assert failed["event"] == "load-failed" and failed["error"].startswith(f"crds/{crd_file.name}: ")
        # the stored kinds are served, as stored; nothing written, the client's object included
        assert http.call("GET", f"{NS}/greetings/carol")[1]["spec"]["name"] == "Carolyn"
        code, status = http.call("PATCH", f"{NS}/greetings/alice", {"metadata": {"labels": {"a": "b"}}},
                                 content_type="application/merge-patch+json")
        assert code == 503 and status["message"].startswith("Greeting.example.com default/alice: the project")
        # a kind the store does not know yet may be the folder's: not "not found", but why it is not served
        code, status = http.call("GET", "/apis/example.com/v1alpha1/namespaces/default/widgets")
        assert code == 503 and status["message"] == f"the project folder does not load: {failed['error']}"

        crd_file.write_text(good)
        wait_for(lambda: http.call("GET", "/choreo/v1/status")[1]["status"] == "Running" and idle(http),
                 "the fixed folder to load and run")
        assert http.call("GET", "/readyz") == (200, "ok")
        assert server.event("fed") is not None
        assert server.terminate() == 0
    finally:
        server.stop()
