"""The incremental ``-s`` stage on a small fixture project: a device whose inputs are unchanged keeps its verdict,
final Config and files without being merged or validated again, and the results are those of a full run."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from choreo.plugins import SCHEMA
from choreo.results.record import StageResult
from choreo.runtime.pipeline import Pipeline, RunOptions
from choreo.runtime.session import run_project
from choreo.runtime.state import stored_api
from tests.yang.conftest import FIXTURES

CRDS = Path(__file__).resolve().parents[2] / "examples" / "fabric" / "crds"
PROFILE = """apiVersion: inv.sdcio.dev/v1alpha1
kind: Schema
metadata: {{name: fx-{version}}}
spec:
  provider: fx.example
  version: "{version}"
  repositories:
  - path: {models}
    schema:
      models: [fx-net.yang]
"""
NODE = """apiVersion: infra.kuid.dev/v1alpha1
kind: Node
metadata: {{name: {name}, namespace: default}}
spec: {{node: {name}, provider: fx.example, version: "{version}", platformType: generic}}
"""
CONFIG = """apiVersion: config.sdcio.dev/v1alpha1
kind: Config
metadata:
  name: {name}
  namespace: default
  labels: {{config.sdcio.dev/targetName: {device}}}
spec:
  priority: 10
  config:
  - path: /
    value: {value}
"""
DEVICES = {"dev1": "1", "dev2": "1", "dev3": "2"}  # device -> profile version


def port(name: str, mtu: int) -> str:
    return json.dumps({"network": {"port": [{"name": name, "mtu": mtu}]}})


def write_config(project: Path, name: str, device: str, value: str) -> None:
    (project / "in" / f"config.{name}.yaml").write_text(CONFIG.format(name=name, device=device, value=value))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "fx", FIXTURES / "good")


def make_project(root: Path, models: Path | str) -> Path:
    """Three devices on two profiles, two Config snippets each; dev1 also has a running config."""
    (root / "crds").mkdir(parents=True)
    for crd in ("config.sdcio.dev_configs.yaml", "config.sdcio.dev_runningconfigs.yaml", "infra.kuid.dev_nodes.yaml"):
        shutil.copy(CRDS / crd, root / "crds" / crd)
    (root / "schemas").mkdir()
    for version in ("1", "2"):
        profile = PROFILE.format(version=version, models=models)
        (root / "schemas" / f"fx-{version}.yaml").write_text(profile)
    (root / "in").mkdir()
    for device, version in DEVICES.items():
        (root / "in" / f"node.{device}.yaml").write_text(NODE.format(name=device, version=version))
        write_config(root, f"{device}-ports", device, port("e1", 1500))
        write_config(root, f"{device}-system", device, json.dumps({"system": {"hostname": device}}))
    (root / "runningconfigs").mkdir()
    write_running(root, 1400)
    return root


def write_running(project: Path, mtu: int) -> None:
    running = {"fx-net:network": {"port": [{"name": "e9", "mtu": mtu}]}}
    (project / "runningconfigs" / "dev1.json").write_text(json.dumps(running))


def run(project: Path, *, full: bool = False, reports: dict[str, str] | None = None) -> StageResult:
    options = RunOptions(plugins=[SCHEMA], full=full, stage_options={"out": None, "reports": reports or {}})
    record = run_project(project, options)
    assert record.failure is None
    [stage] = record.stages
    return stage


def counts(stage: StageResult) -> tuple[int, int]:
    """(devices validated, devices unchanged) as the stage's summary reports them."""
    line = stage.lines[-1]
    found = re.fullmatch(r"schema: (\d+) device\(s\) validated, (\d+) unchanged since the last run", line)
    assert found, line
    return int(found[1]), int(found[2])


def outputs(project: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((project / "out").iterdir())}


UID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def stored(project: Path) -> str:
    """What the stage leaves in the store, as JSON text: the objects it writes and its device records. An
    object created in both projects has a different uid and creation time in each: uids become their order
    of first appearance (so a reference to the wrong object still shows) and times a placeholder."""
    with stored_api(project) as api:
        objects = [api.list("config.sdcio.dev", kind) for kind in ("Config", "RunningConfig")]
        devices = list(api.records.list_records("schema-devices"))
    text = json.dumps({"objects": objects, "devices": devices}, sort_keys=True)
    uids: dict[str, str] = {}
    text = UID.sub(lambda m: uids.setdefault(m[0], f"uid-{len(uids)}"), text)
    return TIMESTAMP.sub("<time>", text)


def test_a_second_run_validates_nothing_and_rewrites_nothing(project):
    first = run(project)
    assert counts(first) == (3, 0)
    files = outputs(project)
    times = {p.name: p.stat().st_mtime_ns for p in (project / "out").iterdir()}
    second = run(project)
    assert counts(second) == (0, 3)
    assert second.success and second.lines[:-1] == first.lines[:-1]  # the same verdicts and summary
    assert "  dev1: valid (fx.example 1, 5 leaves from 2 config(s))" in second.lines  # 2 running, 3 from configs
    assert outputs(project) == files
    assert {p.name: p.stat().st_mtime_ns for p in (project / "out").iterdir()} == times


