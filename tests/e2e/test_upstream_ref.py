"""upstream-ref end to end: a project reusing the greeting APIs and reconciler from a pinned git repository.

The upstream repository is created by the example's own ``make-upstream.sh`` in tmp_path (a copy of
examples/greeting under greeting/, tagged v1.0.0) and the ref's URL is pointed at it (``file://``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import EXAMPLES, choreo, get_json, store_is_intact
from tests.loader.test_upstream import commit, git

REF_FILE = Path("refs") / "greeting.yaml"
EXAMPLE_URL = "file:///tmp/choreo-greeting-upstream"


@pytest.fixture
def setup(example, tmp_path: Path) -> tuple[Path, Path]:
    """(project, upstream repository) with the project's ref pointing at the repository."""
    upstream = tmp_path / "upstream"
    subprocess.run([str(EXAMPLES / "upstream-ref" / "make-upstream.sh"), str(upstream)], check=True,
                   capture_output=True)
    project: Path = example("upstream-ref")
    edit_ref(project, EXAMPLE_URL, upstream.as_uri())
    return project, upstream


def edit_ref(project: Path, old: str, new: str) -> None:
    path = project / REF_FILE
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def run_ok(project: Path) -> str:
    result = choreo("run", str(project))
    assert result.code == 0, result.out + result.err
    return result.out


def messages(project: Path) -> dict[str, str]:
    return {m["metadata"]["name"]: m["spec"]["text"] for m in get_json(project, "messages")["items"]}


def origin(obj: dict) -> str:
    return obj["metadata"]["annotations"]["api.choreo.kform.dev/origin"]


def test_run_uses_the_upstream_apis_library_and_reconciler(setup: tuple[Path, Path]) -> None:
    project, upstream = setup
    out = run_ok(project)
    assert out.splitlines()[3].split() == ["greeting", "2", "2", "0", "0"]
    assert messages(project) == {"carol-message": "Hallo, Carol!", "dave-message": "Guten Tag, Dave!"}
    expected = {"kind": "Upstream", "url": upstream.as_uri(), "directory": "greeting", "ref": "v1.0.0"}
    crd = get_json(project, "customresourcedefinitions", "greetings.example.com")
    assert origin(crd) == json.dumps(expected, separators=(",", ":"))
    assert origin(get_json(project, "upstreamrefs", "greeting")) == '{"kind":"File"}'
    assert [g["metadata"]["name"] for g in get_json(project, "greetings")["items"]] == ["carol", "dave"]


def test_a_later_run_reuses_the_clone_offline(setup: tuple[Path, Path]) -> None:
    project, upstream = setup
    run_ok(project)
    first = get_json(project, "messages")
    shutil.rmtree(upstream)
    out = run_ok(project)
    assert out.splitlines()[3].split() == ["greeting", "2", "2", "0", "0"]
    assert get_json(project, "messages") == first
    clone = project / ".choreo" / "refs" / upstream.as_uri().replace("/", "-").replace(":", "-") / "repo.git"
    assert (clone / "HEAD").is_file()


def test_a_commit_hash_pin_works_like_the_tag(setup: tuple[Path, Path]) -> None:
    project, upstream = setup
    sha = git(upstream, "rev-parse", "v1.0.0")
    edit_ref(project, "type: tag\n    name: v1.0.0", f"type: hash\n    name: {sha}")
    run_ok(project)
    assert messages(project) == {"carol-message": "Hallo, Carol!", "dave-message": "Guten Tag, Dave!"}


def test_type_all_brings_the_upstream_data_and_dropping_it_cleans_it(setup: tuple[Path, Path]) -> None:
    project, _ = setup
    edit_ref(project, "directory: greeting", "directory: greeting\n  type: all")
    run_ok(project)
    greetings = {g["metadata"]["name"]: origin(g) for g in get_json(project, "greetings")["items"]}
    assert sorted(greetings) == ["alice", "bob", "carol", "dave"]
    assert json.loads(greetings["alice"])["kind"] == "Upstream" and greetings["carol"] == '{"kind":"File"}'
    assert sorted(messages(project)) == ["alice-message", "bob-message", "carol-message", "dave-message"]
    edit_ref(project, "directory: greeting\n  type: all", "directory: greeting")
    run_ok(project)
    assert [g["metadata"]["name"] for g in get_json(project, "greetings")["items"]] == ["carol", "dave"]
    assert sorted(messages(project)) == ["carol-message", "dave-message"]


def _conflict(project: Path, _upstream: Path) -> str:
    copy = (project / REF_FILE).read_text().replace("name: greeting", "name: again")
    (project / "refs" / "again.yaml").write_text(copy)
    return "refs/greeting.yaml: conflicting upstreamrefs: "


def _nesting(project: Path, upstream: Path) -> str:
    inner = (project / REF_FILE).read_text().replace("directory: greeting", "directory: other")
    commit(upstream, {"greeting/refs/inner.yaml": inner}, tag="v1.1.0")
    edit_ref(project, "name: v1.0.0", "name: v1.1.0")
    edit_ref(project, "directory: greeting", "directory: greeting\n  type: crd")
    return "refs/greeting.yaml -> refs/inner.yaml: cannot nest upstreamref "


def _unreachable(project: Path, upstream: Path) -> str:
    edit_ref(project, upstream.as_uri(), upstream.as_uri() + "-missing")
    return f"refs/greeting.yaml: cannot fetch {upstream.as_uri()}-missing: "


def _unknown_tag(project: Path, _upstream: Path) -> str:
    edit_ref(project, "name: v1.0.0", "name: v9.9.9")
    return "refs/greeting.yaml: tag v9.9.9 not found in "


def _unknown_commit(project: Path, _upstream: Path) -> str:
    edit_ref(project, "type: tag\n    name: v1.0.0", f"type: hash\n    name: {'ab' * 20}")
    return f"refs/greeting.yaml: commit {'ab' * 20} not found in "


def _no_url(project: Path, upstream: Path) -> str:
    edit_ref(project, f"  url: {upstream.as_uri()}\n", "")
    return "refs/greeting.yaml: spec.url is required"


@pytest.mark.parametrize("break_it", [_unreachable, _unknown_tag, _unknown_commit, _conflict, _nesting, _no_url])
def test_ref_errors_are_one_line_and_change_nothing(setup: tuple[Path, Path], break_it) -> None:
    project, upstream = setup
    run_ok(project)
    before = {kind: get_json(project, kind) for kind in ("greetings", "messages", "upstreamrefs")}
    expected = break_it(project, upstream)
    result = choreo("run", str(project))
    assert result.code != 0
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: " + expected), result.err
    assert {kind: get_json(project, kind) for kind in ("greetings", "messages", "upstreamrefs")} == before
    assert store_is_intact(project)
