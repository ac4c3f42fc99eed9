"""Every malformed or hostile input of the corpus ends in one clear error, quickly, with the store intact.

The cases live in ``cases.py`` (data only); this module runs each against a copy of its example, already
run once so that there is a previous good state to keep. See ``harness`` for what "one clear error" means.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.corpus.cases import CASES
from tests.corpus.harness import (
    EXAMPLES,
    MAX_MESSAGE,
    TIME_LIMIT,
    Case,
    apply_mistake,
    error_line,
    invoke,
    objects_table,
)

# base name -> (example folder, the flags of its good run)
BASES = {
    "greeting": ("greeting", ()),
    "jinja2": ("config-templates/jinja2", ()),
    "gotemplate": ("config-templates/gotemplate", ()),
    "fabric": ("fabric", ("-r", "-s")),
}


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty home: no user config file may address a server."""
    return tmp_path_factory.mktemp("home")


def environment(home: Path, case: Case | None = None) -> dict[str, str | None]:
    return {"HOME": str(home), "CHOREO_SERVER": None, "CHOREO_DEBUG": None, **(case.env if case else {})}


@pytest.fixture(scope="session")
def good_state(tmp_path_factory: pytest.TempPathFactory, home: Path) -> Iterator[dict[str, Path]]:
    """Each example copied and run once (on first use): the good state every case starts from."""

    class Bases(dict[str, Path]):
        def __missing__(self, base: str) -> Path:
            folder, flags = BASES[base]
            project = tmp_path_factory.mktemp(base) / "p"
            shutil.copytree(EXAMPLES / folder, project)
            outcome = invoke(["run", str(project), *flags], environment(home))
            assert outcome.code == 0, outcome.out + outcome.err
            self[base] = project
            return project

    yield Bases()


def test_the_corpus_is_large_and_its_ids_unique() -> None:
    assert len(CASES) >= 150
    assert [i for i, n in Counter(c.id for c in CASES).items() if n > 1] == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case(case: Case, good_state: dict[str, Path], tmp_path: Path, home: Path) -> None:
    project = tmp_path / "p"
    shutil.copytree(good_state[case.base], project, symlinks=True)
    before = objects_table(project)
    apply_mistake(project, case)
    outcome = invoke([arg.replace("{p}", str(project)) for arg in case.args], environment(home, case), case.stdin)
    line = error_line(outcome)
    assert (outcome.code, len(line) <= MAX_MESSAGE) == (case.code, True), line[:2000]
    assert re.search(case.message, line), line[:2000]
    assert outcome.seconds < TIME_LIMIT
    if case.store:
        assert objects_table(project) == before, "a failed command changed stored objects"
