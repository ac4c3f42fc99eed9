"""The selector engine: decides which objects a reconciler, a ``client_list`` call or an API ``List`` sees.

Choreo selectors are not Kubernetes label selectors. Every key is a CEL expression evaluated as
``input.<expr>`` on the whole object, the result is stringified the way Go's ``%v`` does it, and that
string is compared with the wanted value (spec/choreo-compat.md §3.5). This module reproduces those
semantics exactly, including "an evaluation error means not found", so that projects written for the
reference select the same objects here.

Where we deliberately differ (spec §7):

* an absent selector selects everything unless the caller asks for the reference behaviour (§7.6);
* watch selectors (§7.3) work: a ``match`` entry is either a *literal* filter on the watched object or,
  as in the reference, a *field mapping* from the watched object to the for-objects (see
  :class:`WatchSelector`).
* an expression that is not valid CEL (a syntax error, garbage) is an ``Invalid`` error where the selector
  is built, naming the expression; the reference accepts it and silently never matches (§7.9).

CEL comes from ``common-expression-language`` (module ``cel``, Rust-backed). Compiled programs are
cached per expression string, and all the expressions of one selector are evaluated against one shared
``cel.Context`` so that an object is converted to CEL values once, not once per expression.
"""

from __future__ import annotations

import functools
import math
import re
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# The cel package's __init__ imports its interactive CLI (prompt_toolkit, ~170 ms) that choreo never uses;
# registering an empty placeholder for that submodule first keeps every choreo command fast to start.
sys.modules.setdefault("cel.cli", types.ModuleType("cel.cli"))
import cel  # noqa: E402

from choreo.errors import Invalid  # noqa: E402

__all__ = [
    "OPERATORS",
    "Requirement",
    "Selector",
    "WatchSelector",
    "compile_selector",
    "eval_path",
    "field_selector",
    "go_string",
]

_Ctx = cel.Context | None
_NOT_FOUND: tuple[bool, object] = (False, None)
_SELECTOR_KEYS = frozenset({"match", "matchExpressions"})
_EXPRESSION_KEYS = frozenset({"expression", "operator", "values"})
_GO_INT = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_PREFIX = "input."  # every selector expression is a path on the object called input
_SHOWN_EXPRESSION = 80  # an expression quoted in an error message is cut after this many characters


# --------------------------------------------------------------------------------------------------
# CEL evaluation


@functools.lru_cache(maxsize=4096)
def _program(expr: str) -> cel.Program | None:
    """Compile ``input.<expr>`` once per expression string; ``None`` when it does not compile."""
    try:
        return cel.compile(f"{_PREFIX}{expr}")
    except Exception:
        return None


def syntax_error(expr: str) -> str | None:
    """Why ``expr`` is not a CEL expression (one line, columns counted in ``expr``); ``None`` when it is.

    Only syntax counts: an expression that compiles but names a field an object lacks is "not found" on
    that object, as in the reference."""
    if _program(expr) is not None:
        return None
    try:
        cel.compile(f"{_PREFIX}{expr}")
    except Exception as exc:  # the cel package raises ValueError with ANTLR's multi-line report
        return _first_cel_error(str(exc))
    return None  # compiled now: a transient failure earlier


_CEL_POSITION = re.compile(r"ERROR: <input>:(\d+):(\d+): (.*)")


def _first_cel_error(report: str) -> str:
    """``Syntax error: ... (column 7)`` from the library's report, columns shifted past ``input.``."""
    found = _CEL_POSITION.search(report)
    if not found:
        return report.splitlines()[0] if report else "does not compile"
    column = max(int(found.group(2)) - len(_PREFIX), 0)
    reason = found.group(3).split(" expecting ")[0].strip()  # ANTLR lists every token it could take
    return f"{_cut(reason)} (column {column})"


def _checked_expression(expr: str, where: str) -> str:
    """``expr`` when it is valid CEL, else ``Invalid`` naming it: a selector that cannot compile would
    silently select nothing, so it is refused where it is declared."""
    problem = syntax_error(expr)
    if problem:
        raise Invalid(f"{where}: {_cut(expr)!r} is not a valid CEL expression: {problem}")
    return expr


