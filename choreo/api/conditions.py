"""Status conditions as the reference writes them: Ready/True or Failed/False with a message."""

from __future__ import annotations

from typing import Any


def get_condition(obj: dict[str, Any], condition_type: str) -> dict[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == condition_type:
            return cond
    return None


def is_condition_ready(obj: dict[str, Any], condition_type: str) -> bool:
    cond = get_condition(obj, condition_type)
    return cond is not None and cond.get("status") == "True"


def new_condition(condition_type: str, message: str, now: str, reason: str | None = None) -> dict[str, Any]:
    """Empty message means Ready/True, anything else False carrying the message (reason ``Failed`` unless
    another is given, as the server gives for the failures it reports)."""
    if message:
        return {
            "type": condition_type,
            "status": "False",
            "reason": reason or "Failed",
            "message": message,
            "lastTransitionTime": now,
        }
    return {
        "type": condition_type,
        "status": "True",
        "reason": "Ready",
        "message": "",
        "lastTransitionTime": now,
    }


def set_condition(
    obj: dict[str, Any], condition_type: str, message: str, now: str, *, reason: str | None = None
) -> None:
    """Set one condition, keeping ``lastTransitionTime`` when nothing else about it changed."""
    status = obj.setdefault("status", {})
    if not isinstance(status, dict):
        status = obj["status"] = {}
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    fresh = new_condition(condition_type, message, now, reason)
    for i, cond in enumerate(conditions):
        if cond.get("type") == condition_type:
            same = all(cond.get(k, "") == fresh[k] for k in ("status", "reason", "message"))
            if same and cond.get("lastTransitionTime"):
                fresh["lastTransitionTime"] = cond["lastTransitionTime"]
            conditions[i] = fresh
            break
    else:
        conditions.append(fresh)
    status["conditions"] = conditions
