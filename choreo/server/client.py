"""A small client for a running choreo server, used by the CLI when a server is addressed.

Which server: ``--server URL``, else ``$CHOREO_SERVER``, else ``server:`` in the config file
(``--config FILE``, else ``$XDG_CONFIG_HOME/choreo/config.yaml``, default ``~/.config/choreo/config.yaml``,
which may also hold ``token:`` or ``tokenFile:``); ``$CHOREO_TOKEN`` overrides the token. No server addressed
means the CLI works on the project folder locally.

Errors come back as Kubernetes ``Status`` bodies; they are raised as the matching ``ChoreoError`` with the
server's message, so the CLI prints one line whatever went wrong (including an unreachable server).
"""

from __future__ import annotations

import builtins
import json
import os
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from choreo.apiserver.registry import resolve_kind
from choreo.errors import AlreadyExists, BadRequest, ChoreoError, Conflict, Invalid, NotFound
from choreo.loader.project import INPUT_MANAGER
from choreo.loader.yamlio import read_single_mapping
from choreo.results.inventory import Item
from choreo.results.record import RunRecord
from choreo.server.protocol import APPLY_PATCH, MethodNotAllowed, Unauthorized, Unavailable, items_from_doc

if TYPE_CHECKING:
    import ssl

Object = dict[str, Any]

_RAISED = (BadRequest, Unauthorized, NotFound, MethodNotAllowed, Conflict, Invalid, Unavailable)
_ERRORS: dict[int, type[ChoreoError]] = {error.code: error for error in _RAISED}


CONTEXT_SWITCH_SECONDS = 3600.0
"""How long ``server apply`` waits for the server's answer (any other request: ``ServerClient.timeout``)."""


class Unreachable(ChoreoError):
    """No answer from the server (refused, unknown host, timeout): nothing to do with what was asked."""


