"""``/openapi/v2`` and ``/openapi/v3``: the definitions and operations kubectl reads, in JSON and protobuf."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from choreo.apiserver import crdcheck
from choreo.apiserver.server import APIServer
from choreo.server import gnostic
from choreo.server.openapi_docs import _v2_schema, openapi_v2
from choreo.store.memory import MemoryBackend
from tests.server.harness import Http, copy_example, served

PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
GREETING_PATH = "/apis/example.com/v1alpha1/namespaces/{namespace}/greetings/{name}"


@pytest.fixture
def http(tmp_path: Path):
    with served(copy_example("greeting", tmp_path)) as (_app, url):
        yield Http(url)


def _fields(data: bytes) -> list[tuple[int, Any]]:
    """A protobuf message's (field number, value) pairs; length-delimited values stay bytes."""
    out, i = [], 0

    def varint() -> int:
        nonlocal i
        value = shift = 0
        while True:
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while i < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            out.append((number, varint()))
        elif wire == 2:
            size = varint()
            out.append((number, data[i : i + size]))
            i += size
        elif wire == 1:
            out.append((number, data[i : i + 8]))
            i += 8
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    return out


def _named(message: bytes, number: int) -> dict[str, bytes]:
    """The name → value pairs a map-like gnostic message (Definitions, Paths, Properties) holds in ``number``."""
    pairs = {}
    for field, entry in _fields(message):
        if field == number:
            parts = dict(_fields(entry))
            pairs[parts[1].decode()] = parts[2]
    return pairs


def test_v2_json_has_a_definition_per_kind_with_its_group_version_kind(http: Http) -> None:
    code, doc = http.call("GET", "/openapi/v2")
    assert (code, doc["swagger"]) == (200, "2.0")
    greeting = doc["definitions"]["com.example.v1alpha1.Greeting"]
    assert greeting["x-kubernetes-group-version-kind"] == [
        {"group": "example.com", "version": "v1alpha1", "kind": "Greeting"}
    ]
    assert greeting["properties"]["spec"]["required"] == ["name"]
    assert greeting["properties"]["metadata"]["$ref"] == "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    kinds = {gvk["kind"] for d in doc["definitions"].values() for gvk in d.get("x-kubernetes-group-version-kind", [])}
    assert {"Greeting", "Message", "Reconciler", "CustomResourceDefinition", "Namespace", "NamespaceList"} <= kinds
    patch = doc["paths"][GREETING_PATH]["patch"]
    gvk = {"group": "example.com", "version": "v1alpha1", "kind": "Greeting"}
    assert patch["x-kubernetes-group-version-kind"] == gvk
    assert {"dryRun", "fieldManager", "force"} <= {p["name"] for p in patch["parameters"]}
    assert "/api/v1/namespaces/{name}" in doc["paths"]


def test_v2_protobuf_carries_the_same_document(http: Http) -> None:
    """kubectl 1.20 reads only the protobuf form: the definitions and the PATCH operation's dryRun parameter
    and group-version-kind must be there, where gnostic's message types put them."""
    _code, doc = http.call("GET", "/openapi/v2")
    request = urllib.request.Request(http.url + "/openapi/v2", headers={"Accept": PROTOBUF})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Type"] == "application/octet-stream"
        body = response.read()
    document = dict(_fields(body))
    assert document[1] == b"2.0"
    definitions = _named(document[9], 1)
    assert sorted(definitions) == sorted(doc["definitions"])
    greeting = dict(_fields(definitions["com.example.v1alpha1.Greeting"]))
    spec = dict(_fields(_named(greeting[25], 1)["spec"]))
    assert _fields(spec[22]) == [(1, b"object")] and spec[19] == b"name"  # type, required
    paths = _named(document[8], 2)
    assert sorted(paths) == sorted(doc["paths"])
    patch = dict(_fields(paths[GREETING_PATH]))[8]
    extensions = [dict(_fields(value)) for number, value in _fields(patch) if number == 13]
    gvk = next(dict(_fields(e[2]))[2] for e in extensions if e[1] == b"x-kubernetes-group-version-kind")
    assert gvk == b'{"group":"example.com","kind":"Greeting","version":"v1alpha1"}'
    names = []
    for number, item in _fields(patch):
        if number == 8:  # ParametersItem → Parameter → NonBodyParameter → QueryParameterSubSchema
            parameter = dict(_fields(dict(_fields(item))[1]))
            if 2 in parameter:
                query = dict(_fields(parameter[2])).get(3)
                names += [dict(_fields(query))[4].decode()] if query else []
    assert {"dryRun", "fieldManager", "force"} <= set(names)


