"""``run deps``: the ownership forest of an inventory, as the reference's text tree, DOT or Mermaid.

Roots are objects without ownerReferences; an object appears under every owner it names (matched by
uid, which is unique). Objects whose owner is missing are orphans and, as in the reference, not shown.
Siblings (and roots) are sorted by the lower-case ``"<Kind>.<apiVersion> <name>"``.

Text tree (reference format, §2.9): one line per object, ``<prefix><Kind>.<apiVersion> <name>`` where
depth 0 has no prefix and depth d >= 1 has ``2*(d-1)`` spaces and ``+-``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from choreo.results.inventory import Identity, Item

FORMATS = ("tree", "dot", "mermaid")


@dataclass
class Node:
    item: Item
    children: list[Node] = field(default_factory=list)

    @property
    def sort_key(self) -> tuple[str, str]:
        return (self.item.label.lower(), self.item.uid)


def build_forest(items: list[Item]) -> list[Node]:
    """The root nodes, each with its descendants, all sorted."""
    by_uid = {item.uid: item for item in items if item.uid}
    children: dict[str, list[Item]] = {}
    roots: list[Item] = []
    for item in items:
        owners = item.metadata.get("ownerReferences") or []
        if not owners:
            roots.append(item)
        for ref in owners:
            uid = str(ref.get("uid") or "")
            if uid in by_uid:
                children.setdefault(uid, []).append(item)
    return _sorted([_node(root, children, set()) for root in roots])


def _node(item: Item, children: dict[str, list[Item]], ancestors: set[str]) -> Node:
    # ``ancestors`` guards against ownership cycles, which the API server does not forbid.
    inner = ancestors | {item.uid}
    kids = [_node(kid, children, inner) for kid in children.get(item.uid, []) if kid.uid not in inner]
    return Node(item, _sorted(kids))


def _sorted(nodes: list[Node]) -> list[Node]:
    return sorted(nodes, key=lambda node: node.sort_key)


def walk(roots: list[Node]) -> Iterator[tuple[int, Node, Node | None]]:
    """(depth, node, parent) in printing order."""
    stack: list[tuple[int, Node, Node | None]] = [(0, root, None) for root in reversed(roots)]
    while stack:
        depth, node, parent = stack.pop()
        yield depth, node, parent
        stack.extend((depth + 1, child, node) for child in reversed(node.children))


def render_tree(roots: list[Node]) -> list[str]:
    return [_prefix(depth) + node.item.label for depth, node, _parent in walk(roots)]


def _prefix(depth: int) -> str:
    return "" if depth == 0 else " " * (2 * (depth - 1)) + "+-"


def render_dot(roots: list[Node]) -> list[str]:
    """A Graphviz digraph: one node per object (an object owned twice is one node), owner -> child."""
    labels, edges = _graph(roots)
    lines = ["digraph deps {", "  rankdir=TB;", '  node [shape=box, fontname="Helvetica"];']
    lines += [f'  {node_id} [label="{_dot_escape(label)}"];' for node_id, label in labels]
    lines += [f"  {parent} -> {child};" for parent, child in edges]
    return [*lines, "}"]


def render_mermaid(roots: list[Node]) -> list[str]:
    labels, edges = _graph(roots)
    lines = ["flowchart TD"]
    lines += [f'  {node_id}["{_mermaid_escape(label)}"]' for node_id, label in labels]
    lines += [f"  {parent} --> {child}" for parent, child in edges]
    return lines


def _graph(roots: list[Node]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(node id, label) per object and (owner id, child id) per edge, in printing order.

    Node ids are ``n0``, ``n1``... in printing order, so the output is stable."""
    ids: dict[Identity, str] = {}
    labels: list[tuple[str, str]] = []
    edges: list[tuple[str, str]] = []
    seen_edges: set[tuple[str, str]] = set()
    for _depth, node, parent in walk(roots):
        ident = node.item.identity
        if ident not in ids:
            ids[ident] = f"n{len(ids)}"
            labels.append((ids[ident], node.item.label))
        if parent is not None:
            edge = (ids[parent.item.identity], ids[ident])
            if edge not in seen_edges:
                seen_edges.add(edge)
                edges.append(edge)
    return labels, edges


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _mermaid_escape(text: str) -> str:
    return text.replace('"', "#quot;")


def render(roots: list[Node], fmt: str) -> list[str]:
    renderers = {"tree": render_tree, "dot": render_dot, "mermaid": render_mermaid}
    return renderers[fmt](roots)
