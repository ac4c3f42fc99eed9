"""CEL validation rules of a CRD schema (``x-kubernetes-validations``), compiled once and enforced on writes.

Why: Kubernetes compiles every rule of a CRD when the CRD is created (a rule that does not compile refuses
the CRD) and checks every object against them on create and update; a rule that fails is a 422 field error at
the schema node that carries it. Before this module choreo accepted the rules and enforced none, so an object
Kubernetes refuses was stored here. :mod:`choreo.apiserver.openapi` keeps the compiled rules with its
compiled schema nodes and calls :func:`evaluate` on its walk; :mod:`choreo.apiserver.crdcheck` calls
:func:`rule_problems` when a CRD is registered.

CEL comes from ``common-expression-language`` (module ``cel``, Rust-backed), which parses but does not
type-check. So, unlike Kubernetes, a rule that names a field the schema does not declare compiles and fails
when evaluated (``no such key``). The library has the standard macros (``has``, ``all``, ``exists``,
``exists_one``, ``map``, ``filter``), ``size``, ``contains``/``startsWith``/``endsWith``/``matches``,
conversions, ``duration``/``timestamp`` and optionals; the Kubernetes string, list and regex extensions are
added here in Python (:data:`EXTENSIONS`). A function neither has (``quantity``, ``url``, ``ip``, ``cidr``,
``format`` ...) is a compile error naming it, not a rule that silently fails on every object.

Error messages follow Kubernetes, which quotes the schema node's *type* as the invalid value
(``.spec: Invalid value: "object": failed rule: self.a < self.b``).
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
import sys
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# The cel package's __init__ imports its interactive CLI (prompt_toolkit) that choreo never uses; see
# choreo.runtime.selectors.
sys.modules.setdefault("cel.cli", types.ModuleType("cel.cli"))
import cel  # noqa: E402

from choreo.apiserver.openapi import quoted_value  # noqa: E402

REASONS = ("FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired")
RULE_KEYS = frozenset({"rule", "message", "messageExpression", "reason", "fieldPath", "optionalOldSelf"})

# ---------------------------------------------------------------------------------------------------
# The Kubernetes CEL extensions the library lacks (strings, lists, regex), in Python
# ---------------------------------------------------------------------------------------------------


class _NoOverload(TypeError):
    """Arguments of types a function has no overload for."""


def _want(condition: bool) -> None:
    if not condition:
        raise _NoOverload("no such overload")


def _str(*values: Any) -> None:
    _want(all(isinstance(v, str) for v in values))


def _int(*values: Any) -> None:
    _want(all(isinstance(v, int) and not isinstance(v, bool) for v in values))


def _char_at(text: Any, index: Any) -> str:
    _str(text)
    _int(index)
    if not 0 <= index <= len(text):
        raise IndexError(f"index out of range: {index}")
    return text[index] if index < len(text) else ""


def _index_of(target: Any, item: Any, start: Any = 0) -> int:
    _int(start)
    if isinstance(target, list):
        return next((i for i, x in enumerate(target) if i >= start and type(x) is type(item) and x == item), -1)
    _str(target, item)
    if not 0 <= start <= len(target):
        raise IndexError(f"index out of range: {start}")
    return str(target).find(item, start)


def _last_index_of(target: Any, item: Any, *end: Any) -> int:
    if isinstance(target, list):
        found = [i for i, x in enumerate(target) if type(x) is type(item) and x == item]
        return found[-1] if found else -1
    _str(target, item)
    _int(*end)
    last = end[0] if end else len(target)
    if not 0 <= last <= len(target):
        raise IndexError(f"index out of range: {last}")
    return str(target).rfind(item, 0, last + len(item))


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _lower_ascii(text: Any) -> str:
    _str(text)
    return str(text).translate(_ASCII_LOWER)


def _upper_ascii(text: Any) -> str:
    _str(text)
    return str(text).translate(_ASCII_UPPER)


def _replace(text: Any, old: Any, new: Any, count: Any = -1) -> str:
    _str(text, old, new)
    _int(count)
    return str(text).replace(old, new, count if count >= 0 else -1)


def _split(text: Any, separator: Any, count: Any = -1) -> list[str]:
    """Go's strings.SplitN: 0 parts is an empty list, a negative count splits everywhere."""
    _str(text, separator)
    _int(count)
    if count == 0:
        return []
    if separator == "":
        chars = list(text)
        return chars if count < 0 or count >= len(chars) else [*chars[: count - 1], "".join(chars[count - 1 :])]
    return str(text).split(separator, count - 1 if count > 0 else -1)


