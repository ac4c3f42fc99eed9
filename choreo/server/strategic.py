"""Strategic merge patch, for the core kind choreo serves (v1 Namespace).

kubectl patches objects of kinds it knows (the core ones) with a strategic merge patch: ``kubectl apply`` of a
Namespace that exists, ``kubectl diff`` of one, ``kubectl label``. It is a JSON merge patch plus directives
(``$patch: replace|delete``, ``$retainKeys``, ``$deleteFromPrimitiveList/F``, ``$setElementOrder/F``) and lists
merged by the patch strategy of their Go type instead of replaced. Of ObjectMeta and Namespace, only
``metadata.finalizers`` (a set of strings) and ``metadata.ownerReferences`` (keyed by ``uid``) merge; every other
list is replaced. Custom resources have no strategies, and kube-apiserver refuses this patch type for them;
so does choreo (``http.py``).
"""

from __future__ import annotations

import copy
from typing import Any

from choreo.errors import BadRequest

_MERGED_LISTS: dict[tuple[str, ...], str | None] = {
    ("metadata", "finalizers"): None,  # a set of strings
    ("metadata", "ownerReferences"): "uid",
}
_DELETE = object()


def strategic_merge_patch(target: Any, patch: Any, path: tuple[str, ...] = ()) -> Any:
    """``patch`` applied to ``target`` (neither is modified); lists at ``_MERGED_LISTS`` paths are merged."""
    result = _patched(target, patch, path)
    return {} if result is _DELETE else result


def _patched(target: Any, patch: Any, path: tuple[str, ...]) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return _DELETE
    if directive == "replace":
        return _patched(None, {k: v for k, v in patch.items() if k != "$patch"}, path)
    if directive is not None:
        raise BadRequest(f"strategic merge patch: unknown $patch directive {directive!r}")
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key == "$retainKeys" or key.startswith("$setElementOrder/"):
            continue  # retained keys are applied below; element order is not kept
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.partition("/")[2]
            result[field] = [item for item in result.get(field) or [] if item not in (value or [])]
            continue
        where = (*path, key)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and where in _MERGED_LISTS:
            result[key] = _merged_list(result.get(key) or [], value, _MERGED_LISTS[where], where)
        else:
            merged = _patched(result.get(key), value, where)
            if merged is _DELETE:
                result.pop(key, None)
            else:
                result[key] = merged
    retained = patch.get("$retainKeys")
    if isinstance(retained, list):
        result = {k: v for k, v in result.items() if k in retained}
    return result


def _merged_list(current: list[Any], patch: list[Any], key: str | None, path: tuple[str, ...]) -> list[Any]:
    out = copy.deepcopy(current)
    for item in patch:
        if key is None:
            if item not in out:
                out.append(item)
            continue
        if not isinstance(item, dict) or key not in item:
            raise BadRequest(f"strategic merge patch: each entry of {'.'.join(path)} needs its {key!r}")
        index = next((i for i, old in enumerate(out) if isinstance(old, dict) and old.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del out[index]
        elif index is None:
            out.append(_patched(None, item, path))
        else:
            out[index] = _patched(out[index], item, path)
    return out