def _cut(text: str) -> str:
    """``text`` for an error message: a long expression (or a long token quoted from it) is cut short."""
    return text if len(text) <= _SHOWN_EXPRESSION else text[: _SHOWN_EXPRESSION - 1] + "…"


def _context(obj: Mapping[str, Any]) -> _Ctx:
    """One evaluation context per object, shared by every expression evaluated on it.

    ``None`` when the object holds a value CEL cannot represent: every expression is then "not found".
    """
    try:
        return cel.Context(variables={"input": obj})
    except Exception:
        return None


def _evaluate(expr: str, ctx: _Ctx) -> tuple[bool, object]:
    program = _program(expr)
    if program is None or ctx is None:
        return _NOT_FOUND
    try:
        return True, program.execute(ctx)
    except Exception:  # a missing field, a type error, a value CEL cannot represent: all "not found"
        return _NOT_FOUND


def _evaluate_string(expr: str, ctx: _Ctx) -> str | None:
    """The ``%v`` string of ``expr`` on the context's object, or ``None`` when it does not evaluate."""
    found, value = _evaluate(expr, ctx)
    return go_string(value) if found else None


def eval_path(expr: str, obj: dict[str, Any]) -> tuple[bool, object]:
    """Evaluate CEL ``input.<expr>`` with ``input = obj``.

    Returns ``(True, value)``, or ``(False, None)`` when the expression does not compile or fails to
    evaluate (a missing field, a type error ...).
    """
    return _evaluate(expr, _context(obj))


# --------------------------------------------------------------------------------------------------
# Go %v formatting


def go_string(value: object) -> str:
    """Format ``value`` like Go's ``%v`` does for the values a CEL evaluation returns.

    ``True`` -> ``true``, ``None`` -> ``<nil>``, ``[1, "a"]`` -> ``[1 a]``, ``{"b": 1, "a": 2}`` ->
    ``map[a:2 b:1]`` (keys sorted, as Go prints maps). Numbers: see :func:`_go_float`.
    """
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, bytes | bytearray):
        return "[" + " ".join(str(b) for b in value) + "]"
    if isinstance(value, Mapping):
        items = sorted((go_string(k), go_string(v)) for k, v in value.items())
        return "map[" + " ".join(f"{k}:{v}" for k, v in items) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_string(item) for item in value) + "]"
    return str(value)


