"""Upstream refs: pinned git checkouts, ref validation, nesting/conflict rules, merging and per-origin cleanup.

Every repository is a local one the test creates (``file://`` URLs); nothing touches the network.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from choreo.apiserver.server import APIServer
from choreo.errors import LoadError
from choreo.loader.loading import load_project
from choreo.loader.project import FILE_ORIGIN, ORIGIN_ANNOTATION, InputObject, Project
from choreo.loader.sync import sync_project
from choreo.loader.upstream import is_loader_origin, load_upstreams, parse_ref
from choreo.loader.upstream_git import GitError, Pin, checkout, url_path
from choreo.store.memory import MemoryBackend

from . import build

GIT_CONFIG = [
    "-c", "user.name=test", "-c", "user.email=test@choreo.invalid", "-c", "commit.gpgsign=false",
    "-c", "tag.gpgsign=false", "-c", "init.defaultBranch=main",
]
WIDGET_CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, listKind: WidgetList, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: string}
"""
WIDGET_RECONCILER = """apiVersion: choreo.kform.dev/v1alpha1
kind: Reconciler
metadata:
  name: widget
spec:
  for: {group: example.com, version: v1alpha1, kind: Widget, selector: {}}
"""
WIDGET_STAR = (
    'load("example.com.widgets.star", "size")\n\n'
    'def reconcile(self):\n    return reconcile_result(self, False, 0, "", False)\n'
)
LIBRARY = 'def size(o):\n    return o["spec"]["size"]\n'
LIB_PROJECT = {
    "crds/example.com_widgets.yaml": WIDGET_CRD,
    "crds/example.com_widgets.star": LIBRARY,
    "reconcilers/widget/config.yaml": WIDGET_RECONCILER,
    "reconcilers/widget/reconciler.star": WIDGET_STAR,
    "in/widget.yaml": "apiVersion: example.com/v1alpha1\nkind: Widget\nmetadata: {name: upstream}\nspec: {size: L}\n",
}


def widget(name: str) -> str:
    return f"apiVersion: example.com/v1alpha1\nkind: Widget\nmetadata: {{name: {name}}}\nspec: {{size: S}}\n"


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", *GIT_CONFIG, "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def commit(repo: Path, files: dict[str, str], tag: str | None = None) -> str:
    """Write ``files`` into the repository ``repo`` (created if needed), commit, optionally tag; the hash."""
    if not (repo / ".git").is_dir():
        repo.mkdir(parents=True, exist_ok=True)
        git(repo, "init", "--quiet")
    build(repo, files)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--allow-empty", "--message", "change")
    if tag:
        git(repo, "tag", tag)
    return git(repo, "rev-parse", "HEAD")


def ref_yaml(url: str, name: str = "v1", *, pin: str = "tag", directory: str = "", ref_type: str = "",
             metadata_name: str = "upstream") -> str:
    lines = [
        "apiVersion: choreo.kform.dev/v1alpha1", "kind: UpstreamRef", f"metadata: {{name: {metadata_name}}}",
        "spec:", f"  url: {url}", f"  ref: {{type: {pin}, name: '{name}'}}",
    ]
    if directory:
        lines.append(f"  directory: {directory}")
    if ref_type:
        lines.append(f"  type: {ref_type}")
    return "\n".join(lines) + "\n"


def resolved(root: Path) -> Project:
    project = load_project(root)
    load_upstreams(project)
    return project


def load_error(root: Path) -> str:
    with pytest.raises(LoadError) as info:
        resolved(root)
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.fixture
def lib_repo(tmp_path: Path) -> tuple[str, str]:
    """A repository with the widget project at its root, tagged v1; (file URL, commit hash)."""
    repo = tmp_path / "lib"
    sha = commit(repo, LIB_PROJECT, tag="v1")
    return repo.as_uri(), sha


# ---------------------------------------------------------------------------------------------
# upstream_git


