"""Turn a config snippet as users write it into RFC 7951 JSON, using the schema, and list its leaves.

Two encodings, by how the snippet was written:

* **YAML (lenient)** — a mapping, as the reference's snippets are: module prefixes may be left out, and
  YAML 1.1 scalars (``on`` became ``True``, ``22:22`` became ``1342``) are turned back into the spellings
  they could have come from; the leaf's YANG type (checked by libyang) picks the first valid one — the
  schema decides, never a guess. A union's value is first read as JSON text reads it (its JSON type picks the
  member type, RFC 7951 §6.10); only a value JSON text has no reading of is read by its spellings. An
  exponent form YAML 1.1 leaves a string (``1e1``, ``1.5E2``; a number to
  YAML 1.2, JSON and the reference) may also be the number it is. A single entry may stand for a one-entry
  list or leaf-list.
* **RFC 7951 (strict)** — JSON text (a running config, a Config value given as a JSON string): members are
  module-qualified where RFC 7951 requires it, lists and leaf-lists are arrays, numbers up to 32 bits are
  JSON numbers (an exponent form of an integer, ``1e1``, too: ``data_text``), 64-bit and decimal numbers are
  strings, booleans are ``true``/``false``, ``empty`` is ``[null]``. A value in the wrong encoding is an error
  naming its path, never coerced.

In both, in a Config snippet (``edits``), ``null`` deletes (a leaf, a leaf-list, a container, all entries of
a list; in YAML a ``null`` for a leaf of type ``empty`` sets it; in a running config or a data file it is an
error), and ``"@": {"ietf-netconf:operation": "delete"}`` in an entry or
container (``"@name"`` next to a leaf) deletes that node: what the running config or a lower-priority
snippet set there is removed (in a data file, ``edits`` False, metadata deletes nothing and is checked as
libyang checks it). A list entry given twice in one snippet is an error.
Every problem is collected (not only the first), with its data path; the faulty member is dropped so
the rest of the snippet still merges and validates.

A snippet's value is only read, never changed: the stage hands in the store's own objects, uncopied.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from yang.libyang_adapter import (
    UNWRITABLE_ANY,
    AnyKind,
    ContainerKind,
    LeafKind,
    LeafListKind,
    ListKind,
    SchemaContext,
    SchemaNode,
    YangIssue,
    json_kind,
    unwritable_any_text,
)
from yang.xml_snippets import path_steps

_TRUE_SPELLINGS = ("true", "on", "yes", "y", "True", "On", "Yes", "Y", "TRUE", "ON", "YES")
_FALSE_SPELLINGS = ("false", "off", "no", "n", "False", "Off", "No", "N", "FALSE", "OFF", "NO")
_DELETE_OPERATIONS = ("delete", "remove")
_OPERATION_KEYS = ("ietf-netconf:operation", "operation")
_PREDICATE = re.compile(r"""\[([^=\]]+)=(?:'([^']*)'|"([^"]*)")\]""")


@dataclass
class Coerced:
    """A snippet in RFC 7951 form, its leaves (data path → JSON value, keys included), the data paths it
    deletes and its problems."""

    data: dict[str, Any] = field(default_factory=dict)
    leaves: dict[str, Any] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)
    issues: list[YangIssue] = field(default_factory=list)
    strict: bool = False
    edits: bool = True  # a Config snippet: null and the operation annotation delete (not in a data file)
    context: SchemaContext | None = None  # what a data file's metadata is checked against
    entries: dict[str, int] = field(default_factory=dict)  # entry path → its position, to find duplicates
    repeated: set[str] = field(default_factory=set)  # data paths of members given twice (the first one stays)


