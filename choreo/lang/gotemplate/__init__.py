"""A Go ``text/template`` interpreter for the subset Choreo reconcilers use (spec §4.2).

No maintained binding of Go's own engine exists on PyPI (the one wheel, ``go-template`` 0.0.3 from
2019, renders file to file through a YAML values file, reports errors by crashing and cannot name
templates), so this package re-implements the engine: ``lexer`` -> ``parse`` -> ``execute``, with
``gofmt`` for Go's ``fmt`` printing and ``funcs`` for the predefined functions. Data is modelled as
Go's ``encoding/json`` gives it (``values``): every number a float64.
"""

from __future__ import annotations

from typing import Any

from choreo.lang.gotemplate.errors import TemplateError
from choreo.lang.gotemplate.execute import Executor, Functions
from choreo.lang.gotemplate.funcs import KUBECTL_FUNCS
from choreo.lang.gotemplate.parse import TemplateSet, parse_sources
from choreo.lang.gotemplate.values import from_json
from choreo.lang.limits import Budget, Limits

__all__ = ["KUBECTL_FUNCS", "Functions", "TemplateError", "TemplateSet", "from_json", "parse_sources", "render"]


def render(
    templates: TemplateSet, name: str, data: Any, *, budget: Budget | None = None, print_missing: bool = False,
    functions: Functions | None = None,
) -> str:
    """Execute template ``name`` with ``data`` (already in Go's value model, see ``from_json``).

    ``budget`` bounds the execution (default: the default ``Limits``, counted from now); ``print_missing``:
    a missing key prints ``<no value>``, as in Go, instead of failing; ``functions``: more than Go's (their
    names given to ``parse_sources`` too)."""
    executor = Executor(templates, budget or Budget(Limits(), name), print_missing=print_missing, functions=functions)
    return executor.execute(name, data)
