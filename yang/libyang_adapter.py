"""Every libyang / cffi call of the schema stage lives here, behind a small typed API.

Why one module: the pinned binding (libyang-python 2.8.0 on the C library 2.1.30) reports one error at a
time as text, does not free data trees for us and hides some context flags. Keeping all of it here means
the rest of ``yang`` deals only with ``SchemaContext`` (a compiled profile), ``SchemaNode`` (schema facts
the snippet coercer needs), ``DataTree`` (a data tree freed exactly once) and ``YangIssue`` (device-free,
structured errors: data path + message). A later move to the 3.x bindings touches this file only.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libyang
from _libyang import ffi, lib
from libyang.util import ly_array_iter

# Errors carry a data path only when libyang logs through its callback; the Python logger stays silent.
libyang.configure_logging(True, logging.ERROR)
logging.getLogger("libyang").propagate = False

_LOCATION = re.compile(r'(Data|Schema) location "(.*)"')
_LINE = re.compile(r"line number (\d+)")
_VALID_RESULTS = (lib.LY_SUCCESS, lib.LY_EINCOMPLETE)
_NUMBER_TYPES = frozenset(
    (lib.LY_TYPE_INT8, lib.LY_TYPE_INT16, lib.LY_TYPE_INT32, lib.LY_TYPE_UINT8, lib.LY_TYPE_UINT16, lib.LY_TYPE_UINT32)
)
ContainerKind, ListKind, LeafKind, LeafListKind, AnyKind = "container", "list", "leaf", "leaf-list", "any"


@dataclass(frozen=True)
class YangIssue:
    """One libyang error: the data path (or schema path when libyang gives no data path) and the message."""

    path: str
    message: str
    schema_location: bool = False
    line: int = 0  # line of the input text, when libyang parsed text and knows it


class YangFailure(Exception):
    """An adapter operation failed; ``issues`` holds libyang's structured errors."""

    def __init__(self, issues: list[YangIssue]) -> None:
        super().__init__("; ".join(f"{i.path}: {i.message}" if i.path else i.message for i in issues))
        self.issues = issues


def _c2str(value: Any) -> str:
    return ffi.string(value).decode("utf-8", "replace") if value != ffi.NULL else ""


def _take_errors(ctx: Any, compiling: bool = False) -> list[YangIssue]:
    """libyang's stored errors of ``ctx`` as structured issues; clears them. ``compiling``: the errors of
    parsing or compiling modules, whose location libyang gives as the bare schema path (``/module:node``)."""
    issues: list[YangIssue] = []
    err = lib.ly_err_first(ctx)
    while err:
        message = _c2str(err.msg).rstrip(".")
        where = _c2str(err.path) if err.path else ""
        location = _LOCATION.search(where)
        line = _LINE.search(where)
        path = location.group(2) if location else ""
        schema = location is not None and location.group(1) == "Schema"
        if compiling and location is None and where.startswith("/"):
            path, schema = where, True
        issues.append(YangIssue(path, message, schema, int(line.group(1)) if line else 0))
        err = err.next
    lib.ly_err_clean(ctx, ffi.NULL)
    return issues or [YangIssue("", "libyang reported an error without a message")]


def _str2c(text: str) -> Any:
    return ffi.new("char []", text.encode("utf-8"))


# ------------------------------------------------------------------------------------------- schema


