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
    """Node name -> label (unquoted; a line break as DOT writes it, ``\\n``), leaving out the
    ``graph``/``node``/``edge`` default statements."""
    return {name: attrs["label"] for name, attrs in node_attributes(graph).items()}


def node_attributes(graph: pydot.Dot) -> dict[str, dict[str, str]]:
    """Node name -> its attributes, values unquoted."""
    return {
        n.get_name(): {key: _unquoted(value) for key, value in n.get_attributes().items()}
        for n in graph.get_nodes()
        if n.get_name() not in ("graph", "node", "edge")
    }


def _unquoted(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


def dot_edges(graph: pydot.Dot) -> list[tuple[str, str]]:
    return sorted((e.get_source(), e.get_destination()) for e in graph.get_edges())
