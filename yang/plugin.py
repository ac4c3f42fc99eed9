"""The ``-s`` plug-in object the core finds through the ``choreo.plugins`` entry point ``schema``."""

from __future__ import annotations

from typing import Any

from choreo.plugin_api import HookHost, ObjectAPI, StageContext, StageResult
from yang.memory import StageMemory


class SchemaPlugin:
    """Merges and validates device configs once the reconcilers are quiet (see ``yang.stage``)."""

    name = "schema"

    def __init__(self) -> None:
        self.memory = StageMemory()  # a long-running process's passes look only at the devices that changed

    def crds(self) -> list[dict[str, Any]]:
        return []  # like the reference, the project provides the Config and RunningConfig CRDs

    def install(self, api: HookHost) -> None:
        return None

    def after_reconcile(self, context: StageContext) -> StageResult | None:
        from yang.stage import run_stage  # libyang is loaded only when the stage runs

        # One pass in the process (a batch run): what the stage remembers for the next would only be held
        # through the rest of the run, the peak of its memory (about 8 MiB at N=1000).
        return run_stage(context, None if context.last_pass else self.memory)

    def final_config_diff(self, api: ObjectAPI) -> list[str]:
        """Lines for ``choreo run diff -c``: each device's final config against its running config or last run."""
        from yang.records import final_config_diff

        return final_config_diff(api)
