"""Runs Go-template reconcilers (spec §4.2) on the interpreter in ``choreo.lang.gotemplate``.

Every code entry is parsed as a named template (name = code key); ``main.tpl`` is executed with the
whole for-object as data, numbers as float64 the way the reference's JSON round trip gives them.
The reference parses the templates again for every reconcile; here they are parsed once, at the
first reconcile (executing a template never changes the parsed set, and parsing a few dozen lines
costs about as much as rendering them), and a set that fails to parse fails every reconcile the
same way. The output must be one object
of an owned kind (``rendered_child``). Execution is bounded by ``Limits`` (time, output size,
nesting); a nesting deeper than Python's stack allows counts as the depth limit. Every failure is one
``ReconcileError`` line naming the template file and line.
"""

from __future__ import annotations

from typing import Any

from choreo.errors import ReconcileError
from choreo.lang.base import ReconcileClient, ReconcileOutput
from choreo.lang.engines import TEMPLATE_ENTRIES, code_sources, record_child, rendered_child
from choreo.lang.gotemplate import TemplateError, TemplateSet, from_json, parse_sources, render
from choreo.lang.limits import Budget, Limits
from choreo.loader.project import ReconcilerConfig

ENTRY = TEMPLATE_ENTRIES["gotemplate"]


class GoTemplateReconciler:
    """A ``ReconcilerEngine`` rendering ``main.tpl`` with the for-object as dot."""

    def __init__(self, config: ReconcilerConfig, *, limits: Limits | None = None) -> None:
        self.name = config.name
        self._owns = list(config.owns)
        self._limits = limits or Limits()
        sources = code_sources(config)
        self._sources = {key: (text, sources[key]) for key, text in config.code.items()}
        self._source = sources[ENTRY]
        self._templates: TemplateSet | None = None  # parsed at the first reconcile

    def reconcile(self, obj: dict[str, Any], client: ReconcileClient) -> ReconcileOutput:
        return record_child(self, obj, client)

    def rendered_child(self, obj: dict[str, Any]) -> dict[str, Any]:
        return rendered_child(self.render(obj), self._source, self._owns)

    def render(self, obj: dict[str, Any]) -> str:
        try:
            if self._templates is None:
                self._templates = parse_sources(self._sources)
            return render(self._templates, ENTRY, from_json(obj), budget=Budget(self._limits, self._source))
        except TemplateError as exc:
            raise ReconcileError(str(exc)) from None
        except RecursionError:
            raise self._limits.depth_exceeded(self._source) from None
