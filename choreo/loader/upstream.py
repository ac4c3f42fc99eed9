"""Upstream refs: child projects pulled from git at a pinned commit and merged into the root project.

Why: a project can reuse another project's APIs, libraries, reconcilers and input data by declaring
``refs/*.yaml`` ``choreo.kform.dev/v1alpha1 UpstreamRef`` objects (spec §1.6). This module reads those
refs, fetches each pinned commit (``upstream_git``), loads the child folder with the ordinary project
loader, applies the reference's nesting and conflict rules recursively, and merges the children into
the root ``Project``:

- CRDs, input data and the children's own UpstreamRefs: children first, then the root's. Every ref type
  (absent, ``crd``, ``all``) brings the child's ``in/`` objects, as the reference of the example era does
  (its HEAD only does for ``type: all``). An object the root project defines too is the root's: the
  upstream's copy is left out. Two upstreams bringing one object is fine when both copies are equal,
  an error naming both files when they differ;
- libraries and reconcilers: one namespace — a name defined twice is an error naming both files;
- the UpstreamRef objects themselves are applied as data too.

Every object a child brings (and every Reconciler and Library object stored for it) carries the child's
origin annotation ``{"kind":"Upstream","url":..,"directory":..,"ref":..}`` so that ``sync`` can remove
what a child no longer holds (or every object of a ref that was removed or re-pinned). Messages name
child files as ``<refs file> -> <file in the child>``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from choreo.api.objects import ObjectKey
from choreo.errors import LoadError
from choreo.git import GitError, check_ref, check_url
from choreo.loader.libraries import merge_libraries
from choreo.loader.loading import cluster_kinds, load_project, object_key
from choreo.loader.project import (
    FILE_ORIGIN,
    ORIGIN_ANNOTATION,
    STATE_DIR,
    InputObject,
    Library,
    LoadedUpstream,
    Project,
    ReconcilerConfig,
)
from choreo.loader.reconcilers import CHOREO_API_VERSION, ReconcilerSet, merge_reconcilers
from choreo.loader.upstream_git import HASH_PATTERN, Pin, checkout

UPSTREAM_REF_KIND = "UpstreamRef"
REFS_STATE = "refs"
REF_TYPES = ("", "crd", "all")
PIN_TYPES = ("hash", "tag")
ORIGIN_KIND = "Upstream"
CHAIN = " -> "


@dataclass(frozen=True)
class UpstreamRef:
    """A validated ``UpstreamRef`` spec."""

    source: str
    url: str
    directory: str  # "." = the repository root
    pin: Pin
    type: str  # "" | "crd" | "all"

    @property
    def origin(self) -> str:
        """The origin annotation of the objects this ref brings (compact JSON, fixed key order)."""
        fields = {"kind": ORIGIN_KIND, "url": self.url, "directory": self.directory, "ref": self.pin.name}
        return json.dumps(fields, separators=(",", ":"))

    @property
    def location(self) -> str:
        return f"{self.url} directory {self.directory}"


@dataclass
class _Child:
    ref: UpstreamRef
    commit: str
    project: Project


@dataclass
class _Walk:
    """State of one recursive resolution: where clones live, what was loaded so far."""

    state_dir: Path
    seen: dict[tuple[str, str], UpstreamRef] = field(default_factory=dict)
    children: list[_Child] = field(default_factory=list)


def is_loader_origin(value: Any) -> bool:
    """True for the origin annotations the input loader writes: ``File`` and every ``Upstream`` one."""
    if value == FILE_ORIGIN:
        return True
    if not isinstance(value, str) or not value.startswith("{"):
        return False
    try:
        parsed = json.loads(value)
    except ValueError:
        return False
    return isinstance(parsed, dict) and parsed.get("kind") == ORIGIN_KIND


def loaded_from_project(obj: dict[str, Any]) -> bool:
    """Whether the input loader applied ``obj`` from the project's files (its ``in/`` folder or an upstream's),
    as its origin annotation says."""
    md = obj.get("metadata")
    annotations = md.get("annotations") if isinstance(md, dict) else None
    return isinstance(annotations, dict) and is_loader_origin(annotations.get(ORIGIN_ANNOTATION))


def load_upstreams(project: Project) -> None:
    """Resolve ``project.refs`` recursively and merge the children into ``project`` (once).

    Raises ``LoadError`` naming the refs file for a bad ref, an unreachable repository, an unknown
    commit or tag, a conflict or a forbidden nesting; ``project`` is unchanged then.
    """
    if project.upstreams is not None:
        return
    walk = _Walk(state_dir=project.root / STATE_DIR / REFS_STATE)
    _resolve_level(project.refs, None, walk)
    _merge(project, walk.children)


# ---------------------------------------------------------------------------------------------
# Reading refs


def parse_ref(item: InputObject) -> UpstreamRef:
    """Validate one document of ``refs/``."""
    obj, source = item.obj, item.source
    if (obj.get("apiVersion"), obj.get("kind")) != (CHOREO_API_VERSION, UPSTREAM_REF_KIND):
        raise LoadError(
            f"{source}: only {CHOREO_API_VERSION} {UPSTREAM_REF_KIND} belongs in refs/, "
            f"got {obj.get('apiVersion')} {obj.get('kind')}"
        )
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        raise LoadError(f"{source}: spec {_required_or_shape(spec, 'a mapping')} (url, ref)")
    return UpstreamRef(
        source=source,
        url=_url(spec.get("url"), source),
        directory=_directory(spec.get("directory"), source),
        pin=_pin(spec.get("ref"), source),
        type=_ref_type(spec.get("type"), source),
    )


def _url(value: Any, source: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LoadError(f"{source}: spec.url {_required_or_shape(value, 'a string')} (the git repository URL)")
    try:
        return check_url(value.strip())
    except GitError as exc:
        raise LoadError(f"{source}: spec.url: {exc}") from None


def _directory(value: Any, source: str) -> str:
    if value is None or value == "":
        return "."
    if not isinstance(value, str):
        raise LoadError(f"{source}: spec.directory must be a string")
    path = PurePosixPath(value.strip("/") or ".")
    if value.startswith("/") or ".." in path.parts:
        raise LoadError(f"{source}: spec.directory {value!r} must be a relative path inside the repository")
    return str(path)


def _pin(value: Any, source: str) -> Pin:
    if not isinstance(value, dict):
        raise LoadError(f"{source}: spec.ref {_required_or_shape(value, 'a mapping')} (type: hash or tag, name)")
    pin_type, name = value.get("type"), value.get("name")
    if pin_type == "branch":
        raise LoadError(
            f"{source}: spec.ref.type must be hash or tag, got 'branch': choreo reads a pinned commit, never a "
            "branch that may move; pin the branch's current commit (type: hash) or a tag"
        )
    if pin_type not in PIN_TYPES:
        raise LoadError(f"{source}: spec.ref.type must be hash or tag, got {pin_type!r}")
    if not isinstance(name, str) or not name.strip():
        raise LoadError(f"{source}: spec.ref.name {_required_or_shape(name, 'a string')} (the commit hash or tag)")
    name = name.strip()
    if pin_type == "hash" and not HASH_PATTERN.match(name):
        raise LoadError(f"{source}: spec.ref.name must be a commit hash (7 to 64 hex digits), got {name!r}")
    try:
        check_ref(name, what="tag name")
    except GitError as exc:
        raise LoadError(f"{source}: spec.ref.name: {exc}") from None
    return Pin(pin_type, name)


def _required_or_shape(value: Any, shape: str) -> str:
    """How a field that is not usable is wrong: missing (absent, null, blank) or of another shape."""
    missing = value is None or (isinstance(value, str) and not value.strip())
    return "is required" if missing else f"must be {shape}"


def _ref_type(value: Any, source: str) -> str:
    ref_type = "" if value is None else value
    if ref_type not in REF_TYPES:
        raise LoadError(f"{source}: spec.type must be crd, all or empty, got {value!r}")
    return str(ref_type)


# ---------------------------------------------------------------------------------------------
# Resolving the tree of children


def _resolve_level(items: list[InputObject], parent: UpstreamRef | None, walk: _Walk) -> None:
    """Load the refs of one project (the root or a child), then each child's own refs, depth first."""
    for item in items:
        ref = parse_ref(item)
        _check_nesting(ref, parent)
        _check_conflict(ref, walk.seen)
        walk.seen[(ref.url, ref.directory)] = ref
        child = _load_child(ref, walk.state_dir)
        walk.children.append(child)
        _resolve_level(child.project.refs, ref, walk)


