"""The controller runtime: selectors, the work queue, reconcile execution and the quiet-detection that
ends a run."""
