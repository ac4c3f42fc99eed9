"""``run deps``: the ownership forest of an inventory, as the reference's text tree, DOT or Mermaid.

Roots are objects without ownerReferences; an object appears under every owner it names (matched by
uid, which is unique). Objects whose owner is missing are orphans and, as in the reference, not shown.
Siblings (and roots) are sorted by the lower-case ``"<Kind>.<apiVersion> <name>"``.

Text tree (reference format, §2.9): one line per object, ``<prefix><Kind>.<apiVersion> <name>`` where
depth 0 has no prefix and depth d >= 1 has ``2*(d-1)`` spaces and ``+-``.

A whole project is too much to look at, so ``select`` cuts the forest down: to the subtrees of some
objects (``--root``), to some kinds (``--kind``: an object of another kind is left out and its children
move up to its nearest shown owner), and to a number of levels (``--depth``, counted in shown levels).
The picture (DOT) lays each tree out on its own and packs the trees in a grid, so a fabric gives a
roughly square picture instead of one row as wide as all its objects; each kind has its own fill colour.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from choreo.errors import ChoreoError
from choreo.results import graphviz
from choreo.results.inventory import Identity, Item

FORMATS = ("tree", "dot", "mermaid")


@dataclass
class Node:
    item: Item
    children: list[Node] = field(default_factory=list)

    @property
    def sort_key(self) -> tuple[str, str]:
        return (self.item.label.lower(), self.item.uid)


@dataclass(frozen=True)
class Selection:
    """What ``select`` keeps: subtrees of ``roots`` (``KIND/NAME`` or ``NAME``), objects of ``kinds``
    (``Kind`` or ``Kind.group``, any case), ``depth`` shown levels below the top (``None``: all)."""

    roots: Sequence[str] = ()
    kinds: Sequence[str] = ()
    depth: int | None = None


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
    """Sorted, each object once (an object reached twice after ``--kind`` left out what was between)."""
    unique = {node.item.identity: node for node in reversed(nodes)}
    return sorted(unique.values(), key=lambda node: node.sort_key)


def walk(roots: list[Node]) -> Iterator[tuple[int, Node, Node | None]]:
    """(depth, node, parent) in printing order."""
    stack: list[tuple[int, Node, Node | None]] = [(0, root, None) for root in reversed(roots)]
    while stack:
        depth, node, parent = stack.pop()
        yield depth, node, parent
        stack.extend((depth + 1, child, node) for child in reversed(node.children))


# ------------------------------------------------------------------------------------------ selection


def kind_matches(item: Item, wanted: str) -> bool:
    """``wanted`` names ``item``'s kind: ``Kind`` or ``Kind.group``, in any case."""
    return wanted.lower() in (item.kind.lower(), f"{item.kind}.{item.gvk.group}".lower())


def ref_matches(item: Item, ref: str) -> bool:
    """``ref`` names ``item``: ``NAME`` or ``KIND/NAME``, the name as shown (``namespace/name`` outside
    the default namespace) or bare."""
    names = (item.shown_name, str(item.metadata.get("name") or ""))
    kind, slash, name = ref.partition("/")
    return ref in names or (bool(slash) and name in names and kind_matches(item, kind))


def select(roots: list[Node], selection: Selection) -> list[Node]:
    """The part of the forest ``selection`` asks for; an error names a ``--root`` or ``--kind`` that
    matches nothing."""
    items = [node.item for _depth, node, _parent in walk(roots)]
    for kind in selection.kinds:
        if not any(kind_matches(item, kind) for item in items):
            shown = ", ".join(sorted({item.kind for item in items})) or "none"
            raise ChoreoError(f"--kind {kind}: no object of that kind (kinds shown here: {shown})")
    if selection.roots:
        roots = _subtrees(roots, selection.roots)
    if selection.kinds:
        roots = _sorted([kept for root in roots for kept in _of_kinds(root, selection.kinds)])
    if selection.depth is not None:
        roots = [_cut(root, selection.depth) for root in roots]
    return roots


def _subtrees(roots: list[Node], refs: Sequence[str]) -> list[Node]:
    """The nodes named by ``refs``, leaving out those already inside another one's subtree."""
    found: dict[Identity, Node] = {}
    for ref in refs:
        matches = [node for _depth, node, _parent in walk(roots) if ref_matches(node.item, ref)]
        if not matches:
            raise ChoreoError(f"--root {ref}: no such object in the tree (give NAME or KIND/NAME, e.g. node/leaf1)")
        found.update((node.item.identity, node) for node in matches if node.item.identity not in found)
    inside = {
        node.item.identity for top in found.values() for depth, node, _parent in walk([top]) if depth > 0
    }
    return _sorted([node for ident, node in found.items() if ident not in inside])


