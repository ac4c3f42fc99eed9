"""The functions Choreo predeclares for Starlark reconcilers (spec §4.1), as plain Python.

They live apart from the engine so that their semantics (result-dict shapes, finalizer copy rules, IP
helpers, error mapping of client calls) can be read and tested without an interpreter. Values arrive
already converted from Starlark (dict/list/str/int/float/bool/None) and are returned the same way.
Misuse (wrong argument count or type) raises ``BuiltinError``; the engine turns it into a
``ReconcileError`` naming the reconciler file, line and builtin.
"""

from __future__ import annotations

import copy
import functools
import ipaddress
from collections.abc import Callable
from typing import Any

from choreo.errors import ChoreoError, Invalid
from choreo.lang.base import ReconcileClient

Builtin = Callable[..., Any]
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface

RESULT_ERROR_PREFIX = "reconcile failed "
HEAD_RESULT_PARAMS = ("obj", "requeue", "requeueAfter", "msg", "fatal")
EX_RESULT_PARAMS = ("obj", "requeue", "requeueAfter", "conditionType", "msg", "fatal")


class BuiltinError(Exception):
    """A builtin was called wrongly; the message starts with the builtin's name."""


# --- argument handling -------------------------------------------------------------------------------


def bind_args(name: str, params: tuple[str, ...], args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    """Bind positional and keyword arguments to ``params``; every parameter is required exactly once."""
    given = len(args) + len(kwargs)
    if given != len(params):
        raise BuiltinError(f"{name}: expected {_describe(params)}, got {given}")
    bound: dict[str, Any] = dict(zip(params, args, strict=False))
    for key, value in kwargs.items():
        if key not in params:
            raise BuiltinError(f"{name}: unexpected keyword argument {key!r}")
        if key in bound:
            raise BuiltinError(f"{name}: got multiple values for argument {key!r}")
        bound[key] = value
    return [bound[p] for p in params]


def _describe(params: tuple[str, ...]) -> str:
    if not params:
        return "no arguments"
    return f"{len(params)} argument{'s' if len(params) != 1 else ''} ({', '.join(params)})"


def builtin(name: str, params: tuple[str, ...], impl: Builtin) -> Builtin:
    """Wrap ``impl`` so that Starlark callers get a clear arity error naming the builtin."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return impl(*bind_args(name, params, args, kwargs))

    call.__name__ = name
    return call


def _want(name: str, what: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    """Return ``value`` if it is of ``kind`` (a bool is not accepted as an int), else raise."""
    kinds = _as_tuple(kind)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise BuiltinError(f"{name}: {what} must be {_type_name(kind)}, got {_type_name(type(value))}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _type_name(kind: type | tuple[type, ...]) -> str:
    names = {dict: "dict", list: "list", str: "string", int: "int", float: "float", bool: "bool"}
    names[type(None)] = "None"
    return " or ".join(names.get(k, k.__name__) for k in _as_tuple(kind))


# --- result dicts --------------------------------------------------------------------------------------


def ok_result(resource: Any) -> dict[str, Any]:
    return {"resource": resource, "error": None, "fatal": False}


def error_result(exc: ChoreoError) -> dict[str, Any]:
    """Invalid objects cannot succeed on retry (fatal); anything else may (NotFound, Conflict ...)."""
    return {"resource": None, "error": str(exc), "fatal": isinstance(exc, Invalid)}


def _client_call(action: Callable[[], Any]) -> dict[str, Any]:
    try:
        return ok_result(action())
    except ChoreoError as exc:
        return error_result(exc)


# --- client builtins ---------------------------------------------------------------------------------


def _type_of(name: str, obj: Any) -> tuple[str, str]:
    _want(name, "obj", obj, dict)
    return str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")


def client_builtins(client: ReconcileClient) -> dict[str, Builtin]:
    """The ``client_*`` builtins bound to one reconcile call's client."""

    def get(name: str, namespace: str, obj: dict[str, Any]) -> dict[str, Any]:
        _want("client_get", "name", name, str)
        _want("client_get", "namespace", namespace, (str, type(None)))
        api_version, kind = _type_of("client_get", obj)
        return _client_call(lambda: client.get(api_version, kind, name, namespace or ""))

    def list_(obj: dict[str, Any], field_selector: dict[str, Any] | None) -> dict[str, Any]:
        api_version, kind = _type_of("client_list", obj)
        _want("client_list", "fieldSelector", field_selector, (dict, type(None)))
        # Values as given: the selector engine turns numbers and booleans into the text Go would compare
        # (``true``, not Python's ``True``) and refuses anything else with an error naming the expression.
        selector = dict(field_selector) if field_selector else None

        def run() -> dict[str, Any]:
            items = client.list(api_version, kind, selector)
            return {"apiVersion": api_version, "kind": f"{kind}List", "items": items}

        return _client_call(run)

    def update(builtin_name: str) -> Builtin:
        def call(obj: dict[str, Any]) -> dict[str, Any]:
            _want(builtin_name, "obj", obj, dict)
            return _client_call(lambda: client.apply(obj))

        return call

    def create(obj: dict[str, Any]) -> dict[str, Any]:
        _want("client_create", "obj", obj, dict)
        return _client_call(lambda: client.create_child(obj))

    def apply() -> dict[str, Any]:
        return _client_call(client.apply_children)

    def delete() -> dict[str, Any]:
        return _client_call(client.delete_children)

    return {
        "client_get": builtin("client_get", ("name", "namespace", "obj"), get),
        "client_list": builtin("client_list", ("obj", "fieldSelector"), list_),
        "client_update": builtin("client_update", ("obj",), update("client_update")),
        "client_update_status": builtin("client_update_status", ("obj",), update("client_update_status")),
        "client_create": builtin("client_create", ("obj",), create),
        "client_apply": builtin("client_apply", (), apply),
        "client_delete": builtin("client_delete", (), delete),
    }


# --- object helpers ----------------------------------------------------------------------------------


def get_resource(api_version: str, kind: str) -> dict[str, Any]:
    _want("get_resource", "apiVersion", api_version, str)
    _want("get_resource", "kind", kind, str)
    return ok_result({"apiVersion": api_version, "kind": kind})


def _finalizers_copy(name: str, obj: Any, finalizer: Any) -> tuple[dict[str, Any], list[Any]]:
    _want(name, "obj", obj, dict)
    _want(name, "finalizer", finalizer, str)
    result = copy.deepcopy(obj)
    metadata = result.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
        result["metadata"] = metadata
    current = metadata.get("finalizers") or []
    return result, list(current) if isinstance(current, list) else []


def add_finalizer(obj: dict[str, Any], finalizer: str) -> dict[str, Any]:
    """A copy of ``obj`` with ``finalizer`` appended once; ``obj`` itself is untouched."""
    result, finalizers = _finalizers_copy("add_finalizer", obj, finalizer)
    if finalizer not in finalizers:
        finalizers.append(finalizer)
    result["metadata"]["finalizers"] = finalizers
    return ok_result(result)


def del_finalizer(obj: dict[str, Any], finalizer: str) -> dict[str, Any]:
    """A copy of ``obj`` without ``finalizer``; an emptied list is dropped (as unstructured.SetFinalizers)."""
    result, finalizers = _finalizers_copy("del_finalizer", obj, finalizer)
    remaining = [f for f in finalizers if f != finalizer]
    if remaining:
        result["metadata"]["finalizers"] = remaining
    else:
        result["metadata"].pop("finalizers", None)
    return ok_result(result)


def is_conditionready(obj: dict[str, Any], condition_type: str) -> bool:
    _want("is_conditionready", "obj", obj, dict)
    _want("is_conditionready", "conditionType", condition_type, str)
    status = obj.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    return any(
        isinstance(c, dict) and c.get("type") == condition_type and c.get("status") == "True" for c in conditions or []
    )


# --- IP helpers --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _interface(prefix: str) -> IPInterface:
    """``ipaddress.ip_interface``, remembered: a fabric asks about each prefix several times, and parsing
    one takes ``ipaddress`` longer than the rest of the helper (the objects are immutable)."""
    return ipaddress.ip_interface(prefix)


def parse_prefix(name: str, prefix: Any) -> IPInterface:
    """``10.0.0.1/24`` or a bare address (= /32 or /128); anything else is a ``BuiltinError``."""
    _want(name, "prefix", prefix, str)
    try:
        return _interface(prefix)
    except ValueError as exc:
        raise BuiltinError(f"{name}: invalid prefix {prefix!r}: {exc}") from None


def get_prefixlength(prefix: str) -> int:
    return parse_prefix("get_prefixlength", prefix).network.prefixlen


def get_address(prefix: str) -> str:
    return str(parse_prefix("get_address", prefix).ip)


def subnet_name(iface: IPInterface) -> str:
    """iputil ``GetSubnetName``: masked network + ``-`` + length, every ``:`` turned into ``-``."""
    network = iface.network
    return f"{network.network_address}-{network.prefixlen}".replace(":", "-")


def get_subnetname(prefix: str) -> str:
    return subnet_name(parse_prefix("get_subnetname", prefix))


def _is_version(name: str, version: int) -> Builtin:
    def check(prefix: str) -> bool:
        return parse_prefix(name, prefix).version == version

    return check


# --- reconcile_result --------------------------------------------------------------------------------


def _bind_result(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Bind either arity; 6 arguments (positional or keyword) select the EX form with conditionType."""
    given = len(args) + len(kwargs)
    if given not in (len(HEAD_RESULT_PARAMS), len(EX_RESULT_PARAMS)):
        raise BuiltinError(
            f"reconcile_result: expected 5 arguments ({', '.join(HEAD_RESULT_PARAMS)}) or 6 arguments "
            f"({', '.join(EX_RESULT_PARAMS)}), got {given}"
        )
    ex = given == len(EX_RESULT_PARAMS)
    params = EX_RESULT_PARAMS if ex else HEAD_RESULT_PARAMS
    return dict(zip(params, bind_args("reconcile_result", params, args, kwargs), strict=True)), ex


def _requeue_after(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value is None:
        return 0
    return _want("reconcile_result", "requeueAfter", value, int)


def reconcile_result(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """The dict ``reconcile`` returns: obj, requeue, requeueAfter, error, fatal (+ conditionType in EX)."""
    bound, ex = _bind_result(args, kwargs)
    obj = _want("reconcile_result", "obj", bound["obj"], dict)
    msg = _want("reconcile_result", "msg", bound["msg"], (str, type(None))) or ""
    fatal = bool(_want("reconcile_result", "fatal", bound["fatal"], (bool, type(None))))
    result: dict[str, Any] = {
        "obj": obj,
        "requeue": bool(_want("reconcile_result", "requeue", bound["requeue"], (bool, type(None)))),
        "requeueAfter": _requeue_after(bound["requeueAfter"]),
        "error": f"{RESULT_ERROR_PREFIX}{msg}" if msg else None,
        "fatal": fatal if msg else False,
    }
    if ex:
        result["conditionType"] = _want("reconcile_result", "conditionType", bound["conditionType"], str)
    return result


# --- the whole set -----------------------------------------------------------------------------------


def pure_builtins() -> dict[str, Builtin]:
    """Builtins that need no client: object and IP helpers and ``reconcile_result``."""
    table: dict[str, Builtin] = {
        "get_resource": builtin("get_resource", ("apiVersion", "kind"), get_resource),
        "add_finalizer": builtin("add_finalizer", ("obj", "finalizer"), add_finalizer),
        "del_finalizer": builtin("del_finalizer", ("obj", "finalizer"), del_finalizer),
        "is_conditionready": builtin("is_conditionready", ("obj", "conditionType"), is_conditionready),
        "get_prefixlength": builtin("get_prefixlength", ("prefix",), get_prefixlength),
        "get_address": builtin("get_address", ("prefix",), get_address),
        "get_subnetname": builtin("get_subnetname", ("prefix",), get_subnetname),
        "reconcile_result": reconcile_result,
    }
    for name, version in (("is_ipv4", 4), ("isIPv4", 4), ("is_ipv6", 6), ("isIPv6", 6)):
        table[name] = builtin(name, ("prefix",), _is_version(name, version))
    return table


def all_builtins(client: ReconcileClient) -> dict[str, Builtin]:
    return {**pure_builtins(), **client_builtins(client)}