class SchemaNode:
    """What snippet coercion needs to know about one compiled schema node, computed once and cached."""

    __slots__ = ("_cdata", "_children", "_context", "keys", "kind", "module", "name", "state", "user_ordered")

    def __init__(self, context: SchemaContext, cdata: Any) -> None:
        self._context = context
        self._cdata = cdata
        self._children: dict[str, list[SchemaNode]] | None = None
        self.name = _c2str(cdata.name)
        self.module = _c2str(cdata.module.name)
        self.kind = _node_kind(cdata.nodetype)
        self.state = bool(cdata.flags & lib.LYS_CONFIG_R)
        self.user_ordered = bool(cdata.flags & lib.LYS_ORDBY_USER)
        self.keys: tuple[str, ...] = ()
        if self.kind == ListKind:
            self.keys = tuple(c.name for c in self.children_list() if c.is_key)

    @property
    def is_key(self) -> bool:
        return bool(self._cdata.flags & lib.LYS_KEY)

    def children_list(self) -> list[SchemaNode]:
        return [node for nodes in self.children().values() for node in nodes]

    def children(self) -> dict[str, list[SchemaNode]]:
        """Data children by name (choices and cases are transparent), several when augments clash."""
        if self._children is None:
            self._children = self._context.collect(self._cdata, ffi.NULL)
        return self._children

    def _binding(self) -> Any:
        return libyang.SNode.new(self._context.binding, self._cdata)

    def type_name(self) -> str:
        """The leaf's YANG type as written (typedef or built-in name), for tree output."""
        if self.kind not in (LeafKind, LeafListKind):
            return ""
        return str(self._binding().type().name())

    def leafref_target(self) -> str:
        """The path a leafref leaf points at (empty for other nodes), for tree output."""
        if self.kind not in (LeafKind, LeafListKind):
            return ""
        kind = self._binding().type()
        return str(kind.leafref_path() or "") if kind.base() == libyang.Type.LEAFREF else ""

    @property
    def is_union(self) -> bool:
        """Whether the leaf's type is a union (RFC 7951 then allows each member type's own encoding)."""
        if self.kind not in (LeafKind, LeafListKind):
            return False
        return bool(ffi.cast("struct lysc_node_leaf *", self._cdata).type.basetype == lib.LY_TYPE_UNION)

    def member_kinds(self) -> frozenset[str]:
        """How RFC 7951 encodes the values of a union leaf's member types (``json_kind``); empty for other nodes."""
        if not self.is_union:
            return frozenset()
        kind = ffi.cast("struct lysc_node_leaf *", self._cdata).type
        return frozenset(json_kind(member.basetype) for member in _resolved_members(kind))

    @property
    def anyxml(self) -> bool:
        """An anyxml node, whose RFC 7951 value may be any JSON value, ``null`` too (anydata's is an object)."""
        return bool(self._cdata.nodetype == lib.LYS_ANYXML)

    @property
    def mandatory(self) -> bool:
        return bool(self._cdata.flags & lib.LYS_MAND_TRUE)

    @property
    def presence(self) -> bool:
        return self.kind == ContainerKind and bool(self._cdata.flags & lib.LYS_PRESENCE)

    def if_features(self) -> list[str]:
        """The ``if-feature`` expressions of the node as written."""
        return [str(feature) for feature in self._binding().if_features()]

    def schema_path(self) -> str:
        raw = lib.lysc_path(self._cdata, lib.LYSC_PATH_DATA, ffi.NULL, 0)
        try:
            return _c2str(raw)
        finally:
            lib.free(raw)

    def check_value(self, text: str) -> tuple[int | None, str]:
        """``(JSON base type, "")`` when ``text`` is a valid value of this leaf, else ``(None, message)``."""
        return self._context.check_value(self._cdata, text)


_BASE_ZERO = re.compile(r"\s*([+-]?)0(?:([0-7]+)|[xX]([0-9a-fA-F]+))\s*\Z")
"""A text that C's strtoll/strtoull with base 0 — libyang's reading of a 64-bit integer in JSON — reads as octal
(``010``: 8; ``07`` is 7 either way) or hexadecimal (``0x10``: 16), where RFC 7950 (9.2.1) reads data integers
as decimal digits."""


def _node_kind(nodetype: int) -> str:
    if nodetype == lib.LYS_LIST:
        return ListKind
    if nodetype == lib.LYS_LEAF:
        return LeafKind
    if nodetype == lib.LYS_LEAFLIST:
        return LeafListKind
    if nodetype in (lib.LYS_ANYDATA, lib.LYS_ANYXML):
        return AnyKind
    return ContainerKind


def json_kind(base: int | None) -> str:
    """How RFC 7951 encodes a value of libyang base type ``base``: number, bool, empty or string."""
    if base in _NUMBER_TYPES:
        return "number"
    if base == lib.LY_TYPE_BOOL:
        return "bool"
    if base == lib.LY_TYPE_EMPTY:
        return "empty"
    return "string"


