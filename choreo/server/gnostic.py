"""An OpenAPI v2 (Swagger 2.0) document in protobuf, the only form kubectl 1.20 reads.

kubectl up to 1.26 fetches ``/openapi/v2`` with ``Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf``
and unmarshals the body as gnostic's ``openapi.v2.Document`` whatever the server answers; on a 403, 404 or 406 it
tries ``/swagger-2.0.0.pb-v1``, again protobuf. A JSON answer is therefore unreadable to it, and without the
document its ``explain``, ``diff`` and ``apply --dry-run=server`` give up. This module writes the JSON document
``choreo.server.openapi_docs.openapi_v2`` builds as that protobuf message, so both forms always say the same.

The field numbers are gnostic's ``OpenAPIv2.proto`` (the descriptor compiled into kubectl). Only the messages a
published API document uses are covered; a key the tables do not know raises ``ValueError`` rather than being
dropped, so a document that grows a new kind of field fails the tests instead of reaching kubectl incomplete.
Vendor extensions (``x-...``) and free-form values (``default``, ``enum``, ``example``) travel as YAML text, which
is how gnostic carries them (kubectl parses ``x-kubernetes-group-version-kind`` from that text).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from typing import Any

Encoder = Callable[[int, Any], bytes]


def _varint(value: int) -> bytes:
    value &= 0xFFFFFFFFFFFFFFFF  # negative int64s as protobuf writes them: ten bytes of two's complement
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _tag(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _tag(number, 2) + _varint(len(payload)) + payload


def _string(number: int, value: Any) -> bytes:
    return _length_delimited(number, str(value).encode())


def _strings(number: int, value: Any) -> bytes:
    return b"".join(_string(number, item) for item in (value if isinstance(value, list) else [value]))


def _bool(number: int, value: Any) -> bytes:
    return _tag(number, 0) + _varint(int(bool(value)))


def _int64(number: int, value: Any) -> bytes:
    return _tag(number, 0) + _varint(int(value))


def _double(number: int, value: Any) -> bytes:
    return _tag(number, 1) + struct.pack("<d", float(value))


def _any_payload(value: Any) -> bytes:
    """gnostic's ``Any``: field 2 holds the value as YAML (JSON is YAML, and exact for every JSON value)."""
    return _string(2, json.dumps(value, separators=(",", ":"), sort_keys=True))


def _any(number: int, value: Any) -> bytes:
    return _length_delimited(number, _any_payload(value))


def _anys(number: int, value: Any) -> bytes:
    return b"".join(_any(number, item) for item in value)


def _named_any(name: str, value: Any) -> bytes:
    return _string(1, name) + _length_delimited(2, _any_payload(value))


class _Message:
    """One gnostic message: how each JSON key of it is encoded, and where its vendor extensions go."""

    def __init__(self, name: str, extensions: int | None = None) -> None:
        self.name = name
        self.extensions = extensions
        self.fields: dict[str, tuple[int, Encoder]] = {}

    def define(self, fields: dict[str, tuple[int, Encoder]]) -> _Message:
        self.fields.update(fields)
        return self

    def encode(self, doc: dict[str, Any]) -> bytes:
        out = bytearray()
        for key, value in doc.items():
            if key in self.fields:
                number, encoder = self.fields[key]
                out += encoder(number, value)
            elif key.startswith("x-") and self.extensions is not None:
                out += _length_delimited(self.extensions, _named_any(key, value))
            else:
                raise ValueError(f"OpenAPI v2 {self.name}: no protobuf field for {key!r}")
        return bytes(out)

    def field(self, number: int, value: Any) -> bytes:
        return _length_delimited(number, self.encode(value))

    def repeated(self, number: int, value: Any) -> bytes:
        return b"".join(self.field(number, item) for item in value)


def _named_map(entry: _Message, inner: int, name_field: int = 1, value_field: int = 2) -> Encoder:
    """A JSON object whose values are ``entry`` messages: a wrapper message holding one ``Named...`` pair
    (name, value) per key in repeated field ``inner`` (``Definitions``, ``Properties``, ``Paths``)."""

    def encode(number: int, value: Any) -> bytes:
        pairs = b"".join(
            _length_delimited(inner, _string(name_field, key) + entry.field(value_field, item))
            for key, item in value.items()
        )
        return _length_delimited(number, pairs)

    return encode


SCHEMA = _Message("Schema", extensions=31)


def _type_item(number: int, value: Any) -> bytes:
    return _length_delimited(number, _strings(1, value))


def _items_item(number: int, value: Any) -> bytes:
    return _length_delimited(number, SCHEMA.repeated(1, value if isinstance(value, list) else [value]))


def _additional_properties(number: int, value: Any) -> bytes:
    payload = _bool(2, value) if isinstance(value, bool) else SCHEMA.field(1, value)
    return _length_delimited(number, payload)


