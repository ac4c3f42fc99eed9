"""The Kubernetes-compatible HTTP API over an ``APIServer``: what ``kubectl`` and client libraries talk to.

Routes: discovery (``/api``, ``/apis``, ``/apis/G``, ``/apis/G/V``), ``/version``, ``/openapi/v2`` and ``/v3``,
``/healthz``, ``/readyz``, ``/livez``, the resource paths ``/apis/G/V[/namespaces/NS]/PLURAL[/NAME[/status]]``
(get, list, watch, create, update, patch — apply, merge and JSON patch — delete, deletecollection) and the
choreo control endpoints under ``/choreo/v1`` (delegated to the server context), and the read-only run
history under ``/choreo/v1``: ``runs`` (records, newest first), ``runs/ID/snapshot`` and ``inventory`` (the
current objects), which ``choreo run list|diff|deps`` read when a server is addressed.

Every failure is a Kubernetes ``Status`` body with the matching HTTP code; an unexpected exception is a
500 ``InternalError`` and is logged, the server keeps serving. Writes go through the shared APIServer,
whose store transactions serialise concurrent handler threads; read-modify-write requests (PUT of a
status, merge/JSON patch) run inside one transaction so nobody writes in between.
"""

from __future__ import annotations

import copy
import hmac
import json
import secrets
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import yaml

from choreo.apiserver import ssa
from choreo.apiserver.registry import APIResource
from choreo.apiserver.server import APIServer, utc_now
from choreo.errors import BadRequest, ChoreoError, Invalid, NotFound
from choreo.results.inventory import Item, current_inventory
from choreo.results.runs import runs_newest_first
from choreo.results.snapshot import has_snapshot, load_snapshot
from choreo.server import discovery
from choreo.server.patch import json_patch, merge_patch
from choreo.server.query import Predicate, field_selector, label_selector
from choreo.store.base import Gone

Object = dict[str, Any]

APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
HEALTH_PATHS = frozenset({"healthz", "readyz", "livez"})
DEFAULT_WATCH_SECONDS = 1800
BOOKMARK_SECONDS = 10.0


class Unauthorized(ChoreoError):
    reason = "Unauthorized"
    code = 401


class MethodNotAllowed(ChoreoError):
    reason = "MethodNotAllowed"
    code = 405


class UnsupportedMediaType(ChoreoError):
    reason = "UnsupportedMediaType"
    code = 415


class Unavailable(ChoreoError):
    reason = "ServiceUnavailable"
    code = 503


_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    500: "InternalError",
    503: "ServiceUnavailable",
}
_K8S_REASONS = frozenset(_REASONS.values()) | {"AlreadyExists", "Gone"}


class ServerContext(Protocol):
    """What the HTTP layer needs from the server around it."""

    token: str | None
    stopping: threading.Event

    def current_api(self) -> APIServer:
        """The API server of the loaded project; raises ``Unavailable`` while none is loaded."""
        ...

    def ready(self) -> bool: ...

    def log(self, event: str, **fields: Any) -> None: ...

    def control(self, method: str, parts: list[str], body: Any) -> tuple[int, Any]:
        """Serve ``/choreo/v1/<parts>`` (run, context, status)."""
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
    return status_doc(code, str(exc), reason, _invalid_details(exc))


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
        return f"{self.resource.group}/{self.version}"

    def present(self, obj: Object) -> Object:
        """The object as this version shows it."""
        out = copy.deepcopy(obj)
        out["apiVersion"] = self.group_version
        return out


def history_doc(api: APIServer, parts: list[str]) -> Object:
    """``runs``, ``runs/ID/snapshot`` or ``inventory`` (the parts after ``/choreo/v1``) of ``api``'s store."""
    backend = api.backend
    if parts == ["inventory"]:
        with backend.transaction():  # one consistent moment across kinds
            return items_doc(current_inventory(api))
    if parts == ["runs"]:
        runs = runs_newest_first(backend)
        return {"items": [{"record": run.to_json(), "snapshot": has_snapshot(backend, run.id)} for run in runs]}
    if len(parts) == 3 and parts[0] == "runs" and parts[2] == "snapshot":
        items = load_snapshot(backend, parts[1])
        if items is None:
            raise NotFound(f'run "{parts[1]}" has no snapshot')
        return items_doc(items)
    raise _NotFoundPath()


