"""``dev parse``: the flat layout's reconcilers and ``libs/`` written as objects into ``in/``.

Why: projects of the flat layout (reference v0.0.13) commit these generated files, and runs read
reconcilers and libraries from them; we keep producing the same objects so such projects stay
editable the same way (spec §1.5). The output is stable byte for byte (sorted keys, block style, code
as literal blocks) so regenerating never causes a spurious diff, and each file is replaced
atomically so an interrupted run never leaves half a file. Stale generated files are not removed,
as in the reference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from choreo.atomic import write_atomic
from choreo.errors import LoadError
from choreo.loader.files import Folder
from choreo.loader.inputfiles import holds_only, not_overwriting, object_ref
from choreo.loader.libraries import LIBRARY_KIND, LIBRARY_TYPE, load_libs_folder, merge_libraries
from choreo.loader.loading import INPUT, LIBS, RECONCILERS
from choreo.loader.project import FILE_ORIGIN, ORIGIN_ANNOTATION, Library, ReconcilerConfig, ResourceSelector
from choreo.loader.reconcilers import CHOREO_API_VERSION, RECONCILER_KIND, load_reconcilers_folder, merge_reconcilers
from choreo.loader.yamlio import dump_yaml

RECONCILER_FILE = "choreo.kform.dev.reconciler.{name}.yaml"
LIBRARY_FILE = "choreo.kform.dev.library.{name}.yaml"


def _metadata(name: str) -> dict[str, Any]:
    return {"annotations": {ORIGIN_ANNOTATION: FILE_ORIGIN}, "name": name}


def _resource(resource: ResourceSelector) -> dict[str, Any]:
    out: dict[str, Any] = {"group": resource.group, "version": resource.version, "kind": resource.kind}
    if resource.selector is not None:
        out["selector"] = resource.selector
    return out


def reconciler_object(config: ReconcilerConfig) -> dict[str, Any]:
    """The ``Reconciler`` object of a config, with its code inline."""
    spec: dict[str, Any] = {"code": dict(config.code), "for": _resource(config.for_), "type": config.type}
    if config.owns:
        spec["owns"] = [_resource(r) for r in config.owns]
    if config.watches:
        spec["watches"] = [_resource(r) for r in config.watches]
    if config.condition_type:
        spec["conditionType"] = config.condition_type
    if config.spec_update:
        spec["specUpdate"] = True
    return {
        "apiVersion": CHOREO_API_VERSION,
        "kind": RECONCILER_KIND,
        "metadata": _metadata(config.name),
        "spec": spec,
    }


def library_object(library: Library) -> dict[str, Any]:
    """The ``Library`` object of a library file."""
    return {
        "apiVersion": CHOREO_API_VERSION,
        "kind": LIBRARY_KIND,
        "metadata": _metadata(library.name),
        "spec": {"code": library.code, "type": LIBRARY_TYPE},
    }


def write_generated(in_dir: Path, reconcilers: list[ReconcilerConfig], libraries: list[Library]) -> list[Path]:
    """Write one file per reconciler and library into ``in_dir``; the written paths, sorted."""
    in_dir.mkdir(parents=True, exist_ok=True)
    outputs: dict[Path, dict[str, Any]] = {}
    for config in reconcilers:
        outputs[in_dir / RECONCILER_FILE.format(name=config.name)] = reconciler_object(config)
    for library in libraries:
        outputs[in_dir / LIBRARY_FILE.format(name=library.name)] = library_object(library)
    for path, obj in sorted(outputs.items()):  # every file checked before any is written
        source = f"{INPUT}/{path.name}"
        ref = object_ref(obj, source)
        if (path.exists() or path.is_symlink()) and not holds_only(path, source, ref):
            raise not_overwriting(source, ref)
    for path in sorted(outputs):
        write_atomic(path, dump_yaml(outputs[path]))
    return sorted(outputs)


def dev_parse(root: Path) -> list[Path]:
    """Write the flat-layout reconcilers and ``libs/`` libraries as objects into ``in/``.

    Returns the written files, sorted. Directory-layout reconcilers are validated but not written
    (the reference's directory layout never had generated files).
    """
    root = Path(root)
    if not root.is_dir():
        raise LoadError(f"{root}: project directory not found")
    reconcilers = load_reconcilers_folder(Folder(root, RECONCILERS))
    libraries = load_libs_folder(Folder(root, LIBS))
    merge_reconcilers(reconcilers, [])  # duplicate names are an error here too
    merge_libraries([], libraries, [])
    flat = sorted(reconcilers.flat, key=lambda config: config.name)
    return write_generated(root / INPUT, flat, libraries)
