"""hello-world end to end: the reconciler fills spec.greeting and sets Ready."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import choreo, get_json


def test_first_run_greets_and_reports_summary(example) -> None:
    project: Path = example("hello-world")
    result = choreo("run", str(project))
    assert result.code == 0, result.out + result.err
    lines = result.out.splitlines()
    assert lines[0] == "Run hello-world summary"
    assert lines[1].startswith("execution success, time(msec) ")
    assert lines[2].split() == ["Reconciler", "Start", "Stop", "Requeue", "Error"]
    assert lines[3].split() == ["helloworld", "1", "1", "0", "0"]

    obj = get_json(project, "helloworlds", "test")
    assert obj["spec"]["greeting"] == "hello choreo"
    assert obj["metadata"]["generation"] == 2  # the reconciler changed the spec once
    ready = obj["status"]["conditions"][0]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "True", "Ready")
    assert "helloworld" in obj["metadata"]["finalizers"]


def test_undeclared_field_fails_with_field_path(example) -> None:
    project: Path = example("hello-world")
    code = project / "reconcilers" / "helloworld.reconciler.star"
    code.write_text(code.read_text().replace('spec["greeting"]', 'spec["greetings"]'))
    result = choreo("run", str(project))
    assert result.code == 1
    assert result.out.splitlines()[0] == "execution failed"
    reason = result.out.splitlines()[1]
    assert reason.startswith("  reason task helloworld.HelloWorld.example.com.test message ")
    assert ".spec.greetings: field not declared in schema" in reason
    assert "(default/test; example.com/v1alpha1, Kind=HelloWorld)" in reason
    assert "Traceback" not in result.out + result.err


def test_run_result_reprints_the_latest_summary(example) -> None:
    project: Path = example("hello-world")
    assert choreo("run", str(project)).code == 0
    result = choreo("run", "result", str(project))
    assert result.code == 0
    assert result.out.splitlines()[3].split() == ["helloworld", "1", "1", "0", "0"]
    raw = choreo("run", "result", str(project), "-o", "raw")
    assert raw.out.splitlines()[3].split()[-3:] == ["helloworld", "example.com.HelloWorld.default.test", "START"]
