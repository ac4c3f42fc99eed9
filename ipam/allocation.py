"""What the engines report back: the status of a claim and the stored values (for entries).

The engines know nothing of API objects; the plug-in turns ``Allocation`` into an Entry object and
``Outcome`` into a claim's ``status``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ipam.errors import AllocationError

# (table, family or 0, value, prefix length); table "" is the main tree, else a range claim's table
ValueKey = tuple[str, int, int, int]


@dataclass
class Outcome:
    """The result of applying a claim: its status fields, and the other claims to work out again (they lost
    values, or their parent prefix changed: inserted over them, retyped, its subnet's gateway)."""

    status: dict[str, Any]
    dependents: list[str] = field(default_factory=list)


def work_out(name: str, handler: Callable[[set[str]], dict[str, Any]]) -> Outcome:
    """Run an engine's ``handler`` for the claim ``name`` with a set it adds the claims to work out again to;
    they are handed on in the ``Outcome``, or on the ``AllocationError`` it raises (a claim that looks for a
    new value lets its old ones go first, and what was in them too)."""
    dependents: set[str] = set()
    try:
        status = handler(dependents)
    except AllocationError as exc:
        exc.dependents = sorted(dependents - {name})
        raise
    dependents.discard(name)
    return Outcome(status, sorted(dependents))


@dataclass
class Allocation:
    """One stored value, as an Entry shows it."""

    key: ValueKey
    name: str  # the entry name suffix: "<subnet>" or "<range claim>.<subnet>" (IP), "<id>-<len>" (ID)
    value: str  # "10.0.0.1/32", "100/16"
    owner: str
    uid: str
    kind: str
    claim_type: str
    labels: dict[str, str]
    prefix_type: str | None = None
    address_family: str | None = None
    default_gateway: bool = False
    index_entry: bool = False


class ChangeLog:
    """Keys of the values stored, changed or removed since the last ``drain`` (insertion ordered, no
    duplicates). A claim applied again unchanged logs nothing, so whoever mirrors the values (the plug-in's
    Entry objects) writes only what changed.

    Each change also says which claims it may concern (their outcome, applied again as they stand, may not
    be what it was): by default every claim; an engine that knows better names them. ``untouched`` tells
    whether a claim's outcome at some ``count`` still stands."""

    def __init__(self) -> None:
        self._keys: dict[ValueKey, None] = {}
        self.count = 0  # values touched since the engine was made: unchanged means the index is as it was
        self._concerning: dict[str, int] = {}  # claim name -> count of the last change that may concern it
        self._concerning_all = 0  # count of the last change that may concern every claim

    def touch(self, key: ValueKey, concerns: Iterable[str] | None = None) -> None:
        """Log a change of ``key``; ``concerns``: the claims whose outcome it may change (None: any claim)."""
        self._keys[key] = None
        self.count += 1
        if concerns is None:
            self._concerning_all = self.count
            return
        for name in concerns:
            self._concerning[name] = self.count

    def untouched(self, name: str, since: int) -> bool:
        """Whether no change logged after ``since`` (a ``count``) may concern the claim ``name``."""
        return self._concerning_all <= since and self._concerning.get(name, 0) <= since

    def drain(self) -> list[ValueKey]:
        keys = list(self._keys)
        self._keys.clear()
        return keys
