"""What a run tells people and CI: -o json, --report json|junit (also for a failed run), -q, the summary's
time unit, run --help, the -r hint, and stale final configs after a run without -s."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import click

from choreo.cli.main import cli
from tests.e2e.conftest import choreo

CODE = "reconcilers/greeting/reconciler.star"
FATAL = '    if spec["name"] == "Bob":\n        return reconcile_result(self, False, 0, "broken on purpose", True)\n'


def broken_greeting(example) -> Path:
    """greeting whose reconciler fails fatally on bob."""
    project: Path = example("greeting")
    code = project / CODE
    text = code.read_text()
    anchor = "    rsp = client_create(message)\n"
    assert anchor in text
    code.write_text(text.replace(anchor, FATAL + anchor))
    return project


def test_json_output_has_counts_failures_stages_and_timings(example) -> None:
    project = example("greeting")
    result = choreo("run", str(project), "-o", "json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["success"] is True and doc["failures"] == [] and doc["stages"] == []
    assert doc["reconcilers"] == [{"name": "greeting", "start": 2, "stop": 2, "requeue": 0, "error": 0}]
    assert doc["timings"]["wallSeconds"] >= doc["timings"]["reconcileSeconds"] >= 0
    assert json.loads(choreo("run", "result", str(project), "-o", "json").out)["id"] == doc["id"]


def test_reports_are_written_for_a_failed_run(example, tmp_path: Path) -> None:
    project = broken_greeting(example)
    junit, report = tmp_path / "junit.xml", tmp_path / "run.json"
    result = choreo("run", str(project), "--report", f"junit={junit}", "--report", f"json={report}", "-o", "json")
    assert result.code == 1
    failure = json.loads(report.read_text())["failures"][0]
    assert failure["reconciler"] == "greeting" and failure["message"] == "broken on purpose"
    assert failure["object"] == "example.com.Greeting.default.bob" and "greeting" in failure["task"]
    assert json.loads(result.out)["failures"] == [failure]
    assert junit.read_text().startswith('<?xml version="1.0" encoding="UTF-8"?>\n')  # as the -s stage's report
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert cases["example.com.Greeting.default.bob"].find("failure").get("message") == "broken on purpose"
    assert cases["example.com.Greeting.default.alice"].find("failure") is None


def test_a_report_that_cannot_be_written_is_an_error_before_the_run(example, tmp_path: Path) -> None:
    project = example("greeting")
    for report in (f"junit={tmp_path}/no/such/folder.xml", f"json={tmp_path}", "html=x.html"):
        result = choreo("run", str(project), "--report", report)
        assert result.code == 1 and len(result.err.splitlines()) == 1 and "--report" in result.err, result.err
    assert not (project / ".choreo" / "choreo.db").exists()  # refused before anything ran


def test_quiet_prints_errors_only(example) -> None:
    good = choreo("run", str(example("hello-world")), "-q")
    assert good.code == 0 and good.out == "" and good.err == ""
    bad = choreo("run", str(broken_greeting(example)), "-q")
    assert bad.code == 1 and bad.out == ""
    assert bad.err.splitlines()[0] == "execution failed" and "broken on purpose" in bad.err


def test_summary_time_is_in_the_unit_it_names(example) -> None:
    lines = choreo("run", str(example("hello-world"))).out.splitlines()
    assert re.fullmatch(r"execution success, time\(msec\) \d+(\.\d{1,3})?ms", lines[1]), lines[1]


def test_run_help_lists_the_options_of_run_once_and_no_help_has_rst_markup() -> None:
    text = choreo("run", "--help").out
    for option in ("-r, --internal-reconcilers", "-s, --sdc", "--out", "--report", "-q, --quiet", "-o, --output"):
        assert option in text, option
    assert "Commands:" in text and "result" in text

    def helps(command: click.Command, ctx: click.Context, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        found = [path] if "``" in (command.help or "") or any(
            "``" in (p.help or "") for p in command.params if isinstance(p, click.Option)
        ) else []
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)  # a command the group imports when used is loaded here
                assert sub is not None, name
                found.extend(helps(sub, click.Context(sub, info_name=name, parent=ctx), (*path, name)))
        return found

    assert helps(cli, click.Context(cli, info_name="choreo"), ("choreo",)) == []
    assert "``" not in choreo("--help").out + choreo("config", "--help").out


def test_an_allocator_kind_without_r_says_to_run_with_r(example) -> None:
    result = choreo("run", str(example("interface")))
    assert result.code == 1 and len(result.err.splitlines()) == 1
    assert result.err.rstrip().endswith("IPIndex is a built-in kind: run with -r")


def test_final_configs_are_marked_stale_after_a_run_without_s(example) -> None:
    project = example("fabric")
    assert choreo("run", str(project), "-r", "-s").code == 0
    unchanged = choreo("run", str(project), "-r")
    assert unchanged.code == 0 and "stale" not in unchanged.err and not (project / "out" / "STALE").exists()
    index = project / "in" / "ipam.be.kuid.dev.ipindex.fabric.yaml"
    index.write_text(index.read_text().replace("10.1.0.0/16", "10.2.0.0/16"))
    changed = choreo("run", str(project), "-r")
    assert changed.code == 0 and changed.err.startswith("warning: the final device configs")
    assert "run with -s to refresh them" in (project / "out" / "STALE").read_text()
    shown = choreo("config", "show", "leaf1", "-C", str(project))
    assert shown.code == 0 and "may be stale" in shown.err
    assert choreo("run", str(project), "-r", "-s").code == 0
    assert not (project / "out" / "STALE").exists()
    assert "stale" not in choreo("config", "show", "leaf1", "-C", str(project)).err
