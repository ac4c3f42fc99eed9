"""How ``choreo get`` prints objects: kubectl's output formats over plain KRM dicts.

Why a module of its own: the same printing serves the local store and a server (``choreo.cli.get`` only
finds the objects), and each format has kubectl's exact habits that users and scripts rely on — tables with
the CRD's ``additionalPrinterColumns`` (``-o wide`` adds the low-priority ones), ``TYPE/NAME`` lines for
``-o name``, a ``List`` for ``-o yaml|json`` unless one object was asked for, ``-o jsonpath=TEMPLATE``,
``-o go-template=TEMPLATE`` and ``-o custom-columns=HEADER:PATH,...`` (or each from a file).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from choreo.apiserver import columns as kind_columns
from choreo.apiserver import jsonpath
from choreo.apiserver.registry import KindNames
from choreo.cli import tabwriter
from choreo.errors import ChoreoError
from choreo.lang import gotemplate
from choreo.lang.limits import Budget, Limits
from choreo.results import kubectl_text

Object = dict[str, Any]
NONE = "<none>"
GAP = "   "  # kubectl's column separator
MIN_WIDTH = 6  # kubectl's tabwriter: no column is narrower, its gap included


@dataclass(frozen=True)
class Column:
    """One table column: a header and what fills it. A kind's printer column is filled as kubectl shows it
    from a server's Table (``PrinterColumn.cell``: the first value, typed, a date as an age; blank when there
    is none); an ``-o custom-columns`` column shows every value its path finds, joined by commas, or
    ``<none>``, as kubectl's does."""

    header: str
    source: kind_columns.PrinterColumn
    custom: bool = False

    @property
    def priority(self) -> int:
        return self.source.priority

    def cell(self, obj: Object, now: datetime) -> str:
        if self.custom:
            values = self.source.values(obj)
            return NONE if not values or values == [None] else ",".join(go_value(v) for v in values)
        value = self.source.cell(obj, now)
        return "" if value is None else jsonpath.text(value)  # kubectl leaves a Table's empty cell blank


