"""The object model: group/version/kind, metadata accessors, keys and conditions.

Objects are plain dicts in KRM shape everywhere in choreo; this package holds the small typed helpers
that name their parts, so no other module pokes at ``obj["metadata"]`` with ad-hoc code.
"""

from choreo.api.conditions import get_condition, is_condition_ready, set_condition
from choreo.api.gvk import GVK, GroupKind
from choreo.api.objects import ObjectKey, gvk_of, key_of, meta, object_ref

__all__ = [
    "GVK",
    "GroupKind",
    "ObjectKey",
    "get_condition",
    "gvk_of",
    "is_condition_ready",
    "key_of",
    "meta",
    "object_ref",
    "set_condition",
]
