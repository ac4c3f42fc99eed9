"""Kubernetes list/watch query selectors: ``labelSelector`` and ``fieldSelector`` strings.

Label selectors follow the Kubernetes grammar (``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``,
``a notin (x)``, ``a``, ``!a``, ``a>1``, ``a<1``, requirements joined by commas). Field selectors accept
``=``, ``==`` and ``!=``; ``metadata.name`` and ``metadata.namespace`` work on every kind, any other key
is a CEL path on the object compared the way choreo's selectors compare values
(``choreo.runtime.selectors``). A malformed selector raises ``BadRequest`` with the offending part.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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
    parts, depth, current = [], 0, []
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


_FIELD_REQUIREMENT = re.compile(r"^([^=!]+?)\s*(==|=|!=)\s*(.*)$")


def _metadata_field(field: str) -> Callable[[Object], str] | None:
    if field in ("metadata.name", "metadata.namespace"):
        attr = field.partition(".")[2]
        return lambda obj: str((obj.get("metadata") or {}).get(attr) or "")
    return None


def _field_requirement(part: str) -> Predicate:
    found = _FIELD_REQUIREMENT.match(part)
    if not found:
        raise BadRequest(f"invalid field selector {part!r}: expected field=value, field==value or field!=value")
    field, op, value = found.group(1).strip(), found.group(2), found.group(3).strip()
    negate = op == "!="
    read = _metadata_field(field)
    if read is not None:
        return lambda obj: (read(obj) == value) != negate
    try:
        selector = Selector([Requirement(field, "NotEquals" if negate else "Equals", (value,))])
    except ChoreoError as exc:
        raise BadRequest(f"invalid field selector {part!r}: {exc}") from None
    return selector.matches


def field_selector(text: str | None) -> Predicate:
    """A predicate for a Kubernetes field selector string (empty or None selects everything)."""
    if not text or not text.strip():
        return _everything
    checks = [_field_requirement(part) for part in (p.strip() for p in text.split(",")) if part]
    return lambda obj: all(check(obj) for check in checks)
