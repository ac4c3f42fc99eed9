"""Server-side apply: merge a manager's intent into an object and track who owns which field.

Several writers (users, reconcilers, status writers) change the same objects. Kubernetes solves the
"who may change what" question with server-side apply (SSA): each apply carries a manager's complete
intent, the server records the fields each manager set in ``metadata.managedFields``, refuses to
silently overwrite another manager's value (a conflict) and removes fields a manager stopped
applying. There is no maintained Python implementation of Kubernetes' structured-merge-diff, so this
module is a small, pure re-implementation over plain dicts:

* :func:`apply` is an Apply operation (PATCH with ``application/apply-patch``),
* :func:`update` is an Update operation (PUT / merge patch): the writer owns what it changed,
* :func:`fields_owned_by`, :func:`prune_to_manager`, :func:`with_own_fields` and :func:`strip_managed_fields`
  help callers.

List and map merge semantics (atomic / set / list-map, granular / atomic maps) come from a
:class:`ListSemantics` object, normally the OpenAPI schema of the kind.

Choices where choreo is simpler than structured-merge-diff: an empty map or list in an intent is
owned as a field; a manager never conflicts with its own other entries; removing a field also
removes the parents it leaves empty unless someone owns them; list-map items without all keys use
``null`` for the missing ones.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from choreo.api.objects import clone
from choreo.apiserver.fieldpath import (
    FIELD,
    INDEX,
    KEY,
    VALUE,
    FieldPath,
    FieldSet,
    PathElement,
    canonical_json,
    check_fields_v1,
    encode_string,
    field_element,
    format_path,
    from_fields_v1,
    to_fields_v1,
)
from choreo.errors import Conflict

Object = dict[str, Any]
SchemaPath = tuple[str, ...]

APPLY = "Apply"
UPDATE = "Update"

# Fields that identify or are maintained by the server: never owned, merged or removed by SSA.
IDENTITY_PATHS: frozenset[SchemaPath] = frozenset(
    {
        ("apiVersion",),
        ("kind",),
        ("metadata", "name"),
        ("metadata", "namespace"),
        ("metadata", "uid"),
        ("metadata", "resourceVersion"),
        ("metadata", "generation"),
        ("metadata", "creationTimestamp"),
        ("metadata", "managedFields"),
        ("metadata", "deletionTimestamp"),
    }
)
_METADATA_PATH: FieldPath = (PathElement.field("metadata"),)
# The identity fields by the map they are in: () -> {"apiVersion", "kind"}, ("metadata",) -> {"name", ...}.
_IDENTITY_FIELDS: dict[SchemaPath, frozenset[str]] = {
    parent: frozenset(path[-1] for path in IDENTITY_PATHS if path[:-1] == parent)
    for parent in {path[:-1] for path in IDENTITY_PATHS}
}

# Comparison tokens for container nodes: a granular container "is the same" whatever its children
# are (children are compared on their own); leaves compare by their canonical JSON.
_MAP = "<map>"
_LIST = "<list>"
_ITEM = "<item>"
_MISSING: Any = object()
_SCALARS = (str, int, bool, float, type(None))
_CONTAINERS = (dict, list)


class ListSemantics(Protocol):
    """How lists and maps at a schema path merge (implemented by ``openapi.SchemaInfo``).

    ``path`` is the chain of object keys from the root, list positions omitted.
    """

    def list_type(self, path: SchemaPath) -> tuple[str, tuple[str, ...]]:
        """``("atomic", ())``, ``("set", ())`` or ``("map", key_names)``."""
        ...

    def map_type(self, path: SchemaPath) -> str:
        """``"granular"`` or ``"atomic"``."""
        ...


class ApplyConflict(Conflict):
    """An apply would change fields another manager owns; ``conflicts`` lists (manager, path)."""

    def __init__(self, conflicts: list[tuple[str, str]]) -> None:
        self.conflicts = list(conflicts)
        count = len(self.conflicts)
        noun = "conflict" if count == 1 else "conflicts"
        details = "; ".join(f'conflict with "{manager}": {path}' for manager, path in self.conflicts)
        super().__init__(f"Apply failed with {count} {noun}: {details}")


# --------------------------------------------------------------------------------------------------
# managedFields entries


@dataclass
class _Entry:
    """One managedFields entry; ``raw`` is kept verbatim while nothing about the entry changes."""

    manager: str
    operation: str
    subresource: str
    fields: FieldSet
    raw: dict[str, Any] | None = None
    original: AbstractSet[FieldPath] = frozenset()
    touched: bool = False

    @property
    def ident(self) -> tuple[str, str, str]:
        return (self.manager, self.operation, self.subresource)

    def render(self, api_version: str, now: str) -> dict[str, Any]:
        if self.raw is not None and not self.touched and self.fields == self.original:
            return clone(self.raw)
        entry: dict[str, Any] = {
            "apiVersion": api_version,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(self.fields),
            "manager": self.manager,
            "operation": self.operation,
            "time": now,
        }
        if self.raw is not None and not self.touched:
            # Only another manager's move took fields away: keep its own time and version.
            entry["time"] = self.raw.get("time", now)
            entry["apiVersion"] = self.raw.get("apiVersion", api_version)
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


def _read_entries(obj: Object) -> list[_Entry]:
    raw_entries = (obj.get("metadata") or {}).get("managedFields") or []
    entries: list[_Entry] = []
    for raw in raw_entries:
        if not isinstance(raw, dict):
            continue
        fields = from_fields_v1(raw.get("fieldsV1") or {})
        manager, operation, subresource = _ident_of(raw)
        entries.append(_Entry(manager, operation, subresource, fields, raw=raw, original=frozenset(fields)))
    return entries


def _applied_before(obj: Object, ident: tuple[str, str, str]) -> FieldSet:
    """The fields of ``obj``'s managedFields entry ``ident`` (the first one, as :func:`_find_or_add` finds it;
    none when there is none).

    Why: an apply that changes nothing (most of a steady run) needs the fields of its own manager only."""
    found = [fields for _ident, fields in _entry_fields(obj, lambda entry: entry == ident)]
    return found[0] if found else set()


def _entry_fields(
    obj: Object, wanted: Callable[[tuple[str, str, str]], bool]
) -> Iterator[tuple[tuple[str, str, str], FieldSet]]:
    """The (manager, operation, subresource) and fields of each of ``obj``'s managedFields entries that
    ``wanted`` asks for. The others are not decoded, only checked: this raises what :func:`_read_entries`
    raises, in the same order (a damaged entry is refused whoever reads)."""
    for raw in (obj.get("metadata") or {}).get("managedFields") or []:
        if not isinstance(raw, dict):
            continue
        tree = raw.get("fieldsV1") or {}
        ident = _ident_of(raw)
        if wanted(ident):
            yield ident, from_fields_v1(tree)
        else:
            check_fields_v1(tree)


def _ident_of(raw: dict[str, Any]) -> tuple[str, str, str]:
    return (str(raw.get("manager", "")), str(raw.get("operation", "")), str(raw.get("subresource", "")))


def _find_or_add(entries: list[_Entry], ident: tuple[str, str, str]) -> _Entry:
    for entry in entries:
        if entry.ident == ident:
            return entry
    entry = _Entry(manager=ident[0], operation=ident[1], subresource=ident[2], fields=set())
    entries.append(entry)
    return entry


def _write_entries(obj: Object, entries: list[_Entry], now: str) -> None:
    api_version = str(obj.get("apiVersion", ""))
    rendered = [entry.render(api_version, now) for entry in entries if entry.fields]
    metadata = obj.get("metadata")
    if rendered:
        if not isinstance(metadata, dict):
            metadata = obj["metadata"] = {}
        metadata["managedFields"] = rendered
    elif isinstance(metadata, dict):
        metadata.pop("managedFields", None)


# --------------------------------------------------------------------------------------------------
# walking an object as a set of field paths


def _is_identity(schema_path: SchemaPath) -> bool:
    return schema_path in IDENTITY_PATHS


class _Semantics:
    """A :class:`ListSemantics` with its answers remembered for one call (a walk asks per node)."""

    __slots__ = ("_lists", "_maps", "_sem")

    def __init__(self, sem: ListSemantics) -> None:
        self._sem = sem
        self._maps: dict[SchemaPath, bool] = {}
        self._lists: dict[SchemaPath, tuple[str, tuple[str, ...]]] = {}

    def granular(self, schema_path: SchemaPath) -> bool:
        found = self._maps.get(schema_path)
        if found is None:
            found = self._maps[schema_path] = self._sem.map_type(schema_path) != "atomic"
        return found

    def list_kind(self, schema_path: SchemaPath) -> tuple[str, tuple[str, ...]]:
        found = self._lists.get(schema_path)
        if found is None:
            found = self._lists[schema_path] = _list_kind(self._sem, schema_path)
        return found


def _is_granular_map(value: Any, schema_path: SchemaPath, sem: _Semantics, forced: bool) -> bool:
    return isinstance(value, dict) and (forced or sem.granular(schema_path))


def _list_kind(sem: ListSemantics, schema_path: SchemaPath) -> tuple[str, tuple[str, ...]]:
    kind, keys = sem.list_type(schema_path)
    if kind == "map" and not keys:
        return ("set", ())
    if kind not in ("set", "map"):
        return ("atomic", ())
    return (kind, tuple(keys))


def _element(item: Any, kind: str, keys: tuple[str, ...]) -> PathElement:
    """The path element naming a list item: ``k:`` for list-map objects, ``v:`` otherwise."""
    if kind == "map" and isinstance(item, dict):
        text = ",".join(prefix + canonical_json(item.get(name)) for name, prefix in _key_prefixes(keys))
        return PathElement(KEY, "{" + text + "}")
    return PathElement.value(item)


@lru_cache(maxsize=256)
def _key_prefixes(keys: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The key fields of a list-map in the order ``k:`` text names them (sorted), each with its ``"name":``:
    ``PathElement.key`` of the item's key fields, without building a dict and sorting it per item."""
    return tuple((name, encode_string(name) + ":") for name in sorted(set(keys)))