def _substring(text: Any, start: Any, *end: Any) -> str:
    _str(text)
    _int(start, *end)
    stop = end[0] if end else len(text)
    if not 0 <= start <= stop <= len(text):
        raise IndexError(f"index out of range: {start}..{stop}")
    return str(text)[start:stop]


def _trim(text: Any) -> str:
    _str(text)
    return str(text).strip()


def _join(items: Any, separator: Any = "") -> str:
    _want(isinstance(items, list))
    _str(separator, *items)
    return str(separator).join(items)


def _comparable(items: Any) -> list[Any]:
    _want(isinstance(items, list))
    kinds = {float if isinstance(x, int | float) and not isinstance(x, bool) else type(x) for x in items}
    _want(len(kinds) <= 1 and kinds <= {float, str, bool, bytes})
    return list(items)


def _is_sorted(items: Any) -> bool:
    values = _comparable(items)
    return all(a <= b for a, b in itertools.pairwise(values))


def _sum(items: Any) -> Any:
    values = _comparable(items)
    _want(all(isinstance(x, int | float) and not isinstance(x, bool) for x in values))
    return sum(values)


def _min(items: Any) -> Any:
    values = _comparable(items)
    if not values:
        raise ValueError("min called on an empty list")
    return min(values)


def _max(items: Any) -> Any:
    values = _comparable(items)
    if not values:
        raise ValueError("max called on an empty list")
    return max(values)


def _find(text: Any, pattern: Any) -> str:
    _str(text, pattern)
    found = _regex(pattern).search(text)
    return found.group(0) if found else ""


def _find_all(text: Any, pattern: Any, limit: Any = -1) -> list[str]:
    _str(text, pattern)
    _int(limit)
    found = [m.group(0) for m in _regex(pattern).finditer(text)]
    return found if limit < 0 else found[:limit]


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


EXTENSIONS: dict[str, Callable[..., Any]] = {
    # strings
    "charAt": _char_at, "indexOf": _index_of, "lastIndexOf": _last_index_of, "lowerAscii": _lower_ascii,
    "upperAscii": _upper_ascii, "replace": _replace, "split": _split, "substring": _substring, "trim": _trim,
    "join": _join,
    # lists (indexOf and lastIndexOf above take lists too)
    "isSorted": _is_sorted, "sum": _sum, "min": _min, "max": _max,
    # regex
    "find": _find, "findAll": _find_all,
}  # fmt: skip
"""Functions of the Kubernetes CEL environment that choreo implements on top of the library."""

BUILTINS = frozenset(
    {
        "size", "contains", "startsWith", "endsWith", "matches", "string", "bytes", "double", "int", "uint",
        "dyn", "type", "duration", "timestamp", "getFullYear", "getMonth", "getDayOfYear", "getDayOfMonth",
        "getDate", "getDayOfWeek", "getHours", "getMinutes", "getSeconds", "getMilliseconds",
        "of", "none", "ofNonZeroValue", "hasValue", "value", "or", "orValue",
    }
)  # fmt: skip
"""Functions the ``cel`` library evaluates itself (checked one by one against the installed version)."""

