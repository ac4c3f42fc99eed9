"""What the server and its clients agree on, importable without the server: the default address, the
apply-patch media type, the HTTP errors it answers with (beyond the store's), the request limits and
their defaults, and the list document of ``/choreo/v1/inventory``.

Why apart from ``choreo.server.http``: every ``choreo`` command asks whether a server is addressed
(``choreo.server.client``) and the CLI declares ``server start``'s options, so these names are needed by
every command line, while the HTTP server itself (and what it imports: ``http.server``, the selector
language, the OpenAPI documents) is needed only when one runs.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Any

from choreo.errors import ChoreoError
from choreo.results.inventory import Item

Object = dict[str, Any]

DEFAULT_ADDRESS = "127.0.0.1:51000"
LOG_FORMATS = ("json", "text")
APPLY_PATCH = "application/apply-patch+yaml"
DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024  # kube-apiserver's limit on one request body
DEFAULT_MAX_BODY_DEPTH = 100
DEFAULT_MAX_WATCHES = 100
DEFAULT_MAX_OBJECT_BYTES = 3 * 1024 * 1024 // 2  # the largest object etcd stores for kube-apiserver
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
"""What stops a long-running choreo process cleanly: SIGTERM (a service manager), Ctrl-C, and SIGHUP (the
terminal it runs in closed, which without a handler ended it on the spot, its worker processes with it)."""


class Unauthorized(ChoreoError):
    reason = "Unauthorized"
    code = 401


class MethodNotAllowed(ChoreoError):
    reason = "MethodNotAllowed"
    code = 405


class NotAcceptable(ChoreoError):
    """406: the client accepts no media type the server can answer in."""

    reason = "NotAcceptable"
    code = 406


class UnsupportedMediaType(ChoreoError):
    reason = "UnsupportedMediaType"
    code = 415


class Unavailable(ChoreoError):
    reason = "ServiceUnavailable"
    code = 503


class Timeout(ChoreoError):
    """504: what the request waits for did not come in time (a list at a resourceVersion not reached)."""

    reason = "Timeout"
    code = 504


class RequestEntityTooLarge(ChoreoError):
    reason = "RequestEntityTooLarge"
    code = 413


class TooManyRequests(ChoreoError):
    """A limit on concurrent work is reached; the client should retry after ``retry_after`` seconds."""

    reason = "TooManyRequests"
    code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the server (``choreo server start --max-...``).

    Without them one client could exhaust the server's memory (a 50 MB body is held whole and decoded),
    its stack (a deeply nested body recurses in the decoders and in every later walk of the object) or
    its threads (each watch holds one for up to half an hour). The body limit is kube-apiserver's.

    ``max_object_bytes``: the largest object a write may leave stored, as compact JSON — what etcd stores
    for kube-apiserver, and what a reconcile may write (``CHOREO_OUTPUT_LIMIT``): a larger one taken from a
    client would be an object no reconciler can write back and no Kubernetes API server can hold.
    """

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_body_depth: int = DEFAULT_MAX_BODY_DEPTH
    max_watches: int = DEFAULT_MAX_WATCHES
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES


def items_doc(items: list[Item]) -> Object:
    return {"items": [{"object": item.obj, "choreoApi": item.choreo_api} for item in items]}


def items_from_doc(doc: Object) -> list[Item]:
    return [Item(entry["object"], bool(entry.get("choreoApi"))) for entry in doc.get("items", [])]
