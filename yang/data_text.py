"""Data given as text — a Config value that is a string, a running config file, a ``config validate`` file — read
into the value the snippet coercer takes: RFC 7951 JSON, or XML parsed by libyang.

The document-level rules are settled here, once for every such text (yanglint, Debian's libyang2-tools on the
same libyang, is the judge; where choreo differs, RFC 7950/7951 and the README say why):

* JSON text is one JSON value and nothing else (RFC 8259, section 2): text after it is an error (libyang reads
  the first value and ignores the rest), and so is text that is empty or only whitespace (libyang reads that as
  no data). A byte order mark is refused, as libyang refuses it (RFC 8259, 8.1 lets a parser do either).
* A JSON number with an exponent is read by its value: ``1e1`` and ``1.5E2`` are the integers 10 and 150, as
  libyang reads them for an integer leaf; ``1.55e1`` (15.5) is no integer. A number written with a fraction and
  no exponent (``5.0``) stays a fraction, which an integer leaf refuses (libyang too).
* XML may start with a byte order mark (XML 1.0, 4.3.3; libyang refuses one, choreo drops it); whitespace,
  comments and an XML declaration alone are no data, as libyang reads them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from choreo.plugin_api import read_text
from yang.libyang_adapter import SchemaContext, YangIssue
from yang.xml_snippets import parse_xml_snippet

BOM = "\ufeff"
_INTEGER_DIGITS = 40  # an exponent form with more digits than this is kept a float: no YANG integer is that long


@dataclass(frozen=True)
class Decoded:
    """A snippet value and how it was written: a mapping (YAML rules), or RFC 7951 JSON / XML text (strict)."""

    value: Any
    strict: bool = False
    text: str = ""  # the JSON text, to point messages at its lines
    issues: tuple[YangIssue, ...] = ()  # elements dropped from an XML snippet (the rest is the value)


def decode_value(schema: SchemaContext | None, value: Any, fmt: str = "") -> Decoded:
    """A snippet value: a mapping, or text holding JSON or XML (checked as RFC 7951 / by libyang). ``fmt``:
    "json" or "xml" when the text's format is known (a file's suffix); else XML when it starts with ``<``."""
    if not isinstance(value, str):
        return Decoded(value)
    if fmt == "xml" or (not fmt and value.lstrip().lstrip(BOM).lstrip().startswith("<")):
        assert schema is not None, "XML is parsed by libyang: it needs the schema"
        # not stripped: libyang's line numbers are those of the text (a byte order mark is no line)
        kept = parse_xml_snippet(schema, value.removeprefix(BOM))
        return Decoded(json.loads(kept.json_text), strict=True, issues=kept.issues)
    return Decoded(json_document(value), strict=True, text=value)


def json_document(text: str) -> Any:
    """The one JSON value ``text`` holds; ``ValueError`` naming what is wrong otherwise."""
    if text.startswith(BOM):
        raise ValueError("JSON text must not start with a byte order mark (U+FEFF): RFC 8259 (8.1) has none, and "
                         "libyang (yanglint) refuses it")
    if not text.strip():
        raise ValueError("no JSON value: the text is empty or only whitespace (an empty config is {})")
    try:
        return json.loads(text, object_pairs_hook=_unique_members, parse_constant=_not_a_number,
                          parse_float=_json_number)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except json.JSONDecodeError as err:
        if err.msg == "Extra data":
            raise ValueError(f"text after the JSON value at line {err.lineno} column {err.colno}: JSON text is one "
                             "value (RFC 8259, section 2)") from None
        raise


def _json_number(text: str) -> int | float:
    """A JSON number written with a fraction or an exponent (``json``'s ``parse_float``). With an exponent whose
    value is an integer it is that integer (``1e1``, ``1.5E2``, ``150e-1``, ``-0e0``): RFC 7951 writes integer
    types as JSON numbers, which may have an exponent. Otherwise a float: ``5.0`` and ``1.55e1`` (15.5) are no
    integers, and an integer leaf refuses them."""
    if "e" in text or "E" in text:
        exact = Decimal(text)
        if exact.is_zero():
            return 0
        if 0 <= exact.adjusted() < _INTEGER_DIGITS and exact == exact.to_integral_value():
            return int(exact)
    number = float(text)
    if not math.isfinite(number) or (number == 0 and not Decimal(text).is_zero()):
        raise ValueError(f"the number {text} is out of range (libyang's limit is 40 characters written out)")
    return number


def _not_a_number(name: str) -> Any:
    """``NaN`` and ``Infinity`` are not JSON (Python's ``json`` accepts them)."""
    raise ValueError(f"{name} is not a JSON value")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object naming one member twice is an error (``json`` would silently keep the last)."""
    members: dict[str, Any] = {}
    for key, value in pairs:
        if key in members:
            raise ValueError(f'member "{key}" appears twice in one JSON object')
        members[key] = value
    return members


def read_data(path: Path, source: str) -> str:
    """A data file's text as ``read_text`` reads project files (UTF-8, CRLF as LF), but with its byte order mark
    kept: JSON refuses one, XML drops it (``decode_value``)."""
    text = read_text(path, source)
    if text.startswith(BOM):  # a second one, after the one ``read_text`` dropped: still the file's first mark
        return BOM + text
    try:
        with path.open("rb") as file:
            return BOM + text if file.read(3) == BOM.encode() else text
    except OSError:  # gone since it was read: what was read stands
        return text
