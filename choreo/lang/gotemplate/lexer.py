"""Splits a Go ``text/template`` source into text and action tokens, as Go's ``text/template/parse`` lexer does.

Handles ``{{``/``}}`` delimiters, trim markers (``{{- `` and `` -}}`` remove the whitespace next to
them), comments (``{{/* ... */}}``), and the tokens inside actions: fields, variables, identifiers,
keywords, numbers, strings, raw strings, characters, pipes, parentheses, ``:=``, ``=`` and ``,``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from choreo.lang.gotemplate.errors import TemplateError

LEFT, RIGHT = "{{", "}}"
SPACE = " \t\r\n"

# Token kinds.
TEXT, LDELIM, RDELIM, EOF, ERROR = "text", "{{", "}}", "EOF", "error"
FIELD, VARIABLE, IDENT, DOT, NUMBER, STRING, RAW, CHAR, BOOL = (
    "field", "variable", "identifier", "dot", "number", "string", "raw string", "character", "bool"
)
PIPE, LPAREN, RPAREN, DECLARE, ASSIGN, COMMA = "|", "(", ")", ":=", "=", ","
OTHER = "other"  # a printable ASCII character that is no token (the parser says where it is unexpected)
KEYWORDS = frozenset(("block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"))

_NUMBER = re.compile(
    r"[+-]?(?:0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]+)?"
    r"|0[bB][01_]+|0[oO][0-7_]+"
    r"|(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9_]+)?)i?"
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_CHAR = re.compile(r"'(?:[^'\\\n]|\\.)*'")


@dataclass
class Token:
    kind: str
    value: str
    pos: int  # byte offset in the source
    attached: bool = False  # no space before it (a ``.field`` glued to the previous term)


class Lexer:
    """Produces the token list of one template source; errors carry the source position."""

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.tokens: list[Token] = []
        self.pos = 0
        self.trim_next = False

    def run(self) -> list[Token]:
        """The tokens, ending with EOF, or with an ERROR token (its value the message) where the text stops
        making tokens: the parser raises it when it gets there, so that an earlier mistake is reported first,
        as Go's lexer, running alongside its parser, has it."""
        try:
            self._run()
        except TemplateError as exc:
            self.tokens.append(Token(ERROR, str(exc), self.pos))
        return self.tokens

    def _run(self) -> None:
        while self.pos < len(self.text):
            start = self.text.find(LEFT, self.pos)
            if start < 0:
                self._text(self.text[self.pos :], self.pos)
                self.pos = len(self.text)
                break
            trim_left = self.text.startswith("-", start + 2) and self.text[start + 3 : start + 4] in tuple(SPACE)
            chunk = self.text[self.pos : start]
            self._text(chunk.rstrip(SPACE) if trim_left else chunk, self.pos)
            self.pos = start + (4 if trim_left else 2)
            self._action(start)
        self.tokens.append(Token(EOF, "", len(self.text)))

    def error(self, pos: int, message: str) -> TemplateError:
        return TemplateError(f"{self.source}:{line_of(self.text, pos)}: {message}")

    # --- text ---------------------------------------------------------------------------------------

    def _text(self, chunk: str, pos: int) -> None:
        if self.trim_next:
            chunk = chunk.lstrip(SPACE)
            self.trim_next = False
        if chunk:
            self.tokens.append(Token(TEXT, chunk, pos))

    # --- actions ------------------------------------------------------------------------------------

    def _action(self, start: int) -> None:
        if self.text.startswith("/*", self.pos):  # a comment starts right after "{{" or "{{- "
            self._comment(start)
            return
        self.tokens.append(Token(LDELIM, LEFT, start))
        attached = False
        depth = 0
        while True:
            if self.pos >= len(self.text):
                raise self.error(start, "unclosed action")
            if self._at_right_delim():
                if depth > 0:
                    raise self.error(self.pos, "unclosed left paren")
                self._close_action()
                return
            ch = self.text[self.pos]
            if ch in SPACE:
                self.pos += 1
                attached = False
                continue
            token = self._token(ch, attached)
            token.attached = attached
            depth += {LPAREN: 1, RPAREN: -1}.get(token.kind, 0)
            self.tokens.append(token)
            attached = token.kind not in (PIPE, LPAREN, DECLARE, ASSIGN, COMMA)

    def _at_right_delim(self) -> bool:
        text, pos = self.text, self.pos
        if text[pos] in SPACE and text.startswith("-" + RIGHT, pos + 1):
            return True
        return text.startswith(RIGHT, pos)

    def _close_action(self) -> None:
        start = self.pos
        if self.text[self.pos] in SPACE:  # " -}}"
            self.trim_next = True
            self.pos += 1 + 1 + len(RIGHT)
        else:
            self.pos += len(RIGHT)
        self.tokens.append(Token(RDELIM, RIGHT, start))

    def _comment(self, start: int) -> None:
        end = self.text.find("*/", self.pos + 2)
        if end < 0:
            raise self.error(start, "unclosed comment")
        self.pos = end + 2
        if not self._at_right_delim_after_comment():
            raise self.error(start, "comment ends before closing delimiter")

    def _at_right_delim_after_comment(self) -> bool:
        if self.pos < len(self.text) and self._at_right_delim():
            self._close_action()
            self.tokens.pop()  # a comment leaves no tokens
            return True
        return False

    def _token(self, ch: str, attached: bool) -> Token:
        pos = self.pos
        simple = {"|": PIPE, "(": LPAREN, ")": RPAREN, ",": COMMA, "=": ASSIGN}
        if self.text.startswith(":=", pos):
            self.pos += 2
            return Token(DECLARE, ":=", pos)
        if ch in simple:
            self.pos += 1
            return Token(simple[ch], ch, pos)
        if ch == '"':
            return self._match(_STRING, STRING, "unterminated quoted string")
        if ch == "`":
            end = self.text.find("`", pos + 1)
            if end < 0:
                raise self.error(pos, "unterminated raw quoted string")
            self.pos = end + 1
            return Token(RAW, self.text[pos : end + 1], pos)
        if ch == "'":
            return self._match(_CHAR, CHAR, "unterminated character constant")
        if ch == "$":
            word = _WORD.match(self.text, pos + 1)
            self.pos = word.end() if word else pos + 1
            return Token(VARIABLE, self.text[pos : self.pos], pos)
        if ch == "." and not self.text[pos + 1 : pos + 2].isdigit():
            word = _WORD.match(self.text, pos + 1)
            if word is None:
                self.pos += 1
                return Token(DOT, ".", pos)
            self.pos = word.end()
            return Token(FIELD, self.text[pos : self.pos], pos, attached)
        if ch.isdigit() or ch in "+-.":
            return self._number()
        word = _WORD.match(self.text, pos)
        if word is None:
            if " " < ch < "\x7f":
                self.pos += 1
                return Token(OTHER, ch, pos)
            raise self.error(pos, f"unrecognized character in action: U+{ord(ch):04X} {ch!r}")
        self.pos = word.end()
        value = word.group()
        kind = BOOL if value in ("true", "false") else IDENT
        return Token(kind, value, pos)

    def _match(self, pattern: re.Pattern[str], kind: str, problem: str) -> Token:
        match = pattern.match(self.text, self.pos)
        if match is None:
            raise self.error(self.pos, problem)
        self.pos = match.end()
        return Token(kind, match.group(), match.start())

    def _number(self) -> Token:
        match = _NUMBER.match(self.text, self.pos)
        end = match.end() if match else self.pos
        if match is None or not match.group().lstrip("+-") or (
            end < len(self.text) and (self.text[end].isalnum() or self.text[end] == "_")
        ):
            bad = _WORD.match(self.text, end)
            text = self.text[self.pos : bad.end() if bad else end + 1]
            raise self.error(self.pos, f"bad number syntax: {go_quote(text)}")
        if end < len(self.text) and self.text[end] in "+-":  # Go reads on, for a complex constant (1+2i)
            rest = _NUMBER.match(self.text, end + 1)
            stop = rest.end() if rest and rest.group() else end + 1
            if not self.text[self.pos : stop].endswith("i"):
                raise self.error(self.pos, f"bad number syntax: {go_quote(self.text[self.pos:stop])}")
            end = stop  # 1+2i: the parser refuses complex constants
        start, self.pos = self.pos, end
        return Token(NUMBER, self.text[start:end], start)


def go_quote(text: str) -> str:
    """Go's ``%q`` of a short text."""
    from choreo.lang.gotemplate.gofmt import sprintf

    return sprintf("%q", [text])


def line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def column_of(text: str, pos: int) -> int:
    """0-based byte column, as Go's ``ErrorContext`` reports it."""
    return len(text[text.rfind("\n", 0, pos) + 1 : pos].encode())
