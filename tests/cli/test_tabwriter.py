"""Go's tabwriter as kubectl sets it up: column blocks, padding, minimum width, an unpadded last cell."""

from __future__ import annotations

from choreo.cli import tabwriter


def test_columns_are_the_widest_cell_plus_padding_and_never_under_the_minimum() -> None:
    rows = [["NAME", "X", "AGE"], ["leaf1", "1", "5s"], ["a-longer-name", "", ""]]
    assert tabwriter.align(rows, padding=3, min_width=6) == [
        "NAME" + " " * 12 + "X     AGE",  # 13 + 3 wide; X's column 1 + 3, raised to 6
        "leaf1" + " " * 11 + "1     5s",
        "a-longer-name" + " " * 9,  # empty last cells: the padding before them stays, as kubectl writes it
    ]


def test_a_column_holds_only_for_consecutive_lines_that_have_it() -> None:
    lines = [["Name:", "x"], ["Spec:"], ["  Node:", "leaf1"], ["  Mtu:", "9000"], ["Kind:", "Link"]]
    assert tabwriter.align(lines, padding=2) == [  # Spec: has no cell: Name: is a block of its own
        "Name:  x", "Spec:", "  Node:  leaf1", "  Mtu:   9000", "Kind:    Link"]


def test_a_row_added_later_is_padded_to_the_known_columns_or_its_own_cells() -> None:
    widths = tabwriter.cell_widths([["NAME", "READY", "AGE"]], padding=3, min_width=6)[0]
    assert widths == [7, 8]
    assert tabwriter.line(["node", "True", "1s"], widths, padding=3, min_width=6) == "node   True    1s"
    assert tabwriter.line(["a-long-name", "True", "1s"], widths, padding=3, min_width=6) == (
        "a-long-name   True    1s")  # wider than its column: still the padding
    assert tabwriter.line(["node", "True", "1s"], [], padding=3, min_width=6) == "node   True   1s"
