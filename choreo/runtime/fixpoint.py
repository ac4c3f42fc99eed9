"""The re-run that has nothing to do: the last run ended at a fixpoint, and nothing has moved it since.

Why it exists: a CI job re-runs a project whose inputs did not change; even with every reconcile reused
(``runtime.memo``) and every input skipped (``loader.sync.AppliedInputs``), finding that out one object at
a time reads and decodes the whole stored network. This record lets the run find it out at once.

What it records: at the end of a batch run that went well, the run checks on its final state that running
again would write nothing — every input in place, nothing left over, no garbage (``ProjectLoad.settled``),
every reconcile reusable (``ReconcileMemo.settled``) — and, if so, keeps the store revision, the load's
fingerprint, the digest of the reconcilers' salts and the number of reconciles. A later batch run whose
load has the same fingerprint, whose reconcilers have the same salts and whose store is still at that
revision (no object written since: the revision moves with every write, and a rolled-back write rolls it
back) is in the state the check was made on, with the same inputs, code and flags: its load would write
nothing and every reconcile would be reused, so neither is done; its stages run as usual. The record is
written in the run's transaction and dropped when a run ends elsewhere than at a fixpoint.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from choreo.apiserver.fieldpath import canonical_json
from choreo.apiserver.interface import ObjectAPI

FIXPOINT_TABLE = "fixpoint"
_LAST = "last"


@dataclass(frozen=True)
class Fixpoint:
    """Where the last run ended, as far as a re-run can tell: see the module docstring."""

    revision: int
    load: str  # ProjectLoad.fingerprint
    salts: str  # digest of the run's and every reconciler's salt
    reconciles: int  # how many reconciles there are (all of them reused by a re-run)


def salts_digest(salts: list[str]) -> str:
    return hashlib.sha256(canonical_json(sorted(salts)).encode()).hexdigest()


def recorded(api: ObjectAPI) -> Fixpoint | None:
    """The fixpoint the last run ended at, if it did."""
    found = api.records.get_record(FIXPOINT_TABLE, _LAST)
    try:
        return Fixpoint(**found) if isinstance(found, dict) else None
    except TypeError:  # written by another version of choreo
        return None


def remember(api: ObjectAPI, fixpoint: Fixpoint | None) -> None:
    """Record where this run ended (None: not at a fixpoint)."""
    if fixpoint is None:
        if api.records.get_record(FIXPOINT_TABLE, _LAST) is not None:
            api.records.delete_record(FIXPOINT_TABLE, _LAST)
    elif recorded(api) != fixpoint:
        api.records.put_record(FIXPOINT_TABLE, _LAST, asdict(fixpoint))
