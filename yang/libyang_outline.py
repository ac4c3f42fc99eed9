"""The compiled schema as a plain tree of ``OutlineNode`` for ``choreo schema tree`` (the cffi side of it).

The tree printer needs what pyang's tree format shows: node kinds including choices, cases, rpcs, actions,
input/output and notifications, config/input/output roles, status, presence, mandatory, keys, the type and
leafref path as the module wrote them and the ``if-feature`` expressions. libyang keeps the compiled facts on
``lysc_node`` and, because profiles are compiled with ``LY_CTX_SET_PRIV_PARSED``, the written ones on the
parsed node its ``priv`` points at. Reading them is cffi work, so it lives here, next to
``libyang_adapter`` and built on its ``SchemaContext``; ``yang.tree`` only formats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from _libyang import ffi, lib

from yang.libyang_adapter import SchemaContext, YangFailure, YangIssue

_KEYWORDS = {
    lib.LYS_CONTAINER: "container", lib.LYS_LIST: "list", lib.LYS_LEAF: "leaf", lib.LYS_LEAFLIST: "leaf-list",
    lib.LYS_CHOICE: "choice", lib.LYS_CASE: "case", lib.LYS_ANYDATA: "anydata", lib.LYS_ANYXML: "anyxml",
    lib.LYS_RPC: "rpc", lib.LYS_ACTION: "action", lib.LYS_NOTIF: "notification", lib.LYS_INPUT: "input",
    lib.LYS_OUTPUT: "output",
}
_WITH_CHOICES = lib.LYS_GETNEXT_WITHCHOICE | lib.LYS_GETNEXT_WITHCASE


@dataclass
class OutlineNode:
    """One schema node with the facts a pyang-style tree prints."""

    keyword: str  # container, list, leaf, leaf-list, choice, case, anydata, anyxml, rpc, action, ...
    name: str
    module: str  # the module whose namespace the node is in
    prefix: str  # that module's own prefix
    config: bool  # config true (rw) rather than config false (ro)
    role: str = ""  # "input", "output" or "notification" inside an rpc/action or a notification
    status: str = "current"
    presence: bool = False
    mandatory: bool = False
    key: bool = False
    keys: str = ""  # a list's key statement
    type_name: str = ""  # the type as written (a typedef name, possibly prefixed)
    leafref_path: str = ""  # the path of a type written as ``leafref``
    if_features: list[str] = field(default_factory=list)
    augment: int = 0  # identity of the parsed augment statement the node comes from (0: none)
    _cdata: Any = None
    _children: list[OutlineNode] | None = None

    def children(self) -> list[OutlineNode]:
        """Data children (choices and cases included), then actions and notifications; input and output of
        an rpc/action. Built on first use: a full SR Linux tree is large and most prints show part of it."""
        if self._children is None:
            self._children = _children(self._cdata) if self._cdata is not None else []
        return self._children


def module_outline(context: SchemaContext, module_name: str) -> tuple[list[OutlineNode], list[Augment]]:
    """The top-level nodes of ``module_name`` (data, then rpcs, then notifications) and its augments."""
    module = _implemented(context, module_name)
    nodes = []
    node = lib.lys_getnext(ffi.NULL, ffi.NULL, module.compiled, _WITH_CHOICES)
    while node != ffi.NULL:
        nodes.append(_outline(node))
        node = lib.lys_getnext(node, ffi.NULL, module.compiled, _WITH_CHOICES)
    return nodes, _augments(module)


def _implemented(context: SchemaContext, name: str) -> Any:
    index = ffi.new("uint32_t *")
    module = lib.ly_ctx_get_module_iter(context.raw, index)
    while module != ffi.NULL:
        if module.implemented and module.compiled != ffi.NULL and _text(module.name) == name:
            return module
        module = lib.ly_ctx_get_module_iter(context.raw, index)
    raise YangFailure([YangIssue("", f"module {name} is not implemented in this schema")])


@dataclass(frozen=True)
class Augment:
    """An ``augment`` statement of a module: its target as written, the target's module and the statement's
    identity (what ``OutlineNode.augment`` of the nodes it adds holds)."""

    target: str
    target_module: str
    identity: int


def _augments(module: Any) -> list[Augment]:
    parsed = module.parsed
    if parsed == ffi.NULL:
        return []
    imports = {_text(i.prefix): _text(i.module.name) for i in _array(parsed.imports)}
    imports[_text(module.prefix)] = _text(module.name)
    found = []
    augment = ffi.cast("struct lysp_node *", parsed.augments)
    while augment != ffi.NULL:
        target = _text(augment.name)  # a parsed augment's "name" is its target node id
        first = target.lstrip("/").split("/", 1)[0]
        found.append(Augment(target, imports.get(first.partition(":")[0], ""), _identity(augment)))
        augment = augment.next
    return found


def _children(parent: Any) -> list[OutlineNode]:
    if parent.nodetype & (lib.LYS_RPC | lib.LYS_ACTION):
        child = lib.lysc_node_child(parent)  # input, then output
        found = []
        while child != ffi.NULL:
            found.append(_outline(child))
            child = child.next
        return found
    found = []
    node = lib.lys_getnext(ffi.NULL, parent, ffi.NULL, _WITH_CHOICES)
    while node != ffi.NULL:
        found.append(_outline(node))
        node = lib.lys_getnext(node, parent, ffi.NULL, _WITH_CHOICES)
    return found


def _outline(node: Any) -> OutlineNode:
    flags = node.flags
    parsed = ffi.cast("struct lysp_node *", node.priv) if node.priv != ffi.NULL else ffi.NULL
    written = parsed.flags if parsed != ffi.NULL else flags
    outline = OutlineNode(
        keyword=_KEYWORDS.get(node.nodetype, "container"),
        name=_text(node.name),
        module=_text(node.module.name),
        prefix=_text(node.module.prefix),
        config=bool(flags & lib.LYS_CONFIG_W),
        role=_role(flags),
        status="deprecated" if written & lib.LYS_STATUS_DEPRC else "obsolete" if written & lib.LYS_STATUS_OBSLT
        else "current",
        presence=bool(node.nodetype == lib.LYS_CONTAINER and flags & lib.LYS_PRESENCE),
        mandatory=bool(node.nodetype & (lib.LYS_LEAF | lib.LYS_CHOICE | lib.LYS_ANYDATA) and flags & lib.LYS_MAND_TRUE),
        key=bool(node.nodetype == lib.LYS_LEAF and flags & lib.LYS_KEY),
        _cdata=node if node.nodetype & ~(lib.LYS_LEAF | lib.LYS_LEAFLIST | lib.LYS_ANYDATA) else None,
    )
    if parsed != ffi.NULL:
        _written_facts(outline, node, parsed)
    return outline


def _written_facts(outline: OutlineNode, node: Any, parsed: Any) -> None:
    """Type, leafref path, keys and if-features as the module wrote them (the parsed node)."""
    outline.if_features = [_text(q.str) for q in _array(parsed.iffeatures)]
    holder = parsed.parent
    if holder != ffi.NULL and holder.nodetype == lib.LYS_GROUPING:
        holder = _uses_of(node, _text(holder.name))  # the `uses` that put the node here: its if-features count
    elif holder != ffi.NULL and holder.nodetype == lib.LYS_AUGMENT:
        outline.augment = _identity(holder)
    if holder != ffi.NULL and holder.nodetype & (lib.LYS_AUGMENT | lib.LYS_USES):
        outline.if_features += [f for f in (_text(q.str) for q in _array(holder.iffeatures))
                                if f not in outline.if_features]
    if node.nodetype & (lib.LYS_LEAF | lib.LYS_LEAFLIST):
        kind = ffi.cast("struct lysp_node_leaf *", parsed).type if node.nodetype == lib.LYS_LEAF \
            else ffi.cast("struct lysp_node_leaflist *", parsed).type
        outline.type_name = _text(kind.name)
        if outline.type_name == "leafref" and kind.path != ffi.NULL:
            outline.leafref_path = _text(lib.lyxp_get_expr(kind.path))
    elif node.nodetype == lib.LYS_LIST:
        outline.keys = " ".join(_text(ffi.cast("struct lysp_node_list *", parsed).key).split())


def _uses_of(node: Any, grouping: str) -> Any:
    """The parsed ``uses <grouping>`` among the statements the compiled parent of ``node`` was written with
    (a container's, a list's or the module's top level; NULL elsewhere)."""
    parent = node.parent
    if parent == ffi.NULL:
        statement = node.module.parsed.data if node.module.parsed != ffi.NULL else ffi.NULL
    elif parent.priv == ffi.NULL:
        return ffi.NULL
    elif parent.nodetype == lib.LYS_CONTAINER:
        statement = ffi.cast("struct lysp_node_container *", parent.priv).child
    elif parent.nodetype == lib.LYS_LIST:
        statement = ffi.cast("struct lysp_node_list *", parent.priv).child
    else:
        return ffi.NULL
    while statement != ffi.NULL:
        if statement.nodetype == lib.LYS_USES and _text(statement.name).rpartition(":")[2] == grouping:
            return statement
        statement = statement.next
    return ffi.NULL


def _role(flags: int) -> str:
    if flags & lib.LYS_IS_INPUT:
        return "input"
    if flags & lib.LYS_IS_OUTPUT:
        return "output"
    if flags & lib.LYS_IS_NOTIF:
        return "notification"
    return ""


def _identity(pointer: Any) -> int:
    return int(ffi.cast("uintptr_t", pointer))


def _array(pointer: Any) -> list[Any]:
    """The items of a libyang sized array (its count is stored just before the first item)."""
    if pointer == ffi.NULL:
        return []
    count = ffi.cast("uint64_t *", pointer)[-1]
    return [pointer[i] for i in range(count)]


def _text(value: Any) -> str:
    return ffi.string(value).decode("utf-8", "replace") if value != ffi.NULL else ""
