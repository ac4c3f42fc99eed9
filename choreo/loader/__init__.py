"""Reading a project folder: CRDs, input objects, reconcilers and libraries in both layouts.

The flat layout (``reconcilers/<name>.yaml`` + code files + ``libs/``, turned into objects by
``choreo dev parse``) and the directory layout (``reconcilers/<dir>/config.yaml`` + ``crds/*.star``)
both end up as one ``Project``.
"""

from choreo.loader.project import (
    FILE_ORIGIN,
    ORIGIN_ANNOTATION,
    InputObject,
    Library,
    Project,
    ReconcilerConfig,
    ResourceSelector,
)

__all__ = [
    "FILE_ORIGIN",
    "ORIGIN_ANNOTATION",
    "InputObject",
    "Library",
    "Project",
    "ReconcilerConfig",
    "ResourceSelector",
]
