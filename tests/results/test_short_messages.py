"""One mistake, one short message: capped lists, shortened messages and the summary's first errors."""

from __future__ import annotations

from choreo.messages import MAX_CHARS, capped, shorten
from choreo.plugins import StageResult
from choreo.results.record import RunRecord
from choreo.results.summary import record_lines


def test_capped_names_the_first_few_and_counts_the_rest() -> None:
    assert capped(f"k{i}" for i in range(1_000_000)) == "k0; k1; k2; and 999997 more"
    assert capped(["a", "b"]) == "a; b"
    assert capped([]) == ""


def test_shorten_keeps_short_messages_and_cuts_long_ones() -> None:
    assert shorten("in/x.yaml: bad") == "in/x.yaml: bad"
    cut = shorten("in/x.yaml: " + "x" * 20_000_000)
    assert cut.startswith("in/x.yaml: x") and len(cut) < MAX_CHARS + 50 and cut.endswith("more characters)")
    lines = shorten("\n".join(f"line {i}" for i in range(8)))
    assert lines.count("\n") == 2 and lines.endswith("more characters)")


def test_summary_shows_the_first_stage_errors_and_points_to_the_reports() -> None:
    errors = [f"leaf{i}: /x: bad" for i in range(12)]
    record = RunRecord("id", "p", "2026-01-01T00:00:00+00:00", stages=[StageResult("schema", errors, [])])
    lines = record_lines(record)
    assert "schema failed with 12 error(s)" in lines
    assert [line for line in lines if line.startswith("  ")][-4:] == [
        "  leaf0: /x: bad",
        "  leaf1: /x: bad",
        "  leaf2: /x: bad",
        "  ... and 9 more (all of them: --report json=FILE or junit=FILE)",
    ]