@dataclass(frozen=True)
class ModuleSource:
    """A module to implement: a file, or a name looked up in the search directories."""

    name: str
    file: Path | None = None


class SchemaContext:
    """A compiled libyang context for one schema profile (reused for every device of the profile)."""

    def __init__(
        self,
        search_dirs: list[Path],
        modules: list[ModuleSource],
        features: dict[str, list[str]] | None = None,
        ref_implemented: bool = False,
    ) -> None:
        options = lib.LY_CTX_DISABLE_SEARCHDIR_CWD | lib.LY_CTX_EXPLICIT_COMPILE | lib.LY_CTX_SET_PRIV_PARSED
        if ref_implemented:
            options |= lib.LY_CTX_REF_IMPLEMENTED
        holder = ffi.new("struct ly_ctx **")
        search = ":".join(str(d) for d in search_dirs if d.is_dir())
        if lib.ly_ctx_new(_str2c(search) if search else ffi.NULL, options, holder) != lib.LY_SUCCESS:
            raise YangFailure([YangIssue("", "cannot create a libyang context")])
        self._ctx = ffi.gc(holder[0], lib.ly_ctx_destroy)
        self.binding = libyang.Context(cdata=self._ctx)
        self._top: dict[str, list[SchemaNode]] | None = None
        self.module_names: list[str] = []
        for source in modules:
            self._load(source, (features or {}).get(source.name))
        if lib.ly_ctx_compile(self._ctx) != lib.LY_SUCCESS:
            raise YangFailure(_take_errors(self._ctx, compiling=True))

    def _load(self, source: ModuleSource, features: list[str] | None) -> None:
        """Parse one module with its features (None: all of them)."""
        wanted = ["*"] if features is None else features
        feats = ffi.new(f"char *[{len(wanted) + 1}]")
        keep = [_str2c(f) for f in wanted]
        for index, value in enumerate(keep):
            feats[index] = value
        feats[len(wanted)] = ffi.NULL
        if source.file is None:
            module = lib.ly_ctx_load_module(self._ctx, _str2c(source.name), ffi.NULL, feats)
            if module == ffi.NULL:
                raise YangFailure(_with_context(_take_errors(self._ctx, compiling=True), f"module {source.name}"))
            name = source.name
        else:
            name = self._parse_file(source.file, feats)
        if name not in self.module_names:
            self.module_names.append(name)

    def _parse_file(self, file: Path, feats: Any) -> str:
        """Parse a module file; returns the name of the module it holds."""
        text = file.read_bytes()
        reader = ffi.new("struct ly_in **")
        keep = ffi.new("char []", text)
        if lib.ly_in_new_memory(keep, reader) != lib.LY_SUCCESS:
            raise YangFailure([YangIssue("", f"{file}: cannot read")])
        try:
            module = ffi.new("struct lys_module **")
            if lib.lys_parse(self._ctx, reader[0], lib.LYS_IN_YANG, feats, module) != lib.LY_SUCCESS:
                raise YangFailure(_with_context(_take_errors(self._ctx, compiling=True), str(file)))
            return _c2str(module[0].name)
        finally:
            lib.ly_in_free(reader[0], 0)

    # ----------------------------------------------------------------------- schema facts

    def collect(self, parent: Any, module: Any) -> dict[str, list[SchemaNode]]:
        children: dict[str, list[SchemaNode]] = {}
        node = lib.lys_getnext(ffi.NULL, parent, module, 0)
        while node != ffi.NULL:
            if node.nodetype & (lib.LYS_CONTAINER | lib.LYS_LIST | lib.LYS_LEAF | lib.LYS_LEAFLIST | lib.LYS_ANYDATA):
                child = SchemaNode(self, node)
                children.setdefault(child.name, []).append(child)
            node = lib.lys_getnext(node, parent, module, 0)
        return children

    def top_level(self) -> dict[str, list[SchemaNode]]:
        """Top-level data nodes of every implemented module, by name."""
        if self._top is None:
            self._top = {}
            index = ffi.new("uint32_t *")
            module = lib.ly_ctx_get_module_iter(self._ctx, index)
            while module != ffi.NULL:
                if module.implemented and module.compiled != ffi.NULL:
                    for name, nodes in self.collect(ffi.NULL, module.compiled).items():
                        self._top.setdefault(name, []).extend(nodes)
                module = lib.ly_ctx_get_module_iter(self._ctx, index)
        return self._top

    def annotation(self, module: str, name: str) -> str:
        """Why metadata ``module:name`` cannot be in data ("" when it can): the module must be in the context
        and define the annotation (RFC 7952 ``md:annotation``); libyang's words."""
        found = lib.ly_ctx_get_module_latest(self._ctx, _str2c(module))
        if found == ffi.NULL:
            return f'Prefix "{module}" of the metadata "{name}" does not match any module in the context'
        for ext in ly_array_iter(found.parsed.exts if found.parsed != ffi.NULL else ffi.NULL):  # as written
            if _c2str(ext.name).rpartition(":")[2] == "annotation" and _c2str(ext.argument) == name:
                return ""
        return f'Annotation definition for attribute "{module}:{name}" not found'

    def conditions(self, schema_path: str) -> list[str]:
        """The ``must`` and ``when`` expressions of the schema node at ``schema_path`` (none when it is unknown)."""
        node = lib.lys_find_path(self._ctx, ffi.NULL, _str2c(schema_path), 0)
        if node == ffi.NULL:
            _take_errors(self._ctx)
            return []
        snode = libyang.SNode.new(self.binding, node)
        return [*snode.must_conditions(), *snode.when_conditions()]

    def choice_members(self, parent_schema: str, choice: str) -> list[str]:
        """The data nodes (``module:name``) a choice of the node at ``parent_schema`` can hold: a mandatory choice
        is missing from an instance that has none of them (a choice is not a data node an XPath can test)."""
        parent = lib.lys_find_path(self._ctx, ffi.NULL, _str2c(parent_schema), 0)
        if parent == ffi.NULL:
            _take_errors(self._ctx)
            return []
        child = lib.lysc_node_child(parent)
        while child != ffi.NULL and not (child.nodetype == lib.LYS_CHOICE and _c2str(child.name) == choice):
            child = child.next
        if child == ffi.NULL:
            return []
        members = self.collect(child, ffi.NULL)
        return [f"{node.module}:{name}" for name, nodes in members.items() for node in nodes]

    def check_value(self, snode: Any, text: str) -> tuple[int | None, str]:
        realtype = ffi.new("const struct lysc_type **")
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as err:  # a lone surrogate (JSON "\ud800") is no character: libyang's words
            code = ord(text[err.start])
            return None, f'Invalid character reference "\\u{code:04x}" (0x{code:08x})'
        ret = lib.lyd_value_validate(self._ctx, snode, data, len(data), ffi.NULL, realtype, ffi.NULL)
        problem = _take_errors(self._ctx)[0].message if ret not in _VALID_RESULTS else ""
        misread = _base_zero_reading(text)
        if misread is not None:
            kind = ffi.cast("struct lysc_node_leaf *", snode).type
            wide = _wide_integer(kind)
            if wide and not _string_before_wide(kind, realtype[0] if not problem else ffi.NULL):
                # libyang's JSON parser reads a 64-bit integer's text (a union member's too) with C's base 0:
                # "010" is stored as 8 and "0x10" as 16 (in a union with a string, too: the string "0x10" becomes
                # the number 16). RFC 7950 (9.2.1) writes integers in data in decimal, so the value would change.
                return None, (f'Invalid {wide} value "{text}": integers are decimal in YANG data (RFC 7950 9.2.1); '
                              f"libyang would read this one as {misread}")
        if problem:
            return None, problem
        kind = realtype[0]
        while kind != ffi.NULL and kind.basetype == lib.LY_TYPE_LEAFREF:
            kind = ffi.cast("struct lysc_type_leafref *", kind).realtype
        return (kind.basetype if kind != ffi.NULL else lib.LY_TYPE_STRING), ""

    # ----------------------------------------------------------------------- data

    def parse(self, text: str, fmt: str = "json") -> DataTree:
        """Parse RFC 7951 JSON or XML data without validating it (unknown nodes are errors)."""
        tree = ffi.new("struct lyd_node **")
        data = _str2c(text)
        flags = lib.LYD_PARSE_ONLY | lib.LYD_PARSE_STRICT
        form = lib.LYD_JSON if fmt == "json" else lib.LYD_XML
        if lib.lyd_parse_data_mem(self._ctx, data, form, flags, 0, tree) != lib.LY_SUCCESS:
            raise YangFailure(_take_errors(self._ctx))
        return DataTree(self, tree[0])

    def parse_fragment(self, parent: str, text: str) -> list[YangIssue]:
        """libyang's errors parsing the JSON object ``text`` as the children of a new instance of data path
        ``parent`` ("" : as top-level data), without validating; [] when it parses. Nothing is kept. It judges one
        value as libyang's JSON parser does (a union's member picked by the value's JSON type, RFC 7951 §6.10),
        which ``check_value`` cannot: that reads the bare text, whatever its JSON type."""
        raw = self._ctx
        holder = ffi.new("struct lyd_node **")  # the top-level node lyd_new_path made
        into = ffi.new("struct lyd_node **")  # the node at ``parent``, below it
        if parent and (lib.lyd_new_path(ffi.NULL, raw, _str2c(parent), ffi.NULL, 0, holder) != lib.LY_SUCCESS
                       or lib.lyd_find_path(holder[0], _str2c(parent), 0, into) != lib.LY_SUCCESS):
            issues = _take_errors(raw)
            if holder[0] != ffi.NULL:
                lib.lyd_free_all(holder[0])
            return issues
        reader = ffi.new("struct ly_in **")
        data = _str2c(text)
        tree = ffi.new("struct lyd_node **")
        try:
            if lib.ly_in_new_memory(data, reader) != lib.LY_SUCCESS:
                return [YangIssue(parent, "cannot read the value")]
            flags = lib.LYD_PARSE_ONLY | lib.LYD_PARSE_STRICT
            if parent:
                ret = lib.lyd_parse_data(raw, into[0], reader[0], lib.LYD_JSON, flags, 0, ffi.NULL)
            else:
                ret = lib.lyd_parse_data(raw, ffi.NULL, reader[0], lib.LYD_JSON, flags, 0, tree)
            return _take_errors(raw) if ret != lib.LY_SUCCESS else []
        finally:
            if reader[0] != ffi.NULL:
                lib.ly_in_free(reader[0], 0)
            made = holder[0] if parent else tree[0]
            if made != ffi.NULL:
                lib.lyd_free_all(made)

    def empty(self) -> DataTree:
        return DataTree(self, ffi.NULL)

    @property
    def raw(self) -> Any:
        return self._ctx


