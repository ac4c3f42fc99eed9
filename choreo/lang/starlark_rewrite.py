"""Hands Starlark's ``%`` operator and ``str.format`` calls to the prelude, so they format as go.starlark.net.

The interpreter (starlark-rust) writes floats in ``%s``, ``%g`` and ``"{}".format`` with 7 significant digits,
lacks ``%c``, ``%i`` and ``%(key)s``, accepts ``%d`` of a bool, and words its errors its own way; the
reference (go.starlark.net) does otherwise, and a project must give the same text here. Neither the operator
nor a string method can be redefined in Starlark and starlark-pyo3 exposes no syntax tree, so the source
text is rewritten before it is parsed: every ``a % b`` becomes ``_choreo_percent(a, b)``, every
``s %= b`` with ``s`` a name becomes ``s = _choreo_percent(s, (b))`` and every call ``x.format(...)``
becomes ``_choreo_format(x, ...)`` (the prelude's functions, ``choreo.lang.starlark_format``, which hand
anything that is not a string back to the interpreter's own operator or method). Left to the interpreter:
``%=`` on an element (``d[k] %= v``: written twice, its operands would be evaluated twice) and a ``format``
method taken without a call (``f = s.format``).

The rewrite works on tokens and knows just enough of the grammar to find a ``%``'s operands: a term is a
chain of factors joined by ``*``, ``/``, ``//`` and ``%`` (left to right, as in Starlark); a factor is
unary ``-``/``+``/``~`` signs, an operand (name, number, string, bracketed expression) and its trailers
(``.name``, calls, subscripts). It never adds or removes a line, so line numbers stay true; columns the
interpreter reports on a rewritten line are mapped back with ``Rewritten.column``. Text it cannot tokenize
is left as it is, for the parser to report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PERCENT = "_choreo_percent"
FORMAT = "_choreo_format"

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\f\r]+|\\\r?\n|\#[^\n]*)
  | (?P<newline>\n)
  | (?P<string>(?:[rRbB]{1,2})?(?:'''|\"\"\"|'|\"))
  | (?P<number>0[xXoObB][0-9a-fA-F_]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>//=|<<=|>>=|\*\*|//|==|!=|<=|>=|\+=|-=|\*=|/=|%=|&=|\|=|\^=|<<|>>|->|.)
    """,
    re.VERBOSE | re.DOTALL,
)
_KEYWORDS = frozenset(
    {
        "and", "break", "continue", "def", "elif", "else", "for", "if", "in", "lambda", "load", "not", "or",
        "pass", "return", "while",
    }
)
_OPEN = {"(": ")", "[": "]", "{": "}"}
_TERM_OPS = frozenset({"*", "/", "//", "%"})
_UNARY = frozenset({"-", "+", "~"})
_STATEMENT_ENDS = frozenset({"\n", ";"})


@dataclass(frozen=True)
class _Token:
    kind: str  # string, number, name, op, newline
    text: str
    start: int
    end: int


@dataclass
class Rewritten:
    """The rewritten code, and per line the edits made on it: ``(original column, original length, new
    length)``, columns 1-based, in order."""

    code: str
    edits: dict[int, list[tuple[int, int, int]]] = field(default_factory=dict)

    def column(self, line: int, column: int) -> int:
        """The column of the original line that ``column`` of the rewritten one stands for (the start of an
        edit for a column inside the text it put in)."""
        shift = 0
        for original, old, new in self.edits.get(line, ()):
            start = original + shift
            if column < start:
                break
            if column < start + new:
                return original
            shift += new - old
        return column - shift


def rewrite(code: str) -> Rewritten:
    """``code`` with ``%``, ``%=`` and ``.format(`` calls handed to the prelude (see the module docstring)."""
    if "%" not in code and "format" not in code:
        return Rewritten(code)
    tokens = _tokenize(code)
    if tokens is None:
        return Rewritten(code)
    edits = _Rewriter(code, tokens).run()
    return _apply(code, edits)


def _tokenize(code: str) -> list[_Token] | None:
    """The significant tokens (newlines only outside brackets), or None where the text is not Starlark."""
    tokens: list[_Token] = []
    depth = 0
    at = 0
    while at < len(code):
        match = _TOKEN.match(code, at)
        if match is None:
            return None
        kind = match.lastgroup or "op"
        end = match.end()
        if kind == "string":
            opening = match.group()
            end = _string_end(code, end, opening[-1] * (3 if opening.endswith(("'''", '"""')) else 1))
            if end < 0:
                return None
        elif kind == "op":
            depth += match.group() in _OPEN
            depth -= match.group() in _OPEN.values()
        if kind != "space" and (kind != "newline" or depth <= 0):
            tokens.append(_Token(kind, code[match.start() : end], match.start(), end))
        at = end
    return tokens


def _string_end(code: str, at: int, quote: str) -> int:
    """The end of the string literal whose opening quote ends at ``at``; -1 if it never ends."""
    while at < len(code):
        char = code[at]
        if char == "\\":
            at += 2
        elif code.startswith(quote, at):
            return at + len(quote)
        elif char == "\n" and len(quote) == 1:
            return -1
        else:
            at += 1
    return -1


@dataclass
class _Edit:
    start: int  # offset in the original code
    length: int  # characters of the original replaced
    text: str


