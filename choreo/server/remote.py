"""Run a project's reconcilers against any Kubernetes API server (``choreo run start --kubeconfig``).

The pipeline and the controller are the ones choreo runs locally; only the API they talk to changes.
``RemoteAPI`` provides the engine's ``ObjectAPI`` (choreo/apiserver/interface.py): its reads and writes
are HTTP requests to the cluster named in the kubeconfig (status goes through the ``/status`` subresource
where the kind has one, as real clusters require), and its events come from ``EventFeed``: one list+watch
per kind the reconcilers use, re-listed after a watch ends or expires. The project is loaded as in every
mode (``Pipeline.load``: CRDs, upstream refs, inputs, clean-up of removed inputs, garbage collection); a
CRD is applied and then waited for until the cluster serves its kind, and choreo's own kinds (UpstreamRef,
Reconciler, Library) are installed as CRDs where the cluster does not serve them. A cluster has no
transactions: a load that fails half-way keeps what it applied. The ``-r``/``-s`` plug-ins do not run
against a cluster yet.
"""

from __future__ import annotations

import base64
import builtins
import copy
import json
import signal
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from choreo.api.objects import ObjectKey
from choreo.apiserver.openapi import SchemaInfo
from choreo.apiserver.registry import APIResource, Registry, builtin_crds
from choreo.apiserver.server import APIServer, status_intent
from choreo.apiserver.ssa import strip_managed_fields
from choreo.errors import ChoreoError, NotFound
from choreo.loader.yamlio import read_single_mapping
from choreo.runtime.options import RunOptions
from choreo.runtime.pipeline import Pipeline
from choreo.server.client import ServerClient, resource_path
from choreo.server.protocol import APPLY_PATCH, STOP_SIGNALS
from choreo.server.runner import ContinuousController, Log
from choreo.store.base import EventSource, Gone, RecordStore, WatchEvent
from choreo.store.head import Head, head_of
from choreo.store.memory import MemoryBackend

Object = dict[str, Any]
MANAGER = "choreo"
MAX_EVENTS = 10000
ESTABLISH_SECONDS = 30.0


# ----------------------------------------------------------------------------------------------- kubeconfig


def _material(entry: Mapping[str, Any], key: str, folder: Path) -> bytes | None:
    """The bytes of a kubeconfig file reference (``key``) or of its inline data (``key-data``)."""
    if entry.get(f"{key}-data"):
        return base64.b64decode(entry[f"{key}-data"], validate=True)
    if entry.get(key):
        return (folder / entry[key]).read_bytes()
    return None


def _named(items: Any, name: str, what: str, source: str) -> Mapping[str, Any]:
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name:
            return item.get(what) or {}
    raise ChoreoError(f"{source}: no {what} named {name!r}")


def kube_client(path: str, context: str | None = None) -> ServerClient:
    """A client for the server, credentials and TLS settings of a kubeconfig context."""
    source = Path(path)
    config = read_single_mapping(source, path)
    name = context or config.get("current-context")
    if not name:
        raise ChoreoError(f"{path}: no current-context; pass --context")
    ctx = _named(config.get("contexts"), name, "context", path)
    cluster = _named(config.get("clusters"), ctx.get("cluster", ""), "cluster", path)
    user = _named(config.get("users"), ctx.get("user", ""), "user", path) if ctx.get("user") else {}
    server = cluster.get("server")
    if not server:
        raise ChoreoError(f"{path}: cluster {ctx.get('cluster')!r} has no server")
    try:
        token = user.get("token")
        if not token and user.get("tokenFile"):
            token = (source.parent / user["tokenFile"]).read_text().strip()
        tls = _ssl_context(cluster, user, source.parent)
    except (OSError, ValueError, ssl.SSLError) as exc:  # unreadable files, bad base64, bad certificates
        raise ChoreoError(f"{path}: context {name!r}: cannot use its credentials ({exc})") from None
    return ServerClient(server, token, ssl_context=tls)