def _base_zero_reading(text: str) -> str | None:
    """How C's base 0 reads ``text`` ("octal, 8") when that is not its decimal reading; None when it is."""
    found = _BASE_ZERO.match(text)
    if found is None:
        return None
    sign, octal, hexadecimal = found.groups()
    if octal is not None:
        return None if int(octal, 8) == int(octal) else f"octal, {int(sign + octal, 8)}"
    return f"hexadecimal, {int(sign + hexadecimal, 16)}"


def _wide_integer(kind: Any) -> str:
    """"int64" or "uint64" when the type (through leafrefs, or a member of a union) is a 64-bit integer, else ""."""
    while kind != ffi.NULL and kind.basetype == lib.LY_TYPE_LEAFREF:
        kind = ffi.cast("struct lysc_type_leafref *", kind).realtype
    if kind == ffi.NULL:
        return ""
    if kind.basetype in (lib.LY_TYPE_INT64, lib.LY_TYPE_UINT64):
        return "int64" if kind.basetype == lib.LY_TYPE_INT64 else "uint64"
    if kind.basetype == lib.LY_TYPE_UNION:
        members = ffi.cast("struct lysc_type_union *", kind).types
        return next((wide for member in ly_array_iter(members) if (wide := _wide_integer(member))), "")
    return ""


