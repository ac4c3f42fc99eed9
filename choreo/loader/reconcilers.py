"""Reconciler configs: both reference layouts and Reconciler objects, turned into ``ReconcilerConfig``.

Why: the reference grew two incompatible ways to declare a reconciler and projects exist for both
(spec §1.3): the directory layout ``reconcilers/<dir>/config.yaml`` + code files, and the flat layout
``reconcilers/<name>.yaml`` + ``<name>[.<key>].{star,tpl,jinja2}`` (which ``dev parse`` turns into
``in/`` objects). Both — and those generated objects — go through one validation here, so a malformed
config is a load error naming the file and the reason, never a crash at run time (spec §7.9).

Decisions where the reference is random or crashes:
- flat code files go to the reconciler with the LONGEST name that prefixes the file name (names
  followed by a ``.`` in the file name are preferred), not to a random one;
- a config without code, a watch without a selector, unknown spec fields, a bad ``type`` are errors;
- a reconciler in ``reconcilers/`` (flat) and an identical ``in/`` Reconciler object of the same name —
  the copy ``dev parse`` wrote, committed as the flat layout intends — are one reconciler; a copy that
  differs is an error naming both files (one of the two edits would otherwise be silently lost), as
  is any other duplicate name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from choreo.errors import LoadError
from choreo.loader.files import Folder, FoundFile
from choreo.loader.project import InputObject, ReconcilerConfig, ResourceSelector
from choreo.loader.yamlio import read_single_mapping, read_text

CHOREO_API_VERSION = "choreo.kform.dev/v1alpha1"
RECONCILER_KIND = "Reconciler"
CONFIG_FILE = "config.yaml"
STARLARK_KEY = "reconciler.star"
CODE_TYPES = {".star": "starlark", ".tpl": "gotemplate", ".jinja2": "jinjatemplate"}
TYPES = ("starlark", "gotemplate", "jinjatemplate")
TOP_FIELDS = frozenset({"apiVersion", "kind", "metadata", "spec", "status"})
SPEC_FIELDS = frozenset({"for", "owns", "watches", "type", "code", "conditionType", "specUpdate"})
RESOURCE_FIELDS = frozenset({"group", "version", "kind", "selector"})
SELECTOR_FIELDS = frozenset({"match", "matchExpressions"})
NO_CODE = "has no code file (.star, .tpl or .jinja2)"


@dataclass(frozen=True)
class CodeFile:
    """One code file of a reconciler: its code key, the technology its extension implies, its text."""

    key: str
    type: str
    source: str
    text: str


@dataclass
class ReconcilerSet:
    """The reconcilers of the ``reconcilers/`` folder, by layout (``flat`` ones feed ``dev parse``)."""

    flat: list[ReconcilerConfig] = field(default_factory=list)
    directories: list[ReconcilerConfig] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Folder layouts


def load_reconcilers_folder(folder: Folder) -> ReconcilerSet:
    """Every reconciler of ``reconcilers/``: flat configs at the top, ``config.yaml`` directories below."""
    result = ReconcilerSet()
    for rel_dir, files in folder.walk():
        if rel_dir == "" and not _top_is_directory_layout(files):
            result.flat.extend(_load_flat(folder, files))
            continue
        config = next((f for f in files if f.name == CONFIG_FILE), None)
        if config is not None:
            result.directories.append(_load_directory(folder, rel_dir, config, files))
    return result


def _top_is_directory_layout(files: list[FoundFile]) -> bool:
    """``reconcilers/config.yaml`` alone (no other config) is one directory-layout reconciler."""
    configs = [f.name for f in files if f.name.endswith(".yaml")]
    return configs == [CONFIG_FILE]


def _load_directory(folder: Folder, rel_dir: str, config: FoundFile, files: list[FoundFile]) -> ReconcilerConfig:
    obj = _read_config(config)
    name = _metadata_name(obj, config.source)
    code_files = [f for f in files if _code_type(f.name)]
    code = collect_code(name, code_files, folder.source(rel_dir))
    return parse_reconciler(obj, name=name, source=config.source, code_files=code)


def _load_flat(folder: Folder, files: list[FoundFile]) -> list[ReconcilerConfig]:
    configs = {f.name.removesuffix(".yaml"): f for f in files if f.name.endswith(".yaml")}
    attached: dict[str, list[FoundFile]] = {name: [] for name in configs}
    for file in files:
        if file.name.endswith(".yaml"):
            continue
        if not _code_type(file.name):
            raise LoadError(f"{file.source}: not a reconciler config (.yaml) or code file (.star, .tpl or .jinja2)")
        attached[owner_name(file.name, configs, file.source)].append(file)
    reconcilers = []
    for name, config in configs.items():
        code = collect_code(name, attached[name], folder.source(""))
        reconcilers.append(parse_reconciler(_read_config(config), name=name, source=config.source, code_files=code))
    return reconcilers


def owner_name(file_name: str, names: dict[str, Any] | list[str], source: str) -> str:
    """The reconciler a flat code file belongs to: the longest name prefixing the file name.

    Names followed by a ``.`` in the file name win over bare prefixes, so ``a.b.custom.tpl`` belongs
    to ``a.b`` even when a reconciler ``a.b.c`` exists.
    """
    dotted = [name for name in names if file_name.startswith(f"{name}.")]
    candidates = dotted or [name for name in names if file_name.startswith(name)]
    if not candidates:
        raise LoadError(f"no reconciler config found for {source}")
    return max(candidates, key=lambda name: (len(name), name))


def _read_config(config: FoundFile) -> dict[str, Any]:
    obj = read_single_mapping(config.path, config.source)
    kind = obj.get("kind")
    if kind is not None and kind != RECONCILER_KIND:
        raise LoadError(f"{config.source}: expected kind {RECONCILER_KIND}, got {kind!r}")
    api_version = obj.get("apiVersion")
    if api_version is not None and api_version != CHOREO_API_VERSION:
        raise LoadError(f"{config.source}: expected apiVersion {CHOREO_API_VERSION}, got {api_version!r}")
    if obj.get("metadata") is not None and not isinstance(obj["metadata"], dict):
        raise LoadError(f"{config.source}: metadata must be a mapping")
    return obj


def _metadata_name(obj: dict[str, Any], source: str) -> str:
    metadata = obj.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not name:
        raise LoadError(f"{source}: metadata.name is required")
    if not isinstance(name, str):
        raise LoadError(f"{source}: metadata.name must be a string")
    return name


# ---------------------------------------------------------------------------------------------
# Code files


def _code_type(file_name: str) -> str:
    suffix = file_name[file_name.rfind(".") :] if "." in file_name else ""
    return CODE_TYPES.get(suffix, "")


def code_key(name: str, file_name: str, code_type: str) -> str:
    """``reconciler.star`` for Starlark, else the file name without a leading ``<name>.``."""
    if code_type == "starlark":
        return STARLARK_KEY
    return file_name.removeprefix(f"{name}.")


def collect_code(name: str, files: list[FoundFile], where: str) -> list[CodeFile]:
    """The code files of reconciler ``name``; one technology, one file for Starlark, unique keys."""
    code = []
    for file in files:
        code_type = _code_type(file.name)
        code.append(
            CodeFile(
                code_key(name, file.name, code_type),
                code_type,
                file.source,
                read_text(file.path, file.source),
            )
        )
    types = sorted({c.type for c in code})
    if len(types) > 1:
        listing = ", ".join(f"{c.source} ({c.type})" for c in code)
        raise LoadError(f"{where}: reconciler {name} mixes code types: {listing}")
    if types == ["starlark"] and len(code) > 1:
        listing = ", ".join(c.source for c in code)
        raise LoadError(f"{where}: a starlark reconciler {name} can only have 1 code file ({listing})")
    seen: dict[str, str] = {}
    for c in code:
        if c.key in seen:
            raise LoadError(f"{where}: reconciler {name}: {seen[c.key]} and {c.source} both give code {c.key}")
        seen[c.key] = c.source
    return code


# ---------------------------------------------------------------------------------------------
# Objects from in/


def is_reconciler_object(obj: dict[str, Any]) -> bool:
    return obj.get("apiVersion") == CHOREO_API_VERSION and obj.get("kind") == RECONCILER_KIND


def reconciler_from_object(item: InputObject) -> ReconcilerConfig:
    """A ``Reconciler`` object (typically written by ``dev parse``) with its code inline."""
    name = _metadata_name(item.obj, item.source)
    return parse_reconciler(item.obj, name=name, source=item.source, code_files=[])


# ---------------------------------------------------------------------------------------------
# Spec validation


def parse_reconciler(obj: dict[str, Any], *, name: str, source: str, code_files: list[CodeFile]) -> ReconcilerConfig:
    """Validate a Reconciler's spec and merge its code files into it (a file wins over ``spec.code``)."""
    spec = _spec(obj, source)
    code, code_sources = _merge_code(spec, source, code_files)
    if not code:
        raise LoadError(f"{source}: reconciler {name} {NO_CODE}")
    code_type = _reconciler_type(spec, source, code, code_files)
    if code_type == "starlark" and len(code) > 1:
        raise LoadError(f"{source}: a starlark reconciler {name} can only have 1 code file ({', '.join(sorted(code))})")
    return ReconcilerConfig(
        name=name,
        source=source,
        type=code_type,
        for_=_resource(spec.get("for"), "spec.for", source, group_required=True),
        owns=_resources(spec, "owns", source, selector_required=False),
        watches=_resources(spec, "watches", source, selector_required=True),
        code=code,
        code_files=code_sources,
        condition_type=_typed(spec, "conditionType", str, "", source),
        spec_update=_typed(spec, "specUpdate", bool, False, source),
    )