def coerce(context: SchemaContext, value: Any, strict: bool = False, edits: bool = True) -> Coerced:
    """Coerce one snippet (a mapping of top-level members) against ``context``; ``strict``: RFC 7951 rules;
    ``edits``: a Config snippet, whose ``null`` deletes (a running config or a data file is data only)."""
    out = Coerced(strict=strict, edits=edits, context=context)
    if not isinstance(value, dict):
        out.issues.append(YangIssue("/", f"a config value must be a mapping of top-level members, got {_kind(value)}"))
        return out
    top = context.top_level()
    seen: dict[str, str] = {}
    for key, member in value.items():
        key = _shown(str(key))
        node = _resolve(top, key, "", "/", out)
        if node is not None:
            name = f"{node.module}:{node.name}"
            if _repeated(node, key, seen.setdefault(name, key), f"/{name}", out):
                continue
            result = _node(node, member, f"/{name}", out)
            if result is not _SKIP:
                out.data[name] = _merge_member(out.data.get(name), result)
    return out


_SKIP = object()


def _repeated(node: SchemaNode, key: str, first: str, path: str, out: Coerced) -> bool:
    """Whether member ``key`` names the node that member ``first`` of the same object named (``u8`` and ``t:u8``):
    an error for a leaf (a list key included: which value would count?) or anydata, and in JSON text for a
    container too, as libyang's ("Duplicate instance"); the entries of a list or leaf-list given twice combine (an
    entry or value given twice is an error), and so do a mapping's two spellings of a container."""
    combines = node.kind in (ListKind, LeafListKind) or (node.kind == ContainerKind and not out.strict)
    if key == first or combines:
        return False
    out.issues.append(YangIssue(path, f'Duplicate instance of "{node.name}": given as "{first}" and as "{key}"'))
    out.repeated.add(path)
    return True


def _merge_member(old: Any, new: Any) -> Any:
    """Two spellings of one member (``interface`` and ``srl_nokia-interfaces:interface``) in a mapping combine."""
    if old is None:
        return new
    if isinstance(old, dict) and isinstance(new, dict):
        return {**old, **{key: _merge_member(old.get(key), member) for key, member in new.items()}}
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
    node = candidates[0]
    if node.state:
        out.issues.append(YangIssue(path, f'"{key}" is state data (config false) and cannot be configured'))
        return None
    if out.strict and not prefix and node.module != module:
        qualified = f"{node.module}:{node.name}"
        out.issues.append(YangIssue(_join(where, qualified), f'RFC 7951 needs the module-qualified name "{qualified}"'))
        return None
    return node


