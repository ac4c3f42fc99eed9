"""Merge one device's snippets with per-leaf ownership, then validate the result reporting every error.

Why here and not in libyang: ``merge()`` silently lets the source win on a conflicting leaf, and
validation stops at the first error. This module keeps, for every leaf, the snippet that set it (so an
equal-priority conflict names both resources, the path and both values, and every validation error can
be traced back to a Config resource), applies explicit deletes, and after a validation error removes the
offending data and validates again until the rest is valid, so one run reports everything libyang can find.

Removing data has consequences: a leafref to the removed entry breaks, a ``must`` that read the removed
leaf fails, a mandatory leaf that was dropped for a bad value is now missing. Such an error is a
*follow-on*: it is attached to the problem whose data was removed (``Problem.follow_ons``), never reported
as a problem of its own. An error is a follow-on of removed data when it sits at or below the removed
node, refers to a removed value (leafref, instance-identifier), or is a ``must``/``when`` of the same list
entry whose expression names the removed node.

Precedence: a smaller ``priority`` number wins (as in sdcio); the running config is below every snippet.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from yang.libyang_adapter import DataTree, SchemaContext, YangFailure, YangIssue
from yang.snippets import coerce, item_path, without

MAX_VALIDATION_ROUNDS = 500
_UNIQUE = re.compile(r'Unique data leaf\(s\) "([^"]*)"')
_REFERENCE = re.compile(r'^Invalid (?:leafref|instance-identifier) value "(.*?)"|^Invalid instance-identifier "(.*?)"')
_NOT_A_CONDITION = ("Invalid ", "Mandatory node", "Duplicate instance", "Unique data", "Too many", "Too few")
_KEY = re.compile(r"=(?:'([^']*)'|\"([^\"]*)\")\]")
_PREDICATE = re.compile(r"\[(?:[^\]'\"]|'[^']*'|\"[^\"]*\")*\]")
_QUOTED = re.compile(r'^Invalid [^"]*"(.*)"')
RUNNING_PRIORITY = 2**31 - 1


@dataclass(frozen=True, order=True)
class Source:
    """Where a snippet came from: a Config resource (or the running config, or a file) and what produced it."""

    kind: str
    namespace: str
    name: str
    reconciler: str = ""
    intent: str = ""
    file: str = ""  # a file the data was read from (the running config), for messages with a line number

    def ref(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"

    def describe(self, line: int = 0) -> str:
        extra = []
        if self.file:
            extra.append(f"{self.file}:{line}" if line else self.file)
        if self.reconciler:
            extra.append(f"reconciler {self.reconciler}")
        if self.intent:
            extra.append(f"intent {self.intent}")
        return self.ref() + (f" ({', '.join(extra)})" if extra else "")


@dataclass(frozen=True)
class Snippet:
    """One config value of a Config resource; ``strict`` when it was written as RFC 7951 JSON (or XML) text."""

    source: Source
    priority: int
    value: Any
    strict: bool = False
    text: str = ""  # the text ``value`` was read from, to find line numbers for messages
    edits: bool = True  # a Config snippet, whose null and operation annotations delete; data only otherwise


@dataclass(frozen=True)
class Owner:
    source: Source
    priority: int
    value: Any


@dataclass
class Problem:
    """A device-level error: data path, message, the snippets behind the offending data, and its follow-ons."""

    path: str
    message: str
    sources: tuple[Source, ...] = ()
    line: int = 0  # line in the source's file, when known
    follow_ons: list[Problem] = field(default_factory=list)


@dataclass
class Override:
    path: str
    loser: Owner
    winner: Owner


@dataclass(frozen=True)
class Deletion:
    """A snippet deleted ``path``; ``removed`` are the leaves it took away, with the owner each had."""

    path: str
    by: Owner
    removed: tuple[tuple[str, Owner], ...]


@dataclass
class Merged:
    """Result of merging and validating one device."""

    config: dict[str, Any] = field(default_factory=dict)  # RFC 7951, as merged (before validation)
    owners: dict[str, Owner] = field(default_factory=dict)
    overrides: list[Override] = field(default_factory=list)
    deletions: list[Deletion] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # root causes; follow-ons hang below them
    xml: str = ""  # NETCONF payload body when the device is valid

    @property
    def valid(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Hole:
    """Data taken out of the device tree (a value dropped, a subtree removed) and the root problem that took it."""

    path: str
    scope: str  # the list entry the data was in ("" at the top): conditions there may have read it
    values: frozenset[str]  # values of the leaves taken out: references to them now dangle
    root: Problem


@dataclass
class _Validation:
    tree: DataTree
    context: SchemaContext
    merged: Merged
    holes: list[_Hole] = field(default_factory=list)


def merge_device(context: SchemaContext, snippets: list[Snippet], running: Snippet | None = None) -> Merged:
    """Running config first, then snippets from lowest to highest precedence; validate the result."""
    merged = Merged()
    ordered = sorted(snippets, key=lambda s: (-s.priority, s.source))
    state = _Validation(context.empty(), context, merged)
    try:
        for snippet in ([running] if running else []) + ordered:
            _add(state, snippet)
        merged.config = json.loads(state.tree.print("json"))
        _validate(state)
        if merged.valid:
            merged.xml = state.tree.print("xml")
    finally:
        state.tree.free()
    return merged


def _add(state: _Validation, snippet: Snippet) -> None:
    coerced = coerce(state.context, snippet.value, strict=snippet.strict, edits=snippet.edits)
    for issue in coerced.issues:  # found in one walk over the input: independent of each other and of removals
        # a duplicate (a list entry, a leaf-list value, a member given twice) is an error; the first one stays
        line = issue.line or locate_line(snippet.text, issue.path)
        problem = Problem(issue.path, issue.message, (snippet.source,), line)
        kept = issue.path in coerced.leaves or issue.path in coerced.entries or issue.path in coerced.repeated
        _report(state, problem, [] if kept else [issue.path], root=True)
    for path in coerced.deletes:
        _delete(state, snippet, path)
    part, dropped = _parse(state, snippet, coerced.data) if coerced.data else (None, [])
    _own(snippet, {p: v for p, v in coerced.leaves.items() if not any(is_under(p, d) for d in dropped)}, state.merged)
    if part is not None:
        with part:  # merge() spends ``part``; the ``with`` frees it should merge() fail before taking it
            state.tree.merge(part)


def _parse(state: _Validation, snippet: Snippet, data: dict[str, Any]) -> tuple[DataTree | None, list[str]]:
    """libyang's parse of a coerced snippet and the data paths left out: a node its JSON parser rejects (a union
    value whose JSON type no member type that accepts the text has, RFC 7951 §6.10) is an error and is dropped,
    and the rest is parsed again; an error that names no single node drops the snippet."""
    dropped: list[str] = []
    for _ in range(MAX_VALIDATION_ROUNDS):
        try:
            return state.context.parse(json.dumps(data)), dropped
        except YangFailure as failure:
            path, rest = _droppable(data, failure.issues)
            for issue in failure.issues:
                problem = Problem(issue.path, issue.message, (snippet.source,), locate_line(snippet.text, issue.path))
                _report(state, problem, [path] if rest is not None else [], root=rest is not None)
            if rest is None:
                return None, dropped
            data = rest
            dropped.append(path)
    _report(state, Problem("/", f"stopped after {MAX_VALIDATION_ROUNDS} values libyang does not parse",
                           (snippet.source,)))
    return None, dropped


def _droppable(data: dict[str, Any], issues: list[YangIssue]) -> tuple[str, dict[str, Any] | None]:
    """The node libyang's one parse error is about and ``data`` without it (None: it names no single node). An
    error about a leaf-list value names the leaf-list and quotes the value: the item is dropped."""
    path = issues[0].path if len(issues) == 1 else ""
    quoted = _QUOTED.match(issues[0].message)
    if path and quoted is not None:
        rest = without(data, item_path(path, quoted[1]))
        if rest is not None:
            return item_path(path, quoted[1]), rest
    return path, without(data, path) if path else None


def _delete(state: _Validation, snippet: Snippet, path: str) -> None:
    """Apply an explicit delete of ``path`` (a leaf, an entry, a container, every entry of a list)."""
    merged = state.merged
    by = Owner(snippet.source, snippet.priority, None)
    for found in state.tree.find(path):
        state.tree.remove(found)
    removed = tuple((p, o) for p, o in merged.owners.items() if is_under(p, path))
    for leaf, owner in removed:
        del merged.owners[leaf]
        if owner.priority == snippet.priority and owner.source != snippet.source:
            message = (f"conflicting edits at equal priority {owner.priority}: {json.dumps(owner.value)} from "
                       f"{owner.source.ref()}, deleted by {snippet.source.ref()}")
            _report(state, Problem(leaf, message, (owner.source, snippet.source)))
    merged.deletions.append(Deletion(path, by, removed))


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


def _validate(state: _Validation) -> None:
    """Validate, remove what the error points at, validate again: until valid, stuck, or out of rounds.

    Stuck means a removal brought nothing new: libyang adds a removed default node again, and when even its
    nearest explicit ancestor keeps coming back (a default top-level container) there is no progress.
    """
    removed_so_far: set[str] = set()
    for _ in range(MAX_VALIDATION_ROUNDS):
        issue = state.tree.validate()
        if issue is None:
            return
        removed = _record_and_remove(state, issue)
        if not removed or removed_so_far.issuperset(removed):
            _report(state, Problem(issue.path, "validation cannot continue past this error: removing the data "
                                               "behind it does not make it go away"))
            return
        removed_so_far.update(removed)
    state.merged.problems.append(Problem("/", f"stopped after {MAX_VALIDATION_ROUNDS} validation errors"))


def _record_and_remove(state: _Validation, issue: YangIssue) -> list[str]:
    """Report ``issue`` with its sources and remove the offending data; the data paths removed."""
    tree, owners = state.tree, state.merged.owners
    if not issue.schema_location:
        removed = [r for r in (tree.remove(p) for p in _offending(issue) if issue.path) if r]
        removed = removed or [r for r in [tree.remove(issue.path) if issue.path else None] if r]
        _report(state, Problem(issue.path, issue.message, sources_for(owners, issue.path)), removed)
        return removed
    parent_schema, missing = split_last(issue.path)
    instances = tree.find(f"{parent_schema}[{_absent(state, issue, parent_schema, missing)}]") if missing else []
    if not instances:
        removed = [r for r in (tree.remove(p) for p in tree.find(parent_schema)) if r] if parent_schema else []
        _report(state, Problem(issue.path, issue.message, sources_for(owners, parent_schema)), removed)
        return removed
    removed = []
    for parent in instances:
        gone = [r for r in [tree.remove(parent)] if r]
        _report(state, Problem(f"{parent}/{missing}", issue.message, sources_for(owners, parent)), gone)
        removed += gone
    return removed


def _absent(state: _Validation, issue: YangIssue, parent_schema: str, missing: str) -> str:
    """XPath predicate for "``missing`` is absent": a mandatory choice is absent when none of its members is."""
    if not issue.message.startswith("Mandatory choice"):
        return f"not({missing})"
    members = state.context.choice_members(parent_schema, missing.rpartition(":")[2])
    return " and ".join(f"not({m})" for m in members) or "false()"


def _report(state: _Validation, problem: Problem, removed: list[str] | None = None, root: bool = False) -> None:
    """File ``problem`` under the root problem whose removed data caused it (unless ``root``), or as a root;
    remember what it removed (``removed``: data paths) so later errors can be traced back to it."""
    cause = None if root else _cause(state, problem)
    if cause is None:
        state.merged.problems.append(problem)
    elif not _repeats(cause, problem):
        cause.follow_ons.append(problem)
    origin = cause or problem
    for path in removed or []:
        values = frozenset(_text(o.value) for p, o in state.merged.owners.items() if is_under(p, path))
        state.holes.append(_Hole(path, entry_scope(path), values | _key_values(path), origin))


def _repeats(cause: Problem, problem: Problem) -> bool:
    """Whether ``problem`` is the error of ``cause`` (or of one of its follow-ons) again: libyang adds a removed
    non-presence container back with its defaults, and a ``must`` that does not depend on the removed data
    fails once more on the same node (then the stage removes the entry around it)."""
    seen = [cause, *cause.follow_ons]
    return any((p.path, p.message) == (problem.path, problem.message) for p in seen)


def _cause(state: _Validation, problem: Problem) -> Problem | None:
    reference = _REFERENCE.match(problem.message)
    target = next((g for g in reference.groups() if g is not None), None) if reference else None
    conditions: list[str] | None = None
    for hole in state.holes:
        if is_under(problem.path, hole.path) or (target is not None and target in hole.values):
            return hole.root
        if hole.scope and is_under(problem.path, hole.scope) and not problem.message.startswith(_NOT_A_CONDITION):
            if conditions is None:
                conditions = state.context.conditions(schema_path(problem.path))
            name = split_last(_PREDICATE.sub("", hole.path))[1].rpartition(":")[2]
            if not conditions or any(re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", c) for c in conditions):
                return hole.root
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _key_values(path: str) -> frozenset[str]:
    """The key values in the predicates of ``path`` (``[name='e1']`` → ``e1``)."""
    return frozenset(single or double for single, double in _KEY.findall(path))


def _offending(issue: YangIssue) -> list[str]:
    """What to remove for a data-located error: the node, or only the clashing leaves of a unique entry."""
    unique = _UNIQUE.match(issue.message)
    if unique:
        return [f"{issue.path}/{leaf}" for leaf in unique.group(1).split()]
    return [issue.path]


def entry_scope(path: str) -> str:
    """The list entry ``path`` lies in (``/a/b[k='1']/c`` → ``/a/b[k='1']``); empty when it is in none."""
    while path:
        if path.endswith("]"):
            return path
        path, _ = split_last(path)
    return ""


def schema_path(path: str) -> str:
    """The schema path of data ``path``: predicates dropped."""
    return _PREDICATE.sub("", path)


def locate_line(text: str, path: str) -> int:
    """The line of ``text`` (JSON) where the data at ``path`` most likely is: each step's member name (and key
    value) searched after the previous one. 0 when ``text`` is empty or a step is not found."""
    if not text or not path.startswith("/"):
        return 0
    at = 0
    for step in _steps(path):
        name = step.split("[", 1)[0].rpartition(":")[2]
        found = re.compile(rf'"(?:[\w.-]+:)?{re.escape(name)}"\s*:').search(text, at)
        if found is None:
            return 0
        at = found.start()
        for value in sorted(_key_values(step)):
            keyed = text.find(json.dumps(value), at)
            at = keyed if keyed >= 0 else at
    return text.count("\n", 0, at) + 1


def _steps(path: str) -> list[str]:
    steps = []
    while path and path != "/":
        path, last = split_last(path)
        steps.append(last)
    return steps[::-1]


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