def _ssl_context(cluster: Mapping[str, Any], user: Mapping[str, Any], folder: Path) -> ssl.SSLContext | None:
    if not str(cluster.get("server", "")).startswith("https"):
        return None
    authority = _material(cluster, "certificate-authority", folder)
    context = ssl.create_default_context(cadata=authority.decode() if authority else None)
    if cluster.get("insecure-skip-tls-verify"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    cert = _material(user, "client-certificate", folder)
    if cert:
        _load_client_certificate(context, cert, _material(user, "client-key", folder))
    return context


def _load_client_certificate(context: ssl.SSLContext, cert: bytes, key: bytes | None) -> None:
    """``ssl`` reads a client certificate and key only from files: they live in a private folder (mode 0700)
    just while they are loaded, and are removed right after, whatever happens."""
    with tempfile.TemporaryDirectory(prefix="choreo-kubeconfig-") as folder:
        cert_file = Path(folder) / "client.crt"
        key_file = Path(folder) / "client.key" if key else None
        cert_file.write_bytes(cert)
        if key_file is not None and key is not None:
            key_file.touch(mode=0o600)
            key_file.write_bytes(key)
        context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)


# ----------------------------------------------------------------------------------------------- events


class EventFeed:
    """The ``Backend`` event half over watches: local sequence numbers stand in for revisions."""

    rollbacks = 0  # a feed is never rolled back: its sequence numbers are never reused

    def __init__(self) -> None:
        self._events: list[WatchEvent] = []
        self._dropped = 0
        self._revision = 0
        self._changed = threading.Condition()

    def push(self, kind: str, obj: Object) -> None:
        with self._changed:
            self._revision += 1
            self._events.append(WatchEvent(kind, obj, self._revision))
            if len(self._events) > MAX_EVENTS:
                self._dropped = self._events.pop(0).revision
            self._changed.notify_all()

    def current_revision(self) -> int:
        with self._changed:
            return self._revision

    def oldest_revision(self) -> int:
        with self._changed:
            return self._dropped

    def events_since(self, revision: int, group: str | None = None, kind: str | None = None) -> list[WatchEvent]:
        with self._changed:
            if revision < self._dropped:
                raise Gone(f"events up to {self._dropped} were dropped")
            return [e for e in self._events if e.revision > revision]

    def wait_for_change(self, revision: int, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._revision > revision, timeout)


# ----------------------------------------------------------------------------------------------- API


