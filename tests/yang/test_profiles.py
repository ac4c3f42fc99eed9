"""Schema profiles: local folders, pinned git repositories, features, and the errors users can make."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from choreo.errors import ChoreoError
from tests.yang.conftest import FIXTURES, snippet
from yang.merge import merge_device
from yang.profile_cache import compile_profile
from yang.profiles import ProfileError, load_profiles

SCHEMA = """apiVersion: inv.sdcio.dev/v1alpha1
kind: Schema
metadata: {{name: {name}}}
spec:
  provider: {provider}
  version: "{version}"
{extra}"""


def write_schema(root: Path, name: str, extra: str, provider: str = "fx.example", version: str = "1") -> None:
    (root / "schemas").mkdir(exist_ok=True)
    text = SCHEMA.format(name=name, provider=provider, version=version, extra=extra)
    (root / "schemas" / f"{name}.yaml").write_text(text)


LOCAL = """  repositories:
  - path: {path}
    schema:
      models: [fx-net.yang, fx-extra.yang]
"""


def test_local_profile_resolves_by_provider_and_version_and_compiles_once(tmp_path):
    write_schema(tmp_path, "fx", LOCAL.format(path=FIXTURES / "good"))
    profiles = load_profiles(tmp_path)
    profile = profiles.resolve("fx.example", "1")
    assert profile is not None and [m.name for m in profile.modules] == ["fx-net", "fx-extra"]
    assert profiles.resolve("fx.example", "2") is None
    assert compile_profile(profile) is compile_profile(profile)


def test_features_default_to_all_and_can_be_restricted(tmp_path):
    write_schema(tmp_path, "all", LOCAL.format(path=FIXTURES / "good"))
    write_schema(tmp_path, "none", LOCAL.format(path=FIXTURES / "good") + "  features: {fx-net: []}\n", version="2")
    profiles = load_profiles(tmp_path)
    value = {"network": {"port": [{"name": "e1", "fancy-flag": True}]}}
    assert merge_device(compile_profile(profiles.resolve("fx.example", "1")), [snippet("a", value)]).valid
    merged = merge_device(compile_profile(profiles.resolve("fx.example", "2")), [snippet("a", value)])
    assert [p.message for p in merged.problems] == ['unknown node "fancy-flag": not in the schema']


def test_broken_module_is_a_one_line_profile_error(tmp_path):
    write_schema(tmp_path, "broken", LOCAL.format(path=FIXTURES / "broken").replace(
        "[fx-net.yang, fx-extra.yang]", "[fx-broken.yang]"))
    profile = load_profiles(tmp_path).resolve("fx.example", "1")
    with pytest.raises(ProfileError) as err:
        compile_profile(profile)
    assert str(err.value).startswith("schemas/broken.yaml: schema fx.example 1 does not compile:")
    assert "fx-broken.yang" in str(err.value) and "\n" not in str(err.value)


def test_a_module_that_does_not_compile_is_an_error_naming_the_schema_node(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "fx-bad.yang").write_text(
        'module fx-bad {\n  yang-version 1.1;\n  namespace "urn:choreo:test:fx-bad";\n  prefix fxb;\n'
        "  container top {\n    leaf x { type no-such-type; }\n  }\n}\n")
    write_schema(tmp_path, "bad", LOCAL.format(path=models).replace("[fx-net.yang, fx-extra.yang]", "[fx-bad.yang]"))
    with pytest.raises(ProfileError) as err:
        compile_profile(load_profiles(tmp_path).resolve("fx.example", "1"))
    assert str(err.value) == ('schemas/bad.yaml: schema fx.example 1 does not compile: '
                              'Referenced type "no-such-type" not found (/fx-bad:top/x)')  # where yanglint says


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("  repositories:\n  - path: nowhere\n", "spec.repositories[0].path: folder"),
        ("  repositories:\n  - repoURL: https://example.invalid/x.git\n    kind: branch\n    ref: main\n",
         "a git schema must be pinned"),
        ("", "implements no module"),
        ("  modules: ietf-interfaces\n", "schemas/bad.yaml: spec.modules must be a list"),
        ("  modules: [ietf-interfaces, [ietf-ip]]\n", "spec.modules[1] must be a module name, got list"),
        ("  modules: ['']\n", "spec.modules[0] must be a module name, got an empty string"),
    ],
)
def test_bad_schema_files_name_the_file_and_field(tmp_path, extra, message):
    write_schema(tmp_path, "bad", extra)
    with pytest.raises(ProfileError) as err:
        load_profiles(tmp_path)
    assert str(err.value).startswith("schemas/bad.yaml: ") and message in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metadata: ietf\nspec: {provider: p, version: v, modules: [m]}\n", "metadata must be a mapping, got string"),
        ("metadata: {name: bad}\nspec: 42\n", "spec must be a mapping"),
    ],
)
def test_metadata_or_spec_that_is_not_a_mapping_names_the_file(tmp_path, text, message):
    """A metadata given as text was an internal error (AttributeError); a spec given as a number said it was
    missing."""
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "bad.yaml").write_text("apiVersion: inv.sdcio.dev/v1alpha1\nkind: Schema\n" + text)
    with pytest.raises(ChoreoError) as err:
        load_profiles(tmp_path)
    assert str(err.value) in (f"schemas/bad.yaml: {message}", f"schemas/bad.yaml:1: {message}")


def test_two_schemas_for_one_provider_and_version_are_an_error(tmp_path):
    write_schema(tmp_path, "a", LOCAL.format(path=FIXTURES / "good"))
    write_schema(tmp_path, "b", LOCAL.format(path=FIXTURES / "good"))
    with pytest.raises(ProfileError, match=r"already defined in schemas/a\.yaml"):
        load_profiles(tmp_path)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_repository_is_cloned_at_the_pinned_tag(tmp_path):
    repo = tmp_path / "models"
    (repo / "yang").mkdir(parents=True)
    shutil.copy(FIXTURES / "good" / "fx-net.yang", repo / "yang")
    git = ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "models"], check=True)
    subprocess.run([*git, "tag", "v1"], check=True)
    project = tmp_path / "project"
    project.mkdir()
    extra = f"""  repositories:
  - repoURL: file://{repo}
    kind: tag
    ref: v1
    dirs: [{{src: yang, dst: models}}]
    schema:
      models: [models/fx-net.yang]
