"""The Kubernetes-compatible HTTP API over an ``ObjectAPI``: what ``kubectl`` and client libraries talk to.

Routes: discovery (``/api``, ``/apis``, ``/apis/G``, ``/apis/G/V``), ``/version``, ``/openapi/v2`` and ``/v3``
(``openapi_docs``; v2 also as protobuf, ``gnostic``), ``/healthz``, ``/readyz``, ``/livez``, the resource paths
``/apis/G/V[/namespaces/NS]/PLURAL[/NAME[/status]]`` and the core group's ``/api/v1/namespaces[/NAME]`` (get,
list — paged, as a Table with printer columns: ``query``, ``tables`` — watch, create, update, patch — apply,
merge and JSON patch, strategic merge for core kinds — delete, deletecollection; ``dryRun=All`` on every
write is the API's own dry run) and the
choreo control endpoints under ``/choreo/v1`` (delegated to the server context), and the read-only run
history under ``/choreo/v1``: ``runs`` (records, newest first), ``runs/ID/snapshot`` and ``inventory`` (the
current objects), which ``choreo run list|diff|deps`` read when a server is addressed.

Every failure is a Kubernetes ``Status`` body with the matching HTTP code: a client mistake (malformed
framing, an unsupported media type, a body that is not JSON/YAML, a bad selector) is a 4xx; only an
unexpected exception is a 500 ``InternalError``, logged with its traceback, and the server keeps serving.
Writes go through the shared API (choreo's own API server), whose store transactions serialise concurrent
handler threads; read-modify-write requests (PUT of a status, merge/JSON patch) run inside one transaction so nobody
writes in between.

Requests are bounded (``Limits``, the ``--max-...`` options of ``choreo server start``): body size, body
nesting depth and concurrent watches, checked in one place (``APIHandler._read_body`` and
``decode_body``) before anything else looks at the request. The server runs one thread per connection,
so a slow upload or a long watch never holds up ``/healthz``.
"""

from __future__ import annotations

import contextlib
import copy
import hmac
import http.client
import json
import math
import re
import secrets
import select
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

import yaml

from choreo.apiserver.interface import ObjectAPI
from choreo.apiserver.metadata import OBJECT_META_FIELDS
from choreo.apiserver.openapi import prune_undeclared
from choreo.apiserver.registry import APIResource, crd_group_kind
from choreo.apiserver.server import stale_message
from choreo.errors import AlreadyExists, BadRequest, ChoreoError, Conflict, Forbidden, Invalid, NotFound
from choreo.lang.limits import format_size, json_size_over
from choreo.results.inventory import current_inventory
from choreo.results.kubectl_text import yaml_text
from choreo.results.runs import runs_newest_first
from choreo.results.snapshot import has_snapshot, load_snapshot
from choreo.server import discovery, gnostic, openapi_docs, tables
from choreo.server.patch import json_patch, merge_patch
from choreo.server.protocol import (
    APPLY_PATCH,
    Limits,
    MethodNotAllowed,
    RequestEntityTooLarge,
    Timeout,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    items_doc,
)
from choreo.server.query import (
    Continue,
    Expired,
    ListSnapshots,
    Page,
    Predicate,
    field_selector,
    label_selector,
    page,
    parse_continue,
    parse_limit,
    position,
)
from choreo.server.strategic import strategic_merge_patch
from choreo.store.base import Gone, WatchEvent

Object = dict[str, Any]

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
HEALTH_PATHS = frozenset({"healthz", "readyz", "livez"})
DEFAULT_WATCH_SECONDS = 1800
BOOKMARK_SECONDS = 10.0
WATCH_RETRY_SECONDS = 1
LINGER_SECONDS = 0.5
MAX_CHUNK_LINE = 4096
JSON_TYPES = frozenset({"application/json", MERGE_PATCH, JSON_PATCH, STRATEGIC_PATCH})
PATCHES: dict[str, Callable[[Any, Any], Any]] = {
    MERGE_PATCH: merge_patch,
    JSON_PATCH: json_patch,
    STRATEGIC_PATCH: strategic_merge_patch,  # core kinds only, as in kube-apiserver
}
YAML_TYPES = frozenset({"application/yaml", APPLY_PATCH})
MAX_INT64 = 2**63 - 1
_SELECTORS = ("labelSelector", "fieldSelector")
OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"


_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    414: "BadRequest",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    431: "BadRequest",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
_K8S_REASONS = frozenset(_REASONS.values()) | {"AlreadyExists", "Gone"}


class ServerContext(Protocol):
    """What the HTTP layer needs from the server around it."""

    token: str | None
    stopping: threading.Event

    def current_api(self) -> ObjectAPI:
        """The API server of the loaded project; raises ``Unavailable`` while none is loaded."""
        ...

    def unloaded(self) -> ChoreoError | None:
        """Why the project's kinds are not all served (its folder does not load: only the kinds of the stored
        CRDs are); None once it is loaded."""
        ...

    def log(self, event: str, **fields: Any) -> None: ...

    def control(self, method: str, parts: list[str], body: Any) -> tuple[int, Any]:
        """Serve ``/choreo/v1/<parts>`` (run, context, status)."""
        ...

    def check_write(self, group: str, kind: str, namespace: str, name: str) -> None:
        """Raise a ``ChoreoError`` when a client may not write (or delete) this object."""
        ...

    def check_create(self, group: str, kind: str, namespace: str, name: str) -> None:
        """Raise a ``ChoreoError`` when a client may not create this object (it does not exist yet)."""
        ...

    def check_delete(self, group: str, kind: str, namespace: str, name: str) -> None:
        """Raise a ``ChoreoError`` when a client may not delete this object (``check_write``, and more)."""
        ...


def status_doc(code: int, message: str, reason: str = "", details: Object | None = None) -> Object:
    doc: Object = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if code < 400 else "Failure",
        "message": message,
        "reason": reason or _REASONS.get(code, "Unknown"),
        "code": code,
    }
    if details:
        doc["details"] = details
    return doc


def error_status(exc: ChoreoError) -> Object:
    code = exc.code if exc.code in _REASONS else (400 if 400 <= exc.code < 500 else 500)
    reason = exc.reason if exc.reason in _K8S_REASONS else _REASONS[code]
    doc = status_doc(code, str(exc), reason, _error_details(exc))
    if isinstance(exc, Expired):
        doc["metadata"] = {"continue": exc.continue_token}
    return doc


def _error_details(exc: ChoreoError) -> Object | None:
    if isinstance(exc, TooManyRequests):
        return {"retryAfterSeconds": exc.retry_after}
    if isinstance(exc, ObjectNotFound | ObjectExists):
        return exc.details
    return _invalid_details(exc)


class ObjectNotFound(NotFound):
    """The object a request names does not exist, said as kube-apiserver says it (kubectl prints it as is):
    ``greetings.example.com "carol" not found``, with the name, group and plural as details."""

    def __init__(self, resource: APIResource, name: str) -> None:
        super().__init__(f'{resource.plural_name} "{name}" not found')
        self.details: Object = {"name": name, "group": resource.group, "kind": resource.plural}


class ObjectExists(AlreadyExists):
    """A create of an object that exists, said as kube-apiserver says it (see ``ObjectNotFound``)."""

    def __init__(self, resource: APIResource, name: str) -> None:
        super().__init__(f'{resource.plural_name} "{name}" already exists')
        self.details: Object = {"name": name, "group": resource.group, "kind": resource.plural}


def _invalid_details(exc: ChoreoError) -> Object | None:
    """Status details of a validation error: kubectl prints them as one line per field."""
    if not isinstance(exc, Invalid) or exc.target is None:
        return None
    group, kind, name = exc.target
    causes = [{"reason": "FieldValueInvalid", "message": message, "field": field} for field, message in exc.causes]
    return {"name": name, "group": group, "kind": kind, "causes": causes}