def _string_before_wide(kind: Any, taker: Any) -> bool:
    """Whether ``taker``, the union member type that takes a text first (as ``lyd_value_validate`` reads it), is a
    string-encoded member before every 64-bit integer member: a JSON string is then that member's ("010" of
    ``string | int64`` is the string), never read in base 0. False when unknown (``taker`` NULL or a nested union)."""
    if taker == ffi.NULL or kind.basetype != lib.LY_TYPE_UNION:
        return False
    for member in _resolved_members(kind):
        if member.basetype in (lib.LY_TYPE_INT64, lib.LY_TYPE_UINT64, lib.LY_TYPE_UNION):
            return False
        if member == taker:
            return json_kind(member.basetype) == "string"
    return False


def _resolved_members(kind: Any) -> list[Any]:
    """A union's member types in order, each leafref as the type it refers to (what libyang stores a value as)."""
    members = []
    for member in ly_array_iter(ffi.cast("struct lysc_type_union *", kind).types):
        while member != ffi.NULL and member.basetype == lib.LY_TYPE_LEAFREF:
            member = ffi.cast("struct lysc_type_leafref *", member).realtype
        members.append(member)
    return members


def unwritable_any_text(text: str) -> bool:
    """Whether libyang 2.1 writes ``text``, a string inside anydata/anyxml content, into JSON as no JSON or as other
    JSON: it writes such strings unescaped, and a quote, a backslash or a control character needs an escape
    (RFC 8259, 7)."""
    return any(char in '"\\' or char < " " for char in text)