Flat = dict[FieldPath, str]


def _flatten(obj: Any, sem: _Semantics, owned: FieldSet | None = None) -> Flat:
    """Every node below the root with its comparison token; ``owned`` collects the ownable ones.

    Ownable nodes are what an Apply owns: leaves, atomic lists/maps, empty containers, list items
    and set values. Identity fields are skipped entirely.
    """
    walk = _Walk(sem, set() if owned is None else owned)
    walk.value(obj, (), (), True)
    return walk.flat


def _owned_paths(obj: Any, sem: _Semantics) -> FieldSet:
    owned: FieldSet = set()
    _flatten(obj, sem, owned)
    return owned


class _Walk:
    """One walk of an object as field paths: ``flat`` and ``owned`` as :func:`_flatten` describes them.

    ``folds`` tells whether merging the object into nothing would be more than a copy of it: a set value or a
    list-map key that occurs twice (the merge keeps one), or a list-map item that is not an object.

    Walking an intent, the walk can also follow a live object along (``compare``): ``same`` then tells whether
    every ownable node of the intent has the same token in the live object as :func:`_flatten` of it would
    record, without flattening the live object (most of which an intent does not name). A live list with an
    item twice is not followed (its flattening keeps the last one's fields): ``exact`` is then false, and so
    is ``same``, and the caller compares with the flattening."""

    __slots__ = ("exact", "flat", "folds", "owned", "same", "sem")

    def __init__(self, sem: _Semantics, owned: FieldSet, *, compare: bool = False) -> None:
        self.sem = sem
        self.flat: Flat = {}
        self.owned = owned
        self.folds = False
        self.same = compare
        self.exact = True

    def value(self, value: Any, sp: SchemaPath, fp: FieldPath, forced: bool, live: Any = _MISSING) -> None:
        """Record ``value`` at ``fp`` (unless it is the root) and everything below it; ``live``: the live
        object's node at ``fp`` when comparing (``_MISSING``: none)."""
        if isinstance(value, dict) and (forced or self.sem.granular(sp)):
            if fp:
                self.flat[fp] = _MAP
                if not value and fp != _METADATA_PATH:
                    self.owned.add(fp)
                    if self.same and self._live_token(live, sp) != _MAP:
                        self.same = False
            self.fields(value, sp, fp, _IDENTITY_FIELDS.get(sp), live if isinstance(live, dict) else None)
            return
        if isinstance(value, list):
            kind, keys = self.sem.list_kind(sp)
            if kind != "atomic":
                self.items(value, sp, fp, kind, keys, live)
                return
        token = self.flat[fp] = canonical_json(value)
        self.owned.add(fp)
        if self.same and self._live_token(live, sp) != token:
            self.same = False

    def fields(
        self,
        fields: dict[str, Any],
        sp: SchemaPath,
        fp: FieldPath,
        identity: frozenset[str] | None = None,
        live: dict[str, Any] | None = None,
    ) -> None:
        """``value`` of each field of a granular map but the ``identity`` ones; a scalar field, most of them,
        is recorded (and compared with ``live``'s, the live map here) right here instead of in a call of its
        own."""
        flat, owned, element = self.flat, self.owned, field_element
        for name, child in fields.items():
            if identity is not None and name in identity:
                continue
            child_fp = (*fp, element(name))
            kind = type(child)
            if kind is str:
                flat[child_fp] = encode_string(child)
                # A str's token is its JSON string, which no other value's token equals.
                if self.same and (live is None or live.get(name, _MISSING) != child):
                    self.same = False
            elif kind is dict or kind is list or (kind not in _SCALARS and isinstance(child, _CONTAINERS)):
                live_child = live.get(name, _MISSING) if self.same and live is not None else _MISSING
                self.value(child, (*sp, name), child_fp, False, live_child)
                continue
            else:
                token = flat[child_fp] = canonical_json(child)
                if self.same:
                    self.same = _same_scalar(_MISSING if live is None else live.get(name, _MISSING), token)
            owned.add(child_fp)

    def items(
        self, items: list[Any], sp: SchemaPath, fp: FieldPath, kind: str, keys: tuple[str, ...], live: Any = _MISSING
    ) -> None:
        """The items of a set or list-map: each item is ownable, list-map items also have their fields."""
        flat, owned = self.flat, self.owned
        flat[fp] = _LIST
        if not items:
            owned.add(fp)
            if self.same and self._live_token(live, sp) != _LIST:
                self.same = False
        live_items = self._live_items(live, kind, keys) if self.same else {}
        for item in items:
            elem = _element(item, kind, keys)
            item_path = (*fp, elem)
            if item_path in flat or (kind == "map" and elem.kind != KEY):
                self.folds = True
            flat[item_path] = _ITEM
            owned.add(item_path)
            live_item = live_items.get(elem, _MISSING) if self.same else _MISSING
            if live_item is _MISSING:
                self.same = False
            if elem.kind == KEY:
                self.fields(item, sp, item_path, None, live_item if self.same else None)

    def _live_token(self, live: Any, sp: SchemaPath) -> str | None:
        """The token :func:`_flatten` records for the live node ``live`` at a path of schema path ``sp``."""
        if live is _MISSING:
            return None
        if isinstance(live, dict) and self.sem.granular(sp):
            return _MAP
        if isinstance(live, list) and self.sem.list_kind(sp)[0] != "atomic":
            return _LIST
        return canonical_json(live)

    def _live_items(self, live: Any, kind: str, keys: tuple[str, ...]) -> dict[PathElement, Any]:
        """The items of the live list ``live`` by their path elements (none when it is no list); a list with
        an element twice stops the comparison (``exact`` false)."""
        if not isinstance(live, list):
            return {}
        found = {_element(item, kind, keys): item for item in live}
        if len(found) != len(live):
            self.exact = self.same = False
        return found


