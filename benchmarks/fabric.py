"""Fabric benchmark: ``choreo run -s`` on a generated N-device fabric against the bare pipeline.

The fabric is examples/fabric scaled up (N devices: N/20 spines, every leaf linked to two spines). The
baseline renders the same interface snippets with plain Jinja2 and validates each device with libyang
directly (no API server, no reconcilers, no ownership), in the same run, so the ratio is meaningful on a
noisy machine. Each side runs in its own process; time is wall clock, memory is the child's peak RSS.

    .venv/bin/python benchmarks/fabric.py            # N = 100 and 1000
    .venv/bin/python benchmarks/fabric.py 100 --allocators   # with -r once the allocators exist
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "fabric"

NODE = """apiVersion: infra.kuid.dev/v1alpha1
kind: Node
metadata: {{name: {name}, namespace: default}}
spec: {{node: {name}, provider: ietf.choreo.dev, version: 1.0.0, platformType: generic, index: {index}}}
"""
LINK = """apiVersion: infra.kuid.dev/v1alpha1
kind: Link
metadata: {{name: {name}, namespace: default}}
spec:
  index: {index}
  endpoints:
  - {{node: {a}, port: {pa}}}
  - {{node: {b}, port: {pb}}}
"""


def topology(devices: int) -> tuple[list[str], list[tuple[str, str, str, str]]]:
    """Node names and links (node a, port a, node b, port b)."""
    spines = max(2, devices // 20)
    names = [f"spine{i + 1}" for i in range(spines)] + [f"leaf{i + 1}" for i in range(devices - spines)]
    ports = {name: 0 for name in names}
    links = []
    for leaf in names[spines:]:
        number = int(leaf[4:])
        for spine in (names[(number - 1) % spines], names[number % spines]):
            ports[leaf] += 1
            ports[spine] += 1
            links.append((leaf, f"ethernet-1/{ports[leaf]}", spine, f"ethernet-1/{ports[spine]}"))
    return names, links


def generate(target: Path, devices: int) -> None:
    """A copy of examples/fabric with ``devices`` Nodes and their Links in in/."""
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".choreo", "out", "in", "README.md"))
    (target / "in").mkdir()
    names, links = topology(devices)
    for index, name in enumerate(names, start=1):
        (target / "in" / f"node.{name}.yaml").write_text(NODE.format(name=name, index=index))
    for index, (a, pa, b, pb) in enumerate(links, start=1):
        link = f"{a}-{b}-{index}"
        (target / "in" / f"link.{link}.yaml").write_text(
            LINK.format(name=link, index=index, a=a, pa=pa, b=b, pb=pb))


def measure(command: list[str]) -> tuple[float, float, int]:
    """(seconds, peak RSS in MiB, exit code) of a child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0 and proc.stderr is not None:
        sys.stderr.write(proc.stderr.read().decode())
    return elapsed, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def run(devices: int, allocators: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "fabric"
        generate(project, devices)
        flags = ["-r", "-s"] if allocators else ["-s"]
        choreo = measure([sys.executable, "-m", "choreo.cli.main", "run", str(project), *flags])
        bare = measure([sys.executable, "-m", "benchmarks.fabric_bare", str(devices)])
    for label, (seconds, memory, code) in (("choreo run " + " ".join(flags), choreo), ("bare jinja2+libyang", bare)):
        print(f"N={devices:<5} {label:<22} {seconds:8.2f} s {memory:8.1f} MiB  exit {code}")
    print(f"N={devices:<5} ratio choreo/bare      {choreo[0] / bare[0]:8.1f} x  {choreo[1] / bare[1]:8.1f} x memory")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[100, 1000])
    parser.add_argument("--allocators", action="store_true", help="run with -r -s (needs the -r plug-in)")
    args = parser.parse_args()
    for devices in args.sizes:
        run(devices, args.allocators)


if __name__ == "__main__":
    main()
