"""Kubernetes list/watch query parameters: ``labelSelector`` and ``fieldSelector`` strings, ``limit`` and
``continue`` (paging).

Label selectors follow the Kubernetes grammar (``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``,
``a notin (x)``, ``a``, ``!a``, ``a>1``, ``a<1``, requirements joined by commas). Field selectors follow
kube-apiserver's: terms ``field=value``, ``field==value`` or ``field!=value`` joined by commas, where a
value escapes ``\\``, ``,`` and ``=`` with a backslash. ``metadata.name`` and ``metadata.namespace`` work
on every kind (all kube-apiserver offers for custom resources); choreo also selects on any scalar field the
kind's schema declares (``spec.name``), compared the way choreo's selectors compare values
(``choreo.runtime.selectors``). Any other field is refused, as kube-apiserver does, rather than silently
matching nothing or everything. A malformed selector raises ``BadRequest`` with the offending part.

Paging: a list with ``limit=N`` returns N objects and a ``continue`` token (the revision the list was read at,
the last object shown, and the id under which ``ListSnapshots`` keeps the rest of the list). Next pages come
from that kept list, so all pages show one moment. Once it is no longer kept, a next page is read from the
store only while that is still consistent (no object of the kind changed since); otherwise the answer is
kube-apiserver's 410 Expired, whose Status carries a token to go on regardless. A token this server did not
write is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from choreo.apiserver.metadata import label_value_errors, qualified_name_errors
from choreo.errors import BadRequest, ChoreoError
from choreo.runtime.selectors import Requirement, Selector

Object = dict[str, Any]
Predicate = Callable[[Object], bool]

_SET_REQUIREMENT = re.compile(r"^(!?)\s*([^\s!=<>(),]+)\s*(?:(in|notin)\s*\((.*)\))?$")
_BINARY_REQUIREMENT = re.compile(r"^([^\s!=<>(),]+)\s*(==|=|!=|>|<)\s*(.*)$")


def _everything(_obj: Object) -> bool:
    return True


def _split_outside_parens(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth != 0:
        raise BadRequest(f"unable to parse requirement: unbalanced parentheses in {text!r}")
    parts.append("".join(current))
    return [part.strip() for part in parts]


def _check_key(key: str, whole: str) -> None:
    errors = qualified_name_errors(key)
    if errors:
        raise BadRequest(f"unable to parse requirement {whole!r}: invalid label key {key!r}: {'; '.join(errors)}")


def _check_value(value: str, whole: str) -> None:
    errors = label_value_errors(value)
    if errors:
        raise BadRequest(f"unable to parse requirement {whole!r}: invalid label value {value!r}: {'; '.join(errors)}")


def _labels(obj: Object) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _label_requirement(part: str) -> Predicate:
    if not part:
        raise BadRequest("unable to parse requirement: empty requirement in label selector")
    binary = _BINARY_REQUIREMENT.match(part)
    if binary:
        key, op, value = binary.group(1), binary.group(2), binary.group(3).strip()
        _check_key(key, part)
        _check_value(value, part)
        return _binary(key, op, value, part)
    found = _SET_REQUIREMENT.match(part)
    if not found:
        raise BadRequest(f"unable to parse requirement {part!r}: expected key, !key, key=value or key in (values)")
    negated, key, op, values_text = found.groups()
    _check_key(key, part)
    if op is None:
        return (lambda obj: key not in _labels(obj)) if negated else (lambda obj: key in _labels(obj))
    if negated:
        raise BadRequest(f"unable to parse requirement {part!r}: '!' only goes with a bare key")
    values = {v.strip() for v in values_text.split(",")} if values_text.strip() else set()
    if not values:
        raise BadRequest(
            f"unable to parse requirement {part!r}: for 'in', 'notin' operators, values set can't be empty"
        )
    for value in values:
        _check_value(value, part)
    if op == "in":
        return lambda obj: _labels(obj).get(key) in values
    return lambda obj: _labels(obj).get(key) not in values


def _binary(key: str, op: str, value: str, part: str) -> Predicate:
    if op in ("=", "=="):
        return lambda obj: _labels(obj).get(key) == value
    if op == "!=":
        return lambda obj: _labels(obj).get(key) != value
    try:
        bound = int(value)
    except ValueError:
        raise BadRequest(f"unable to parse requirement {part!r}: for '{op}' the value must be an integer") from None

    def compare(obj: Object) -> bool:
        try:
            actual = int(_labels(obj).get(key, ""))
        except ValueError:
            return False
        return actual > bound if op == ">" else actual < bound

    return compare


def label_selector(text: str | None) -> Predicate:
    """A predicate for a Kubernetes label selector string (empty or None selects everything)."""
    if not text or not text.strip():
        return _everything
    checks = [_label_requirement(part) for part in _split_outside_parens(text)]
    return lambda obj: all(check(obj) for check in checks)


_FIELD_OPERATOR = re.compile(r"!=|==|=")
_FIELD_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_METADATA_FIELDS = frozenset({"metadata.name", "metadata.namespace"})
_FIELD_ESCAPES = frozenset("\\,=")


def _split_terms(text: str) -> list[str]:
    """The terms of a field selector: split at commas a backslash does not escape (kube's splitTerms)."""
    terms: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if char == "," and not escaped:
            terms.append("".join(current))
            current = []
            continue
        escaped = char == "\\" and not escaped
        current.append(char)
    terms.append("".join(current))
    return [term.strip() for term in terms]


def _unescape(value: str, part: str) -> str:
    """A field selector value without its escapes; a bare ``,`` or ``=`` or an unknown escape is an error."""
    out, escaped = [], False
    for char in value:
        if escaped:
            if char not in _FIELD_ESCAPES:
                raise BadRequest(f"invalid field selector {part!r}: invalid escape sequence \\{char}")
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            raise BadRequest(f"invalid field selector {part!r}: unescaped character {char!r} in the value")
        else:
            out.append(char)
    if escaped:
        raise BadRequest(f"invalid field selector {part!r}: invalid escape sequence \\ at the end")
    return "".join(out)


def _declares_scalar(schema: Object, path: str) -> bool:
    """Whether the kind's OpenAPI schema declares ``path`` as a scalar field: only those can be compared."""
    node: Any = schema
    for segment in path.split("."):
        properties = node.get("properties") if isinstance(node, dict) else None
        if not isinstance(properties, dict) or not isinstance(properties.get(segment), dict):
            return False
        node = properties[segment]
    return node.get("type") not in ("object", "array")


def _check_field(field: str, part: str, schema: Object | None) -> None:
    """Refuse a field kube-apiserver would not select on (``schema`` None: any field path, for library use)."""
    if field in _METADATA_FIELDS:
        return
    if not _FIELD_PATH.fullmatch(field) or (schema is not None and not _declares_scalar(schema, field)):
        raise BadRequest(
            f"invalid field selector {part!r}: field label not supported: {field} (supported: metadata.name, "
            "metadata.namespace and the scalar fields the kind's schema declares)"
        )


def _metadata_field(field: str) -> Callable[[Object], str]:
    attr = field.partition(".")[2]
    return lambda obj: str((obj.get("metadata") or {}).get(attr) or "")


def _field_requirement(part: str, schema: Object | None) -> Predicate:
    found = _FIELD_OPERATOR.search(part)
    if not found or not part[: found.start()].strip():
        raise BadRequest(f"invalid field selector {part!r}: expected field=value, field==value or field!=value")
    field, op = part[: found.start()].strip(), found.group()
    value = _unescape(part[found.end() :].strip(), part)
    _check_field(field, part, schema)
    negate = op == "!="
    if field in _METADATA_FIELDS:
        read = _metadata_field(field)
        return lambda obj: (read(obj) == value) != negate
    try:
        selector = Selector([Requirement(field, "NotEquals" if negate else "Equals", (value,))])
    except ChoreoError as exc:
        raise BadRequest(f"invalid field selector {part!r}: {exc}") from None
    return selector.matches


def field_selector(text: str | None, schema: Object | None = None) -> Predicate:
    """A predicate for a Kubernetes field selector string (empty or None selects everything).

    With the kind's OpenAPI ``schema`` (what the HTTP API passes) only the fields it declares are accepted;
    without one any field path is.
    """
    if not text or not text.strip():
        return _everything
    checks = [_field_requirement(part, schema) for part in _split_terms(text) if part]
    return lambda obj: all(check(obj) for check in checks)


# ---------------------------------------------------------------- paging: limit and continue

_CONTINUE_VERSION = "choreo/v1"
_INCONSISTENT = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new list "
    "without the continue parameter, or use the continue token in this response to retrieve the remainder of the "
    "results. Continuing with the provided token results in an inconsistent list - objects that were created, "
    "modified, or deleted between the time the first chunk was returned and now may show up in the list."
)


