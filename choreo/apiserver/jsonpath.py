"""kubectl's JSONPath, the part people type: ``-o jsonpath=…``, ``-o custom-columns=…`` and the CRDs'
``additionalPrinterColumns`` all use it, so ``choreo get`` must read the same expressions kubectl reads.

Why our own: the Python JSONPath libraries implement Goessner's syntax, not kubectl's templates
(``{.items[*].metadata.name}``, ``{range …}{end}``, ``{"\\n"}``, filters written ``[?(@.type=='Ready')]``).
Supported: ``.field`` (a dot or bracket inside a key escaped with ``\\``, as in
``.metadata.annotations.api\\.choreo\\.kform\\.dev/origin``), ``['field']``, ``[n]``, ``[a:b]``, ``[*]``,
``..field``, ``[?(@.path OP literal)]`` with ``== != < > <= >=`` and ``[?(@.path)]``; ``{range EXPR}…{end}``;
string literals; ``@`` and ``$``.
A quoted key is read as kubectl reads it, as the path it spells (``['metadata.name']`` is
``.metadata.name``). ``true``, ``false`` and numbers print as themselves. A malformed expression raises
``ChoreoError`` in kubectl's words (``error parsing jsonpath {.items[, unterminated array``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from choreo.errors import ChoreoError

_MISSING = object()
_FIELD = r"(?:\\.|[^\s.,\[\]{}@\\])*"  # as kubectl reads a field: up to . , [ ] { } @ or a space; \. escapes
_TOKEN = re.compile(
    rf"""\s*(?:
        (?P<recurse>\.\.(?P<rname>{_FIELD}))
      | \.(?P<name>{_FIELD})
      | \[(?P<bracket>(?:'[^']*'|"[^"]*"|[^\]])*)\]
    )""",
    re.VERBOSE,
)
_ESCAPE = re.compile(r"\\(.)")
_FILTER = re.compile(r"^\?\(\s*@(?P<path>[^=!<>]*?)\s*(?:(?P<op>==|!=|<=|>=|<|>)\s*(?P<value>.+?))?\s*\)$")
_SLICE = re.compile(r"^(-?\d*):(-?\d*)(?::(-?\d*))?$")
_QUOTED_KEY = re.compile(r"'([^']*)'")
_QUOTED_KEYS = re.compile(r"'[^']*'(?:\s*,\s*'[^']*')*")
_LITERAL = re.compile(r"true|false|-?\d+(?:\.\d+)?")  # what kubectl's parser reads as a bool or a number


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):  # by key: the same order every time (kubectl's is Go's random map order)
        return [value[key] for key in sorted(value)]
    if isinstance(value, list):
        return list(value)
    return []


def _descendants(value: Any) -> Iterator[Any]:
    yield value
    for child in _children(value):
        yield from _descendants(child)


def _literal(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    try:
        return json.loads(text)
    except ValueError:
        return text


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "==":
        return left == right or str(left) == str(right)
    if op == "!=":
        return not _compare(left, "==", right)
    try:
        a, b = float(left), float(right)
    except (TypeError, ValueError):
        a, b = str(left), str(right)  # type: ignore[assignment]
    return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]


class SyntaxProblem(ChoreoError):
    """A template kubectl cannot parse, in its words; ``problem`` alone is what kubectl says of a path of
    ``--sort-by`` or ``-o custom-columns``."""

    def __init__(self, expression: str, problem: str) -> None:
        super().__init__(f"error parsing jsonpath {expression}, {problem}")
        self.problem = problem


def parse_error(expression: str, problem: str) -> SyntaxProblem:
    return SyntaxProblem(expression, problem)


def _step_bracket(values: list[Any], inner: str, expression: str) -> list[Any]:
    inner = inner.strip()
    if inner == "*":
        return [c for v in values for c in _children(v)]
    if inner.startswith("?"):
        found = _FILTER.match(inner)
        if not found:
            raise parse_error(expression, f"invalid filter [{inner}]")
        out = []
        for item in (c for v in values for c in (v if isinstance(v, list) else _children(v))):
            got = evaluate(item, found["path"] or "", expression)
            if found["op"] is None:
                if got:
                    out.append(item)
            elif any(_compare(g, found["op"], _literal(found["value"])) for g in got):
                out.append(item)
        return out
    if _QUOTED_KEYS.fullmatch(inner):  # kubectl reads each key as the path it spells: 'a.b' is .a.b
        return [c for key in _QUOTED_KEY.findall(inner) for c in evaluate(values, "." + key, expression, many=True)]
    sliced = _SLICE.match(inner)
    if sliced:
        start = int(sliced[1]) if sliced[1] else None
        stop = int(sliced[2]) if sliced[2] else None
        step = int(sliced[3]) if sliced[3] else None
        return [c for v in values if isinstance(v, list) for c in v[start:stop:step]]
    try:
        index = int(inner)
    except ValueError:
        raise parse_error(expression, f"invalid array index {inner}") from None
    return [v[index] for v in values if isinstance(v, list) and -len(v) <= index < len(v)]


def _unescaped(field: str) -> str:
    """A field name with kubectl's escapes removed: ``api\\.choreo\\.kform\\.dev/origin`` is one key."""
    return _ESCAPE.sub(r"\1", field)


def evaluate(root: Any, path: str, expression: str | None = None, *, many: bool = False) -> list[Any]:
    """Every value ``path`` (``.a.b[0]``, with or without ``@``/``$`` in front) selects in ``root`` (``many``:
    in each of the values ``root`` lists)."""
    expression = expression or path
    rest = path.strip()
    if rest[:1] in ("@", "$"):
        rest = rest[1:]
    values = list(root) if many else [root]
    while rest:
        found = _TOKEN.match(rest)
        if not found:
            raise _unreadable(expression, rest.lstrip())
        rest = rest[found.end() :]
        if found["recurse"] is not None:
            name = _unescaped(found["rname"])
            everything = [d for v in values for d in _descendants(v)]
            if not name:
                values = everything
            else:
                values = [c for d in everything for c in _children(d)] if name == "*" else [
                    d[name] for d in everything if isinstance(d, dict) and name in d
                ]
        elif found["name"] is not None:
            name = _unescaped(found["name"])
            values = [c for v in values for c in _children(v)] if name == "*" else [
                v[name] for v in values if isinstance(v, dict) and name in v
            ]
        else:
            values = _step_bracket(values, found["bracket"], expression)
    return values


def _unreadable(expression: str, rest: str) -> ChoreoError:
    if rest.startswith("["):
        return parse_error(expression, "unterminated array")
    return parse_error(expression, f"unrecognized character in action: U+{ord(rest[0]):04X} '{rest[0]}'")


def text(value: Any) -> str:
    """How kubectl prints one selected value: strings as they are, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _parts(template: str) -> Iterator[tuple[str, str]]:
    """("text", literal) and ("expr", inside-braces) pieces of a template."""
    position = 0
    while position < len(template):
        start = template.find("{", position)
        if start < 0:
            yield "text", template[position:]
            return
        if start > position:
            yield "text", template[position:start]
        end, quote = start + 1, ""
        while end < len(template) and (quote or template[end] != "}"):
            if template[end] in "'\"":
                quote = "" if quote == template[end] else (quote or template[end])
            end += 1
        if end >= len(template):  # kubectl's parser meets an open [ before the end
            bracket = template.find("[", start)
            unclosed = bracket >= 0 and "]" not in template[bracket:]
            raise parse_error(template, "unterminated array" if unclosed else "unclosed action")
        yield "expr", template[start + 1 : end].strip()
        position = end + 1


def render(template: str, root: Any) -> str:
    """A kubectl JSONPath template applied to ``root``; selected values are joined by spaces."""
    out, _ = _render(list(_parts(template)), 0, root, template)
    return out


def values(template: str, root: Any) -> list[list[Any]]:
    """kubectl's ``-o jsonpath-as-json``: what each piece of the template gives, as a list (a piece of text as
    one string, ``true`` and numbers as JSON values, each piece of a range's body once for each item)."""
    return _values(list(_parts(template)), root, template)


def _values(parts: list[tuple[str, str]], root: Any, template: str) -> list[list[Any]]:
    out: list[list[Any]] = []
    for group in _top_level(parts):
        kind, piece = group[0]
        if kind == "text":
            out.append([piece])
        elif piece.startswith("range "):
            body = group[1:-1] if group[-1] == ("expr", "end") else group[1:]
            for item in evaluate(root, piece[len("range "):], template):
                out.extend(_values(body, item, template))
        elif piece == "end":
            continue
        elif _is_literal(piece):
            out.append([_quoted(piece, template) if piece[0] in "'\"" else _number_or_bool(piece)])
        else:
            out.append(evaluate(root, piece, template))
    return out


def _top_level(parts: list[tuple[str, str]]) -> Iterator[list[tuple[str, str]]]:
    """The pieces of a template one by one, a range with its body and ``end`` as one."""
    group: list[tuple[str, str]] = []
    depth = 0
    for kind, piece in parts:
        group.append((kind, piece))
        if kind == "expr" and piece.startswith("range "):
            depth += 1
        elif kind == "expr" and piece == "end" and depth:
            depth -= 1
        if not depth:
            yield group
            group = []
    if group:
        yield group


def _is_literal(piece: str) -> bool:
    return bool((piece[:1] and piece[0] in "'\"") or _LITERAL.fullmatch(piece))


def _render(parts: list[tuple[str, str]], index: int, root: Any, template: str) -> tuple[str, int]:
    out: list[str] = []
    while index < len(parts):
        kind, piece = parts[index]
        index += 1
        if kind == "text":
            out.append(piece)
        elif piece == "end":
            return "".join(out), index
        elif piece.startswith("range "):
            items = evaluate(root, piece[len("range ") :], template)
            body_end = index
            for item in items:
                rendered, body_end = _render(parts, index, item, template)
                out.append(rendered)
            if not items:
                _, body_end = _render(parts, index, root, template)
            index = body_end
        elif _is_literal(piece):
            out.append(_quoted(piece, template) if piece[0] in "'\"" else piece)
        else:
            out.append(" ".join(text(v) for v in evaluate(root, piece, template)))
    return "".join(out), index


def _quoted(piece: str, template: str) -> str:
    """The text a quoted action (``{"\\n"}``, ``{'x'}``) stands for; a ``SyntaxProblem`` when the action is not one
    whole string kubectl can read (an open quote, ``\\q``, text after the closing quote)."""
    quote, end = piece[0], 1
    while end < len(piece) and piece[end] != quote:
        end += 2 if piece[end] == "\\" else 1
    if end >= len(piece):
        raise parse_error(template, "unterminated quoted string")
    if end + 1 < len(piece):
        raise parse_error(template, f"{piece[: end + 1]} is followed by {piece[end + 1 :].strip()!r} (choreo reads a "
                          "quoted string only alone in its braces)")
    if quote == "'":
        return piece[1:-1]
    try:
        decoded: str = json.loads(piece)
    except ValueError:
        raise parse_error(template, f"unquote string {piece} error invalid syntax") from None
    return decoded


def _number_or_bool(piece: str) -> Any:
    """The value of a ``_LITERAL`` action as ``jsonpath-as-json`` prints it (``007`` is 7)."""
    if piece in ("true", "false"):
        return piece == "true"
    return float(piece) if "." in piece else int(piece)


_RELAXED = re.compile(r"^\{\.?([^{}]+)\}$|^\.?([^{}]+)$")


def checked_path(expression: str) -> str:
    """A path the user gave to ``--sort-by`` or ``-o custom-columns``, as a template, refused in kubectl's
    words when kubectl refuses it."""
    if expression and not _RELAXED.match(expression):
        raise ChoreoError("unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' "
                          "or '{.name1.name2}'")
    template = relaxed(expression)
    try:
        evaluate({}, template[1:-1], template)
    except SyntaxProblem as error:
        raise ChoreoError(error.problem) from None
    return template


def relaxed(expression: str) -> str:
    """A custom-columns or printer-column path as a template: ``metadata.name`` → ``{.metadata.name}``."""
    expression = expression.strip()
    if expression.startswith("{") and expression.endswith("}"):
        return expression
    if not expression.startswith((".", "[", "@", "$")):
        expression = "." + expression
    return "{" + expression + "}"