class _Rewriter:
    """One pass over the tokens, collecting edits in the order they must be applied at equal offsets."""

    def __init__(self, code: str, tokens: list[_Token]) -> None:
        self.code = code
        self.tokens = tokens
        self.edits: list[_Edit] = []

    def run(self) -> list[_Edit]:
        self.sequence(0, len(self.tokens))
        self.augmented()
        return self.edits

    def text(self, i: int) -> str:
        return self.tokens[i].text if i < len(self.tokens) else ""

    def sequence(self, i: int, end: int) -> None:
        """Every term between tokens ``i`` and ``end`` (a whole file, or what a bracket holds)."""
        operand_before = False
        while i < end:
            token = self.tokens[i]
            if self.starts_factor(i) and not (operand_before and token.text in _UNARY):
                i = self.term(i, end)
                operand_before = True
            else:
                i += 1
                operand_before = False

    def starts_factor(self, i: int) -> bool:
        token = self.tokens[i]
        if token.kind == "name":
            return token.text not in _KEYWORDS
        return token.kind in ("string", "number") or token.text in _OPEN or token.text in _UNARY

    def term(self, i: int, end: int) -> int:
        """A chain of factors joined by ``* / // %`` from token ``i``; returns the token after it."""
        mark = len(self.edits)
        start = self.tokens[i].start
        i = self.factor(i, end)
        percents = 0
        while i < end and self.text(i) in _TERM_OPS and i + 1 < end and self.starts_factor(i + 1):
            op = self.tokens[i]
            i = self.factor(i + 1, end)
            if op.text == "%":
                percents += 1
                self.edits.append(_Edit(op.start, 1, ","))
                self.edits.append(_Edit(self.tokens[i - 1].end, 0, ")"))
        self.edits[mark:mark] = [_Edit(start, 0, f"{PERCENT}(") for _ in range(percents)]
        return i

    def factor(self, i: int, end: int) -> int:
        """Signs, an operand and its trailers from token ``i``; returns the token after them."""
        while i < end and self.text(i) in _UNARY:
            i += 1
        if i >= end:
            return i
        mark = len(self.edits)
        start = self.tokens[i].start
        i = self.operand(i, end)
        while i < end:
            text = self.text(i)
            if text == "." and i + 1 < end and self.tokens[i + 1].kind == "name":
                if self.text(i + 1) == "format" and i + 2 < end and self.text(i + 2) == "(":
                    self.edits[mark:mark] = [_Edit(start, 0, f"{FORMAT}(")]  # before the receiver's own
                    self.edits.append(_Edit(self.tokens[i].start, 1, ","))
                    self.edits.append(_Edit(self.tokens[i + 1].start, len("format"), ""))
                    self.edits.append(_Edit(self.tokens[i + 2].start, 1, ""))
                    i = self.bracket(i + 2, end)
                else:
                    i += 2
            elif text in ("(", "["):
                i = self.bracket(i, end)
            else:
                break
        return i

    def operand(self, i: int, end: int) -> int:
        if self.text(i) in _OPEN:
            return self.bracket(i, end)
        return i + 1

    def bracket(self, i: int, end: int) -> int:
        """The bracket opened at token ``i``: its content rewritten; returns the token after its close."""
        close = self.closing(i, end)
        self.sequence(i + 1, close)
        return close + 1

    def closing(self, i: int, end: int) -> int:
        depth = 0
        for j in range(i, end):
            text = self.tokens[j].text if self.tokens[j].kind == "op" else ""
            if text in _OPEN:
                depth += 1
            elif text in _OPEN.values():
                depth -= 1
                if depth == 0:
                    return j
        return end

    def augmented(self) -> None:
        """``name %= value`` -> ``name = _choreo_percent(name, (value))``: the value in brackets, as a bare tuple
        (``s %= a, b``) is one operand. Only a plain name is rewritten: it is the one target that reads the same
        when written twice; an element (``d[k] %= v``) would evaluate its operands twice, so the interpreter's
        own operator formats it."""
        start = 0
        for i, token in enumerate(self.tokens):
            if token.text in _STATEMENT_ENDS or (token.text == ":" and self.statement_colon(start, i)):
                start = i + 1
            elif token.text == "%=" and start == i - 1 and self.tokens[start].kind == "name":
                last = next((j for j in range(i + 1, len(self.tokens)) if self.text(j) in _STATEMENT_ENDS), None)
                stop = len(self.tokens) - 1 if last is None else last - 1
                if stop <= i:
                    continue
                self.edits.append(_Edit(token.start, 2, f"= {PERCENT}({self.tokens[start].text}, ("))
                self.edits.append(_Edit(self.tokens[stop].end, 0, "))"))

    def statement_colon(self, start: int, i: int) -> bool:
        """The ``:`` at token ``i`` ends a compound statement's header (``if x: s %= y``), at bracket depth 0."""
        head = self.text(start)
        depth = sum((t.text in _OPEN) - (t.text in _OPEN.values()) for t in self.tokens[start:i] if t.kind == "op")
        return depth == 0 and head in ("if", "elif", "else", "for", "while", "def")


def _apply(code: str, edits: list[_Edit]) -> Rewritten:
    """``code`` with ``edits`` made (stable by offset), and each line's edits for mapping columns back."""
    out: list[str] = []
    at = 0
    line = 1
    per_line: dict[int, list[tuple[int, int, int]]] = {}
    for edit in sorted(edits, key=lambda e: e.start):  # stable: equal offsets keep their order
        out.append(code[at : edit.start])
        line += code.count("\n", at, edit.start)
        column = edit.start - code.rfind("\n", 0, edit.start)
        per_line.setdefault(line, []).append((column, edit.length, len(edit.text)))
        out.append(edit.text)
        at = edit.start + edit.length
    out.append(code[at:])
    return Rewritten("".join(out), per_line)
