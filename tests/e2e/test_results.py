"""Run records and snapshots end to end: ``run list``, ``run diff`` and ``run deps`` on the greeting example.

Every ``choreo`` call is a new process, so each test also shows that runs and snapshots persist."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.e2e.conftest import choreo, get_json
from tests.results.dot import dot_edges, dot_nodes, parse_dot

GREETING = "example.com/v1alpha1, Kind=Greeting"
MESSAGE = "example.com/v1alpha1, Kind=Message"


def run(project: Path) -> None:
    result = choreo("run", str(project))
    assert result.code == 0, result.out + result.err


def diff(project: Path, *args: str) -> list[str]:
    """Every object's line (``--all``), without the closing counts; the exit status says whether any changed."""
    result = choreo("run", "diff", str(project), "--all", *args)
    *lines, counts = result.out.splitlines()
    changed = any(line[:2] in ("~ ", "+ ", "- ") for line in lines)
    assert result.code == (1 if changed else 0) and counts.endswith(" unchanged"), result.out + result.err
    return lines


def run_ids(project: Path) -> list[str]:
    result = choreo("run", "list", str(project))
    assert result.code == 0, result.err
    return [line.split()[0] for line in result.out.splitlines()]


def test_unchanged_rerun_is_all_equal(example) -> None:
    project = example("greeting")
    run(project)
    run(project)
    assert diff(project) == [
        f"= {GREETING} alice",
        f"= {GREETING} bob",
        f"= {MESSAGE} alice-message",
        f"= {MESSAGE} bob-message",
    ]


def test_input_edit_marks_the_input_and_its_child_modified(example) -> None:
    project = example("greeting")
    run(project)
    source = project / "in" / "example.com.greeting.alice.yaml"
    source.write_text(source.read_text().replace("language: fr", "language: de"))
    run(project)
    assert diff(project) == [
        f"~ {GREETING} alice",
        f"= {GREETING} bob",
        f"~ {MESSAGE} alice-message",
        f"= {MESSAGE} bob-message",
    ]
    detailed = diff(project, "-a")
    assert "-  language: fr" in detailed and "+  language: de" in detailed
    assert "-  text: Bonjour, Alice!" in detailed and "+  text: Guten Tag, Alice!" in detailed
    assert not any("managedFields" in line for line in detailed)
    assert any("managedFields" in line for line in diff(project, "-a", "--show-managed-fields"))


def test_removed_input_deletes_it_and_its_child(example) -> None:
    project = example("greeting")
    run(project)
    (project / "in" / "example.com.greeting.bob.yaml").unlink()
    run(project)
    assert diff(project) == [
        f"= {GREETING} alice",
        f"- {GREETING} bob",
        f"= {MESSAGE} alice-message",
        f"- {MESSAGE} bob-message",
    ]


def test_first_run_is_all_added_and_choreo_apis_are_opt_in(example) -> None:
    project = example("greeting")
    run(project)
    assert diff(project) == [f"+ {GREETING} alice", f"+ {GREETING} bob", f"+ {MESSAGE} alice-message",
                             f"+ {MESSAGE} bob-message"]
    crds = "apiextensions.k8s.io/v1, Kind=CustomResourceDefinition"
    with_crds = diff(project, "--show-choreo-apis")
    assert with_crds[:2] == [f"+ {crds} greetings.example.com", f"+ {crds} messages.example.com"]


def test_list_result_and_diff_by_run_id_work_from_new_processes(example) -> None:
    project = example("greeting")
    run(project)
    source = project / "in" / "example.com.greeting.bob.yaml"
    source.write_text(source.read_text().replace("name: Bob", "name: Robert"))
    run(project)
    listed = choreo("run", "list", str(project)).out.splitlines()
    assert len(listed) == 2 and all(line.endswith(" success") for line in listed)
    newest, oldest = run_ids(project)
    assert diff(project, oldest[:8]) == ["+" + line[1:] for line in diff(project, oldest, oldest)]
    assert diff(project, oldest, newest) == diff(project) == diff(project, newest)
    assert f"~ {GREETING} bob" in diff(project, newest, oldest)
    result = choreo("run", "result", str(project))
    *_, counts, reused = result.out.splitlines()  # alice's inputs did not change: her reconcile was reused
    assert result.code == 0 and counts.split() == ["greeting", "1", "1", "0", "0"] and reused.startswith("reused 1 ")


