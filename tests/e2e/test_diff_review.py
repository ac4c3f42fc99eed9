"""``run diff`` for reviews, through the real CLI on the greeting example: only what changed by default,
the counts of each change type, and an exit status CI can branch on (0 same, 1 different, 2 error)."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import choreo

GREETING = "example.com/v1alpha1, Kind=Greeting"
MESSAGE = "example.com/v1alpha1, Kind=Message"


def run(project: Path) -> None:
    result = choreo("run", str(project))
    assert result.code == 0, result.out + result.err


def edit_alice(project: Path) -> None:
    source = project / "in" / "example.com.greeting.alice.yaml"
    source.write_text(source.read_text().replace("language: fr", "language: de"))


def test_a_change_lists_only_what_changed_with_counts_and_exits_1(example) -> None:
    project = example("greeting")
    run(project)
    edit_alice(project)
    (project / "in" / "example.com.greeting.bob.yaml").unlink()
    run(project)
    result = choreo("run", "diff", str(project))
    assert (result.code, result.err) == (1, "")
    assert result.out.splitlines() == [
        f"~ {GREETING} alice",
        f"- {GREETING} bob",
        f"~ {MESSAGE} alice-message",
        f"- {MESSAGE} bob-message",
        "2 changed, 0 added, 2 removed, 0 unchanged",
    ]


def test_no_change_exits_0_and_all_shows_the_unchanged(example) -> None:
    project = example("greeting")
    run(project)
    run(project)
    same = choreo("run", "diff", str(project))
    assert (same.code, same.out) == (0, "0 changed, 0 added, 0 removed, 4 unchanged\n")
    everything = choreo("run", "diff", str(project), "--all")
    assert everything.code == 0
    assert everything.out.splitlines() == [
        f"= {GREETING} alice",
        f"= {GREETING} bob",
        f"= {MESSAGE} alice-message",
        f"= {MESSAGE} bob-message",
        "0 changed, 0 added, 0 removed, 4 unchanged",
    ]


def test_patch_flags_and_quiet(example) -> None:
    project = example("greeting")
    run(project)
    edit_alice(project)
    run(project)
    patch = choreo("run", "diff", str(project), "-p")
    assert patch.code == 1
    assert all(choreo("run", "diff", str(project), flag).out == patch.out for flag in ("--patch", "-a"))
    lines = patch.out.splitlines()
    assert lines[0] == f"~ {GREETING} alice" and "-  language: fr" in lines and "+  language: de" in lines
    assert not any(line.startswith("= ") for line in lines)  # changed-only, details or not
    assert lines[-1] == "2 changed, 0 added, 0 removed, 2 unchanged"
    quiet = choreo("run", "diff", str(project), "-q")
    assert (quiet.code, quiet.out, quiet.err) == (1, "", "")
    first, _ = (line.split()[0] for line in choreo("run", "list", str(project)).out.splitlines())
    assert choreo("run", "diff", str(project), "-q", first, first).code == 0  # a run against itself


def test_errors_exit_2_with_one_line(example) -> None:
    project = example("greeting")
    never_run = choreo("run", "diff", str(project))
    assert never_run.code == 2 and never_run.err.startswith("error: ") and never_run.err.count("\n") == 1
    run(project)
    unknown = choreo("run", "diff", str(project), "nope")
    assert (unknown.code, unknown.out) == (2, "")
    assert unknown.err == 'error: run "nope" not found: `choreo run list` shows the recorded runs\n'
    too_many = choreo("run", "diff", str(project), "a", "b", "c")
    assert too_many.code == 2 and too_many.err.startswith("error: too many arguments")
    assert choreo("run", "diff", str(project), "--no-such-flag").code == 2  # a usage error, as click says


def test_help_states_the_exit_status_and_flags() -> None:
    help_text = " ".join(choreo("run", "diff", "--help").out.split())
    assert "Exit status, as kubectl diff and diff(1): 0 nothing changed, 1 something changed, 2 an error." in help_text
    assert "--all" in help_text and "-p, --patch" in help_text and "-q, --quiet" in help_text
