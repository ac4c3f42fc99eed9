"""``choreo schema tree``: the tree of a profile or of YANG files in pyang's ``-f tree`` format (RFC 8340).

Printed from the compiled schema the stage validates against (``yang.libyang_outline``), so it shows the
profile's enabled features and every augment, and it reads models pyang cannot resolve completely. The
layout is pyang's: ``<status>--<flags> <name><marker>``, the type column aligned across siblings (nodes in
choices and cases included), ``[keys]``, ``-> path`` for leafrefs written with the fewest prefixes,
``{feature}?``, the ``augment``, ``rpcs:`` and ``notifications:`` sections, ``...`` below ``--depth``.
The README lists where it differs from pyang's text and why.
"""

from __future__ import annotations

from dataclasses import dataclass

from choreo.plugin_api import ChoreoError
from yang.libyang_adapter import SchemaContext
from yang.libyang_outline import OutlineNode, module_outline

_SECTIONS = ("rpc", "notification")
_STATUS = {"current": "+", "deprecated": "x", "obsolete": "o"}
_NO_CHILDREN = ("leaf", "leaf-list", "anydata", "anyxml")


@dataclass(frozen=True)
class TreeOptions:
    """``path``: print only the nodes on this schema path (``/a/b``, names with or without ``prefix:``) and
    what is below its end; ``depth``: how many levels to print (``None``: all)."""

    path: tuple[str, ...] = ()
    depth: int | None = None

    @classmethod
    def parse(cls, path: str, depth: int | None) -> TreeOptions:
        if depth is not None and depth < 1:
            raise ChoreoError(f"--depth must be at least 1, got {depth}")
        return cls(tuple(step for step in path.split("/") if step), depth)


def tree_lines(context: SchemaContext, modules: list[str], options: TreeOptions = TreeOptions()) -> list[str]:
    """The tree of ``modules`` (each module's own nodes, with what the other modules of ``context`` add)."""
    lines: list[str] = []
    matched = False
    after_printed = False
    for module in modules:
        lines += [""] if after_printed else []  # pyang's separator: also when this module prints nothing
        printed = _module_lines(context, module, modules, options)
        lines += printed
        after_printed = bool(printed)
        matched = matched or after_printed
    if options.path and not matched:
        raise ChoreoError(f"schema path /{'/'.join(options.path)}: no such node in {', '.join(modules)}")
    return lines


def _module_lines(context: SchemaContext, module: str, modules: list[str], options: TreeOptions) -> list[str]:
    top, augments = module_outline(context, module)
    printer = _Printer(module)
    depth = options.depth
    path = list(options.path)
    data = _selected([n for n in top if n.keyword not in _SECTIONS], path)
    body: list[str] = printer.children(data, "", path[1:], depth)
    if not path:  # the augments of modules that are not printed (pyang prints them also for a path: odd)
        outside = [a for a in augments if a.target_module not in modules and a.target_module != module]
        sections = []
        for augment in outside:
            target = _find(context, augment.target_module, augment.target)
            added = [n for n in target.children() if n.augment == augment.identity] if target else []
            if added:
                sections += [f"  augment {augment.target}:", *printer.children(added, "  ", [], depth)]
        body += ["", *sections] if sections else []
    for keyword, title in (("rpc", "rpcs"), ("notification", "notifications")):
        nodes = _selected([n for n in top if n.keyword == keyword], path)
        if nodes:
            body += ["", f"  {title}:", *printer.children(nodes, "  ", path[1:], depth)]
    return [f"module: {module}", *body] if body else []


def _selected(nodes: list[OutlineNode], path: list[str]) -> list[OutlineNode]:
    """The top-level ``nodes`` to print: those on ``path`` when all of it resolves below them."""
    chosen = _on_path(nodes, path)
    return chosen if not path or _resolves(chosen, path[1:]) else []


def _on_path(nodes: list[OutlineNode], path: list[str]) -> list[OutlineNode]:
    """``nodes`` named by the first step of ``path`` (all of them without a path)."""
    if not path:
        return nodes
    prefix, _, name = path[0].rpartition(":")
    return [n for n in nodes if n.name == name and (not prefix or prefix in (n.module, n.prefix))]


def _resolves(nodes: list[OutlineNode], rest: list[str]) -> bool:
    return any(not rest or _resolves(_on_path(n.children(), rest), rest[1:]) for n in nodes)