class Expired(ChoreoError):
    """410: a continue token whose list can no longer be served consistently; ``continue_token`` goes on
    from the same place without that promise (kube-apiserver's answer and its Status ``metadata.continue``)."""

    reason = "Expired"
    code = 410

    def __init__(self, continue_token: str) -> None:
        super().__init__(_INCONSISTENT)
        self.continue_token = continue_token


@dataclass(frozen=True)
class Continue:
    """Where the next page starts: after ``after`` (namespace, name) of the list read at ``revision``, kept
    as ``snapshot`` in the server's ``ListSnapshots`` (empty: not kept)."""

    revision: int
    after: tuple[str, str]
    snapshot: str = ""
    key: str = ""  # the list the token is of (group/plural): another list's token is refused

    def token(self) -> str:
        doc = {"v": _CONTINUE_VERSION, "rv": self.revision, "start": list(self.after), "id": self.snapshot,
               "key": self.key}
        return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()

    def expired(self, revision: int) -> Expired:
        """The 410 for this token, offering to go on from the same place in the list read at ``revision``."""
        return Expired(Continue(revision, self.after, key=self.key).token())


def parse_continue(token: str, key: str) -> Continue:
    """A ``continue`` query parameter of the list ``key`` (group/plural); one this server did not write, or
    wrote for another list, is a 400, as kube-apiserver answers."""
    try:
        doc = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        revision, after, snapshot = doc["rv"], doc["start"], doc.get("id", "")
        valid = doc["v"] == _CONTINUE_VERSION and isinstance(revision, int) and revision >= 0
        valid = valid and isinstance(snapshot, str) and isinstance(after, list) and len(after) == 2
        if not (valid and all(isinstance(p, str) for p in after)):
            raise ValueError("not a continue token of this server")
        if doc.get("key") != key:
            raise ValueError(f"the token is of another list than {key}")
    except (ValueError, TypeError, KeyError, UnicodeError, binascii.Error) as exc:
        raise BadRequest(f"continue key is not valid: {exc}") from None
    return Continue(revision, (after[0], after[1]), snapshot, key)


