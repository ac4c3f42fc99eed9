"""The API the engine is written against, as a Protocol.

The pipeline, the loader's sync and the controller only need this much of the place where objects live:
the kinds it serves, reads and writes of objects, its change events, its record tables and a way to group
writes. ``APIServer`` (choreo's own server over a local store) and ``server.remote.RemoteAPI`` (objects in a
Kubernetes cluster) both provide it, each in its own way — the same split client-go makes between a client
interface and the implementations behind it. Code that needs more than this (admission hooks, stored-state
inventories, the HTTP layer) is written against ``APIServer`` itself.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

from choreo.api.objects import ObjectKey
from choreo.apiserver.hooks import AdmissionHook
from choreo.apiserver.openapi import SchemaInfo
from choreo.apiserver.registry import APIResource, Registry
from choreo.store.base import EventSource, RecordStore
from choreo.store.head import Head

Object = dict[str, Any]


class ObjectAPI(Protocol):
    """Kinds, objects, events, records and transactions: what every mode of a run talks to."""

    @property
    def registry(self) -> Registry:
        """The kinds this API serves (for a remote cluster: the kinds the project defined)."""
        ...

    @property
    def events(self) -> EventSource:
        """Changes to objects, for the controller's watches."""
        ...

    @property
    def records(self) -> RecordStore:
        """Run records, snapshots and plug-in state."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """Group writes into one atomic unit where the API has transactions (a cluster has none)."""
        ...

    def ratcheting(self) -> AbstractContextManager[None]:
        """Within it (on this thread), an update is refused only for what it changes: a value the stored
        object already had that the kind's current schema refuses passes, as kube-apiserver's validation
        ratcheting lets it (a cluster always ratchets)."""
        ...

    def register_crd(self, crd: Object, *, source: str = "", choreo_api: bool = False) -> APIResource: ...

    def migrate_versions(self, resource: APIResource) -> int: ...

    def semantics(self, resource: APIResource) -> SchemaInfo: ...

    def get(self, group: str, kind: str, namespace: str, name: str, *, managed_fields: bool = True) -> Object: ...

    def try_get(self, group: str, kind: str, namespace: str, name: str) -> Object | None: ...

    def list(
        self,
        group: str,
        kind: str,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
        *,
        managed_fields: bool = True,
    ) -> builtins.list[Object]: ...

    def view(self, group: str, kind: str, namespace: str, name: str, *, keep: bool = True) -> Object | None:
        """``try_get`` for a caller that only reads: the object may be the store's own, never to be mutated.
        ``keep=False``: the object's last reader (``Backend.view``)."""
        ...

    def view_list(self, group: str, kind: str, namespace: str | None = None) -> builtins.list[Object]:
        """``list`` (managed fields included) for a caller that only reads: the objects may be the store's
        own, shared with every other reader, so they must never be mutated."""
        ...

    def head(self, group: str, kind: str, namespace: str, name: str) -> Head | None:
        """What the engine reads of every object (uid, resourceVersion, owners, managers, labels), without
        the object itself where the API keeps heads (``choreo.store.head``)."""
        ...

    def heads(self, group: str, kind: str) -> builtins.list[tuple[ObjectKey, Head]]:
        """The key and head of every object of a kind (every namespace), in ``list``'s order."""
        ...

    def hooked(self, group: str, kind: str) -> bool:
        """Whether admission hooks run on writes of this kind (they may act even on a write that changes
        nothing, so such a write cannot be skipped)."""
        ...

    def background(self) -> bool:
        """Do a little of the storage work this API put off, for a caller that would otherwise wait (for a
        reconcile worker); whether any is left. Nothing is visible to anyone before or after it."""
        ...

    def contended(self) -> bool:
        """Whether another caller waits for this API while a transaction holds it (a server's runner, which
        commits its writes in groups, lets it in then)."""
        ...

    # Writes: with ``dry_run`` every check runs and the answer is what would be stored, but nothing is.

    def create(self, obj: Object, *, manager: str = "", dry_run: bool = False) -> Object: ...

    def update(self, obj: Object, *, manager: str = "", dry_run: bool = False) -> Object: ...

    def apply(self, obj: Object, *, manager: str, force: bool = False, dry_run: bool = False) -> Object: ...

    def apply_status(self, obj: Object, *, manager: str, force: bool = False, dry_run: bool = False) -> Object: ...

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
        """Delete the object (``expected_rv``/``expected_uid``: only if it still has them, else ``Conflict``).
        Its dependents are deleted in cascade, or with ``orphan`` kept without their owner reference to it."""
        ...

    def dependents(self, uid: str, group: str | None = None, kind: str | None = None) -> builtins.list[Object]:
        """Objects whose ownerReferences name ``uid`` (optionally of one kind); like ``view_list``'s, never to be
        mutated."""
        ...

    def stored_objects(self) -> Iterator[Object]:
        """Every object, managed fields included, by group, kind, namespace and name (for inventories); like
        ``view_list``'s, never to be mutated."""
        ...

    def unserved_objects(self) -> Iterator[Object]:
        """Stored objects of kinds no registered CRD defines any more (for clean-up after a CRD removal); like
        ``view_list``'s, never to be mutated."""
        ...

    def drop_unserved(self, obj: Object) -> None:
        """Remove one of ``unserved_objects``."""
        ...


class HookHost(ObjectAPI, Protocol):
    """An ``ObjectAPI`` that runs admission hooks in its writes: what a plug-in installs its kinds into."""

    def add_hook(self, group: str, kind: str, hook: AdmissionHook) -> None: ...
