"""Go ``text/template``'s predefined functions (except ``and``/``or``, which short-circuit in the executor).

Each takes already evaluated arguments (``MISSING`` for Go's invalid value, ``None`` for a nil
interface) and raises ``FuncError`` with Go's message; the executor prefixes ``error calling <name>:``.
"""

from __future__ import annotations

import base64
import binascii
import html as _html
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

from choreo.lang.gotemplate.gofmt import format_value, sprint, sprintf, sprintln
from choreo.lang.gotemplate.values import MISSING, truth, type_name

BAD_TYPE = "invalid type for comparison"
INCOMPATIBLE = "incompatible types for comparison"


class FuncError(Exception):
    """A predefined function failed; the message is Go's."""


def _kind(value: Any) -> str:
    """Go's ``basicKind``: the comparison class of a value, ``invalid`` for everything else."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "invalid"


def _valid(value: Any) -> bool:
    return value is not None and value is not MISSING


def eq(arg1: Any, *others: Any) -> bool:
    if not others:
        raise FuncError("missing argument for comparison")
    k1 = _kind(arg1)
    for arg in others:
        k2 = _kind(arg)
        if k1 != k2:
            if _valid(arg1) and _valid(arg):
                raise FuncError(INCOMPATIBLE)
            continue
        if k1 != "invalid":
            if arg1 == arg:
                return True
            continue
        if _valid(arg1) and _valid(arg) and type(arg1) is not type(arg):  # a list and a map
            raise FuncError(
                f"non-comparable types {format_value(arg1, 's')}: {type_name(arg1)}, "
                f"{type_name(arg)}: {format_value(arg, 'v')}"
            )
        if not _valid(arg1) or not _valid(arg):
            if _valid(arg1) == _valid(arg):
                return True
            continue
        raise FuncError(f"non-comparable type {format_value(arg, 's')}: {type_name(arg)}")
    return False


def lt(arg1: Any, arg2: Any) -> bool:
    k1, k2 = _kind(arg1), _kind(arg2)
    if "invalid" in (k1, k2):
        raise FuncError(BAD_TYPE)
    if k1 != k2:
        raise FuncError(INCOMPATIBLE)
    if k1 == "bool":
        raise FuncError(BAD_TYPE)
    return bool(arg1 < arg2)


def ne(arg1: Any, arg2: Any) -> bool:
    return not eq(arg1, arg2)


def le(arg1: Any, arg2: Any) -> bool:
    return lt(arg1, arg2) or eq(arg1, arg2)


def gt(arg1: Any, arg2: Any) -> bool:
    return not le(arg1, arg2)


def ge(arg1: Any, arg2: Any) -> bool:
    return not lt(arg1, arg2)


def not_(arg: Any) -> bool:
    return not truth(arg)


def length(item: Any) -> int:
    if item is None:
        raise FuncError("len of nil pointer")
    if item is MISSING:
        raise FuncError("reflect: call of reflect.Value.Type on zero Value")
    if isinstance(item, str):
        return len(item.encode())
    if isinstance(item, list | dict):
        return len(item)
    raise FuncError(f"len of type {type_name(item)}")


def index(item: Any, *indexes: Any) -> Any:
    if not _valid(item):
        raise FuncError("index of untyped nil")
    for key in indexes:
        if item is None:
            raise FuncError("index of nil pointer")
        if isinstance(item, list | str):
            position = _index_arg(key, len(item))
            if position >= len(item):
                raise FuncError(f"index out of range: {position}")
            item = item.encode()[position] if isinstance(item, str) else item[position]
        elif isinstance(item, dict):
            if not isinstance(key, str):
                if not _valid(key):
                    raise FuncError("value is nil; should be of type string")
                raise FuncError(f"value has type {type_name(key)}; should be string")
            item = item.get(key)  # a missing key gives the element type's zero value: nil
        else:
            raise FuncError(f"can't index item of type {type_name(item)}")
    return item


def _index_arg(key: Any, cap: int) -> int:
    if not _valid(key):
        raise FuncError("cannot index slice/array with nil")
    if isinstance(key, bool) or not isinstance(key, int):
        raise FuncError(f"cannot index slice/array with type {type_name(key)}")
    if key < 0 or key > cap:
        raise FuncError(f"index out of range: {key}")
    return key


def slice_(item: Any, *indexes: Any) -> Any:
    if not _valid(item):
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise FuncError("cannot 3-index slice a string")
        data: Any = item.encode()
    elif isinstance(item, list):
        data = item
    else:
        raise FuncError(f"can't slice item of type {type_name(item)}")
    bounds = [0, len(data), len(data)]
    for i, key in enumerate(indexes):
        bounds[i] = _index_arg(key, len(data))
    if len(indexes) < 2:
        bounds[1] = len(data)
    if bounds[0] > bounds[1]:
        raise FuncError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    if len(indexes) == 3 and bounds[1] > bounds[2]:
        raise FuncError(f"invalid slice index: {bounds[1]} > {bounds[2]}")
    result = data[bounds[0] : bounds[1]]
    return result.decode(errors="replace") if isinstance(item, str) else result


def _text_arg(args: tuple[Any, ...]) -> str:
    """Go's ``evalArgs``: a single string as is, anything else through ``fmt.Sprint``, nil (and a missing
    value) as ``<no value>``."""
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(["<no value>" if a is None or a is MISSING else a for a in args])


def _nil(value: Any) -> Any:
    return None if value is MISSING else value


def html_escape(*args: Any) -> str:
    text = _text_arg(args).replace("\0", "\ufffd")
    return _html.escape(text, quote=False).replace('"', "&#34;").replace("'", "&#39;")


_JS = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026", "=": "\\u003D"}


def js_escape(*args: Any) -> str:
    out: list[str] = []
    for ch in _text_arg(args):
        if ch in _JS:
            out.append(_JS[ch])
        elif ord(ch) < 0x20 or (ord(ch) >= 0x80 and not ch.isprintable()):
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def query_escape(text: str) -> str:
    """Go's ``url.QueryEscape``: a blank is ``+``, only letters, digits and ``-_.~`` stay."""
    return quote_plus(text, safe="")