"""
    write_schema(project, "git", extra)
    profile = load_profiles(project).resolve("fx.example", "1")
    clone = project / ".choreo" / "schemas"
    assert [p.name for p in clone.iterdir()] == [f"file-{str(repo).strip('/').replace('/', '-')}@v1"]
    assert merge_device(compile_profile(profile), [snippet("a", {"network": {}})]).valid


@pytest.mark.parametrize("target", ["important", "fakerepo"])
def test_a_ref_cannot_name_a_folder_outside_the_clones(tmp_path, target):
    """A ref of ../../x was checked only once a folder had been made of it: the clone's leftover
    (x.partial) outside the project was deleted, and a folder holding .git there was read as the clone."""
    outside = tmp_path / "outside"
    (outside / "important.partial").mkdir(parents=True)
    (outside / "important.partial" / "data.txt").write_text("keep me")
    (outside / "fakerepo" / ".git").mkdir(parents=True)
    shutil.copy(FIXTURES / "good" / "fx-net.yang", outside / "fakerepo")
    project = tmp_path / "project"
    project.mkdir()
    escape = "../" * (len(project.parts) + 3) + str(outside / target).lstrip("/")
    extra = f"""  repositories:
  - repoURL: https://example.invalid/x.git
    kind: tag
    ref: {escape}
    schema:
      models: [fx-net.yang]
"""
    write_schema(project, "git", extra)
    (project / ".choreo" / "schemas" / "https-example.invalid-x.git@..").mkdir(parents=True)  # an earlier try's
    with pytest.raises(ProfileError, match=r"schemas/git\.yaml: .*is not a valid git ref: it contains '\.\.'"):
        compile_profile(load_profiles(project).resolve("fx.example", "1"))
    assert (outside / "important.partial" / "data.txt").read_text() == "keep me"
    assert sorted(p.name for p in outside.iterdir()) == ["fakerepo", "important.partial"]