def test_a_changed_config_revalidates_only_its_device_and_gives_the_full_result(project, tmp_path):
    run(project)
    write_config(project, "dev2-ports", "dev2", port("e1", 9000))
    assert counts(run(project)) == (1, 2)
    assert json.loads((project / "out" / "dev2.json").read_text())["fx-net:network"]["port"][0]["mtu"] == 9000
    assert_same_as_full(project, tmp_path)


def test_a_changed_profile_or_running_config_revalidates_the_devices_using_it(project):
    run(project)
    profile = project / "schemas" / "fx-2.yaml"
    profile.write_text(profile.read_text() + "  features: {fx-net: []}\n")
    assert counts(run(project)) == (1, 2)  # dev3 only
    write_running(project, 1300)
    assert counts(run(project)) == (1, 2)  # dev1 only
    ports = json.loads((project / "out" / "dev1.json").read_text())["fx-net:network"]["port"]
    assert {p["name"]: p["mtu"] for p in ports} == {"e1": 1500, "e9": 1300}


def test_a_run_at_rest_stands_every_device_but_never_a_failing_one(project):
    """A run that finds nothing written since the last (tests/yang/test_cli_incremental.py: nor a module
    file changed) keeps every verdict at once; a failing device is looked at again all the same."""
    first = run(project)
    at_rest = run(project)
    assert counts(at_rest) == (0, 3) and at_rest.lines[:-1] == first.lines[:-1]
    (project / "runningconfigs" / "dev1.json").write_text('{"fx-net:network": {"port": [{"name": "e9", "mtu": "x"}]}}')
    options = RunOptions(plugins=[SCHEMA], stage_options={"out": None, "reports": {}})
    failing = run_project(project, options).stages[0]
    assert counts(failing) == (1, 2) and not failing.success
    again = run_project(project, options).stages[0]
    assert counts(again) == (1, 2) and again.errors == failing.errors


def test_a_deleted_or_edited_output_file_is_rewritten(project):
    run(project)
    files = outputs(project)
    (project / "out" / "dev1.json").unlink()
    (project / "out" / "dev2.xml").write_text("<config/>\n")
    assert counts(run(project)) == (2, 1)
    assert outputs(project) == files


def test_a_removed_device_loses_its_outputs_and_records(project, tmp_path):
    run(project)
    (project / "in" / "node.dev3.yaml").unlink()
    assert counts(run(project)) == (0, 2)
    assert sorted(outputs(project)) == ["dev1.json", "dev1.xml", "dev2.json", "dev2.xml"]
    assert_same_as_full(project, tmp_path)


def test_a_removed_running_config_leaves_no_running_config_objects(project, tmp_path):
    def running_configs(root: Path) -> list[str]:
        with stored_api(root) as api:
            return [o["metadata"]["name"] for o in api.list("config.sdcio.dev", "RunningConfig")]

    run(project)
    assert running_configs(project) == ["dev1", "dev1.tree"]
    (project / "runningconfigs" / "dev1.json").unlink()
    assert counts(run(project)) == (1, 2)  # dev1 only
    assert running_configs(project) == []  # as a project that never had the file
    assert_same_as_full(project, tmp_path)


def test_a_failing_device_is_validated_on_every_run(project):
    write_config(project, "dev2-ports", "dev2", port("e1", 10))
    first = run(project)
    assert counts(first) == (3, 0) and first.errors and "dev2.json" not in outputs(project)
    second = run(project)
    assert counts(second) == (1, 2) and second.errors == first.errors


def test_a_rolled_back_run_keeps_the_previous_fingerprints(project, monkeypatch):
    run(project)
    write_config(project, "dev2-ports", "dev2", port("e1", 9000))

    def crash(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("crash while keeping the run")

    with monkeypatch.context() as patched:
        patched.setattr(Pipeline, "keep", staticmethod(crash))
        with pytest.raises(RuntimeError):
            run(project)
    assert counts(run(project)) == (1, 2)  # the crashed run's fingerprint of dev2 was rolled back


def test_incremental_runs_equal_full_runs_byte_for_byte(project, tmp_path):
    edits = [
        lambda: write_config(project, "dev1-ports", "dev1", port("e2", 2000)),
        lambda: write_running(project, 1200),
        lambda: (project / "in" / "config.dev3-system.yaml").unlink(),
        lambda: (project / "in" / "node.dev4.yaml").write_text(NODE.format(name="dev4", version="2")),
        lambda: write_config(project, "dev3-ports", "dev3", port("e1", 10)),  # dev3 fails
        lambda: write_config(project, "dev3-ports", "dev3", port("e1", 1500)),  # and recovers
    ]
    run(project)
    for edit in edits:
        edit()
        assert_same_as_full(project, tmp_path)


def assert_same_as_full(project: Path, tmp_path: Path) -> None:
    """Run ``project`` incrementally, and a copy of it (same state before) with ``full``: same results."""
    twin = tmp_path / "twin"
    shutil.rmtree(twin, ignore_errors=True)
    shutil.copytree(project, twin)
    reports = {project: tmp_path / "incremental.xml", twin: tmp_path / "full.xml"}
    incremental = run(project, reports={"junit": str(reports[project])})
    full = run(twin, full=True, reports={"junit": str(reports[twin])})
    assert counts(full)[1] == 0
    assert incremental.errors == full.errors and incremental.lines[:-2] == full.lines[:-2]
    assert reports[project].read_text() == reports[twin].read_text()  # the same verdicts, failures included
    assert outputs(project) == outputs(twin)
    assert stored(project) == stored(twin)
