"""upstream-ref end to end: a project reusing the greeting APIs, reconciler and data from a pinned git repository.

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
from tests.server.harness import Http, ServerProcess

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


UPSTREAM_MESSAGES = {"alice-message": "Bonjour, Alice!", "bob-message": "Hello, Bob!"}
OWN_MESSAGES = {"carol-message": "Hallo, Carol!", "dave-message": "Guten Tag, Dave!"}


def upstream_origin(upstream: Path, tag: str = "v1.0.0") -> str:
    fields = {"kind": "Upstream", "url": upstream.as_uri(), "directory": "greeting", "ref": tag}
    return json.dumps(fields, separators=(",", ":"))


def test_run_uses_the_upstream_apis_library_reconciler_and_data(setup: tuple[Path, Path]) -> None:
    project, upstream = setup
    out = run_ok(project)
    assert out.splitlines()[3].split() == ["greeting", "4", "4", "0", "0"]
    assert messages(project) == {**UPSTREAM_MESSAGES, **OWN_MESSAGES}
    crd = get_json(project, "customresourcedefinitions", "greetings.example.com")
    assert origin(crd) == upstream_origin(upstream)
    assert origin(get_json(project, "upstreamrefs", "greeting")) == '{"kind":"File"}'
    greetings = {g["metadata"]["name"]: origin(g) for g in get_json(project, "greetings")["items"]}
    assert greetings == {"alice": upstream_origin(upstream), "bob": upstream_origin(upstream),
                         "carol": '{"kind":"File"}', "dave": '{"kind":"File"}'}


def test_reconcilers_and_libraries_are_listed_as_objects(setup: tuple[Path, Path]) -> None:
    project, upstream = setup
    run_ok(project)
    reconciler = get_json(project, "reconcilers", "greeting")
    assert origin(reconciler) == upstream_origin(upstream)
    assert reconciler["spec"]["type"] == "starlark"
    assert "def reconcile(self)" in reconciler["spec"]["code"]["reconciler.star"]
    names = choreo("get", "reconcilers,libraries", "-C", str(project), "-o", "name").out.splitlines()
    assert names == ["reconciler.choreo.kform.dev/greeting", "library.choreo.kform.dev/example.com.greetings.star"]
    deps = choreo("run", "deps", str(project), "-i").out.splitlines()
    assert "Library.choreo.kform.dev/v1alpha1 example.com.greetings.star" in deps
    assert "Reconciler.choreo.kform.dev/v1alpha1 greeting" in deps
    assert "UpstreamRef.choreo.kform.dev/v1alpha1 greeting" in deps
    plain = choreo("run", "deps", str(project)).out.splitlines()
    assert plain and not any(line.startswith(("Library.", "Reconciler.")) for line in plain)


def test_a_later_run_reuses_the_clone_offline(setup: tuple[Path, Path]) -> None:
    project, upstream = setup
    run_ok(project)
    first = get_json(project, "messages")
    shutil.rmtree(upstream)
    out = run_ok(project)
    assert out.splitlines()[3].startswith("reused 4 ")  # nothing changed: all reconciles' results stand
    assert get_json(project, "messages") == first
    clone = project / ".choreo" / "refs" / upstream.as_uri().replace("/", "-").replace(":", "-") / "repo.git"
    assert (clone / "HEAD").is_file()


def test_a_commit_hash_pin_works_like_the_tag(setup: tuple[Path, Path]) -> None:
    project, upstream = setup
    sha = git(upstream, "rev-parse", "v1.0.0")
    edit_ref(project, "type: tag\n    name: v1.0.0", f"type: hash\n    name: {sha}")
    run_ok(project)
    assert messages(project) == {**UPSTREAM_MESSAGES, **OWN_MESSAGES}


@pytest.mark.parametrize("ref_type", ["crd", "all"])
def test_every_ref_type_brings_the_upstream_data(setup: tuple[Path, Path], ref_type: str) -> None:
    project, _ = setup
    edit_ref(project, "directory: greeting", f"directory: greeting\n  type: {ref_type}")
    run_ok(project)
    assert messages(project) == {**UPSTREAM_MESSAGES, **OWN_MESSAGES}


def test_a_new_tag_replaces_the_upstream_data_and_cleans_what_it_dropped(setup: tuple[Path, Path]) -> None:
    project, upstream = setup
    run_ok(project)
    (upstream / "greeting" / "in" / "example.com.greeting.bob.yaml").unlink()
    erin = (project / "in" / "example.com.greeting.carol.yaml").read_text().replace("carol", "erin")
    commit(upstream, {"greeting/in/example.com.greeting.erin.yaml": erin.replace("Carol", "Erin")}, tag="v1.1.0")
    edit_ref(project, "name: v1.0.0", "name: v1.1.0")
    out = run_ok(project)
    greetings = {g["metadata"]["name"]: origin(g) for g in get_json(project, "greetings")["items"]}
    new = upstream_origin(upstream, "v1.1.0")
    assert greetings == {"alice": new, "carol": '{"kind":"File"}', "dave": '{"kind":"File"}', "erin": new}
    assert messages(project) == {"alice-message": "Bonjour, Alice!", "erin-message": "Hallo, Erin!", **OWN_MESSAGES}
    assert origin(get_json(project, "reconcilers", "greeting")) == new
    assert out.splitlines()[3].split()[0] == "greeting"


def test_the_projects_own_object_replaces_the_upstream_one(setup: tuple[Path, Path]) -> None:
    project, _ = setup
    alice = (project / "in" / "example.com.greeting.carol.yaml").read_text().replace("carol", "alice")
    (project / "in" / "example.com.greeting.alice.yaml").write_text(alice.replace("Carol", "Alice"))
    run_ok(project)
    assert origin(get_json(project, "greetings", "alice")) == '{"kind":"File"}'
    assert messages(project)["alice-message"] == "Hallo, Alice!"


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


def test_server_mode_stores_and_follows_them_too(setup: tuple[Path, Path]) -> None:
    """``server start DIR`` loads the same objects; a re-pinned ref is followed at the next ``run once``."""
    project, upstream = setup
    server = ServerProcess(str(project), "--address", "127.0.0.1:0", "--no-run")
    try:
        url = server.wait_ready()
        listing = choreo("get", "reconcilers,libraries", "--server", url, "-o", "json")
        assert listing.code == 0, listing.err
        found = {(o["kind"], o["metadata"]["name"]): origin(o) for o in json.loads(listing.out)["items"]}
        assert found == {("Reconciler", "greeting"): upstream_origin(upstream),
                         ("Library", "example.com.greetings.star"): upstream_origin(upstream)}
        assert "Reconciler.choreo.kform.dev/v1alpha1 greeting" in choreo("run", "deps", "-i", "--server", url).out
        http = Http(url)
        code, served = http.call("GET", "/apis/choreo.kform.dev/v1alpha1/reconcilers/greeting")  # as kubectl reads it
        assert code == 200 and origin(served) == upstream_origin(upstream)

        (upstream / "greeting" / "in" / "example.com.greeting.bob.yaml").unlink()
        commit(upstream, {}, tag="v1.1.0")
        edit_ref(project, "name: v1.0.0", "name: v1.1.0")
        assert choreo("run", "once", "--server", url).code == 0
        code, served = http.call("GET", "/apis/choreo.kform.dev/v1alpha1/reconcilers/greeting")
        assert code == 200 and origin(served) == upstream_origin(upstream, "v1.1.0")
        names = choreo("get", "greetings,messages", "--server", url, "-o", "name").out.split()
        assert "greeting.example.com/bob" not in names and "message.example.com/bob-message" not in names
        assert "greeting.example.com/alice" in names
    finally:
        server.stop()


def test_an_upstream_reconciler_named_no_object_name_runs_with_a_warning(setup: tuple[Path, Path]) -> None:
    project, upstream = setup
    config = upstream / "greeting" / "reconcilers" / "greeting" / "config.yaml"
    config.write_text(config.read_text().replace("name: greeting", "name: Greeting_Reconciler"))
    commit(upstream, {}, tag="v1.1.0")
    edit_ref(project, "name: v1.0.0", "name: v1.1.0")
    result = choreo("run", str(project))  # warnings are told unasked
    assert result.code == 0, result.err
    assert result.out.splitlines()[3].split() == ["Greeting_Reconciler", "4", "4", "0", "0"]
    assert result.err.splitlines() == [
        "warning: refs/greeting.yaml -> reconcilers/greeting/config.yaml: reconciler Greeting_Reconciler is not "
        "stored as an object (choreo get, run deps -i): its name is not a lowercase DNS subdomain"
    ]
    assert choreo("get", "reconcilers", "-C", str(project), "-o", "name").out == ""