Touched = dict[str, "Touched | None"]
"""The field names of granular maps, nested: what part of an object an apply can change (None: all of it)."""


def _touched(applied: Object, dropped: FieldSet, sem: _Semantics) -> Touched:
    """The part of the live object an apply of ``applied`` that drops ``dropped`` can change: the maps of the
    intent field by field, and the rest of what it names and of what the dropped paths lead to whole."""
    touched = _map_names(applied, (), sem)
    for path in dropped:
        node: Touched | None = touched
        for position, elem in enumerate(path):
            if node is None or elem.kind != FIELD:
                break
            if position + 1 == len(path) or path[position + 1].kind != FIELD:
                node[elem.text] = None  # a field dropped, or a list item in it: the field whole
                break
            node = node.setdefault(elem.text, {})
    return touched


def _map_names(value: dict[str, Any], sp: SchemaPath, sem: _Semantics) -> Touched:
    names: Touched = {}
    for name, child in value.items():
        child_sp = (*sp, name)
        names[name] = _map_names(child, child_sp, sem) if isinstance(child, dict) and sem.granular(child_sp) else None
    return names


def _restricted(value: Any, touched: Touched | None, sp: SchemaPath, sem: _Semantics, forced: bool = False) -> Any:
    """``value`` with only the ``touched`` fields of its granular maps: flattened, it gives the paths of the
    flattening of ``value`` that lie in the touched part, with the same tokens."""
    if touched is None or not isinstance(value, dict) or not (forced or sem.granular(sp)):
        return value
    return {
        name: _restricted(value[name], names, (*sp, name), sem) for name, names in touched.items() if name in value
    }


