"""Pick the engine for a reconciler config by its ``type``, and the output rule the template engines share.

Every engine made here runs its reconciles in a worker process under the same ``Limits``
(``choreo.lang.isolation``), so that no user code can hang, exhaust or abort choreo.

Template reconcilers (Jinja2, Go templates; spec §4.2, §4.3) render text that must be exactly one KRM
object of a kind the reconciler owns; ``rendered_child`` checks that once for both engines so
they report the same one-line errors, and ``record_child`` records it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from choreo.errors import LoadError, ReconcileError
from choreo.lang.base import ReconcileClient, ReconcileOutput, ReconcilerEngine, TemplateEngine
from choreo.lang.isolation import IsolatedEngine
from choreo.lang.limits import Limits
from choreo.loader.project import Library, ReconcilerConfig, ResourceSelector
from choreo.loader.yamlio import parse_documents

TEMPLATE_ENTRIES = {"jinjatemplate": "main.jinja2", "gotemplate": "main.tpl"}


def make_engine(
    config: ReconcilerConfig,
    libraries: Mapping[str, Library],
    *,
    log: Callable[[str], None],
    limits: Limits | None = None,
) -> ReconcilerEngine:
    """The isolated engine for ``config`` under ``limits`` (default: the defaults, as the environment sets them)."""
    limits = Limits.from_environment() if limits is None else limits
    engine, source = _engine(config, libraries, limits)
    return IsolatedEngine(engine, source, limits, log)


def _engine(
    config: ReconcilerConfig, libraries: Mapping[str, Library], limits: Limits
) -> tuple[ReconcilerEngine, str]:
    """The in-process engine for ``config`` and the file that holds its entry code."""
    if config.type == "starlark":
        from choreo.lang.starlark_engine import StarlarkReconciler

        key = "reconciler.star"
        if key not in config.code:
            raise LoadError(f"{config.source}: starlark reconciler {config.name} has no reconciler.star code")
        source = config.code_files.get(key, config.source)
        return StarlarkReconciler(config.name, config.code[key], source, libraries, limits=limits), source
    if config.type in TEMPLATE_ENTRIES:
        entry = TEMPLATE_ENTRIES[config.type]
        if entry not in config.code:
            raise LoadError(f"{config.source}: {config.type} reconciler {config.name} has no {entry} code")
        source = config.code_files.get(entry, config.source)
        if config.type == "jinjatemplate":
            from choreo.lang.jinja_engine import JinjaReconciler

            return JinjaReconciler(config, limits=limits), source
        from choreo.lang.gotemplate_engine import GoTemplateReconciler

        return GoTemplateReconciler(config, limits=limits), source
    raise LoadError(f"{config.source}: reconciler {config.name}: type {config.type!r} is not supported yet")


def code_sources(config: ReconcilerConfig) -> dict[str, str]:
    """Code key -> the file name used in messages (the config file for code written inline)."""
    return {key: config.code_files.get(key, config.source) for key in config.code}


def rendered_child(text: str, source: str, owns: Sequence[ResourceSelector]) -> dict[str, Any]:
    """Rendered ``text`` as one KRM object of an owned kind (a ``ReconcileError`` naming ``source`` if not)."""
    child = _one_object(text, source)
    group = child["apiVersion"].rpartition("/")[0]
    if not any((o.group, o.kind) == (group, child["kind"]) for o in owns):
        owned = ", ".join(f"{o.api_version} {o.kind}" for o in owns) or "nothing"
        raise ReconcileError(
            f"{source}: output is a {child['apiVersion']} {child['kind']}, which the reconciler does not own"
            f" (owns: {owned})"
        )
    return child


def record_child(engine: TemplateEngine, obj: dict[str, Any], client: ReconcileClient) -> ReconcileOutput:
    """A template engine's reconcile: the child it renders for ``obj`` recorded, ``obj`` unchanged."""
    client.create_child(engine.rendered_child(obj))
    return ReconcileOutput(obj=obj)


def _one_object(text: str, source: str) -> dict[str, Any]:
    try:
        documents = parse_documents(text, source)
    except LoadError as exc:
        raise ReconcileError(_yaml_problem(exc.message, source, text)) from None
    if len(documents) != 1:
        what = "nothing" if not documents else f"{len(documents)} YAML documents"
        raise ReconcileError(f"{source}: output must be exactly one YAML object, got {what}")
    doc = documents[0][1]
    if not isinstance(doc, dict):
        raise ReconcileError(f"{source}: output must be one YAML object (a mapping), got {_type_name(doc)}")
    for key in ("apiVersion", "kind"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise ReconcileError(f"{source}: output object has no {key}")
    if not isinstance(doc.get("metadata"), dict) or not doc["metadata"].get("name"):
        raise ReconcileError(f"{source}: output object has no metadata.name")
    return doc


def _yaml_problem(message: str, source: str, text: str) -> str:
    """The loader's ``<source>[:<line>]: invalid YAML: <problem>``, with the line marked as an output line
    and quoted (the template's line is not known: the output is what the data made of it)."""
    where, _, problem = message.removeprefix(source).partition(" invalid YAML: ")
    line = where.strip(":")
    at = ""
    if line.isdigit():
        lines = text.splitlines()
        shown = lines[int(line) - 1] if 0 < int(line) <= len(lines) else ""
        shown = shown if len(shown) <= 100 else shown[:100] + "..."
        at = f" (output line {line}: {json.dumps(shown, ensure_ascii=False)})"
    return f"{source}: output is not valid YAML{at}: {problem or message}"


def _type_name(value: Any) -> str:
    names = {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)