def parse_limit(text: str | None) -> int:
    """The ``limit`` query parameter: the most objects to return, 0 (or none) for all of them."""
    if not text:
        return 0
    if not re.fullmatch(r"[0-9]{1,18}", text):
        raise BadRequest(f"limit {text!r} is not a non-negative number of objects")
    return int(text)


def position(obj: Object) -> tuple[str, str]:
    """An object's place in a list: lists are ordered by namespace, then name."""
    md = obj.get("metadata") or {}
    return (md.get("namespace") or "", md.get("name") or "")


@dataclass(frozen=True)
class Page:
    """One page of a list: its objects, the revision it was read at, and what follows it."""

    items: list[Object]
    revision: int
    next: Continue | None = None
    remaining: int = 0


def page(
    items: list[Object], revision: int, limit: int, start: Continue | None, snapshot: str = "", key: str = ""
) -> Page:
    """The page of ``items`` (read at ``revision``, in list order) that ``limit`` and ``start`` select; the
    next page's token names ``snapshot`` and the list ``key``."""
    if start is not None:
        items = [obj for obj in items if position(obj) > start.after]
    if not limit or len(items) <= limit:
        return Page(items, revision)
    shown = items[:limit]
    return Page(shown, revision, Continue(revision, position(shown[-1]), snapshot, key), len(items) - limit)


class ListSnapshots:
    """The lists being paged through, kept so that every page comes from the moment of the first.

    The store keeps only the current objects, so a next page read from it is consistent only while nothing
    of the kind changed; a busy server (a reconcile writing status) would answer 410 between pages. A paged
    list is therefore kept here, for ``ttl`` seconds (kube-apiserver's tokens last until etcd compacts, about
    five minutes) and at most ``capacity`` lists at once, the oldest dropped first. A token whose list is no
    longer kept falls back to the store (see ``http.Resource._page``). ``scope`` ties a kept list to the
    request that made it (kind, version, namespace, selectors), so a token is not replayed elsewhere.
    """

    def __init__(self, capacity: int = 32, ttl: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity, self.ttl, self.clock = capacity, ttl, clock
        self._lists: OrderedDict[str, tuple[float, str, list[Object]]] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, scope: str, items: list[Object]) -> str:
        """Keep ``items`` (a whole list, in list order) for the pages to come; the id their tokens carry."""
        snapshot = secrets.token_hex(8)
        with self._lock:
            self._expire()
            self._lists[snapshot] = (self.clock() + self.ttl, scope, items)
            while len(self._lists) > self.capacity:
                self._lists.popitem(last=False)
        return snapshot

    def get(self, snapshot: str, scope: str) -> list[Object] | None:
        """The list kept as ``snapshot`` for ``scope``, or None (never kept, expired, or another request's)."""
        with self._lock:
            self._expire()
            kept = self._lists.get(snapshot)
        return kept[2] if kept is not None and kept[1] == scope else None

    def _expire(self) -> None:
        now = self.clock()
        for snapshot in [s for s, (deadline, _scope, _items) in self._lists.items() if deadline <= now]:
            del self._lists[snapshot]