def _go_float(value: float) -> str:
    """Shortest round-trip digits, fixed notation for decimal exponents -4..20, else Go's ``1e+21``.

    The reference holds every number as float64, so ``1`` and ``1.0`` both print ``1``; we keep that.
    Go itself switches to exponent notation from 1e+06 on; we only do so from 1e+21, so that integral
    floats always print like the equal int (numbers keep their JSON type here, spec §7.4) and
    ``spec.size: "1000000"`` matches whether the value is stored as ``1000000`` or ``1000000.0``.
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    shortest = Decimal(repr(value))
    exponent = shortest.adjusted()
    if -4 <= exponent < 21:
        return format(shortest, "f")
    return repr(value)  # Python and Go agree on the exponent form: 1e-05, 1.5e+300


# --------------------------------------------------------------------------------------------------
# Requirements and operators


def _parse_go_int(text: str) -> int | None:
    """``strconv.ParseInt(text, 10, 64)``: optional sign, decimal digits, int64 range; else ``None``."""
    if not _GO_INT.fullmatch(text):
        return None
    number = int(text)
    return number if _INT64_MIN <= number <= _INT64_MAX else None


def _in(found: bool, value: str, wanted: tuple[str, ...]) -> bool:
    return found and value in wanted


def _not_in(found: bool, value: str, wanted: tuple[str, ...]) -> bool:
    return not found or value not in wanted


def _exists(found: bool, value: str, wanted: tuple[str, ...]) -> bool:
    return found


def _does_not_exist(found: bool, value: str, wanted: tuple[str, ...]) -> bool:
    return not found


def _compare(greater: bool) -> Callable[[bool, str, tuple[str, ...]], bool]:
    def compare(found: bool, value: str, wanted: tuple[str, ...]) -> bool:
        actual = _parse_go_int(value) if found else None
        limit = _parse_go_int(wanted[0])
        if actual is None or limit is None:
            return False
        return actual > limit if greater else actual < limit

    return compare


_Match = Callable[[bool, str, tuple[str, ...]], bool]

#: operator name -> (match function, allowed number of values as (min, max); max None = unbounded)
OPERATORS: dict[str, tuple[_Match, tuple[int, int | None]]] = {
    "Equals": (_in, (1, 1)),
    "DoubleEquals": (_in, (1, 1)),
    "NotEquals": (_not_in, (1, 1)),
    "In": (_in, (1, None)),
    "NotIn": (_not_in, (1, None)),
    "Exists": (_exists, (0, 0)),
    "DoesNotExist": (_does_not_exist, (0, 0)),
    "GreaterThan": (_compare(greater=True), (1, 1)),
    "LessThan": (_compare(greater=False), (1, 1)),
}


@dataclass(frozen=True)
class Requirement:
    """One condition of a selector: ``expression`` evaluated on the object, ``operator``, ``values``."""

    expression: str
    operator: str
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_requirement(self)

    def matches_context(self, ctx: _Ctx) -> bool:
        found, value = _evaluate(self.expression, ctx)
        match, _ = OPERATORS[self.operator]
        return match(found, go_string(value) if found else "", self.values)


def _check_requirement(req: Requirement) -> None:
    _checked_expression(req.expression, "selector expression")
    if req.operator not in OPERATORS:
        raise Invalid(
            f"selector expression {req.expression!r}: unknown operator {req.operator!r} "
            f"(expected one of {', '.join(OPERATORS)})"
        )
    low, high = OPERATORS[req.operator][1]
    count = len(req.values)
    if count < low or (high is not None and count > high):
        wanted = "no values" if high == 0 else "exactly 1 value" if high == 1 else "at least 1 value"
        raise Invalid(f"selector expression {req.expression!r}: operator {req.operator} takes {wanted}, got {count}")
    if req.operator in ("GreaterThan", "LessThan") and _parse_go_int(req.values[0]) is None:
        raise Invalid(
            f"selector expression {req.expression!r}: operator {req.operator} needs an integer value, "
            f"got {req.values[0]!r}"
        )


# --------------------------------------------------------------------------------------------------
# Selector


class Selector:
    """An AND of requirements, or one of the two special selectors *everything* and *nothing*."""

    __slots__ = ("_nothing", "requirements")

    def __init__(self, requirements: Iterable[Requirement] = (), *, nothing: bool = False) -> None:
        self.requirements: tuple[Requirement, ...] = tuple(requirements)
        self._nothing = nothing

    @property
    def everything(self) -> bool:
        """True when the selector selects every object."""
        return not self._nothing and not self.requirements

    @property
    def nothing(self) -> bool:
        """True when the selector selects no object at all."""
        return self._nothing

    def matches(self, obj: dict[str, Any]) -> bool:
        if self._nothing:
            return False
        if not self.requirements:
            return True
        return self.matches_context(_context(obj))

    def matches_context(self, ctx: _Ctx) -> bool:
        """:meth:`matches` for an object already wrapped in an evaluation context."""
        if self._nothing:
            return False
        return all(req.matches_context(ctx) for req in self.requirements)

    def __repr__(self) -> str:
        if self._nothing:
            return "Selector(nothing)"
        if not self.requirements:
            return "Selector(everything)"
        return f"Selector({list(self.requirements)!r})"


_EVERYTHING = Selector()
_NOTHING = Selector(nothing=True)


def _scalar(value: object, where: str) -> str:
    """A selector value as the string it is compared with; YAML may give us ints, floats or bools."""
    if isinstance(value, str | int | float):  # bool is an int
        return go_string(value)
    raise Invalid(f"{where}: value must be a string, number or boolean, got {_type_name(value)}")


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _expression(key: object, where: str) -> str:
    if key is None:
        raise Invalid(f"{where}: expression is required")
    if not isinstance(key, str) or not key.strip():
        got = repr(key) if isinstance(key, str) else _type_name(key)
        raise Invalid(f"{where}: expression must be a non-empty string, got {got}")
    return key


def _check_shape(spec: object) -> dict[str, Any]:
    if not isinstance(spec, Mapping):
        raise Invalid(f"selector must be a map with match/matchExpressions, got {_type_name(spec)}")
    unknown = sorted(str(key) for key in spec if key not in _SELECTOR_KEYS)
    if unknown:
        raise Invalid(f"selector: unknown field(s) {', '.join(unknown)} (expected match, matchExpressions)")
    return dict(spec)


def _match_entries(match: object) -> list[tuple[str, str]]:
    """The ``match`` map as ``(expression, value)`` pairs, validated."""
    if match is None:
        return []
    if not isinstance(match, Mapping):
        raise Invalid(f"selector match must be a map of expression: value, got {_type_name(match)}")
    entries = []
    for key, value in match.items():
        expr = _expression(key, "selector match")
        entries.append((expr, _scalar(value, f"selector match {expr!r}")))
    return entries


def _match_expressions(items: object) -> list[Requirement]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise Invalid(f"selector matchExpressions must be a list, got {_type_name(items)}")
    return [_match_expression(item) for item in items]


def _match_expression(item: object) -> Requirement:
    if not isinstance(item, Mapping):
        raise Invalid(f"selector matchExpressions entry must be a map, got {_type_name(item)}")
    unknown = sorted(str(key) for key in item if key not in _EXPRESSION_KEYS)
    if unknown:  # first: Kubernetes' {key, operator, values} is a likely mistake, and it has no expression
        where = "selector matchExpressions entry"
        if "expression" in item:
            where = f"selector expression {item['expression']!r}"
        raise Invalid(f"{where}: unknown field(s) {', '.join(unknown)} (expected expression, operator, values)")
    expr = _expression(item.get("expression"), "selector matchExpressions entry")
    operator = item.get("operator")
    if operator is None:
        raise Invalid(f"selector expression {expr!r}: operator is required")
    if not isinstance(operator, str):
        raise Invalid(f"selector expression {expr!r}: operator must be a string, got {_type_name(operator)}")
    values = item.get("values")
    if values is None:
        values = []
    if not isinstance(values, list):
        raise Invalid(f"selector expression {expr!r}: values must be a list, got {_type_name(values)}")
    where = f"selector expression {expr!r}"
    return Requirement(expr, operator, tuple(_scalar(value, where) for value in values))


def compile_selector(spec: dict[str, Any] | None, *, absent_means_everything: bool = True) -> Selector:
    """Build a :class:`Selector` from ``{match: {expr: value}, matchExpressions: [...]}``.

    ``None`` selects everything (spec §7.6), or nothing with ``absent_means_everything=False`` (the
    reference behaviour); ``{}`` selects everything. Each ``match`` entry is an ``Equals`` requirement.
    A malformed selector, an unknown operator or an expression that is not valid CEL raises
    :class:`~choreo.errors.Invalid` (the reference accepts it and silently never matches: spec §7.9).
    """
    if spec is None:
        return _EVERYTHING if absent_means_everything else _NOTHING
    spec = _check_shape(spec)
    requirements = [_equals(expr, value) for expr, value in _match_entries(spec.get("match"))]
    requirements += _match_expressions(spec.get("matchExpressions"))
    return Selector(requirements) if requirements else _EVERYTHING


def field_selector(pairs: dict[str, str] | None) -> Selector:
    """The selector of ``client_list`` and API ``List``: every ``expr: value`` pair must be equal."""
    if not pairs:
        return _EVERYTHING
    if not isinstance(pairs, Mapping):
        raise Invalid(f"field selector must be a map of expression: value, got {_type_name(pairs)}")
    return Selector(_equals(expr, value) for expr, value in _match_entries(pairs))


def _equals(expr: str, value: str) -> Requirement:
    return Requirement(expr, "Equals", (value,))


# --------------------------------------------------------------------------------------------------
# Watch selectors


class WatchSelector:
    """Which for-objects an event on a watched object enqueues (spec §3.4, our decision §7.3).

    Each ``match`` entry ``K: V`` is classified per call of :meth:`targets`:

    * **mapping** (the reference's parent-child form) when ``V`` compiles and evaluates without error
      on at least one of the for-objects. ``K`` is evaluated on the watched object, giving ``x``; a
      for-object is a target only if ``V`` evaluated on it prints the same as ``x``. If ``K`` does not
      evaluate on the watched object, the event enqueues nothing. Example: ``metadata.name: spec.node``
      makes an event on Node ``n1`` enqueue the for-objects whose ``spec.node`` is ``n1``.
    * **literal** otherwise: ``K`` evaluated on the watched object must print as ``V``. Examples:
      ``metadata.name: kubenet.default``, ``status.conditions.exists(c, c.type == 'Ready'): "true"``.

    So a value that is not a path of any for-object (``kubenet.default``, ``true``, ``upf.free5gc.io``)
    is always literal, and with no for-objects there is nothing to enqueue either way. ``matchExpressions``
    filter the watched object with the usual operator semantics. When every literal entry and match
    expression holds, all for-objects passing the for-selector and every mapping entry are targets. A
    selector that is ``None`` or ``{}`` makes every event enqueue every for-object passing the
    for-selector.
    """

    __slots__ = ("_entries", "_filter")

    def __init__(self, spec: dict[str, Any] | None) -> None:
        if spec is None:
            spec = {}
        spec = _check_shape(spec)
        entries = _match_entries(spec.get("match"))
        for key, _ in entries:
            _checked_expression(key, "selector match")
        self._entries: tuple[tuple[str, str], ...] = tuple(entries)
        self._filter = Selector(_match_expressions(spec.get("matchExpressions")))

    def targets(
        self, watched: dict[str, Any], for_objects: list[dict[str, Any]], for_selector: Selector
    ) -> list[dict[str, Any]]:
        """The for-objects to enqueue for an event on ``watched``, sorted by (namespace, name)."""
        if for_selector.nothing or not for_objects:
            return []
        if not self._entries and not self._filter.requirements:
            return sorted((obj for obj in for_objects if for_selector.matches(obj)), key=_object_key)
        watched_ctx = _context(watched)
        if not self._filter.matches_context(watched_ctx):
            return []
        contexts = [_context(obj) for obj in for_objects]
        keep = self._mapped(watched_ctx, contexts)
        if keep is None:
            return []
        picked = [
            obj
            for obj, ctx, kept in zip(for_objects, contexts, keep, strict=True)
            if kept and for_selector.matches_context(ctx)
        ]
        return sorted(picked, key=_object_key)

    def _mapped(self, watched_ctx: _Ctx, contexts: list[_Ctx]) -> list[bool] | None:
        """Per for-object, whether every mapping entry holds; ``None`` when a literal entry fails."""
        keep = [True] * len(contexts)
        for key, value in self._entries:
            actual = _evaluate_string(key, watched_ctx)
            printed = _printed(value, contexts)
            if printed is None:  # literal entry: a filter on the watched object
                if actual != value:
                    return None
            elif actual is None:  # mapping entry whose key does not resolve on the watched object
                return None
            else:
                keep = [kept and text == actual for kept, text in zip(keep, printed, strict=True)]
        return keep


def _printed(expr: str, contexts: list[_Ctx]) -> list[str | None] | None:
    """``expr`` printed on each for-object, or ``None`` when it resolves on none of them (a literal)."""
    if _program(expr) is None:
        return None
    printed = [_evaluate_string(expr, ctx) for ctx in contexts]
    return printed if any(text is not None for text in printed) else None


def _object_key(obj: dict[str, Any]) -> tuple[str, str]:
    metadata = obj.get("metadata") or {}
    return (metadata.get("namespace") or "", metadata.get("name") or "")
