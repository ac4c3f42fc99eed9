"""``choreo describe``: an object as ``kubectl describe`` shows a custom resource, with the Events about it.

Why: network engineers who know kubectl reach for ``describe`` to see one Link or Interface whole — its spec,
what the reconcilers wrote in its status, and why a reconcile failed (a server's Events). kubectl shows a
custom resource with its generic describer: name, namespace, labels and annotations first, then every other
field by name in alphabetical order, nested fields indented, a field's name in words (``lastTransitionTime``
→ ``Last Transition Time``), managed fields left out, values aligned in columns as Go's tabwriter aligns
them, and the Events whose object is this one. This module writes the same text from a stored object, for
the project's store and a server alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import click

from choreo.apiserver.columns import age
from choreo.cli import get as get_command
from choreo.cli import printers, tabwriter
from choreo.cli.common import addressable
from choreo.server.client import ServerClient

Object = dict[str, Any]
PADDING = 2  # kubectl's tabwriter: two spaces after the widest cell of a column
MAX_ANNOTATION = 140  # an annotation longer than this is shown on lines of its own, each cut there
ACRONYMS = ("API", "URL", "UID", "OSB", "GUID")
SKIPPED = {".metadata.managedFields", ".metadata.name", ".metadata.namespace", ".metadata.labels",
           ".metadata.annotations"}


def smart_label(field: str) -> str:
    """A field's name in words, as kubectl writes it: ``apiVersion`` → ``API Version``; a name with other
    characters than letters and ``-`` stays as it is."""
    if any(not (c.isalpha() or c == "-") for c in field):
        return field
    parts = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[A-Z]+|-", field)
    words = [p.upper() if p.upper() in ACRONYMS else p[:1].upper() + p[1:] for p in parts]
    return " ".join(words)


def _content(lines: list[str], level: int, content: Object, prefix: str) -> None:
    indent = "  " * level
    for field in sorted(content):
        value, path = content[field], f"{prefix}.{field}"
        if path in SKIPPED:
            continue
        if isinstance(value, dict):
            lines.append(f"{indent}{smart_label(field)}:")
            _content(lines, level + 1, value, path)
        elif isinstance(value, list):
            lines.append(f"{indent}{smart_label(field)}:")
            for child in value:
                if isinstance(child, dict):
                    _content(lines, level + 1, child, path)
                else:
                    lines.append(f"{indent}  {printers.go_value(child)}")
        else:
            lines.append(f"{indent}{smart_label(field)}:\t{printers.go_value(value)}")


def _multiline(lines: list[str], title: str, entries: list[str]) -> None:
    lines.append(f"{title}:\t{entries[0] if entries else '<none>'}")
    lines.extend(f"\t{entry}" for entry in entries[1:])


def _annotations(annotations: Object) -> list[str]:
    entries: list[str] = []
    for key in sorted(k for k in annotations if k != "kubectl.kubernetes.io/last-applied-configuration"):
        value = str(annotations[key]).removesuffix("\n")
        if len(value) + len(key) + 2 > MAX_ANNOTATION or "\n" in value:
            entries.append(f"{key}:")
            entries.extend(f"  {_cut(line, MAX_ANNOTATION - 2)}" for line in value.split("\n"))
        else:
            entries.append(f"{key}: {value}")
    return entries


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width] + "..."


def aligned(lines: Sequence[str]) -> list[str]:
    """Lines of tab-separated cells as kubectl's describe aligns them (Go's tabwriter, padding 2). A value of
    several lines (a reconciler's code) ends its line at each newline, as in the tabwriter: a line of it
    without a tab ends the column above it."""
    physical = [part for line in lines for part in line.split("\n")]
    return tabwriter.align([line.split("\t") for line in physical], padding=PADDING)


def describe_object(obj: Object, events: Sequence[Object], now: datetime, show_events: bool = True) -> list[str]:
    """The text ``kubectl describe`` prints for a custom resource ``obj`` and the core Events about it
    (``show_events=False``: kubectl's ``--show-events=false``, no Events section)."""
    md = obj.get("metadata") or {}
    namespace = (obj.get("apiVersion"), obj.get("kind")) == ("v1", "Namespace")
    lines = [f"Name:\t{md.get('name', '')}", *([] if namespace else [f"Namespace:\t{md.get('namespace', '')}"])]
    _multiline(lines, "Labels", [f"{k}={v}" for k, v in sorted((md.get("labels") or {}).items())])
    _multiline(lines, "Annotations", _annotations(md.get("annotations") or {}))
    if namespace:  # kubectl's own describer for Namespaces: its phase, no Events
        return aligned([*lines, f"Status:\t{(obj.get('status') or {}).get('phase', '')}"])
    _content(lines, 0, obj, "")
    if not show_events:
        return aligned(lines)
    if not events:
        return aligned([*lines, "Events:\t<none>"])
    table = ["  Type\tReason\tAge\tFrom\tMessage", "  ----\t------\t----\t----\t-------"]
    for event in sorted(events, key=lambda e: str(e.get("lastTimestamp") or "")):
        last = age(event.get("lastTimestamp"), now) or "<unknown>"
        count = int(event.get("count") or 1)
        when = f"{last} (x{count} over {age(event.get('firstTimestamp'), now) or '<unknown>'})" if count > 1 else last
        source = (event.get("source") or {}).get("component") or event.get("reportingComponent") or ""
        table.append(f"  {event.get('type', '')}\t{event.get('reason', '')}\t{when}\t{source}\t"
                     f"{str(event.get('message', '')).strip()}")
    return [*aligned(lines), "Events:", *aligned(table)]


@click.command("describe")
@click.argument("resources", nargs=-1, shell_complete=get_command.completion.kinds_then_names)
@get_command.selection_options
@click.option("--show-events", type=click.BOOL, default=True, is_flag=False, flag_value=True, metavar="BOOL",
              help="The Events about each object (--show-events=false: none).")
@addressable("directory")
def describe(
    client: ServerClient | None,
    resources: tuple[str, ...],
    directory: str | None,
    namespace: str,
    all_namespaces: bool,
    labels: str | None,
    show_events: bool,
) -> None:
    """Show objects whole, as kubectl describe does: KIND [NAME...] or TYPE/NAME..., with the Events about
    each (a server records them when a reconcile fails)."""
    now = datetime.now(UTC)
    with get_command.object_source(client, directory) as source:
        request = get_command.parse_request(source.kinds(), resources, "describe")
        get_command.check_selectors(request, labels, None, all_namespaces, resources)
        selection = get_command.select(source, request, None if all_namespaces else namespace, labels)
        objects = [o for block in selection.blocks for o in block.objects]
        event_kind = get_command.resolve_kinds(source.kinds(), "events")[0]
        events: dict[str, list[Object]] = {}  # by namespace, each listed once
        texts = []
        for obj in objects:
            md = obj["metadata"]
            where = md.get("namespace") or "default"  # the Events of a cluster-scoped object are there
            if where not in events:
                events[where] = source.objects(event_kind, where)
            about = [e for e in events[where] if (e.get("involvedObject") or {}).get("uid") == md.get("uid")]
            texts.append("\n".join(describe_object(obj, about, now, show_events)) + "\n")
    if not texts and not selection.errors:
        get_command.say_nothing_found(None if all_namespaces else namespace)  # kubectl's, for every kind
        return
    click.echo("\n\n".join(texts), nl=False)
    get_command.report_errors(selection)
