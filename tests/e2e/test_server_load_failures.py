"""A project folder that does not load, served by ``choreo server start`` as a real process: the server says
so once and stays up — at its start (answering 503 until a save makes the folder load, then reconciling and
running ``-s``; a SIGTERM still stops it), and after an edit that wires a reconciler to a kind nobody
serves (the previous load keeps running; a Warning Event says so). ``choreo run -s`` on the same folder fails
with one message."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.e2e.conftest import CAROL, choreo
from tests.e2e.test_server_quiet import CONFIGS, nodes_and_configs
from tests.e2e.test_server_yang_edits import schema_errors
from tests.server.harness import Http, ServerProcess, copy_example, idle, wait_for

NODE = Path("in") / "infra.kuid.dev.node.leaf1.yaml"
INVALID = "in/infra.kuid.dev.node.leaf1.yaml: Node.infra.kuid.dev \"default/leaf1\" is invalid: .spec.region: "
GREETINGS = "/apis/example.com/v1alpha1/namespaces/default/greetings"


def test_a_folder_that_does_not_load_at_start_is_reported_once_and_served_once_it_loads(tmp_path: Path) -> None:
    project = nodes_and_configs(tmp_path, reconciler=False)
    node = project / NODE
    valid = node.read_text()
    node.write_text(valid.replace("region: region1", "region: [1, 2]"))

    batch = choreo("run", str(project), "-s")
    assert batch.code == 1 and batch.out == ""
    assert batch.err.splitlines() == [f"error: {INVALID}Invalid value: [1, 2]: must be of type string"]

    server = ServerProcess(str(project), "-s", "--address", "127.0.0.1:0")
    try:
        http = Http(server.wait_ready())
        [failed] = [line for line in server.lines if line.get("level") == "error"]
        assert failed["event"] == "load-failed" and failed["error"].startswith(INVALID)
        code, status = http.call("GET", CONFIGS)
        assert code == 503 and status["message"] == f"the project folder does not load: {failed['error']}"
        code, status = http.call("GET", "/choreo/v1/status")
        assert code == 200 and (status["status"], status["reason"]) == ("Stopped", failed["error"])

        node.write_text(valid)
        wait_for(lambda: schema_errors(http) == [] and (project / "out" / "leaf1.json").exists() and idle(http),
                 "the pass once the folder loads")
        assert http.call("GET", "/choreo/v1/status")[1]["status"] == "Running"
        assert [line["event"] for line in server.lines if line.get("level") == "error"] == ["load-failed"]
        assert server.terminate() == 0
    finally:
        server.stop()


def test_a_reconciler_wired_to_an_unserved_kind_is_refused_and_the_runner_keeps_going(tmp_path: Path) -> None:
    project = copy_example("greeting", tmp_path)
    config = project / "reconcilers" / "greeting" / "config.yaml"
    wired = config.read_text()
    server = ServerProcess(str(project), "--address", "127.0.0.1:0")
    try:
        http = Http(server.wait_ready())
        wait_for(lambda: idle(http), "the first pass")
        config.write_text(wired.replace("kind: Greeting\n", "kind: Greetingz\n"))
        refused = wait_for(lambda: [line for line in server.lines if line.get("event") == "feed-refused"],
                           "the edit to be refused")
        assert refused[0]["error"] == (
            "reconcilers/greeting/config.yaml: spec.for: kind Greetingz of example.com/v1alpha1 "
            "is not defined by any CRD"
        )
        assert not [line for line in server.lines if line.get("event") == "load-failed"]  # said once
        # ... and told to kubectl users, as a Warning Event about the Namespace it is kept in (no object blocks it)
        events = http.call("GET", "/api/v1/namespaces/default/events")[1]["items"]
        [event] = [e for e in events if e["reason"] == "LoadRefused"]
        assert (event["type"], event["message"], event["count"]) == ("Warning", refused[0]["error"], 1)
        assert (event["involvedObject"]["kind"], event["involvedObject"]["name"]) == ("Namespace", "default")

        # The previous load still runs: a Greeting created through the API gets its Message.
        assert http.call("POST", GREETINGS, yaml.safe_load(CAROL))[0] == 201
        wait_for(lambda: http.call("GET", GREETINGS.replace("greetings", "messages/carol-message"))[0] == 200,
                 "carol's message from the runner that kept going")

        config.write_text(wired)
        wait_for(lambda: any(line.get("event") == "fed" for line in server.lines), "the fixed folder to load")
    finally:
        server.stop()
