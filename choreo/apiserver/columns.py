"""A kind's printer columns: what ``kubectl get`` (and ``choreo get``) shows for each object of it.

A CRD version names them in ``additionalPrinterColumns`` (name, type, JSONPath, priority: ``-o wide`` shows the
columns of priority above 0); a kind without any shows its age, as kube-apiserver's CRD defaulting adds. The
server turns them into the cells of a ``meta.k8s.io/v1`` Table and ``choreo get`` into text, so both read the
same columns from here, and ages are written the same way as kubectl's (``45s``, ``3m20s``, ``2d3h``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from choreo.apiserver import jsonpath

Object = dict[str, Any]
CREATED = ".metadata.creationTimestamp"


@dataclass(frozen=True)
class PrinterColumn:
    """One ``additionalPrinterColumns`` entry."""

    name: str
    json_path: str
    type: str = "string"
    format: str = ""
    description: str = ""
    priority: int = 0

    def values(self, obj: Object) -> list[Any]:
        """What the column's JSONPath finds in ``obj`` (nothing, or ``[None]``, when the field is absent)."""
        return jsonpath.evaluate(obj, self.json_path)

    def cell(self, obj: Object, now: datetime) -> Any:
        """The column's cell for ``obj``, as kube-apiserver fills a Table's: the first value the path finds, as
        the column's type says (a date as its age); None when there is none or it is not of that type."""
        values = self.values(obj)
        value = values[0] if values else None
        if value is None:
            return None
        kind = self.type
        if kind == "string":
            return jsonpath.text(value)
        if kind == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
        if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if kind == "boolean" and isinstance(value, bool):
            return value
        if kind == "date" and isinstance(value, str):
            return age(value, now) or "<invalid>"
        return None


@dataclass(frozen=True)
class ReferenceColumn(PrinterColumn):
    """An object reference shown as kubectl shows an Event's OBJECT: ``kind/name``, the kind in lower case
    (``link/leaf1-spine1``); ``json_path`` leads to the reference."""

    def values(self, obj: Object) -> list[Any]:
        return [_reference(ref) for ref in super().values(obj) if isinstance(ref, dict)]


def _reference(ref: Object) -> str:
    kind = str(ref.get("kind", "")).lower()
    return f"{kind}/{ref['name']}" if ref.get("name") else kind


AGE = PrinterColumn("Age", CREATED, "date", description="Time since the object was created")
NAME_LAST = PrinterColumn("Name", ".metadata.name", priority=1)
"""A kind whose columns hold this one shows its name there, not in a NAME column of its own first."""


def _event_columns(regarding: str, message: str, first: str, last: str, count: str, source: str) -> list[PrinterColumn]:
    """What ``kubectl get events`` shows (kube-apiserver's columns for Events, in their order): when, how bad,
    why, about what, and with ``-o wide`` the part of the object, who reported it, since when, how often
    and the Event's own name, last (no NAME column first, as for other kinds)."""
    return [
        PrinterColumn("Last Seen", last, "date"),
        PrinterColumn("Type", ".type"),
        PrinterColumn("Reason", ".reason"),
        ReferenceColumn("Object", regarding),
        PrinterColumn("Subobject", f"{regarding}.fieldPath", priority=1),
        PrinterColumn("Source", f"{source}.component", priority=1),
        PrinterColumn("Message", message),
        PrinterColumn("First Seen", first, "date", priority=1),
        PrinterColumn("Count", count, "integer", priority=1),
        NAME_LAST,
    ]


_BUILT_IN = {
    ("", "Namespace"): [PrinterColumn("Status", ".status.phase", description="The phase of the namespace"), AGE],
    # the Events a server records (choreo.server.events), in both of their APIs
    ("", "Event"): _event_columns(".involvedObject", ".message", ".firstTimestamp", ".lastTimestamp", ".count",
                                  ".source"),
    ("events.k8s.io", "Event"): _event_columns(".regarding", ".note", ".deprecatedFirstTimestamp",
                                               ".deprecatedLastTimestamp", ".deprecatedCount", ".deprecatedSource"),
}


class CRDReader(Protocol):
    """Where a kind's CRD is read from: the API server, or a client of a remote one."""

    def try_get(self, group: str, kind: str, namespace: str, name: str) -> Object | None: ...


def kind_columns(crds: CRDReader, group: str, kind: str, plural: str, version: str) -> list[PrinterColumn]:
    """The printer columns of a kind in ``version``: from its CRD (``plural.group``), or the built-in ones of
    a core kind (a Namespace's Status)."""
    if (group, kind) in _BUILT_IN:
        return _BUILT_IN[(group, kind)]
    crd = crds.try_get("apiextensions.k8s.io", "CustomResourceDefinition", "", f"{plural}.{group}")
    return printer_columns(crd, version)


def printer_columns(crd: Object | None, version: str) -> list[PrinterColumn]:
    """The ``additionalPrinterColumns`` of ``crd`` for ``version`` (its first version that has some, or the
    legacy top-level list); the Age column when there are none."""
    specs: list[Object] = []
    if crd is not None:
        versions = crd.get("spec", {}).get("versions") or []
        ordered = sorted(versions, key=lambda v: v.get("name") != version)
        specs = next((v["additionalPrinterColumns"] for v in ordered if v.get("additionalPrinterColumns")), [])
        specs = specs or crd.get("spec", {}).get("additionalPrinterColumns") or []
    if not specs:
        return [AGE]
    return [
        PrinterColumn(
            str(s.get("name", "")),
            str(s.get("jsonPath", "")),
            str(s.get("type", "string")),
            str(s.get("format", "")),
            str(s.get("description", "")),
            int(s.get("priority", 0)),
        )
        for s in specs
    ]


def age(timestamp: Any, now: datetime) -> str | None:
    """kubectl's human duration since ``timestamp`` (``45s``, ``3m20s``, ``5h``, ``2d3h``, ``40d``, ``3y12d``;
    ``<invalid>`` for a time more than a second ahead), as Kubernetes' ``duration.HumanDuration``; None when
    ``timestamp`` is not a time."""
    try:
        then = datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
    except ValueError:
        return None
    seconds = int((now - then.astimezone(UTC)).total_seconds())
    if seconds < -1:  # more than the 2 s kubectl allows clocks to differ
        return "<invalid>"
    seconds = max(seconds, 0)
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    if days < 365 * 8:
        return f"{days // 365}y{days % 365}d" if days % 365 else f"{days // 365}y"
    return f"{days // 365}y"
