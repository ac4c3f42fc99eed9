"""Parse Graphviz DOT text in tests with pydot's grammar (pure Python: no graphviz binary needed)."""

from __future__ import annotations

import warnings

import pydot


def parse_dot(text: str) -> pydot.Dot:
    """The one graph in ``text``; fails the test when the text is not valid DOT."""
    with warnings.catch_warnings():
        # pydot builds its pyparsing grammar with names that pyparsing >= 3.3 marks as deprecated.
        warnings.simplefilter("ignore", DeprecationWarning)
        graphs = pydot.graph_from_dot_data(text)
    assert graphs is not None and len(graphs) == 1, f"not one valid DOT graph:\n{text}"
    return graphs[0]


def dot_nodes(graph: pydot.Dot) -> dict[str, str]:
    """Node name -> label (unquoted), leaving out the ``node [...]`` default statement."""
    return {n.get_name(): n.get("label")[1:-1] for n in graph.get_nodes() if n.get_name() not in ("node", "edge")}


def dot_edges(graph: pydot.Dot) -> list[tuple[str, str]]:
    return sorted((e.get_source(), e.get_destination()) for e in graph.get_edges())