def test_failed_run_is_listed_and_changes_no_object(example) -> None:
    """A run whose reconciling fails keeps the previous run's objects and adds only its run record."""
    project = example("greeting")
    run(project)
    before = get_json(project, "greetings")
    before_diff = diff(project)
    code = project / "reconcilers" / "greeting" / "reconciler.star"
    code.write_text(code.read_text().replace('"spec": {"text"', '"spec": {"texts"'))
    source = project / "in" / "example.com.greeting.alice.yaml"
    source.write_text(source.read_text().replace("language: fr", "language: de"))
    failed = choreo("run", str(project))
    assert failed.code == 1
    assert choreo("run", "list", str(project)).out.splitlines()[0].endswith(" failure")
    assert get_json(project, "greetings") == before  # same spec, conditions and resourceVersions
    assert diff(project) == before_diff  # the latest run with objects is still the good one
    newest, _ = run_ids(project)
    named = choreo("run", "diff", str(project), newest)
    assert named.code == 2  # an error; 1 means "there are differences"
    assert named.err == f"error: run {newest} has no snapshot (it failed, and a failed run changes no object)\n"
    result = choreo("run", "result", str(project))
    assert result.code == 1 and "execution failed" in result.out and ".spec.texts: field not declared" in result.out


def test_unknown_run_and_missing_state_are_one_line_errors(example) -> None:
    project = example("greeting")
    never_run = choreo("run", "diff", str(project))
    assert never_run.code == 2 and never_run.err.count("\n") == 1 and "no state yet" in never_run.err
    run(project)
    unknown = choreo("run", "diff", str(project), "nope")
    assert unknown.code == 2
    assert unknown.err == 'error: run "nope" not found: `choreo run list` shows the recorded runs\n'
    missing = choreo("run", "deps", str(project / "missing"))
    assert missing.code == 1 and "project folder does not exist" in missing.err


def test_deps_tree_matches_the_reference_format(example) -> None:
    project = example("greeting")
    run(project)
    result = choreo("run", "deps", str(project))
    assert result.code == 0, result.err
    assert result.out == (
        "Greeting.example.com/v1alpha1 alice\n"
        "+-Message.example.com/v1alpha1 alice-message\n"
        "Greeting.example.com/v1alpha1 bob\n"
        "+-Message.example.com/v1alpha1 bob-message\n"
    )
    with_crds = choreo("run", "deps", str(project), "--show-choreo-apis").out.splitlines()
    assert with_crds[0] == "CustomResourceDefinition.apiextensions.k8s.io/v1 greetings.example.com"


def test_deps_of_an_earlier_run_reads_its_snapshot(example) -> None:
    project = example("greeting")
    run(project)
    (project / "in" / "example.com.greeting.bob.yaml").unlink()
    run(project)
    _newest, oldest = run_ids(project)
    assert len(choreo("run", "deps", str(project)).out.splitlines()) == 2
    assert len(choreo("run", "deps", str(project), "--run", oldest).out.splitlines()) == 4


def test_deps_dot_parses_and_mermaid_is_a_flowchart(example) -> None:
    project = example("greeting")
    run(project)
    dot = choreo("run", "deps", str(project), "-o", "dot")
    assert dot.code == 0, dot.err
    graph = parse_dot(dot.out)
    assert dot_nodes(graph) == {
        "n0": "Greeting\\nalice",
        "n1": "Message\\nalice-message",
        "n2": "Greeting\\nbob",
        "n3": "Message\\nbob-message",
    }
    assert dot_edges(graph) == [("n0", "n1"), ("n2", "n3")]
    mermaid = choreo("run", "deps", str(project), "-o", "mermaid").out.splitlines()
    assert mermaid[0] == "flowchart TD" and "  n0 --> n1" in mermaid and "  n2 --> n3" in mermaid


def test_deps_dot_renders_with_graphviz(example, tmp_path) -> None:
    """Graphviz itself (Debian's graphviz, installed by ./dev) turns the DOT output into a picture."""
    project = example("greeting")
    run(project)
    dot = choreo("run", "deps", str(project), "-o", "dot")
    svg = subprocess.run(["dot", "-Tsvg"], input=dot.out, capture_output=True, text=True, check=False)
    assert svg.returncode == 0, svg.stderr
    assert svg.stdout.lstrip().startswith("<?xml") and "<svg" in svg.stdout
    assert svg.stdout.count('class="node"') == 4 and svg.stdout.count('class="edge"') == 2
    assert "Message.example.com/v1alpha1 alice&#45;message" in svg.stdout  # the tooltip
    assert ">alice&#45;message</text>" in svg.stdout