def _find(context: SchemaContext, module: str, target: str) -> OutlineNode | None:
    """The node an augment's target node id names (steps by name; the prefixes are the augmenting module's)."""
    nodes, _ = module_outline(context, module)
    node = None
    for step in [s for s in target.split("/") if s]:
        name = step.rpartition(":")[2]
        node = next((n for n in nodes if n.name == name), None)
        if node is None:
            return None
        nodes = node.children()
    return node


class _Printer:
    """pyang's layout for the nodes of one module (``module``: names from other modules get their prefix)."""

    def __init__(self, module: str) -> None:
        self.module = module

    def children(self, nodes: list[OutlineNode], prefix: str, path: list[str], depth: int | None,
                 width: int = 0) -> list[str]:
        """The lines of ``nodes`` below a line drawn with ``prefix``, ``depth`` levels (``None``: all)."""
        if depth == 0:
            return [f"{prefix}     ..."] if nodes else []
        width = width or self._width(nodes)
        empty_output = bool(nodes) and nodes[-1].keyword == "output" and not nodes[-1].children()
        lines: list[str] = []
        for index, node in enumerate(nodes):
            if node.keyword in ("input", "output") and not node.children():
                continue
            last = index == len(nodes) - 1 or empty_output
            lines += self._node(node, prefix + ("   " if last else "  |"), path, depth, width)
        return lines

    def _node(self, node: OutlineNode, prefix: str, path: list[str], depth: int | None, width: int) -> list[str]:
        line = f"{prefix[:-1]}{_STATUS[node.status]}--{self._label(node, width)}"
        if node.keyword == "list":
            line += f" [{node.keys}]" if node.keys else " []"
        if node.if_features:
            line += f" {{{','.join(node.if_features)}}}?"
        if node.keyword in _NO_CHILDREN:
            return [line]
        below = None if depth is None else depth - 1
        kids = _on_path(node.children(), path)
        nested = width - 3 if node.keyword in ("choice", "case") else 0
        return [line, *self.children(kids, prefix, path[1:], below, nested)]

    def _label(self, node: OutlineNode, width: int) -> str:
        name = self._name(node)
        flags = _flags(node)
        if node.keyword == "list":
            return f"{flags} {name}*"
        if node.keyword == "container":
            return f"{flags} {name}{'!' if node.presence else ''}"
        if node.keyword == "choice":
            return f"{flags} ({name}){'' if node.mandatory else '?'}"
        if node.keyword == "case":
            return f":({name})"
        may_be_absent = (node.keyword == "leaf" and not node.key) or node.keyword in ("anydata", "anyxml")
        if node.keyword == "leaf-list":
            name += "*"
        elif may_be_absent and not node.mandatory:
            name += "?"
        shown = _type_text(node)
        return f"{flags} {name:<{width + 1}}   {shown}" if shown else f"{flags} {name}"

    def _name(self, node: OutlineNode) -> str:
        return node.name if node.module == self.module else f"{node.prefix}:{node.name}"

    def _width(self, nodes: list[OutlineNode]) -> int:
        """The widest name among ``nodes``; a choice or case counts its members' names, 3 columns further in."""
        widths = [3 + self._width(n.children()) if n.keyword in ("choice", "case") else len(self._name(n))
                  for n in nodes]
        return max(widths, default=0)


def _flags(node: OutlineNode) -> str:
    if node.keyword == "input" or node.role == "input":
        return "-w"
    if node.keyword in ("rpc", "action"):
        return "-x"
    if node.keyword == "notification":
        return "-n"
    if node.config and node.role == "" and node.keyword != "output":
        return "rw"
    return "ro"


def _type_text(node: OutlineNode) -> str:
    if node.keyword in ("anydata", "anyxml"):
        return f"<{node.keyword}>"
    if node.leafref_path:
        return f"-> {_compact(node.leafref_path, node.prefix)}"
    return node.type_name


def _compact(path: str, own_prefix: str) -> str:
    """A leafref path with each prefix dropped where it repeats the one before it (the node's own at first)."""
    steps = []
    current = own_prefix
    for step in path.split("/"):
        prefix, colon, name = step.partition(":")
        if not colon or prefix == current:
            steps.append(name if colon else step)
        else:
            steps.append(step)
            current = prefix
    return "/".join(steps)