SCHEMA.define(
    {
        "$ref": (1, _string),
        "format": (2, _string),
        "title": (3, _string),
        "description": (4, _string),
        "default": (5, _any),
        "multipleOf": (6, _double),
        "maximum": (7, _double),
        "exclusiveMaximum": (8, _bool),
        "minimum": (9, _double),
        "exclusiveMinimum": (10, _bool),
        "maxLength": (11, _int64),
        "minLength": (12, _int64),
        "pattern": (13, _string),
        "maxItems": (14, _int64),
        "minItems": (15, _int64),
        "uniqueItems": (16, _bool),
        "maxProperties": (17, _int64),
        "minProperties": (18, _int64),
        "required": (19, _strings),
        "enum": (20, _anys),
        "additionalProperties": (21, _additional_properties),
        "type": (22, _type_item),
        "items": (23, _items_item),
        "allOf": (24, SCHEMA.repeated),
        "properties": (25, _named_map(SCHEMA, 1)),
        "discriminator": (26, _string),
        "readOnly": (27, _bool),
        "example": (30, _any),
    }
)

_PRIMITIVE_PARAMETER: dict[str, tuple[int, Encoder]] = {
    "required": (1, _bool),
    "in": (2, _string),
    "description": (3, _string),
    "name": (4, _string),
}
_QUERY = _Message("QueryParameterSubSchema", extensions=23).define(
    {**_PRIMITIVE_PARAMETER, "type": (6, _string), "format": (7, _string), "uniqueItems": (20, _bool)}
)
_PATH = _Message("PathParameterSubSchema").define(
    {**_PRIMITIVE_PARAMETER, "type": (5, _string), "format": (6, _string)}
)
_BODY = _Message("BodyParameter", extensions=6).define(
    {
        "description": (1, _string),
        "name": (2, _string),
        "in": (3, _string),
        "required": (4, _bool),
        "schema": (5, SCHEMA.field),
    }
)
_JSON_REFERENCE = _Message("JsonReference").define({"$ref": (1, _string), "description": (2, _string)})
_NON_BODY = {"query": (3, _QUERY), "path": (4, _PATH)}  # NonBodyParameter's oneof: header 1, formData 2, ...


def _parameter_item(number: int, value: Any) -> bytes:
    """``ParametersItem``: a ``$ref`` (field 2) or a ``Parameter`` (field 1): a body one, or a non-body one
    wrapped once more by where it goes (``in``)."""
    if "$ref" in value:
        return _length_delimited(number, _JSON_REFERENCE.field(2, value))
    if value.get("in") == "body":
        parameter = _BODY.field(1, value)
    else:
        where = value.get("in")
        if where not in _NON_BODY:
            raise ValueError(f"OpenAPI v2 parameter {value.get('name')!r}: no protobuf form for 'in: {where}'")
        sub_number, sub = _NON_BODY[where]
        parameter = _length_delimited(2, sub.field(sub_number, value))
    return _length_delimited(number, _length_delimited(1, parameter))


def _parameters(number: int, value: Any) -> bytes:
    return b"".join(_parameter_item(number, item) for item in value)


def _schema_item(number: int, value: Any) -> bytes:
    return _length_delimited(number, SCHEMA.field(1, value))


_RESPONSE = _Message("Response", extensions=5).define({"description": (1, _string), "schema": (2, _schema_item)})


def _responses(number: int, value: Any) -> bytes:
    """``Responses``: one ``NamedResponseValue`` (code, ``ResponseValue`` holding the ``Response``) per code."""
    codes = b"".join(
        _length_delimited(1, _string(1, code) + _length_delimited(2, _RESPONSE.field(1, response)))
        for code, response in value.items()
    )
    return _length_delimited(number, codes)


_OPERATION = _Message("Operation", extensions=13).define(
    {
        "tags": (1, _strings),
        "summary": (2, _string),
        "description": (3, _string),
        "operationId": (5, _string),
        "produces": (6, _strings),
        "consumes": (7, _strings),
        "parameters": (8, _parameters),
        "responses": (9, _responses),
        "schemes": (10, _strings),
        "deprecated": (11, _bool),
    }
)
_PATH_ITEM = _Message("PathItem", extensions=10).define(
    {
        "$ref": (1, _string),
        "get": (2, _OPERATION.field),
        "put": (3, _OPERATION.field),
        "post": (4, _OPERATION.field),
        "delete": (5, _OPERATION.field),
        "options": (6, _OPERATION.field),
        "head": (7, _OPERATION.field),
        "patch": (8, _OPERATION.field),
        "parameters": (9, _parameters),
    }
)
_INFO = _Message("Info", extensions=7).define(
    {"title": (1, _string), "version": (2, _string), "description": (3, _string)}
)
_DOCUMENT = _Message("Document", extensions=16).define(
    {
        "swagger": (1, _string),
        "info": (2, _INFO.field),
        "host": (3, _string),
        "basePath": (4, _string),
        "schemes": (5, _strings),
        "consumes": (6, _strings),
        "produces": (7, _strings),
        "paths": (8, _named_map(_PATH_ITEM, 2)),
        "definitions": (9, _named_map(SCHEMA, 1)),
    }
)


def encode_document(doc: dict[str, Any]) -> bytes:
    """``doc`` (a Swagger 2.0 document as JSON data) as a gnostic ``openapi.v2.Document`` message."""
    return _DOCUMENT.encode(doc)
