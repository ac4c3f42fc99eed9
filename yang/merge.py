"""Merge one device's snippets with per-leaf ownership, then validate the result reporting every error.

Why here and not in libyang: ``merge()`` silently lets the source win on a conflicting leaf, and
validation stops at the first error. This module keeps, for every leaf, the snippet that set it (so an
equal-priority conflict names both resources, the path and both values, and every validation error can
be traced back to a Config resource), and after a validation error removes the offending subtree and
validates again, up to a bound, so one run reports everything it can find.

Precedence: a smaller ``priority`` number wins (as in sdcio); the running config is below every snippet.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from yang.libyang_adapter import DataTree, SchemaContext, YangFailure, YangIssue
from yang.snippets import coerce

MAX_VALIDATION_ROUNDS = 200
_UNIQUE = re.compile(r'Unique data leaf\(s\) "([^"]*)"')
RUNNING_PRIORITY = 2**31 - 1


@dataclass(frozen=True, order=True)
class Source:
    """Where a snippet came from: a Config resource (or the running config) and what produced it."""

    kind: str
    namespace: str
    name: str
    reconciler: str = ""
    intent: str = ""

    def ref(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"

    def describe(self) -> str:
        extra = []
        if self.reconciler:
            extra.append(f"reconciler {self.reconciler}")
        if self.intent:
            extra.append(f"intent {self.intent}")
        return self.ref() + (f" ({', '.join(extra)})" if extra else "")


@dataclass(frozen=True)
class Snippet:
    source: Source
    priority: int
    value: Any


@dataclass(frozen=True)
class Owner:
    source: Source
    priority: int
    value: Any


@dataclass(frozen=True)
class Problem:
    """A device-level error: data path, message and the snippets behind the offending data."""

    path: str
    message: str
    sources: tuple[Source, ...] = ()


@dataclass
class Override:
    path: str
    loser: Owner
    winner: Owner


@dataclass
class Merged:
    """Result of merging and validating one device."""

    config: dict[str, Any] = field(default_factory=dict)  # RFC 7951, as merged (before validation)
    owners: dict[str, Owner] = field(default_factory=dict)
    overrides: list[Override] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    xml: str = ""  # NETCONF payload body when the device is valid

    @property
    def valid(self) -> bool:
        return not self.problems


def merge_device(context: SchemaContext, snippets: list[Snippet], running: Snippet | None = None) -> Merged:
    """Running config first, then snippets from lowest to highest precedence; validate the result."""
    merged = Merged()
    ordered = sorted(snippets, key=lambda s: (-s.priority, s.source))
    tree = context.empty()
    try:
        for snippet in ([running] if running else []) + ordered:
            _add(context, tree, snippet, merged)
        merged.config = json.loads(tree.print("json"))
        _validate(tree, merged)
        if merged.valid:
            merged.xml = tree.print("xml")
    finally:
        tree.free()
    return merged


def _add(context: SchemaContext, tree: DataTree, snippet: Snippet, merged: Merged) -> None:
    coerced = coerce(context, snippet.value)
    merged.problems.extend(Problem(i.path, i.message, (snippet.source,)) for i in coerced.issues)
    _own(snippet, coerced.leaves, merged)
    if not coerced.data:
        return
    try:
        part = context.parse(json.dumps(coerced.data))
    except YangFailure as failure:
        merged.problems.extend(Problem(i.path, i.message, (snippet.source,)) for i in failure.issues)
        return
    with part:  # merge() spends ``part``; the ``with`` frees it should merge() fail before taking it
        tree.merge(part)


def _own(snippet: Snippet, leaves: dict[str, Any], merged: Merged) -> None:
    mine = Owner(snippet.source, snippet.priority, None)
    for path, value in leaves.items():
        owner = Owner(mine.source, mine.priority, value)
        previous = merged.owners.get(path)
        if previous is not None and previous.value != value and previous.source != snippet.source:
            if previous.priority == snippet.priority:
                merged.problems.append(_conflict(path, previous, owner))
            else:
                merged.overrides.append(Override(path, previous, owner))
        merged.owners[path] = owner


def _conflict(path: str, first: Owner, second: Owner) -> Problem:
    message = (
        f"conflicting values at equal priority {first.priority}: {json.dumps(first.value)} from "
        f"{first.source.ref()} and {json.dumps(second.value)} from {second.source.ref()}"
    )
    return Problem(path, message, (first.source, second.source))


# ------------------------------------------------------------------------------------- validation


def _validate(tree: DataTree, merged: Merged) -> None:
    seen: set[YangIssue] = set()
    for _ in range(MAX_VALIDATION_ROUNDS):
        issue = tree.validate()
        if issue is None or issue in seen:  # a repeated error cannot be removed (e.g. a default node)
            return
        seen.add(issue)
        if not _record_and_remove(tree, issue, merged):
            return
    merged.problems.append(Problem("/", f"stopped after {MAX_VALIDATION_ROUNDS} validation errors"))


def _record_and_remove(tree: DataTree, issue: YangIssue, merged: Merged) -> bool:
    """Report ``issue`` with its sources and remove the offending data; False when nothing can be removed."""
    if not issue.schema_location:
        merged.problems.append(Problem(issue.path, issue.message, sources_for(merged.owners, issue.path)))
        return bool(issue.path) and (any([tree.remove(p) for p in _offending(issue)]) or tree.remove(issue.path))
    parent_schema, missing = split_last(issue.path)
    instances = tree.find(f"{parent_schema}[not({missing})]") if parent_schema and missing else []
    if not instances:
        merged.problems.append(Problem(issue.path, issue.message, sources_for(merged.owners, parent_schema)))
        return bool(parent_schema) and any([tree.remove(p) for p in tree.find(parent_schema)])
    for parent in instances:
        path = f"{parent}/{missing}"
        merged.problems.append(Problem(path, issue.message, sources_for(merged.owners, parent)))
    return all([tree.remove(parent) for parent in instances])


def _offending(issue: YangIssue) -> list[str]:
    """What to remove for a data-located error: the node, or only the clashing leaves of a unique entry."""
    unique = _UNIQUE.match(issue.message)
    if unique:
        return [f"{issue.path}/{leaf}" for leaf in unique.group(1).split()]
    return [issue.path]


def sources_for(owners: dict[str, Owner], path: str) -> tuple[Source, ...]:
    """The snippets that set ``path`` or anything below it; else those of the nearest ancestor."""
    while path and path != "/":
        found = {o.source for p, o in owners.items() if is_under(p, path)}
        if found:
            return tuple(sorted(found))
        path, _ = split_last(path)
    return ()


def is_under(path: str, prefix: str) -> bool:
    """``path`` is the data node ``prefix`` or lies below it (``/a/b`` and ``/a[k='1']`` are under ``/a``, ``/ab`` is
    not)."""
    return path == prefix or path.startswith((prefix + "/", prefix + "["))


def split_last(path: str) -> tuple[str, str]:
    """``/a/b[k='x/y']/c`` → (``/a/b[k='x/y']``, ``c``), respecting quotes in predicates."""
    quote = ""
    depth = 0
    cut = -1
    for index, char in enumerate(path):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "/" and depth == 0:
            cut = index
    if cut < 0:
        return "", path
    return path[:cut], path[cut + 1 :]
