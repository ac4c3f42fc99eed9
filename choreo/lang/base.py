"""The contract between the controller runtime and a reconciler language engine.

The runtime hands an engine the for-object and a ``ReconcileClient``; the engine runs user code, calls
the client for every side effect, and returns a ``ReconcileOutput``. The runtime then applies children,
writes conditions and finalizers and decides done/requeue/error (``choreo.runtime``). Engines never
touch the store directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from choreo.api.objects import clone, gvk_of, meta


class ReconcileClient(Protocol):
    """Side effects user code may cause; every method raises ``choreo.errors.ChoreoError`` subclasses."""

    def get(self, api_version: str, kind: str, name: str, namespace: str) -> dict[str, Any]:
        """The object with managed fields; ``NotFound`` when absent."""
        ...

    def list(self, api_version: str, kind: str, field_selector: dict[str, str] | None) -> list[dict[str, Any]]:
        """Objects of the kind (all namespaces) whose CEL paths equal the selector values (§3.5)."""
        ...

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply now, field manager = reconciler name; returns the stored object."""
        ...

    def create_child(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Record a child; returns a copy carrying exactly one controller ownerReference to the for-object."""
        ...

    def apply_children(self) -> None:
        """Apply the recorded children now and delete this for-object's children not recorded."""
        ...

    def delete_children(self) -> None:
        """Delete every existing child of the for-object."""
        ...

    def log(self, message: str) -> None:
        """``print`` from user code."""
        ...


def owned_child(obj: dict[str, Any], owner_reference: dict[str, Any], namespace: str) -> dict[str, Any]:
    """What ``create_child`` records for ``obj``: a copy whose only owner reference is ``owner_reference``
    (a controller reference to the for-object), in ``namespace`` when it names none ("": left as it is)."""
    child = clone(obj)
    meta(child)["ownerReferences"] = [dict(owner_reference)]
    if namespace and not meta(child).get("namespace"):
        meta(child)["namespace"] = namespace
    return child


@dataclass(frozen=True)
class ChildRules:
    """How ``create_child`` turns an object into a child for one reconcile, known before it runs, so that
    a worker process can make the children itself instead of asking for each (``choreo.lang.isolation``).

    ``namespaces`` maps each kind it covers, ``(group, kind)``, to the namespace a child of that kind
    without one is put in ("" for none); a child of any other kind is made by the client itself."""

    owner_reference: dict[str, Any]
    namespaces: Mapping[tuple[str, str], str]

    def child(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        """The child ``create_child`` makes of ``obj``; None when its kind is not covered."""
        namespace = self.namespaces.get((gvk_of(obj).group, str(obj.get("kind", ""))))
        return None if namespace is None else owned_child(obj, self.owner_reference, namespace)


class ChildRecorder(Protocol):
    """A ``ReconcileClient`` whose children may be made elsewhere by its ``ChildRules`` and handed back."""

    def child_rules(self) -> ChildRules | None:
        """The rules ``create_child`` follows now (None: every child must be made by ``create_child``)."""
        ...

    def record_child(self, child: dict[str, Any]) -> None:
        """Record a child made by ``child_rules()``, as ``create_child`` would have (the rules applied again:
        what is recorded follows them whoever made it)."""
        ...


class WaitingWork(Protocol):
    """A ``ReconcileClient`` with work of its own to do while the reconcile's code runs elsewhere (in a
    worker process, ``choreo.lang.isolation``) and choreo would only wait for it."""

    def background(self) -> bool:
        """Do a little of that work (well under a millisecond); whether any is left."""
        ...

    def stalled(self) -> None:
        """The reconcile's code has said nothing for a while (``choreo.lang.isolation.STALL_SECONDS``) and
        choreo is about to wait for it: let go of what others may be waiting for meanwhile (a server's
        runner commits the group of writes it holds open)."""
        ...


@dataclass
class ReconcileOutput:
    """What user code returned.

    ``obj`` is the for-object as user code left it (None when the code returned no object).
    ``condition_type`` is set only by the 6-argument (EX era) ``reconcile_result`` form; ``None`` means
    the 5-argument (HEAD) form or a template engine. ``error`` holds the message passed to
    ``reconcile_result`` (empty on success).
    """

    obj: dict[str, Any] | None
    requeue: bool = False
    requeue_after: int = 0
    error: str = ""
    fatal: bool = False
    condition_type: str | None = None
    ex_era: bool = False


class ReconcilerEngine(Protocol):
    def reconcile(self, obj: dict[str, Any], client: ReconcileClient) -> ReconcileOutput:
        """Run user code once; raise ``choreo.errors.ReconcileError`` (message names file:line) on failure."""
        ...


@runtime_checkable
class TemplateEngine(ReconcilerEngine, Protocol):
    """An engine whose reconcile renders one child and records it, nothing else (Jinja2, Go templates).

    ``reconcile(obj, client)`` is ``client.create_child(rendered_child(obj))`` returning ``obj``
    unchanged, so the rendering can run apart from the recording (``choreo.lang.isolation`` renders in
    its worker and records in choreo, one exchange less per reconcile)."""

    def rendered_child(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The object rendered for ``obj``, checked to be one object of an owned kind."""
        ...
