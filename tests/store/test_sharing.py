"""Cached objects share their repeated strings and managedFields trees, and nobody can tell."""

from __future__ import annotations

import json
from typing import Any

from choreo.store._common import BaseBackend
from choreo.store.sharing import Sharing

from .conftest import key, obj


def managed(name: str, owner_uid: str, **spec: Any) -> dict[str, Any]:
    """An object as an apply stores it: its managedFields name each spec field and the owner reference."""
    body = obj(name, **spec)
    body["metadata"]["ownerReferences"] = [{"uid": owner_uid, "kind": "Owner", "name": "o", "controller": True}]
    body["metadata"]["managedFields"] = [
        {
            "apiVersion": "example.com/v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:ownerReferences": {f'k:{{"uid":"{owner_uid}"}}': {".": {}, "f:uid": {}}}},
                "f:spec": {field: {} for field in (f"f:{name}" for name in spec)},
            },
            "manager": "link",
            "operation": "Apply",
            "time": "2026-12-04T12:18:43Z",
        }
    ]
    return body


def fields(found: dict[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = found["metadata"]["managedFields"][0]["fieldsV1"]
    return tree


def test_shared_values_equal_the_decoded_ones() -> None:
    sharing = Sharing(limit=3)  # forgets its trees now and then: the answers stay the same
    odd = managed("odd", "u9", mtu=9000)
    odd["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:mtu"] = {"f:x": {}, "f:y": {"f:z": {}}}
    odd["spec"]["fieldsV1"] = {"not": "a tree", "list": ["fieldsV1", {"fieldsV1": {"a": 1}}]}
    odd["metadata"]["managedFields"].append({"fieldsV1": {"f:a": {"b": 1}}})
    texts = [json.dumps(o) for o in (managed("a", "u1", mtu=1, port="e1"), managed("b", "u2", mtu=1), odd)] * 3
    for text in texts:
        assert sharing.share(json.loads(text)) == json.loads(text)


def test_objects_share_equal_strings_and_managed_field_trees_but_not_their_own_parts() -> None:
    sharing = Sharing()
    a = sharing.share(json.loads(json.dumps(managed("a", "u1", mtu=1, port="e1"))))
    b = sharing.share(json.loads(json.dumps(managed("b", "u2", mtu=2, port="e2"))))
    assert fields(a)["f:spec"] is fields(b)["f:spec"]
    assert fields(a)["f:metadata"] is not fields(b)["f:metadata"]  # another owner
    assert a["metadata"]["managedFields"][0]["time"] is b["metadata"]["managedFields"][0]["time"]
    assert a["apiVersion"] is b["apiVersion"]
    assert a["spec"] is not b["spec"] and a["metadata"] is not b["metadata"]


def test_changing_what_a_read_returned_never_reaches_another_object(backend: BaseBackend) -> None:
    for name, uid in (("a", "u1"), ("b", "u1")):
        backend.create(key(name), managed(name, uid, mtu=1))
    assert fields(backend.view(key("a"))) is fields(backend.view(key("b")))  # the very same tree
    copy = backend.get(key("a"))
    assert copy is not None
    fields(copy)["f:spec"]["f:mtu"]["f:changed"] = {}
    fields(copy)["f:new"] = {}
    backend.update(key("a"), copy)
    assert fields(backend.view(key("b"))) == fields(managed("b", "u1", mtu=1))
    assert "f:changed" in fields(backend.view(key("a")))["f:spec"]["f:mtu"]