@dataclass
class Target:
    """A resource path: which kind, in which served version, where, and which subresource."""

    resource: APIResource
    version: str
    namespace: str | None  # None: all namespaces (lists) or a cluster-scoped kind
    name: str | None
    subresource: str | None

    @property
    def group_version(self) -> str:
        return f"{self.resource.group}/{self.version}" if self.resource.group else self.version

    def present(self, obj: Object) -> Object:
        """The object as this version shows it."""
        out = copy.deepcopy(obj)
        out["apiVersion"] = self.group_version
        return out


def history_doc(api: ObjectAPI, parts: list[str]) -> Object:
    """``runs``, ``runs/ID/snapshot`` or ``inventory`` (the parts after ``/choreo/v1``) of ``api``'s store."""
    records = api.records
    if parts == ["inventory"]:
        with api.transaction():  # one consistent moment across kinds
            return items_doc(current_inventory(api))
    if parts == ["runs"]:
        runs = runs_newest_first(records)
        return {"items": [{"record": run.to_json(), "snapshot": has_snapshot(records, run.id)} for run in runs]}
    if len(parts) == 3 and parts[0] == "runs" and parts[2] == "snapshot":
        items = load_snapshot(records, parts[1])
        if items is None:
            raise NotFound(f'run "{parts[1]}" has no snapshot')
        return items_doc(items)
    raise _NotFoundPath()


class _NotFoundPath(NotFound):
    def __init__(self) -> None:
        super().__init__("the server could not find the requested resource")


# ---------------------------------------------------------------- request bodies


def body_length(headers: Message, limit: int) -> int | None:
    """The declared length of the request body, or None when it comes chunked.

    Refuses (400) framing a client only sends by mistake or to smuggle a second request past a proxy (a
    non-numeric, negative or repeated Content-Length, an unknown transfer coding, both headers at once),
    and (413) a declared length over ``limit`` before a byte of the body is read.
    """
    codings = [c.strip().lower() for value in headers.get_all("Transfer-Encoding", []) for c in value.split(",")]
    lengths = {value.strip() for value in headers.get_all("Content-Length", [])}
    if codings:
        if codings != ["chunked"]:
            raise BadRequest(f"unsupported Transfer-Encoding {', '.join(codings)!r}: only chunked is accepted")
        if lengths:
            raise BadRequest("a request may not carry both Transfer-Encoding and Content-Length")
        return None
    if len(lengths) > 1:
        raise BadRequest(f"conflicting Content-Length headers: {', '.join(sorted(lengths))}")
    text = lengths.pop() if lengths else "0"
    if not re.fullmatch(r"[0-9]+", text):
        raise BadRequest(f"Content-Length {text!r} is not a number of bytes")
    if len(text) > len(str(limit)) or int(text) > limit:
        raise too_large(limit)
    return int(text)


def _has_body(headers: Message) -> bool:
    return "Transfer-Encoding" in headers or headers.get("Content-Length", "0").strip() not in ("", "0")


def too_large(limit: int) -> RequestEntityTooLarge:
    return RequestEntityTooLarge(f"the request body is larger than the limit of {limit} bytes (--max-body-bytes)")


def too_deep(limit: int) -> BadRequest:
    return BadRequest(f"the request body nests deeper than the limit of {limit} levels (--max-body-depth)")


def decode_body(raw: bytes, content_type: str, max_depth: int) -> Any:
    """The request body as JSON data, decoded by its media type, within ``max_depth`` levels of nesting.

    JSON and YAML only (kube-apiserver's protobuf is not spoken): anything else is refused (415) rather
    than guessed at, so a body is never read in a format its sender did not mean.
    """
    if content_type not in JSON_TYPES | YAML_TYPES:
        accepted = ", ".join(sorted(JSON_TYPES | YAML_TYPES))
        raise UnsupportedMediaType(
            f"the body of the request was in an unknown format {content_type!r}: accepted media types are {accepted}"
        )
    if not raw.strip():
        raise BadRequest("the request body is empty")
    text = raw.decode("utf-8", errors="replace")
    value = _load_json(text, max_depth) if content_type in JSON_TYPES else _load_yaml(text, max_depth)
    _check_tree(value, max_depth)
    if content_type in YAML_TYPES or _SURROGATE_ESCAPE.search(text):
        value = _without_lone_surrogates(value, yaml=content_type in YAML_TYPES)
    return value


# A \ud800-style escape can only stand for half of a UTF-16 pair; alone it decodes to a code point no UTF-8
# text can hold. kube-apiserver's JSON decoder puts U+FFFD in its place, and so does choreo; its YAML decoder
# refuses any such escape (YAML has no pairs: each escape is a whole code point), and so does choreo.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_lone_surrogates(value: Any, *, yaml: bool) -> Any:
    """``value`` with every lone surrogate in its strings (keys included) replaced by U+FFFD, or, in a YAML
    body, refused. The depth was checked before (``_check_tree``), so recursing is safe."""
    if isinstance(value, str):
        if yaml and _LONE_SURROGATE.search(value):
            raise BadRequest("the request body is not valid YAML: found invalid Unicode character escape code")
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_lone_surrogates(item, yaml=yaml) for item in value]
    if isinstance(value, dict):
        return {
            _without_lone_surrogates(key, yaml=yaml): _without_lone_surrogates(item, yaml=yaml)
            for key, item in value.items()
        }
    return value


def _load_json(text: str, max_depth: int) -> Any:
    try:
        return json.loads(text)
    except RecursionError:  # the C decoder stops cleanly at the interpreter's recursion limit
        raise too_deep(max_depth) from None
    except ValueError as exc:  # not JSON, or an integer too long to convert
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None


_YAML_STRING_TAGS = frozenset({"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value"})
_YAML_ONLY_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in ("binary", "omap", "pairs", "set", "timestamp"))


class _BodyLoader(yaml.SafeLoader):
    """YAML for request bodies: JSON's data model, bounded.

    PyYAML's composer recurses once per nesting level, so the depth is checked as nodes are composed;
    aliases are refused because a few of them expand into billions of nodes; timestamps and ``=`` stay
    strings, as in kube-apiserver, and the YAML-only types (binary, set, omap, pairs, timestamp) have no
    constructor, so a body decodes to what JSON can carry or is refused.
    """

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in _YAML_STRING_TAGS]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    yaml_constructors = {
        tag: construct for tag, construct in yaml.SafeLoader.yaml_constructors.items() if tag not in _YAML_ONLY_TAGS
    }

    def __init__(self, text: str, max_depth: int) -> None:
        super().__init__(text)
        self.max_depth = max_depth
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise BadRequest("the request body uses a YAML alias (*name): aliases are not accepted")
        nested = int(self.check_event(yaml.CollectionStartEvent))
        self.depth += nested
        try:
            if self.depth > self.max_depth:
                raise too_deep(self.max_depth)
            return super().compose_node(parent, index)
        finally:
            self.depth -= nested


def _load_yaml(text: str, max_depth: int) -> Any:
    loader = _BodyLoader(text, max_depth)
    try:
        return loader.get_single_data()
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: an explicit !!int that is not one
        raise BadRequest(f"the request body is not valid YAML: {str(exc).splitlines()[0]}") from None
    finally:
        loader.dispose()


