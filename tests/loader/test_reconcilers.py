"""Reconciler configs in both layouts: names, code keys, attachment of code files, validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from choreo.errors import LoadError
from choreo.loader.loading import load_project
from choreo.loader.project import ReconcilerConfig, ResourceSelector
from choreo.loader.reconcilers import owner_name

from . import build

STAR = "def reconcile(self):\n  return reconcile_result(self, False, 0, '', False)\n"
FOR = "  for:\n    group: example.com\n    version: v1alpha1\n    kind: Hello\n"


def config(name: str | None = None, extra: str = "") -> str:
    head = "apiVersion: choreo.kform.dev/v1alpha1\nkind: Reconciler\n"
    meta = f"metadata:\n  name: {name}\n" if name is not None else ""
    return head + meta + "spec:\n" + FOR + extra


def with_for(extra: str) -> str:
    return "spec:\n" + FOR + extra


def reconcilers(tmp_path: Path, files: dict[str, str]) -> dict[str, ReconcilerConfig]:
    build(tmp_path, files)
    return {r.name: r for r in load_project(tmp_path).reconcilers}


def load_error(tmp_path: Path, files: dict[str, str]) -> str:
    build(tmp_path, files)
    with pytest.raises(LoadError) as err:
        load_project(tmp_path)
    return str(err.value)


# ---------------------------------------------------------------------------------------------
# Directory layout


def test_directory_layout_name_type_and_code_keys(tmp_path: Path) -> None:
    found = reconcilers(
        tmp_path,
        {
            "reconcilers/hello/config.yaml": config("example.com.hello"),
            "reconcilers/hello/hello.star": STAR,
            "reconcilers/tpl/config.yaml": config("cfg"),
            "reconcilers/tpl/cfg.main.tpl": "{{ .a }}",
            "reconcilers/tpl/helpers.tpl": '{{ define "x" }}{{ end }}',
            "reconcilers/tpl/README.md": "not code",
            "reconcilers/tpl/notes.yaml": "ignored: true\n",
            "reconcilers/group/deep/j/config.yaml": config("jin"),
            "reconcilers/group/deep/j/jin.main.jinja2": "{{ a }}",
        },
    )
    assert sorted(found) == ["cfg", "example.com.hello", "jin"]
    hello = found["example.com.hello"]
    assert hello.type == "starlark"
    assert hello.code == {"reconciler.star": STAR}
    assert hello.code_files == {"reconciler.star": "reconcilers/hello/hello.star"}
    assert hello.source == "reconcilers/hello/config.yaml"
    assert hello.for_ == ResourceSelector("example.com", "v1alpha1", "Hello", None)
    cfg = found["cfg"]
    assert cfg.type == "gotemplate"
    assert cfg.code == {"helpers.tpl": '{{ define "x" }}{{ end }}', "main.tpl": "{{ .a }}"}
    assert found["jin"].type == "jinjatemplate"
    assert found["jin"].code_files == {"main.jinja2": "reconcilers/group/deep/j/jin.main.jinja2"}


def test_directory_layout_code_in_subdirectory_is_not_attached(tmp_path: Path) -> None:
    message = load_error(
        tmp_path, {"reconcilers/a/config.yaml": config("a"), "reconcilers/a/sub/a.star": STAR}
    )
    assert message == "reconcilers/a/config.yaml: reconciler a has no code file (.star, .tpl or .jinja2)"


def test_directory_layout_requires_metadata_name(tmp_path: Path) -> None:
    message = load_error(tmp_path, {"reconcilers/a/config.yaml": config(), "reconcilers/a/x.star": STAR})
    assert message == "reconcilers/a/config.yaml: metadata.name is required"


def test_starlark_reconciler_has_one_code_file(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        {
            "reconcilers/a/config.yaml": config("a"),
            "reconcilers/a/x.star": STAR,
            "reconcilers/a/y.star": STAR,
        },
    )
    assert message.startswith("reconcilers/a: a starlark reconciler a can only have 1 code file")
    assert "reconcilers/a/x.star" in message and "reconcilers/a/y.star" in message


def test_mixed_technologies_are_rejected(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        {"reconcilers/a/config.yaml": config("a"), "reconcilers/a/x.star": STAR, "reconcilers/a/y.tpl": ""},
    )
    assert message.startswith("reconcilers/a: reconciler a mixes code types")
    assert "reconcilers/a/x.star (starlark)" in message and "reconcilers/a/y.tpl (gotemplate)" in message


def test_duplicate_code_keys_are_rejected(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        {
            "reconcilers/a/config.yaml": config("a"),
            "reconcilers/a/a.main.tpl": "",
            "reconcilers/a/main.tpl": "",
        },
    )
    assert "reconcilers/a/a.main.tpl and reconcilers/a/main.tpl both give code main.tpl" in message


def test_config_without_code_is_a_load_error_not_a_crash(tmp_path: Path) -> None:
    message = load_error(tmp_path, {"reconcilers/a/config.yaml": config("a")})
    assert message == "reconcilers/a/config.yaml: reconciler a has no code file (.star, .tpl or .jinja2)"


def test_top_level_config_yaml_alone_is_directory_layout(tmp_path: Path) -> None:
    found = reconcilers(
        tmp_path, {"reconcilers/config.yaml": config("solo"), "reconcilers/solo.main.tpl": "x"}
    )
    assert found["solo"].code == {"main.tpl": "x"}
    assert found["solo"].source == "reconcilers/config.yaml"


# ---------------------------------------------------------------------------------------------
# Flat layout


def test_flat_layout_name_comes_from_file_name(tmp_path: Path) -> None:
    found = reconcilers(
        tmp_path,
        {
            "reconcilers/example.com.hello.yaml": config("inferred.elsewhere"),
            "reconcilers/example.com.hello.star": STAR,
            "reconcilers/no.metadata.yaml": config(),
            "reconcilers/no.metadata.tpl": "x",
            "reconcilers/no.metadata_main.tpl": "y",
        },
    )
    assert sorted(found) == ["example.com.hello", "no.metadata"]
    assert found["example.com.hello"].source == "reconcilers/example.com.hello.yaml"
    assert found["example.com.hello"].code_files == {"reconciler.star": "reconcilers/example.com.hello.star"}
    # "<name>." is stripped from the key; without the dot the key is the whole file name.
    assert found["no.metadata"].code == {"tpl": "x", "no.metadata_main.tpl": "y"}


def test_flat_code_keys_strip_the_reconciler_name(tmp_path: Path) -> None:
    name = "device.kubenet.dev.interfaces.config.nokiasrl"
    found = reconcilers(
        tmp_path,
        {
            f"reconcilers/{name}.yaml": config(),
            f"reconcilers/{name}.main.tpl": "main",
            f"reconcilers/{name}.interface.tpl": "itf",
        },
    )
    assert found[name].code == {"interface.tpl": "itf", "main.tpl": "main"}
    assert found[name].type == "gotemplate"


def test_flat_code_files_go_to_the_longest_matching_name(tmp_path: Path) -> None:
    found = reconcilers(
        tmp_path,
        {
            "reconcilers/x.yaml": config(),
            "reconcilers/x.a.tpl": "short",
            "reconcilers/x.main.yaml": config(),
            "reconcilers/x.main.other.tpl": "long",
            "reconcilers/x.main.tpl": "longest wins",
        },
    )
    assert found["x"].code == {"a.tpl": "short"}
    assert found["x.main"].code == {"other.tpl": "long", "tpl": "longest wins"}


def test_owner_name_prefers_dotted_prefixes_then_longest() -> None:
    names = ["a.b", "a.b.c"]
    assert owner_name("a.b.c.star", names, "f") == "a.b.c"
    assert owner_name("a.b.custom.tpl", names, "f") == "a.b"
    assert owner_name("a.bx.tpl", names, "f") == "a.b"
    with pytest.raises(LoadError, match=r"no reconciler config found for reconcilers/z\.star"):
        owner_name("z.star", names, "reconcilers/z.star")


def test_flat_code_without_config_is_an_error(tmp_path: Path) -> None:
    message = load_error(
        tmp_path, {"reconcilers/a.yaml": config(), "reconcilers/a.star": STAR, "reconcilers/b.star": STAR}
    )
    assert message == "no reconciler config found for reconcilers/b.star"


def test_flat_unknown_file_type_is_an_error(tmp_path: Path) -> None:
    message = load_error(
        tmp_path, {"reconcilers/a.yaml": config(), "reconcilers/a.star": STAR, "reconcilers/a.md": ""}
    )
    assert message.startswith("reconcilers/a.md: not a reconciler config")


def test_flat_starlark_with_two_files(tmp_path: Path) -> None:
    message = load_error(
        tmp_path, {"reconcilers/a.yaml": config(), "reconcilers/a.star": STAR, "reconcilers/a.x.star": STAR}
    )
    assert message.startswith("reconcilers: a starlark reconciler a can only have 1 code file")


def test_flat_config_without_code(tmp_path: Path) -> None:
    message = load_error(tmp_path, {"reconcilers/a.yaml": config()})
    assert message == "reconcilers/a.yaml: reconciler a has no code file (.star, .tpl or .jinja2)"


def test_both_layouts_coexist_but_names_must_be_unique(tmp_path: Path) -> None:
    found = reconcilers(
        tmp_path,
        {
            "reconcilers/flat.yaml": config(),
            "reconcilers/flat.star": STAR,
            "reconcilers/dir/config.yaml": config("dir"),
            "reconcilers/dir/x.star": STAR,
        },
    )
    assert list(found) == ["dir", "flat"]
    message = load_error(
        tmp_path, {"reconcilers/dir2/config.yaml": config("flat"), "reconcilers/dir2/x.star": STAR}
    )
    assert message.startswith("duplicate reconciler name flat:")
    assert "reconcilers/dir2/config.yaml" in message and "reconcilers/flat.yaml" in message


def test_config_must_be_one_reconciler_document(tmp_path: Path) -> None:
    message = load_error(tmp_path, {"reconcilers/a.yaml": "kind: ConfigMap\n", "reconcilers/a.star": STAR})
    assert message == "reconcilers/a.yaml: expected kind Reconciler, got 'ConfigMap'"
    message = load_error(tmp_path, {"reconcilers/a.yaml": "spec: [\n"})
    assert message.startswith("reconcilers/a.yaml:2: invalid YAML")


# ---------------------------------------------------------------------------------------------
# Spec parsing and validation


def test_full_spec_is_parsed(tmp_path: Path) -> None:
    extra = (
        "    selector:\n      match:\n        spec.enabled: 'true'\n"
        "  owns:\n  - {version: v1, kind: ConfigMap}\n"
        "  - {group: example.com, version: v1, kind: Child, selector: {}}\n"
        "  watches:\n  - group: example.com\n    version: v1\n    kind: Other\n"
        "    selector:\n      match:\n        metadata.name: x\n"
        "  conditionType: Ready\n  specUpdate: true\n  type: starlark\n"
    )
    found = reconcilers(tmp_path, {"reconcilers/a.yaml": config(extra=extra), "reconcilers/a.star": STAR})
    a = found["a"]
    assert a.for_.selector == {"match": {"spec.enabled": "true"}}
    assert a.owns == [
        ResourceSelector("", "v1", "ConfigMap", None),
        ResourceSelector("example.com", "v1", "Child", {}),
    ]
    assert a.owns[0].api_version == "v1"
    assert a.watches == [ResourceSelector("example.com", "v1", "Other", {"match": {"metadata.name": "x"}})]
    assert a.condition_type == "Ready"
    assert a.spec_update is True


def test_inline_code_is_merged_and_files_win(tmp_path: Path) -> None:
    extra = "  code:\n    main.tpl: inline\n    extra.tpl: kept\n"
    found = reconcilers(
        tmp_path, {"reconcilers/a.yaml": config(extra=extra), "reconcilers/a.main.tpl": "file"}
    )
    assert found["a"].code == {"extra.tpl": "kept", "main.tpl": "file"}
    assert found["a"].code_files == {"extra.tpl": "reconcilers/a.yaml", "main.tpl": "reconcilers/a.main.tpl"}


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("spec:\n  type: starlark\n", "spec.for is required"),
        ("spec:\n  for: {group: g, version: v1}\n", "spec.for.kind is required"),
        ("spec:\n  for: {group: g, kind: K}\n", "spec.for.version is required"),
        ("spec:\n  for: {version: v1, kind: K}\n", "spec.for.group is required"),
        ("spec:\n  for: [a]\n", "spec.for must be a mapping"),
        ("spec:\n  for: {group: g, version: 1, kind: K}\n", "spec.for.version must be a string"),
        ("spec:\n  for: {group: g, version: v1, kind: K, extra: 1}\n", "unknown field spec.for.extra"),
        (with_for("  owns:\n  - {group: g, kind: K}\n"), "spec.owns[0].version is required"),
        (with_for("  owns: {group: g}\n"), "spec.owns must be a list"),
        (
            with_for("  watches:\n  - {group: g, version: v1, kind: K}\n"),
            "spec.watches[0].selector is required",
        ),
        (
            with_for("  watches:\n  - {version: v1, kind: K, selector: {bad: 1}}\n"),
            "unknown field spec.watches[0].selector.bad",
        ),
        (
            with_for("  watches:\n  - {version: v1, kind: K, selector: {match: [1]}}\n"),
            "spec.watches[0].selector.match must be a mapping",
        ),
        (with_for("  forr: {}\n"), "unknown field spec.forr"),
        (with_for("  type: python\n"), "spec.type must be one of starlark, gotemplate, jinjatemplate"),
        (with_for("  type: gotemplate\n"), "spec.type gotemplate does not match the starlark code files"),
        (with_for("  conditionType: 1\n"), "spec.conditionType must be a string"),
        (with_for("  specUpdate: 'yes'\n"), "spec.specUpdate must be a boolean"),
        (with_for("  code: [a]\n"), "spec.code must be a mapping of file name to code text"),
        ("spec: [a]\n", "spec must be a mapping"),
        (
            "apiVersion: choreo.kform.dev/v1\n" + with_for(""),
            "expected apiVersion choreo.kform.dev/v1alpha1, got 'choreo.kform.dev/v1'",
        ),
        ("apiVersion: 42\n" + with_for(""), "expected apiVersion choreo.kform.dev/v1alpha1, got 42"),
        (
            "for: {group: g, version: v1, kind: K}\nspec: {}\n",
            "unknown field for (known: apiVersion, kind, metadata, spec, status)",
        ),
    ],
)
def test_malformed_specs_name_file_and_reason(tmp_path: Path, spec: str, reason: str) -> None:
    message = load_error(tmp_path, {"reconcilers/a.yaml": spec, "reconcilers/a.star": STAR})
    assert message.startswith("reconcilers/a.yaml: ")
    assert reason in message


def test_for_group_may_be_explicitly_empty(tmp_path: Path) -> None:
    found = reconcilers(
        tmp_path,
        {
            "reconcilers/a.yaml": "spec:\n  for: {group: '', version: v1, kind: ConfigMap}\n",
            "reconcilers/a.star": STAR,
        },
    )
    assert found["a"].for_ == ResourceSelector("", "v1", "ConfigMap")


def test_type_is_inferred_from_inline_code_of_in_objects(tmp_path: Path) -> None:
    obj = (
        "apiVersion: choreo.kform.dev/v1alpha1\nkind: Reconciler\nmetadata:\n  name: r\n"
        "spec:\n" + FOR + "  code:\n    main.jinja2: x\n"
    )
    found = reconcilers(tmp_path, {"in/r.yaml": obj})
    assert found["r"].type == "jinjatemplate"
    assert found["r"].code_files == {"main.jinja2": "in/r.yaml"}


def test_type_cannot_be_inferred_from_odd_inline_keys(tmp_path: Path) -> None:
    obj = (
        "apiVersion: choreo.kform.dev/v1alpha1\nkind: Reconciler\nmetadata:\n  name: r\n"
        "spec:\n" + FOR + "  code:\n    main: x\n"
    )
    message = load_error(tmp_path, {"in/r.yaml": obj})
    assert message.startswith("in/r.yaml: spec.type is required")


def test_in_object_without_name_or_code(tmp_path: Path) -> None:
    head = "apiVersion: choreo.kform.dev/v1alpha1\nkind: Reconciler\n"
    message = load_error(tmp_path, {"in/r.yaml": head + "spec:\n" + FOR + "  type: starlark\n"})
    assert message == "in/r.yaml: metadata.name is required"
    message = load_error(
        tmp_path, {"in/r.yaml": head + "metadata: {name: r}\nspec:\n" + FOR + "  type: starlark\n"}
    )
    assert message == "in/r.yaml: reconciler r has no code file (.star, .tpl or .jinja2)"