def test_v2_schemas_say_only_what_swagger_2_can() -> None:
    """What kube-apiserver drops when it publishes a CRD in v2: kubectl 1.20 fails on a document it cannot read."""
    schema = {
        "type": "object",
        "properties": {
            "port": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {"a": {}}},
            "maybe": {"type": "string", "nullable": True},
            "tags": {"type": "array", "items": {"type": "string", "default": "x"}},
        },
    }
    assert _v2_schema(schema) == {
        "type": "object",
        "properties": {"port": {}, "free": {}, "maybe": {}, "tags": {"type": "array", "items": {"type": "string"}}},
    }


def test_the_protobuf_encoder_refuses_what_it_cannot_carry() -> None:
    with pytest.raises(ValueError, match="Schema: no protobuf field for 'oneOf'"):
        gnostic.encode_document({"swagger": "2.0", "definitions": {"x": {"oneOf": []}}})


def test_v3_documents_the_core_group_and_field_validation(http: Http) -> None:
    _code, index = http.call("GET", "/openapi/v3")
    assert set(index["paths"]) == {"api/v1", "apis/apiextensions.k8s.io/v1", "apis/choreo.kform.dev/v1alpha1",
                                   "apis/events.k8s.io/v1", "apis/example.com/v1alpha1"}
    code, core = http.call("GET", index["paths"]["api/v1"]["serverRelativeURL"])
    assert code == 200 and "io.k8s.api.core.v1.Namespace" in core["components"]["schemas"]
    _code, doc = http.call("GET", index["paths"]["apis/example.com/v1alpha1"]["serverRelativeURL"])
    patch = doc["paths"][GREETING_PATH]["patch"]
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]


def test_every_keyword_a_crd_may_use_reaches_v2_or_is_dropped() -> None:
    """No CRD the server accepts makes ``/openapi/v2`` fail: each schema keyword is encodable or dropped."""
    values = {"type": "object", "items": {"type": "string"}, "properties": {"a": {"type": "string"}},
              "additionalProperties": {"type": "string"}, "required": ["a"], "enum": ["a"], "allOf": [{}],
              "oneOf": [{}], "anyOf": [{}], "not": {}, "externalDocs": {"url": "https://example.com"},
              "x-kubernetes-list-map-keys": ["a"], "x-kubernetes-validations": [{"rule": "true"}]}
    numbers = {"maximum", "minimum", "multipleOf", "maxLength", "minLength", "maxItems", "minItems",
               "maxProperties", "minProperties"}
    for keyword in sorted(crdcheck._KEYWORDS):
        value = values.get(keyword, 3 if keyword in numbers else (True if keyword[0] in "enux" else "text"))
        converted = _v2_schema({"type": "object", keyword: value})
        assert gnostic.encode_document({"definitions": {"x": converted}}), keyword
    every = _v2_registry_doc()
    assert gnostic.encode_document(every) and len(every["definitions"]) > 40


def _v2_registry_doc() -> dict:
    """The v2 document of a registry holding every CRD of the examples and the allocators."""
    api = APIServer(MemoryBackend())
    root = Path(__file__).resolve().parents[2]
    for path in sorted([*root.glob("examples/**/crds/*.yaml"), *root.glob("reconcilers/crds/*.yaml")]):
        crd = yaml.safe_load(path.read_text())
        if api.registry.get(crd["spec"]["group"], crd["spec"]["names"]["kind"]) is None:
            api.register_crd(crd)
    return openapi_v2(api.registry)
