"""Entry points of the loader: a project folder in, a ``Project`` out (and ``dev parse``).

Why: this is the one place that knows which folder holds what (spec §1.1) and in which order they
are read — crds/, libraries, reconcilers/, in/, refs/ — so the API server and the runtime get plain,
validated data and every user mistake surfaces as one ``LoadError`` naming the file. Missing folders
are empty. Objects of unknown kinds in ``in/`` are kept: the API server decides what it accepts. An
object or a kind defined twice is refused here, naming both files, before anything is applied.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Any

from choreo.abandon import checkpoint
from choreo.api.gvk import GroupKind
from choreo.api.objects import ObjectKey
from choreo.errors import LoadError
from choreo.loader.files import Folder
from choreo.loader.libraries import (
    is_library_object,
    library_from_object,
    load_crds_libraries,
    load_libs_folder,
    merge_libraries,
)
from choreo.loader.project import InputObject, Library, Project, ReconcilerConfig
from choreo.loader.reconcilers import (
    CHOREO_API_VERSION,
    is_reconciler_object,
    load_reconcilers_folder,
    merge_reconcilers,
    reconciler_from_object,
)
from choreo.loader.yamlio import ParsedDocuments, file_objects, read_yaml_documents

__all__ = ["cluster_kinds", "load_project", "object_key", "read_folder_objects", "read_yaml_documents"]

CRDS, INPUT, RECONCILERS, LIBS, REFS = "crds", "in", "reconcilers", "libs", "refs"
YAML_SUFFIXES = (".yaml", ".yml")
CRD_API_VERSION = "apiextensions.k8s.io/v1"
CRD_KIND = "CustomResourceDefinition"
CRD_GROUP = CRD_API_VERSION.partition("/")[0]
CHOREO_GROUP = CHOREO_API_VERSION.partition("/")[0]  # its kinds (Reconciler, Library, UpstreamRef) are cluster scoped
DEFAULT_NAMESPACE = "default"


def read_folder_objects(folder: Folder, parsed: ParsedDocuments | None = None) -> list[InputObject]:
    """Every document of the ``*.yaml``/``*.yml`` files directly in a folder, files in name order."""
    objects: list[InputObject] = []
    for file in folder.files(YAML_SUFFIXES):
        checkpoint()  # a server that stops does not wait for the rest of a large folder
        objects.extend(file_objects(file.path, file.source, parsed))
    return objects


def _load_crds(folder: Folder) -> list[InputObject]:
    crds = read_folder_objects(folder)
    for item in crds:
        api_version, kind = item.obj["apiVersion"], item.obj["kind"]
        if (api_version, kind) != (CRD_API_VERSION, CRD_KIND):
            raise LoadError(
                f"{item.source}: only {CRD_API_VERSION} {CRD_KIND} belongs in {folder.name}/, got {api_version} {kind}"
            )
    return crds


def _split_inputs(
    items: list[InputObject],
) -> tuple[list[InputObject], list[ReconcilerConfig], list[Library]]:
    """Input data apart from the Reconciler and Library objects ``dev parse`` wrote into ``in/``."""
    data, reconcilers, libraries = [], [], []
    for item in items:
        if is_reconciler_object(item.obj):
            reconcilers.append(reconciler_from_object(item))
        elif is_library_object(item.obj):
            libraries.append(library_from_object(item))
        else:
            data.append(item)
    return data, reconcilers, libraries


# ---------------------------------------------------------------------------------------------
# Duplicates
#
# Two files describing one object (or one kind) would be applied one after the other and the last would
# silently win, so whichever file a user edits may be the one that is ignored. The loader refuses them,
# before anything is applied, naming both places.


def _check_unique(keyed: Iterable[tuple[Hashable | None, InputObject]], describe: Callable[[Any], str]) -> None:
    """Raise ``LoadError`` at the second item with a key already seen (``None`` keys are not compared)."""
    first: dict[Hashable, InputObject] = {}
    for key, item in keyed:
        if key is None:
            continue
        other = first.setdefault(key, item)
        if other is not item:
            raise LoadError(f"{item.source}: duplicate {describe(key)}, also in {other.source}")


def object_key(obj: dict[str, Any], cluster_kinds: set[tuple[str, str]]) -> tuple[str, str, str, str] | None:
    """The identity the API server will give the object, as ``ObjectKey`` fields (no namespace: ``default``).

    None for an object without a usable name: applying it reports that, naming the field. A plain tuple,
    not an ``ObjectKey``: this runs for every input object of every load.
    """
    metadata = obj.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(metadata, dict) or not isinstance(name, str) or not name:
        return None
    group, kind = obj["apiVersion"].rpartition("/")[0], obj["kind"]
    if group == CHOREO_GROUP or (group, kind) in cluster_kinds:
        namespace = ""  # cluster scoped: a namespace is not part of the identity (and is refused when applied)
    else:
        namespace = str(metadata.get("namespace") or DEFAULT_NAMESPACE)
    return group, kind, namespace, name


def _defined_kind(crd: dict[str, Any]) -> GroupKind | None:
    """The kind a CRD defines, None when its spec is malformed (registering it says why)."""
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return None
    group, names = spec.get("group"), spec.get("names")
    kind = names.get("kind") if isinstance(names, dict) else None
    return GroupKind(group, kind) if isinstance(group, str) and isinstance(kind, str) else None


def cluster_kinds(crds: list[InputObject]) -> set[tuple[str, str]]:
    """The kinds known here to be cluster scoped: CRDs themselves and the project's ``scope: Cluster`` ones."""
    kinds = {(CRD_GROUP, CRD_KIND)}
    for item in crds:
        kind = _defined_kind(item.obj)
        if kind is not None and item.obj["spec"].get("scope") == "Cluster":
            kinds.add((kind.group, kind.kind))
    return kinds


def _check_duplicates(crds: list[InputObject], others: list[InputObject]) -> None:
    """No object defined twice among CRDs, refs and inputs; no kind defined by two CRDs."""
    cluster = cluster_kinds(crds)
    keyed = ((object_key(item.obj, cluster), item) for item in crds + others)
    _check_unique(keyed, lambda key: str(ObjectKey(*key)))
    _check_unique(((_defined_kind(item.obj), item) for item in crds), lambda kind: f"{CRD_KIND} for kind {kind}")


def load_project(root: Path, parsed: ParsedDocuments | None = None) -> Project:
    """Read every folder of the project at ``root``; raise ``LoadError`` on the first mistake. ``parsed``:
    the documents of files read before (``yamlio.ParsedDocuments``), for the input folders."""
    root = Path(root)
    if not root.is_dir():
        raise LoadError(f"{root}: project directory not found")
    crds_folder = Folder(root, CRDS)
    crds = _load_crds(crds_folder)
    crds_libraries = load_crds_libraries(crds_folder)
    libs = load_libs_folder(Folder(root, LIBS))
    reconcilers_set = load_reconcilers_folder(Folder(root, RECONCILERS))
    inputs, input_reconcilers, input_libraries = _split_inputs(read_folder_objects(Folder(root, INPUT), parsed))
    refs = read_folder_objects(Folder(root, REFS), parsed)
    _check_duplicates(crds, refs + inputs)
    reconcilers, reconciler_warnings = merge_reconcilers(reconcilers_set, input_reconcilers)
    libraries, library_warnings = merge_libraries(crds_libraries, libs, input_libraries)
    return Project(
        root=root,
        crds=crds,
        inputs=inputs,
        reconcilers=reconcilers,
        libraries=libraries,
        refs=refs,
        warnings=reconciler_warnings + library_warnings,
    )
