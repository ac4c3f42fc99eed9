"""The --report files in their one form: JUnit counts in JUnit's meaning, one declaration, atomic writes, and one
error naming the option when a file cannot be written."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from choreo.errors import ChoreoError
from choreo.results.reports import JUnitCase, JUnitFailure, JUnitSuite, json_text, junit_xml, write_report


def test_junit_counts_failed_cases_not_failures() -> None:
    two_errors = (JUnitFailure("bad mtu", "leaf1: /mtu: bad mtu", "/mtu"), JUnitFailure("bad name", "leaf1: /: bad"))
    text = junit_xml("choreo schema", [
        JUnitSuite("schema", (JUnitCase("srl", "leaf1", two_errors), JUnitCase("srl", "leaf2"))),
        JUnitSuite("other", (JUnitCase("x", "y"),)),
    ])
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ') and text.endswith("</testsuites>\n")
    root = ET.fromstring(text.encode())
    assert (root.get("name"), root.get("tests"), root.get("failures")) == ("choreo schema", "3", "1")
    schema, other = root.findall("testsuite")
    assert (schema.get("tests"), schema.get("failures"), other.get("failures")) == ("2", "1", "0")
    leaf1, leaf2 = schema.findall("testcase")
    assert [(f.get("message"), f.get("type"), f.text) for f in leaf1.findall("failure")] == [
        ("bad mtu", "/mtu", "leaf1: /mtu: bad mtu"), ("bad name", None, "leaf1: /: bad")]
    assert (leaf2.get("classname"), leaf2.get("name"), leaf2.find("failure")) == ("srl", "leaf2", None)


def test_a_report_replaces_the_file_in_one_step(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    elsewhere = tmp_path / "user-file"
    elsewhere.write_text("mine\n")
    target.symlink_to(elsewhere)  # a link left at the path is replaced, never followed
    write_report("json", target, json_text({"valid": True}))
    assert json.loads(target.read_text()) == {"valid": True} and not target.is_symlink()
    assert elsewhere.read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json", "user-file"]  # no temporary file left


def test_a_report_that_cannot_be_written_names_the_option(tmp_path: Path) -> None:
    target = tmp_path / "gone" / "junit.xml"
    with pytest.raises(ChoreoError) as failed:
        write_report("junit", target, "<x/>")
    assert str(failed.value) == f"--report junit={target}: cannot write: No such file or directory"
