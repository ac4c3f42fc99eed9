"""Benchmark: reading one large YAML input (choreo/loader/yamlio.py) against the committed reader.

Issue 15's hostile input — a ~5 MB object with ~300 000 keys no schema knows — spent most of its time in the
YAML reader before the schema check could refuse it. This generates such a document (``--keys`` keys under
``spec``, plus an anchored list and its aliases so that the alias check runs too), reads it with
``parse_documents`` of the working tree and of ``--rev`` (default HEAD) loaded beside it, alternating, and
prints each one's best wall time (the reader does not sleep, and wall time includes garbage collection).
Both must return the same documents.

    .venv/bin/python -m benchmarks.yaml_read                      # 300 000 keys, 3 rounds
    .venv/bin/python -m benchmarks.yaml_read --keys 50000 --rev HEAD~1
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from benchmarks.baseline import module_from_git
from choreo.loader import yamlio


def document(keys: int) -> str:
    head = "apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata:\n  name: big\n  namespace: default\n"
    shared = "  servers: &servers [10.0.0.1, 10.0.0.2, {name: ntp, port: 123}]\n  backup: *servers\n"
    body = "".join(f"  unknownField{i:06d}: value {i}\n" for i in range(keys))
    return head + "spec:\n  name: Big\n" + shared + body


def best_of(rounds: int, read: Any, text: str) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(rounds):
        started = time.perf_counter()
        result = read(text, "in/big.yaml")
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rev", default="HEAD")
    args = parser.parse_args()
    text = document(args.keys)
    os.environ["CHOREO_YAML_SIZE_LIMIT"] = str(len(text.encode()) + 1)  # both readers must accept it
    baseline = module_from_git(args.rev, "choreo/loader/yamlio.py")
    timings: dict[str, float] = {"baseline": float("inf"), "current": float("inf")}
    results = {}
    for _ in range(args.rounds):  # interleaved: a noisy machine slows both alike
        for name, module in (("baseline", baseline), ("current", yamlio)):
            seconds, results[name] = best_of(1, module.parse_documents, text)
            timings[name] = min(timings[name], seconds)
    assert results["baseline"] == results["current"], "the two readers disagree"
    size = len(text.encode()) / 1024 / 1024
    print(
        f"{size:.1f} MB, {args.keys} keys: {args.rev} {timings['baseline']:.2f} s, working tree "
        f"{timings['current']:.2f} s ({timings['baseline'] / timings['current']:.1f}x)"
    )


if __name__ == "__main__":
    main()