def items_doc(items: list[Item]) -> Object:
    return {"items": [{"object": item.obj, "choreoApi": item.choreo_api} for item in items]}


def items_from_doc(doc: Object) -> list[Item]:
    return [Item(entry["object"], bool(entry.get("choreoApi"))) for entry in doc.get("items", [])]


class _Rollback(Exception):
    """Raised inside a transaction to undo a dry-run write."""


class _NotFoundPath(NotFound):
    def __init__(self) -> None:
        super().__init__("the server could not find the requested resource")


def _parse_body(raw: bytes, content_type: str) -> Any:
    if not raw.strip():
        raise BadRequest("the request body is empty")
    text = raw.decode("utf-8", errors="replace")
    if "yaml" in content_type:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise BadRequest(f"the request body is not valid YAML: {str(exc).splitlines()[0]}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None


def _object_body(raw: bytes, content_type: str) -> Object:
    body = _parse_body(raw, content_type)
    if not isinstance(body, dict):
        raise BadRequest(f"the request body must be an object, got {type(body).__name__}")
    return body


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
    timeout = 300
    server: APIHTTPServer

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

    def _serve(self) -> None:
        started = time.monotonic()
        self._code = 0
        try:
            url = urlsplit(self.path)
            parts = [p for p in url.path.split("/") if p]
            query = dict(parse_qsl(url.query, keep_blank_values=True))
            self._raw = self._read_body()
            self._authorize(parts)
            self._route(parts, query)
        except ChoreoError as exc:
            self._send_json(exc.code if exc.code in _REASONS else 500, error_status(exc))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # never let a request kill the server
            self.context.log(
                "internal-error", level="error", path=self.path, error=repr(exc), trace=traceback.format_exc()
            )
            self._safe_send(500, status_doc(500, f"internal error: {exc!r}"))
        finally:
            self.context.log(
                "request",
                level="debug",
                method=self.command,
                path=self.path,
                code=self._code,
                ms=round((time.monotonic() - started) * 1000, 1),
            )

    def _safe_send(self, code: int, doc: Object) -> None:
        try:
            self._send_json(code, doc)
        except OSError:
            self.close_connection = True

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        data = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return bytes(data)
            data += self.rfile.read(size)
            self.rfile.readline()

    def _authorize(self, parts: list[str]) -> None:
        token = self.context.token
        if not token or (len(parts) == 1 and parts[0] in HEALTH_PATHS):
            return
        scheme, _, given = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise Unauthorized("Unauthorized: this server requires a valid bearer token (Authorization: Bearer ...)")

    def _send_json(self, code: int, doc: Any) -> None:
        self._send_bytes(code, json.dumps(doc, separators=(",", ":")).encode(), "application/json")

    def _send_text(self, code: int, text: str) -> None:
        self._send_bytes(code, text.encode(), "text/plain; charset=utf-8")

    def _send_bytes(self, code: int, data: bytes, content_type: str) -> None:
        self._code = code
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    @property
    def _content_type(self) -> str:
        return self.headers.get("Content-Type", "application/json").split(";")[0].strip().lower()

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
            body = _parse_body(self._raw, self._content_type) if self._raw.strip() else None
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
            self._core(api, parts[1:])
        elif parts[0] == "apis":
            self._apis(api, parts[1:], query)
        else:
            raise _NotFoundPath()

    def _only_get(self) -> None:
        if self.command != "GET":
            raise MethodNotAllowed(f"the server does not allow this method on the requested resource: {self.command}")

    def _health(self, which: str) -> None:
        if which == "readyz" and not self.context.ready():
            self._send_text(503, "not ready: the project is not loaded yet\n")
        else:
            self._send_text(200, "ok")

    def _openapi(self, api: APIServer, parts: list[str]) -> None:
        self._only_get()
        if parts == ["v2"]:
            if discovery.OPENAPI_V2_PROTOBUF in self.headers.get("Accept", ""):
                # what kube-apiserver answers too: Go's mime parser rejects the "@" of the requested type
                self._send_bytes(200, discovery.openapi_v2_protobuf(), "application/octet-stream")
            else:
                self._send_json(200, discovery.openapi_v2())
            return
        if parts == ["v3"]:
            self._send_json(200, discovery.openapi_v3_index(api.registry))
            return
        if len(parts) == 4 and parts[:2] == ["v3", "apis"]:
            doc = discovery.openapi_v3(api.registry, parts[2], parts[3])
            if doc is not None:
                self._send_json(200, doc)
                return
        raise _NotFoundPath()

    def _core(self, api: APIServer, parts: list[str]) -> None:
        if not parts:
            self._only_get()
            self._send_json(200, discovery.api_versions())
        elif parts == ["v1"]:
            self._only_get()
            self._send_json(200, discovery.api_resource_list(api.registry, "", "v1"))
        else:
            raise _NotFoundPath()

    def _apis(self, api: APIServer, parts: list[str], query: dict[str, str]) -> None:
        if len(parts) <= 2:
            self._only_get()
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
        target = self._target(api, parts[0], parts[1], parts[2:])
        Resource(self, api, target, query).serve()

    def _target(self, api: APIServer, group: str, version: str, rest: list[str]) -> Target:
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise _NotFoundPath()
        plural, name, sub = rest[0], (rest[1] if len(rest) > 1 else None), (rest[2] if len(rest) > 2 else None)
        resource = next((r for r in discovery.served(api.registry, group, version) if r.plural == plural), None)
        if resource is None:
            raise NotFound(f"the server could not find the requested resource: no {plural} in {group}/{version}")
        if sub is not None and (sub != "status" or not resource.status_subresource):
            raise NotFound(f"the server could not find the requested resource: {plural}/{sub}")
        if namespace is not None and not resource.namespaced:
            raise NotFound(f"the server could not find the requested resource: {plural} is not namespaced")
        if name is not None and resource.namespaced and namespace is None:
            raise NotFound(f"the server could not find the requested resource: {plural} needs a namespace")
        return Target(resource, version, namespace, name, sub)


class Resource:
    """One request on a resource path."""

    def __init__(self, handler: APIHandler, api: APIServer, target: Target, query: dict[str, str]) -> None:
        self.h = handler
        self.api = api
        self.t = target
        self.r = target.resource
        self.query = query

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
        action()

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

    def _dry(self, action: Callable[[], Object]) -> Object:
        """Run a write; with ``dryRun=All`` do it inside a transaction that is rolled back."""
        if self.query.get("dryRun") != "All":
            return action()
        result: list[Object] = []
        try:
            with self.api.backend.transaction():
                result.append(action())
                raise _Rollback
        except _Rollback:
            pass
        return result[0]

    def _selectors(self) -> Predicate:
        labels = label_selector(self.query.get("labelSelector"))
        fields = field_selector(self.query.get("fieldSelector"))
        return lambda obj: labels(obj) and fields(obj)

    def _check_identity(self, obj: Object) -> None:
        """The body must be of this kind and version and name the object of the URL."""
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

    def _current(self) -> Object:
        return self.api.get(self.r.group, self.r.kind, self._namespace, self.t.name or "")

    def _send(self, code: int, obj: Object) -> None:
        self.h._send_json(code, self.t.present(obj))

    # ---------------------------------------------------------------- reads

    def _get(self) -> None:
        obj = self._current()
        if discovery.wants_table(self.h.headers.get("Accept", "")):
            self.h._send_json(200, discovery.table([obj], obj["metadata"].get("resourceVersion", "")))
        else:
            self._send(200, obj)

    def _snapshot(self) -> tuple[int, list[Object]]:
        """The current revision and the matching objects, read atomically."""
        match = self._selectors()
        with self.api.backend.transaction():
            revision = self.api.backend.current_revision()
            items = self.api.list(self.r.group, self.r.kind, self.t.namespace)
        return revision, [o for o in items if match(o)]

    def _list_or_watch(self) -> None:
        if _flag(self.query, "watch"):
            Watch(self).run()
            return
        revision, items = self._snapshot()
        if discovery.wants_table(self.h.headers.get("Accept", "")):
            include = self.query.get("includeObject", "Metadata")
            self.h._send_json(200, discovery.table(items, str(revision), include_object=include))
            return
        self._send_list(items, revision)

    def _send_list(self, items: list[Object], revision: int) -> None:
        self.h._send_json(
            200,
            {
                "apiVersion": self.t.group_version,
                "kind": self.r.list_kind,
                "metadata": {"resourceVersion": str(revision)},
                "items": [self.t.present(o) for o in items],
            },
        )

    # ---------------------------------------------------------------- writes

    def _create(self) -> None:
        obj = _object_body(self.h._raw, self.h._content_type)
        self._check_identity(obj)
        md = obj["metadata"]
        if not md.get("name") and md.get("generateName"):
            md["name"] = f"{md['generateName']}{secrets.token_hex(3)[:5]}"
        if self.r.status_subresource:
            obj.pop("status", None)
        created = self._dry(lambda: self.api.create(obj, manager=self._manager))
        self._send(201, created)

    def _update(self) -> None:
        obj = _object_body(self.h._raw, self.h._content_type)
        self._check_identity(obj)

        def write() -> Object:
            with self.api.backend.transaction():
                new = self._with_subresource_rules(self._current(), obj)
                return self.api.update(new, manager=self._manager)

        self._send(200, self._dry(write))

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
        elif kind in (MERGE_PATCH, JSON_PATCH):
            code, obj = 200, self._dry(lambda: self._merge_or_json(kind))
        elif kind == STRATEGIC_PATCH:
            raise UnsupportedMediaType(
                "strategic merge patch is not supported for custom resources: use application/merge-patch+json, "
                "application/json-patch+json or application/apply-patch+yaml"
            )
        else:
            raise UnsupportedMediaType(f"the patch content type {kind!r} is not supported")
        self._send(code, obj)

    def _apply(self) -> tuple[int, Object]:
        obj = _object_body(self.h._raw, "yaml")
        self._check_identity(obj)
        manager = self.query.get("fieldManager", "")
        if not manager:
            raise BadRequest("PATCH with application/apply-patch+yaml requires the fieldManager query parameter")
        force = _flag(self.query, "force")
        existed: list[bool] = []

        def write() -> Object:
            with self.api.backend.transaction():
                live = self.api.try_get(self.r.group, self.r.kind, self._namespace, self.t.name or "")
                existed.append(live is not None)
                if self.t.subresource == "status":
                    return self._apply_status(live, obj, manager, force)
                if self.r.status_subresource:
                    obj.pop("status", None)
                return self.api.apply(obj, manager=manager, force=force)

        result = self._dry(write)
        return (200 if existed[0] else 201), result

    def _apply_status(self, live: Object | None, obj: Object, manager: str, force: bool) -> Object:
        if live is None:
            raise NotFound(f'{self.r.kind}.{self.r.group} "{self.t.name}" not found')
        applied = {k: v for k, v in obj.items() if k in ("apiVersion", "kind", "status")}
        applied["metadata"] = {k: v for k, v in obj["metadata"].items() if k in ("name", "namespace")}
        semantics = self.api.semantics(self.r)
        merged = ssa.apply(live, applied, manager, semantics, now=utc_now(), force=force, subresource="status")
        merged["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
        return self.api.update(merged)

    def _merge_or_json(self, kind: str) -> Object:
        patch = _parse_body(self.h._raw, "json")
        with self.api.backend.transaction():
            old = self._current()
            shown = self.t.present(old)
            patched = merge_patch(shown, patch) if kind == MERGE_PATCH else json_patch(shown, patch)
            if not isinstance(patched, dict):
                raise BadRequest("the patched object is not an object")
            self._check_identity(patched)
            patched["apiVersion"] = old["apiVersion"]
            new = self._with_subresource_rules(old, patched)
            if not (new.get("metadata") or {}).get("resourceVersion"):
                new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            return self.api.update(new, manager=self._manager)

    def _delete(self) -> None:
        options = _parse_body(self.h._raw, "json") if self.h._raw.strip() else {}
        if not isinstance(options, dict):
            raise BadRequest("the delete options must be an object")
        expected = (options.get("preconditions") or {}).get("resourceVersion")
        if options.get("dryRun") == ["All"]:
            self.query["dryRun"] = "All"
        name = self.t.name or ""
        gone = self._dry(
            lambda: self.api.delete(self.r.group, self.r.kind, self._namespace, name, expected_rv=expected)
        )
        self._send(200, gone)

    def _delete_collection(self) -> None:
        _revision, items = self._snapshot()

        def delete_all() -> Object:
            deleted = []
            with self.api.backend.transaction():
                for obj in items:
                    md = obj["metadata"]
                    if self.api.try_get(self.r.group, self.r.kind, md.get("namespace", ""), md["name"]) is not None:
                        deleted.append(self.api.delete(self.r.group, self.r.kind, md.get("namespace", ""), md["name"]))
            return {"items": deleted}

        result = self._dry(delete_all)
        self._send_list(result["items"], self.api.backend.current_revision())


class Watch:
    """A chunked stream of ``{"type", "object"}`` events for one kind, filtered like the list."""

    def __init__(self, resource: Resource) -> None:
        self.res = resource
        self.h = resource.h
        self.backend = resource.api.backend
        self.table = discovery.wants_table(self.h.headers.get("Accept", ""))
        self.match = resource._selectors()
        self.visible: set[tuple[str, str]] = set()

    def _start_revision(self) -> tuple[int, list[Object]]:
        given = self.res.query.get("resourceVersion", "")
        if given in ("", "0"):
            return self.res._snapshot()
        try:
            return int(given), []
        except ValueError:
            raise BadRequest(f"resourceVersion {given!r} is not a valid resource version") from None

    def _timeout(self) -> float:
        given = self.res.query.get("timeoutSeconds", "")
        try:
            return float(given) if given else DEFAULT_WATCH_SECONDS
        except ValueError:
            raise BadRequest(f"timeoutSeconds {given!r} is not a number") from None

    def run(self) -> None:
        revision, initial = self._start_revision()
        deadline = time.monotonic() + self._timeout()
        self.h._code = 200
        self.h.send_response(200)
        self.h.send_header("Content-Type", "application/json")
        self.h.send_header("Transfer-Encoding", "chunked")
        self.h.end_headers()
        self.h.close_connection = True
        try:
            for obj in initial:
                self._emit("ADDED", obj)
            self._follow(revision, deadline)
            self.h.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return

    def _follow(self, revision: int, deadline: float) -> None:
        bookmarks = _flag(self.res.query, "allowWatchBookmarks")
        last_sent = time.monotonic()
        stopping = self.h.context.stopping
        while not stopping.is_set() and time.monotonic() < deadline:
            seen = self.backend.current_revision()
            try:
                events = self.backend.events_since(revision, self.res.r.group, self.res.r.kind)
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
                self.backend.wait_for_change(revision, min(1.0, max(deadline - time.monotonic(), 0.0)))

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
        shown = self.res.t.present(obj)
        if self.table:
            shown = discovery.table([shown], md.get("resourceVersion", ""))
        self._chunk({"type": kind, "object": shown})

    def _bookmark(self, revision: int) -> None:
        marker = {"apiVersion": self.res.t.group_version, "kind": self.res.r.kind}
        self._chunk({"type": "BOOKMARK", "object": {**marker, "metadata": {"resourceVersion": str(revision)}}})

    def _chunk(self, doc: Object) -> None:
        data = json.dumps(doc, separators=(",", ":")).encode() + b"\n"
        self.h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.h.wfile.flush()


class APIHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the stdlib's 5 resets connections as soon as a few clients connect at once

    def __init__(self, address: tuple[str, int], context: ServerContext) -> None:
        self.context = context
        super().__init__(address, APIHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-request is routine: one debug line, not the stdlib's traceback on stderr."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):  # BrokenPipe, ConnectionReset, ConnectionAborted
            self.context.log("client-gone", level="debug", client=str(client_address[0]), error=type(error).__name__)
        else:
            super().handle_error(request, client_address)