def _same_scalar(live: Any, token: str) -> bool:
    """Whether the live value ``live`` (``_MISSING``: none) has a scalar's ``token`` (a map or list never has)."""
    return live is not _MISSING and not isinstance(live, _CONTAINERS) and canonical_json(live) == token


def _prefixes(paths: FieldSet) -> FieldSet:
    """Every path together with all of its ancestors."""
    out: FieldSet = set()
    for path in paths:
        for end in range(1, len(path) + 1):
            out.add(path[:end])
    return out


# --------------------------------------------------------------------------------------------------
# merging an applied configuration into the live object


def _merge(live: Any, applied: Any, sp: SchemaPath, sem: _Semantics, forced: bool = False) -> Any:
    """Structured merge of ``applied`` over ``live`` (``_MISSING`` when live has no value)."""
    if _is_granular_map(applied, sp, sem, forced):
        return _merge_map(live if isinstance(live, dict) else {}, applied, sp, sem)
    if isinstance(applied, list):
        kind, keys = sem.list_kind(sp)
        items = live if isinstance(live, list) else []
        if kind == "set":
            return _merge_set(items, applied)
        if kind == "map":
            return _merge_list_map(items, applied, sp, keys, sem)
    return clone(applied)


def _merge_map(live: dict[str, Any], applied: dict[str, Any], sp: SchemaPath, sem: _Semantics) -> Object:
    out = dict(live)
    for name, value in applied.items():
        child_sp = (*sp, name)
        if not _is_identity(child_sp):
            out[name] = _merge(live.get(name, _MISSING), value, child_sp, sem)
    return out


