"""Incremental runs give the results of a full run: the property, on a small generated fabric.

A seeded sequence of random edits (a Link's port, a new leaf, a removed leaf or Link, the IPIndex's
prefixes, a reconciler's code, nothing) is applied to one project; after each edit the project runs
incrementally (``choreo run -r -s``) and, from a saved copy of the same project and state, with ``--full``;
both must leave the same objects (server-made uids and timestamps aside, resourceVersions included) and the same
``out/`` files byte for byte. ``CHOREO_PROPERTY_SEED`` picks another sequence.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from benchmarks.fabric import INDEX_FILE, LINK, NODE, generate
from choreo.runtime.state import open_api
from tests.e2e.conftest import choreo

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIMES = {"creationTimestamp", "time", "lastTransitionTime", "deletionTimestamp"}


def run(project: Path, *extra: str) -> dict[str, Any]:
    result = choreo("run", str(project), "-r", "-s", "-o", "json", *extra)
    assert result.code == 0, result.out + result.err
    return json.loads(result.out)


def stored(project: Path) -> list[Any]:
    """Every stored object, server-made values (uids, timestamps) named by what they belong to."""
    api, backend = open_api(project)
    try:
        objects = list(api.stored_objects())
    finally:
        backend.close()
    uids = {}
    for obj in objects:
        md = obj["metadata"]
        uids[md.get("uid")] = f"uid of {obj['kind']} {md.get('namespace', '')}/{md['name']}"
    return [_normal(obj, uids) for obj in objects]


def _normal(value: Any, uids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {_named(k, uids): "<time>" if k in TIMES else _normal(v, uids) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v, uids) for v in value]
    return _named(value, uids) if isinstance(value, str) else value


def _named(text: str, uids: dict[str, str]) -> str:
    """``text`` with every uid in it (a value, or part of a managed-fields key) named by its object."""
    return UUID.sub(lambda m: uids.get(m.group(0), "<unknown uid>"), text)


def outputs(project: Path) -> dict[str, bytes]:
    out = project / "out"
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


class Fabric:
    """The edits the property test makes to a generated fabric project."""

    def __init__(self, root: Path, rng: random.Random) -> None:
        self.root, self.rng = root, rng
        self.port = 40  # fresh port numbers: a port carries one link
        self.leaves = 100

    def links(self) -> list[Path]:
        return sorted((self.root / "in").glob("link.*.yaml"))

    def leaves_present(self) -> list[str]:
        return sorted(p.name[5:-5] for p in (self.root / "in").glob("node.leaf*.yaml"))

    def fresh_port(self) -> str:
        self.port += 1
        return f"ethernet-1/{self.port}"

    def change_port(self) -> str:
        path = self.rng.choice(self.links())
        link = yaml.safe_load(path.read_text())
        end = self.rng.choice(link["spec"]["endpoints"])
        end["port"] = self.fresh_port()
        path.write_text(yaml.safe_dump(link))
        return f"port of {path.name}"

    def add_leaf(self) -> str:
        self.leaves += 1
        leaf = f"leaf{self.leaves}"
        (self.root / "in" / f"node.{leaf}.yaml").write_text(NODE.format(name=leaf))
        for spine in ("spine1", "spine2"):
            name = f"{leaf}-{spine}"
            text = LINK.format(name=name, a=leaf, pa=self.fresh_port(), b=spine, pb=self.fresh_port())
            (self.root / "in" / f"link.{name}.yaml").write_text(text)
        return f"added {leaf}"

    def remove_leaf(self) -> str:
        leaf = self.rng.choice(self.leaves_present())
        (self.root / "in" / f"node.{leaf}.yaml").unlink()
        for path in self.links():
            ends = yaml.safe_load(path.read_text())["spec"]["endpoints"]
            if any(end["node"] == leaf for end in ends):
                path.unlink()
        return f"removed {leaf}"

    def remove_link(self) -> str:
        path = self.rng.choice(self.links())
        path.unlink()
        return f"removed {path.name}"

    def change_prefix(self) -> str:
        path = self.root / "in" / INDEX_FILE
        index = yaml.safe_load(path.read_text())
        pool = self.rng.choice(index["spec"]["prefixes"])
        first, second, *rest = pool["prefix"].split(".")
        pool["prefix"] = ".".join([first, str(int(second) + 10), *rest])
        path.write_text(yaml.safe_dump(index))
        return f"prefix {pool['prefix']}"

    def change_code(self) -> str:
        path = self.root / "reconcilers" / "link" / "reconciler.star"
        revision = self.rng.randrange(1000)
        code = re.sub(r'"to %s %s \(link %s[^"]*\)"', f'"to %s %s (link %s, r{revision})"', path.read_text())
        path.write_text(code)
        return f"link reconciler: interface descriptions r{revision}"

    def nothing(self) -> str:
        return "nothing"


def test_incremental_runs_give_the_results_of_full_runs(tmp_path: Path) -> None:
    seed = int(os.environ.get("CHOREO_PROPERTY_SEED", "10"))
    rng = random.Random(seed)
    project = tmp_path / "fabric"
    generate(project, 6)
    fabric = Fabric(project, rng)
    # A first run reuses only what was queued again by a change none of its writes depends on (interface-config
    # adds its finalizer to a Node's loopback Interface): the results are those of a first run with --full.
    shutil.copytree(project, tmp_path / "fresh")
    first = run(project)
    project.rename(tmp_path / "first")
    (tmp_path / "fresh").rename(project)
    full_first = run(project, "--full")
    assert full_first["reused"] == 0 and first["reused"] > 0
    assert stored(tmp_path / "first") == stored(project) and outputs(tmp_path / "first") == outputs(project)
    shutil.rmtree(project)
    (tmp_path / "first").rename(project)
    edits = [fabric.change_port, fabric.add_leaf, fabric.remove_leaf, fabric.remove_link, fabric.change_prefix,
             fabric.change_code, fabric.nothing]
    rng.shuffle(edits)
    edits += [rng.choice(edits[:-1]) for _ in range(2)]
    for step, edit in enumerate(edits):
        before = outputs(project)
        what = edit()
        context = f"seed {seed}, step {step}: {what}"
        # Both runs happen in the project's own folder (the state may record paths in it): the full run on
        # a saved copy of the project and state, then the incremental run's folder comes back.
        saved, incremental_result = tmp_path / "saved", tmp_path / "incremental"
        shutil.copytree(project, saved)
        incremental = run(project)
        project.rename(incremental_result)
        saved.rename(project)
        full = run(project, "--full")
        assert full["reused"] == 0, context
        assert stored(incremental_result) == stored(project), context
        assert outputs(incremental_result) == outputs(project), context
        shutil.rmtree(project)
        incremental_result.rename(project)
        if what == "nothing":  # nothing changed: nothing is executed again
            assert incremental["reconcilers"] == [] and incremental["reused"] > 0, context
        else:  # each edit changes some device configs, not all
            assert outputs(project) != before and incremental["reused"] > 0, context
