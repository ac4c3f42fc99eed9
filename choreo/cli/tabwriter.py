"""Go's ``text/tabwriter`` as kubectl sets it up, for output that reads byte for byte as kubectl's.

Why: kubectl writes its tables (``get``, ``api-resources``: padding 3, minimum width 6) and ``describe``'s
fields (padding 2) through Go's tabwriter, and scripts and eyes compare choreo's output with kubectl's. The
rules: a line's cells end at a tab; a column's width holds for a run of consecutive lines that all have a
cell in it (the widest cell plus the padding, never under the minimum); each cell is padded to it; the text
after a line's last tab is no cell and is never padded, so a line whose last cell is empty keeps the padding
of the cell before it.
"""

from __future__ import annotations

from collections.abc import Sequence


def cell_widths(rows: Sequence[Sequence[str]], *, padding: int, min_width: int = 0) -> list[list[int]]:
    """For each row, the width of each of its cells but the last, as the tabwriter computes it."""
    widths = [[0] * max(len(row) - 1, 0) for row in rows]

    def block(start: int, end: int, column: int) -> None:
        line = start
        while line < end:
            if len(rows[line]) - 1 <= column:
                line += 1
                continue
            last = line
            while last < end and len(rows[last]) - 1 > column:
                last += 1
            width = max(max(len(rows[n][column]) for n in range(line, last)) + padding, min_width)
            for n in range(line, last):
                widths[n][column] = width
            block(line, last, column + 1)
            line = last

    block(0, len(rows), 0)
    return widths


def line(row: Sequence[str], widths: Sequence[int], *, padding: int, min_width: int = 0) -> str:
    """One row with its cells padded to ``widths`` (a cell wider than its column, or past the columns known,
    still gets ``padding``)."""
    if not row:
        return ""
    cells = row[:-1]
    known = [*widths[: len(cells)], *[0] * (len(cells) - len(widths))]
    padded = (cell.ljust(max(width, len(cell) + padding, min_width)) for cell, width in zip(cells, known, strict=True))
    return "".join(padded) + row[-1]


def align(rows: Sequence[Sequence[str]], *, padding: int, min_width: int = 0) -> list[str]:
    """``rows`` (lists of cells) as the tabwriter writes them."""
    widths = cell_widths(rows, padding=padding, min_width=min_width)
    return [line(row, row_widths, padding=padding, min_width=min_width) for row, row_widths in zip(rows, widths,
                                                                                                   strict=True)]
