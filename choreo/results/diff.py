"""``run diff``: what changed between two inventories, in the reference's line format.

One line per object: ``<sym> <group>/<version>, Kind=<Kind> <name>`` with ``=`` equal, ``~`` modified,
``+`` added, ``-`` deleted, sorted by ``"<gvk string>.<name>"`` (the reference's key; ``<name>`` is the
shown name, see ``inventory``), a re-created object's ``-`` before its ``+``. Identity is (apiVersion,
kind, namespace, name, uid), so a re-created object (new uid) is a ``-`` and a ``+``.

What counts as a change: the whole object, except — unless managed fields are asked for —
``metadata.managedFields`` (as the reference) and ``metadata.resourceVersion``. The resourceVersion
only moves on a write; a write whose only effect is on managed fields (another manager taking over a
field with the same value) would otherwise show as ``~`` with no visible difference. Everything else,
status timestamps included, is a real change.

For reviews the default output is what changed: ``render`` leaves ``=`` lines out unless asked for all,
and ``summary`` counts each kind of change (``2 changed, 1 added, 0 removed, 40 unchanged``).
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from choreo.api.objects import Object
from choreo.results import kubectl_text
from choreo.results.inventory import Identity, Item

EQUAL, MODIFIED, ADDED, DELETED = "=", "~", "+", "-"
_SYMBOL_ORDER = {DELETED: 0, ADDED: 1, MODIFIED: 2, EQUAL: 3}


@dataclass(frozen=True)
class Change:
    symbol: str
    old: Item | None
    new: Item | None

    @property
    def item(self) -> Item:
        item = self.new or self.old
        assert item is not None
        return item

    @property
    def line(self) -> str:
        return f"{self.symbol} {self.item.gvk} {self.item.shown_name}"

    @property
    def sort_key(self) -> tuple[str, int, str]:
        return (f"{self.item.gvk}.{self.item.shown_name}", _SYMBOL_ORDER[self.symbol], self.item.uid)


def comparable(obj: Object, show_managed_fields: bool) -> Object:
    """The part of ``obj`` that diff compares and shows."""
    if show_managed_fields:
        return obj
    out = copy.deepcopy(obj)
    metadata = out.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
        metadata.pop("resourceVersion", None)
    return out


def diff_inventories(old: Iterable[Item], new: Iterable[Item], *, show_managed_fields: bool = False) -> list[Change]:
    """Every object of either inventory with its symbol, in output order."""
    before: dict[Identity, Item] = {item.identity: item for item in old}
    after: dict[Identity, Item] = {item.identity: item for item in new}
    changes = [Change(DELETED, item, None) for ident, item in before.items() if ident not in after]
    for ident, item in after.items():
        previous = before.get(ident)
        if previous is None:
            changes.append(Change(ADDED, None, item))
        elif comparable(previous.obj, show_managed_fields) == comparable(item.obj, show_managed_fields):
            changes.append(Change(EQUAL, previous, item))
        else:
            changes.append(Change(MODIFIED, previous, item))
    return sorted(changes, key=lambda change: change.sort_key)


def to_yaml(obj: Object) -> str:
    return kubectl_text.yaml_text(obj)  # as kubectl diff shows objects: code as blocks of lines


def details(change: Change, *, show_managed_fields: bool = False) -> list[str]:
    """A unified diff of the two YAML forms of a modified object (nothing for other symbols)."""
    if change.symbol != MODIFIED or change.old is None or change.new is None:
        return []
    old = to_yaml(comparable(change.old.obj, show_managed_fields)).splitlines()
    new = to_yaml(comparable(change.new.obj, show_managed_fields)).splitlines()
    name = change.item.label
    return list(difflib.unified_diff(old, new, fromfile=f"a/{name}", tofile=f"b/{name}", lineterm=""))


def render(
    changes: list[Change], *, show_all: bool = False, show_details: bool = False, show_managed_fields: bool = False
) -> list[str]:
    """The changed objects' lines (every object's with ``show_all``), each followed by its YAML diff with
    ``show_details``."""
    lines: list[str] = []
    for change in changes:
        if change.symbol == EQUAL and not show_all:
            continue
        lines.append(change.line)
        if show_details:
            lines.extend(details(change, show_managed_fields=show_managed_fields))
    return lines


_COUNTED = ((MODIFIED, "changed"), (ADDED, "added"), (DELETED, "removed"), (EQUAL, "unchanged"))


def summary(changes: list[Change]) -> str:
    """``<n> changed, <n> added, <n> removed, <n> unchanged`` (a re-created object is removed and added)."""
    symbols = [change.symbol for change in changes]
    return ", ".join(f"{symbols.count(symbol)} {word}" for symbol, word in _COUNTED)


def has_differences(changes: list[Change]) -> bool:
    return any(change.symbol != EQUAL for change in changes)
