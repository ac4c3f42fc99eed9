"""The YAML reader's bounds: file size, stream size, alias expansion and recursive aliases.

Each hostile input must end in one short ``LoadError`` naming the file, quickly, and the limits must be
adjustable through their environment variables.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from choreo.errors import LoadError
from choreo.loader.yamlio import Limits, parse_documents, read_text, read_yaml_documents

HEAD = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n"


def laughs(levels: int, width: int = 9) -> str:
    """A "billion laughs" document: each level an anchored list of ``width`` aliases of the previous."""
    lines = ["  l0: &l0 [" + ", ".join(['"lol"'] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"  l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    return HEAD + "\n".join(lines) + "\n"


def load_error(text: str) -> str:
    started = time.monotonic()
    with pytest.raises(LoadError) as err:
        parse_documents(text, "in/x.yaml")
    assert time.monotonic() - started < 5
    message = str(err.value)
    assert message.startswith("in/x.yaml") and "\n" not in message and len(message) < 300
    return message


def test_billion_laughs_is_refused_quickly() -> None:
    message = load_error(laughs(10))
    assert "aliases expand it to over 1000000 nodes" in message and "CHOREO_YAML_NODE_LIMIT" in message


def test_moderate_aliasing_is_fine() -> None:
    [(_, doc)] = parse_documents(laughs(4), "in/x.yaml")
    assert len(doc["data"]["l3"]) == 9 and doc["data"]["l3"][0][0][0] == ["lol"] * 9


def test_merge_keys_count_as_expansion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHOREO_YAML_NODE_LIMIT", "20")
    text = HEAD + "  base: &b {x: 1, y: 2, z: 3}\n" + "".join(f"  m{i}: {{<<: *b}}\n" for i in range(5))
    assert "over 20 nodes" in load_error(text)


@pytest.mark.parametrize("text", ["a: &a [*a]\n", "a: &a {b: *a}\n", "a: &a {<<: *a}\n"])
def test_recursive_alias_is_refused(text: str) -> None:
    message = load_error(text)
    assert "recursive alias" in message or "invalid YAML" in message


def test_stream_size_is_checked_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHOREO_YAML_SIZE_LIMIT", "1000")
    text = HEAD + "".join(f"  k{i}: v\n" for i in range(200))
    assert "YAML too large (over 1000 bytes; raise it with $CHOREO_YAML_SIZE_LIMIT)" in load_error(text)


def test_yaml_file_size_is_checked_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHOREO_YAML_SIZE_LIMIT", "100")
    (tmp_path / "big.yaml").write_text(HEAD + "  k: " + "x" * 200 + "\n")
    with pytest.raises(LoadError, match=r"^big.yaml: file too large \(over 100 bytes; .*YAML_SIZE_LIMIT\)$"):
        read_yaml_documents(tmp_path / "big.yaml", tmp_path)


def test_any_file_size_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHOREO_FILE_SIZE_LIMIT", "10")
    (tmp_path / "code.star").write_text("x = 1\n" * 10)
    with pytest.raises(LoadError, match=r"CHOREO_FILE_SIZE_LIMIT"):
        read_text(tmp_path / "code.star", "code.star")
    assert read_text(tmp_path / "code.star", "code.star", "yaml_bytes") == "x = 1\n" * 10


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Limits.current() == Limits()
    monkeypatch.setenv("CHOREO_YAML_NODE_LIMIT", "5")
    assert Limits.current().yaml_nodes == 5
    monkeypatch.setenv("CHOREO_YAML_NODE_LIMIT", "lots")
    with pytest.raises(LoadError, match=r"^\$CHOREO_YAML_NODE_LIMIT: expected a positive whole number"):
        Limits.current()


def test_a_large_plain_document_is_not_slowed_by_the_alias_check() -> None:
    text = HEAD + "".join(f"  k{i}: v{i}\n" for i in range(20_000))
    started = time.monotonic()
    [(_, doc)] = parse_documents(text, "in/x.yaml")
    assert len(doc["data"]) == 20_000 and time.monotonic() - started < 5