def _of_kinds(node: Node, kinds: Sequence[str]) -> list[Node]:
    """``node`` with only the descendants of ``kinds``; without ``node`` itself when it is of another kind."""
    kept = [kid for child in node.children for kid in _of_kinds(child, kinds)]
    if any(kind_matches(node.item, kind) for kind in kinds):
        return [Node(node.item, _sorted(kept))]
    return kept


def _cut(node: Node, depth: int) -> Node:
    return Node(node.item, [_cut(child, depth - 1) for child in node.children] if depth > 0 else [])


# ------------------------------------------------------------------------------------------ output


def render_tree(roots: list[Node]) -> list[str]:
    return [_prefix(depth) + node.item.label for depth, node, _parent in walk(roots)]


def _prefix(depth: int) -> str:
    return "" if depth == 0 else " " * (2 * (depth - 1)) + "+-"


def kind_key(item: Item) -> str:
    """What a colour stands for: ``<Kind>.<apiVersion>``."""
    return f"{item.kind}.{item.api_version}"


def render_dot(roots: list[Node], fills: dict[str, str] | None = None) -> list[str]:
    """A Graphviz digraph: one node per object (an object owned twice is one node), owner -> child.

    The trees are packed in a grid in printing order, row by row (``packmode``), each kind in its colour
    of ``fills`` (default: colours for the kinds shown)."""
    nodes, edges = _graph(roots)
    fills = fills or graphviz.colours(kind_key(item) for _node_id, item in nodes)
    lines = [
        "digraph deps {",
        "  graph " + graphviz.attributes(rankdir="TB", pack="true", packmode="array_u", ranksep=0.3, nodesep=0.08,
                                          fontname=graphviz.FONT) + ";",
        "  node " + graphviz.attributes(shape="box", style="rounded,filled", fontname=graphviz.FONT, fontsize=10,
                                         margin="0.08,0.03") + ";",
        "  edge " + graphviz.attributes(color="gray45", arrowsize=0.6) + ";",
    ]
    lines += [
        f"  {node_id} " + graphviz.attributes(label=f"{item.kind}\n{item.shown_name}", tooltip=item.label,
                                                fillcolor=fills.get(kind_key(item), "white")) + ";"
        for node_id, item in nodes
    ]
    lines += [f"  {parent} -> {child};" for parent, child in edges]
    return [*lines, "}"]


def render_mermaid(roots: list[Node], fills: dict[str, str] | None = None) -> list[str]:
    nodes, edges = _graph(roots)
    fills = fills or graphviz.colours(kind_key(item) for _node_id, item in nodes)
    lines = ["flowchart TD"]
    lines += [f'  {node_id}["{_mermaid_escape(item.label)}"]' for node_id, item in nodes]
    lines += [f"  {parent} --> {child}" for parent, child in edges]
    classes = {kind: f"k{i}" for i, kind in enumerate(sorted({kind_key(item) for _node_id, item in nodes}))}
    for kind, name in classes.items():
        members = ",".join(node_id for node_id, item in nodes if kind_key(item) == kind)
        lines += [f"  classDef {name} fill:{fills.get(kind, 'white')}", f"  class {members} {name}"]
    return lines


def _graph(roots: list[Node]) -> tuple[list[tuple[str, Item]], list[tuple[str, str]]]:
    """(node id, object) per object and (owner id, child id) per edge, in printing order.

    Node ids are ``n0``, ``n1``... in printing order, so the output is stable."""
    ids: dict[Identity, str] = {}
    nodes: list[tuple[str, Item]] = []
    edges: list[tuple[str, str]] = []
    seen_edges: set[tuple[str, str]] = set()
    for _depth, node, parent in walk(roots):
        ident = node.item.identity
        if ident not in ids:
            ids[ident] = f"n{len(ids)}"
            nodes.append((ids[ident], node.item))
        if parent is not None:
            edge = (ids[parent.item.identity], ids[ident])
            if edge not in seen_edges:
                seen_edges.add(edge)
                edges.append(edge)
    return nodes, edges


def _mermaid_escape(text: str) -> str:
    return text.replace('"', "#quot;")


def render(roots: list[Node], fmt: str, fills: dict[str, str] | None = None) -> list[str]:
    """``roots`` as ``fmt`` (one of ``FORMATS``); ``fills``: the colour of each kind (see ``kind_key``)."""
    if fmt == "tree":
        return render_tree(roots)
    return render_dot(roots, fills) if fmt == "dot" else render_mermaid(roots, fills)
