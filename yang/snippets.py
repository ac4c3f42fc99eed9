"""Turn a config snippet as users write it into RFC 7951 JSON, using the schema, and list its leaves.

Reference snippets are YAML/JSON without module prefixes and with YAML 1.1 scalars (``on`` became
``True``, ``22:22`` became ``1342``). Each member is resolved against the compiled schema (a top-level
name must belong to exactly one module), and each scalar is turned back into text in the spellings the
YAML 1.1 value could have come from; the leaf's YANG type (checked by libyang) picks the first valid one —
the schema decides, never a guess. Proper RFC 7951 (prefixed) input passes through the same walk.
Every problem is collected (not only the first), with its data path; the faulty member is dropped so
the rest of the snippet still merges and validates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from yang.libyang_adapter import (
    AnyKind,
    ContainerKind,
    LeafKind,
    LeafListKind,
    ListKind,
    SchemaContext,
    SchemaNode,
    YangIssue,
    json_kind,
)

_TRUE_SPELLINGS = ("true", "on", "yes", "y", "True", "On", "Yes", "Y", "TRUE", "ON", "YES")
_FALSE_SPELLINGS = ("false", "off", "no", "n", "False", "Off", "No", "N", "FALSE", "OFF", "NO")


@dataclass
class Coerced:
    """A snippet in RFC 7951 form, its leaves (data path → JSON value, keys included) and its problems."""

    data: dict[str, Any] = field(default_factory=dict)
    leaves: dict[str, Any] = field(default_factory=dict)
    issues: list[YangIssue] = field(default_factory=list)


def coerce(context: SchemaContext, value: Any) -> Coerced:
    """Coerce one snippet (a mapping of top-level members) against ``context``."""
    out = Coerced()
    if not isinstance(value, dict):
        out.issues.append(YangIssue("/", f"a config value must be a mapping of top-level members, got {_kind(value)}"))
        return out
    top = context.top_level()
    for key, member in value.items():
        node = _resolve(top, str(key), "", "/", out)
        if node is not None:
            name = f"{node.module}:{node.name}"
            result = _node(node, member, f"/{name}", out)
            if result is not _SKIP:
                out.data[name] = _merge_member(out.data.get(name), result)
    return out


_SKIP = object()


def _merge_member(old: Any, new: Any) -> Any:
    """Two spellings of one member (``interface`` and ``srl_nokia-interfaces:interface``) combine."""
    if old is None:
        return new
    if isinstance(old, dict) and isinstance(new, dict):
        return {**old, **new}
    if isinstance(old, list) and isinstance(new, list):
        return old + new
    return new


def _resolve(
    children: dict[str, list[SchemaNode]], key: str, module: str, where: str, out: Coerced
) -> SchemaNode | None:
    """The one schema node ``key`` names among ``children`` (a prefix-less name prefers ``module``); else an issue."""
    prefix, _, name = key.rpartition(":")
    candidates = children.get(name, [])
    if prefix:
        candidates = [c for c in candidates if c.module == prefix]
    elif len(candidates) > 1:
        same = [c for c in candidates if c.module == module]
        candidates = same or candidates
    path = _join(where, key)
    if not candidates:
        what = "no module of the schema defines it" if where == "/" else "not in the schema"
        out.issues.append(YangIssue(path, f'unknown node "{key}": {what}'))
        return None
    if len(candidates) > 1:
        names = ", ".join(sorted(f"{c.module}:{c.name}" for c in candidates))
        out.issues.append(YangIssue(path, f'ambiguous member "{key}": defined by {names}; use a module prefix'))
        return None
    if candidates[0].state:
        out.issues.append(YangIssue(path, f'"{key}" is state data (config false) and cannot be configured'))
        return None
    return candidates[0]


def _join(where: str, key: str) -> str:
    return f"/{key}" if where == "/" else f"{where}/{key}"


def _node(node: SchemaNode, value: Any, path: str, out: Coerced) -> Any:
    if node.kind == ContainerKind:
        return _container(node, value, path, out)
    if node.kind == ListKind:
        return _list(node, value, path, out)
    if node.kind == LeafListKind:
        return _leaf_list(node, value, path, out)
    if node.kind == LeafKind:
        return _leaf(node, value, path, out)
    if node.kind == AnyKind:
        out.leaves[path] = value
        return value
    return _SKIP


def _container(node: SchemaNode, value: Any, path: str, out: Coerced) -> Any:
    if value is None:
        return {}
    if not isinstance(value, dict):
        out.issues.append(YangIssue(path, f"expected a mapping for container {node.name}, got {_kind(value)}"))
        return _SKIP
    return _members(node, value, path, out, skip=())


def _members(
    node: SchemaNode, value: dict[str, Any], path: str, out: Coerced, skip: tuple[str, ...]
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    children = node.children()
    for key, member in value.items():
        if key in skip:
            continue
        child = _resolve(children, str(key), node.module, path, out)
        if child is None:
            continue
        name = child.name if child.module == node.module else f"{child.module}:{child.name}"
        coerced = _node(child, member, f"{path}/{name}", out)
        if coerced is not _SKIP:
            result[name] = _merge_member(result.get(name), coerced)
    return result


def _list(node: SchemaNode, value: Any, path: str, out: Coerced) -> Any:
    entries = [value] if isinstance(value, dict) else value
    if not isinstance(entries, list):
        out.issues.append(YangIssue(path, f"expected a list of entries for list {node.name}, got {_kind(value)}"))
        return _SKIP
    result = []
    for entry in entries:
        coerced = _entry(node, entry, path, out)
        if coerced is not None:
            result.append(coerced)
    return result if result else _SKIP


def _entry(node: SchemaNode, entry: Any, path: str, out: Coerced) -> dict[str, Any] | None:
    if not isinstance(entry, dict):
        out.issues.append(YangIssue(path, f"expected a mapping for an entry of list {node.name}, got {_kind(entry)}"))
        return None
    keyed: dict[str, Any] = {}
    predicates = []
    children = node.children()
    for key in node.keys:
        if key not in entry:
            out.issues.append(YangIssue(path, f'list entry misses its key "{key}"'))
            return None
        leaf = children[key][0]
        coerced, text, problem = _scalar(leaf, entry[key])
        if problem:
            out.issues.append(YangIssue(f"{path}/{key}", problem))
            return None
        keyed[key] = coerced
        predicates.append(f"[{key}={_quote(text)}]")
    entry_path = path + "".join(predicates)
    for key, coerced in keyed.items():
        out.leaves[f"{entry_path}/{key}"] = coerced
    keyed.update(_members(node, entry, entry_path, out, skip=node.keys))
    return keyed


def _leaf_list(node: SchemaNode, value: Any, path: str, out: Coerced) -> Any:
    items = value if isinstance(value, list) else [value]
    result = []
    for item in items:
        coerced, text, problem = _scalar(node, item)
        if problem:
            out.issues.append(YangIssue(path, problem))
            continue
        out.leaves[f"{path}[.={_quote(text)}]"] = coerced
        result.append(coerced)
    return result if result else _SKIP


def _leaf(node: SchemaNode, value: Any, path: str, out: Coerced) -> Any:
    coerced, _text, problem = _scalar(node, value)
    if problem:
        out.issues.append(YangIssue(path, problem))
        return _SKIP
    out.leaves[path] = coerced
    return coerced


def _scalar(node: SchemaNode, value: Any) -> tuple[Any, str, str]:
    """``(RFC 7951 value, text, "")`` for the first spelling of ``value`` the leaf type accepts."""
    first_problem = ""
    tried = spellings(value)
    for text in tried:
        base, problem = node.check_value(text)
        if base is not None:
            return _encode(base, text), text, ""
        first_problem = first_problem or problem
    if isinstance(value, bool) or len(tried) > 1:
        first_problem += f" (the snippet holds {json.dumps(value)}, tried as {', '.join(tried[:4])})"
    return None, "", first_problem or f"value {value!r} cannot be used for {node.name}"


def spellings(value: Any) -> list[str]:
    """The texts a YAML 1.1 / JSON scalar may have been written as, most literal first."""
    if isinstance(value, bool):
        return list(_TRUE_SPELLINGS if value else _FALSE_SPELLINGS)
    if isinstance(value, int):
        return [str(value), *_sexagesimal(value)]
    if isinstance(value, float):
        texts = [repr(value)]
        return [*texts, str(int(value))] if value.is_integer() else texts
    if value is None or value == [None]:
        return [""]
    if isinstance(value, str):
        return [value]
    return [str(value)]


def _sexagesimal(number: int) -> list[str]:
    """YAML 1.1 reads ``22:22`` as 1342: the base-60 spellings a number could have come from."""
    if number < 60:
        return []
    texts = []
    for groups in (2, 3, 4):
        parts, rest = [], number
        for _ in range(groups - 1):
            rest, digit = divmod(rest, 60)
            parts.append(f"{digit:02d}")
        if rest <= 0:
            break
        texts.append(":".join([str(rest), *reversed(parts)]))
    return texts


def _encode(base: int, text: str) -> Any:
    kind = json_kind(base)
    if kind == "number":
        return int(text)
    if kind == "bool":
        return text == "true"
    if kind == "empty":
        return [None]
    return text


def _quote(text: str) -> str:
    return f'"{text}"' if "'" in text else f"'{text}'"


def _kind(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), "null" if value is None else type(value).__name__)
