"""The kind registry: which kinds exist, how they are named, scoped, versioned and validated.

Kinds come from ``apiextensions.k8s.io/v1`` CustomResourceDefinitions: the built-in ones shipped in
``builtin/`` (CRD, Reconciler, Library, UpstreamRef), the ones plug-ins ship, and the project's own.
Lookups accept every spelling users type on the command line (plural, singular, kind, short name,
each optionally followed by ``.group``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Protocol, TypeVar

import yaml

from choreo.api.gvk import GVK, GroupKind
from choreo.apiserver import crdcheck
from choreo.errors import Invalid, NotFound

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: every command reads these
_EXTERNAL_VERSION = re.compile(r"^v\d+((alpha|beta)\d+)?$")


@dataclass
class APIResource:
    group: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    storage_version: str
    served_versions: list[str]
    schemas: dict[str, dict[str, Any]]  # version -> openAPIV3Schema
    list_kind: str = ""
    short_names: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    status_subresource: bool = False
    choreo_api: bool = False  # built-in kinds are hidden from deps/diff/GC unless asked
    source: str = ""

    @property
    def group_kind(self) -> GroupKind:
        return GroupKind(self.group, self.kind)

    @property
    def served_form(self) -> list[Any]:
        """What writing or validating an object of this kind depends on (names, scope, versions, schemas,
        status subresource): the part of a kind that digests of remembered work key on."""
        return [self.group, self.kind, self.namespaced, self.storage_version, self.served_versions, self.schemas,
                self.status_subresource]

    @property
    def kind_name(self) -> str:
        """How choreo's messages name the kind: ``Greeting.example.com``; a core kind by itself (``Namespace``)."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def plural_name(self) -> str:
        """How kube-apiserver's messages name it: ``greetings.example.com``; a core kind by its plural."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def gvk(self) -> GVK:
        return GVK(self.group, self.storage_version, self.kind)

    @property
    def api_version(self) -> str:
        return self.gvk.api_version

    @property
    def schema(self) -> dict[str, Any]:
        return self.schemas.get(self.storage_version) or {}

    def schema_for(self, version: str) -> dict[str, Any]:
        return self.schemas.get(version) or self.schema


def crd_group_kind(crd: dict[str, Any]) -> GroupKind:
    """The group and kind a CustomResourceDefinition defines (empty when it does not say)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    return GroupKind(str(spec.get("group", "")), str(names.get("kind", "") if isinstance(names, dict) else ""))


def resource_from_crd(crd: dict[str, Any], *, source: str = "", choreo_api: bool = False) -> APIResource:
    """Build an APIResource from a CRD dict; ``Invalid`` names the CRD and the broken field."""
    name = crdcheck.crd_name(crd)
    where = f"{source}: " if source else ""
    where += f"CustomResourceDefinition {name}"

    def bad(msg: str) -> Invalid:
        return Invalid(f"{where}: {msg}")

    problem = crdcheck.first_problem(crd)
    if problem:
        raise bad(problem)
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        raise bad("spec is required")
    names = spec.get("names") or {}
    group = spec.get("group")
    kind = names.get("kind")
    plural = names.get("plural")
    if not group or not isinstance(group, str):
        raise bad("spec.group is required")
    if not kind:
        raise bad("spec.names.kind is required")
    if not plural:
        raise bad("spec.names.plural is required")
    if name and name != f"{plural}.{group}":
        raise bad(f'metadata.name must be spec.names.plural+"."+spec.group ({plural}.{group})')
    scope = spec.get("scope", "Namespaced")
    if scope not in ("Namespaced", "Cluster"):
        raise bad(f'spec.scope: Unsupported value: "{scope}": supported values: "Cluster", "Namespaced"')
    versions = spec.get("versions") or []
    if not versions:
        raise bad("spec.versions must have at least one version")
    storage = [v for v in versions if v.get("storage")]
    if len(storage) != 1:
        raise bad("no storage version" if not storage else "only one version may have storage: true")
    schemas: dict[str, dict[str, Any]] = {}
    served: list[str] = []
    status = False
    for version in versions:
        vname = version.get("name", "")
        if not vname:
            raise bad("spec.versions[].name is required")
        if not _EXTERNAL_VERSION.match(vname) and not version.get("storage"):
            raise bad(f"internal version {vname} must be the storage version")
        schemas[vname] = ((version.get("schema") or {}).get("openAPIV3Schema")) or {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
        }
        if version.get("served", True):
            served.append(vname)
        if version.get("storage"):
            status = "status" in (version.get("subresources") or {})
    return APIResource(
        group=group,
        kind=kind,
        plural=plural,
        singular=names.get("singular") or kind.lower(),
        namespaced=scope == "Namespaced",
        storage_version=storage[0]["name"],
        served_versions=served,
        schemas=schemas,
        list_kind=names.get("listKind") or f"{kind}List",
        short_names=list(names.get("shortNames") or []),
        categories=list(names.get("categories") or []),
        status_subresource=status,
        choreo_api=choreo_api,
        source=source,
    )