class RemoteAPI:
    """The engine's ``ObjectAPI`` over a remote cluster: objects are HTTP requests to it, events come from
    the ``EventFeed`` its watchers fill. The kinds the project defines are registered in a local
    ``APIServer`` over an empty memory store, which lends its registry and schema semantics (used to find
    paths and to compare intents) and keeps this run's records; it never holds an object."""

    def __init__(self, kube: ServerClient, feed: EventFeed) -> None:
        self.kube = kube
        self.feed = feed
        self._kinds = APIServer(MemoryBackend())
        self._served: set[tuple[str, str]] = set()

    @property
    def registry(self) -> Registry:
        return self._kinds.registry

    @property
    def events(self) -> EventSource:
        return self.feed

    @property
    def records(self) -> RecordStore:
        return self._kinds.records

    def transaction(self) -> AbstractContextManager[None]:
        """A cluster has no transactions: each request stands on its own."""
        return nullcontext()

    def ratcheting(self) -> AbstractContextManager[None]:
        """A cluster ratchets its validation of every update itself."""
        return nullcontext()

    def register_crd(self, crd: Object, *, source: str = "", choreo_api: bool = False) -> APIResource:
        return self._kinds.register_crd(crd, source=source, choreo_api=choreo_api)

    def semantics(self, resource: APIResource) -> SchemaInfo:
        return self._kinds.semantics(resource)

    def migrate_versions(self, resource: APIResource) -> int:
        """Nothing to do: a cluster converts what it stores itself (and refuses a CRD that drops a stored version)."""
        return 0

    def drop_unserved(self, obj: Object) -> None:
        """Never needed: ``unserved_objects`` is always empty for a cluster."""
        raise ChoreoError(
            f"{obj.get('kind')} {obj.get('metadata', {}).get('name')}: a cluster removes the "
            "objects of a kind together with its CRD"
        )

    def unserved_objects(self) -> Iterator[Object]:
        """None: a cluster removes the objects of a kind together with its CRD."""
        return iter(())

    def served(self, resource: APIResource) -> bool:
        """Whether the cluster serves the kind now (remembered once it does)."""
        if (resource.group, resource.kind) in self._served:
            return True
        try:
            self.kube.request("GET", _path(resource), query={"limit": "1"})
        except NotFound:
            return False
        self._served.add((resource.group, resource.kind))
        return True

    def _ensure_served(self, resource: APIResource) -> None:
        """choreo's own kinds are installed as CRDs where the cluster does not know them."""
        crd = next((c for c in builtin_crds() if c["spec"]["names"]["kind"] == resource.kind), None)
        ours = resource.choreo_api and resource.group != "apiextensions.k8s.io" and crd is not None
        if ours and crd is not None and not self.served(resource):
            self.apply(crd, manager=MANAGER, force=True)

    def get(self, group: str, kind: str, namespace: str, name: str, *, managed_fields: bool = True) -> Object:
        obj = self.kube.request("GET", _path(self.registry.require(group, kind), namespace, name))
        return obj if managed_fields else strip_managed_fields(obj)

    def try_get(self, group: str, kind: str, namespace: str, name: str) -> Object | None:
        try:
            return self.get(group, kind, namespace, name)
        except NotFound:
            return None

    def list(
        self,
        group: str,
        kind: str,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
        *,
        managed_fields: bool = True,
    ) -> builtins.list[Object]:
        resource = self.registry.require(group, kind)
        query = {"labelSelector": ",".join(f"{k}={v}" for k, v in labels.items())} if labels else None
        try:
            items = self.kube.request("GET", _path(resource, namespace), query=query).get("items", [])
        except NotFound:  # a kind the cluster does not serve (yet) has no objects
            return []
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return items if managed_fields else [strip_managed_fields(o) for o in items]

    def view(self, group: str, kind: str, namespace: str, name: str, *, keep: bool = True) -> Object | None:
        """A cluster's answer is already this caller's own copy (nothing is kept either way)."""
        return self.try_get(group, kind, namespace, name)

    def view_list(self, group: str, kind: str, namespace: str | None = None) -> builtins.list[Object]:
        """A cluster's answer is already this caller's own copy."""
        return self.list(group, kind, namespace)

    def head(self, group: str, kind: str, namespace: str, name: str) -> Head | None:
        """A cluster keeps no heads: the head of the object read."""
        found = self.try_get(group, kind, namespace, name)
        return None if found is None else head_of(found)

    def heads(self, group: str, kind: str) -> builtins.list[tuple[ObjectKey, Head]]:
        """A cluster keeps no heads: the heads of the objects listed."""
        resource = self.registry.require(group, kind)
        return [
            (ObjectKey(resource.group, resource.kind, o["metadata"].get("namespace") or "", o["metadata"]["name"]),
             head_of(o))
            for o in self.list(group, kind)
        ]

    def hooked(self, group: str, kind: str) -> bool:
        """Admission hooks run in choreo's own store only."""
        return False

    def background(self) -> bool:
        """Every request is answered as it is made: nothing waits."""
        return False

    def contended(self) -> bool:
        """Nothing here is held for others to wait on (a transaction is no transaction)."""
        return False

    def create(self, obj: Object, *, manager: str = "", dry_run: bool = False) -> Object:
        resource = self.registry.for_object(obj)
        query = _write_query(manager, dry_run=dry_run)
        return self.kube.request("POST", _path(resource, _ns(obj)), obj, query=query)

    def update(self, obj: Object, *, manager: str = "", dry_run: bool = False) -> Object:
        resource = self.registry.for_object(obj)
        query = _write_query(manager, dry_run=dry_run)
        return self.kube.request("PUT", _path(resource, _ns(obj), obj["metadata"]["name"]), obj, query=query)

    def apply(self, obj: Object, *, manager: str, force: bool = False, dry_run: bool = False) -> Object:
        resource = self.registry.for_object(obj)
        if not dry_run:
            self._ensure_served(resource)
        path = _path(resource, _ns(obj), obj["metadata"]["name"])
        query = _write_query(manager, force=force, dry_run=dry_run)
        main = copy.deepcopy(obj)
        status = main.pop("status", None) if resource.status_subresource else None
        result = self.kube.request("PATCH", path, main, query=query, content_type=APPLY_PATCH)
        if status is not None:
            result = self.apply_status({**obj, "status": status}, manager=manager, force=force, dry_run=dry_run)
        if not dry_run and obj.get("kind") == "CustomResourceDefinition" and resource.group == "apiextensions.k8s.io":
            _wait_served(self, self.registry.for_object(_served_kind(obj)))
        return result

    def apply_status(self, obj: Object, *, manager: str, force: bool = False, dry_run: bool = False) -> Object:
        resource = self.registry.for_object(obj)
        path = _path(resource, _ns(obj), obj["metadata"]["name"])
        query = _write_query(manager, force=force, dry_run=dry_run)
        body = status_intent(obj)
        return self.kube.request("PATCH", f"{path}/status", body, query=query, content_type=APPLY_PATCH)

    def stored_objects(self) -> Iterator[Object]:
        """The cluster's objects of every kind the project defined, by group, kind, namespace and name."""
        for resource in sorted(self.registry.resources(), key=lambda r: (r.group, r.kind)):
            yield from self.list(resource.group, resource.kind)

    def dependents(self, uid: str, group: str | None = None, kind: str | None = None) -> builtins.list[Object]:
        if group is not None and kind:
            kinds = [(group, kind)]
        else:
            kinds = [(r.group, r.kind) for r in self.registry.resources()]
        found = []
        for g, k in kinds:
            try:
                objects = self.list(g, k)
            except NotFound:
                continue
            found += [o for o in objects if uid in {r.get("uid") for r in o["metadata"].get("ownerReferences") or []}]
        return found

    def delete(
        self,
        group: str,
        kind: str,
        namespace: str,
        name: str,
        *,
        expected_rv: str | None = None,
        expected_uid: str | None = None,
        orphan: bool = False,
        dry_run: bool = False,
    ) -> Object:
        preconditions = {"resourceVersion": expected_rv, "uid": expected_uid}
        body: dict[str, Any] = {"preconditions": {k: v for k, v in preconditions.items() if v}}
        if orphan:
            body["propagationPolicy"] = "Orphan"
        path = _path(self.registry.require(group, kind), namespace, name)
        sent = body if body["preconditions"] or orphan else None
        return self.kube.request("DELETE", path, sent, query={"dryRun": "All"} if dry_run else None)