# Kubernetes libraries choreo does not have, by one of their function names, to say which library is missing.
_MISSING_LIBRARIES = {
    **dict.fromkeys(("quantity", "isQuantity", "sign", "isInteger", "asInteger", "asApproximateFloat",
                     "isGreaterThan", "isLessThan", "compareTo", "add", "sub"), "quantity"),
    **dict.fromkeys(("url", "isURL", "getScheme", "getHost", "getHostname", "getPort", "getEscapedPath",
                     "getQuery"), "URL"),
    **dict.fromkeys(("ip", "isIP", "cidr", "isCIDR", "family", "isLoopback", "isUnspecified", "isGlobalUnicast",
                     "isLinkLocalMulticast", "isLinkLocalUnicast", "containsIP", "containsCIDR", "prefixLength",
                     "masked", "ip.isCanonical"), "IP and CIDR"),
    **dict.fromkeys(("format", "quote", "reverse"), "strings (format, quote, reverse)"),
    **dict.fromkeys(("greatest", "least", "abs", "ceil", "floor", "round", "trunc", "isNaN", "isInf", "isFinite",
                     "bitAnd", "bitOr", "bitXor", "bitNot", "bitShiftLeft", "bitShiftRight", "sqrt"), "math"),
    **dict.fromkeys(("encode", "decode"), "base64"),
    **dict.fromkeys(("sets.contains", "equivalent", "intersects"), "sets"),
    **dict.fromkeys(("distinct", "flatten", "range", "slice", "sort", "sortBy", "first", "last"), "lists (v2+)"),
    **dict.fromkeys(("authorizer", "path", "group", "resource", "check", "allowed", "reason", "errored"),
                    "authorizer"),
}  # fmt: skip


