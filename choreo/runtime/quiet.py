"""When a driver of the reconcile core owes its post-reconcile stages a quiet point.

The system is quiet when the work queue is empty, nothing is in flight and no timer is due. At a quiet
point the stages (``-r``, ``-s``) run and the run is recorded. What makes one due is a change of the state
since the stages last saw it — not only a reconcile: a project whose objects no reconciler is for (only
Nodes and Configs, or no reconcilers at all) has nothing to reconcile and its devices must still be
validated; a Config written through the API that no reconciler watches must be validated again.

A batch run has one quiet point, at its end, always due. A continuous driver owes one after it starts (the
state it starts on has not been through the stages) and after every change since its previous one, except
the changes that previous pass made itself: the stages' own writes (a final Config) would otherwise make
each pass the cause of the next. A pass runs in one store transaction, which holds off every other writer,
so its writes are exactly the revisions between the store's revision as it began and as it ended.
"""

from __future__ import annotations


class QuietPoint:
    """Whether the next quiet moment owes the stages a pass."""

    def __init__(self) -> None:
        self.due = True  # a driver's first quiet moment always does
        self._own = range(0)  # the store revisions the last pass wrote

    def reconciled(self) -> None:
        """A reconcile ran (even one that wrote nothing is reported by the next pass)."""
        self.due = True

    def changed(self, revision: int | None) -> None:
        """The store changed at ``revision`` (None: somewhere, the events are lost); the last pass's own
        writes do not count."""
        if revision is None or revision not in self._own:
            self.due = True

    def passed(self, first: int, last: int) -> None:
        """A pass ran in one transaction from store revision ``first`` to ``last``."""
        self.due = False
        self._own = range(first + 1, last + 1)