def urlquery(*args: Any) -> str:
    return query_escape(_text_arg(args))


def go_print(*args: Any) -> str:
    return sprint([_nil(a) for a in args])


def go_println(*args: Any) -> str:
    return sprintln([_nil(a) for a in args])


def go_printf(fmt: Any, *args: Any) -> str:
    if not isinstance(fmt, str):
        raise FuncError(f"wrong type for value; expected string; got {type_name(fmt)}")
    return sprintf(fmt, [_nil(a) for a in args])


def call(fn: Any, *args: Any) -> Any:
    if not _valid(fn):
        raise FuncError("call of nil")
    raise FuncError(f"non-function of type {type_name(fn)}")


FUNCS: dict[str, Callable[..., Any]] = {
    "call": call, "eq": eq, "ge": ge, "gt": gt, "html": html_escape, "index": index, "js": js_escape,
    "le": le, "len": length, "lt": lt, "ne": ne, "not": not_, "print": go_print, "printf": go_printf,
    "println": go_println, "slice": slice_, "urlquery": urlquery,
}
# Fixed parameter counts (variadic functions: the minimum) for Go's "wrong number of args" check.
ARITY: dict[str, tuple[int, bool]] = {
    "and": (1, True), "or": (1, True), "not": (1, False), "len": (1, False), "index": (1, True),
    "slice": (1, True), "eq": (1, True), "ne": (2, False), "lt": (2, False), "le": (2, False),
    "gt": (2, False), "ge": (2, False), "call": (1, True), "html": (0, True), "js": (0, True),
    "urlquery": (0, True), "print": (0, True), "println": (0, True), "printf": (1, True),
}


# kubectl's go-template output adds two functions to Go's (``choreo get -o go-template``; not reconcilers').


def exists(item: Any, *indexes: Any) -> bool:
    """Whether ``item`` has a non-nil value at the path of ``indexes`` (list positions, map keys)."""
    value = item
    for key in indexes:
        if value is None or value is MISSING:
            return False
        if isinstance(value, list | str):
            if isinstance(key, bool) or not isinstance(key, int | float) or not 0 <= key < len(value) or key % 1:
                return False
            value = value[int(key)]
        elif isinstance(value, dict):
            if not isinstance(key, str):
                return False
            value = value.get(key)
        else:
            return False
    return value is not None and value is not MISSING


def base64decode(text: Any) -> str:
    if not isinstance(text, str):
        raise FuncError(f"wrong type for value; expected string; got {type_name(text)}")
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError) as exc:
        bad = next((i for i, c in enumerate(text) if c not in _BASE64), None)
        reason = f"illegal base64 data at input byte {bad}" if bad is not None else str(exc)
        raise FuncError(f"base64 decode failed: {reason}") from None


_BASE64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


KUBECTL_FUNCS: dict[str, tuple[Callable[..., Any] | None, tuple[int, bool]]] = {
    "exists": (exists, (1, True)), "base64decode": (base64decode, (1, False)),
}