def _shown(name: str) -> str:
    """A member name as messages and paths show it: a lone surrogate (JSON ``"\\ud800"``, no character, which
    cannot be printed) as its escape; such a name is no schema node's."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def storable(value: Any) -> Any:
    """``value`` with every lone surrogate (in a name or a string) as its escape: UTF-8 text cannot hold one."""
    if isinstance(value, str):
        return _shown(value)
    if isinstance(value, dict):
        return {_shown(str(key)): storable(member) for key, member in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


def without(data: dict[str, Any], path: str) -> dict[str, Any] | None:
    """Coerced ``data`` without the one node at data ``path`` (a new value: ``data`` is not changed); None when
    ``path`` names no single node of it."""
    steps = path_steps(path)
    rest = _without(data, steps) if steps else None
    return rest if isinstance(rest, dict) else None


def item_path(path: str, text: str) -> str:
    """The data path of the leaf-list item ``text`` at ``path``."""
    return f"{path}[.={_quote(text)}]"


def _without(value: Any, steps: list[str]) -> Any:
    """``value`` (a mapping) without the node ``steps`` name (``_SKIP`` for the node itself), None when there is
    none. A container left empty stays (a presence container is data even then); a list or leaf-list left empty
    goes."""
    if not steps:
        return _SKIP
    name, bracket, predicates = steps[0].partition("[")
    if not isinstance(value, dict) or name not in value:
        return None
    member: Any = value[name]
    if bracket:
        wanted = [(key, single or double) for key, single, double in _PREDICATE.findall(bracket + predicates)]
        chosen = [i for i, item in enumerate(member) if wanted and all(_json_text(
            item if key == "." else item.get(key) if isinstance(item, dict) else None) == text
            for key, text in wanted)] if isinstance(member, list) else []
        inner = _without(member[chosen[0]], steps[1:]) if len(chosen) == 1 else None
        if inner is None:
            return None
        member = [*member[:chosen[0]], *([] if inner is _SKIP else [inner]), *member[chosen[0] + 1:]] or _SKIP
    else:
        member = _without(member, steps[1:])
        if member is None:
            return None
    return {key: member if key == name else item for key, item in value.items() if key != name or member is not _SKIP}


def _join(where: str, key: str) -> str:
    return f"/{key}" if where == "/" else f"{where}/{key}"


def _node(node: SchemaNode, value: Any, path: str, out: Coerced) -> Any:
    """The coerced value of ``node``; ``null`` deletes in a Config snippet, and in data is a value of anyxml only
    (RFC 7951 5.5)."""
    if value is None and not _sets_empty(node, out) and not (node.anyxml and not out.edits):
        if not out.edits:
            out.issues.append(YangIssue(path, f"null is no value of {node.name} (RFC 7951 has none; only a Config "
                                              "snippet's null deletes)"))
            return _SKIP
        out.deletes.append(path)
        return _SKIP
    if node.kind == ContainerKind:
        return _container(node, value, path, out)
    if node.kind == ListKind:
        return _list(node, value, path, out)
    if node.kind == LeafListKind:
        return _leaf_list(node, value, path, out)
    if node.kind == LeafKind:
        return _leaf(node, value, path, out)
    if node.kind == AnyKind:
        if storable(value) != value:
            out.issues.append(YangIssue(path, 'Invalid character reference: a lone surrogate (a JSON "\\ud800" to '
                                              '"\\udfff" escape) is no character'))
            return _SKIP
        unwritable = next((text for text in _any_texts(value) if unwritable_any_text(text)), None)
        if unwritable is not None:
            out.issues.append(YangIssue(path, f"anydata/anyxml text {json.dumps(unwritable)} {UNWRITABLE_ANY}"))
            return _SKIP
        out.leaves[path] = value
        return value
    return _SKIP


def _any_texts(value: Any) -> list[str]:
    """The strings in anydata/anyxml content: member names and string values, at every depth."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [*value, *(text for member in value.values() for text in _any_texts(member))]
    if isinstance(value, list):
        return [text for item in value for text in _any_texts(item)]
    return []


def _sets_empty(node: SchemaNode, out: Coerced) -> bool:
    """In YAML, ``leaf:`` with no value (``null``) is how a leaf of type ``empty`` is written: it sets it. Any
    other leaf (a string too, where "" would be a valid value) is deleted by ``null``."""
    return not out.strict and node.kind == LeafKind and json_kind(node.check_value("")[0]) == "empty"


def _container(node: SchemaNode, value: Any, path: str, out: Coerced) -> Any:
    if not isinstance(value, dict):
        out.issues.append(YangIssue(path, f"expected a mapping for container {node.name}, got {_kind(value)}"))
        return _SKIP
    if _deletes_itself(value, path, out):
        return _SKIP
    if not value:  # given empty (a presence container, XML's <c/>): the snippet is what errors about it point at
        out.leaves[path] = {}
    return _members(node, value, path, out, skip={})


def _deletes_itself(value: dict[str, Any], path: str, out: Coerced) -> bool:
    """``"@": {"ietf-netconf:operation": "delete"}`` in a container or entry: record the delete."""
    if "@" not in value:
        return False
    if not out.edits:
        _metadata(value["@"], path, out)
        return False
    if _operation(value["@"], path, out):
        out.deletes.append(path)
        return True
    return False


