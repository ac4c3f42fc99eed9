"""Whether the final device configs (``out/``, ``choreo config show``) are older than the objects they came from.

Why: only a run with ``-s`` writes final configs. After a later run without ``-s`` that changed objects (a
Config snippet, a Node, an address), the files in ``out/`` and the stored final Configs still describe the
earlier run; presented as current they would be wrong. This compares the snapshot of the latest kept run with
the one of the last run that had the stage, so the CLI can warn and mark ``out/``, and ``config show`` can say
so too. Failed runs keep no objects (see ``choreo.runtime.session``), so only kept runs are compared.
"""

from __future__ import annotations

from dataclasses import dataclass

from choreo.results.diff import EQUAL, diff_inventories
from choreo.results.record import RUNS_TABLE, RunRecord
from choreo.results.snapshot import load_snapshot
from choreo.store.base import RecordStore


@dataclass(frozen=True)
class Staleness:
    validated: RunRecord  # the last run with the stage: the one the final configs come from
    latest: RunRecord  # the latest kept run, which did not run the stage
    changed: int  # objects added, changed or deleted between the two

    @property
    def message(self) -> str:
        return (
            f"the final device configs (out/, choreo config show) come from run {self.validated.id[:8]} "
            f"({self.validated.started[:19]}); run {self.latest.id[:8]} changed {self.changed} object(s) without -s "
            "since: they may be stale, run with -s to refresh them"
        )


def stale_outputs(records: RecordStore, stage: str) -> Staleness | None:
    """The staleness of what ``stage`` wrote, or None when its outputs match the latest kept run (or it never ran)."""
    kept = [r for r in (RunRecord.from_json(v) for _k, v in records.list_records(RUNS_TABLE)) if r.failure is None]
    if not kept or any(s.name == stage for s in kept[-1].stages):
        return None
    validated = next((r for r in reversed(kept) if any(s.name == stage for s in r.stages)), None)
    if validated is None:
        return None
    before, after = load_snapshot(records, validated.id), load_snapshot(records, kept[-1].id)
    if before is None or after is None:
        return None
    changed = sum(1 for change in diff_inventories(before, after) if change.symbol != EQUAL)
    return Staleness(validated, kept[-1], changed) if changed else None