def _merge_set(live: list[Any], applied: list[Any]) -> list[Any]:
    out = list(live)
    seen = {canonical_json(item) for item in live}
    for item in applied:
        token = canonical_json(item)
        if token not in seen:
            seen.add(token)
            out.append(clone(item))
    return out


def _merge_list_map(
    live: list[Any], applied: list[Any], sp: SchemaPath, keys: tuple[str, ...], sem: _Semantics
) -> list[Any]:
    out = list(live)
    position: dict[PathElement, int] = {}
    for i, item in enumerate(out):
        position.setdefault(_element(item, "map", keys), i)
    for item in applied:
        elem = _element(item, "map", keys)
        if elem in position:
            i = position[elem]
            out[i] = _merge(out[i], item, sp, sem, forced=True) if isinstance(item, dict) else out[i]
        else:
            position[elem] = len(out)
            out.append(_merge(_MISSING, item, sp, sem, forced=True))
    return out


def _copy_of_intent(applied: Object) -> Object | None:
    """What merging ``applied`` into nothing makes (``_merge(_skeleton(applied), applied, ...)``), made by
    copying, for an intent whose walk found nothing a merge would fold; None when its metadata is no map.

    Why: most writes of a first run are creates, and copying (``clone`` copies whole dicts in C) costs a
    fraction of merging node by node. The keys come in the merge's order: identity first, then the rest."""
    metadata = applied.get("metadata")
    if not isinstance(metadata, dict):
        return None
    created = _skeleton(applied)
    for name, value in applied.items():
        if name == "metadata":
            created_metadata = created.setdefault("metadata", {})
            for field, member in metadata.items():
                if ("metadata", field) not in IDENTITY_PATHS:
                    created_metadata[field] = clone(member)
        elif (name,) not in IDENTITY_PATHS:
            created[name] = clone(value)
    return created


def _skeleton(applied: Object) -> Object:
    """The empty object a create applies against: just the identity the applied object names."""
    skeleton: Object = {name: applied[name] for name in ("apiVersion", "kind") if name in applied}
    _copy_identity(skeleton, applied)
    return skeleton


def _copy_identity(result: Object, applied: Object) -> None:
    """apiVersion/kind from live (applied on create); name/namespace from the applied object."""
    for name in ("apiVersion", "kind"):
        if name not in result and name in applied:
            result[name] = applied[name]
    applied_meta: dict[str, Any] = applied["metadata"] if isinstance(applied.get("metadata"), dict) else {}
    for name in ("name", "namespace"):
        if name in applied_meta:
            metadata = result.setdefault("metadata", {})
            metadata[name] = applied_meta[name]


# --------------------------------------------------------------------------------------------------
# removing fields a manager stopped applying


def _child(node: Any, elem: PathElement) -> Any:
    if elem.kind == FIELD:
        return node.get(elem.text, _MISSING) if isinstance(node, dict) else _MISSING
    if not isinstance(node, list):
        return _MISSING
    i = _item_index(node, elem)
    return node[i] if i is not None else _MISSING


def _item_index(items: list[Any], elem: PathElement) -> int | None:
    if elem.kind == INDEX:
        i = int(elem.text)
        return i if 0 <= i < len(items) else None
    keys = tuple(elem.key_fields()) if elem.kind == KEY else ()
    for i, item in enumerate(items):
        if elem.kind == KEY and isinstance(item, dict) and _element(item, "map", keys) == elem:
            return i
        if elem.kind == VALUE and canonical_json(item) == elem.text:
            return i
    return None


def _locate(obj: Any, path: FieldPath) -> Any:
    node = obj
    for elem in path:
        node = _child(node, elem)
        if node is _MISSING:
            break
    return node