class _QuietPythonFunctionFailures(logging.Filter):
    """The library logs every Python function that raises, as a warning on the ``cel`` logger; an extension
    failing on a bad value is a field error of the write (``no such overload ... for rule``), not a warning
    for the server's log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(message.startswith(f"Python function '{name}' failed") for name in EXTENSIONS)


logging.getLogger("cel").addFilter(_QuietPythonFunctionFailures())

# ---------------------------------------------------------------------------------------------------
# Compiling
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compiled:
    """One expression, compiled: ``program`` is None and ``problem`` says why when it does not compile."""

    program: cel.Program | None
    problem: str | None
    functions: dict[str, Callable[..., Any]]  # the extensions it calls
    uses_old_self: bool


_CEL_ERROR = re.compile(r"(ERROR: <input>:\d+:\d+: [^\n]*)")


@functools.lru_cache(maxsize=2048)
def compile_expression(expression: str) -> Compiled:
    """``expression`` compiled once per process (each distinct rule text is compiled once)."""
    try:
        program = cel.compile(expression)
    except Exception as exc:  # the library raises ValueError with ANTLR's report, one ERROR line per problem
        found = _CEL_ERROR.search(str(exc))
        problem = found.group(1).split(" expecting ")[0] if found else str(exc).splitlines()[0]
        return Compiled(None, problem, {}, False)
    called = [name for name in program.functions() if name[:1].isalpha()]  # not the operators (_==_, @in, !_)
    unknown = [name for name in called if name not in BUILTINS and name not in EXTENSIONS]
    if unknown:
        name = unknown[0]
        library = _MISSING_LIBRARIES.get(name)
        why = f"choreo's CEL has no {library} library" if library else "choreo's CEL has no such function"
        return Compiled(None, f"undeclared reference to '{name}' ({why})", {}, False)
    functions = {name: EXTENSIONS[name] for name in called if name in EXTENSIONS}
    return Compiled(program, None, functions, "oldSelf" in program.variables())


@dataclass(frozen=True)
class Rule:
    """One entry of ``x-kubernetes-validations``, ready to evaluate."""

    rule: str
    compiled: Compiled
    message: str
    message_expression: Compiled | None
    reason: str
    field_path: str  # choreo's path style, relative to the node: ".name", "" for none
    optional_old_self: bool

    @property
    def transition(self) -> bool:
        return self.compiled.uses_old_self

    def default_message(self) -> str:
        return self.message.strip() if self.message.strip() else f"failed rule: {self.rule.strip()}"

    def error_name(self) -> str:
        """How Kubernetes names a rule in an evaluation error: its message if it has one, else its text."""
        return self.message.strip() or self.rule.strip()


def compile_rules(rules: Any) -> tuple[Rule, ...]:
    """The rules of one schema node (``x-kubernetes-validations``); entries that are not rules are skipped
    (crdcheck refuses them before a CRD is served)."""
    if not isinstance(rules, list):
        return ()
    compiled = []
    for entry in rules:
        if not isinstance(entry, dict) or not isinstance(entry.get("rule"), str):
            continue
        message_expression = entry.get("messageExpression")
        field_path = entry.get("fieldPath")
        path = parse_field_path(field_path) if isinstance(field_path, str) else None
        compiled.append(
            Rule(
                rule=entry["rule"],
                compiled=compile_expression(entry["rule"]),
                message=entry["message"] if isinstance(entry.get("message"), str) else "",
                message_expression=compile_expression(message_expression)
                if isinstance(message_expression, str) and message_expression
                else None,
                reason=entry["reason"] if entry.get("reason") in REASONS else "FieldValueInvalid",
                field_path="".join(f".{step}" for step in path or ()),
                optional_old_self=entry.get("optionalOldSelf") is True,
            )
        )
    return tuple(compiled)


_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\['((?:[^'\\]|\\.)*)'\]|\[\"((?:[^\"\\]|\\.)*)\"\]")


def parse_field_path(path: str) -> list[str] | None:
    """The field names of a rule's ``fieldPath`` (``.spec.name``, ``.labels['a.b/c']``); None when it is not
    one (Kubernetes takes no list indices there)."""
    steps: list[str] = []
    at = 0
    while at < len(path):
        step = _STEP.match(path, at)
        if step is None:
            return None
        steps.append(next(group for group in step.groups() if group is not None))
        at = step.end()
    return steps if steps else None


def rule_problems(entry: Any, correlatable: bool) -> Iterable[tuple[str, str]]:
    """What Kubernetes would refuse in one ``x-kubernetes-validations`` entry, as (key, message) pairs; the key
    is the entry's field at fault. ``correlatable``: whether an old value can be found for this schema node on
    update (not below the items of a list that is not a list-map), which a rule using ``oldSelf`` needs."""
    if not isinstance(entry, dict):
        yield "", "must be a mapping with a rule"
        return
    for key in entry:
        if key not in RULE_KEYS:
            yield str(key), "unknown field"
    rule = entry.get("rule")
    if not isinstance(rule, str) or not rule.strip():
        yield "rule", "Required value: rule is not specified"
        return
    compiled = compile_expression(rule)
    if compiled.problem:
        yield "rule", f"Invalid value: {_quote(rule)}: compilation failed: {compiled.problem}"
    elif compiled.uses_old_self and not correlatable:
        yield "rule", (
            f"Invalid value: {_quote(rule)}: oldSelf cannot be used on the uncorrelatable portion of the schema "
            "(below the items of a list that is not x-kubernetes-list-type: map)"
        )
    message = entry.get("message")
    if message is not None:
        if not isinstance(message, str):
            yield "message", "must be a string"
        elif not message.strip():
            yield "message", f"Invalid value: {_quote(message)}: message must be non-empty if specified"
        elif "\n" in message:
            yield "message", f"Invalid value: {_quote(message)}: message must not contain line breaks"
    expression = entry.get("messageExpression")
    if expression is not None:
        if not isinstance(expression, str) or not expression.strip():
            yield "messageExpression", "Required value: messageExpression must be a non-empty string if specified"
        elif compile_expression(expression).problem:
            problem = compile_expression(expression).problem
            yield "messageExpression", (
                f"Invalid value: {_quote(expression)}: messageExpression compilation failed: {problem}"
            )
    reason = entry.get("reason")
    if reason is not None and reason not in REASONS:
        supported = ", ".join(_quote(r) for r in REASONS)
        yield "reason", f"Unsupported value: {_quote(reason)}: supported values: {supported}"
    field_path = entry.get("fieldPath")
    if field_path is not None and (not isinstance(field_path, str) or parse_field_path(field_path) is None):
        yield "fieldPath", f"Invalid value: {_quote(field_path)}: fieldPath must be a valid path (.name or ['name'])"
    old = entry.get("optionalOldSelf")
    if old is not None:
        if not isinstance(old, bool):
            yield "optionalOldSelf", "must be a boolean"
        elif old and compiled.program is not None and not compiled.uses_old_self:
            yield "optionalOldSelf", "Forbidden: may not be set if the rule does not use oldSelf"


def _quote(value: Any) -> str:
    return quoted_value(value)


# ---------------------------------------------------------------------------------------------------
# Evaluating
# ---------------------------------------------------------------------------------------------------

Found = list[tuple[str, str]]  # (path, message) pairs


def evaluate(
    rules: tuple[Rule, ...], value: Any, old: Any, has_old: bool, path: str, type_name: str, found: Found
) -> None:
    """Check ``value`` (the CEL form of the value at ``path``) against ``rules``, adding a (path, message) to
    ``found`` for each rule it breaks. ``old``: the value at the same place in the stored object, when
    ``has_old``; a rule that uses ``oldSelf`` runs only then (or with ``optionalOldSelf``, always)."""
    shown = _quote(type_name)
    for rule in rules:
        program = rule.compiled.program
        if program is None:  # crdcheck refuses such a CRD; a schema that did not pass it fails closed
            found.append((path, f"Invalid value: {shown}: compilation failed: {rule.compiled.problem}"))
            continue
        variables: dict[str, Any] = {"self": value}
        if rule.transition:
            if rule.optional_old_self:
                variables["oldSelf"] = cel.OptionalValue.of(old) if has_old else cel.OptionalValue.none()
            elif not has_old:
                continue
            else:
                variables["oldSelf"] = old
        try:
            result = program.execute(_context(variables, rule.compiled.functions))
        except Exception as exc:
            found.append((path, f"Invalid value: {shown}: {_evaluation_error(exc, rule)}"))
            continue
        if result is True:
            continue
        if result is not False:
            found.append((path, f"Invalid value: {shown}: rule did not evaluate to a bool "
                                f"(got {_quote(str(result))}) for rule: {rule.error_name()}"))  # fmt: skip
            continue
        message = _message(rule, variables)
        at = path + rule.field_path
        if rule.reason == "FieldValueForbidden":
            found.append((at, f"Forbidden: {message}"))
        elif rule.reason == "FieldValueRequired":
            found.append((at, f"Required value: {message}"))
        elif rule.reason == "FieldValueDuplicate":
            found.append((at, f"Duplicate value: {shown}"))
        else:
            found.append((at, f"Invalid value: {shown}: {message}"))


def _context(variables: dict[str, Any], functions: dict[str, Callable[..., Any]]) -> Any:
    return cel.Context(variables=variables, functions=functions) if functions else variables


def _message(rule: Rule, variables: dict[str, Any]) -> str:
    """``messageExpression``'s string when it evaluates to a usable one, else ``message``, else the default
    (Kubernetes falls back the same way when the expression fails)."""
    expression = rule.message_expression
    if expression is not None and expression.program is not None:
        try:
            text = expression.program.execute(_context(variables, expression.functions))
        except Exception:
            text = None
        if isinstance(text, str) and text.strip() and "\n" not in text:
            return text.strip()
    return rule.default_message()


def _evaluation_error(exc: Exception, rule: Rule) -> str:
    if isinstance(exc, KeyError):
        return f"no such key: {exc.args[0] if exc.args else ''} evaluating rule: {rule.error_name()}"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, TypeError) or "no such overload" in text.lower():
        return (
            "'no such overload': call arguments did not match a supported operator, function or macro signature "
            f"for rule: {rule.error_name()}"
        )
    if isinstance(exc, ZeroDivisionError):
        text = "division by zero"
    return f"{text} evaluating rule: {rule.error_name()}"
