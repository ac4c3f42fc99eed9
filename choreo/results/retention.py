"""How much run history the store keeps, and the pruning that holds it there.

Every run adds a run record and a snapshot; without a bound the state folder grows with every CI job. The
store keeps the last ``keep`` runs (``CHOREO_KEEP_RUNS``, default 20): ``run list``, ``run result``,
``run diff`` and ``run deps --run`` work on those. Older records and snapshots are removed together, then
every snapshot manifest and snapshot object no kept snapshot refers to; a kept snapshot stored as a delta
refers to every manifest of its chain, back to its base (``results/snapshot.py``), so a kept run always
loads. So that a run does not pay for this every time, pruning waits until ``keep + PRUNE_SLACK`` runs
have gathered and then removes the oldest down to ``keep`` — in the transaction that stores the run, like
everything a run keeps.
"""

from __future__ import annotations

from choreo.environment import positive_count
from choreo.results.record import RUNS_TABLE
from choreo.results.snapshot import MANIFESTS_TABLE, OBJECTS_TABLE, SNAPSHOTS_TABLE, referenced
from choreo.store.base import RecordStore

DEFAULT_KEEP_RUNS = 20
KEEP_RUNS_VARIABLE = "CHOREO_KEEP_RUNS"
PRUNE_SLACK = 10


def kept_runs() -> int:
    """How many runs to keep: ``$CHOREO_KEEP_RUNS`` (a whole number, 1 or more) or the default."""
    return positive_count(KEEP_RUNS_VARIABLE, DEFAULT_KEEP_RUNS, expected="a whole number of runs (1 or more)")


def prune_history(records: RecordStore, keep: int, *, slack: int = PRUNE_SLACK) -> int:
    """Remove the oldest runs beyond ``keep`` once more than ``keep + slack`` are stored, with their
    snapshots and whatever only they referred to. Returns how many runs were removed."""
    runs = records.record_keys(RUNS_TABLE)  # keyed "<started>|<id>": key order is start order
    if len(runs) <= keep + slack:
        return 0
    dropped = runs[: len(runs) - keep]
    for key in dropped:
        records.delete_record(RUNS_TABLE, key)
        records.delete_record(SNAPSHOTS_TABLE, key.partition("|")[2])
    heads = [entry["manifest"] for _run, entry in records.list_records(SNAPSHOTS_TABLE)]
    live_manifests, live_objects = referenced(records, heads)
    for key in records.record_keys(MANIFESTS_TABLE):
        if key not in live_manifests:
            records.delete_record(MANIFESTS_TABLE, key)
    for key in records.record_keys(OBJECTS_TABLE):
        if key not in live_objects:
            records.delete_record(OBJECTS_TABLE, key)
    return len(dropped)
