"""Short messages for long problems: one mistake is one short error, however much it drags along.

A single mistake can carry an unbounded list (every undeclared field of a document with a million keys,
every YANG error a broken template causes on every device) or echo an unbounded value (a 20 MB argument).
A reader needs the place and the first few offenders; complete lists belong in report files. ``capped``
builds such lists where they are made; ``shorten`` is the last guard where the CLI prints an error.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_CHARS = 1000
"""Longest error message printed for one mistake."""
MAX_LINES = 3
"""Most lines printed for one mistake."""
SHOWN = 3
"""How many offenders a capped list names before giving the count of the rest."""


def capped(items: Iterable[str], separator: str = "; ", shown: int = SHOWN) -> str:
    """The first ``shown`` items joined, then how many more there are: ``a; b; c; and 997 more``."""
    head: list[str] = []
    rest = 0
    for item in items:
        if len(head) < shown:
            head.append(item)
        else:
            rest += 1
    return separator.join(head + ([f"and {rest} more"] if rest else []))


def shorten(message: str, max_chars: int = MAX_CHARS, max_lines: int = MAX_LINES) -> str:
    """``message`` cut to ``max_lines`` lines and ``max_chars`` characters, saying how much was left out."""
    lines = message.splitlines() or [""]
    text = "\n".join(lines[:max_lines])
    if len(text) <= max_chars and len(lines) <= max_lines:
        return message
    dropped = len(message) - min(len(text), max_chars)
    return f"{text[:max_chars].rstrip()} ... ({dropped} more characters)"
