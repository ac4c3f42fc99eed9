"""The ``-r`` plug-in: serves the kuid allocator kinds and allocates claims as they are written.

Found by the runtime through the entry point ``internal-reconcilers`` (group ``choreo.plugins``). It
ships the CRDs of ``ipam``, ``vlan``, ``as``, ``genid`` and ``extcomm.be.kuid.dev`` (Index, Claim and
Entry kinds, served and stored as v1alpha1) and installs one ``Binding`` per allocator. It has no
post-reconcile stage.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

from choreo.plugin_api import HookHost, ObjectAPI, StageContext, StageResult
from reconcilers.adapters import all_adapters
from reconcilers.binding import Binding


def _crds() -> list[dict[str, Any]]:
    folder = resources.files("reconcilers") / "crds"
    names = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".yaml"))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [yaml.load((folder / name).read_text(encoding="utf-8"), Loader=loader) for name in names]


class AllocatorPlugin:
    name = "internal-reconcilers"

    def crds(self) -> list[dict[str, Any]]:
        return _crds()

    def install(self, api: HookHost) -> None:
        for adapter in all_adapters():
            Binding(adapter).install(api)

    def after_reconcile(self, context: StageContext) -> StageResult | None:
        return None

    def final_config_diff(self, api: ObjectAPI) -> list[str]:
        return []  # the allocators make no device configs
