"""Run lookup by id or unique prefix, and the ``run list`` lines."""

from __future__ import annotations

import pytest

from choreo.errors import ChoreoError, NotFound
from choreo.results.record import RunRecord
from choreo.results.runs import list_lines, resolve_run

RUNS = [
    RunRecord("ab12-new", "p", "2024-05-02T10:00:00.500000+00:00", failure="boom"),
    RunRecord("ab34-mid", "p", "2024-05-01T10:00:00+00:00"),
    RunRecord("cd56-old", "p", "2024-04-30T09:59:59.999999+00:00"),
]


def test_resolve_by_full_id_and_unique_prefix() -> None:
    assert resolve_run(RUNS, "ab34-mid") is RUNS[1]
    assert resolve_run(RUNS, "cd") is RUNS[2]
    assert resolve_run(RUNS, "ab1") is RUNS[0]


def test_unknown_and_ambiguous_prefixes_are_clear_errors() -> None:
    with pytest.raises(NotFound, match='run "zz" not found'):
        resolve_run(RUNS, "zz")
    with pytest.raises(ChoreoError, match='run "ab" is ambiguous: it starts 2 run ids \\(ab12-new, ab34-mid\\)'):
        resolve_run(RUNS, "ab")


def test_list_lines_show_id_creation_timestamp_and_outcome() -> None:
    assert list_lines(RUNS) == [
        "ab12-new 2024-05-02T10:00:00Z failure",
        "ab34-mid 2024-05-01T10:00:00Z success",
        "cd56-old 2024-04-30T09:59:59Z success",
    ]
