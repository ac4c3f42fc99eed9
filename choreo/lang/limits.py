"""How much one reconcile of user code may use: time, memory, output size and call depth.

User code (Starlark, Jinja2, Go templates) is written by whoever writes the project, so a mistake or a
hostile input must end in one clear error, never in a hung or killed choreo. ``Limits`` holds the four
bounds; ``Budget`` is one reconcile's share of them, checked by every engine at the same points (calls,
loop steps, output written), so that all engines stop for the same reasons with the same message:
``<file>[:<line>]: reconciler exceeded the <what> limit of <amount>``. Memory cannot be counted from
inside an interpreter (``starlark-pyo3`` allocates natively and aborts the process when an allocation
fails); it is bounded by the worker process a reconcile runs in (``choreo.lang.isolation``).

The defaults can be changed with ``--time-limit`` and the ``CHOREO_*_LIMIT`` environment variables
(``ENVIRONMENT``), read when a project's reconcilers are set up.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import orjson

from choreo.errors import LoadError, ReconcileError

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

# Limit field -> environment variable that overrides its default.
ENVIRONMENT = {
    "memory": "CHOREO_MEMORY_LIMIT",
    "output": "CHOREO_OUTPUT_LIMIT",
    "depth": "CHOREO_DEPTH_LIMIT",
}
_SIZE = re.compile(r"(?P<number>\d+)\s*(?P<unit>[KMG]i?B?|B)?", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": KiB, "M": MiB, "G": GiB}


@dataclass(frozen=True)
class Limits:
    """The bounds of one reconcile.

    ``time`` seconds of wall clock; ``memory`` bytes the reconcile may allocate on top of what its
    worker already holds; ``output`` bytes of one object a reconcile writes or returns (its compact
    JSON) and of the text a template renders (Kubernetes refuses objects over 1.5 MiB, and far smaller
    ones already make every later write and diff slow); ``depth`` nested calls (Starlark functions,
    Jinja2 macros and includes, Go ``template`` calls).
    """

    time: float = 10.0
    memory: int = 512 * MiB
    output: int = 3 * MiB // 2
    depth: int = 1000

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **given: Any) -> Limits:
        """The defaults, overridden by ``CHOREO_*_LIMIT`` variables, overridden by ``given``."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, variable in ENVIRONMENT.items():
            if environ.get(variable):
                values[name] = _parse_amount(variable, environ[variable], size=name != "depth")
        return replace(cls(), **{**values, **given})

    def time_exceeded(self, where: str) -> LimitExceeded:
        return _exceeded(where, "time", f"{self.time:g}s")

    def memory_exceeded(self, where: str) -> LimitExceeded:
        return _exceeded(where, "memory", format_size(self.memory))

    def output_exceeded(self, where: str, detail: str = "") -> LimitExceeded:
        return _exceeded(where, "output size", format_size(self.output), detail)

    def depth_exceeded(self, where: str) -> LimitExceeded:
        return _exceeded(where, "call depth", str(self.depth))


class LimitExceeded(ReconcileError):
    """A reconcile ran into one of its limits: ``<where>: <reason>``.

    Engines that know a better place than the one the check knew (a template line) re-raise ``at`` it."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason

    def __reduce__(self) -> tuple[type[LimitExceeded], tuple[str, str]]:
        return LimitExceeded, (self.where, self.reason)

    def at(self, where: str) -> LimitExceeded:
        return LimitExceeded(where, self.reason)


def _exceeded(where: str, what: str, amount: str, detail: str = "") -> LimitExceeded:
    suffix = f" ({detail})" if detail else ""
    return LimitExceeded(where, f"reconciler exceeded the {what} limit of {amount}{suffix}")


def _parse_amount(variable: str, text: str, *, size: bool) -> int:
    """A positive count, or for sizes a number with an optional binary unit (``512M``, ``2GiB``)."""
    match = _SIZE.fullmatch(text.strip())
    unit = (match["unit"] or "").upper().rstrip("B").rstrip("I") if match else ""
    if match is None or (unit and not size) or int(match["number"]) <= 0:
        want = "a size such as 512M or 2G" if size else "a positive whole number"
        raise LoadError(f"{variable}={text!r}: expected {want}")
    return int(match["number"]) * _UNITS[unit]


def format_size(size: int) -> str:
    """``1.5 MiB``, ``512 KiB``, ``100 B``: the largest binary unit the size reaches, up to one decimal."""
    for unit, factor in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} B"


def json_size(value: Any) -> int:
    """Bytes of the compact JSON encoding of ``value``, the measure of an object's size."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


# orjson refuses these instead of writing them as it would a plain value (json refuses most of them too).
_PLAIN = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS


