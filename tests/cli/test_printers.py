"""``choreo get -o yaml`` writes YAML as kubectl (Go's yaml.v2) writes it."""

from __future__ import annotations

import json

import yaml

from choreo.cli.printers import dump


def test_strings_are_quoted_and_blocked_as_kubectl_writes_them() -> None:
    doc = {"a": "true", "b": "42", "c": "", "d": "y", "e": "2026-12-06T08:36:15Z", "f": "plain text",
           "g": "key: value", "h": "line one\nline two\n", "i": "no newline at the end\nsecond", "j": "café",
           "k": "word " * 19 + "end"}
    text = dump(doc, "yaml")
    assert text.splitlines()[:8] == [
        'a: "true"', 'b: "42"', 'c: ""', 'd: "y"',  # what a plain scalar would read as a bool, an int, null
        'e: "2026-12-06T08:36:15Z"', "f: plain text", "g: 'key: value'",  # a string plain YAML cannot hold
        "h: |",
    ]
    assert "h: |\n  line one\n  line two\ni: |-\n  no newline at the end\n  second\nj: café\n" in text
    assert text.endswith("k: " + "word " * 15 + "word\n  word word word end\n")  # wrapped past 80 columns
    assert yaml.safe_load(text) == doc


def test_json_is_written_as_gos_encoding_json_writes_it() -> None:
    text = dump({"code": "if a < b && c > d:", "name": "café", "n": 1}, "json")
    assert text == '{\n    "code": "if a \\u003c b \\u0026\\u0026 c \\u003e d:",\n    "n": 1,\n    "name": "café"\n}'
    assert json.loads(text)["code"] == "if a < b && c > d:"
