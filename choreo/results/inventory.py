"""The inventory: every stored object of a moment, with what diff and deps need to know about it.

Snapshots store inventories, ``run diff`` compares two of them and ``run deps`` draws one as a tree, so
the shared notions live here: an object's identity (apiVersion, kind, namespace, name, uid — a
re-created object is a different object, as in the reference), whether its kind is a built-in choreo API
(hidden unless asked for), and how its name is shown.

Namespaces (compat spec §7.2): the reference prints bare names because its storage ignores namespaces.
We keep its format for the usual case and name the namespace only when it says something: objects in
``default`` and cluster-scoped objects show ``<name>``, objects in any other namespace ``<namespace>/<name>``.
Names cannot contain ``/``, so the shown form stays unambiguous within a kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from choreo.api.gvk import GVK
from choreo.api.objects import Object, key_of
from choreo.apiserver.interface import ObjectAPI

DEFAULT_NAMESPACE = "default"

Identity = tuple[str, str, str, str, str]  # apiVersion, kind, namespace, name, uid


@dataclass(frozen=True)
class Item:
    """One object of an inventory; ``choreo_api`` marks the built-in kinds (CRDs, Reconcilers, ...)."""

    obj: Object
    choreo_api: bool = False

    @property
    def metadata(self) -> dict[str, Any]:
        md = self.obj.get("metadata")
        return md if isinstance(md, dict) else {}

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion") or "")

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind") or "")

    @property
    def uid(self) -> str:
        return str(self.metadata.get("uid") or "")

    @property
    def identity(self) -> Identity:
        md = self.metadata
        return (self.api_version, self.kind, str(md.get("namespace") or ""), str(md.get("name") or ""), self.uid)

    @property
    def gvk(self) -> GVK:
        return GVK.from_api_version(self.api_version, self.kind)

    @property
    def shown_name(self) -> str:
        return shown_name(self.obj)

    @property
    def label(self) -> str:
        """``<Kind>.<apiVersion> <name>``, the reference's one-line object form (``get``, ``deps``)."""
        return f"{self.kind}.{self.api_version} {self.shown_name}"


def shown_name(obj: Object) -> str:
    md = obj.get("metadata") or {}
    name = str(md.get("name") or "")
    namespace = str(md.get("namespace") or "")
    return name if namespace in ("", DEFAULT_NAMESPACE) else f"{namespace}/{name}"


def current_inventory(api: ObjectAPI) -> list[Item]:
    """Every object in ``api``'s store, managed fields included, in store order (group, kind, ns, name)."""
    flags: dict[tuple[str, str], bool] = {}  # by (apiVersion, kind): looked up once per kind
    items = []
    for obj in api.stored_objects():
        kind = (obj["apiVersion"], obj["kind"])
        flag = flags.get(kind)
        if flag is None:
            flag = flags[kind] = is_choreo_api(api, key_of(obj).group, obj["kind"])
        items.append(Item(obj, flag))
    return items


def is_choreo_api(api: ObjectAPI, group: str, kind: str) -> bool:
    resource = api.registry.get(group, kind)
    return resource is not None and resource.choreo_api


def visible(items: list[Item], show_choreo_apis: bool) -> list[Item]:
    return items if show_choreo_apis else [item for item in items if not item.choreo_api]