def _spec(obj: dict[str, Any], source: str) -> dict[str, Any]:
    unknown = sorted(str(key) for key in set(obj) - TOP_FIELDS)
    if unknown:  # a misspelt or misplaced field (``for`` beside ``spec``) would otherwise be ignored
        raise LoadError(f"{source}: unknown field {', '.join(unknown)} (known: {', '.join(sorted(TOP_FIELDS))})")
    spec = obj.get("spec")
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise LoadError(f"{source}: spec must be a mapping")
    unknown = sorted(set(spec) - SPEC_FIELDS)
    if unknown:
        fields = ", ".join(f"spec.{key}" for key in unknown)
        raise LoadError(f"{source}: unknown field {fields} (known: {', '.join(sorted(SPEC_FIELDS))})")
    return spec


def _merge_code(spec: dict[str, Any], source: str, code_files: list[CodeFile]) -> tuple[dict[str, str], dict[str, str]]:
    inline = spec.get("code") or {}
    if not isinstance(inline, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in inline.items()):
        raise LoadError(f"{source}: spec.code must be a mapping of file name to code text")
    code = dict(inline)
    sources = dict.fromkeys(inline, source)
    for file in code_files:
        code[file.key] = file.text
        sources[file.key] = file.source
    order = sorted(code)
    return {key: code[key] for key in order}, {key: sources[key] for key in order}