def _path(resource: APIResource, namespace: str | None = None, name: str | None = None) -> str:
    """The cluster path of a kind (its storage version) or of one object."""
    version = resource.storage_version
    return resource_path(resource.group, version, resource.plural, resource.namespaced, namespace, name)


def _write_query(manager: str, *, force: bool | None = None, dry_run: bool = False) -> dict[str, str]:
    """The query of a write: field manager, force (server-side apply) and ``dryRun=All``; fields the kind does
    not declare are refused (``fieldValidation=Strict``), as choreo's own API server refuses them."""
    query = {"fieldValidation": "Strict"}
    if manager:
        query["fieldManager"] = manager
    if force is not None:
        query["force"] = "true" if force else "false"
    if dry_run:
        query["dryRun"] = "All"
    return query


def _ns(obj: Object) -> str | None:
    return (obj.get("metadata") or {}).get("namespace") or None


class KindWatcher:
    """List+watch one kind into the feed until stopped; re-lists after a watch ends or expires."""

    def __init__(self, api: RemoteAPI, resource: APIResource, stop: threading.Event, log: Log) -> None:
        self.api, self.resource, self.stop, self.log = api, resource, stop, log
        self.thread = threading.Thread(target=self._main, name=f"watch-{resource.plural}", daemon=True)

    def _main(self) -> None:
        while not self.stop.is_set():
            try:
                listing = self.api.kube.request("GET", _path(self.resource))
                revision = listing["metadata"]["resourceVersion"]
                for obj in listing.get("items", []):
                    self.api.feed.push("MODIFIED", obj)
                for event in self._stream(revision):
                    self.api.feed.push(event["type"], event["object"])
            except (ChoreoError, OSError, ValueError) as exc:
                self.log("watch-error", level="warning", kind=self.resource.kind, error=str(exc))
                self.stop.wait(1.0)

    def _stream(self, revision: str) -> Iterator[Object]:
        query = {"watch": "1", "resourceVersion": revision, "timeoutSeconds": "60", "allowWatchBookmarks": "true"}
        with self.api.kube.open("GET", _path(self.resource), query=query, timeout=90) as response:
            for line in response:
                if self.stop.is_set():
                    return
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    raise ChoreoError(str(event.get("object", {}).get("message", "watch error")))
                if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                    yield event


