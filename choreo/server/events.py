"""Kubernetes Events in server mode: how a long-running server tells kubectl users what went wrong.

An operator looks at ``kubectl get events`` and the Events section of ``kubectl describe <kind> <name>``.
Both read Event objects, of the two kinds every choreo API server serves (``choreo.apiserver.event_kinds``).
Kubernetes keeps one object behind both APIs and converts between them; choreo writes each occurrence in
both shapes instead (same name, same facts), which keeps the HTTP layer free of per-kind conversions.

A repeat of the same occurrence (same object, reason and message) updates the existing Event — ``count``
and ``series`` grow, ``lastTimestamp`` moves — as Kubernetes' event recorder does, so a reconcile retried
every few seconds does not flood the store.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from choreo.apiserver.interface import ObjectAPI

Object = dict[str, Any]

COMPONENT = "choreo"
EVENT_MANAGER = "choreo-events"
WARNING, NORMAL = "Warning", "Normal"
MAX_MESSAGE = 1024  # what Kubernetes keeps of an event message
DEFAULT_NAMESPACE = "default"  # where the events of cluster-scoped objects go, as in Kubernetes
EVENT_TTL = 3600.0  # seconds an Event is kept after its last occurrence, as kube-apiserver's default
EXPIRY_EVERY = 60.0  # seconds between two looks for expired Events


def _micro(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _seconds(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class EventRecorder:
    """Writes Events about objects into one API server, and lets them expire after ``ttl`` seconds without a
    repeat (an hour, as Kubernetes keeps them), so that a long-running server's store does not grow."""

    def __init__(self, api: ObjectAPI, *, instance: str = "choreo-server", ttl: float = EVENT_TTL) -> None:
        self.api = api
        self.instance = instance
        self.ttl = ttl
        self._expired_at: datetime | None = None

    def expire(self, now: datetime) -> int:
        """Delete the Events (both kinds) this server recorded and last saw more than ``ttl`` ago; returns how
        many."""
        cutoff = _seconds(now - timedelta(seconds=self.ttl))
        gone = 0
        with self.api.transaction():
            for event in self.api.list("", "Event"):
                ours = event.get("reportingComponent") == COMPONENT  # a cluster's other Events are not ours
                if ours and str(event.get("lastTimestamp") or "") < cutoff:
                    md = event["metadata"]
                    self.api.delete("", "Event", md["namespace"], md["name"])
                    if self.api.try_get("events.k8s.io", "Event", md["namespace"], md["name"]) is not None:
                        self.api.delete("events.k8s.io", "Event", md["namespace"], md["name"])
                    gone += 1
        self._expired_at = now
        return gone

    def record(self, obj: Object, *, type_: str, reason: str, message: str, action: str = "Reconcile") -> Object:
        """Record one occurrence about ``obj``; a repeat of the same one counts up the existing Event.
        Returns the core ``v1`` Event as stored."""
        md = obj["metadata"]
        namespace = md.get("namespace") or DEFAULT_NAMESPACE
        message = message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."
        fingerprint = "\0".join((obj.get("kind", ""), md.get("uid", ""), type_, reason, message))
        name = f"{md['name']}.{hashlib.sha256(fingerprint.encode()).hexdigest()[:16]}"
        now = datetime.now(UTC)
        if self._expired_at is None or now - self._expired_at > timedelta(seconds=EXPIRY_EVERY):
            self.expire(now)
        regarding = {
            "apiVersion": obj.get("apiVersion", ""),
            "kind": obj.get("kind", ""),
            "name": md["name"],
            "uid": md.get("uid", ""),
            "resourceVersion": md.get("resourceVersion", ""),
        }
        if md.get("namespace"):
            regarding["namespace"] = md["namespace"]
        with self.api.transaction():
            old = self.api.try_get("", "Event", namespace, name)
            count = int(old.get("count") or 1) + 1 if old else 1
            first = old.get("firstTimestamp") if old else _seconds(now)
            series = {"count": count, "lastObservedTime": _micro(now)} if count > 1 else None
            shared: Object = {
                "kind": "Event",
                "metadata": {"name": name, "namespace": namespace},
                "reason": reason,
                "type": type_,
                "action": action,
                "eventTime": old.get("eventTime") if old else _micro(now),
                "reportingInstance": self.instance,
                **({"series": series} if series is not None else {}),
            }
            core: Object = {
                "apiVersion": "v1",
                **shared,
                "involvedObject": regarding,
                "message": message,
                "source": {"component": COMPONENT},
                "firstTimestamp": first,
                "lastTimestamp": _seconds(now),
                "count": count,
                "reportingComponent": COMPONENT,
            }
            new: Object = {
                "apiVersion": "events.k8s.io/v1",
                **shared,
                "regarding": regarding,
                "note": message,
                "reportingController": COMPONENT,
                "deprecatedSource": {"component": COMPONENT},
                "deprecatedFirstTimestamp": first,
                "deprecatedLastTimestamp": _seconds(now),
                "deprecatedCount": count,
            }
            stored = self.api.apply(core, manager=EVENT_MANAGER, force=True)
            self.api.apply(new, manager=EVENT_MANAGER, force=True)
        return stored
