"""Parses Go ``text/template`` tokens into trees, with the checks Go's parser makes at parse time.

One source gives its own top-level tree plus every ``{{define}}``/``{{block}}`` it contains; they all
go into one ``TemplateSet`` (name -> tree). Unknown functions, undefined variables, misplaced
``{{else}}``/``{{end}}``/``{{break}}`` and unclosed actions are errors naming ``<file>:<line>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from choreo.lang.gotemplate import lexer as lx
from choreo.lang.gotemplate.errors import TemplateError
from choreo.lang.gotemplate.funcs import ARITY
from choreo.lang.gotemplate.lexer import Lexer, Token

BUILTINS = frozenset(ARITY)


# --- nodes --------------------------------------------------------------------------------------------


@dataclass
class Node:
    where: str  # "<file>:<line>:<col>" for messages


@dataclass
class Text(Node):
    text: str


@dataclass
class Field(Node):
    names: list[str]


@dataclass
class Variable(Node):
    name: str
    names: list[str] = field(default_factory=list)


@dataclass
class Chain(Node):
    node: Node
    names: list[str]


@dataclass
class Identifier(Node):
    name: str


@dataclass
class Constant(Node):
    """``.``, ``nil``, booleans, numbers, strings; ``kind`` says which."""

    kind: str
    value: Any = None
    text: str = ""  # as written, for messages


@dataclass
class Command(Node):
    args: list[Node]
    text: str  # source text, for "executing ... at <...>"


@dataclass
class Pipe(Node):
    decl: list[str]
    assign: bool
    cmds: list[Command]
    text: str


@dataclass
class Action(Node):
    pipe: Pipe


@dataclass
class Branch(Node):
    """``if``, ``with`` and ``range``; ``else_list`` holds a nested branch for ``else if``/``else with``."""

    kind: str
    pipe: Pipe
    body: list[Node]
    else_body: list[Node] | None


@dataclass
class TemplateCall(Node):
    name: str
    pipe: Pipe | None


@dataclass
class LoopControl(Node):
    kind: str  # "break" | "continue"


TemplateSet = dict[str, list[Node]]


# --- parser -------------------------------------------------------------------------------------------


class Parser:
    """Parses one source (template ``name``) into ``templates``."""

    def __init__(
        self, name: str, text: str, source: str, templates: TemplateSet, functions: frozenset[str] = BUILTINS
    ) -> None:
        self.name = name
        self.text = text
        self.source = source
        self.templates = templates
        self.functions = functions
        self.tokens = Lexer(text, source).run()
        self.i = 0
        self.vars: list[str] = ["$"]
        self.defined: set[str] = set()  # templates this source defines
        self.range_depth = 0

    def parse(self) -> None:
        body: list[Node] = []
        while self.peek().kind != lx.EOF:
            if self.peek().kind == lx.LDELIM and self.peek(1).value == "define" and self.peek(1).kind == lx.IDENT:
                self.next()
                self._define()
                continue
            body.append(self._item())
        self._add(self.name, body)

    # --- token access -------------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        token = self.peek()
        if token.kind == lx.ERROR:  # the lexer stopped here: its message is the error
            raise TemplateError(token.value)
        self.i += 1
        return token

    def expect(self, kind: str, context: str) -> Token:
        token = self.next()
        if token.kind != kind:
            raise self.unexpected(token, context)
        return token

    def unexpected(self, token: Token, context: str) -> TemplateError:
        if token.kind == lx.ERROR:
            return TemplateError(token.value)
        return self.error(token, f"unexpected {describe(token)} in {context}")

    def error(self, token: Token, message: str) -> TemplateError:
        return TemplateError(f"{self.source}:{lx.line_of(self.text, token.pos)}: {message}")

    def where(self, token: Token) -> str:
        return f"{self.source}:{lx.line_of(self.text, token.pos)}:{lx.column_of(self.text, token.pos)}"

    # --- structure ----------------------------------------------------------------------------------

    def _add(self, name: str, body: list[Node]) -> None:
        """Record a template; defining one twice is an error, also across files (Go would keep the file it
        parsed last, and the reference parses its code files in random order)."""
        existing = self.templates.get(name)
        if existing is not None and not _is_empty(existing) and not _is_empty(body):
            last = self.tokens[max(self.i - 1, 0)]
            message = f"{self.source}:{lx.line_of(self.text, last.pos)}: template: multiple definition of template "
            message += lx.go_quote(name)
            if name not in self.defined:
                message += f" (also defined in {existing[0].where.rsplit(':', 2)[0]})"
            raise TemplateError(message)
        self.defined.add(name)
        if existing is None or not _is_empty(body):
            self.templates[name] = body

    def _define(self) -> None:
        start = self.next()  # "define"
        name = self._template_name("define clause")
        self.expect(lx.RDELIM, "define clause")
        saved, self.vars = self.vars, ["$"]
        body, end = self._list(("end",), start, "unexpected {} in define clause")
        self.vars = saved
        if end != "end":
            raise self.error(start, "unexpected EOF")
        self._add(name, body)

    def _list(self, ends: tuple[str, ...], start: Token, misplaced: str = "unexpected {}") -> tuple[list[Node], str]:
        """Items up to one of the keywords ``ends`` (consumed up to the keyword); returns it. Another of
        ``{{end}}``/``{{else}}`` is an error, worded by ``misplaced``."""
        body: list[Node] = []
        while True:
            token = self.peek()
            if token.kind == lx.EOF:
                raise self.error(start, "unexpected EOF")
            if token.kind == lx.LDELIM and self.peek(1).kind == lx.IDENT and self.peek(1).value in ("end", "else"):
                keyword = self.peek(1).value
                if keyword not in ends:
                    raise self.error(self.peek(1), misplaced.format(f"{{{{{keyword}}}}}"))
                self.next()
                self.next()
                if keyword == "end":
                    self.expect(lx.RDELIM, "end")
                return body, keyword
            body.append(self._item())

    def _item(self) -> Node:
        token = self.next()
        if token.kind == lx.TEXT:
            return Text(self.where(token), token.value)
        keyword = self.peek()
        if keyword.kind == lx.IDENT:
            handler = {
                "if": self._branch, "with": self._branch, "range": self._branch,
                "template": self._template, "block": self._block,
                "break": self._loop_control, "continue": self._loop_control,
            }.get(keyword.value)
            if handler is not None:
                self.next()
                return handler(keyword)
            if keyword.value in ("end", "else"):
                raise self.error(keyword, f"unexpected {{{{{keyword.value}}}}}")
        pipe = self._pipeline("command", allow_decl=True)
        self.expect(lx.RDELIM, "command")
        return Action(self.where(token), pipe)

    def _branch(self, keyword: Token) -> Branch:
        context = keyword.value
        mark = len(self.vars)
        pipe = self._pipeline(context, allow_decl=True, multi=context == "range")
        self.expect(lx.RDELIM, context)
        loop = int(context == "range")
        self.range_depth += loop
        body, end = self._list(("end", "else"), keyword)
        self.range_depth -= loop
        else_body: list[Node] | None = None
        if end == "else":
            follow = self.peek()
            if not loop and follow.kind == lx.IDENT and follow.value == context:
                self.next()  # "else if" / "else with": a nested branch that shares this {{end}}
                else_body = [self._branch(follow)]
            else:
                self.expect(lx.RDELIM, "else")
                else_body, _ = self._list(("end",), keyword, "expected end; found {}")
        del self.vars[mark:]
        return Branch(self.where(keyword), context, pipe, body, else_body)

    def _template(self, keyword: Token) -> TemplateCall:
        at = self.peek()
        name = self._template_name("template clause")
        pipe = None
        if self.peek().kind != lx.RDELIM:
            pipe = self._pipeline("template clause", allow_decl=False)
        self.expect(lx.RDELIM, "template clause")
        return TemplateCall(self.where(at), name, pipe)

    def _block(self, keyword: Token) -> TemplateCall:
        name = self._template_name("block clause")
        pipe = self._pipeline("block clause", allow_decl=False)
        self.expect(lx.RDELIM, "block clause")
        saved, self.vars = self.vars, ["$"]
        body, _ = self._list(("end",), keyword, "unexpected {} in block clause")
        self.vars = saved
        self._add(name, body)
        return TemplateCall(self.where(keyword), name, pipe)

    def _loop_control(self, keyword: Token) -> LoopControl:
        self.expect(lx.RDELIM, f"{{{{{keyword.value}}}}}")
        if self.range_depth == 0:
            raise self.error(keyword, f"{{{{{keyword.value}}}}} outside {{{{range}}}}")
        return LoopControl(self.where(keyword), keyword.value)

    def _template_name(self, context: str) -> str:
        token = self.next()
        if token.kind not in (lx.STRING, lx.RAW):
            raise self.unexpected(token, context)
        return unquote(token, self)

    # --- pipelines ----------------------------------------------------------------------------------

    def _pipeline(self, context: str, *, allow_decl: bool, multi: bool = False, end: str = lx.RDELIM) -> Pipe:
        start = self.peek()
        decl, assign = self._declarations(context, multi) if allow_decl else ([], False)
        cmds: list[Command] = []
        while True:
            cmds.append(self._command(context, end))
            if self.peek().kind != lx.PIPE:
                break
            self.next()
        for n, cmd in enumerate(cmds[1:], start=2):
            first = cmd.args[0]
            if isinstance(first, Constant):
                raise TemplateError(f"{first.where.rsplit(':', 1)[0]}: non executable command in pipeline stage {n}")
        for name in decl:
            if not assign:
                self.vars.append(name)
        stop = self.peek().pos
        return Pipe(self.where(start), decl, assign, cmds, self.text[start.pos : stop].strip())

    def _declarations(self, context: str, multi: bool) -> tuple[list[str], bool]:
        if self.peek().kind != lx.VARIABLE:
            return [], False
        names = [self.peek().value]
        ahead = 1
        if self.peek(1).kind == lx.COMMA:
            if not multi:
                raise self.error(self.peek(1), f"too many declarations in {context}")
            if self.peek(2).kind != lx.VARIABLE:
                raise self.error(self.peek(2), "range can only initialize variables")
            names.append(self.peek(2).value)
            ahead = 3
            if self.peek(ahead).kind == lx.COMMA:
                raise self.error(self.peek(ahead), f"too many declarations in {context}")
        op = self.peek(ahead)
        if op.kind not in (lx.DECLARE, lx.ASSIGN):
            return [], False
        if op.kind == lx.ASSIGN:
            for name in names:
                if name not in self.vars:
                    raise self.error(op, f"undefined variable {name!r}".replace("'", '"'))
        self.i += ahead + 1
        return names, op.kind == lx.ASSIGN

    def _command(self, context: str, end: str) -> Command:
        start = self.peek()
        if start.kind == lx.PIPE:
            raise self.unexpected(start, context)
        args: list[Node] = []
        while True:
            token = self.peek()
            if token.kind in (lx.PIPE, end, lx.RDELIM, lx.RPAREN, lx.EOF):
                break
            if not _starts_operand(token) or (args and token.attached):
                raise self.unexpected(token, "operand" if args else context)
            args.append(self._operand(context))
        if not args:
            raise self.error(self.peek(), f"missing value for {context}")
        stop = self.peek().pos
        return Command(self.where(start), args, self.text[start.pos : stop].strip())

    def _operand(self, context: str) -> Node:
        start = self.peek()
        node = self._term(context)
        names: list[str] = []
        chained = self.peek()
        while self.peek().kind == lx.FIELD and self.peek().attached:
            names.append(self.next().value[1:])
        if not names:
            return node
        if isinstance(node, Field | Variable):
            node.where = self.where(chained)  # Go reports a field chain at its second element
            node.names.extend(names)
            return node
        if isinstance(node, Constant) and node.kind in ("bool", "string", "number", "nil", "dot"):
            raise self.error(start, f"unexpected . after term {lx.go_quote(node.text)}")
        return Chain(self.where(start), node, names)

    def _term(self, context: str) -> Node:
        token = self.next()
        where = self.where(token)
        kind = token.kind
        if kind == lx.IDENT:
            if token.value == "nil":
                return Constant(where, "nil", text="nil")
            if token.value not in self.functions:
                raise self.error(token, f'function "{token.value}" not defined')
            return Identifier(where, token.value)
        if kind == lx.DOT:
            return Constant(where, "dot", text=".")
        if kind == lx.VARIABLE:
            if token.value not in self.vars:
                raise self.error(token, f'undefined variable "{token.value}"')
            return Variable(where, token.value)
        if kind == lx.FIELD:
            return Field(where, [token.value[1:]])
        if kind == lx.BOOL:
            return Constant(where, "bool", token.value == "true", token.value)
        if kind in (lx.NUMBER, lx.CHAR):
            return Constant(where, "number", number(token, self), token.value)
        if kind in (lx.STRING, lx.RAW):
            return Constant(where, "string", unquote(token, self), token.value)
        if kind == lx.LPAREN:
            pipe = self._pipeline("parenthesized pipeline", allow_decl=False, end=lx.RPAREN)
            self.expect(lx.RPAREN, "parenthesized pipeline")
            return pipe
        raise self.unexpected(token, context)


def _is_empty(body: list[Node]) -> bool:
    return all(isinstance(n, Text) and not n.text.strip() for n in body)


_OPERANDS = frozenset(
    (lx.IDENT, lx.DOT, lx.VARIABLE, lx.FIELD, lx.BOOL, lx.NUMBER, lx.CHAR, lx.STRING, lx.RAW, lx.LPAREN)
)


def _starts_operand(token: Token) -> bool:
    return token.kind in _OPERANDS and not (token.kind == lx.IDENT and token.value in lx.KEYWORDS)


def describe(token: Token) -> str:
    """A token as Go's parser names it in messages (``item.String``): keywords in angle brackets, the rest
    quoted."""
    if token.kind == lx.EOF:
        return "EOF"
    if token.kind == lx.DOT or (token.kind == lx.IDENT and (token.value in lx.KEYWORDS or token.value == "nil")):
        return f"<{token.value}>"
    if len(token.value) > 10:
        return lx.go_quote(token.value[:10]) + "..."
    return lx.go_quote(token.value)


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"'}


def unquote(token: Token, parser: Parser) -> str:
    """The value of a Go string, raw string or character literal."""
    body = token.value[1:-1]
    if token.kind == lx.RAW:
        return body.replace("\r", "")
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        code = body[i + 1 : i + 2]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            i += 2
            continue
        sizes = {"x": 2, "u": 4, "U": 8}
        if code in sizes and len(body) >= i + 2 + sizes[code]:
            digits = body[i + 2 : i + 2 + sizes[code]]
            try:
                out.append(chr(int(digits, 16)))
            except ValueError:
                raise parser.error(token, f"bad escape in {token.value}") from None
            i += 2 + sizes[code]
            continue
        if code.isdigit() and len(body) >= i + 4:
            out.append(chr(int(body[i + 1 : i + 4], 8)))
            i += 4
            continue
        raise parser.error(token, f"bad escape in {token.value}")
    return "".join(out)


def number(token: Token, parser: Parser) -> int | float:
    """A Go number constant as the template engine types it: float64 if written with . e or p, else int."""
    text = token.value
    if token.kind == lx.CHAR:
        char = unquote(token, parser)
        if len(char) != 1:
            raise parser.error(token, f"malformed character constant: {text}")
        return ord(char)
    if text.endswith("i"):
        raise parser.error(token, f"complex constants are not supported: {text}")
    clean = text.replace("_", "")
    body = clean.lstrip("+-")
    negative = clean.startswith("-")
    try:
        if body[:2].lower() == "0x":
            value: int | float = float.fromhex(body) if "p" in body.lower() or "." in body else int(body, 16)
        elif body[:2].lower() in ("0b", "0o"):
            value = int(body, 0)
        elif any(c in body for c in ".eE"):
            value = float(body)
        elif len(body) > 1 and body.startswith("0"):
            value = int(body, 8)
        else:
            value = int(body)
    except ValueError:
        raise parser.error(token, f"illegal number syntax: {text!r}") from None
    return -value if negative else value


def parse_sources(sources: dict[str, tuple[str, str]], functions: Iterable[str] = ()) -> TemplateSet:
    """``{name: (text, source file)}`` parsed into one template set; ``functions``: names the executor will
    know besides Go's (``funcs.KUBECTL_FUNCS``)."""
    templates: TemplateSet = {}
    known = BUILTINS | frozenset(functions)
    for name, (text, source) in sources.items():
        Parser(name, text, source, templates, known).parse()
    return templates
