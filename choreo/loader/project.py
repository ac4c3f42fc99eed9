"""What a loaded project is: plain data handed from the loader to the API server and the runtime."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ORIGIN_ANNOTATION = "api.choreo.kform.dev/origin"
FILE_ORIGIN = '{"kind":"File"}'


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


@dataclass
class Library:
    name: str  # exactly the string used in load("<name>", ...)
    code: str
    source: str


@dataclass
class InputObject:
    """One document of an input file; ``source`` is ``<file>`` or ``<file>#<doc index>``."""

    obj: dict[str, Any]
    source: str


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