def _check_tree(value: Any, max_depth: int) -> None:
    """Refuse decoded data the store cannot keep: nesting deeper than ``max_depth``, non-string keys,
    integers beyond 64 bits. Iterative, so that checking a deep body does not itself recurse."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        children = _children(item)
        if children is None:
            _check_scalar(item)
            continue
        if depth >= max_depth:
            raise too_deep(max_depth)
        pending.extend((child, depth + 1) for child in children)


def _children(item: Any) -> list[Any] | None:
    """The values inside a mapping or a list (None for a scalar); mapping keys must be strings."""
    if isinstance(item, list):
        return item
    if not isinstance(item, dict):
        return None
    bad = next((key for key in item if not isinstance(key, str)), None)
    if bad is not None:
        raise BadRequest(f"the request body has a mapping key that is not a string: {bad!r}")
    return list(item.values())


def _check_scalar(item: Any) -> None:
    if isinstance(item, int) and abs(item) > MAX_INT64:
        raise BadRequest("the request body has an integer beyond 64 bits")


def _with_status_of(obj: Object, source: Object) -> Object:
    """A copy of ``obj`` whose status is ``source``'s (none when ``source`` has none)."""
    out = copy.deepcopy(obj)
    if "status" in source:
        out["status"] = copy.deepcopy(source["status"])
    else:
        out.pop("status", None)
    return out


def _flag(query: dict[str, str], name: str) -> bool:
    return query.get(name, "").lower() in ("1", "true", "yes")


class APIHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.0"  # not 0.9 (Go does not speak it either): every answer has a status line
    timeout = 300
    server: APIHTTPServer
    _code = 0  # the status sent so far (0: no response started)
    _body_pending = False  # a request body is still unread on the connection
    _raw = b""  # the request body

    # ---------------------------------------------------------------- plumbing

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are logged as JSON lines by ``_serve``; silence the stdlib's text log."""

    @property
    def context(self) -> ServerContext:
        return self.server.context

    def parse_request(self) -> bool:
        """Start each request of a keep-alive connection with fresh state, then parse its line and headers."""
        self._code, self._body_pending, self._raw = 0, False, b""
        return super().parse_request()

    def _serve(self) -> None:
        started = time.monotonic()
        self._body_pending = _has_body(self.headers)
        try:
            parts, query = self._target_of_request()
            self._authorize(parts)
            self._raw = self._read_body()
            self._route(parts, query)
        except ChoreoError as exc:
            self._fail(exc)
        except (ConnectionError, TimeoutError):  # the client hung up or stalled: nobody to answer
            self.close_connection = True
        except Exception as exc:  # a bug in choreo: never let a request kill the server
            self.context.log(
                "internal-error", level="error", path=self.path, error=repr(exc), trace=traceback.format_exc()
            )
            self._fail(ChoreoError(f"internal error: {exc!r}"))
        finally:
            self.context.log(
                "request",
                level="debug",
                method=self.command,
                path=self.path,
                code=self._code,
                ms=round((time.monotonic() - started) * 1000, 1),
            )

    def _target_of_request(self) -> tuple[list[str], dict[str, str]]:
        """The path segments and query parameters of the request line."""
        try:
            url = urlsplit(self.path)
        except ValueError as exc:  # e.g. an absolute URL with a broken [IPv6] host
            raise BadRequest(f"the request target {self.path!r} is not a valid URL: {exc}") from None
        if re.search(r"%(?![0-9a-fA-F]{2})", url.path):
            raise BadRequest(f"the request target {self.path!r} is not a valid URL: a % not followed by two hex digits")
        # the path is decoded before it is split, as Go's net/http gives it to kube-apiserver
        return [p for p in unquote(url.path).split("/") if p], dict(parse_qsl(url.query, keep_blank_values=True))

    def _fail(self, exc: ChoreoError) -> None:
        """Answer with ``exc``'s Status; a response already under way (a watch) is cut off instead, since a
        second one would corrupt it, and a connection whose body is unread is closed after the answer."""
        if self._code:
            self.close_connection = True
            return
        if self._body_pending:
            self.close_connection = True
        headers = [("Retry-After", str(exc.retry_after))] if isinstance(exc, TooManyRequests) else []
        self._safe_send(exc.code if exc.code in _REASONS else 500, error_status(exc), headers)
        if self._body_pending:
            self._close_unread()

    def _close_unread(self) -> None:
        """Half-close, then discard what the client still sends for a moment before the socket closes.

        Closing a socket with unread input makes the kernel reset the connection, which can destroy our
        answer (a 413, say) before the client has read it; Go's net/http lingers the same way.
        """
        deadline = time.monotonic() + LINGER_SECONDS
        try:
            self.connection.shutdown(socket.SHUT_WR)
            while (left := deadline - time.monotonic()) > 0:
                self.connection.settimeout(left)
                if not self.connection.recv(65536):
                    return
        except OSError:
            pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's own refusals (a malformed request line or header, one too long, too many headers,
        an unknown method) as a Status like every other answer; an unknown method is 405, as in
        kube-apiserver, not the stdlib's 501."""
        status = HTTPStatus.METHOD_NOT_ALLOWED if code == HTTPStatus.NOT_IMPLEMENTED else HTTPStatus(code)
        self.close_connection = True
        self._safe_send(status.value, status_doc(status.value, message or status.phrase))
        self._close_unread()  # the rest of the request was not read

    def handle_expect_100(self) -> bool:
        """Refuse a badly framed or oversized body before the client sends it (``Expect: 100-continue``)."""
        try:
            body_length(self.headers, self.server.limits.max_body_bytes)
        except ChoreoError as exc:
            self.close_connection = True
            self._fail(exc)
            return False
        return super().handle_expect_100()

    def _safe_send(self, code: int, doc: Object, headers: list[tuple[str, str]] | None = None) -> None:
        try:
            self._send_json(code, doc, headers)
        except OSError:
            self.close_connection = True

    def _read_body(self) -> bytes:
        """The whole request body, within the size limit; the one place a body is read.

        The limit is enforced on the declared size, before reading, whether the body comes with a
        Content-Length or in chunks, so an oversized upload costs the server nothing.
        """
        limit = self.server.limits.max_body_bytes
        length = body_length(self.headers, limit)
        data = self._read_chunked(limit) if length is None else self._read_exactly(length)
        self._body_pending = False
        return data

    def _read_exactly(self, length: int) -> bytes:
        data = self.rfile.read(length) if length else b""
        if len(data) < length:
            raise BadRequest(f"the request body ended after {len(data)} of {length} bytes")
        return data

    def _read_chunked(self, limit: int) -> bytes:
        """A chunked body (RFC 9112 §7.1), strictly: anything off the grammar is a 400, not a guess."""
        data = bytearray()
        while size := self._chunk_size():
            if len(data) + size > limit:
                raise too_large(limit)
            data += self._read_exactly(size)
            if self.rfile.read(2) != b"\r\n":
                raise BadRequest("bad chunked encoding: a chunk is not followed by CRLF")
        try:
            http.client.parse_headers(self.rfile)  # the trailer section, bounded like the headers
        except http.client.HTTPException as exc:
            raise BadRequest(f"bad chunked encoding: bad trailer section ({exc})") from None
        return bytes(data)

    def _chunk_size(self) -> int:
        line = self.rfile.readline(MAX_CHUNK_LINE + 1)
        if not line.endswith(b"\n"):
            raise BadRequest("bad chunked encoding: the chunk size line is too long or the body ended")
        text = line.split(b";", 1)[0].strip()
        if not re.fullmatch(rb"[0-9a-fA-F]{1,16}", text):
            raise BadRequest(f"bad chunked encoding: invalid chunk size {text.decode('latin-1')!r}")
        return int(text, 16)

    def _authorize(self, parts: list[str]) -> None:
        token = self.context.token
        if not token or (len(parts) == 1 and parts[0] in HEALTH_PATHS):
            return
        scheme, _, given = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise Unauthorized("Unauthorized: this server requires a valid bearer token (Authorization: Bearer ...)")

    def _send_json(self, code: int, doc: Any, headers: list[tuple[str, str]] | None = None) -> None:
        self._send_bytes(code, json.dumps(doc, separators=(",", ":")).encode(), "application/json", headers)

    def _send_text(self, code: int, text: str) -> None:
        self._send_bytes(code, text.encode(), "text/plain; charset=utf-8")

    def _send_bytes(
        self, code: int, data: bytes, content_type: str, headers: list[tuple[str, str]] | None = None
    ) -> None:
        self._code = code
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers or []:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    @property
    def _content_type(self) -> str:
        return self.headers.get("Content-Type", "application/json").split(";")[0].strip().lower()

    def _body(self) -> Any:
        """The decoded request body, in the format its Content-Type names, within the nesting limit."""
        return decode_body(self._raw, self._content_type, self.server.limits.max_body_depth)

    def _object_body(self) -> Object:
        body = self._body()
        if not isinstance(body, dict):
            raise BadRequest(f"the request body must be an object, got {type(body).__name__}")
        return body

    # ---------------------------------------------------------------- routing

    def _route(self, parts: list[str], query: dict[str, str]) -> None:
        if len(parts) == 1 and parts[0] in HEALTH_PATHS:
            self._health(parts[0])
            return
        if parts[:2] == ["choreo", "v1"] and parts[2:3] in (["runs"], ["inventory"]):
            self._only_get()
            self._send_json(200, history_doc(self.context.current_api(), parts[2:]))
            return
        if parts[:2] == ["choreo", "v1"]:
            body = self._body() if self._raw.strip() else None
            code, doc = self.context.control(self.command, parts[2:], body)
            self._send_json(code, doc)
            return
        if parts == ["version"]:
            self._send_json(200, discovery.version_info())
            return
        if not parts:
            paths = ["/api", "/apis", "/healthz", "/openapi/v2", "/openapi/v3", "/readyz", "/version"]
            self._send_json(200, {"paths": paths})
            return
        api = self.context.current_api()
        if parts[0] == "openapi":
            self._openapi(api, parts[1:])
        elif parts[0] == "api":
            self._core(api, parts[1:], query)
        elif parts[0] == "apis":
            self._apis(api, parts[1:], query)
        else:
            raise _NotFoundPath()

    def _only_get(self) -> None:
        if self.command != "GET":
            raise MethodNotAllowed(f"the server does not allow this method on the requested resource: {self.command}")

    def _health(self, which: str) -> None:
        unloaded = self.context.unloaded() if which == "readyz" else None
        if unloaded is not None:
            self._send_text(503, f"not ready: {unloaded}\n")
        else:
            self._send_text(200, "ok")

    def _openapi(self, api: ObjectAPI, parts: list[str]) -> None:
        self._only_get()
        if parts == ["v2"]:
            v2 = openapi_docs.openapi_v2(api.registry)
            if OPENAPI_V2_PROTOBUF in self.headers.get("Accept", ""):
                # what kube-apiserver answers too: Go's mime parser rejects the "@" of the requested type
                self._send_bytes(200, gnostic.encode_document(v2), "application/octet-stream")
            else:
                self._send_json(200, v2)
            return
        if parts == ["v3"]:
            self._send_json(200, openapi_docs.openapi_v3_index(api.registry))
            return
        if parts[:2] in (["v3", "apis"], ["v3", "api"]) and len(parts) == (4 if parts[1] == "apis" else 3):
            group, version = (parts[2], parts[3]) if parts[1] == "apis" else ("", parts[2])
            doc = openapi_docs.openapi_v3(api.registry, group, version)
            if doc is not None:
                self._send_json(200, doc)
                return
        raise _NotFoundPath()

    def _core(self, api: ObjectAPI, parts: list[str], query: dict[str, str]) -> None:
        if not parts:
            self._only_get()
            self._send_json(200, discovery.api_versions())
        elif parts == ["v1"]:
            self._only_get()
            self._send_json(200, discovery.api_resource_list(api.registry, "", "v1"))
        else:
            Resource(self, api, self._target(api, "", parts[0], parts[1:]), query).serve()

    def _apis(self, api: ObjectAPI, parts: list[str], query: dict[str, str]) -> None:
        if len(parts) <= 2:
            self._only_get()
            doc: Object | None
            if not parts:
                doc = discovery.api_group_list(api.registry)
            elif len(parts) == 1:
                doc = discovery.api_group(api.registry, parts[0])
            else:
                doc = discovery.api_resource_list(api.registry, parts[0], parts[1])
            if doc is None:
                raise _NotFoundPath()
            self._send_json(200, doc)
            return
        if parts[:2] == ["authorization.k8s.io", "v1"] and len(parts) == 3 and parts[2] in ACCESS_REVIEWS:
            self._access_review(api, parts[2])
            return
        target = self._target(api, parts[0], parts[1], parts[2:])
        Resource(self, api, target, query).serve()

    def _access_review(self, api: ObjectAPI, plural: str) -> None:
        """``kubectl auth can-i``: the server has no per-user permissions (a caller with the token may do
        everything), so every review is allowed, but a write to an object the project folder owns (which
        ``check_write`` refuses) is not. ``--list`` (a rules review) gets one rule allowing everything."""
        if self.command != "POST":
            raise MethodNotAllowed(f"{self.command} is not allowed on {self.path}")
        review = self._body()
        if not isinstance(review, dict):
            raise BadRequest("the review must be an object")
        kind = ACCESS_REVIEWS[plural]
        answer: Object = {"apiVersion": "authorization.k8s.io/v1", "kind": kind, "metadata": {},
                          "spec": review.get("spec") or {}}
        if kind == "SelfSubjectRulesReview":
            answer["status"] = {
                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                "incomplete": False,
            }
            self._send_json(201, answer)
            return
        attributes = answer["spec"].get("resourceAttributes") or {}
        status: Object = {"allowed": True}
        if attributes.get("verb") in ("update", "patch", "delete") and attributes.get("name"):
            resource = next(
                (r for r in api.registry.resources()
                 if r.group == attributes.get("group", "") and r.plural == attributes.get("resource")), None)
            if resource is not None:
                try:
                    self.context.check_write(resource.group, resource.kind,
                                             str(attributes.get("namespace") or ""), str(attributes["name"]))
                except ChoreoError as refused:
                    status = {"allowed": False, "denied": True, "reason": str(refused)}
        answer["status"] = status
        self._send_json(201, answer)

    def _target(self, api: ObjectAPI, group: str, version: str, rest: list[str]) -> Target:
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise _NotFoundPath()
        plural, name, sub = rest[0], (rest[1] if len(rest) > 1 else None), (rest[2] if len(rest) > 2 else None)
        resource = next((r for r in discovery.served(api.registry, group, version) if r.plural == plural), None)
        if resource is None:  # while the folder does not load, the kind may be one of the folder's
            raise self.context.unloaded() or NotFound(
                f"the server could not find the requested resource: no {plural} in {group}/{version}")
        if sub is not None and (sub != "status" or not resource.status_subresource):
            raise NotFound(f"the server could not find the requested resource: {plural}/{sub}")
        if namespace is not None and not resource.namespaced:
            raise NotFound(f"the server could not find the requested resource: {plural} is not namespaced")
        if name is not None and resource.namespaced and namespace is None:
            raise NotFound(f"the server could not find the requested resource: {plural} needs a namespace")
        return Target(resource, version, namespace, name, sub)


