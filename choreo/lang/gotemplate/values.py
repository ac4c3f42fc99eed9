"""How Go values are modelled in Python, matching what ``encoding/json`` gives ``text/template``.

JSON data arrives as ``map[string]interface{}``: mappings are ``dict``, arrays ``list``, numbers
``float`` (float64, always), strings ``str``, booleans ``bool`` and ``null`` is ``None`` (a nil
interface). Go ``int`` values (integer constants in a template, results of ``len``) are Python ``int``.
``MISSING`` is Go's invalid ``reflect.Value``: what a missing map key yields, printed ``<no value>``.
"""

from __future__ import annotations

from typing import Any


class _Missing:
    """Singleton for Go's zero ``reflect.Value``."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def from_json(value: Any) -> Any:
    """Plain JSON data as Go's ``encoding/json`` decodes it into ``interface{}``: every number a float64."""
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {str(k): from_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [from_json(v) for v in value]
    return str(value)


def type_name(value: Any) -> str:
    """The Go type name of a value, as ``%T`` and fmt's error forms print it."""
    if value is None or value is MISSING:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return type(value).__name__


def truth(value: Any) -> bool:
    """Go template truth: false, 0, nil, missing and empty strings, lists and maps are false."""
    if value is None or value is MISSING:
        return False
    if isinstance(value, bool | int | float | str | list | dict):
        return bool(value)
    return True