def _metadata(annotation: Any, path: str, out: Coerced) -> None:
    """Metadata (RFC 7952) in a data file is checked as libyang does and has no effect: no operation deletes."""
    if not isinstance(annotation, dict):
        out.issues.append(YangIssue(path, f"metadata must be a JSON object, got {_kind(annotation)}"))
        return
    for name in annotation:
        prefix, colon, local = str(name).partition(":")
        if not colon:
            out.issues.append(YangIssue(path, f'metadata "{name}" needs the prefix of the module defining it'))
        elif out.context is not None and out.context.annotation(prefix, local):
            out.issues.append(YangIssue(path, out.context.annotation(prefix, local)))


def _operation(annotation: Any, path: str, out: Coerced) -> bool:
    """Whether an ``@`` annotation asks for a delete; anything else is an error (only that one is understood)."""
    operation = next((annotation.get(k) for k in _OPERATION_KEYS if k in annotation), None) \
        if isinstance(annotation, dict) and len(annotation) == 1 else None
    if operation in _DELETE_OPERATIONS:
        return True
    out.issues.append(YangIssue(path, f"unsupported annotation {json.dumps(annotation)}: only "
                                      '{"ietf-netconf:operation": "delete"} (or "remove") is understood'))
    return False


def _members(
    node: SchemaNode, value: dict[str, Any], path: str, out: Coerced, skip: dict[str, str]
) -> dict[str, Any]:
    """The coerced members of a container or list entry; ``skip``: the list keys read already (name → the member
    that gave it)."""
    result: dict[str, Any] = {}
    children = node.children()
    seen = dict(skip)
    for key, member in value.items():
        key = _shown(str(key))
        if key in skip.values() or key == "@":
            continue
        if key.startswith("@"):
            _annotated_member(children, key[1:], member, node.module, path, out, value)
            continue
        child = _resolve(children, key, node.module, path, out)
        if child is None:
            continue
        name = child.name if child.module == node.module else f"{child.module}:{child.name}"
        if _repeated(child, key, seen.setdefault(name, key), f"{path}/{name}", out):
            continue
        coerced = _node(child, member, f"{path}/{name}", out)
        if coerced is not _SKIP:
            result[name] = _merge_member(result.get(name), coerced)
    return result


def _annotated_member(
    children: dict[str, list[SchemaNode]], key: str, annotation: Any, module: str, path: str, out: Coerced,
    siblings: dict[str, Any],
) -> None:
    """``"@mtu": {"ietf-netconf:operation": "delete"}`` deletes the member ``mtu``; in a data file it is metadata
    of the member ``mtu``, which must be there."""
    if not out.edits:
        if key not in siblings:
            out.issues.append(YangIssue(_join(path, key), f"Missing JSON data instance to be coupled with @{key} "
                                                          "metadata"))
        else:
            _metadata(annotation, _join(path, key), out)
        return
    child = _resolve(children, key, module, path, out)
    if child is not None and _operation(annotation, _join(path, key), out):
        name = child.name if child.module == module else f"{child.module}:{child.name}"
        out.deletes.append(f"{path}/{name}")


def _list(node: SchemaNode, value: Any, path: str, out: Coerced) -> Any:
    if isinstance(value, dict) and not out.strict:
        value = [value]
    if not isinstance(value, list):
        out.issues.append(YangIssue(path, f"expected a list of entries for list {node.name}, got {_kind(value)}"))
        return _SKIP
    result = []
    for position, entry in enumerate(value, start=1):
        coerced = _entry(node, entry, path, position, out)
        if coerced is not None:
            result.append(coerced)
    return result if result else _SKIP


