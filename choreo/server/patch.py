"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902), the two non-apply PATCH types Kubernetes offers
for custom resources. Both work on plain JSON values and never modify their input; a patch that does not
apply raises ``BadRequest`` naming the failing operation.
"""

from __future__ import annotations

import copy
from typing import Any

from choreo.errors import BadRequest, Invalid


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merge recursively, ``null`` removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise BadRequest(f"json patch: path {path!r} must start with '/'")
    return [token.replace("~1", "/").replace("~0", "~") for token in path[1:].split("/")]


def _index(container: list[Any], token: str, path: str, *, adding: bool) -> int:
    if adding and token == "-":
        return len(container)
    if not token.isdigit():
        raise BadRequest(f"json patch: {path!r}: {token!r} is not an array index")
    index = int(token)
    limit = len(container) if adding else len(container) - 1
    if index > limit:
        raise BadRequest(f"json patch: {path!r}: index {index} is out of range")
    return index


def _parent(doc: Any, tokens: list[str], path: str) -> Any:
    node = doc
    for token in tokens[:-1]:
        node = _child(node, token, path)
    return node


def _child(node: Any, token: str, path: str) -> Any:
    if isinstance(node, dict):
        if token not in node:
            raise BadRequest(f"json patch: {path!r}: no member {token!r}")
        return node[token]
    if isinstance(node, list):
        return node[_index(node, token, path, adding=False)]
    raise BadRequest(f"json patch: {path!r}: cannot descend into a {type(node).__name__}")


def _get(doc: Any, path: str) -> Any:
    node = doc
    for token in _pointer(path):
        node = _child(node, token, path)
    return node


def _add(doc: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return copy.deepcopy(value)
    parent = _parent(doc, tokens, path)
    if isinstance(parent, dict):
        parent[tokens[-1]] = copy.deepcopy(value)
    elif isinstance(parent, list):
        parent.insert(_index(parent, tokens[-1], path, adding=True), copy.deepcopy(value))
    else:
        raise BadRequest(f"json patch: {path!r}: parent is not an object or array")
    return doc


def _remove(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        raise BadRequest("json patch: cannot remove the whole document")
    parent = _parent(doc, tokens, path)
    if isinstance(parent, dict):
        if tokens[-1] not in parent:
            raise BadRequest(f"json patch: {path!r}: no member {tokens[-1]!r} to remove")
        del parent[tokens[-1]]
    elif isinstance(parent, list):
        del parent[_index(parent, tokens[-1], path, adding=False)]
    else:
        raise BadRequest(f"json patch: {path!r}: parent is not an object or array")
    return doc


def _operation(doc: Any, op: dict[str, Any]) -> Any:
    name, path = op.get("op"), op.get("path")
    if not isinstance(path, str):
        raise BadRequest(f"json patch: operation {op!r} has no string path")
    if name == "add":
        return _add(doc, path, _value(op))
    if name == "remove":
        return _remove(doc, path)
    if name == "replace":
        _get(doc, path)
        return _add(_remove(doc, path), path, _value(op)) if _pointer(path) else copy.deepcopy(_value(op))
    if name in ("move", "copy"):
        source = op.get("from")
        if not isinstance(source, str):
            raise BadRequest(f"json patch: {name} operation needs a 'from' path")
        value = copy.deepcopy(_get(doc, source))
        if name == "move":
            doc = _remove(doc, source)
        return _add(doc, path, value)
    if name == "test":
        if _get(doc, path) != _value(op):
            raise Invalid(f"json patch: test operation failed at {path!r}")
        return doc
    raise BadRequest(f"json patch: unknown operation {name!r}")


def _value(op: dict[str, Any]) -> Any:
    if "value" not in op:
        raise BadRequest(f"json patch: {op.get('op')} operation at {op.get('path')!r} needs a value")
    return op["value"]


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902: apply each operation in order to a copy of ``target``."""
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise BadRequest("json patch: the body must be a JSON array of operation objects")
    doc = copy.deepcopy(target)
    for op in operations:
        doc = _operation(doc, op)
    return doc
