"""Runs Jinja2 template reconcilers (spec §4.3) in Jinja2's sandboxed environment.

The reference renders these templates with pongo2 (Django syntax), so that reference projects run
unchanged:

* pongo2's syntax is translated into Jinja2's (``choreo.lang.pongo2``: ``export``ed macros and their
  import, colon filter arguments, ``forloop``, ``for k, v in mapping``, ``&&``/``||``/``!`` ...) and
  pongo2's filters are added: those Jinja2 lacks, and pongo2's own of those whose Jinja2 namesake differs
  (``x|upper`` is pongo2's, ``x|upper()`` Jinja2's).
* Printed values follow pongo2: floats with six decimals (``1.5`` -> ``1.500000``), ``None`` as an
  empty string, booleans ``True``/``False`` (ints stay ints, spec §7.4).
* ``a.b`` on a mapping reads the key ``b`` first (``spec.items`` is the key, not ``dict.items``).
* A missing value (a key the object does not have, at any depth, or an undefined name) is false in
  ``if``, ``and``/``or``/``not`` and comparisons, empty in ``for``, and takes the ``default`` filter's
  value: reference templates write ``{% if spec.vlanTagging %}`` for optional keys.

Unlike pongo2, printing a missing value and unknown template names are errors, never empty text: an
empty value in a device config is a mistake found late. Rendering is bounded by a ``Budget``: time and
depth at every call and macro call, output size as the text is produced. Every failure is one
``ReconcileError`` line ``<file>:<line>: <message>``.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from types import TracebackType
from typing import Any, cast

import jinja2
from jinja2.runtime import Macro
from jinja2.sandbox import SandboxedEnvironment

from choreo.errors import ReconcileError
from choreo.lang import pongo2
from choreo.lang.base import ReconcileClient, ReconcileOutput
from choreo.lang.engines import TEMPLATE_ENTRIES, code_sources, record_child, rendered_child
from choreo.lang.limits import Budget, LimitExceeded, Limits
from choreo.loader.project import ReconcilerConfig

ENTRY = TEMPLATE_ENTRIES["jinjatemplate"]

translate_pongo2 = pongo2.translate


def pongo2_finalize(value: Any) -> Any:
    """How pongo2 prints a value: floats with ``%f``, ``None`` as nothing. A function is not printed: its
    text would hold a memory address (``<function ... at 0x7f...>``), different on every run."""
    if value is None:
        return ""
    if isinstance(value, float):
        return pongo2.text(value)
    if callable(value) and not isinstance(value, jinja2.Undefined):
        name = value.name if isinstance(value, Macro) else getattr(value, "__name__", type(value).__name__)
        raise jinja2.TemplateRuntimeError(f"cannot print the function {name!r}: call it, or print a value")
    return value


class _CodeLoader(jinja2.BaseLoader):
    """Template names are the reconciler's code keys; the file name in messages is the code's file."""

    def __init__(self, code: Mapping[str, str], sources: Mapping[str, str]) -> None:
        self._code = code
        self._sources = sources

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        if template not in self._code:
            raise jinja2.TemplateNotFound(template)
        return translate_pongo2(self._code[template]), self._sources[template], lambda: True


class MissingValue(jinja2.ChainableUndefined):
    """A missing value as pongo2 treats it in tests (false, empty, chainable), but an error when printed."""

    __slots__ = ()
    __str__ = __html__ = jinja2.Undefined._fail_with_undefined_error


class MissingKeyOrMethod(MissingValue):
    """``spec.values`` where the mapping has no key ``values``: a missing value, as in pongo2 (false, empty,
    an error when printed, never ``<built-in method values of dict object at 0x...>``), that still calls
    the method when called (``spec.labels.items()``, Jinja2's idiom)."""

    __slots__ = ("_method",)

    def __init__(self, method: Callable[..., Any], obj: Any, name: str) -> None:
        super().__init__(obj=obj, name=name)
        self._method = method

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return self._method(*args, **kwargs)


class _CountedTemplate(jinja2.Template):
    """A template whose every render (the entry one, an include, an extended parent) is one level of the
    call depth: a template that includes itself stops at the depth limit with its message, where Python's
    own recursion limit came only after the worker's C stack had overflowed (the worker died, SIGSEGV)."""

    @classmethod
    def _from_namespace(
        cls, environment: jinja2.Environment, namespace: MutableMapping[str, Any], globals: MutableMapping[str, Any]
    ) -> jinja2.Template:
        template = super()._from_namespace(environment, namespace, globals)
        render = template.root_render_func

        def counted(context: jinja2.runtime.Context) -> Iterator[str]:
            with cast(_Environment, environment).budget.nested():
                yield from render(context)

        template.root_render_func = counted  # type: ignore[method-assign]
        return template


class _Environment(SandboxedEnvironment):
    """Sandboxed, with mapping keys taking precedence over attributes (as in pongo2), and every call
    counted against the budget of the render in progress (``budget``, set by ``JinjaReconciler``)."""

    budget: Budget
    template_class = _CountedTemplate

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return _data_method(obj, attribute, super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        return _data_method(obj, argument, super().getitem(obj, argument))

    def call(self, context: jinja2.runtime.Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        if isinstance(obj, Macro):
            with self.budget.nested():
                return super().call(context, obj, *args, **kwargs)
        self.budget.check_time()
        return super().call(context, obj, *args, **kwargs)


class JinjaReconciler:
    """A ``ReconcilerEngine`` rendering ``main.jinja2`` with the for-object's top-level keys as context."""

    def __init__(self, config: ReconcilerConfig, *, limits: Limits | None = None) -> None:
        self.name = config.name
        self._owns = list(config.owns)
        self._limits = limits or Limits()
        self._sources = code_sources(config)
        self._source = self._sources[ENTRY]
        self._env = _Environment(
            loader=_CodeLoader(config.code, self._sources),
            undefined=MissingValue,
            finalize=pongo2_finalize,
            keep_trailing_newline=True,
            autoescape=False,
        )
        self._env.filters.update(pongo2.FILTERS)
        self._env.globals.update(pongo2.GLOBALS)

    def reconcile(self, obj: dict[str, Any], client: ReconcileClient) -> ReconcileOutput:
        return record_child(self, obj, client)

    def rendered_child(self, obj: dict[str, Any]) -> dict[str, Any]:
        return rendered_child(self.render(obj), self._source, self._owns)

    def render(self, obj: dict[str, Any]) -> str:
        """The entry template rendered with ``obj``'s top-level keys; errors as ``ReconcileError``."""
        budget = self._env.budget = Budget(self._limits, self._source)
        try:
            return _bounded_text(self._env.get_template(ENTRY).generate(obj), budget)
        except Exception as exc:
            raise self._error(exc) from None

    def _error(self, exc: Exception) -> ReconcileError:
        """The one line for a failure: the template file and line it happened at, and what it was."""
        where = self._location(exc.__traceback__)
        if isinstance(exc, LimitExceeded):
            return exc.at(where)
        if isinstance(exc, RecursionError):  # includes and loops nested deeper than Python's stack allows
            return self._limits.depth_exceeded(where)
        if isinstance(exc, MemoryError):
            return self._limits.memory_exceeded(where)
        if isinstance(exc, jinja2.TemplateSyntaxError):
            return ReconcileError(f"{exc.filename or self._source}:{exc.lineno}: syntax error: {exc.message}")
        if isinstance(exc, jinja2.TemplateNotFound):
            return ReconcileError(f"{where}: template {exc.name!r} not found")
        if isinstance(exc, jinja2.UndefinedError):
            return ReconcileError(f"{where}: undefined: {exc.message}")
        return ReconcileError(f"{where}: {_one_line(str(exc) or type(exc).__name__)}")

    def _location(self, tb: TracebackType | None) -> str:
        """``<file>:<line>`` of the innermost template frame of a traceback (the entry file if none)."""
        files = set(self._sources.values())
        where = self._source
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if filename in files:
                where = f"{filename}:{tb.tb_lineno}"
            tb = tb.tb_next
        return where


def _data_method(obj: Any, name: Any, value: Any) -> Any:
    """A method of a mapping, list or string found where the data has no such key: a missing value."""
    if isinstance(value, types.BuiltinMethodType) and isinstance(obj, dict | list | str):
        return MissingKeyOrMethod(value, obj, str(name))
    return value


def _bounded_text(chunks: Iterator[str], budget: Budget) -> str:
    """The rendered text, stopped as soon as it is over the output limit or the time is up."""
    parts = []
    for chunk in chunks:
        budget.add_output(len(chunk))
        budget.check_time()
        parts.append(chunk)
    return "".join(parts)


def _one_line(message: str) -> str:
    return " ".join(message.split())