def _entry(node: SchemaNode, entry: Any, path: str, position: int, out: Coerced) -> dict[str, Any] | None:
    where = f"{path}[{position}]"  # a keyless path for entries whose keys are unknown: tells two apart
    if not isinstance(entry, dict):
        out.issues.append(YangIssue(where, f"expected a mapping for entry {position} of list {node.name}, "
                                           f"got {_kind(entry)}"))
        return None
    keyed: dict[str, Any] = {}
    predicates = []
    children = node.children()
    spelled: dict[str, str] = {}  # key → the member giving it: a key is the list's module's, qualified or not
    for key in node.keys:
        member = next((m for m in (key, f"{node.module}:{key}") if m in entry), None)
        if member is None:
            out.issues.append(YangIssue(where, f'entry {position} of list {node.name} misses its key "{key}"'))
            return None
        spelled[key] = member
        leaf = children[key][0]
        place = _Place(out, path, f"{node.module}:{node.name}", key=key)
        coerced, text, problem = _scalar(leaf, entry[member], out.strict, place)
        if problem:
            out.issues.append(YangIssue(f"{path}/{key}", problem))
            return None
        keyed[key] = coerced
        predicates.append(f"[{key}={_quote(text)}]")
    entry_path = path + "".join(predicates)
    if entry_path in out.entries:
        out.issues.append(YangIssue(entry_path, f"duplicate entry of list {node.name} in one snippet: entries "
                                                f"{out.entries[entry_path]} and {position} have the same key"))
        return None
    out.entries[entry_path] = position
    if _deletes_itself(entry, entry_path, out):
        return None
    for key, coerced in keyed.items():
        out.leaves[f"{entry_path}/{key}"] = coerced
    keyed.update(_members(node, entry, entry_path, out, skip=spelled))
    return keyed


def _leaf_list(node: SchemaNode, value: Any, path: str, out: Coerced) -> Any:
    if not isinstance(value, list):
        if out.strict:
            out.issues.append(YangIssue(path, f"expected an array for leaf-list {node.name}, got {_kind(value)}"))
            return _SKIP
        value = [value]
    result = []
    place = _Place(out, path, f"{node.module}:{node.name}", many=True)
    for item in value:
        coerced, text, problem = _scalar(node, item, out.strict, place)
        if problem:
            out.issues.append(YangIssue(path, problem))
            continue
        at = item_path(path, text)
        if at in out.leaves:
            out.issues.append(YangIssue(at, f"duplicate value {json.dumps(coerced)} of leaf-list {node.name}"))
            continue
        out.leaves[at] = coerced
        result.append(coerced)
    return result if result else _SKIP


def _leaf(node: SchemaNode, value: Any, path: str, out: Coerced) -> Any:
    if path in out.leaves:  # in both spellings of a container a mapping gave twice
        out.issues.append(YangIssue(path, f'Duplicate instance of "{node.name}"'))
        out.repeated.add(path)
        return _SKIP
    place = _Place(out, path, f"{node.module}:{node.name}")
    coerced, _text, problem = _scalar(node, value, out.strict, place)
    if problem:
        out.issues.append(YangIssue(path, problem))
        return _SKIP
    out.leaves[path] = coerced
    return coerced


@dataclass(frozen=True)
class _Place:
    """Where a mapping's scalar goes: the data path of a leaf, a leaf-list (``many``) or a list whose ``key`` it is,
    and that node's member name in its parent."""

    out: Coerced
    path: str
    member: str  # module-qualified
    key: str = ""
    many: bool = False

    def takes(self, value: Any) -> bool:
        """Whether libyang's JSON parser takes ``value`` there as written (a list's other keys may be missing)."""
        if self.out.context is None:
            return False
        item = {self.key: value} if self.key else value
        fragment = {self.member: [item] if self.key or self.many else item}
        parent = "".join(f"/{step}" for step in path_steps(self.path)[:-1])  # "" at the top level
        issues = self.out.context.parse_fragment(parent, json.dumps(fragment))
        return all(issue.message.startswith(_MISSING_KEY) for issue in issues)


_MISSING_KEY = "List instance is missing its key"