# ----------------------------------------------------------------------------------------------- running


def _served_kind(crd: Object) -> Object:
    spec = crd["spec"]
    storage = next(v["name"] for v in spec["versions"] if v.get("storage"))
    return {"apiVersion": f"{spec['group']}/{storage}", "kind": spec["names"]["kind"]}


def _wait_served(api: RemoteAPI, resource: APIResource) -> None:
    deadline = time.monotonic() + ESTABLISH_SECONDS
    while not api.served(resource):
        if time.monotonic() > deadline:
            raise ChoreoError(f"the cluster does not serve {resource.plural}.{resource.group} yet")
        time.sleep(0.2)


def run_against(root: Path, kubeconfig: str, context: str | None, options: RunOptions, log: Log) -> None:
    """Install the project into the cluster and reconcile until a stop signal (``STOP_SIGNALS``)."""
    if options.plugins:
        raise ChoreoError(
            "-r/-s do not run against a Kubernetes API server yet: run the project with `choreo run DIR -r -s` "
            "or `choreo server start DIR -r -s`"
        )
    feed = EventFeed()
    api = RemoteAPI(kube_client(kubeconfig, context), feed)
    pipeline = Pipeline(root, options)
    project = pipeline.load(api)
    log("installed", crds=len(project.crds), inputs=len(project.inputs), refs=len(project.upstreams or []))
    stop = threading.Event()
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda *_args: stop.set())
    kinds = {(s.group, s.kind) for c in project.reconcilers for s in (c.for_, *c.owns, *c.watches)}
    for group, kind in sorted(kinds):
        resource = api.registry.get(group, kind)
        if resource is not None:
            KindWatcher(api, resource, stop, log).thread.start()
    controller = ContinuousController(
        api,
        pipeline.reconcilers(project),
        max_reconciles=options.max_reconciles,
        log=log,
        on_quiet=lambda outcome, errors, retries: log(
            "quiet",
            reconciles=len(outcome.events),
            errors=[message for _task, message in errors],
            retrying=len(retries),
        ),
    )
    log("ready", server=api.kube.url, reconcilers=len(project.reconcilers))
    controller.serve(stop)
    log("stopped")
