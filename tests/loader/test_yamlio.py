"""YAML reading (documents, sources, errors, JSON-shaped values) and the stable YAML writer."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from choreo.errors import LoadError
from choreo.loader.loading import read_yaml_documents
from choreo.loader.yamlio import dump_yaml, read_single_mapping

from . import build

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def read(tmp_path: Path, text: str | bytes, rel: str = "in/x.yaml") -> list:
    build(tmp_path, {rel: text})
    return read_yaml_documents(tmp_path / rel, tmp_path)


def test_single_document_source_has_no_index(tmp_path: Path) -> None:
    objects = read(tmp_path, CM.format(name="a"))
    assert [o.source for o in objects] == ["in/x.yaml"]
    assert objects[0].obj["metadata"]["name"] == "a"


def test_multi_document_sources_are_numbered_and_ordered(tmp_path: Path) -> None:
    text = "---\n" + CM.format(name="a") + "---\n" + CM.format(name="b") + "...\n---\n" + CM.format(name="c")
    objects = read(tmp_path, text)
    assert [o.source for o in objects] == ["in/x.yaml#1", "in/x.yaml#2", "in/x.yaml#3"]
    assert [o.obj["metadata"]["name"] for o in objects] == ["a", "b", "c"]


def test_empty_documents_are_skipped(tmp_path: Path) -> None:
    objects = read(tmp_path, CM.format(name="a") + "---\n# only a comment\n---\n")
    assert [o.source for o in objects] == ["in/x.yaml"]
    objects = read(tmp_path, CM.format(name="a") + "---\n---\n" + CM.format(name="b"), "in/y.yaml")
    assert [o.source for o in objects] == ["in/y.yaml#1", "in/y.yaml#3"]  # position in the file


def test_empty_file_has_no_objects(tmp_path: Path) -> None:
    assert read(tmp_path, "") == []


def test_crlf_and_bom_are_normalised(tmp_path: Path) -> None:
    text = ("\ufeff" + CM.format(name="a") + "data:\n  k: |\n    line1\n    line2\n").replace("\n", "\r\n")
    objects = read(tmp_path, text.encode("utf-8"))
    assert objects[0].obj["data"]["k"] == "line1\nline2\n"
    assert objects[0].obj["apiVersion"] == "v1"


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(LoadError) as err:
        read(tmp_path, CM.format(name="a") + "data: [\n")
    assert str(err.value).startswith("in/x.yaml:")
    assert "invalid YAML" in str(err.value)
    assert "\n" not in str(err.value)
    with pytest.raises(LoadError, match=r"^in/x\.yaml:2: invalid YAML: mapping values are not allowed"):
        read(tmp_path, "a: b\nc: d: e\n")


def test_non_mapping_document_names_file_line_and_document(tmp_path: Path) -> None:
    with pytest.raises(LoadError) as err:
        read(tmp_path, CM.format(name="a") + "---\n- a\n- b\n")
    assert str(err.value) == "in/x.yaml:6: document 2: document must be a mapping, got list"


def test_missing_api_version_or_kind(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match=r"^in/x\.yaml:1: apiVersion is required$"):
        read(tmp_path, "kind: ConfigMap\n")
    with pytest.raises(LoadError, match=r"^in/x\.yaml:1: kind is required$"):
        read(tmp_path, "apiVersion: v1\n")
    with pytest.raises(LoadError, match="kind must be a string"):
        read(tmp_path, "apiVersion: v1\nkind: [a]\n")


def test_not_utf8(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match=r"^in/x\.yaml: not valid UTF-8"):
        read(tmp_path, b"apiVersion: v1\nkind: \xff\n")


def test_values_are_json_shaped(tmp_path: Path) -> None:
    objects = read(
        tmp_path, CM.format(name="a") + "data:\n  when: 2024-01-02\n  2: two\n  false: yes\n  ~: n\n"
    )
    data = objects[0].obj["data"]
    assert data == {"when": "2024-01-02", "2": "two", "false": True, "null": "n"}


def test_source_without_root_is_the_path(tmp_path: Path) -> None:
    build(tmp_path, {"a.yaml": CM.format(name="a")})
    assert read_yaml_documents(tmp_path / "a.yaml")[0].source == (tmp_path / "a.yaml").as_posix()


def test_single_mapping_reader(tmp_path: Path) -> None:
    build(tmp_path, {"c.yaml": "", "two.yaml": "a: 1\n---\nb: 2\n", "list.yaml": "- 1\n"})
    assert read_single_mapping(tmp_path / "c.yaml", "c.yaml") == {}
    with pytest.raises(LoadError, match=r"two\.yaml: expected one YAML document, found 2"):
        read_single_mapping(tmp_path / "two.yaml", "two.yaml")
    with pytest.raises(LoadError, match=r"list\.yaml:1: document must be a mapping"):
        read_single_mapping(tmp_path / "list.yaml", "list.yaml")


def test_dump_yaml_is_sorted_block_style_with_literal_code() -> None:
    data = {
        "spec": {"type": "starlark", "code": {"a.star": "def f():\n\treturn 1\n"}},
        "kind": "K",
        "list": [{"b": 1}],
    }
    out = dump_yaml(data)
    assert out == (
        "kind: K\n"
        "list:\n"
        "- b: 1\n"
        "spec:\n"
        "  code:\n"
        "    a.star: |\n"
        "      def f():\n"
        "      \treturn 1\n"
        "  type: starlark\n"
    )
    assert yaml.safe_load(out) == data


@pytest.mark.parametrize(
    "text",
    [
        "\tstarts with tab\nx\n",
        "trailing space  \nx\n",
        "no final newline\nend",
        "x\n\n\n",
        " lead\nx\n",
        "{{ a }}\n",
    ],
)
def test_dump_yaml_round_trips_awkward_strings(text: str) -> None:
    assert yaml.safe_load(dump_yaml({"code": text})) == {"code": text}


def test_dump_yaml_does_not_wrap_or_alias() -> None:
    shared = {"a": 1}
    long = "x " * 100
    out = dump_yaml({"one": shared, "two": shared, "long": long})
    assert "&" not in out and "*" not in out
    assert len(out.splitlines()) == 5