def config_path() -> Path:
    """Where the CLI reads ``server:`` and the token from (``$CHOREO_CONFIG``: the global ``--config FILE``)."""
    if os.environ.get("CHOREO_CONFIG"):
        return Path(os.environ["CHOREO_CONFIG"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "choreo" / "config.yaml"


def _read_config() -> Object:
    path = config_path()
    if not path.exists():
        return {}
    return read_single_mapping(path, str(path))


def read_token(token_file: str | None) -> str | None:
    """The bearer token from a file (first line) or ``$CHOREO_TOKEN``; None when neither is set."""
    if token_file:
        try:
            token = Path(token_file).read_text().strip()
        except OSError as exc:
            raise ChoreoError(f"{token_file}: cannot read the token file ({exc.strerror})") from None
        if not token:
            raise ChoreoError(f"{token_file}: the token file is empty")
        return token
    return os.environ.get("CHOREO_TOKEN") or None


def resource_path(
    group: str, version: str, plural: str, namespaced: bool, namespace: str | None = None, name: str | None = None
) -> str:
    """The Kubernetes API path of a kind's collection (``name`` None) or of one object (the core group's
    kinds are under ``/api``)."""
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    if namespaced and namespace:
        base += f"/namespaces/{namespace}"
    base += f"/{plural}"
    return f"{base}/{name}" if name else base


@dataclass(frozen=True)
class ResourceInfo:
    """A kind as the server's discovery documents describe it."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...]
    categories: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


class ServerClient:
    """JSON over HTTP to a choreo server (or any Kubernetes API server), errors raised as ``ChoreoError``."""

    def __init__(
        self, url: str, token: str | None = None, timeout: float = 300.0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.url = url.rstrip("/")
        if "://" not in self.url:
            self.url = f"http://{self.url}"
        self.token = token
        self.timeout = timeout
        self.ssl_context = ssl_context
        self._resources: list[ResourceInfo] | None = None

    @classmethod
    def addressed(cls, server: str | None = None) -> ServerClient | None:
        """The client of the server the user addressed, or None to work locally."""
        config = _read_config()
        url = server or os.environ.get("CHOREO_SERVER") or config.get("server")
        if not url:
            return None
        token = os.environ.get("CHOREO_TOKEN") or config.get("token") or read_token(config.get("tokenFile"))
        return cls(str(url), token)

    # ---------------------------------------------------------------- transport

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, str] | None = None,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> Any:
        with self.open(method, path, body, query=query, content_type=content_type, timeout=timeout) as response:
            return json.loads(response.read() or b"null")

    def open(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, str] | None = None,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> Any:
        """The open HTTP response (a context manager; iterate it for streamed lines)."""
        import urllib.request  # here: the HTTP and TLS stack is not loaded by command lines that address no server

        if method in ("POST", "PUT", "PATCH") and path.startswith("/api"):
            # what the kind does not declare is refused, as choreo run refuses it (kube-apiserver drops it)
            query = {"fieldValidation": "Strict", **(query or {})}
        url = self.url + path + (f"?{urlencode(query)}" if query else "")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/json")
        request.add_header("User-Agent", "choreo/cli")
        if data is not None:
            request.add_header("Content-Type", content_type)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        wait = timeout or self.timeout
        try:
            return urllib.request.urlopen(request, timeout=wait, context=self.ssl_context)
        except urllib.error.HTTPError as exc:
            raise _error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):  # it may have the request: saying it cannot be reached would mislead
                raise Unreachable(
                    f"no answer from the server at {self.url} within {wait:g} s: what it was asked may still be "
                    "under way there (`choreo server get` shows its state)"
                ) from None
            raise Unreachable(f"cannot reach the server at {self.url}: {reason}") from None

    # ---------------------------------------------------------------- choreo endpoints

    def status(self) -> Object:
        return self.request("GET", "/choreo/v1/status")

    def run(self, action: str) -> Object:
        """``once``, ``start``, ``stop`` or ``load``."""
        return self.request("POST", f"/choreo/v1/run/{action}", {})

    def result(self) -> Object:
        return self.request("GET", "/choreo/v1/run/result")

    def apply_context(self, url: str, path: str, ref: str, branch: str = "") -> Object:
        """Switch the server to a context: it answers once the clone or fetch (git's limit is 600 s a command),
        the load and a production context's first run are done, so the answer is awaited for up to an hour."""
        body = {"url": url, "path": path, "ref": ref, "branch": branch}
        return self.request("POST", "/choreo/v1/context", body, timeout=CONTEXT_SWITCH_SECONDS)

    def runs(self) -> list[tuple[RunRecord, bool]]:
        """The recorded runs, newest first, each with whether it has a snapshot."""
        doc = self.request("GET", "/choreo/v1/runs")
        return [(RunRecord.from_json(entry["record"]), bool(entry["snapshot"])) for entry in doc.get("items", [])]

    def snapshot(self, run_id: str) -> list[Item]:
        return items_from_doc(self.request("GET", f"/choreo/v1/runs/{quote(run_id, safe='')}/snapshot"))

    def inventory(self) -> list[Item]:
        """Every object the server stores now, managed fields included."""
        return items_from_doc(self.request("GET", "/choreo/v1/inventory"))

    # ---------------------------------------------------------------- Kubernetes API

    def resources(self) -> list[ResourceInfo]:
        """The kinds the server serves, sorted by plural (asked once per client: one CLI command)."""
        if self._resources is None:
            self._resources = self._discover()
        return self._resources

    def _discover(self) -> list[ResourceInfo]:
        found = []
        core = ["v1"] if "v1" in self.request("GET", "/api").get("versions", []) else []
        located = [("", version, f"/api/{version}") for version in core]
        for group in self.request("GET", "/apis").get("groups", []):
            version = group["preferredVersion"]["version"]
            located.append((group["name"], version, f"/apis/{group['name']}/{version}"))
        for group_name, version, path in located:
            for entry in self.request("GET", path).get("resources", []):
                if "/" in entry["name"]:
                    continue
                found.append(
                    ResourceInfo(
                        group_name,
                        version,
                        entry["name"],
                        entry.get("singularName") or entry["kind"].lower(),
                        entry["kind"],
                        bool(entry.get("namespaced")),
                        tuple(entry.get("shortNames") or ()),
                        tuple(entry.get("categories") or ()),
                    )
                )
        return sorted(found, key=lambda r: (r.plural, r.group))

    def resolve(self, name: str) -> ResourceInfo:
        """Find a kind the way the local CLI does: plural, singular, kind or short name, optionally .group."""
        return resolve_kind(self.resources(), name)

    def for_object(self, obj: Object) -> ResourceInfo:
        api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
        for info in self.resources():
            if info.kind == kind and info.group == api_version.rpartition("/")[0]:
                return info
        raise NotFound(f"no kind {kind} is registered for version {api_version}")

    @staticmethod
    def path(info: ResourceInfo, namespace: str | None = None, name: str | None = None) -> str:
        return resource_path(info.group, info.version, info.plural, info.namespaced, namespace, name)

    def list(self, info: ResourceInfo, namespace: str | None = None, *, fields: str | None = None) -> list[Object]:
        """The objects of a kind (``fields``: a field selector, checked and applied by the server)."""
        return self.list_at(info, namespace, fields=fields)[0]

    def list_at(
        self, info: ResourceInfo, namespace: str | None = None, *, fields: str | None = None
    ) -> tuple[builtins.list[Object], str]:
        """The objects of a kind and the resource version they were listed at (where a watch goes on)."""
        query = {"fieldSelector": fields} if fields else None
        listed = self.request("GET", self.path(info, namespace), query=query)
        return listed.get("items", []), str((listed.get("metadata") or {}).get("resourceVersion", ""))

    def object_path(self, obj: Object) -> str:
        """The path of ``obj`` (a namespaced object without a namespace is in ``default``)."""
        info = self.for_object(obj)
        md = obj.get("metadata") or {}
        namespace = md.get("namespace") or ("default" if info.namespaced else None)
        return self.path(info, namespace, md.get("name"))

    def apply(self, obj: Object, *, manager: str = INPUT_MANAGER, force: bool = True, dry_run: bool = False) -> Object:
        query = {"fieldManager": manager, "force": "true" if force else "false"}
        if dry_run:
            query["dryRun"] = "All"
        return self.request("PATCH", self.object_path(obj), obj, query=query, content_type=APPLY_PATCH)

    def delete_path(self, path: str, *, dry_run: bool = False) -> Object:
        return self.request("DELETE", path, query={"dryRun": "All"} if dry_run else None)


def _error(exc: urllib.error.HTTPError) -> ChoreoError:
    try:
        status = json.loads(exc.read() or b"{}")
    except ValueError:
        status = {}
    message = status.get("message") if isinstance(status, dict) else None
    message = message or f"HTTP {exc.code} {exc.reason}"
    if isinstance(status, dict) and status.get("reason") == "AlreadyExists":
        return AlreadyExists(message)
    return _ERRORS.get(exc.code, ChoreoError)(message)