class Resource:
    """One request on a resource path."""

    def __init__(self, handler: APIHandler, api: ObjectAPI, target: Target, query: dict[str, str]) -> None:
        self.h = handler
        self.api = api
        self.t = target
        self.r = target.resource
        self.query = query
        self.warnings: list[str] = []  # sent as Warning headers with the answer

    def serve(self) -> None:
        method = self.h.command
        item = self.t.name is not None
        actions: dict[tuple[str, bool], Callable[[], None]] = {
            ("GET", False): self._list_or_watch,
            ("POST", False): self._create,
            ("DELETE", False): self._delete_collection,
            ("GET", True): self._get,
            ("PUT", True): self._update,
            ("PATCH", True): self._patch,
            ("DELETE", True): self._delete,
        }
        action = actions.get((method, item))
        if action is None or (self.t.subresource and method in ("DELETE", "POST")):
            raise MethodNotAllowed(f"{method} is not allowed on {self.h.path}")
        if method != "GET":
            _ = self._dry_run  # a bad dryRun value is refused before the body is looked at
        try:
            with self.api.ratcheting():  # a client's update is refused only for what it changes
                action()
        except NotFound:
            if not item:
                raise
            raise ObjectNotFound(self.r, self.t.name or "") from None

    # ---------------------------------------------------------------- helpers

    @property
    def _namespace(self) -> str:
        return self.t.namespace or ""

    @property
    def _manager(self) -> str:
        manager = self.query.get("fieldManager", "")
        if manager:
            return manager
        agent = self.h.headers.get("User-Agent", "") or "unknown"
        return agent.split("/")[0][:128]

    @property
    def _dry_run(self) -> bool:
        """``dryRun=All``: the API checks the write in full and keeps nothing (any other value is refused)."""
        given = self.query.get("dryRun")
        if given not in (None, "All"):
            raise BadRequest(f"unsupported dryRun value {given!r}: only All is supported")
        return given == "All"

    def _check_write(self, namespace: str, name: str, *, delete: bool = False) -> None:
        """A real write (or ``delete``) to the main resource of an object must be one the server context allows
        (a dry run changes nothing, so it is always checked in full); checked once the request itself is valid."""
        if not self._dry_run and not self.t.subresource:
            check = self.h.context.check_delete if delete else self.h.context.check_write
            check(self.r.group, self.r.kind, namespace, name)

    def _selectors(self) -> Predicate:
        labels = label_selector(self.query.get("labelSelector"))
        fields = field_selector(self.query.get("fieldSelector"), self.r.schema_for(self.t.version))
        return lambda obj: labels(obj) and fields(obj)

    def _check_identity(self, obj: Object) -> None:
        """The body must be of this kind and version and name the object of the URL.

        A core kind's body may leave out apiVersion and kind (typed clients do): kube-apiserver takes them
        from the URL there, and so does this server."""
        if not self.r.group:
            obj["apiVersion"] = obj.get("apiVersion") or self.t.group_version
            obj["kind"] = obj.get("kind") or self.r.kind
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not api_version or not kind:
            raise BadRequest("the object has no apiVersion or kind")
        if kind != self.r.kind:
            raise BadRequest(f"the kind in the data ({kind}) does not match the expected kind ({self.r.kind})")
        if api_version != self.t.group_version:
            raise BadRequest(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({self.t.group_version})"
            )
        md = obj.get("metadata")
        if md is None:
            md = obj["metadata"] = {}
        if not isinstance(md, dict):
            raise BadRequest("metadata must be an object")
        if self.r.namespaced:
            given = md.get("namespace")
            if given and self.t.namespace and given != self.t.namespace:
                raise BadRequest(
                    f"the namespace of the provided object ({given}) does not match the namespace sent on the "
                    f"request ({self.t.namespace})"
                )
            if self.t.namespace:
                md["namespace"] = self.t.namespace
        else:
            md.pop("namespace", None)
        if self.t.name is not None:
            if md.get("name") and md["name"] != self.t.name:
                raise BadRequest(
                    f"the name of the object ({md['name']}) does not match the name on the URL ({self.t.name})"
                )
            md["name"] = self.t.name

    def _check_uid(self, current: Object, new: Object) -> None:
        """An update may not change the object's uid (kube-apiserver: immutable); it was dropped, silently."""
        given = (new.get("metadata") or {}).get("uid")
        if given and given != current["metadata"].get("uid"):
            raise self._invalid("metadata.uid", f'Invalid value: "{given}": field is immutable')

    def _invalid(self, field: str, message: str) -> Invalid:
        """The 422 of one field of the object the request names, with the causes kubectl prints."""
        return Invalid(
            f'{self.r.kind_name} "{self.t.name}" is invalid: {field}: {message}',
            causes=[(field, message)],
            target=(self.r.group, self.r.kind, self.t.name or ""),
        )

    def _current(self) -> Object:
        return self.api.get(self.r.group, self.r.kind, self._namespace, self.t.name or "")

    def _send(self, code: int, obj: Object) -> None:
        warnings = [("Warning", f'299 - {json.dumps(text)}') for text in self.warnings]
        self.h._send_json(code, self.t.present(obj), warnings)

    def _field_validation(self, obj: Object) -> None:
        """kube-apiserver's ``fieldValidation``: ``Strict`` refuses the fields the kind does not declare (the
        API server does, below), ``Ignore`` and ``Warn`` (kube-apiserver's default, when a client sends none)
        drop them, ``Warn`` saying so in a Warning header. kubectl sends Strict, and so does choreo."""
        mode = self.query.get("fieldValidation", "Warn")
        if mode not in FIELD_VALIDATION:
            raise BadRequest(f'fieldValidation "{mode}" is not one of "Ignore", "Warn" or "Strict"')
        if mode == "Strict":
            return
        dropped = prune_undeclared(self.r.schema, obj)
        md = obj.get("metadata")
        if isinstance(md, dict):
            for key in [k for k in md if k not in OBJECT_META_FIELDS]:
                del md[key]
                dropped.append(f".metadata.{key}")
        if mode == "Warn":
            self.warnings.extend(f'unknown field "{path.removeprefix(".")}"' for path in sorted(dropped))

    # ---------------------------------------------------------------- reads

    def _get(self) -> None:
        wanted = tables.negotiate(self.h.headers.get("Accept", ""))
        obj = self._current()
        if wanted == tables.TABLE:
            self.h._send_json(200, self._table([obj], obj["metadata"].get("resourceVersion", "")))
        elif wanted == tables.PARTIAL:
            self.h._send_json(200, tables.partial(obj))
        elif wanted == tables.YAML:
            self.h._send_bytes(200, yaml_text(self.t.present(obj)).encode(), "application/yaml")
        else:
            self._send(200, obj)

    def _snapshot(self) -> tuple[int, list[Object]]:
        """The current revision and the matching objects, read atomically."""
        match = self._selectors()
        with self.api.transaction():
            revision = self.api.events.current_revision()
            items = self.api.list(self.r.group, self.r.kind, self.t.namespace)
        return revision, [o for o in items if match(o)]

    def _table(self, objects: list[Object], revision: str, continue_token: str = "") -> Object:
        include = self.query.get("includeObject", "Metadata")
        columns = tables.columns_for(self.api, self.r, self.t.version)
        shown = [self.t.present(o) for o in objects]
        return tables.table(shown, columns, revision, include_object=include, continue_token=continue_token)

    def _list_version(self) -> tuple[int, bool] | None:
        """The resourceVersion a list asks for and whether exactly (``resourceVersionMatch``), checked as
        kube-apiserver checks them; None for the latest state (no version, or ``0``: any state will do)."""
        given, match = self.query.get("resourceVersion", ""), self.query.get("resourceVersionMatch")
        if match is not None:
            if match not in ("Exact", "NotOlderThan"):
                raise Invalid(f'resourceVersionMatch: Unsupported value: "{match}": supported values: "Exact", '
                              '"NotOlderThan"')
            if not given:
                raise Invalid("resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless "
                              "resourceVersion is provided")
            if match == "Exact" and given == "0":
                raise Invalid('resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for '
                              'resourceVersion "0"')
        revision = _query_revision(self.query)
        if given and self.query.get("continue"):
            raise BadRequest("specifying resource version is not allowed when using continue")
        return None if revision is None else (revision, match == "Exact")

    def _wait_for_version(self, revision: int | None) -> None:
        """A list at a resourceVersion the store has not reached waits for it (3 s, then 504, as
        kube-apiserver). (An Exact one at an older version is 410 in ``_page``: only the latest state is kept.)"""
        if revision is None:
            return
        current = self.api.events.current_revision()
        deadline = time.monotonic() + LIST_VERSION_WAIT
        while current < revision and time.monotonic() < deadline:
            self.api.events.wait_for_change(current, max(deadline - time.monotonic(), 0.0))
            current = self.api.events.current_revision()
        if current < revision:
            raise Timeout(f"Too large resource version: {revision}, current: {current}")

    def _page(self) -> Page:
        """The objects a list asks for: selected, and paged by ``limit`` and ``continue`` (see ``query``)."""
        wanted = self._list_version()
        self._wait_for_version(None if wanted is None else wanted[0])
        limit = parse_limit(self.query.get("limit"))
        key = f"{self.r.group}/{self.r.plural}"
        start = parse_continue(self.query["continue"], key) if self.query.get("continue") else None
        match, snapshots = self._selectors(), self.h.server.snapshots
        scope = json.dumps([self.t.group_version, self.r.kind, self.t.namespace, *map(self.query.get, _SELECTORS)])
        kept = snapshots.get(start.snapshot, scope) if start is not None else None
        if start is not None and kept is not None:
            return page(kept, start.revision, limit, start, start.snapshot, key)
        with self.api.transaction():
            revision = self.api.events.current_revision()
            if start is not None:
                self._check_consistent(start, revision)
            if wanted is not None and wanted[1] and revision != wanted[0]:
                raise Gone(f"too old resource version: {wanted[0]} ({revision})")
            items = self.api.list(self.r.group, self.r.kind, self.t.namespace)
        selected = sorted((o for o in items if match(o)), key=position)
        snapshot = snapshots.keep(scope, selected) if limit and len(selected) > limit else ""
        return page(selected, revision if start is None else start.revision, limit, start, snapshot, key)

    def _check_consistent(self, start: Continue, revision: int) -> None:
        """A next page is consistent with the first while no object of the kind changed since it was read."""
        try:
            changed = bool(self.api.events.events_since(start.revision, self.r.group, self.r.kind))
        except Gone:
            changed = True  # the store no longer knows: assume the worst
        if start.revision > revision or changed:
            raise start.expired(revision)

    def _list_or_watch(self) -> None:
        if _flag(self.query, "watch"):
            Watch(self).run()
            return
        wanted = tables.negotiate(self.h.headers.get("Accept", ""))
        listed = self._page()
        token = listed.next.token() if listed.next else ""
        if wanted == tables.TABLE:
            self.h._send_json(200, self._table(listed.items, str(listed.revision), token))
            return
        metadata: Object = {"resourceVersion": str(listed.revision)}
        if token:
            metadata["continue"] = token
            if not any(self.query.get(selector) for selector in _SELECTORS):
                metadata["remainingItemCount"] = listed.remaining
        if wanted == tables.PARTIAL:
            self.h._send_json(200, tables.partial_list(listed.items, metadata))
            return
        if wanted == tables.YAML:
            self.h._send_bytes(200, yaml_text(self._list_doc(listed.items, metadata)).encode(), "application/yaml")
            return
        self._send_list(listed.items, metadata)

    def _send_list(self, items: list[Object], metadata: Object) -> None:
        self.h._send_json(200, self._list_doc(items, metadata))

    def _list_doc(self, items: list[Object], metadata: Object) -> Object:
        return {
            "apiVersion": self.t.group_version,
            "kind": self.r.list_kind,
            "metadata": metadata,
            "items": [self.t.present(o) for o in items],
        }

    # ---------------------------------------------------------------- writes

    def _create(self) -> None:
        obj = self.h._object_body()
        self._check_identity(obj)
        self._field_validation(obj)
        md = obj["metadata"]
        if not md.get("name") and md.get("generateName"):
            md["name"] = f"{md['generateName']}{secrets.token_hex(3)[:5]}"
        if self.r.status_subresource:
            obj.pop("status", None)
        if not self._dry_run:
            self.h.context.check_create(self.r.group, self.r.kind, self._namespace, str(md.get("name") or ""))
        try:
            with self.api.transaction():
                created = self._within_size(self.api.create(obj, manager=self._manager, dry_run=self._dry_run))
        except AlreadyExists:
            raise ObjectExists(self.r, str(md.get("name", ""))) from None
        self._send(201, created)

    def _within_size(self, stored: Object) -> Object:
        """``stored`` (the object a write leaves; called inside the write's transaction, which the error undoes),
        or 413 when it is over ``Limits.max_object_bytes`` as compact JSON: kube-apiserver answers so when etcd
        refuses an object over 1.5 MiB, and no reconcile could write it back (``CHOREO_OUTPUT_LIMIT``)."""
        limit = self.h.server.limits.max_object_bytes
        size = json_size_over(stored, limit)
        if size > limit:
            md = stored.get("metadata") or {}
            where = "/".join(str(p) for p in (md.get("namespace"), md.get("name")) if p)
            raise RequestEntityTooLarge(
                f'{self.r.kind_name} "{where}" would be {format_size(size)} as JSON, over the largest object '
                f"stored, {format_size(limit)} (what etcd stores for a Kubernetes API server; CHOREO_OUTPUT_LIMIT)"
            )
        return stored

    def _update(self) -> None:
        obj = self.h._object_body()
        self._check_identity(obj)
        if not (obj.get("metadata") or {}).get("resourceVersion") and self.r.group not in UNCONDITIONAL_UPDATE_GROUPS:
            # kube-apiserver lets only some built-in kinds be replaced blind; a custom resource's replace must
            # name the version it replaces, so a concurrent change is never silently overwritten
            raise self._invalid("metadata.resourceVersion", "Invalid value: 0x0: must be specified for an update")
        self._check_write(self._namespace, self.t.name or "")
        self._field_validation(obj)
        with self.api.transaction():
            current = self._current()
            self._check_uid(current, obj)
            new = self._with_subresource_rules(current, obj)
            updated = self._within_size(self.api.update(new, manager=self._manager, dry_run=self._dry_run))
        self._send(200, updated)

    def _with_subresource_rules(self, old: Object, new: Object) -> Object:
        """The status subresource only changes status; the main resource never does (when it exists)."""
        if self.t.subresource == "status":
            out = _with_status_of(old, new)
            rv = (new.get("metadata") or {}).get("resourceVersion")
            if rv:
                out["metadata"]["resourceVersion"] = rv
            return out
        if self.r.status_subresource:
            return _with_status_of(new, old)
        return new

    def _patch(self) -> None:
        kind = self.h._content_type
        if kind == APPLY_PATCH:
            code, obj = self._apply()
        elif kind in (MERGE_PATCH, JSON_PATCH) or (kind == STRATEGIC_PATCH and not self.r.group):
            code, obj = 200, self._merge_or_json(kind)
        elif kind == STRATEGIC_PATCH:
            raise UnsupportedMediaType(
                "strategic merge patch is not supported for custom resources: use application/merge-patch+json, "
                "application/json-patch+json or application/apply-patch+yaml"
            )
        else:
            raise UnsupportedMediaType(f"the patch content type {kind!r} is not supported")
        self._send(code, obj)

    def _apply(self) -> tuple[int, Object]:
        obj = self.h._object_body()
        self._check_identity(obj)
        manager = self.query.get("fieldManager", "")
        if not manager:
            raise BadRequest("PATCH with application/apply-patch+yaml requires the fieldManager query parameter")
        self._check_write(self._namespace, self.t.name or "")
        self._field_validation(obj)
        force, dry_run = _flag(self.query, "force"), self._dry_run
        with self.api.transaction():
            current = self.api.try_get(self.r.group, self.r.kind, self._namespace, self.t.name or "")
            existed = current is not None
            expected = (obj.get("metadata") or {}).get("resourceVersion")
            if expected and current is not None and expected != current["metadata"].get("resourceVersion"):
                # a resourceVersion in an applied configuration is a precondition, as in kube-apiserver
                raise Conflict(stale_message(self.r, self.t.name or ""))
            if self.t.subresource == "status":
                return 200, self._within_size(self.api.apply_status(obj, manager=manager, force=force, dry_run=dry_run))
            if self.r.status_subresource:
                obj.pop("status", None)
            applied = self.api.apply(obj, manager=manager, force=force, dry_run=dry_run)
            return (200 if existed else 201), self._within_size(applied)

    def _merge_or_json(self, kind: str) -> Object:
        patch = self.h._body()
        with self.api.transaction():
            old = self._current()
            shown = self.t.present(old)
            patched = PATCHES[kind](shown, patch)
            if not isinstance(patched, dict):
                raise BadRequest("the patched object is not an object")
            md = patched.get("metadata")
            name = md.get("name") if isinstance(md, dict) else None
            if name != self.t.name:  # a patch that drops the name (``{"metadata": null}``) too, as kube-apiserver
                raise BadRequest(
                    f"the name of the object ({name or ''}) does not match the name on the URL ({self.t.name})"
                )
            self._check_identity(patched)
            self._check_write(self._namespace, self.t.name or "")
            self._field_validation(patched)
            self._check_uid(old, patched)
            patched["apiVersion"] = old["apiVersion"]
            new = self._with_subresource_rules(old, patched)
            if not (new.get("metadata") or {}).get("resourceVersion"):
                new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            return self._within_size(self.api.update(new, manager=self._manager, dry_run=self._dry_run))

    def _delete(self) -> None:
        options = self._delete_options()
        name = self.t.name or ""
        # A dry run of a delete answers as the delete would (``choreo delete`` checks every object so before
        # it deletes any); a dry-run write is not refused, so that ``kubectl diff`` can show any object.
        self.h.context.check_delete(self.r.group, self.r.kind, self._namespace, name)
        if (self.r.group, self.r.kind) == ("", "Namespace") and name in UNDELETABLE_NAMESPACES:
            # it would take every object of the project that names no namespace along
            raise Forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted')
        gone = self._delete_one(self._namespace, name, options)
        if (self.r.group, self.r.kind) == CRD_KIND and not self._dry_run and not gone["metadata"].get(
            "deletionTimestamp"
        ):  # its objects went with it (``CRDRegistration.deleting``); its kind is served no more
            self.api.registry.remove(crd_group_kind(gone))
        self._send(200, gone)

    def _delete_options(self) -> DeleteOptions:
        """The DeleteOptions of the body and query: preconditions, propagation policy (its dryRun goes to
        the query).

        Their shape is checked: a precondition or policy that is not understood would otherwise be ignored,
        and the object (or its dependents) deleted although the client asked for a guard.
        """
        options = self.h._body() if self.h._raw.strip() else {}
        if not isinstance(options, dict):
            raise BadRequest("the delete options must be an object")
        preconditions = options.get("preconditions") or {}
        if not isinstance(preconditions, dict):
            raise BadRequest("the delete options' preconditions must be an object")
        for field in ("resourceVersion", "uid"):
            if preconditions.get(field) is not None and not isinstance(preconditions[field], str):
                raise BadRequest(f"the delete options' preconditions.{field} must be a string")
        if options.get("dryRun") == ["All"]:
            self.query["dryRun"] = "All"
        policy = self.query.get("propagationPolicy", options.get("propagationPolicy"))
        orphan_flag = self.query.get("orphanDependents", options.get("orphanDependents"))
        if policy is not None and policy not in PROPAGATION_POLICIES:
            supported = ", ".join(f'"{p}"' for p in PROPAGATION_POLICIES)
            raise Invalid(f'propagationPolicy: Unsupported value: "{policy}": supported values: {supported}')
        if orphan_flag is not None and policy is not None:
            raise Invalid(f"orphanDependents: Invalid value: {str(orphan_flag).lower()}: "
                          "orphanDependents and deletionPropagation cannot be both set")
        orphan = policy == "Orphan" or orphan_flag in (True, "true")
        return DeleteOptions(preconditions.get("resourceVersion"), preconditions.get("uid"), orphan)

    def _delete_collection(self) -> None:
        options = self._delete_options()
        _revision, items = self._snapshot()
        deleted: list[Object] = []
        with self.api.transaction():
            for obj in items:
                md = obj["metadata"]
                namespace = md.get("namespace", "")
                self._check_write(namespace, md["name"], delete=True)
                if self.api.try_get(self.r.group, self.r.kind, namespace, md["name"]) is not None:
                    deleted.append(self._delete_one(namespace, md["name"], options))
        self._send_list(deleted, {"resourceVersion": str(self.api.events.current_revision())})

    def _delete_one(self, namespace: str, name: str, options: DeleteOptions) -> Object:
        return self.api.delete(
            self.r.group,
            self.r.kind,
            namespace,
            name,
            expected_rv=options.resource_version,
            expected_uid=options.uid,
            orphan=options.orphan,
            dry_run=self._dry_run,
        )


