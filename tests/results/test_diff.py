"""run diff: symbols, the reference's ordering, identity by uid, what counts as a change, details, and the
review view (changed objects only, counts per change type)."""

from __future__ import annotations

from typing import Any

from choreo.results.diff import diff_inventories, has_differences, render, summary
from choreo.results.inventory import Item


def obj(kind: str, name: str, *, uid: str = "", namespace: str = "default", **extra: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "uid": uid or f"uid-{kind}-{name}", "resourceVersion": "1"}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "example.com/v1alpha1", "kind": kind, "metadata": metadata, **extra}


def items(*objects: dict[str, Any]) -> list[Item]:
    return [Item(o) for o in objects]


def lines(old: list[Item], new: list[Item], **flags: Any) -> list[str]:
    """Every object's line (``show_all``) unless the test says otherwise."""
    flags.setdefault("show_all", True)
    show_managed_fields = flags.pop("show_managed_fields", False)
    changes = diff_inventories(old, new, show_managed_fields=show_managed_fields)
    return render(changes, show_managed_fields=show_managed_fields, **flags)


def test_symbols_and_reference_order() -> None:
    old = items(obj("Message", "b", spec={"t": 1}), obj("Greeting", "z"), obj("Greeting", "gone"))
    new = items(obj("Message", "b", spec={"t": 2}), obj("Greeting", "z"), obj("Greeting", "a-new"))
    assert lines(old, new) == [
        "+ example.com/v1alpha1, Kind=Greeting a-new",
        "- example.com/v1alpha1, Kind=Greeting gone",
        "= example.com/v1alpha1, Kind=Greeting z",
        "~ example.com/v1alpha1, Kind=Message b",
    ]


def test_order_is_by_gvk_string_then_name_not_by_kind_alone() -> None:
    # "<gvk>.<name>": the group/version comes first, so another group sorts by its own string.
    other = {"apiVersion": "a.io/v1", "kind": "Zeta", "metadata": {"name": "x", "uid": "u"}}
    assert lines([], [Item(other), *items(obj("Alpha", "y"))]) == [
        "+ a.io/v1, Kind=Zeta x",
        "+ example.com/v1alpha1, Kind=Alpha y",
    ]


def test_empty_previous_inventory_gives_all_added() -> None:
    assert lines([], items(obj("Greeting", "a"))) == ["+ example.com/v1alpha1, Kind=Greeting a"]


def test_recreated_object_is_deleted_and_added() -> None:
    old = items(obj("Greeting", "a", uid="one"))
    new = items(obj("Greeting", "a", uid="two"))
    assert lines(old, new) == [
        "- example.com/v1alpha1, Kind=Greeting a",
        "+ example.com/v1alpha1, Kind=Greeting a",
    ]


def test_namespace_is_shown_unless_default() -> None:
    new = items(obj("Greeting", "a", namespace="prod"), obj("Greeting", "a"), obj("Greeting", "c", namespace=""))
    assert lines([], new) == [
        "+ example.com/v1alpha1, Kind=Greeting a",
        "+ example.com/v1alpha1, Kind=Greeting c",
        "+ example.com/v1alpha1, Kind=Greeting prod/a",
    ]


def test_managed_fields_and_resource_version_are_ignored_unless_asked() -> None:
    before = obj("Greeting", "a", spec={"x": 1})
    after = obj("Greeting", "a", spec={"x": 1})
    after["metadata"]["resourceVersion"] = "7"
    after["metadata"]["managedFields"] = [{"manager": "other", "operation": "Apply"}]
    assert lines(items(before), items(after)) == ["= example.com/v1alpha1, Kind=Greeting a"]
    assert lines(items(before), items(after), show_managed_fields=True) == ["~ example.com/v1alpha1, Kind=Greeting a"]


def test_status_timestamp_change_is_a_change() -> None:
    before = obj("Greeting", "a", status={"lastSeen": "2024-01-01T00:00:00Z"})
    after = obj("Greeting", "a", status={"lastSeen": "2024-01-01T00:00:01Z"})
    assert lines(items(before), items(after)) == ["~ example.com/v1alpha1, Kind=Greeting a"]


def test_details_are_a_unified_yaml_diff_of_modified_objects_only() -> None:
    old = items(obj("Greeting", "a", spec={"language": "fr", "name": "A"}), obj("Greeting", "b"))
    new = items(obj("Greeting", "a", spec={"language": "de", "name": "A"}), obj("Greeting", "b"))
    out = lines(old, new, show_details=True)
    assert out[0] == "~ example.com/v1alpha1, Kind=Greeting a"
    assert out[1:3] == ["--- a/Greeting.example.com/v1alpha1 a", "+++ b/Greeting.example.com/v1alpha1 a"]
    assert "-  language: fr" in out and "+  language: de" in out
    assert "   name: A" in out  # context lines
    assert out[-1] == "= example.com/v1alpha1, Kind=Greeting b"
    assert not any("resourceVersion" in line for line in out)


def test_by_default_only_changes_are_listed_and_counted() -> None:
    old = items(obj("Greeting", "kept"), obj("Greeting", "edited", spec={"x": 1}), obj("Greeting", "gone"),
                obj("Greeting", "again", uid="one"))
    new = items(obj("Greeting", "kept"), obj("Greeting", "edited", spec={"x": 2}), obj("Greeting", "new"),
                obj("Greeting", "again", uid="two"))
    changes = diff_inventories(old, new)
    assert render(changes) == [
        "- example.com/v1alpha1, Kind=Greeting again",
        "+ example.com/v1alpha1, Kind=Greeting again",
        "~ example.com/v1alpha1, Kind=Greeting edited",
        "- example.com/v1alpha1, Kind=Greeting gone",
        "+ example.com/v1alpha1, Kind=Greeting new",
    ]
    assert summary(changes) == "1 changed, 2 added, 2 removed, 1 unchanged"
    assert has_differences(changes)


def test_nothing_changed_lists_nothing_and_counts_the_unchanged() -> None:
    same = items(obj("Greeting", "a"), obj("Greeting", "b"))
    changes = diff_inventories(same, same)
    assert render(changes) == []
    assert render(changes, show_all=True) == ["= example.com/v1alpha1, Kind=Greeting a",
                                              "= example.com/v1alpha1, Kind=Greeting b"]
    assert summary(changes) == "0 changed, 0 added, 0 removed, 2 unchanged"
    assert not has_differences(changes)
    assert summary([]) == "0 changed, 0 added, 0 removed, 0 unchanged"