def test_url_path_replaces_slashes_and_colons() -> None:
    assert url_path("https://github.com/kform-dev/choreo.git") == "https---github.com-kform-dev-choreo.git"


def test_tag_and_hash_read_the_pinned_commit_not_the_branch_head(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    first = commit(repo, {"file.txt": "one\n"}, tag="v1")
    second = commit(repo, {"file.txt": "two\n"})
    state = tmp_path / "state"
    sha, tree = checkout(state, repo.as_uri(), Pin("tag", "v1"))
    assert (sha, (tree / "file.txt").read_text()) == (first, "one\n")
    sha, tree = checkout(state, repo.as_uri(), Pin("hash", second))
    assert (sha, (tree / "file.txt").read_text()) == (second, "two\n")
    sha, _ = checkout(state, repo.as_uri(), Pin("hash", first[:10]))  # abbreviated hash
    assert sha == first
    assert tree == state / url_path(repo.as_uri()) / "commits" / second
    assert (state / url_path(repo.as_uri()) / "repo.git" / "HEAD").is_file()


def test_a_fetched_pin_is_reused_offline(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    sha = commit(repo, {"file.txt": "one\n"}, tag="v1")
    state = tmp_path / "state"
    checkout(state, repo.as_uri(), Pin("tag", "v1"))
    shutil.rmtree(repo)
    assert checkout(state, repo.as_uri(), Pin("tag", "v1"))[0] == sha
    assert checkout(state, repo.as_uri(), Pin("hash", sha))[0] == sha
    with pytest.raises(GitError, match="cannot fetch"):
        checkout(state, repo.as_uri(), Pin("tag", "v2"))  # not local: needs the (gone) repository


def test_a_new_tag_is_fetched_into_the_existing_clone(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    state = tmp_path / "state"
    commit(repo, {"file.txt": "one\n"}, tag="v1")
    checkout(state, repo.as_uri(), Pin("tag", "v1"))
    second = commit(repo, {"file.txt": "two\n"}, tag="v2")
    sha, tree = checkout(state, repo.as_uri(), Pin("tag", "v2"))
    assert (sha, (tree / "file.txt").read_text()) == (second, "two\n")


@pytest.mark.parametrize(
    ("pin", "message"),
    [(Pin("tag", "v9"), "tag v9 not found in "), (Pin("hash", "0" * 40), f"commit {'0' * 40} not found in ")],
)
def test_unknown_pins(tmp_path: Path, pin: Pin, message: str) -> None:
    repo = tmp_path / "repo"
    commit(repo, {"file.txt": "one\n"}, tag="v1")
    with pytest.raises(GitError) as info:
        checkout(tmp_path / "state", repo.as_uri(), pin)
    assert str(info.value) == message + repo.as_uri()


def test_unreachable_repository(tmp_path: Path) -> None:
    url = (tmp_path / "missing").as_uri()
    with pytest.raises(GitError) as info:
        checkout(tmp_path / "state", url, Pin("tag", "v1"))
    assert str(info.value).startswith(f"cannot fetch {url}: ")
    assert "does not appear to be a git repository" in str(info.value)


def test_missing_git_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(GitError, match="the git command is not installed"):
        checkout(tmp_path / "state", "file:///nowhere", Pin("tag", "v1"))


# ---------------------------------------------------------------------------------------------
# Ref validation


def test_origin_annotation_is_compact_json_in_reference_key_order() -> None:
    item = InputObject(json.loads(json.dumps(yaml_ref())), "refs/a.yaml")
    assert parse_ref(item).origin == (
        '{"kind":"Upstream","url":"https://example.com/r.git","directory":"sub/dir","ref":"v1.2.0"}'
    )
    assert is_loader_origin(parse_ref(item).origin)
    assert is_loader_origin(FILE_ORIGIN)
    assert not is_loader_origin('{"kind":"Other"}')
    assert not is_loader_origin("not json")
    assert not is_loader_origin(None)


def yaml_ref() -> dict:
    return {
        "apiVersion": "choreo.kform.dev/v1alpha1",
        "kind": "UpstreamRef",
        "metadata": {"name": "a"},
        "spec": {"url": "https://example.com/r.git", "directory": "sub/dir/", "ref": {"type": "tag", "name": "v1.2.0"}},
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metadata: {name: a}\n", "spec is required (url, ref)"),
        ("spec: {ref: {type: tag, name: v1}}\n", "spec.url is required (the git repository URL)"),
        ("spec: {url: 'https://h/r'}\n", "spec.ref is required (type: hash or tag, name)"),
        ("spec: {url: 'https://h/r', ref: {type: branch, name: main}}\n",
         "spec.ref.type must be hash or tag, got 'branch': choreo reads a pinned commit, never a branch that may"
         " move; pin the branch's current commit (type: hash) or a tag"),
        ("spec: {url: 'https://h/r', ref: {type: commit, name: main}}\n",
         "spec.ref.type must be hash or tag, got 'commit'"),
        ("spec: {url: 'https://h/r', ref: {type: tag}}\n", "spec.ref.name is required (the commit hash or tag)"),
        ("spec: [url]\n", "spec must be a mapping (url, ref)"),
        ("spec: {url: [https://h/r], ref: {type: tag, name: v1}}\n",
         "spec.url must be a string (the git repository URL)"),
        ("spec: {url: 'https://h/r', ref: v1}\n", "spec.ref must be a mapping (type: hash or tag, name)"),
        ("spec: {url: 'https://h/r', ref: {type: tag, name: {v: 1}}}\n",
         "spec.ref.name must be a string (the commit hash or tag)"),
        ("spec: {url: 'https://h/r', ref: {type: hash, name: main}}\n",
         "spec.ref.name must be a commit hash (7 to 64 hex digits), got 'main'"),
        ("spec: {url: 'https://h/r', ref: {type: tag, name: '-v1'}}\n",
         "spec.ref.name: '-v1' is not a valid git tag name: it starts with '-'"),
        ("spec: {url: 'https://h/r', type: some, ref: {type: tag, name: v1}}\n",
         "spec.type must be crd, all or empty, got 'some'"),
        ("spec: {url: 'https://h/r', directory: ../up, ref: {type: tag, name: v1}}\n",
         "spec.directory '../up' must be a relative path inside the repository"),
        ("spec: {url: --upload-pack=x, ref: {type: tag, name: v1}}\n",
         "spec.url: '--upload-pack=x' is not a repository URL: it starts with '-'"),
        ("spec: {url: 'ext::sh -c touch% /tmp/pwned', ref: {type: tag, name: v1}}\n",
         "spec.url: 'ext::sh -c touch% /tmp/pwned': git transport helpers (<transport>::<address>) are not"
         " allowed (allowed: https://, ssh://, git://, file://)"),
        ("spec: {url: 'http://e.org/r.git', ref: {type: tag, name: v1}}\n",
         "spec.url: 'http://e.org/r.git': the http:// transport is not allowed"
         " (allowed: https://, ssh://, git://, file://)"),
        ("spec: {url: 'https://h/r', ref: {type: tag, name: 'v1..2'}}\n",
         "spec.ref.name: 'v1..2' is not a valid git tag name: it contains '..', '@{' or '//', or is '@'"),
    ],
)
def test_bad_refs(tmp_path: Path, text: str, message: str) -> None:
    header = "apiVersion: choreo.kform.dev/v1alpha1\nkind: UpstreamRef\n"
    build(tmp_path, {"refs/r.yaml": header + ("" if text.startswith("metadata") else "metadata: {name: a}\n") + text})
    assert load_error(tmp_path) == f"refs/r.yaml: {message}"


def test_other_kinds_do_not_belong_in_refs(tmp_path: Path) -> None:
    build(tmp_path, {"refs/r.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"})
    assert load_error(tmp_path) == (
        "refs/r.yaml: only choreo.kform.dev/v1alpha1 UpstreamRef belongs in refs/, got v1 ConfigMap"
    )


# ---------------------------------------------------------------------------------------------
# Loading and merging children


def test_child_apis_libraries_and_reconcilers_are_merged(tmp_path: Path, lib_repo: tuple[str, str]) -> None:
    url, sha = lib_repo
    root = build(tmp_path / "root", {"refs/lib.yaml": ref_yaml(url), "in/w.yaml": widget("mine")})
    project = resolved(root)
    origin = json.dumps({"kind": "Upstream", "url": url, "directory": ".", "ref": "v1"}, separators=(",", ":"))
    assert [(c.source, c.origin) for c in project.crds] == [("refs/lib.yaml -> crds/example.com_widgets.yaml", origin)]
    assert [(i.source, i.origin) for i in project.inputs] == [
        ("refs/lib.yaml -> in/widget.yaml", origin), ("in/w.yaml", FILE_ORIGIN)
    ]
    assert [(r.source, r.origin) for r in project.refs] == [("refs/lib.yaml", FILE_ORIGIN)]
    library = project.libraries["example.com.widgets.star"]
    assert (library.source, library.origin) == ("refs/lib.yaml -> crds/example.com_widgets.star", origin)
    [reconciler] = project.reconcilers
    assert (reconciler.name, reconciler.source) == ("widget", "refs/lib.yaml -> reconcilers/widget/config.yaml")
    assert reconciler.origin == origin
    assert reconciler.code_files == {"reconciler.star": "refs/lib.yaml -> reconcilers/widget/reconciler.star"}
    [upstream] = project.upstreams or []
    assert (upstream.source, upstream.origin, upstream.commit) == ("refs/lib.yaml", origin, sha)
    load_upstreams(project)  # resolving twice changes nothing
    assert len(project.crds) == 1 and len(project.upstreams or []) == 1


@pytest.mark.parametrize("ref_type", ["", "crd", "all"])
def test_every_ref_type_brings_the_input_data_before_the_root_data(
    tmp_path: Path, lib_repo: tuple[str, str], ref_type: str
) -> None:
    url, _ = lib_repo
    root = build(tmp_path / "root", {"refs/lib.yaml": ref_yaml(url, ref_type=ref_type), "in/w.yaml": widget("mine")})
    project = resolved(root)
    assert [i.source for i in project.inputs] == ["refs/lib.yaml -> in/widget.yaml", "in/w.yaml"]
    assert project.inputs[0].origin.startswith('{"kind":"Upstream"')


def test_the_root_projects_own_object_replaces_the_upstreams(tmp_path: Path, lib_repo: tuple[str, str]) -> None:
    url, _ = lib_repo
    mine = widget("upstream").replace("size: S", "size: XL")
    crd = WIDGET_CRD.replace("size: {type: string}", "size: {type: string}\n              colour: {type: string}")
    root = build(tmp_path / "root", {
        "refs/lib.yaml": ref_yaml(url), "in/w.yaml": mine, "crds/example.com_widgets.yaml": crd,
    })
    project = resolved(root)
    assert [(i.source, i.obj["spec"]) for i in project.inputs] == [("in/w.yaml", {"size": "XL"})]
    assert [c.source for c in project.crds] == ["crds/example.com_widgets.yaml"]


def test_two_upstreams_may_bring_one_object_only_when_equal(tmp_path: Path, lib_repo: tuple[str, str]) -> None:
    url, _ = lib_repo
    other = tmp_path / "other"
    commit(other, {"in/widget.yaml": LIB_PROJECT["in/widget.yaml"]}, tag="v1")
    root = build(tmp_path / "root", {
        "refs/lib.yaml": ref_yaml(url, metadata_name="lib"),
        "refs/other.yaml": ref_yaml(other.as_uri(), metadata_name="other"),
    })
    assert [i.source for i in resolved(root).inputs] == ["refs/lib.yaml -> in/widget.yaml"]
    commit(other, {"in/widget.yaml": LIB_PROJECT["in/widget.yaml"].replace("size: L", "size: M")}, tag="v2")
    build(root, {"refs/other.yaml": ref_yaml(other.as_uri(), "v2", metadata_name="other")})
    assert load_error(root) == (
        "refs/other.yaml -> in/widget.yaml: Widget.example.com default/upstream differs from the one in "
        "refs/lib.yaml -> in/widget.yaml (two upstream refs bring it; define it in this project to choose)"
    )


def test_directory_selects_a_folder_of_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "mono"
    commit(repo, {f"projects/lib/{path}": text for path, text in LIB_PROJECT.items()}, tag="v1")
    root = build(tmp_path / "root", {"refs/lib.yaml": ref_yaml(repo.as_uri(), directory="projects/lib")})
    assert [r.name for r in resolved(root).reconcilers] == ["widget"]
    build(root, {"refs/lib.yaml": ref_yaml(repo.as_uri(), directory="projects/nope")})
    assert load_error(root) == f"refs/lib.yaml: spec.directory projects/nope not found at tag v1 of {repo.as_uri()}"


def test_errors_inside_a_child_name_the_refs_file(tmp_path: Path) -> None:
    repo = tmp_path / "bad"
    commit(repo, {"crds/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"}, tag="v1")
    root = build(tmp_path / "root", {"refs/bad.yaml": ref_yaml(repo.as_uri())})
    assert load_error(root).startswith(
        "refs/bad.yaml -> crds/x.yaml: only apiextensions.k8s.io/v1 CustomResourceDefinition belongs in crds/"
    )


def test_git_errors_name_the_refs_file(tmp_path: Path, lib_repo: tuple[str, str]) -> None:
    url, _ = lib_repo
    root = build(tmp_path / "root", {"refs/lib.yaml": ref_yaml(url, "v7")})
    assert load_error(root) == f"refs/lib.yaml: tag v7 not found in {url}"


def test_a_name_defined_by_root_and_child_is_an_error(tmp_path: Path, lib_repo: tuple[str, str]) -> None:
    url, _ = lib_repo
    root = build(tmp_path / "root", {
        "refs/lib.yaml": ref_yaml(url),
        "reconcilers/widget/config.yaml": WIDGET_RECONCILER,
        "reconcilers/widget/reconciler.star": WIDGET_STAR,
    })
    assert load_error(root) == (
        "duplicate reconciler name widget: reconcilers/widget/config.yaml and "
        "refs/lib.yaml -> reconcilers/widget/config.yaml"
    )


def test_two_refs_to_the_same_url_and_directory_conflict(tmp_path: Path, lib_repo: tuple[str, str]) -> None:
    url, sha = lib_repo
    root = build(tmp_path / "root", {
        "refs/a.yaml": ref_yaml(url, metadata_name="a"),
        "refs/b.yaml": ref_yaml(url, sha, pin="hash", directory="./", metadata_name="b"),
    })
    assert load_error(root) == (
        f"refs/b.yaml: conflicting upstreamrefs: {url} directory . is also referenced by refs/a.yaml"
    )


def test_nested_refs_load_recursively(tmp_path: Path, lib_repo: tuple[str, str]) -> None:
    url, _ = lib_repo
    middle = tmp_path / "middle"
    commit(middle, {"refs/lib.yaml": ref_yaml(url, metadata_name="lib"), "in/w.yaml": widget("middle")}, tag="v1")
    root = build(tmp_path / "root", {"refs/middle.yaml": ref_yaml(middle.as_uri(), ref_type="all")})
    project = resolved(root)
    assert [c.source for c in project.crds] == ["refs/middle.yaml -> refs/lib.yaml -> crds/example.com_widgets.yaml"]
    assert [r.source for r in project.refs] == ["refs/middle.yaml", "refs/middle.yaml -> refs/lib.yaml"]
    assert [i.source for i in project.inputs] == [
        "refs/middle.yaml -> in/w.yaml", "refs/middle.yaml -> refs/lib.yaml -> in/widget.yaml"
    ]
    assert [u.source for u in project.upstreams or []] == ["refs/middle.yaml", "refs/middle.yaml -> refs/lib.yaml"]


@pytest.mark.parametrize(
    ("middle_type", "child_type", "message"),
    [
        ("crd", "", "cannot nest upstreamref {url} directory . under upstreamref refs/middle.yaml of type crd"),
        ("", "all", "cannot nest upstreamref {url} directory . of type all under upstreamref refs/middle.yaml"),
        ("all", "all", "cannot nest upstreamref {url} directory . of type all under upstreamref refs/middle.yaml"),
    ],
)
def test_bad_nesting(tmp_path: Path, lib_repo: tuple[str, str], middle_type: str, child_type: str,
                     message: str) -> None:
    url, _ = lib_repo
    middle = tmp_path / "middle"
    commit(middle, {"refs/lib.yaml": ref_yaml(url, ref_type=child_type)}, tag="v1")
    root = build(tmp_path / "root", {"refs/middle.yaml": ref_yaml(middle.as_uri(), ref_type=middle_type)})
    assert load_error(root) == "refs/middle.yaml -> refs/lib.yaml: " + message.format(url=url)


def test_a_child_referring_back_to_an_already_loaded_ref_conflicts(tmp_path: Path) -> None:
    repo = tmp_path / "loop"
    commit(repo, {"refs/self.yaml": ref_yaml(repo.as_uri())}, tag="v1")
    root = build(tmp_path / "root", {"refs/loop.yaml": ref_yaml(repo.as_uri())})
    assert load_error(root) == (
        f"refs/loop.yaml -> refs/self.yaml: conflicting upstreamrefs: {repo.as_uri()} directory . "
        "is also referenced by refs/loop.yaml"
    )


# ---------------------------------------------------------------------------------------------
# sync: applied objects and per-origin cleanup


def sync(root: Path, backend: MemoryBackend) -> APIServer:
    api = APIServer(backend)
    sync_project(api, load_project(root), [])
    return api


def origins(api: APIServer, group: str, kind: str) -> dict[str, str]:
    return {o["metadata"]["name"]: o["metadata"]["annotations"][ORIGIN_ANNOTATION] for o in api.list(group, kind)}


def test_sync_marks_objects_with_their_origin_and_cleans_per_origin(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    commit(repo, {**{f"lib/{p}": t for p, t in LIB_PROJECT.items()}, "data/in/w.yaml": widget("shared")}, tag="v1")
    url = repo.as_uri()
    root = build(tmp_path / "root", {
        "refs/lib.yaml": ref_yaml(url, directory="lib", ref_type="all", metadata_name="lib"),
        "refs/data.yaml": ref_yaml(url, directory="data", metadata_name="data"),
        "in/w.yaml": widget("mine"),
    })
    backend = MemoryBackend()
    api = sync(root, backend)
    lib = f'{{"kind":"Upstream","url":"{url}","directory":"lib","ref":"v1"}}'
    data = f'{{"kind":"Upstream","url":"{url}","directory":"data","ref":"v1"}}'
    assert origins(api, "example.com", "Widget") == {"mine": FILE_ORIGIN, "upstream": lib, "shared": data}
    assert origins(api, "choreo.kform.dev", "UpstreamRef") == {"lib": FILE_ORIGIN, "data": FILE_ORIGIN}
    assert origins(api, "apiextensions.k8s.io", "CustomResourceDefinition")["widgets.example.com"] == lib
    assert origins(api, "choreo.kform.dev", "Reconciler") == {"widget": lib}
    assert origins(api, "choreo.kform.dev", "Library") == {"example.com.widgets.star": lib}

    (root / "refs" / "data.yaml").unlink()  # a ref removed entirely: its objects go too
    api = sync(root, backend)
    assert origins(api, "example.com", "Widget") == {"mine": FILE_ORIGIN, "upstream": lib}
    assert origins(api, "choreo.kform.dev", "UpstreamRef") == {"lib": FILE_ORIGIN}


def test_a_new_pin_replaces_what_the_old_one_brought(tmp_path: Path, lib_repo: tuple[str, str]) -> None:
    """Re-pinned: objects only the old commit had are deleted with what they own; the others follow."""
    url, _ = lib_repo
    root = build(tmp_path / "root", {"refs/lib.yaml": ref_yaml(url), "in/w.yaml": widget("mine")})
    backend = MemoryBackend()
    api = sync(root, backend)
    upstream = api.get("example.com", "Widget", "default", "upstream")
    owner = {"apiVersion": "example.com/v1alpha1", "kind": "Widget", "name": "upstream",
             "uid": upstream["metadata"]["uid"], "controller": True}
    api.apply({"apiVersion": "example.com/v1alpha1", "kind": "Widget",
               "metadata": {"name": "part", "namespace": "default", "ownerReferences": [owner]},
               "spec": {"size": "S"}}, manager="widget")

    repo = Path(url.removeprefix("file://"))
    (repo / "in" / "widget.yaml").unlink()
    (repo / "reconcilers" / "widget").rename(repo / "reconcilers" / "gadget")
    config = repo / "reconcilers" / "gadget" / "config.yaml"
    config.write_text(config.read_text().replace("name: widget", "name: gadget"))
    commit(repo, {"crds/example.com_widgets.star": LIBRARY + "# v2\n", "in/next.yaml": widget("next")}, tag="v2")
    build(root, {"refs/lib.yaml": ref_yaml(url, "v2")})
    api = sync(root, backend)
    v2 = f'{{"kind":"Upstream","url":"{url}","directory":".","ref":"v2"}}'
    assert origins(api, "example.com", "Widget") == {"mine": FILE_ORIGIN, "next": v2}  # "part" collected too
    assert origins(api, "choreo.kform.dev", "Reconciler") == {"gadget": v2}
    assert origins(api, "choreo.kform.dev", "Library") == {"example.com.widgets.star": v2}
    library = api.get("choreo.kform.dev", "Library", "", "example.com.widgets.star")
    assert library["spec"] == {"code": LIBRARY + "# v2\n", "type": "starlark"}


def test_a_root_object_shadowing_an_upstream_one_is_applied_once(tmp_path: Path, lib_repo: tuple[str, str]) -> None:
    url, _ = lib_repo
    mine = widget("upstream").replace("size: S", "size: XL")
    root = build(tmp_path / "root", {"refs/lib.yaml": ref_yaml(url), "in/w.yaml": mine})
    backend = MemoryBackend()
    first = sync(root, backend).get("example.com", "Widget", "default", "upstream")
    again = sync(root, backend).get("example.com", "Widget", "default", "upstream")
    assert (first["spec"], first["metadata"]["annotations"][ORIGIN_ANNOTATION]) == ({"size": "XL"}, FILE_ORIGIN)
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


def test_a_bad_ref_leaves_the_store_untouched(tmp_path: Path, lib_repo: tuple[str, str]) -> None:
    url, _ = lib_repo
    root = build(tmp_path / "root", {"refs/lib.yaml": ref_yaml(url, ref_type="all"), "in/w.yaml": widget("mine")})
    backend = MemoryBackend()
    sync(root, backend)
    before = backend.list("example.com", "Widget")
    assert sorted(o["metadata"]["name"] for o in before) == ["mine", "upstream"]
    build(root, {"refs/lib.yaml": ref_yaml(url, "v9", ref_type="all"), "in/x.yaml": widget("new")})
    with pytest.raises(LoadError, match="tag v9 not found"):
        sync(root, backend)
    assert backend.list("example.com", "Widget") == before
