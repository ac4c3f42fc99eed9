"""``choreo server start DIR -s`` as a real process on a project with nothing to reconcile — Nodes and Configs
only, with no reconcilers or with reconcilers whose for-kind has no objects — reaches a quiet point: the
``-s`` stage writes the same ``out/`` files as ``choreo run -s``, a Config applied through the API is
validated in another pass, and a Config that does not validate is reported while the server keeps serving.
An empty project reaches its quiet point too, and records it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import EXAMPLES, choreo, store_is_intact
from tests.e2e.test_server_yang_edits import schema_errors
from tests.server.harness import Http, ServerProcess, idle, wait_for

CONFIGS = "/apis/config.sdcio.dev/v1alpha1/namespaces/default/configs"
FABRIC = EXAMPLES / "fabric"


def config(device: str, interface_type: str = "iana-if-type:softwareLoopback") -> dict[str, Any]:
    """A Config snippet for ``device``: its loopback interface."""
    return {
        "apiVersion": "config.sdcio.dev/v1alpha1",
        "kind": "Config",
        "metadata": {
            "name": f"{device}-lo0",
            "namespace": "default",
            "labels": {"config.sdcio.dev/targetName": device, "config.sdcio.dev/targetNamespace": "default"},
        },
        "spec": {"priority": 10, "config": [{"path": "/", "value": {"interfaces": {"interface": [
            {"name": "lo0", "type": interface_type, "enabled": True},
        ]}}}]},
    }


def nodes_and_configs(tmp_path: Path, *, reconciler: bool) -> Path:
    """Nodes leaf1 and leaf2 and a Config for leaf1 in ``in/``; with ``reconciler``, the fabric's
    interface-config reconciler too, which is for Interfaces, of which there are none."""
    project = tmp_path / "project"
    (project / "crds").mkdir(parents=True)
    (project / "in").mkdir()
    for crd in ("infra.kuid.dev_nodes.yaml", "config.sdcio.dev_configs.yaml", "config.sdcio.dev_runningconfigs.yaml"):
        shutil.copy(FABRIC / "crds" / crd, project / "crds")
    shutil.copytree(FABRIC / "schemas", project / "schemas")
    for node in ("leaf1", "leaf2"):
        shutil.copy(FABRIC / "in" / f"infra.kuid.dev.node.{node}.yaml", project / "in")
    (project / "in" / "config.sdcio.dev.config.leaf1-lo0.yaml").write_text(yaml.safe_dump(config("leaf1")))
    if reconciler:
        shutil.copy(FABRIC / "crds" / "fabric.example.com_interfaces.yaml", project / "crds")
        shutil.copytree(FABRIC / "reconcilers" / "interface-config", project / "reconcilers" / "interface-config")
    return project


@pytest.mark.parametrize("reconciler", [False, True], ids=["no-reconcilers", "no-for-objects"])
def test_the_server_validates_a_project_with_nothing_to_reconcile(tmp_path: Path, reconciler: bool) -> None:
    project = nodes_and_configs(tmp_path, reconciler=reconciler)
    batch = shutil.copytree(project, tmp_path / "batch")
    leaf1, leaf2 = project / "out" / "leaf1.json", project / "out" / "leaf2.json"
    server = ServerProcess(str(project), "-s", "--address", "127.0.0.1:0")
    try:
        http = Http(server.wait_ready())
        wait_for(lambda: schema_errors(http) == [] and leaf1.exists() and idle(http), "the first pass")
        assert '"name": "lo0"' in leaf1.read_text()
        assert http.call("GET", f"{CONFIGS}/leaf1")[0] == 200  # the final Config of the device

        ran = choreo("run", str(batch), "-s")
        assert ran.code == 0, ran.err
        assert leaf1.read_bytes() == (batch / "out" / "leaf1.json").read_bytes()

        assert "lo0" not in leaf2.read_text()
        assert http.call("POST", CONFIGS, config("leaf2"))[0] == 201
        wait_for(lambda: leaf2.exists() and "lo0" in leaf2.read_text(), "the pass after the Config was applied")
        wait_for(lambda: idle(http) and schema_errors(http) == [], "quiet")

        assert http.call("DELETE", f"{CONFIGS}/leaf2-lo0")[0] == 200
        assert http.call("POST", CONFIGS, config("leaf2", "softwareLoopback"))[0] == 201  # no such identity
        errors = wait_for(lambda: schema_errors(http), "the pass that reports the invalid Config")
        assert len(errors) == 1 and errors[0].startswith("leaf2: ") and "softwareLoopback" in errors[0]
        said = [line for line in server.lines if line.get("event") == "quiet" and not line["success"]]
        assert [(line["level"], line["errors"]) for line in said] == [("warning", [f"schema: {errors[0]}"])]
        assert not leaf2.exists() and leaf1.exists()
        assert http.call("GET", "/choreo/v1/status")[0] == 200 and server.proc.poll() is None
    finally:
        server.stop()


def test_an_empty_project_reaches_one_quiet_point_and_records_it(tmp_path: Path) -> None:
    project = tmp_path / "empty"
    project.mkdir()
    server = ServerProcess(str(project), "-r", "-s", "--address", "127.0.0.1:0")
    try:
        http = Http(server.wait_ready())
        wait_for(lambda: schema_errors(http) == [] and idle(http), "the pass of the empty project")
        result = choreo("run", "result", "--server", http.url)
        assert result.code == 0 and "0 device(s)" in result.out, result.out + result.err
        assert [line["success"] for line in server.lines if line.get("event") == "quiet"] == [True]
    finally:
        server.stop()


def _devices(tmp_path: Path, count: int) -> Path:
    """``nodes_and_configs`` grown to ``count`` Nodes, each but leaf2 with its Config: an ``-s`` stage that
    takes a while, with nothing to reconcile before it."""
    project = nodes_and_configs(tmp_path, reconciler=False)
    node = (project / "in" / "infra.kuid.dev.node.leaf1.yaml").read_text()
    for i in range(3, count + 1):
        (project / "in" / f"infra.kuid.dev.node.leaf{i}.yaml").write_text(node.replace("leaf1", f"leaf{i}"))
        (project / "in" / f"config.sdcio.dev.config.leaf{i}-lo0.yaml").write_text(yaml.safe_dump(config(f"leaf{i}")))
    return project


def test_a_stop_during_the_stage_abandons_it_and_the_next_start_writes_the_same_out(tmp_path: Path) -> None:
    """SIGTERM while the ``-s`` stage validates the devices of a pass: the server does not wait for the rest of
    them. The stage's transaction is undone (no run recorded, no device remembered as validated), the files
    it wrote so far stay, and the next start's pass reaches the ``out/`` an uninterrupted run writes."""
    project = _devices(tmp_path / "served", 600)
    reference = shutil.copytree(project, tmp_path / "reference")
    assert choreo("run", str(reference), "-s").code == 0

    server = ServerProcess(str(project), "-s", "--address", "127.0.0.1:0")
    try:
        server.wait_ready()
        wait_for(lambda: any((project / "out").glob("*.json")), "the stage to write its first device")
        assert server.terminate() == 0
    finally:
        server.stop()
    events = [line["event"] for line in server.lines]
    assert "stages-abandoned" in events and "quiet" not in events, events
    assert events[-1] == "stopped"
    assert store_is_intact(project)
    assert "no run recorded yet" in choreo("run", "result", str(project)).err
    assert len(list((project / "out").glob("*.json"))) < 600  # it did stop in the middle of the stage

    again = ServerProcess(str(project), "-s", "--address", "127.0.0.1:0")
    try:
        http = Http(again.wait_ready())
        wait_for(lambda: again.event("quiet") and idle(http), "the restarted server's pass")
    finally:
        assert again.terminate() == 0
    written = sorted(path.name for path in (project / "out").iterdir())
    assert written == sorted(path.name for path in (reference / "out").iterdir())
    for name in written:
        assert (project / "out" / name).read_bytes() == (reference / "out" / name).read_bytes(), name
