"""``choreo schema tree``: a pyang-style tree of a compiled profile (or of one subtree of it).

Built from the compiled schema the stage uses (through the adapter), so it shows exactly what snippets
are validated against — augments, enabled features and all — and is fast even for SR Linux.
"""

from __future__ import annotations

from choreo.plugin_api import ChoreoError
from yang.libyang_adapter import LeafKind, LeafListKind, ListKind, SchemaContext, SchemaNode


def tree_lines(context: SchemaContext, path: str = "") -> list[str]:
    if path.strip("/"):
        node = find_node(context, path)
        return [_label(node, ""), *_children(node, "")]
    lines: list[str] = []
    top = context.top_level()
    for module in context.module_names:
        nodes = [n for name in sorted(top) for n in top[name] if n.module == module]
        if not nodes:
            continue
        lines.append(f"module: {module}")
        for index, node in enumerate(nodes):
            lines.extend(_branch(node, "  ", index == len(nodes) - 1))
    return lines


def find_node(context: SchemaContext, path: str) -> SchemaNode:
    """The schema node at ``/a/b/c`` (names with or without ``module:`` prefixes, no predicates)."""
    children = context.top_level()
    node = None
    for step in [s for s in path.split("/") if s]:
        prefix, _, name = step.split("[")[0].rpartition(":")
        found = [c for c in children.get(name, []) if not prefix or c.module == prefix]
        if len(found) != 1:
            what = "no node" if not found else "several nodes (use module:name)"
            raise ChoreoError(f"schema path {path}: {what} named {step!r}")
        node = found[0]
        children = node.children()
    if node is None:
        raise ChoreoError(f"schema path {path!r} is empty")
    return node


def _branch(node: SchemaNode, prefix: str, last: bool, parent_module: str = "") -> list[str]:
    lines = [f"{prefix}+--{_label(node, parent_module)}"]
    return lines + _children(node, prefix + ("   " if last else "|  "))


def _children(node: SchemaNode, prefix: str) -> list[str]:
    kids = node.children_list()
    lines: list[str] = []
    for index, child in enumerate(kids):
        lines.extend(_branch(child, prefix, index == len(kids) - 1, node.module))
    return lines


def _label(node: SchemaNode, parent_module: str) -> str:
    access = "ro" if node.state else "rw"
    name = f"{node.module}:{node.name}" if parent_module and node.module != parent_module else node.name
    if node.kind == ListKind:
        return f"{access} {name}* [{' '.join(node.keys)}]"
    if node.kind == LeafListKind:
        return f"{access} {name}*    {node.type_name()}"
    if node.kind == LeafKind:
        return f"{access} {name}    {node.type_name()}"
    return f"{access} {name}"

