"""The report files a run leaves for CI (``--report junit=FILE``, ``--report json=FILE``), in one form.

Why a module of its own: two writers fill these files, the command line (a test case per reconciled object,
``choreo.cli.report``) and the ``-s`` stage of the yang plug-in (a test case per device). Both go through
here, so both files look the same whoever wrote them: the same XML declaration and counts, JUnit's meaning
of ``failures`` (test cases that failed), JSON indented alike, written in one step (a CI job reading the
file never sees half of it), and the same one-line error naming the option when the file cannot be written.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from choreo.atomic import write_atomic
from choreo.errors import ChoreoError

REPORT_KINDS = ("junit", "json")


@dataclass(frozen=True)
class JUnitFailure:
    """One failure of a test case: ``message`` is what CI lists (one line), ``text`` the whole report."""

    message: str
    text: str
    type: str = ""


@dataclass(frozen=True)
class JUnitCase:
    classname: str
    name: str
    failures: tuple[JUnitFailure, ...] = ()


@dataclass(frozen=True)
class JUnitSuite:
    name: str
    cases: tuple[JUnitCase, ...]


def junit_xml(title: str, suites: Iterable[JUnitSuite]) -> str:
    """The JUnit XML document of ``suites``, named ``title``."""
    suites = list(suites)
    root = ET.Element("testsuites", {"name": title, **_counts(case for suite in suites for case in suite.cases)})
    for suite in suites:
        element = ET.SubElement(root, "testsuite", {"name": suite.name, **_counts(suite.cases)})
        for case in suite.cases:
            case_element = ET.SubElement(element, "testcase", classname=case.classname, name=case.name)
            for failure in case.failures:
                attributes = {"message": failure.message, **({"type": failure.type} if failure.type else {})}
                ET.SubElement(case_element, "failure", attributes).text = failure.text
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _counts(cases: Iterable[JUnitCase]) -> dict[str, str]:
    cases = list(cases)
    return {"tests": str(len(cases)), "failures": str(sum(1 for case in cases if case.failures))}


def json_text(document: Any) -> str:
    """A JSON document as choreo prints and writes them (indented, ending with a newline)."""
    return json.dumps(document, indent=2) + "\n"


def write_report(kind: str, path: Path | str, text: str) -> None:
    """Write the ``--report kind=path`` file in one step; one that cannot be written is a ``ChoreoError``."""
    try:
        write_atomic(Path(path), text)
    except OSError as exc:
        raise ChoreoError(f"--report {kind}={path}: cannot write: {exc.strerror or exc}") from None
