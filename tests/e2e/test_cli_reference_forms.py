"""choreoctl's remaining argument forms through the real CLI: ``get RESOURCE NAME NAMESPACE``, JSONPath keys
with escaped dots, and ``delete`` of an object that comes from a reconciler folder or a CRD file."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import CAROL, choreo

ORIGIN = r"{.metadata.annotations.api\.choreo\.kform\.dev/origin}"


def test_get_reads_the_older_resource_name_namespace_form(example, tmp_path: Path) -> None:
    project: Path = example("greeting")
    team = tmp_path / "dave.yaml"
    team.write_text(CAROL.replace("carol", "dave").replace("namespace: default", "namespace: team"))
    assert choreo("apply", str(team), "-C", str(project)).code == 0
    assert choreo("run", str(project)).code == 0
    at = ("-C", str(project))

    older = choreo("get", "greetings", "dave", "team", *at, "-o", "name")
    assert (older.code, older.out) == (0, "greeting.example.com/dave\n"), older.err
    assert choreo("get", "greetings", "dave", *at, "-n", "team", "-o", "name").out == older.out
    assert choreo("-n", "team", "get", "greetings", *at, "-o", "name").out == older.out  # a global flag first
    # two names of the -n namespace stay kubectl's KIND NAME NAME
    both = choreo("get", "greetings", "alice", "bob", *at, "-o", "name")
    assert both.out == "greeting.example.com/alice\ngreeting.example.com/bob\n"
    # alice is not in team: the third argument is a name, and a missing one
    missing = choreo("get", "greetings", "alice", "team", *at)
    assert (missing.code, missing.err) == (1, 'Error from server (NotFound): greetings.example.com "team" not found\n')


def test_jsonpath_reads_keys_with_escaped_dots(example) -> None:
    project: Path = example("greeting")
    assert choreo("run", str(project)).code == 0
    one = choreo("get", "reconcilers", "greeting", "-C", str(project), "-o", f"jsonpath={ORIGIN}")
    assert (one.code, one.err) == (0, "")
    assert json.loads(one.out) == {"kind": "File"}
    listed = choreo("get", "greetings", "-C", str(project), "-o",
                    "jsonpath={range .items[*]}{.metadata.name}={" + ORIGIN[1:-1] + "}{\"\\n\"}{end}")
    assert listed.out == 'alice={"kind":"File"}\nbob={"kind":"File"}\n'


def test_delete_of_an_object_from_a_reconciler_folder_or_crd_file_names_that_file(example) -> None:
    project: Path = example("greeting")
    before = {p.relative_to(project) for p in project.rglob("*")}
    cases = {
        ("reconciler", "greeting"): "error: Reconciler greeting is not in in/: it comes from the reconciler folder "
        "reconcilers/greeting/ (its config reconcilers/greeting/config.yaml); to delete it, remove that folder\n",
        ("library", "example.com.greetings.star"): "error: Library example.com.greetings.star is not in in/: it "
        "comes from crds/example.com_greetings.star; to delete it, remove that file\n",
        ("crd", "greetings.example.com"): "error: CustomResourceDefinition greetings.example.com is not in in/: it "
        "comes from crds/example.com_greetings.yaml; to delete it, remove it from that file\n",
        ("reconciler", "nope"): "error: in/: no such input file for Reconciler nope\n",  # cluster-scoped: no namespace
        ("greeting", "zed"): "error: in/: no such input file for Greeting zed in namespace default\n",
    }
    for (kind, name), message in cases.items():
        result = choreo("delete", kind, name, "-C", str(project))
        assert (result.code, result.out, result.err) == (1, "", message)
    assert {p.relative_to(project) for p in project.rglob("*")} == before


def test_get_output_completion_names_what_to_use(example) -> None:
    project: Path = example("greeting")
    assert choreo("run", str(project)).code == 0
    result = choreo("get", "greetings", "-C", str(project), "-o", "completion")
    assert (result.code, result.out) == (1, "")
    assert result.err == "error: -o completion: choreo prints names with -o name; `choreo completion SHELL` " \
        "completes the shell\n"


def test_delete_of_a_flat_layout_reconciler_names_its_files(example) -> None:
    project: Path = example("hello-world")
    result = choreo("delete", "reconciler", "helloworld", "-C", str(project))
    assert (result.code, result.err) == (1, "error: Reconciler helloworld is not in in/: it comes from "
                                         "reconcilers/helloworld.yaml; to delete it, remove that file and its code "
                                         "files (reconcilers/helloworld.*)\n")
    assert (project / "reconcilers" / "helloworld.yaml").exists()
