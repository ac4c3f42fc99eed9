"""Admission hooks: code that runs inside the API server's write transaction for one kind.

Plug-ins use them for behaviour that must happen synchronously with a write, like the reference's
allocator "invokers": an IP claim is allocated while it is being written, so whoever wrote it reads
``status`` filled in straight away. A hook that raises rejects the write; since it runs inside the same
store transaction, nothing of the write (nor anything the hook wrote) is kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from choreo.apiserver.interface import ObjectAPI

Object = dict[str, Any]


class AdmissionHook(Protocol):
    def admit(self, api: ObjectAPI, old: Object | None, new: Object) -> None:
        """Before ``new`` is stored (validated, server fields set): may change ``new`` in place,
        e.g. fill in ``status``; raise a ``ChoreoError`` to reject the write."""
        ...

    def stored(self, api: ObjectAPI, old: Object | None, new: Object) -> None:
        """After ``new`` was stored (same transaction): may write other objects."""
        ...

    def deleting(self, api: ObjectAPI, obj: Object) -> None:
        """Before ``obj`` is removed for good (same transaction): release what it holds."""
        ...


class BaseHook:
    """A hook that does nothing; subclass and override what you need."""

    def admit(self, api: ObjectAPI, old: Object | None, new: Object) -> None:
        return None

    def stored(self, api: ObjectAPI, old: Object | None, new: Object) -> None:
        return None

    def deleting(self, api: ObjectAPI, obj: Object) -> None:
        return None


def delete_every(api: ObjectAPI, group: str, kind: str, namespace: str | None = None) -> None:
    """Delete every object of a kind (in ``namespace``, or everywhere), as ``deleting`` hooks whose object
    takes others along do (a Namespace, a CustomResourceDefinition); one an earlier delete took in cascade
    is skipped."""
    for item in api.list(group, kind, namespace):
        md = item["metadata"]
        if api.try_get(group, kind, md.get("namespace", ""), md["name"]) is not None:
            api.delete(group, kind, md.get("namespace", ""), md["name"])