def _check_nesting(ref: UpstreamRef, parent: UpstreamRef | None) -> None:
    if parent is None:
        return
    if parent.type == "crd":
        raise LoadError(
            f"{ref.source}: cannot nest upstreamref {ref.location} under upstreamref {parent.source} of type crd"
        )
    if ref.type == "all":
        raise LoadError(
            f"{ref.source}: cannot nest upstreamref {ref.location} of type all under upstreamref {parent.source}"
        )


def _check_conflict(ref: UpstreamRef, seen: dict[tuple[str, str], UpstreamRef]) -> None:
    other = seen.get((ref.url, ref.directory))
    if other is not None:
        raise LoadError(f"{ref.source}: conflicting upstreamrefs: {ref.location} is also referenced by {other.source}")


def _load_child(ref: UpstreamRef, state_dir: Path) -> _Child:
    try:
        commit, tree = checkout(state_dir, ref.url, ref.pin)
    except GitError as exc:
        raise LoadError(f"{ref.source}: {exc}") from None
    root = tree / ref.directory
    if not root.is_dir():
        raise LoadError(f"{ref.source}: spec.directory {ref.directory} not found at {ref.pin.label} of {ref.url}")
    try:
        child = load_project(root)
    except LoadError as exc:
        raise LoadError(f"{ref.source}{CHAIN}{exc}") from None
    return _Child(ref, commit, _relabel(child, ref))


