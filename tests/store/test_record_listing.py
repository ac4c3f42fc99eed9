"""A record stored with its list encoded item by item (``put_record_listing``, how run records are saved) is
the record ``put_record`` stores: the same text, read back as the same value, on both backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from choreo.errors import Invalid
from choreo.store._common import BaseBackend, encode, encode_listing
from choreo.store.sqlite import _pack, _pack_pieces, _unpack
from tests.store.test_encoding import ODD_VALUES

SUMMARY = {"id": "r1", "runner": "fx", "failure": None, "wallSeconds": 1.5e-5, "stages": [{"name": "é", "x": []}]}


STAMPED = [{"time": "2026-12-05T03:26:10.000042+00:00", "n": i} for i in range(500)]


@pytest.mark.parametrize("field", ["a", "events", "stages2", "zz", "é"])  # before, between and after the others
@pytest.mark.parametrize("items", [[], ODD_VALUES, STAMPED])
def test_the_pieces_make_the_text_of_the_whole(field: str, items: list[Any]) -> None:
    whole = encode({**SUMMARY, field: items}, "record")
    assert "".join(encode_listing(SUMMARY, field, iter(items), "record")) == whole
    assert json.loads(whole)[field] == json.loads(encode(items, "items"))


def _events(count: int) -> Iterator[dict[str, Any]]:
    for i in range(count):
        yield {"time": f"2026-12-05T03:26:{i % 60:02d}.000042+00:00", "resource": f"infra.Link.default.l{i}",
               "operation": "START" if i % 2 else "STOP", "message": "ü"}


@pytest.mark.parametrize("count", [0, 1, 3000])  # a short record is kept as text, a long one compressed
def test_a_record_stored_in_pieces_reads_back_as_stored_whole(backend: BaseBackend, count: int) -> None:
    backend.put_record_listing("runs", "listed", SUMMARY, "events", _events(count))
    backend.put_record("runs", "whole", {**SUMMARY, "events": list(_events(count))})
    assert backend.get_record("runs", "listed") == backend.get_record("runs", "whole")
    assert backend._record_load("runs", "listed") == backend._record_load("runs", "whole")  # the same text


def test_an_item_that_is_not_json_leaves_the_record_as_it_was(backend: BaseBackend) -> None:
    backend.put_record_listing("runs", "r", SUMMARY, "events", _events(2))
    before = backend.get_record("runs", "r")
    with pytest.raises(Invalid, match="record runs/r"):
        backend.put_record_listing("runs", "r", SUMMARY, "events", iter([{"ok": 1}, {"bad": {1, 2}}]))
    assert backend.get_record("runs", "r") == before


@pytest.mark.parametrize("pieces", [[], ["{}"], ["ab"] * 50, ["x" * 150, "y" * 100], ["é☃"] * 3000])
def test_packed_pieces_are_the_packed_text(pieces: list[str]) -> None:
    text = "".join(pieces)
    packed = _pack_pieces(pieces)  # a list: the pieces are read once, in order, whatever the iterable
    assert type(packed) is type(_pack(text)) and _unpack(packed) == text
