"""Finding runs in the store: all of them newest first, and one by id or unique id prefix.

Run records are keyed ``<started>|<id>`` (see ``choreo.results.record``), so key order is start order.
"""

from __future__ import annotations

from datetime import datetime

from choreo.errors import ChoreoError, NotFound
from choreo.results.record import RUNS_TABLE, RunRecord
from choreo.store.base import RecordStore


def runs_newest_first(backend: RecordStore) -> list[RunRecord]:
    records = [RunRecord.from_json(value) for _key, value in backend.list_records(RUNS_TABLE)]
    return records[::-1]


def resolve_run(runs: list[RunRecord], wanted: str) -> RunRecord:
    """The run whose id is ``wanted`` or starts with it; unknown or ambiguous prefixes are errors."""
    exact = [run for run in runs if run.id == wanted]
    if exact:
        return exact[0]
    matches = [run for run in runs if wanted and run.id.startswith(wanted)]
    if not matches:
        raise NotFound(f'run "{wanted}" not found: `choreo run list` shows the recorded runs')
    if len(matches) > 1:
        ids = ", ".join(run.id for run in matches)
        raise ChoreoError(f'run "{wanted}" is ambiguous: it starts {len(matches)} run ids ({ids})')
    return matches[0]


def creation_timestamp(run: RunRecord) -> str:
    """The run's start time in the Kubernetes creationTimestamp form (RFC 3339, seconds, ``Z``)."""
    return datetime.fromisoformat(run.started).strftime("%Y-%m-%dT%H:%M:%SZ")


def list_lines(runs: list[RunRecord]) -> list[str]:
    """``run list`` output: ``<id> <creationTimestamp> <success|failure>`` per run."""
    return [f"{run.id} {creation_timestamp(run)} {'success' if run.success else 'failure'}" for run in runs]