def _reconciler_type(spec: dict[str, Any], source: str, code: dict[str, str], code_files: list[CodeFile]) -> str:
    declared = spec.get("type")
    if declared is not None and declared not in TYPES:
        raise LoadError(f"{source}: spec.type must be one of {', '.join(TYPES)}, got {declared!r}")
    inferred = code_files[0].type if code_files else _type_from_keys(code)
    if declared and inferred and declared != inferred:
        what = "code files" if code_files else "spec.code"
        raise LoadError(f"{source}: spec.type {declared} does not match the {inferred} {what}")
    result = declared or inferred
    if not result:
        raise LoadError(f"{source}: spec.type is required (it cannot be inferred from spec.code keys)")
    return result


def _type_from_keys(code: dict[str, str]) -> str:
    types = {_code_type(key) for key in code}
    return types.pop() if len(types) == 1 else ""


def _resources(spec: dict[str, Any], key: str, source: str, *, selector_required: bool) -> list[ResourceSelector]:
    items = spec.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise LoadError(f"{source}: spec.{key} must be a list")
    return [
        _resource(item, f"spec.{key}[{index}]", source, group_required=False, selector_required=selector_required)
        for index, item in enumerate(items)
    ]


def _resource(
    item: Any, path: str, source: str, *, group_required: bool, selector_required: bool = False
) -> ResourceSelector:
    if item is None:
        raise LoadError(f"{source}: {path} is required")
    if not isinstance(item, dict):
        raise LoadError(f"{source}: {path} must be a mapping with group, version and kind")
    unknown = sorted(set(item) - RESOURCE_FIELDS)
    if unknown:
        raise LoadError(f"{source}: unknown field {', '.join(f'{path}.{key}' for key in unknown)}")
    group = item.get("group")
    if group is None and group_required:
        raise LoadError(f"{source}: {path}.group is required")
    if group is not None and not isinstance(group, str):
        raise LoadError(f"{source}: {path}.group must be a string")
    version, kind = (_required_string(item, key, path, source) for key in ("version", "kind"))
    selector = item.get("selector")
    if selector is None and selector_required:
        raise LoadError(f"{source}: {path}.selector is required")
    _check_selector(selector, f"{path}.selector", source)
    return ResourceSelector(group=group or "", version=version, kind=kind, selector=selector)