def _relabel(child: Project, ref: UpstreamRef) -> Project:
    """The child with every source prefixed by the refs file and every object marked with its origin."""
    prefix = f"{ref.source}{CHAIN}"

    def item(obj: InputObject) -> InputObject:
        return InputObject(obj.obj, prefix + obj.source, ref.origin)

    def reconciler(config: ReconcilerConfig) -> ReconcilerConfig:
        files = {key: prefix + path for key, path in config.code_files.items()}
        return dataclasses.replace(config, source=prefix + config.source, code_files=files, origin=ref.origin)

    def library(lib: Library) -> Library:
        return dataclasses.replace(lib, source=prefix + lib.source, origin=ref.origin)

    return dataclasses.replace(
        child,
        crds=[item(o) for o in child.crds],
        inputs=[item(o) for o in child.inputs],
        refs=[item(o) for o in child.refs],
        reconcilers=[reconciler(c) for c in child.reconcilers],
        libraries={name: library(lib) for name, lib in child.libraries.items()},
        warnings=[prefix + w for w in child.warnings],
    )


# ---------------------------------------------------------------------------------------------
# Merging


def _merge(project: Project, children: list[_Child]) -> None:
    """Fold the children into ``project``; validate everything before changing anything."""
    reconcilers, _ = merge_reconcilers(
        ReconcilerSet(directories=[*project.reconcilers, *(c for ch in children for c in ch.project.reconcilers)]), []
    )
    libraries, _ = merge_libraries(
        [*project.libraries.values(), *(lib for ch in children for lib in ch.project.libraries.values())], [], []
    )
    upstream_crds = [o for ch in children for o in ch.project.crds]
    cluster = cluster_kinds([*upstream_crds, *project.crds])
    own = {object_key(o.obj, cluster) for o in [*project.crds, *project.refs, *project.inputs]}
    crds = _upstream_objects(upstream_crds, own, cluster)
    refs = _upstream_objects([o for ch in children for o in ch.project.refs], own, cluster)
    inputs = _upstream_objects([o for ch in children for o in ch.project.inputs], own, cluster)
    project.crds = [*crds, *project.crds]
    project.refs = [*project.refs, *refs]
    project.inputs = [*inputs, *project.inputs]
    project.reconcilers, project.libraries = reconcilers, libraries
    project.warnings = [*project.warnings, *(w for ch in children for w in ch.project.warnings)]
    project.upstreams = [
        LoadedUpstream(ch.ref.source, ch.ref.origin, ch.commit, ch.project.root) for ch in children
    ]


def _upstream_objects(
    items: list[InputObject], own: set[tuple[str, str, str, str] | None], cluster: set[tuple[str, str]]
) -> list[InputObject]:
    """The upstream objects to apply: each once, none the root project defines itself.

    The root's own object replaces the upstream's (so a project can adjust what it reuses), and each
    object is applied once per load, so its resourceVersion does not move when nothing changed. Two
    upstream copies must be equal (one is applied); different copies are an error naming both files.
    """
    kept: dict[tuple[str, str, str, str], InputObject] = {}
    result = []
    for item in items:
        key = object_key(item.obj, cluster)
        if key is None:  # no usable name: applying it says so
            result.append(item)
            continue
        if key in own:
            continue
        first = kept.setdefault(key, item)
        if first is not item:
            if first.obj != item.obj:
                raise LoadError(
                    f"{item.source}: {ObjectKey(*key)} differs from the one in {first.source} "
                    "(two upstream refs bring it; define it in this project to choose)"
                )
            continue
        result.append(item)
    return result