PROPAGATION_POLICIES = ("Foreground", "Background", "Orphan")
UNDELETABLE_NAMESPACES = frozenset(("default", "kube-system", "kube-public"))
"""The namespaces kube-apiserver never deletes."""
ACCESS_REVIEWS = {
    "selfsubjectaccessreviews": "SelfSubjectAccessReview",
    "selfsubjectrulesreviews": "SelfSubjectRulesReview",
}
FIELD_VALIDATION = ("Ignore", "Warn", "Strict")
LIST_VERSION_WAIT = 3.0
"""Seconds a list at a resourceVersion not reached yet waits for it (kube-apiserver's 3 s)."""
CRD_KIND = ("apiextensions.k8s.io", "CustomResourceDefinition")
UNCONDITIONAL_UPDATE_GROUPS = frozenset(("", "events.k8s.io"))
"""The groups of the kinds a PUT may replace without a resourceVersion (Namespace, both Events), as in
kube-apiserver; every other kind served here is a custom resource or choreo's own, which may not."""


def _query_revision(query: dict[str, str]) -> int | None:
    """The ``resourceVersion`` a list or watch names; None for none or ``0`` (the latest state will do)."""
    given = query.get("resourceVersion", "")
    if given in ("", "0"):
        return None
    revision = int(given) if re.fullmatch(r"[0-9]{1,19}", given) else -1
    if not 0 <= revision <= MAX_INT64:
        raise BadRequest(f"resourceVersion {given!r} is not a valid resource version")
    return revision