def _remove_child(parent: Any, elem: PathElement) -> None:
    if elem.kind == FIELD and isinstance(parent, dict):
        parent.pop(elem.text, None)
    elif isinstance(parent, list):
        i = _item_index(parent, elem)
        if i is not None:
            del parent[i]


def _is_item_key_field(path: FieldPath) -> bool:
    """``...[k:{"type":...}].type``: the key of a kept list item must never be removed on its own."""
    return len(path) >= 2 and path[-1].kind == FIELD and path[-2].kind == KEY and path[-1].text in path[-2].key_fields()


def _delete_path(obj: Object, path: FieldPath, keep: FieldSet) -> None:
    """Delete ``path`` and then every ancestor it leaves empty that nobody owns."""
    parent = _locate(obj, path[:-1])
    if parent is _MISSING:
        return
    _remove_child(parent, path[-1])
    for end in range(len(path) - 1, 0, -1):
        ancestor = path[:end]
        node = _locate(obj, ancestor)
        if node or not isinstance(node, dict | list) or ancestor in keep or ancestor == _METADATA_PATH:
            return
        _remove_child(_locate(obj, ancestor[:-1]), ancestor[-1])


def _is_protected(path: FieldPath) -> bool:
    """Identity fields (or anything below them) named by a foreign managedFields entry."""
    names: SchemaPath = ()
    for elem in path:
        if elem.kind != FIELD:
            return False
        names = (*names, elem.text)
        if _is_identity(names):
            return True
    return False


def _prune(obj: Object, dropped: FieldSet, keep: FieldSet) -> None:
    """Remove the dropped paths unless a kept path lies at or below them (shortest paths first)."""
    guarded = _prefixes(keep)
    for path in sorted(dropped, key=lambda p: (len(p), p)):
        if path in guarded or _is_item_key_field(path) or _is_protected(path):
            continue
        _delete_path(obj, path, keep)


# --------------------------------------------------------------------------------------------------
# public API


def apply(
    live: Object | None,
    applied: Object,
    manager: str,
    semantics: ListSemantics,
    *,
    now: str,
    force: bool = False,
    subresource: str = "",
) -> Object:
    """Apply ``applied`` (the manager's whole intent) to ``live``; ``None`` live means create.

    Neither ``live`` nor ``applied`` is changed. An apply that changes nothing returns ``live`` itself (most
    applies of a steady run: the caller can tell by identity and skip the write); any other result shares no
    dict or list with either, so callers may change it freely (the API server defaults and stamps it).

    Raises :class:`ApplyConflict` when the apply would change a value another manager owns, unless
    ``force`` is set, in which case ownership of those fields moves to ``manager``.
    """
    sem = _Semantics(semantics)
    intent: FieldSet = set()
    walk = _Walk(sem, intent, compare=bool(live))
    walk.value(applied, (), (), True, live or _MISSING)
    applied_flat = walk.flat
    if not live:
        # A create: no other manager and nothing to drop, so what the merge makes is all the applier's.
        created = _copy_of_intent(applied) if not walk.folds else None
        if created is None:
            created = _merge(_skeleton(applied), applied, (), sem, forced=True)
        _copy_identity(created, applied)
        _write_entries(created, [_Entry(manager, APPLY, subresource, intent, touched=bool(intent))], now)
        return created
    # Only read until it is clear that something changes (entries keep their raw dicts, copied when rendered).
    ident = (manager, APPLY, subresource)
    if walk.exact and not walk.folds:  # the walk compared the values
        unchanged = walk.same and intent == _applied_before(live, ident)
    else:  # compared with the flattening, as the merge sees it
        unchanged = intent == _applied_before(live, ident) and _same_values(intent, applied_flat, _flatten(live, sem))
    if unchanged:
        return live  # the same intent with the same values: nothing to merge, prune or re-own
    entries = _read_entries(live)
    mine = _find_or_add(entries, ident)
    previous = set(mine.fields)
    dropped = previous - intent
    # The merge and the pruning change nothing outside what the intent names and what it dropped: only that
    # part of the objects is flattened and compared (an intent often names a finalizer and not the spec).
    touched = _touched(applied, dropped, sem)
    live_flat = _flatten(_restricted(live, touched, (), sem, forced=True), sem)

    merged: Object = _merge(_copy_but_managed_fields(live), applied, (), sem, forced=True)
    final_flat = _flatten(_restricted(merged, touched, (), sem, forced=True), sem)
    changed = _changed_paths(live_flat, final_flat)
    others = [entry for entry in entries if entry is not mine]
    _check_conflicts(others, manager, changed, force)
    for entry in others:
        entry.fields -= changed

    if dropped:
        kept_by_others = set().union(*(entry.fields for entry in others))
        _prune(merged, dropped, intent | kept_by_others)
    _copy_identity(merged, applied)  # only identity fields, which flattening skips: final_flat stays true
    if dropped:
        final_flat = _flatten(_restricted(merged, touched, (), sem, forced=True), sem)
    _forget_missing(entries, live_flat, final_flat)
    mine.fields = intent
    mine.touched = intent != previous or any(live_flat.get(p) != final_flat.get(p) for p in intent)
    _write_entries(merged, entries, now)
    return merged


