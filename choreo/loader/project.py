"""What a loaded project is: plain data handed from the loader to the API server and the runtime."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATE_DIR = ".choreo"  # what choreo keeps inside a project folder: store, run records, upstream clones
PROJECT_FOLDERS = ("crds", "in", "reconcilers", "libs", "refs", "schemas", "runningconfigs")
ORIGIN_ANNOTATION = "api.choreo.kform.dev/origin"
FILE_ORIGIN = '{"kind":"File"}'
INPUT_MANAGER = "inputfileloader"  # the field manager of what the loader applies from the project's files


@dataclass(frozen=True)
class ResourceSelector:
    """One for/owns/watches entry of a reconciler config."""

    group: str
    version: str
    kind: str
    selector: dict[str, Any] | None = None  # None = absent in the config

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


@dataclass
class ReconcilerConfig:
    name: str
    source: str  # file the config came from, relative to the project, for messages
    type: str  # "starlark" | "gotemplate" | "jinjatemplate"
    for_: ResourceSelector
    owns: list[ResourceSelector] = field(default_factory=list)
    watches: list[ResourceSelector] = field(default_factory=list)
    code: dict[str, str] = field(default_factory=dict)  # code key ("reconciler.star", "main.tpl") -> text
    code_files: dict[str, str] = field(default_factory=dict)  # code key -> file path, for messages
    condition_type: str = ""
    spec_update: bool = False
    origin: str = FILE_ORIGIN  # the origin annotation of its stored Reconciler object (upstream ones: their ref's)


@dataclass
class Library:
    name: str  # exactly the string used in load("<name>", ...)
    code: str
    source: str
    origin: str = FILE_ORIGIN  # the origin annotation of its stored Library object (upstream ones: their ref's)


@dataclass
class InputObject:
    """One document of an input file; ``source`` is ``<file>`` or ``<file>#<doc index>``."""

    obj: dict[str, Any]
    source: str
    origin: str = FILE_ORIGIN  # the origin annotation it is applied with (upstream objects: their ref's)


@dataclass(frozen=True)
class LoadedUpstream:
    """One upstream ref that was loaded: where it is declared, the origin it marks objects with."""

    source: str  # the refs file (after "->" the chain of parents), for messages
    origin: str
    commit: str
    root: Path  # the child project's folder inside the pinned commit


@dataclass
class Project:
    root: Path
    crds: list[InputObject] = field(default_factory=list)
    inputs: list[InputObject] = field(default_factory=list)
    reconcilers: list[ReconcilerConfig] = field(default_factory=list)
    libraries: dict[str, Library] = field(default_factory=dict)
    refs: list[InputObject] = field(default_factory=list)
    # Non-fatal findings, e.g. an in/ copy written by `dev parse` that no longer matches its source.
    warnings: list[str] = field(default_factory=list)
    # The upstream refs merged into this project (loader.upstream); None until they are resolved.
    upstreams: list[LoadedUpstream] | None = None


def has_project_parts(root: Path) -> bool:
    """Whether ``root`` holds any folder of a project, or the state of an earlier run: a batch run of a folder
    with neither is a mistake (the wrong working folder) that would only leave a ``.choreo/`` behind."""
    return any((root / name).is_dir() for name in (*PROJECT_FOLDERS, STATE_DIR))
