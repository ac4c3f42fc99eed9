"""choreoctl's command forms through the real CLI: ``deps``, ``apply PATH`` (and ``-R``), ``version``, and the
commands choreo answers with a pointer to what to use instead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import CAROL, choreo
from tests.e2e.test_completion import complete


def test_top_level_deps_prints_what_run_deps_prints(example) -> None:
    project: Path = example("greeting")
    assert choreo("run", str(project)).code == 0
    deps = choreo("deps", str(project))
    assert deps.code == 0, deps.err
    assert deps.out == choreo("run", "deps", str(project)).out
    assert "Greeting.example.com/v1alpha1 alice" in deps.out.splitlines()
    with_apis = choreo("deps", str(project), "-i")
    assert "CustomResourceDefinition.apiextensions.k8s.io/v1 greetings.example.com" in with_apis.out.splitlines()


def test_apply_takes_a_positional_file_or_folder_as_well_as_f(example, tmp_path: Path) -> None:
    project: Path = example("greeting")
    file = tmp_path / "carol.yaml"
    file.write_text(CAROL)
    by_path = choreo("apply", str(file), "-C", str(project))
    assert by_path.code == 0, by_path.err
    assert by_path.out == "applying example.com/v1alpha1 Greeting carol\n"
    written = project / "in" / "example.com.greeting.carol.yaml"
    first = written.read_text()
    written.unlink()
    by_option = choreo("apply", "-f", str(file), "-C", str(project))
    assert by_option.out == by_path.out and written.read_text() == first

    folder = tmp_path / "objects"
    (folder / "more").mkdir(parents=True)
    (folder / "dave.yaml").write_text(CAROL.replace("carol", "dave"))
    (folder / "more" / "erin.yml").write_text(CAROL.replace("carol", "erin"))
    flat = choreo("apply", str(folder), "-C", str(project))
    assert flat.out == "applying example.com/v1alpha1 Greeting dave\n"
    deep = choreo("apply", str(folder), "-R", "-C", str(project))
    assert deep.out.splitlines() == [
        "applying example.com/v1alpha1 Greeting dave",
        "applying example.com/v1alpha1 Greeting erin",
    ]
    assert (project / "in" / "example.com.greeting.erin.yaml").exists()
    removed = choreo("delete", "-f", str(folder), "-R", "-C", str(project))
    assert removed.code == 0, removed.err
    assert not (project / "in" / "example.com.greeting.erin.yaml").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("apply",), "error: apply needs the objects to apply: PATH or -f FILE|DIR|- (stdin)\n"),
        (("apply", "a.yaml", "-f", "b.yaml"),
         "error: apply: give the objects once, as PATH or as -f (got a.yaml and -f b.yaml)\n"),
        (("apply", "https://example.com/x.yaml"),
         "error: https://example.com/x.yaml: choreo reads no URLs; download the file and apply it from disk\n"),
    ],
)
def test_apply_argument_mistakes_are_one_line(example, args: tuple[str, ...], message: str) -> None:
    project: Path = example("greeting")
    before = sorted(p.name for p in (project / "in").iterdir())
    result = choreo(*args, "-C", str(project))
    assert (result.code, result.out, result.err) == (1, "", message)
    assert sorted(p.name for p in (project / "in").iterdir()) == before


def test_version_prints_choreo_api_and_python_versions() -> None:
    result = choreo("version")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["version", "api", "python"]
    flag = choreo("--version").out.split()[-1]
    assert lines[0] == f"version: {flag}"
    assert lines[1] == "api: choreo.kform.dev/v1alpha1"


@pytest.mark.parametrize(
    ("args", "pointer"),
    [(("tui",), "`choreo get KIND`"), (("tui", "-f", "5"), "`choreo get KIND`"),
     (("version", "upgrade"), "`pip install --upgrade choreo`")],
)
def test_commands_without_equivalent_name_the_one_to_use(args: tuple[str, ...], pointer: str) -> None:
    result = choreo(*args)
    assert result.code == 1 and result.out == ""
    assert result.err.startswith(f"error: {args[0]}") and pointer in result.err
    assert len(result.err.splitlines()) == 1


def test_help_and_completion_know_the_new_commands(example) -> None:
    offered = complete("choreo ")
    assert {"deps", "version", "tui", "apply"} <= set(offered)
    assert complete("choreo version ") == ["upgrade"]
    for line in ("choreo apply gr", "choreo apply -f gr", "choreo delete -f gr"):  # the shell completes file names
        words = line.split()
        env = dict(os.environ, _CHOREO_COMPLETE="bash_complete", COMP_WORDS=line, COMP_CWORD=str(len(words) - 1))
        asked = subprocess.run([sys.executable, "-m", "choreo.cli.main"], env=env, capture_output=True, text=True)
        assert asked.stdout == "file,gr\n", line
    help_text = choreo("apply", "--help").out
    assert "PATH" in help_text and "-R, --recursive" in help_text
    assert "--show-choreo-apis" in choreo("deps", "--help").out