def _copy_but_managed_fields(live: Object) -> Object:
    """A deep copy of ``live`` whose managedFields (which ``_write_entries`` replaces, nothing reads them
    before) are None, in their place: the entries are most of a small object, not worth copying twice."""
    metadata = live.get("metadata")
    if not isinstance(metadata, dict) or "managedFields" not in metadata:
        return clone(live)
    return clone({**live, "metadata": {**metadata, "managedFields": None}})


def update(
    live: Object | None,
    new: Object,
    manager: str,
    semantics: ListSemantics,
    *,
    now: str,
    subresource: str = "",
) -> Object:
    """Record an Update operation: ``new`` replaces ``live`` and ``manager`` owns what it changed."""
    sem = _Semantics(semantics)
    result: Object = clone(new)
    entries = _read_entries(live or {})
    mine = _find_or_add(entries, (manager, UPDATE, subresource))
    live_flat = _flatten(live or {}, sem)
    owned: FieldSet = set()
    new_flat = _flatten(result, sem, owned)
    changed = {p for p in owned if live_flat.get(p) != new_flat[p]}
    for entry in entries:
        if entry is not mine:
            entry.fields -= changed
    _forget_missing(entries, live_flat, new_flat)
    before = set(mine.fields)
    mine.fields = (mine.fields | changed) & new_flat.keys()
    mine.touched = mine.fields != before or bool(changed)
    _write_entries(result, entries, now)
    return result


def strip_managed_fields(obj: Object) -> Object:
    """A deep copy of ``obj`` without ``metadata.managedFields`` (which is left out, not copied and dropped:
    the entries are often half of an object)."""
    metadata = obj.get("metadata")
    if isinstance(metadata, dict) and "managedFields" in metadata:
        obj = {**obj, "metadata": {name: value for name, value in metadata.items() if name != "managedFields"}}
    return clone(obj)


def fields_owned_by(obj: Object, manager: str) -> FieldSet:
    """Every path ``manager`` owns through any of its entries (any operation or subresource)."""
    owned: FieldSet = set()
    for _ident, fields in _entry_fields(obj, lambda entry: entry[0] == manager):
        owned |= fields
    return owned


def prune_to_manager(obj: Object, manager: str, semantics: ListSemantics) -> Object:
    """A copy of ``obj`` holding only the fields ``manager`` owns, plus the object's identity.

    Reconcilers use it to re-apply just their own fields without claiming anybody else's.
    """
    owned = fields_owned_by(obj, manager)
    wanted = _prefixes(owned)
    return _with_identity(_extract(obj, (), (), wanted, _Semantics(semantics), forced=True), obj)


def with_own_fields(
    applied: Object,
    current: Object,
    manager: str,
    semantics: ListSemantics,
    *,
    under: Collection[SchemaPath] | None = None,
    besides: Collection[SchemaPath] = (),
) -> Object:
    """``applied`` with what ``manager`` already owns of ``current`` through Apply to the main resource, under
    the paths ``under`` (None: anywhere) and not under ``besides``; ``applied`` wins where both set a field.

    One reconciler applies two intents to an object it made as a child of its own for-kind: the child (as
    the parent's reconcile) and the object's status and finalizer (as its own reconcile). Each is the
    manager's whole intent, so each would drop the other's fields; each write adds the part it does not
    decide, as it stands, and the two live side by side (the reference re-applies the fetched object).
    """
    sem = _Semantics(semantics)
    inside = None if under is None else {_field_path(path) for path in under}
    outside = {_field_path(path) for path in besides}
    own: FieldSet = set()
    for _ident, fields in _entry_fields(current, lambda entry: entry == (manager, APPLY, "")):
        own |= {
            path for path in fields
            if (inside is None or any(path[: len(top)] == top for top in inside))
            and not any(path[: len(top)] == top for top in outside)
        }
    if not own:
        return applied
    kept = _extract(current, (), (), _prefixes(own), sem, forced=True)  # never an identity field: none is owned
    return _with_identity(_merge(kept, applied, (), sem, forced=True), applied)


