"""The ``-s`` stage of a long-running process (``yang.memory``): a pass looks only at the devices a change
touched since the last one, and leaves what a full pass would."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from choreo import filestamp
from choreo.apiserver.server import APIServer
from choreo.plugin_api import StageContext, StageResult, stored_api
from tests.yang.conftest import FIXTURES
from tests.yang.test_stage_incremental import counts, make_project, outputs, port, run, write_running
from yang.memory import StageMemory
from yang.plugin import SchemaPlugin
from yang.stage import run_stage

CONFIG = ("config.sdcio.dev", "Config")
KUBECTL = "kubectl"


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, APIServer]]:
    """The fixture project after one run, and the API over its state (as a server holds it). A running
    config file written in the last two seconds is looked at on every pass (its times may not show a change
    yet); here, where files are written fractions of a second apart, only until a pass has started after it."""
    monkeypatch.setattr(filestamp, "RACY_NS", 0)
    project = make_project(tmp_path / "fx", FIXTURES / "good")
    run(project)
    with stored_api(project) as api:
        yield project, api


class Pass:
    """Stage passes on one API with one memory, as a server runs them; ``looked`` counts the devices a pass
    fingerprinted (validated or found unchanged)."""

    def __init__(self, project: Path, api: APIServer) -> None:
        self.project, self.api, self.memory, self.looked = project, api, StageMemory(), 0

    def __call__(self, memory: StageMemory | None = None, *, full: bool = False) -> StageResult:
        looked: set[int] = set()
        context = StageContext(self.api, self.project, {"out": None, "reports": {}},
                               progress=lambda _phase, done, _total: looked.add(done), full=full)
        result = run_stage(context, self.memory if memory is None else memory)
        self.looked = len(looked)
        return result


def stage_objects(api: APIServer) -> list[Any]:
    return [api.list("config.sdcio.dev", kind) for kind in ("Config", "RunningConfig")]


def assert_as_full(passes: Pass, result: StageResult) -> None:
    """``result`` is what a pass without memory finds, and a full pass changes nothing of what it left."""
    files, objects = outputs(passes.project), stage_objects(passes.api)
    fresh = passes(StageMemory())
    assert fresh.lines[:-1] == result.lines[:-1] and fresh.errors == result.errors
    assert counts(fresh)[0] == sum(1 for line in result.lines if line.endswith("error(s)"))  # only the failing
    full = passes(StageMemory(), full=True)
    assert full.lines[:-1] == result.lines[:-1] and full.errors == result.errors
    assert outputs(passes.project) == files
    assert stage_objects(passes.api) == objects
    passes()  # the passes above stored their own tokens: this one looks at every device again


def edit_config(api: APIServer, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    config = api.get(*CONFIG, "default", name, managed_fields=False)
    for field in ("resourceVersion", "uid", "generation", "creationTimestamp"):
        config["metadata"].pop(field, None)
    change(config)
    api.apply(config, manager=KUBECTL, force=True)


def test_a_pass_looks_only_at_the_devices_a_change_touched_and_leaves_what_a_full_pass_would(served):
    project, api = served
    passes = Pass(project, api)
    assert counts(passes()) == (0, 3) and passes.looked == 3  # the first pass of a process looks at every device
    assert counts(passes()) == (0, 3) and passes.looked == 0  # nothing changed: no device is looked at

    edit_config(api, "dev2-ports", lambda c: c["spec"]["config"][0].update(value=json.loads(port("e1", 9000))))
    changed = passes()
    assert counts(changed) == (1, 2) and passes.looked == 1
    assert json.loads((project / "out" / "dev2.json").read_text())["fx-net:network"]["port"][0]["mtu"] == 9000
    assert_as_full(passes, changed)

    def relabel(config: dict[str, Any]) -> None:
        config["metadata"]["labels"]["config.sdcio.dev/targetName"] = "dev1"

    edit_config(api, "dev3-system", relabel)  # from dev3 to dev1: both change (dev1 now has two hostnames)
    moved = passes()
    assert counts(moved) == (2, 1) and len(moved.errors) == 1
    assert_as_full(passes, moved)

    node = api.get("infra.kuid.dev", "Node", "default", "dev2", managed_fields=False)
    node["metadata"], node["spec"]["node"] = {"name": "dev4", "namespace": "default"}, "dev2"  # dev2's Configs
    api.create(node, manager=KUBECTL)
    added = passes()
    assert counts(added) == (2, 2) and passes.looked == 2  # dev4, and dev1: failing
    assert "dev4.json" in outputs(project)
    assert_as_full(passes, added)
    api.delete("infra.kuid.dev", "Node", "default", "dev4")
    removed = passes()
    assert counts(removed) == (1, 2)
    assert "dev4.json" not in outputs(project)
    assert_as_full(passes, removed)


def test_owner_chains_running_configs_outputs_and_written_objects_are_followed(served):
    project, api = served
    passes = Pass(project, api)
    passes()
    owner = {"apiVersion": "config.sdcio.dev/v1alpha1", "kind": "Config",
             "metadata": {"name": "intent-x", "namespace": "default"}, "spec": {"priority": 10, "config": []}}
    stored = api.apply(owner, manager=KUBECTL)
    edit_config(api, "dev2-system", lambda c: c["metadata"].update(ownerReferences=[{
        "apiVersion": "config.sdcio.dev/v1alpha1", "kind": "Config", "name": "intent-x",
        "uid": stored["metadata"]["uid"], "controller": True}]))
    assert counts(passes()) == (1, 2)
    passes()  # the stage's own writes of that pass
    node = api.get("infra.kuid.dev", "Node", "default", "dev3")
    owner["metadata"]["ownerReferences"] = [{"apiVersion": "infra.kuid.dev/v1alpha1", "kind": "Node",
                                             "name": "dev3", "uid": node["metadata"]["uid"]}]
    api.apply(owner, manager=KUBECTL)  # the intent chain of dev2-system grows
    chained = passes()
    assert counts(chained) == (1, 2) and passes.looked == 1
    assert_as_full(passes, chained)

    write_running(project, 1300)
    assert counts(passes()) == (1, 2)  # dev1
    ports = json.loads((project / "out" / "dev1.json").read_text())["fx-net:network"]["port"]
    assert {p["name"]: p["mtu"] for p in ports} == {"e1": 1500, "e9": 1300}

    (project / "out" / "dev3.xml").unlink()
    api.delete(*CONFIG, "default", "dev2")  # the final config the stage wrote for dev2
    repaired = passes()
    assert counts(repaired) == (2, 1)
    assert (project / "out" / "dev3.xml").exists() and api.try_get(*CONFIG, "default", "dev2") is not None
    assert_as_full(passes, repaired)


def test_a_pass_whose_writes_were_rolled_back_leaves_no_memory(served):
    project, api = served
    passes = Pass(project, api)
    passes()
    edit_config(api, "dev2-ports", lambda c: c["spec"]["config"][0].update(value=json.loads(port("e1", 9000))))
    with pytest.raises(RuntimeError), api.transaction():
        passes()
        raise RuntimeError("the run record could not be stored")
    assert counts(passes()) == (1, 2) and passes.looked == 3  # dev2 again, found by looking at every device
    assert counts(passes()) == (0, 3)


def test_a_failing_device_is_looked_at_on_every_pass(served):
    project, api = served
    passes = Pass(project, api)
    edit_config(api, "dev2-ports", lambda c: c["spec"]["config"][0].update(value=json.loads(port("e1", 10))))
    first = passes()
    assert counts(first) == (1, 2) and first.errors
    passes()
    again = passes()
    assert counts(again) == (1, 2) and passes.looked == 1 and again.errors == first.errors
    assert_as_full(passes, again)


def test_the_last_pass_of_a_process_leaves_no_memory_behind_and_the_same_results(served):
    project, api = served
    plugin = SchemaPlugin()
    last = plugin.after_reconcile(StageContext(api, project, {"out": None, "reports": {}}, last_pass=True))
    assert last is not None and counts(last) == (0, 3)
    assert plugin.memory.devices == {}  # a batch run holds nothing for a pass that never comes
    kept = plugin.after_reconcile(StageContext(api, project, {"out": None, "reports": {}}))
    assert kept is not None and kept.lines == last.lines and kept.errors == last.errors
    assert sorted(plugin.memory.devices) == ["default/dev1", "default/dev2", "default/dev3"]


def test_a_memory_for_one_pass_alone_builds_no_index_and_is_never_followed(served):
    """A batch run's only pass remembers its devices (its report lists them) without indexing what touches
    each (about 4 MiB at N=1000, for a next pass that never comes); such a memory never narrows a pass."""
    project, api = served
    alone, indexed = StageMemory(indexed=False), StageMemory()
    passes = Pass(project, api)
    one = passes(alone)
    assert passes(indexed).lines == one.lines
    assert sorted(alone.devices) == sorted(indexed.devices) == ["default/dev1", "default/dev2", "default/dev3"]
    assert alone._by_owner == alone._by_config == alone._by_target == alone._by_name == {}
    assert indexed._by_name and indexed._by_config  # (these Configs have no owners)
    again = passes(alone)  # whatever it holds, the next pass with it looks at every device
    assert again.lines[:-1] == one.lines[:-1] and passes.looked == 3
