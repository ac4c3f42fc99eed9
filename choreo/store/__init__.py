"""Persistent state: a small backend interface with in-memory and SQLite implementations.

Everything choreo keeps (API objects, watch events, run records, allocations) goes through a
``Backend``. Both backends pass one conformance suite (``tests/store``), so the API server above never
knows which one it talks to.
"""

from choreo.store._common import StoreDamaged, json_value
from choreo.store._common import _canonical_text as canonical_text
from choreo.store.base import Backend, EventSource, Gone, RecordStore, WatchEvent
from choreo.store.open import open_backend

__all__ = [
    "Backend", "EventSource", "Gone", "RecordStore", "StoreDamaged", "WatchEvent", "canonical_text", "json_value",
    "open_backend",
]
