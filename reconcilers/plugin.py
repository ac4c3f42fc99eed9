"""The ``-r`` plug-in: serves the kuid allocator kinds and allocates claims as they are written.

Found by the runtime through the entry point ``internal-reconcilers`` (group ``choreo.plugins``). It
ships the CRDs of ``ipam``, ``vlan``, ``as``, ``genid`` and ``extcomm.be.kuid.dev`` (Index, Claim and
Entry kinds, served and stored as v1alpha1) and installs one ``Binding`` per allocator. Its post-reconcile
stage, ``allocators``, fails the run for each index or claim loaded from the project's files that is not
Ready once the reconcilers are quiet: the reference refuses such a write, which fails its load, while here
it is stored with ``Ready=False`` (and retried when its index changes), which alone would let a run with an
input that got no value end well.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

from choreo.plugin_api import HookHost, ObjectAPI, StageContext, StageResult, get_condition, loaded_from_project
from reconcilers.adapters import all_adapters
from reconcilers.binding import READY, Binding


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
        errors = unallocated_inputs(context.api)
        return StageResult("allocators", errors=errors) if errors else None

    def final_config_diff(self, api: ObjectAPI) -> list[str]:
        return []  # the allocators make no device configs


def unallocated_inputs(api: ObjectAPI) -> list[str]:
    """One message for each index or claim of the project's files whose ``Ready`` condition is False, in kind
    and then store order. Only objects without an owner can be inputs (the index's own claims and those a
    reconciler made have one): no other is read."""
    errors = []
    for adapter in all_adapters():
        for kind in (adapter.index_kind, adapter.claim_kind):
            for key, head in api.heads(adapter.group, kind):
                if head.owners:
                    continue
                obj = api.view(key.group, key.kind, key.namespace, key.name)
                if obj is None or not loaded_from_project(obj):
                    continue
                ready = get_condition(obj, READY)
                if ready is not None and ready.get("status") == "False":
                    errors.append(f"{kind} {key.namespace}/{key.name} (an input of the project) is not Ready: "
                                  f"{ready.get('message') or ready.get('reason') or 'no reason given'}")
    return errors