UNWRITABLE_ANY = ("holds a quote, a backslash or a control character, which libyang 2.1 writes into JSON unescaped: "
                  "choreo could not write this config out")


def _with_context(issues: list[YangIssue], where: str) -> list[YangIssue]:
    return [YangIssue(i.path, f"{where}: {i.message}", i.schema_location) for i in issues]


# ------------------------------------------------------------------------------------------- data


class DataTree:
    """A data tree (all top-level siblings). Free it exactly once: ``free()``, or use it as a context manager."""

    def __init__(self, context: SchemaContext, first: Any) -> None:
        self._context = context
        self._first = first
        self._alive = True

    def __enter__(self) -> DataTree:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.free()

    def free(self) -> None:
        if self._alive and self._first != ffi.NULL:
            lib.lyd_free_all(self._first)
        self._alive = False
        self._first = ffi.NULL

    def _check(self) -> None:
        if not self._alive:
            raise RuntimeError("data tree already freed or merged")

    def _anchor(self, node: Any) -> None:
        self._first = lib.lyd_first_sibling(node) if node != ffi.NULL else ffi.NULL

    def merge(self, source: DataTree) -> None:
        """Move ``source`` into this tree (source wins on equal leaves); ``source`` is spent."""
        self._check()
        source._check()
        if source._first == ffi.NULL:
            source._alive = False
            return
        target = ffi.new("struct lyd_node **", self._first)
        ret = lib.lyd_merge_siblings(target, source._first, lib.LYD_MERGE_DESTRUCT)
        source._alive, source._first = False, ffi.NULL
        self._anchor(target[0])  # also on failure: nodes merged before the error belong to this tree now
        if ret != lib.LY_SUCCESS:
            raise YangFailure(_take_errors(self._context.raw))

    def validate(self) -> YangIssue | None:
        """Validate the tree (config only); libyang 2.1 stops at the first error and returns it.

        Only modules with data in the tree are validated (a partial config does not fail on the defaults
        of modules it never touches, e.g. SR Linux's autoboot interface leafref).
        """
        self._check()
        holder = ffi.new("struct lyd_node **", self._first)
        flags = lib.LYD_VALIDATE_NO_STATE | lib.LYD_VALIDATE_PRESENT
        ret = lib.lyd_validate_all(holder, self._context.raw, flags, ffi.NULL)
        self._anchor(holder[0])
        if ret == lib.LY_SUCCESS:
            return None
        return _take_errors(self._context.raw)[0]

    def find(self, xpath: str) -> list[str]:
        """Data paths of the nodes ``xpath`` selects."""
        self._check()
        if self._first == ffi.NULL:
            return []
        found = ffi.new("struct ly_set **")
        if lib.lyd_find_xpath(self._first, _str2c(xpath), found) != lib.LY_SUCCESS:
            _take_errors(self._context.raw)
            return []
        try:
            return [_node_path(found[0].dnodes[i]) for i in range(found[0].count)]
        finally:
            lib.ly_set_free(found[0], ffi.NULL)

    def remove(self, path: str) -> str | None:
        """Free the subtree at data ``path`` and return the data path freed; None when there is no such node.

        A node libyang added as a default cannot go away (the next validation adds it again), so its nearest
        ancestor that is data is freed instead: for a failing ``must`` on a default leaf, the list entry.
        """
        self._check()
        if self._first == ffi.NULL:
            return None
        node = ffi.new("struct lyd_node **")
        if lib.lyd_find_path(self._first, _str2c(path), 0, node) != lib.LY_SUCCESS:
            _take_errors(self._context.raw)
            return None
        target = node[0]
        while target.flags & lib.LYD_DEFAULT and target.parent != ffi.NULL:
            target = ffi.cast("struct lyd_node *", target.parent)
        removed = _node_path(target)
        top_level = target.parent == ffi.NULL
        # a top-level node may be the one ``_first`` points at: re-anchor on a surviving sibling (or none)
        sibling = target.next if target.next != ffi.NULL else target.prev if target.prev != target else ffi.NULL
        lib.lyd_free_tree(target)
        if top_level:
            self._anchor(sibling)
        return removed

    def any_paths(self) -> list[str]:
        """Data paths of the anydata and anyxml nodes in the tree."""
        self._check()
        found: list[str] = []
        siblings = [self._first]
        while siblings:
            node = siblings.pop()
            while node != ffi.NULL:
                if node.schema != ffi.NULL and node.schema.nodetype & lib.LYS_ANYDATA:
                    found.append(_node_path(node))
                else:
                    child = lib.lyd_child(node)
                    if child != ffi.NULL:
                        siblings.append(child)
                node = node.next
        return found

    def drop_repeated(self) -> list[str]:
        """Free each node that repeats an earlier sibling (a leaf, container or anydata given twice, a list entry
        with the same keys, a leaf-list value twice) and return their data paths. A parse that does not validate
        keeps them (libyang finds them when validating), and JSON would print the member twice."""
        self._check()
        repeated: list[Any] = []
        siblings = [self._first]
        while siblings:
            seen: set[str] = set()
            node = siblings.pop()
            while node != ffi.NULL:
                path = _node_path(node)
                if path in seen:
                    repeated.append(node)
                else:
                    seen.add(path)
                    child = lib.lyd_child(node)
                    if child != ffi.NULL:
                        siblings.append(child)
                node = node.next
        paths = [_node_path(node) for node in repeated]
        for node in repeated:  # never the first sibling, which ``_first`` may be
            lib.lyd_free_tree(node)
        return paths

    def print(self, fmt: str = "json", empty_containers: bool = False) -> str:
        """RFC 7951 JSON or XML of explicitly set nodes (defaults are not printed); ``empty_containers``: also a
        non-presence container without children (libyang leaves it out), which the input had."""
        self._check()
        if self._first == ffi.NULL:
            return "{}\n" if fmt == "json" else ""
        out = ffi.new("char **")
        form = lib.LYD_JSON if fmt == "json" else lib.LYD_XML
        flags = lib.LYD_PRINT_WITHSIBLINGS | (lib.LYD_PRINT_KEEPEMPTYCONT if empty_containers else 0)
        try:
            if lib.lyd_print_mem(out, self._first, form, flags) != lib.LY_SUCCESS:
                raise YangFailure(_take_errors(self._context.raw))
            return _c2str(out[0])
        finally:
            lib.free(out[0])  # NULL when nothing was printed; a failed print may leave a partial buffer


def _node_path(node: Any) -> str:
    raw = lib.lyd_path(node, lib.LYD_PATH_STD, ffi.NULL, 0)
    try:
        return _c2str(raw)
    finally:
        lib.free(raw)