@dataclass(frozen=True)
class DeleteOptions:
    """What a DELETE asks besides its target: preconditions and whether dependents are orphaned."""

    resource_version: str | None
    uid: str | None
    orphan: bool


class Watch:
    """A chunked stream of ``{"type", "object"}`` events for one kind, filtered like the list."""

    def __init__(self, resource: Resource) -> None:
        self.res = resource
        self.h = resource.h
        self.events = resource.api.events
        self.form = tables.negotiate(self.h.headers.get("Accept", ""))  # each event's object as a read's
        self.match = resource._selectors()
        self.visible: set[tuple[str, str]] = set()

    def _start_revision(self) -> int | None:
        """The revision to watch from; None: start with the current objects."""
        return _query_revision(self.res.query)

    def _timeout(self) -> float:
        given = self.res.query.get("timeoutSeconds", "")
        try:
            seconds = float(given) if given else DEFAULT_WATCH_SECONDS
        except ValueError:
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds >= 0):
            raise BadRequest(f"timeoutSeconds {given!r} is not a number of seconds")
        return seconds

    def _initial_events(self) -> bool | None:
        """``sendInitialEvents`` (None when not asked), checked as kube-apiserver checks it: it needs
        ``resourceVersionMatch=NotOlderThan`` and bookmarks, and that match is only for it."""
        given, match = self.res.query.get("sendInitialEvents"), self.res.query.get("resourceVersionMatch")
        if given is None:
            if match is not None:
                raise Invalid("resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless "
                              "sendInitialEvents is provided")
            return None
        if match != "NotOlderThan":
            raise Invalid("resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch "
                          "to NotOlderThan")
        if not _flag(self.res.query, "allowWatchBookmarks"):
            raise Invalid("allowWatchBookmarks: Forbidden: sendInitialEvents requires setting allowWatchBookmarks "
                          "to true")
        return _flag(self.res.query, "sendInitialEvents")

    def run(self) -> None:
        """Check the parameters, take a watch slot (or refuse, 429), then stream until the deadline.

        Without ``sendInitialEvents`` a watch from no version (or 0) starts with the current objects as
        ADDED, and one from a version with what changed since. With it, the objects at a version not older
        than the one given come first, then a BOOKMARK marked ``k8s.io/initial-events-end`` (what a client
        waits for before it trusts its cache); ``sendInitialEvents=false`` sends only what changes."""
        initial_events = self._initial_events()
        start = self._start_revision()
        deadline = time.monotonic() + self._timeout()
        with self.h.server.watch_slot():
            if initial_events:
                self.res._wait_for_version(start)
                revision, initial = self.res._snapshot()
            elif initial_events is False and start is None:
                revision, initial = self.events.current_revision(), []
            else:
                revision, initial = self.res._snapshot() if start is None else (start, [])
                if start is not None:
                    self.visible = self._visible_at(start)
            self._stream(revision, initial, deadline, end_marker=bool(initial_events))

    def _visible_at(self, revision: int) -> set[tuple[str, str]]:
        """The objects a list at ``revision`` showed (namespace, name), which the watch then reports as
        MODIFIED or DELETED, never ADDED: those with no change since that still match, and those whose first
        change since is not their creation if they matched before it (their last change up to ``revision``,
        when the store still has it; else they are taken as shown, so that leaving the selector is told)."""
        group, kind = self.res.r.group, self.res.r.kind
        selective = bool(self.res.query.get("labelSelector") or self.res.query.get("fieldSelector"))
        with self.res.api.transaction():
            objects = self.res.api.list(group, kind, self.res.t.namespace)
            try:
                history = self.events.events_since(
                    self.events.oldest_revision() if selective else revision, group, kind
                )
            except Gone:
                return set()  # the watch itself answers 410
        before: dict[tuple[str, str], WatchEvent] = {}
        first_after: dict[tuple[str, str], WatchEvent] = {}
        for event in history:
            md = event.object.get("metadata") or {}
            key = (md.get("namespace", ""), md.get("name", ""))
            if event.revision <= revision:
                before[key] = event
            else:
                first_after.setdefault(key, event)
        visible = set()
        for obj in objects:
            key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            if key not in first_after and self.match(obj):
                visible.add(key)
        for key, event in first_after.items():
            if event.type == "ADDED":
                continue
            last = before.get(key)
            if last is None or (last.type != "DELETED" and self.match(last.object)):
                visible.add(key)
        return visible

    def _stream(self, revision: int, initial: list[Object], deadline: float, *, end_marker: bool = False) -> None:
        self.h._code = 200
        self.h.send_response(200)
        self.h.send_header("Content-Type", "application/json")
        self.h.send_header("Transfer-Encoding", "chunked")
        self.h.end_headers()
        self.h.close_connection = True
        try:
            for obj in initial:
                self._emit("ADDED", obj)
            if end_marker:
                self._bookmark(revision, {"k8s.io/initial-events-end": "true"})
            self._follow(revision, deadline)
            self.h.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return

    def _follow(self, revision: int, deadline: float) -> None:
        bookmarks = _flag(self.res.query, "allowWatchBookmarks")
        last_sent = time.monotonic()
        stopping = self.h.context.stopping
        while not stopping.is_set() and time.monotonic() < deadline and not self._client_gone():
            seen = self.events.current_revision()
            try:
                events = self.events.events_since(revision, self.res.r.group, self.res.r.kind)
            except Gone as exc:
                self._chunk({"type": "ERROR", "object": status_doc(410, str(exc), "Expired")})
                return
            for event in events:
                revision = event.revision
                if self._deliver(event.type, event.object):
                    last_sent = time.monotonic()
            revision = max(revision, seen)
            if bookmarks and time.monotonic() - last_sent > BOOKMARK_SECONDS:
                self._bookmark(revision)
                last_sent = time.monotonic()
            if not events:
                self.events.wait_for_change(revision, min(1.0, max(deadline - time.monotonic(), 0.0)))

    def _client_gone(self) -> bool:
        """Whether the client has closed its end of the connection.

        A watch only writes when something changes, so without this check it would notice a departed
        client at its timeout, holding a thread and a ``--max-watches`` slot for up to half an hour.
        """
        connection = self.h.connection
        poller = select.poll()
        poller.register(connection, select.POLLIN)
        try:
            return bool(poller.poll(0)) and not connection.recv(1, socket.MSG_PEEK)
        except OSError:
            return True

    def _deliver(self, kind: str, obj: Object) -> bool:
        md = obj.get("metadata") or {}
        if self.res.t.namespace is not None and md.get("namespace") != self.res.t.namespace:
            return False
        key = (md.get("namespace", ""), md.get("name", ""))
        if kind != "DELETED" and self.match(obj):
            self._emit("MODIFIED" if kind == "MODIFIED" and key in self.visible else "ADDED", obj)
            return True
        if key in self.visible or (kind == "DELETED" and self.match(obj)):
            self._emit("DELETED", obj)
            return True
        return False

    def _emit(self, kind: str, obj: Object) -> None:
        md = obj.get("metadata") or {}
        key = (md.get("namespace", ""), md.get("name", ""))
        if kind == "DELETED":
            self.visible.discard(key)
        else:
            self.visible.add(key)
        if self.form == tables.TABLE:
            shown = self.res._table([obj], md.get("resourceVersion", ""))
        elif self.form == tables.PARTIAL:
            shown = tables.partial(obj)
        else:
            shown = self.res.t.present(obj)
        self._chunk({"type": kind, "object": shown})

    def _bookmark(self, revision: int, annotations: dict[str, str] | None = None) -> None:
        marker = {"apiVersion": self.res.t.group_version, "kind": self.res.r.kind}
        metadata: Object = {"resourceVersion": str(revision)}
        if annotations:
            metadata["annotations"] = annotations
        self._chunk({"type": "BOOKMARK", "object": {**marker, "metadata": metadata}})

    def _chunk(self, doc: Object) -> None:
        data = json.dumps(doc, separators=(",", ":")).encode() + b"\n"
        self.h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.h.wfile.flush()


class APIHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the stdlib's 5 resets connections as soon as a few clients connect at once

    def __init__(self, address: tuple[str, int], context: ServerContext, limits: Limits | None = None) -> None:
        self.context = context
        self.limits = limits or Limits()
        self._watches = threading.BoundedSemaphore(self.limits.max_watches)
        self.snapshots = ListSnapshots()
        super().__init__(address, APIHandler)

    @contextlib.contextmanager
    def watch_slot(self) -> Iterator[None]:
        """Hold one of the ``max_watches`` watch slots for the duration of a watch, or refuse (429).

        Each watch holds a thread and a store poller for up to half an hour; without a cap, clients could
        open watches until the process runs out of threads. Other requests are not counted, so health
        checks and reads keep working when every slot is taken.
        """
        if not self._watches.acquire(blocking=False):
            raise TooManyRequests(
                f"too many watches: this server serves at most {self.limits.max_watches} at once (--max-watches); "
                "retry later",
                WATCH_RETRY_SECONDS,
            )
        try:
            yield
        finally:
            self._watches.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-request is routine: one debug line, not the stdlib's traceback on stderr."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):  # BrokenPipe, ConnectionReset, a stalled client
            self.context.log("client-gone", level="debug", client=str(client_address[0]), error=type(error).__name__)
        else:
            super().handle_error(request, client_address)
