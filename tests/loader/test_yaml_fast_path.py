"""The YAML reader's fast builder gives exactly what PyYAML's constructor (with choreo's checks) gives.

``yamlio._build_plain`` builds plain documents itself and hands everything else to the general path; each
text here is read both ways (the general path forced by making the builder give up at once) and must give
the same values — same types, same sharing of aliased objects — or the same error message, line included.
The corpus's YAML cases are read both ways too.
"""

from __future__ import annotations

from typing import Any

import pytest

from choreo.errors import LoadError
from choreo.loader import yamlio
from tests.corpus.cases import YAML as CORPUS_YAML

TEXTS = [
    "a: 1\nb: [1, 2.5, true, null, ~, '', x]\nc: {d: {e: [f]}}\n",
    "k: 0x1F\nl: 0o17\nm: 1_000\nn: 1:30\no: -.inf\np: .nan\nq: +12\nr: 1e3\ns: 0b101\n",
    "z: 0\noctal: 007\nbig: 123456789012345678901234567890\nneg: -5\nwide: !!int '\uff11'\n",
    "yes: on\nNo: off\nt: True\nu: NULL\nv: 2001-12-14t21:59:43.10-05:00\nw: 2002-12-14\n",
    "a: !!str 1\nb: !!int '7'\nc: !!float '1'\nd: !!bool 'true'\ne: !!null ''\nf: !!map {x: 1}\ng: !!seq [1]\n",
    "a: !!int abc\n",
    "a: !!float x\n",
    "a: !!bool maybe\n",
    "a: !!binary aGVsbG8=\n",
    "a: !!binary '%%%'\n",
    "a: !!timestamp 2001-12-14\n",
    "a: !!set {x, y}\n",
    "a: !!omap [x: 1, y: 2]\n",
    "a: !!pairs [x: 1, x: 2]\n",
    "a: !!python/name:os.system ''\n",
    "a: !local x\n",
    "a: !!str [x]\n",
    "a: !!map [x]\n",
    "1: a\n'1': b\n",
    "1: a\n1.0: b\n",
    "true: a\n1: b\n",
    "null: a\n~: b\n",
    "? [a, b]\n: c\n",
    "? {a: b}\n: c\n",
    "a: 1\nb: {c: 2, c: 3}\na: 4\n",
    "a: {x: 1, x: !!int bad}\n",
    "a: {x: !!int bad, x: 1}\n",
    "base: &b {x: 1, y: 2}\nm: {<<: *b, x: 3}\nn: {<<: [*b, {z: 1}], y: 0}\n",
    "base: &b {x: 1}\nm: {<<: *b, q: 1, q: 2}\n",
    "m: {<<: 5}\n",
    "=: a\nb: =\n",
    "l: &l [1, {a: 2}]\nm: [*l, *l]\nn: {k: *l}\ns: &s text\nt: *s\n",
    "a: &a [*a]\n",
    "a: &a {b: *a}\n",
    "a: *undefined\n",
    "a: [" * 900 + "]" * 900 + "\n",
    "a: [" * 2000 + "]" * 2000 + "\n",
    "a: {b: [c, d]\n",
    "a: 1\n---\nb: 2\n---\n...\n---\n- x\n- {y: z}\n",
    "",
    "# nothing\n",
    '\'quoted key\': "v\\u00e9"\n"x\\ty": |\n  block\n  text\nz: >\n  folded\n  text\n',
    "a: 1\n\tb: 2\n",
]


def read(text: str) -> tuple[str, list[str] | str]:
    """The documents' shape and values, or the error message."""
    try:
        return "ok", shape([doc for _, doc in yamlio.parse_documents(text, "in/x.yaml")])
    except LoadError as err:
        return "error", str(err)


def shape(value: Any) -> list[str]:
    """Every value as ``repr`` (which tells 1, 1.0 and True apart), keys in order, each container as the
    number of its first visit (aliased containers are one object) — without recursion, for deep nesting."""
    seen: dict[int, int] = {}
    tokens: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if not isinstance(item, dict | list):
            tokens.append(repr(item))
            continue
        first = id(item) not in seen
        tokens.append(f"{type(item).__name__}#{seen.setdefault(id(item), len(seen))}/{len(item)}")
        if first and isinstance(item, dict):
            for key, child in reversed(item.items()):
                stack += [child, repr(key)]
        elif first:
            stack += reversed(item)
    return tokens


def general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def give_up(*_args: Any) -> Any:
        raise yamlio._NotPlain

    monkeypatch.setattr(yamlio, "_build_plain", give_up)


def corpus_texts() -> list[str]:
    texts = []
    for case in CORPUS_YAML:
        for content in case.files.values():
            if isinstance(content, str) and not case.env:
                texts.append(content)
    return texts


@pytest.mark.parametrize("text", TEXTS + corpus_texts())
def test_the_fast_builder_agrees_with_the_general_path(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = read(text)
    general_path(monkeypatch)
    assert read(text) == fast


def test_plain_documents_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any) -> Any:
        raise AssertionError("the general constructor was used")

    monkeypatch.setattr(yamlio._BaseLoader, "construct_document", refuse)
    text = TEXTS[0] + "l: &l [1]\nm: *l\n"
    [(_, doc)] = yamlio.parse_documents(text, "in/x.yaml")
    assert doc["m"] is doc["l"] and doc["b"] == [1, 2.5, True, None, None, "", "x"]


def test_reading_leaves_garbage_collection_as_it_was() -> None:
    import gc

    assert gc.isenabled()
    yamlio.parse_documents("a: 1\n", "in/x.yaml")
    assert gc.isenabled()
    with pytest.raises(LoadError):
        yamlio.parse_documents("a: [\n", "in/x.yaml")
    assert gc.isenabled()
    gc.disable()
    try:
        yamlio.parse_documents("a: 1\n", "in/x.yaml")
        assert not gc.isenabled()
    finally:
        gc.enable()