def builtin_crds() -> list[dict[str, Any]]:
    """The CRDs of the kinds every choreo project has."""
    folder = resources.files("choreo.apiserver") / "builtin"
    docs = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            docs.append(yaml.load(entry.read_text(), Loader=_YAML_LOADER))
    return docs


class KindNames(Protocol):
    """The names a kind is known by (an ``APIResource``, or a server's discovery entry)."""

    @property
    def group(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def plural(self) -> str: ...
    @property
    def singular(self) -> str: ...
    @property
    def short_names(self) -> Sequence[str]: ...


Named = TypeVar("Named", bound=KindNames)


def resolve_kind(candidates: Iterable[Named], name: str) -> Named:
    """The kind ``name`` means, as kubectl reads a resource argument: plural, singular, kind or short name,
    optionally followed by ``.group`` or by the start of a group (``ipclaims.ipam``), or ``RESOURCE.VERSION.GROUP``
    (``nodes.v1alpha1.infra.kuid.dev``). A name of kinds in several groups means the core group's, when one
    of them is in it (``events``: core ``v1`` Events, not ``events.k8s.io``'s); otherwise it is ambiguous."""
    known = list(candidates)
    resource, _, group = name.partition(".")
    resource = resource.lower()
    version, _, versioned_group = group.partition(".")
    if "." in group:  # kubectl tries RESOURCE.VERSION.GROUP first (``namespaces.v1.``: the core group)
        for candidate in known:
            served = getattr(candidate, "served_versions", None) or [getattr(candidate, "version", "")]
            if candidate.group == versioned_group and version in served and resource in _spellings(candidate):
                return candidate
    matches = [c for c in known if resource in _spellings(c) and (not group or c.group == group)]
    if not matches and group:  # the start of a group names it when nothing has the group in full
        matches = [c for c in known if resource in _spellings(c) and c.group.startswith(group)]
    core = [m for m in matches if m.group == ""]
    if len(matches) == 1 or len(core) == 1:
        return core[0] if core else matches[0]
    if not matches:
        raise NotFound(f'the server doesn\'t have a resource type "{resource}"')
    groups = ", ".join(f"{m.plural}.{m.group}" for m in matches)
    raise Invalid(f'resource type "{name}" is ambiguous: {groups}')


def _spellings(candidate: KindNames) -> set[str]:
    return {candidate.plural, candidate.singular, candidate.kind.lower(), *candidate.short_names}


class Registry:
    """All kinds known to one API server, keyed by group+kind (version-less, like the reference)."""

    def __init__(self) -> None:
        # By (group, kind) as a plain tuple: every API call looks a kind up, and a tuple hashes in C where
        # the GroupKind dataclass hashes in Python.
        self._by_group_kind: dict[tuple[str, str], APIResource] = {}
        self._served: dict[tuple[str, str], APIResource] = {}  # for_object's answers by (apiVersion, kind)

    def add(self, resource: APIResource) -> None:
        existing = self._by_group_kind.get((resource.group, resource.kind))
        if existing is not None and existing.choreo_api and not resource.choreo_api:
            raise Invalid(f"{resource.source}: kind {resource.group_kind} is built in and cannot be redefined")
        self._by_group_kind[(resource.group, resource.kind)] = resource
        self._served.clear()

    def remove(self, group_kind: GroupKind) -> None:
        self._by_group_kind.pop((group_kind.group, group_kind.kind), None)
        self._served.clear()

    def resources(self) -> list[APIResource]:
        """Every kind, sorted by plural then group (the reference's api-resources order)."""
        return sorted(self._by_group_kind.values(), key=lambda r: (r.plural, r.group))

    def get(self, group: str, kind: str) -> APIResource | None:
        return self._by_group_kind.get((group, kind))

    def require(self, group: str, kind: str) -> APIResource:
        """The kind, or NotFound naming it: what every read and delete by group/kind needs first."""
        resource = self.get(group, kind)
        if resource is None:
            raise NotFound(f"no kind {kind}.{group} is registered" if group else f"no kind {kind} is registered")
        return resource

    def for_object(self, obj: dict[str, Any]) -> APIResource:
        """The kind of an object, checking its apiVersion is a served version."""
        api_version = str(obj.get("apiVersion") or "")
        kind = str(obj.get("kind") or "")
        resource = self._served.get((api_version, kind))
        if resource is not None:
            return resource
        if not api_version or not kind:
            raise Invalid("object has no apiVersion or kind")
        gvk = GVK.from_api_version(api_version, kind)
        resource = self.get(gvk.group, kind)
        if resource is None or gvk.version not in resource.served_versions:
            raise NotFound(f"no kind {kind} is registered for version {api_version}")
        self._served[(api_version, kind)] = resource
        return resource

    def resolve(self, name: str) -> APIResource:
        """Find a kind from what a user typed: plural, singular, kind or short name, optionally ``.group``."""
        return resolve_kind(self.resources(), name)
