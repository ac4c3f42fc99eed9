"""``choreo get -w``: after the list, every change of the listed kind as it happens, as ``kubectl get -w`` shows it.

Why a module of its own: a watch follows a store (locally: the project's, which a ``choreo run`` in another
terminal commits to; on a server: its HTTP watch) for as long as the user lets it run, which nothing else of
``choreo get`` does. Each change of an object the request selects (namespace, names, label and field
selectors) prints one more line in the output's form: a table row aligned under the table, a name, a YAML
document after ``---``, a JSON object, a JSONPath rendering. Added, changed and deleted objects print alike,
as kubectl prints them. A watch that the store can no longer continue (its events compacted, a server's
410) lists again and goes on. Ctrl-C ends it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from choreo.apiserver.server import APIServer
from choreo.errors import ChoreoError
from choreo.server.client import ResourceInfo, ServerClient
from choreo.server.query import Predicate
from choreo.store import Gone

Object = dict[str, Any]
POLL_SECONDS = 1.0  # how long one wait for a change of the local store lasts before it is asked again


def local_changes(api: APIServer, group: str, kind: str, since: int, relist: Callable[[], list[Object]],
                  selected: Predicate) -> Iterator[Object]:
    """The objects of ``group``/``kind`` in the project's store as they change after revision ``since``."""
    revision = since
    while True:
        if not api.events.wait_for_change(revision, POLL_SECONDS):
            continue
        now = api.events.current_revision()  # read first: an event committed after it is seen next time
        try:
            events = [e for e in api.events.events_since(revision, group, kind) if e.revision <= now]
        except Gone:
            revision = now
            yield from relist()
            continue
        revision = now
        yield from (event.object for event in events if selected(event.object))


def server_changes(client: ServerClient, info: ResourceInfo, namespace: str | None, since: str,
                   query: dict[str, str], relist: Callable[[], tuple[list[Object], str]]) -> Iterator[Object]:
    """The objects of a kind on a server as they change after resource version ``since`` (a watch ended by the
    server is started again from the last version seen)."""
    version = since
    while True:
        with client.open("GET", client.path(info, namespace),
                         query={**query, "watch": "1", "resourceVersion": version, "allowWatchBookmarks": "true"},
                         timeout=3600) as stream:
            for line in stream:
                event = json.loads(line)
                obj = event.get("object") or {}
                if event.get("type") == "ERROR":
                    if obj.get("code") != 410:
                        raise ChoreoError(f"watch ended: {obj.get('message', 'error')}")
                    objects, version = relist()
                    yield from objects
                    break
                version = (obj.get("metadata") or {}).get("resourceVersion") or version
                if event.get("type") != "BOOKMARK":
                    yield obj
