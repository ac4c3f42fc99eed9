"""Group/version/kind identifiers and their string forms."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, order=True)
class GroupKind:
    group: str
    kind: str

    def __str__(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind


@dataclass(frozen=True, order=True)
class GVK:
    group: str
    version: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_kind(self) -> GroupKind:
        return GroupKind(self.group, self.kind)

    @classmethod
    def from_api_version(cls, api_version: str, kind: str) -> GVK:
        return _parsed(api_version, kind)

    def __str__(self) -> str:
        # The Go schema.GroupVersionKind form the reference prints in diffs and errors.
        return f"{self.group}/{self.version}, Kind={self.kind}"


@lru_cache(maxsize=4096)
def _parsed(api_version: str, kind: str) -> GVK:
    """GVKs are immutable and a store holds few distinct ones: each is built once (``key_of`` of every
    object of a run used to build a new one per call)."""
    group, _, version = api_version.rpartition("/")
    return GVK(group, version, kind)
