"""Graphviz output shared by the ``run deps`` pictures: DOT quoting, colours, and SVG/PNG through ``dot``.

Both pictures (the ownership forest and the network topology) are written as DOT text here, so they look
alike — one palette, one font — and are turned into SVG or PNG by the same call to Graphviz's ``dot``
program (Debian's ``graphviz`` package, installed by ./dev). choreo does not link Graphviz: without the
program, ``-o dot`` still works and the picture formats say what is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable

from choreo.errors import ChoreoError

PICTURES = ("svg", "png")
FONT = "Helvetica"

# Light fills that keep black text readable; a kind keeps its colour however the picture is filtered.
PALETTE = (
    "#a6cee3", "#b2df8a", "#fdbf6f", "#cab2d6", "#fb9a99", "#ffff99",
    "#8dd3c7", "#bebada", "#80b1d3", "#fccde5", "#d9d9d9", "#ccebc5",
)


def quote(text: str) -> str:
    """``text`` as a DOT string literal (a line break becomes a centred line break)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def attributes(**attrs: str | int | float) -> str:
    """``[a="x", b="y"]`` in the given order; values are always quoted."""
    return "[" + ", ".join(f"{name}={quote(str(value))}" for name, value in attrs.items()) + "]"


def colours(names: Iterable[str]) -> dict[str, str]:
    """A fill colour per name, in sorted order round the palette: stable for the same set of names."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(sorted(set(names)))}


def picture(dot_text: str, fmt: str) -> tuple[bytes, str]:
    """``dot_text`` rendered by Graphviz as ``fmt`` (svg or png), and what Graphviz warned about."""
    program = shutil.which("dot")
    if program is None:
        raise ChoreoError(f"-o {fmt} needs Graphviz's `dot` program on PATH (apt install graphviz), or use -o dot")
    proc = subprocess.run([program, f"-T{fmt}"], input=dot_text.encode(), capture_output=True, check=False)
    if proc.returncode != 0:
        raise ChoreoError(f"graphviz dot failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout, proc.stderr.decode(errors="replace").strip()