def json_size_over(value: Any, limit: int) -> int:
    """``json_size(value)`` when it may be over ``limit``, else 0: an object is checked against the output
    limit on every write, and encoding it with ``json`` only to learn that it is small cost more than the
    rest of the check.

    orjson writes the same text ``json`` does but for its numbers: a finite float at most one character
    shorter (``9e-6`` for ``9e-06``), NaN and infinities as ``null`` (``-Infinity``: 2.25 times as long).
    So ``json``'s text is at most 2.25 times orjson's, and three times orjson's within ``limit`` is
    within it; anything else (a value orjson refuses, such as an integer beyond 64 bits) is measured."""
    try:
        if 3 * len(orjson.dumps(value, option=_PLAIN)) <= limit:
            return 0
    except orjson.JSONEncodeError:
        pass
    return json_size(value)


# The most of one print() message a reconcile's log shows (what a log line of a container runtime holds
# four times over: enough for an object printed whole while debugging, not a flood).
PRINT_MESSAGE = 64 * KiB


class PrintBound:
    """What one reconcile prints, bounded: a message keeps its first ``message`` bytes (UTF-8) and all of
    them together (a line break each) the first ``total``; the rest is dropped, and said to be.

    print is for debugging, and its text travels from the worker to choreo's stderr (``-v``) or a server's
    log: a reconcile printing a huge string (or a small one in a long loop) would flood them, bounded only by
    the worker's memory. Going over is no error (the reconcile's results do not depend on its prints): a cut
    message ends with a marker naming how much of it was dropped, and ``close`` says how many messages
    after the reconcile's share was used up were dropped whole."""

    def __init__(self, sink: Callable[[str], None], total: int, message: int = PRINT_MESSAGE) -> None:
        self.sink = sink
        self.total = total
        self.message = message
        self.printed = 0
        self.dropped_messages = 0
        self.dropped_bytes = 0

    def __call__(self, text: str) -> None:
        # A message costs its line break too, so that a loop of empty prints is bounded as well.
        room = min(self.message, self.total - self.printed - 1)
        size = _utf8_size(text)
        if size <= room:
            self.printed += size + 1
            self.sink(text)
        elif room <= 0:
            self.dropped_messages += 1
            self.dropped_bytes += size
        else:
            kept = text[:room].encode()[:room].decode(errors="ignore")
            self.printed += room + 1
            self.sink(f"{kept}... [{self._cut(size - len(kept.encode()))} of this message dropped: {self._rule()}]")

    def close(self) -> None:
        """The line saying what was dropped whole, if anything was."""
        if self.dropped_messages:
            count = self.dropped_messages
            self.sink(
                f"[print: {count} more message{'s' if count > 1 else ''} of this reconcile dropped,"
                f" {self._cut(self.dropped_bytes)}: {self._rule()}]"
            )
            self.dropped_messages = self.dropped_bytes = 0

    @staticmethod
    def _cut(size: int) -> str:
        return f"{size} B" if size < KiB else f"{format_size(size)} ({size} B)"

    def _rule(self) -> str:
        return f"print keeps {format_size(self.message)} of a message and {format_size(self.total)} of a reconcile"


def _utf8_size(text: str, chunk: int = MiB) -> int:
    """``len(text.encode())``, without a copy of a huge text (it may be most of a worker's memory)."""
    if len(text) <= chunk:
        return len(text.encode())
    return sum(len(text[at : at + chunk].encode()) for at in range(0, len(text), chunk))


class Budget:
    """One reconcile's share of its ``Limits``: a deadline, output written so far, current call depth.

    Engines call ``check_time`` at loop steps and calls, ``add_output`` for text they produce and
    ``nested`` around user-level calls; each raises ``LimitExceeded`` naming ``where`` (the place the
    engine knows, else the reconciler's entry file)."""

    def __init__(self, limits: Limits, source: str) -> None:
        self.limits = limits
        self.source = source
        self.deadline = time.monotonic() + limits.time
        self.output = 0
        self.depth = 0

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline

    def check_time(self, where: str | None = None) -> None:
        if self.out_of_time():
            raise self.limits.time_exceeded(where or self.source)

    def add_output(self, size: int, where: str | None = None) -> None:
        self.output += size
        if self.output > self.limits.output:
            raise self.limits.output_exceeded(where or self.source)

    @contextmanager
    def nested(self, where: str | None = None) -> Iterator[None]:
        """One level deeper for the duration of a call; the time is checked on the way in."""
        if self.depth >= self.limits.depth:
            raise self.limits.depth_exceeded(where or self.source)
        self.check_time(where)
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