def _required_string(item: dict[str, Any], key: str, path: str, source: str) -> str:
    value = item.get(key)
    if value is None or value == "":
        raise LoadError(f"{source}: {path}.{key} is required")
    if not isinstance(value, str):
        raise LoadError(f"{source}: {path}.{key} must be a string")
    return value


def _check_selector(selector: Any, path: str, source: str) -> None:
    if selector is None:
        return
    if not isinstance(selector, dict):
        raise LoadError(f"{source}: {path} must be a mapping")
    unknown = sorted(set(selector) - SELECTOR_FIELDS)
    if unknown:
        raise LoadError(f"{source}: unknown field {', '.join(f'{path}.{key}' for key in unknown)}")
    if selector.get("match") is not None and not isinstance(selector["match"], dict):
        raise LoadError(f"{source}: {path}.match must be a mapping")
    if selector.get("matchExpressions") is not None and not isinstance(selector["matchExpressions"], list):
        raise LoadError(f"{source}: {path}.matchExpressions must be a list")


def _typed(spec: dict[str, Any], key: str, kind: type, default: Any, source: str) -> Any:
    value = spec.get(key)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise LoadError(f"{source}: spec.{key} must be a {'boolean' if kind is bool else 'string'}")
    return value


# ---------------------------------------------------------------------------------------------
# Merging the sources


def same_reconciler(a: ReconcilerConfig, b: ReconcilerConfig) -> bool:
    """Equal apart from where they were read from."""
    return (a.name, a.type, a.for_, a.owns, a.watches, a.code, a.condition_type, a.spec_update) == (
        b.name,
        b.type,
        b.for_,
        b.owns,
        b.watches,
        b.code,
        b.condition_type,
        b.spec_update,
    )


def merge_reconcilers(
    folder: ReconcilerSet, from_inputs: list[ReconcilerConfig]
) -> tuple[list[ReconcilerConfig], list[str]]:
    """All reconcilers sorted by name; the warnings list stays empty (a differing copy is an error)."""
    by_name: dict[str, ReconcilerConfig] = {}
    for config in folder.directories + folder.flat:
        _add_unique(by_name, config)
    flat_names = {config.name: config for config in folder.flat}
    for config in from_inputs:
        flat = flat_names.get(config.name)
        if flat is None:
            _add_unique(by_name, config)
        elif not same_reconciler(flat, config):
            raise copy_differs(f"reconciler {config.name}", config.source, flat.source)
    return [by_name[name] for name in sorted(by_name)], []


def copy_differs(what: str, copy: str, source: str) -> LoadError:
    """The error for an ``in/`` object that should be the ``dev parse`` copy of ``source`` but is not."""
    return LoadError(
        f"{copy}: {what} differs from its source {source} "
        "(run 'choreo dev parse' to regenerate this copy, or remove one of the two)"
    )


def _add_unique(by_name: dict[str, ReconcilerConfig], config: ReconcilerConfig) -> None:
    other = by_name.get(config.name)
    if other is not None:
        raise LoadError(f"duplicate reconciler name {config.name}: {other.source} and {config.source}")
    by_name[config.name] = config