def go_value(value: Any) -> str:
    """A JSON value as Go's ``%v`` prints it, as kubectl's custom columns and ``describe`` show a value:
    ``true``, ``<nil>``, ``[a b]``, ``map[k:v]`` (keys sorted), a float as its shortest ``%g``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, list):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_value(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


def _go_float(value: float) -> str:
    """Go's ``%v`` of a float64: the shortest digits, as an exponent below 1e-4 and from 1e+06 on."""
    if math.isnan(value) or math.isinf(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    shortest = Decimal(repr(value))
    exponent = shortest.adjusted()
    if -4 <= exponent < 6:
        return format(shortest.normalize(), "f")
    sign, digits, _ = shortest.normalize().as_tuple()
    mantissa = "".join(map(str, digits))
    mantissa = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


@dataclass
class Block:
    """The objects of one kind, with what the table of that kind shows."""

    type_name: str  # ``greeting.example.com``: the TYPE of ``TYPE/NAME``
    columns: list[Column]
    objects: list[Object] = field(default_factory=list)


def printer_columns(crds: kind_columns.CRDReader, kind: KindNames, version: str) -> list[Column]:
    """The kind's printer columns (``choreo.apiserver.columns``) as table columns with kubectl's headers."""
    found = kind_columns.kind_columns(crds, kind.group, kind.kind, kind.plural, version)
    return [Column(c.name.upper(), c) for c in found]


def object_name(block: Block, obj: Object) -> str:
    return f"{block.type_name}/{obj['metadata']['name']}"


def label_columns(keys: Sequence[str], *, all_labels: bool) -> list[Column]:
    """kubectl's ``-L KEY,...`` (a column per label key, headed by the key's last ``/`` part in capitals, blank
    where an object has no such label) and ``--show-labels`` (a LABELS column last: ``k=v,...`` sorted by key,
    ``<none>`` for none), the columns added after a kind's own."""
    added = [Column(key.rsplit("/", 1)[-1].upper(), _LabelValue(key, LABELS, label=key)) for key in keys]
    return [*added, Column("LABELS", _AllLabels("Labels", LABELS))] if all_labels else added


LABELS = ".metadata.labels"


@dataclass(frozen=True)
class _LabelValue(kind_columns.PrinterColumn):
    """The value of the label ``label`` (a key may hold dots and slashes, which a JSONPath would need escaped)."""

    label: str = ""

    def values(self, obj: Object) -> list[Any]:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return [labels[self.label]] if self.label in labels else []


@dataclass(frozen=True)
class _AllLabels(kind_columns.PrinterColumn):
    """Every label as ``k=v,...`` by key, ``<none>`` for none."""

    def values(self, obj: Object) -> list[Any]:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return [",".join(f"{k}={v}" for k, v in sorted(labels.items())) or NONE]


def sorted_by(objects: list[Object], path: str) -> list[Object]:
    """kubectl's ``--sort-by JSONPATH``: by the first value the path finds, numbers by value and before
    text; objects without one first. A path that finds nothing in any object is an error, as kubectl's."""
    template = jsonpath.checked_path(path)
    found = [jsonpath.evaluate(o, template[1:-1]) for o in objects]
    if objects and not any(v and v[0] is not None for v in found):
        raise ChoreoError(f'couldn\'t find any field with path "{template}" in the list of objects')

    def key(values: list[Any]) -> tuple[int, Any]:
        value = values[0] if values else None
        if value is None:
            return (0, "")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (1, value)
        return (2, jsonpath.text(value))

    order = sorted(range(len(objects)), key=lambda i: key(found[i]))
    return [objects[i] for i in order]


def sorted_across(blocks: Sequence[Block], path: str) -> list[Block]:
    """The objects of several kinds in one order (``--sort-by`` of a list), each as a block of its own."""
    pairs = [(block, obj) for block in blocks for obj in block.objects]
    kind_of = {id(obj): block for block, obj in pairs}
    return [Block(kind_of[id(o)].type_name, kind_of[id(o)].columns, [o])
            for o in sorted_by([obj for _block, obj in pairs], path)]


def tables(
    blocks: Sequence[Block], *, wide: bool, namespaces: bool, extra: Sequence[Column] = (), headers: bool = True,
    show_kind: bool = False,
) -> list[str]:
    """One table per kind, a blank line between them; ``TYPE/NAME`` in the NAME column when several
    kinds are shown, a NAMESPACE column when objects of several namespaces may be listed; ``extra``
    columns (labels) after each kind's own; ``headers=False``: kubectl's ``--no-headers``; ``show_kind``:
    ``TYPE/NAME`` also for one kind."""
    several = show_kind or len([b for b in blocks if b.objects]) > 1
    lines: list[str] = []
    for block in blocks:
        if not block.objects:
            continue
        lines.extend([""] if lines else [])
        lines.extend(TableRows(block, wide, namespaces, extra, several).table(block.objects, headers))
    return lines


class TableRows:
    """The rows of one kind's table: its header, a row per object (``choreo get -w``: more rows later, padded
    to the table's widths)."""

    def __init__(self, block: Block, wide: bool, namespaces: bool, extra: Sequence[Column], several: bool) -> None:
        self.block, self.namespaces, self.several = block, namespaces, several
        self.columns = [*(c for c in block.columns if wide or c.priority == 0), *extra]
        self.named = all(c.source != kind_columns.NAME_LAST for c in block.columns)  # Events: their name is last
        self.widths: list[int] = []

    def header(self) -> list[str]:
        return [*(["NAMESPACE"] if self.namespaces else []), *(["NAME"] if self.named else []),
                *(c.header for c in self.columns)]

    def row(self, obj: Object, now: datetime) -> list[str]:
        name = [object_name(self.block, obj) if self.several else obj["metadata"]["name"]] if self.named else []
        namespace = [obj["metadata"].get("namespace", "")] if self.namespaces else []
        return [*namespace, *name, *(c.cell(obj, now) for c in self.columns)]

    def table(self, objects: Sequence[Object], headers: bool = True) -> list[str]:
        now = datetime.now(UTC)
        rows = [*([self.header()] if headers else []), *(self.row(o, now) for o in objects)]  # no header: no width
        widths = tabwriter.cell_widths(rows, padding=len(GAP), min_width=MIN_WIDTH)
        self.widths = widths[0] if widths else []
        return kubectl_table(rows)

    def line(self, obj: Object) -> str:
        """One more row, aligned under the table when it fits."""
        return kubectl_row(self.row(obj, datetime.now(UTC)), self.widths)


def kubectl_row(cells: Sequence[str], widths: Sequence[int]) -> str:
    """One row of a kubectl table whose columns are ``widths`` wide (gap included)."""
    return tabwriter.line(cells, widths, padding=len(GAP), min_width=MIN_WIDTH)


def kubectl_table(rows: list[list[str]]) -> list[str]:
    """Rows as kubectl writes a table (Go's tabwriter, padding 3, columns at least 6 wide)."""
    return tabwriter.align(rows, padding=len(GAP), min_width=MIN_WIDTH)


def custom_columns(spec: str, objects: list[Object], *, headers: bool = True) -> list[str]:
    """``-o custom-columns=NAME:.metadata.name,ADDRESS:.status.address`` (``--no-headers``: without the header)."""
    columns = []
    for part in spec.split(","):
        header, sep, path = part.partition(":")
        if not sep or not header or not path:
            raise ChoreoError(f"unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>")
        found = kind_columns.PrinterColumn(header, jsonpath.checked_path(path)[1:-1])
        columns.append(Column(header, found, custom=True))
    now = datetime.now(UTC)  # no objects: the header alone, as kubectl prints it
    heading = [[c.header for c in columns]] if headers else []
    return kubectl_table([*heading, *([c.cell(o, now) for c in columns] for o in objects)])


def go_template(text: str, doc: Object) -> str:
    """``-o go-template=TEMPLATE``: Go's text/template over the object or List, as kubectl executes it (a
    missing key prints ``<no value>``; kubectl's ``exists`` and ``base64decode`` too; no bound on what it
    prints: the reader asked for it)."""
    try:
        templates = gotemplate.parse_sources({"output": (text, "go-template")}, gotemplate.KUBECTL_FUNCS)
        unbounded = Budget(Limits(time=math.inf, output=sys.maxsize), "go-template")
        return gotemplate.render(templates, "output", doc, budget=unbounded, print_missing=True,
                                 functions=gotemplate.KUBECTL_FUNCS)
    except gotemplate.TemplateError as error:
        raise ChoreoError(f"-o go-template: {error}") from None


def custom_columns_file(text: str, source: str) -> str:
    """kubectl's ``-o custom-columns-file=FILE``: a line of headers over a line of paths, both split on spaces,
    as the ``HEADER:PATH,...`` spec of ``-o custom-columns``."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if len(lines) != 2 or len(lines[0]) != len(lines[1]):
        raise ChoreoError(f"-o custom-columns-file={source}: expected a line of headers over a line of as many "
                          "paths")
    return ",".join(f"{header}:{path}" for header, path in zip(*lines, strict=True))


def document(objects: list[Object], single: bool) -> Object:
    """What ``-o yaml|json|jsonpath`` print: the one object asked for, else a ``List``."""
    if single and len(objects) == 1:
        return objects[0]
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": objects}


def dump(doc: Object, fmt: str) -> str:
    """``doc`` as kubectl prints a custom resource (``results.kubectl_text``)."""
    return kubectl_text.json_text(doc) if fmt == "json" else kubectl_text.yaml_text(doc)