def _field_path(path: SchemaPath) -> FieldPath:
    return tuple(field_element(name) for name in path)


def remove_foreign_fields(applied: Object, current: Object, manager: str, semantics: ListSemantics) -> Object:
    """A copy of ``applied`` without the fields other managers own through Apply in ``current``.

    A reconciler hands back the whole object it read; re-applying fields that belong to someone else
    would make it a co-owner of them. This keeps its intent to what it owns or what nobody owns yet.
    """
    sem = _Semantics(semantics)
    owned = _owned_paths(applied, sem)
    mine: FieldSet = set()
    foreign: FieldSet = set()
    # Every reconcile's for-object write comes here, most with nothing but a finalizer or a status: only the
    # entries that can take something away are decoded, and none when the intent owns nothing.
    def may_take(entry: tuple[str, str, str]) -> bool:
        return bool(owned) and (entry[0] == manager or entry[1] == APPLY)

    for ident, fields in _entry_fields(current, may_take):
        if ident[0] == manager:
            mine |= fields
        else:
            foreign |= fields
    foreign -= mine
    keep = {path for path in owned if not _under(path, foreign)}
    return _with_identity(_extract(applied, (), (), _prefixes(keep), sem, forced=True), applied)


def _same_values(paths: FieldSet, applied: dict[FieldPath, str], live: dict[FieldPath, str]) -> bool:
    return all(live.get(path) == applied.get(path) for path in paths)


def _with_identity(out: Object, source: Object) -> Object:
    """``out`` with the apiVersion, kind, name and namespace of ``source``, identity first."""
    for name in ("apiVersion", "kind"):
        if name in source:
            out[name] = source[name]
    metadata: dict[str, Any] = source["metadata"] if isinstance(source.get("metadata"), dict) else {}
    for name in ("name", "namespace"):
        if name in metadata:
            out.setdefault("metadata", {})[name] = metadata[name]
    return _identity_first(out)


def _under(path: FieldPath, owned: FieldSet) -> bool:
    """True when ``path`` or one of its ancestors is in ``owned``."""
    return any(path[:end] in owned for end in range(1, len(path) + 1))


# --------------------------------------------------------------------------------------------------
# helpers of the public functions


def _changed_paths(before: dict[FieldPath, str], after: dict[FieldPath, str]) -> FieldSet:
    """Paths added, modified or removed between two flattened objects."""
    changed = {path for path, token in after.items() if before.get(path) != token}
    changed |= before.keys() - after.keys()
    return changed


def _check_conflicts(others: list[_Entry], manager: str, changed: FieldSet, force: bool) -> None:
    if force:
        return
    found = {(entry.manager, path) for entry in others if entry.manager != manager for path in entry.fields & changed}
    if found:
        rendered = sorted({(name, format_path(path)) for name, path in found})
        raise ApplyConflict(rendered)


def _forget_missing(entries: list[_Entry], before: dict[FieldPath, str], after: dict[FieldPath, str]) -> None:
    """Fields that disappeared from the object are owned by nobody any more."""
    gone = before.keys() - after.keys()
    if gone:
        for entry in entries:
            entry.fields -= gone


def _extract(value: Any, sp: SchemaPath, fp: FieldPath, wanted: FieldSet, sem: _Semantics, forced: bool = False) -> Any:
    """Copy of ``value`` restricted to the nodes in ``wanted`` (owned paths and their ancestors)."""
    if _is_granular_map(value, sp, sem, forced):
        out: Object = {}
        for name, child in value.items():
            child_fp = (*fp, field_element(name))
            if child_fp in wanted and not _is_identity((*sp, name)):
                out[name] = _extract(child, (*sp, name), child_fp, wanted, sem)
        return out
    if isinstance(value, list):
        kind, keys = sem.list_kind(sp)
        if kind == "atomic":
            return clone(value)
        items = []
        for item in value:
            elem = _element(item, kind, keys)
            if (*fp, elem) not in wanted:
                continue
            if elem.kind == KEY:
                kept = _extract(item, sp, (*fp, elem), wanted, sem, forced=True)
                items.append({**{name: item[name] for name in keys if name in item}, **kept})
            else:
                items.append(clone(item))
        return items
    return clone(value)


def _identity_first(obj: Object) -> Object:
    """Put apiVersion, kind and metadata first, the order people expect when reading an object."""
    head: Object = {name: obj[name] for name in ("apiVersion", "kind", "metadata") if name in obj}
    return {**head, **{name: value for name, value in obj.items() if name not in head}}
