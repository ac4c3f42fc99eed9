"""The project-editing and inspection commands: apply, delete, get, api-resources, dev parse."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.e2e.conftest import CAROL, EXAMPLES, choreo, get_json


def test_apply_validates_and_writes_to_in_then_run_picks_it_up(example) -> None:
    project: Path = example("greeting")
    result = choreo("apply", "-f", "-", "-C", str(project), stdin=CAROL)
    assert result.code == 0, result.err
    assert result.out == "applying example.com/v1alpha1 Greeting carol\n"
    written = project / "in" / "example.com.greeting.carol.yaml"
    assert yaml.safe_load(written.read_text())["spec"] == {"name": "Carol", "language": "nl"}
    assert choreo("run", str(project)).code == 0
    messages = {m["metadata"]["name"]: m for m in get_json(project, "messages")["items"]}
    assert messages["carol-message"]["spec"]["text"] == "Hallo, Carol!"


def test_apply_rejects_invalid_objects_and_writes_nothing(example) -> None:
    project: Path = example("greeting")
    bad = CAROL.replace("language: nl", "language: xx")
    result = choreo("apply", "-f", "-", "-C", str(project), stdin=bad)
    assert result.code == 1
    assert "Traceback" not in result.err
    assert '.spec.language: Unsupported value: "xx"' in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert not (project / "in" / "example.com.greeting.carol.yaml").exists()


def test_what_get_prints_can_be_edited_and_applied_back_as_intent(example) -> None:
    project: Path = example("greeting")
    assert choreo("run", str(project)).code == 0
    at = ("-C", str(project))
    listed = choreo("get", "greetings", *at, "-o", "yaml").out  # a List, with uids, status, managed fields
    assert "kind: List" in listed and "resourceVersion" in listed and "status:" in listed
    edited = project.parent / "greetings.yaml"
    edited.write_text(listed.replace("name: Bob", "name: Robert"))
    result = choreo("apply", "-f", str(edited), *at)
    assert (result.code, result.err) == (0, "")
    assert result.out == "applying example.com/v1alpha1 Greeting alice\napplying example.com/v1alpha1 Greeting bob\n"
    bob = [yaml.safe_load(p.read_text()) for p in (project / "in").iterdir() if "bob" in p.read_text()]
    assert len(bob) == 1 and bob[0]["spec"]["name"] == "Robert"
    assert "status" not in bob[0]  # what the server and the run set is not written as intent
    assert set(bob[0]["metadata"]) <= {"name", "namespace", "labels", "annotations", "finalizers"}
    assert "api.choreo.kform.dev/origin" not in (bob[0]["metadata"].get("annotations") or {})
    assert choreo("run", str(project)).code == 0
    messages = {m["metadata"]["name"]: m for m in get_json(project, "messages")["items"]}
    assert messages["bob-message"]["spec"]["text"] == "Hello, Robert!"

    typed = {"apiVersion": "example.com/v1alpha1", "kind": "GreetingList",  # items without apiVersion and kind
             "items": [{"metadata": {"name": "carol"}, "spec": {"name": "Carol", "language": "nl"}}]}
    added = choreo("apply", "-f", "-", *at, stdin=json.dumps(typed))
    assert (added.code, added.out) == (0, "applying example.com/v1alpha1 Greeting carol\n"), added.err
    assert (project / "in" / "example.com.greeting.carol.yaml").exists()
    broken = choreo("apply", "-f", "-", *at, stdin=json.dumps({**typed, "items": [typed["items"][0], "x"]}))
    assert (broken.code, broken.err) == (1, "error: <stdin>: items[1]: not an object\n")
    gone = choreo("delete", "-f", str(edited), *at)  # a list names the objects to delete too
    assert gone.code == 0 and gone.out.count("deleting") == 2, gone.err
    assert not any("bob" in p.read_text() or "alice" in p.read_text() for p in (project / "in").iterdir())


def test_delete_removes_the_input_file(example) -> None:
    project: Path = example("greeting")
    result = choreo("delete", "greetings", "bob", "-C", str(project))
    assert result.code == 0, result.err
    assert result.out == "deleting example.com/v1alpha1 Greeting bob\n"
    assert not (project / "in" / "example.com.greeting.bob.yaml").exists()
    missing = choreo("delete", "greetings", "nobody", "-C", str(project))
    assert missing.code == 1 and "no such input file" in missing.err


def test_get_forms_and_errors(example) -> None:
    project: Path = example("greeting")
    assert choreo("run", str(project)).code == 0
    names = choreo("get", "greeting", "-C", str(project), "-o", "name")
    assert names.out.splitlines() == ["greeting.example.com/alice", "greeting.example.com/bob"]
    one = yaml.safe_load(choreo("get", "greetings.example.com", "alice", "-C", str(project), "-o", "yaml").out)
    assert one["kind"] == "Greeting" and "managedFields" not in one["metadata"]
    managed = get_json(project, "greetings", "alice")
    assert "managedFields" not in managed["metadata"]
    unknown = choreo("get", "gadgets", "-C", str(project))
    assert unknown.code == 1 and unknown.err.startswith("error: ") and "gadgets" in unknown.err


def test_api_resources_lists_project_and_builtin_kinds(example) -> None:
    project: Path = example("greeting")
    result = choreo("api-resources", "-C", str(project))
    assert result.code == 0
    rows = [line.split() for line in result.out.splitlines()]
    assert rows[0] == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    kinds = {row[-1]: row for row in rows[1:]}
    assert kinds["Greeting"][1:] == ["example.com/v1alpha1", "true", "Greeting"]
    assert {"CustomResourceDefinition", "Reconciler", "Library", "UpstreamRef", "Message"} <= set(kinds)


def test_dev_parse_writes_reconciler_objects_that_run_unchanged(example) -> None:
    project: Path = example("hello-world")
    result = choreo("dev", "parse", str(project))
    assert result.code == 0, result.err
    generated = project / "in" / "choreo.kform.dev.reconciler.helloworld.yaml"
    assert result.out == "wrote in/choreo.kform.dev.reconciler.helloworld.yaml\n"
    obj = yaml.safe_load(generated.read_text())
    assert obj["kind"] == "Reconciler" and obj["metadata"]["name"] == "helloworld"
    assert obj["spec"]["type"] == "starlark" and "reconciler.star" in obj["spec"]["code"]
    # the EX layout: only the generated object remains, the run still works
    for f in (project / "reconcilers").iterdir():
        f.unlink()
    run = choreo("run", str(project))
    assert run.code == 0, run.out + run.err
    assert run.out.splitlines()[3].split() == ["helloworld", "1", "1", "0", "0"]


def test_print_goes_to_the_run_log(example) -> None:
    project: Path = example("hello-world")
    code = project / "reconcilers" / "helloworld.reconciler.star"
    traced = "def reconcile(self):\n    print('reconciling', self['metadata']['name'])\n"
    code.write_text(code.read_text().replace("def reconcile(self):\n", traced))
    quiet = choreo("run", str(project))
    assert "reconciling" not in quiet.out + quiet.err
    verbose = choreo("run", str(project), "-v", "--full")  # the reconcile runs again: its inputs did not change
    assert "reconciling test" in verbose.err


def test_python_m_never_imports_plug_ins_from_the_working_folder(tmp_path: Path) -> None:
    """``python -m choreo...`` puts the working folder first on sys.path: a ``reconcilers`` package there
    (one that fails when imported) must not stand in for the allocator plug-in."""
    project = tmp_path / "fabric"
    shutil.copytree(EXAMPLES / "fabric", project)
    here = tmp_path / "elsewhere"
    (here / "reconcilers").mkdir(parents=True)
    (here / "reconcilers" / "__init__.py").write_text("raise SystemExit('the working folder was imported')\n")
    proc = subprocess.run(
        [sys.executable, "-m", "choreo.cli.main", "run", str(project), "-r"],
        cwd=here, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "working folder" not in proc.stdout + proc.stderr
