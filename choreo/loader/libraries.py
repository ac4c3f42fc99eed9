"""Starlark libraries: ``crds/*.star``, ``libs/*`` and ``Library`` objects, keyed by their load() name.

Why: reconciler code does ``load("<name>", ...)`` and the reference found ``<name>`` in three places
depending on its version (spec §1.4): the directory layout keeps libraries next to the CRDs with every
``_`` of the file name turned into ``.`` (``crds/example.com_greetings.star`` ->
``example.com.greetings.star``); the flat layout keeps them in ``libs/`` under their file name, and
``dev parse`` copies them into ``in/`` as ``Library`` objects. All three are merged here; a ``libs/``
file and its identical ``in/`` copy are one library, a copy that differs or any other duplicate name
is an error naming both files.
"""

from __future__ import annotations

from choreo.errors import LoadError
from choreo.loader.files import Folder, FoundFile
from choreo.loader.project import InputObject, Library
from choreo.loader.reconcilers import CHOREO_API_VERSION, copy_differs
from choreo.loader.yamlio import read_text

LIBRARY_KIND = "Library"
LIBRARY_TYPE = "starlark"


def crds_library_name(file_name: str) -> str:
    """The load() name of a ``crds/`` library: every ``_`` becomes ``.``, extension kept."""
    return file_name.replace("_", ".")


def load_crds_libraries(folder: Folder) -> list[Library]:
    """The ``*.star`` files directly in ``crds/`` (directory layout)."""
    return [_library(crds_library_name(f.name), f) for f in folder.files((".star",))]


def load_libs_folder(folder: Folder) -> list[Library]:
    """Every file directly in ``libs/`` (flat layout), named by its file name."""
    return [_library(f.name, f) for f in folder.files()]


def _library(name: str, file: FoundFile) -> Library:
    return Library(name=name, code=read_text(file.path, file.source), source=file.source)


def is_library_object(obj: dict) -> bool:
    return obj.get("apiVersion") == CHOREO_API_VERSION and obj.get("kind") == LIBRARY_KIND


def library_from_object(item: InputObject) -> Library:
    """A ``Library`` object from ``in/``: ``metadata.name``, ``spec.code``, ``spec.type`` starlark."""
    metadata = item.obj.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not name or not isinstance(name, str):
        raise LoadError(f"{item.source}: metadata.name is required")
    spec = item.obj.get("spec")
    if not isinstance(spec, dict):
        raise LoadError(f"{item.source}: spec is required")
    code_type = spec.get("type")
    if code_type not in (None, LIBRARY_TYPE):
        raise LoadError(f"{item.source}: spec.type must be {LIBRARY_TYPE}, got {code_type!r}")
    code = spec.get("code")
    if not isinstance(code, str):
        raise LoadError(f"{item.source}: spec.code is required (the library text)")
    return Library(name=name, code=code, source=item.source)


def merge_libraries(
    crds: list[Library], libs: list[Library], from_inputs: list[Library]
) -> tuple[dict[str, Library], list[str]]:
    """All libraries by name (sorted); the warnings list stays empty (a differing copy is an error)."""
    by_name: dict[str, Library] = {}
    for library in crds + libs:
        _add_unique(by_name, library)
    libs_by_name = {library.name: library for library in libs}
    for library in from_inputs:
        source = libs_by_name.get(library.name)
        if source is None:
            _add_unique(by_name, library)
        elif source.code != library.code:
            raise copy_differs(f"library {library.name}", library.source, source.source)
    return {name: by_name[name] for name in sorted(by_name)}, []


def _add_unique(by_name: dict[str, Library], library: Library) -> None:
    other = by_name.get(library.name)
    if other is not None:
        raise LoadError(f"duplicate library name {library.name}: {other.source} and {library.source}")
    by_name[library.name] = library
