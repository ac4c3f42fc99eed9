"""``.ignore`` rules and how every project folder applies them."""

from __future__ import annotations

from pathlib import Path

import pytest

from choreo.errors import LoadError
from choreo.loader.devparse import dev_parse
from choreo.loader.files import Folder
from choreo.loader.ignore import IgnoreRules, parse_rule
from choreo.loader.loading import load_project

from . import build

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"
CRD = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {name}\n"
CONFIG = "spec:\n  for: {group: example.com, version: v1, kind: A}\n"


def rules(text: str) -> IgnoreRules:
    return IgnoreRules.parse(text, "in/.ignore")


def test_blank_lines_and_comments_are_skipped() -> None:
    assert parse_rule("") is None
    assert parse_rule("   ") is None
    assert parse_rule("# comment") is None
    assert not rules("\n# *.yaml\n\n")


def test_basename_pattern_matches_at_any_depth() -> None:
    r = rules("*.bak\n")
    assert r.ignored("a.bak")
    assert r.ignored("sub/dir/a.bak")
    assert not r.ignored("a.yaml")


def test_star_does_not_cross_slashes_in_path_patterns() -> None:
    r = rules("sub/*.yaml\n")
    assert r.ignored("sub/a.yaml")
    assert not r.ignored("sub/deeper/a.yaml")
    assert not r.ignored("a.yaml")
    assert not r.ignored("other/sub/a.yaml")


def test_leading_slash_anchors_to_the_folder() -> None:
    r = rules("/draft.yaml\n")
    assert r.ignored("draft.yaml")
    assert not r.ignored("sub/draft.yaml")


def test_trailing_slash_matches_directories_only() -> None:
    r = rules("old/\n")
    assert r.ignored("old", is_dir=True)
    assert not r.ignored("old", is_dir=False)
    assert r.ignored("old/config.yaml")
    assert r.ignored("x/old/config.yaml")


def test_negation_and_last_rule_wins() -> None:
    r = rules("*.yaml\n!keep.yaml\n")
    assert r.ignored("drop.yaml")
    assert not r.ignored("keep.yaml")
    r = rules("!keep.yaml\n*.yaml\n")
    assert r.ignored("keep.yaml")


def test_negation_cannot_reinclude_under_an_ignored_directory() -> None:
    r = rules("old/\n!old/keep.yaml\n")
    assert r.ignored("old/keep.yaml")


def test_character_classes_and_question_mark() -> None:
    r = rules("v[0-9].yaml\nx?.tpl\n")
    assert r.ignored("v1.yaml") and not r.ignored("va.yaml")
    assert r.ignored("xa.tpl") and not r.ignored("xab.tpl")


def test_escaped_hash_is_a_pattern() -> None:
    assert rules("\\#notes\n").ignored("#notes")


def test_double_star_is_rejected_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match=r"^in/\.ignore:2: '\*\*' is not supported"):
        rules("a.yaml\n**/b.yaml\n")
    build(tmp_path, {"in/.ignore": "**\n", "in/a.yaml": CM.format(name="a")})
    with pytest.raises(LoadError, match=r"in/\.ignore:1"):
        load_project(tmp_path)


def test_an_ignore_file_that_is_not_utf8_is_named_as_any_project_file(tmp_path: Path) -> None:
    """It said "cannot read ignore file: 'utf-8' codec can't decode byte 0xff in position 0: ...", Python's
    words, where every other project file says "not valid UTF-8 (byte N)"."""
    build(tmp_path, {"in/a.yaml": CM.format(name="a")})
    (tmp_path / "in" / ".ignore").write_bytes(b"a.yaml\n\xff\n")
    with pytest.raises(LoadError) as err:
        load_project(tmp_path)
    assert str(err.value) == "in/.ignore: not valid UTF-8 (byte 7)"


def test_folder_listing_skips_ignore_file_hidden_and_ignored(tmp_path: Path) -> None:
    build(
        tmp_path,
        {
            "in/.ignore": "draft*.yaml\n",
            "in/.hidden.yaml": CM.format(name="h"),
            "in/b.yaml": CM.format(name="b"),
            "in/a.yml": CM.format(name="a"),
            "in/draft1.yaml": CM.format(name="d"),
            "in/notes.txt": "x",
            "in/sub/c.yaml": CM.format(name="c"),
        },
    )
    folder = Folder(tmp_path, "in")
    assert [f.source for f in folder.files((".yaml", ".yml"))] == ["in/a.yml", "in/b.yaml"]
    assert [f.rel for f in folder.files()] == ["a.yml", "b.yaml", "notes.txt"]


def test_walk_prunes_ignored_directories(tmp_path: Path) -> None:
    build(
        tmp_path,
        {
            "reconcilers/.ignore": "old/\n/top.star\n",
            "reconcilers/top.star": "",
            "reconcilers/a/config.yaml": "",
            "reconcilers/a/old/config.yaml": "",
            "reconcilers/old/config.yaml": "",
            "reconcilers/b/c/config.yaml": "",
        },
    )
    walked = [(d, [f.rel for f in files]) for d, files in Folder(tmp_path, "reconcilers").walk()]
    assert walked == [("", []), ("a", ["a/config.yaml"]), ("b", []), ("b/c", ["b/c/config.yaml"])]


def test_missing_folder_is_empty_and_file_in_place_of_folder_is_an_error(tmp_path: Path) -> None:
    assert Folder(tmp_path, "in").files() == []
    assert list(Folder(tmp_path, "in").walk()) == []
    build(tmp_path, {"crds": "not a dir"})
    with pytest.raises(LoadError, match="crds: expected a directory"):
        Folder(tmp_path, "crds")


def test_every_project_folder_applies_its_ignore_file(tmp_path: Path) -> None:
    build(
        tmp_path,
        {
            "crds/.ignore": "broken.yaml\nold_*.star\n",
            "crds/a.yaml": CRD.format(name="as.example.com"),
            "crds/broken.yaml": "not: [valid\n",
            "crds/old_lib.star": "",
            "crds/new_lib.star": "x = 1\n",
            "in/.ignore": "skip.yaml\n",
            "in/skip.yaml": "- not an object\n",
            "in/keep.yaml": CM.format(name="keep"),
            "reconcilers/.ignore": "wip/\nwip.*\n",
            "reconcilers/wip/config.yaml": "garbage: [\n",
            "reconcilers/wip.yaml": "garbage: [\n",
            "reconcilers/wip.star": "",
            "reconcilers/ok.yaml": CONFIG,
            "reconcilers/ok.star": "def reconcile(self):\n  pass\n",
            "libs/.ignore": "*.orig\n",
            "libs/lib.star": "y = 2\n",
            "libs/lib.star.orig": "",
            "refs/.ignore": "old.yaml\n",
            "refs/old.yaml": "broken: [\n",
        },
    )
    project = load_project(tmp_path)
    assert [c.obj["metadata"]["name"] for c in project.crds] == ["as.example.com"]
    assert [i.source for i in project.inputs] == ["in/keep.yaml"]
    assert [r.name for r in project.reconcilers] == ["ok"]
    assert sorted(project.libraries) == ["lib.star", "new.lib.star"]
    assert project.refs == []
    written = dev_parse(tmp_path)
    assert [p.name for p in written] == [
        "choreo.kform.dev.library.lib.star.yaml",
        "choreo.kform.dev.reconciler.ok.yaml",
    ]