def _scalar(node: SchemaNode, value: Any, strict: bool, place: _Place) -> tuple[Any, str, str]:
    """``(RFC 7951 value, text, "")`` for the value (strict) or, in a mapping, the value as RFC 7951 JSON reads it
    when that is a value of the leaf (``_as_written``), else the first spelling of it the leaf type accepts."""
    if strict:
        return _strict_scalar(node, value)
    if node.is_union:
        written = _as_written(node, value, place)
        if written is not None:
            return written
    first_problem = ""
    tried = spellings(value)
    for text in tried:
        base, problem = node.check_value(text)
        if base is not None:
            return _encode(base, text), text, ""
        first_problem = first_problem or problem
    if isinstance(value, bool):  # YAML 1.1 made a boolean of on/off/yes/no: say which spellings were tried
        first_problem += f" (YAML read the value as {json.dumps(value)}; tried {', '.join(tried[:4])})"
    return None, "", first_problem or f"value {value!r} cannot be used for {node.name}"


def _as_written(node: SchemaNode, value: Any, place: _Place) -> tuple[Any, str, str] | None:
    """A union's value in a mapping as JSON text would give it, when libyang's JSON parser takes it so: the value's
    JSON type picks the member type (RFC 7951 §6.10), as for JSON text — ``7`` is a union's integer member, also
    where a leafref or string member, listed first, would take the text "7", and ``"7"`` its string or enumeration
    member. None when JSON text would have no value of the leaf (``"10"`` for ``uint16 | enumeration``): then the
    mapping's leniency (the spellings) applies. A text ``check_value`` refuses (``"010"`` for a 64-bit member) is
    refused either way."""
    text = _json_text(value)
    base = node.check_value(text)[0] if text is not None else None
    if text is None or base is None or _json_kind_of(value) not in node.member_kinds():
        return None
    # the member that takes the text first has the value's JSON type: JSON text picks it too, no parse needed
    if json_kind(base) == _json_kind_of(value) or place.takes(value):
        return value, text, ""
    return None


def _strict_scalar(node: SchemaNode, value: Any) -> tuple[Any, str, str]:
    """RFC 7951: the value's text must be valid and its JSON type the one its YANG type is encoded as. The value
    is kept as written: in a union each member type has its own encoding (RFC 7951 §6.10), so the JSON type
    picks the member types the text may belong to — which libyang's JSON parser checks (``merge._parse``), as
    ``check_value`` sees only the text."""
    text = _json_text(value)
    if text is None:
        return None, "", f"{_kind(value)} is not an RFC 7951 value for {node.name}"
    base, problem = node.check_value(text)
    if base is None:
        return None, "", problem
    wanted = json_kind(base)
    if _json_kind_of(value) != wanted and not node.is_union:
        return None, "", f"RFC 7951 encodes {node.type_name()} values as {_ENCODINGS[wanted]}, got {_kind(value)}"
    return value, text, ""


_ENCODINGS = {"number": "a JSON number", "bool": "true or false", "empty": "[null]", "string": "a JSON string"}


def _json_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, float):  # a fraction (an exponent form of an integer is an int already): libyang's words
        return repr(value)
    if value == [None]:
        return ""
    return None


def _json_kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if value == [None]:
        return "empty"
    return "string"


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
        number = _exponent_value(value)
        return [value, number] if number is not None else [value]
    return [str(value)]


_EXPONENT_FORM = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+")
"""A number with an exponent as YAML 1.2 (and JSON, and the reference's YAML) reads it — ``1e1``, ``1.5E2``: YAML 1.1
has a float only with a point and a signed exponent (``1.5e+2``), and leaves these strings."""
_DIGITS = 40  # longer than any YANG integer or decimal64: left as the text it is


def _exponent_value(text: str) -> str | None:
    """The plain decimal spelling of an exponent form (``1e1`` → ``10``, ``1.5e-1`` → ``0.15``), or None."""
    if not _EXPONENT_FORM.fullmatch(text):
        return None
    exact = Decimal(text)
    if exact.is_zero():
        return "0"
    if not -_DIGITS < exact.adjusted() < _DIGITS:
        return None
    if exact == exact.to_integral_value():
        return str(int(exact))
    return format(exact, "f")


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
