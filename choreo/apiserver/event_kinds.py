"""The two Event kinds every choreo API server serves, whatever the mode: core ``v1`` (what ``kubectl describe``
of every version and most clients read) and ``events.k8s.io/v1`` (the newer API).

Why in every mode: a server records Events (``choreo.server.events``), a batch run records none, but the kinds
a run serves are part of what every reconcile depends on (the reconcile memo's salt, ``runtime.memo``): when
the two modes served different kinds, a server started on a folder that ``choreo run`` had run executed
every reconcile again, and a ``choreo run`` after a server did the same. They are stored kinds like any
other: listable, watchable, field-selectable; ``choreo get events`` of a batch run's state lists none.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from choreo.apiserver.registry import APIResource, resource_from_crd

Object = dict[str, Any]


def _strings(*names: str) -> Object:
    return {name: {"type": "string"} for name in names}


def _schema(properties: Object) -> Object:
    return {
        "type": "object",
        "properties": {**_strings("apiVersion", "kind"), "metadata": {"type": "object"}, **properties},
    }


_REFERENCE: Object = {
    "type": "object",
    "properties": _strings("apiVersion", "kind", "name", "namespace", "uid", "resourceVersion", "fieldPath"),
}
_SERIES: Object = {"type": "object", "properties": {"count": {"type": "integer"}, **_strings("lastObservedTime")}}
_SOURCE: Object = {"type": "object", "properties": _strings("component", "host")}
_INTEGER: Object = {"type": "integer"}
_CORE_FIELDS: Object = {
    **_strings("reason", "message", "type", "action", "firstTimestamp", "lastTimestamp", "eventTime"),
    **_strings("reportingComponent", "reportingInstance"),
    "involvedObject": _REFERENCE,
    "related": _REFERENCE,
    "source": _SOURCE,
    "count": _INTEGER,
    "series": _SERIES,
}
_NEW_FIELDS: Object = {
    **_strings("reason", "note", "type", "action", "eventTime", "reportingController", "reportingInstance"),
    **_strings("deprecatedFirstTimestamp", "deprecatedLastTimestamp"),
    "regarding": _REFERENCE,
    "related": _REFERENCE,
    "deprecatedSource": _SOURCE,
    "deprecatedCount": _INTEGER,
    "series": _SERIES,
}


def _event_crd(group: str, fields: Object) -> Object:
    """An Event kind as a CRD (its printer columns are kubectl's, in ``choreo.apiserver.columns``)."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"events.{group}"},
        "spec": {
            "group": group,
            "names": {
                "kind": "Event",
                "listKind": "EventList",
                "plural": "events",
                "singular": "event",
                "shortNames": ["ev"],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": _schema(fields)},
                }
            ],
        },
    }


def event_resources() -> list[APIResource]:
    """Both Event kinds. The core group has no name, which a CRD cannot say: its definition is made in a
    placeholder group, then moved to group ""."""
    core = resource_from_crd(_event_crd("core.choreo.internal", _CORE_FIELDS), source="built-in", choreo_api=True)
    return [
        dataclasses.replace(core, group=""),
        resource_from_crd(_event_crd("events.k8s.io", _NEW_FIELDS), source="built-in", choreo_api=True),
    ]
