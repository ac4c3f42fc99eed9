"""Checks a CustomResourceDefinition before its kind is served, with the rules of the Kubernetes API server.

Why: a CRD is the contract every object of its kind is validated against. A schema the validator cannot
read — a regex that does not compile, a type that does not exist, an array without ``items``, a list-map
without keys, a default of the wrong type — would otherwise surface far from the mistake (a crash, a
confusing object error) or never (the rule silently validates nothing). Kubernetes refuses such CRDs when
they are created (apiextensions validation and the *structural schema* rules of apiextensions.k8s.io/v1);
so does choreo, naming the path to the mistake, e.g.
``spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.size.maxLength: must be >= 0``.

What is checked here: the shape of ``spec.names`` and ``spec.versions`` (mappings, strings, lists; unique
version names; a schema per version), and every schema node: known keywords only (``$ref`` and the other
JSON-Schema features Kubernetes does not support are refused), a ``type`` from OpenAPI's six, the
structural rules (every field typed, an object root, ``items`` for arrays, no ``properties`` next to
``additionalProperties``, no types or defaults inside allOf/anyOf/oneOf/not), well-formed limits,
``pattern`` in RE2 syntax (the regex dialect of Kubernetes: no look-around, no backreferences), the
``x-kubernetes-*`` extensions, and finally that every ``default`` and ``enum`` value is valid where it
stands. What ``registry.resource_from_crd`` checks itself (required names and group, scope, one storage
version, ``metadata.name``) stays there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, TypeGuard

from choreo.apiserver.openapi import FieldError, check_value, render_value, sorted_errors
from choreo.apiserver.openapi import quoted_value as _quoted

SCHEMA_TYPES = ("array", "boolean", "integer", "number", "object", "string")

# The fields of Kubernetes' JSONSchemaProps that a CRD schema may use.
_KEYWORDS = frozenset(
    {
        "description", "type", "format", "title", "default", "maximum", "exclusiveMaximum", "minimum",
        "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems",
        "multipleOf", "enum", "maxProperties", "minProperties", "required", "items", "allOf", "oneOf", "anyOf",
        "not", "properties", "additionalProperties", "nullable", "example", "externalDocs",
        "x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource", "x-kubernetes-int-or-string",
        "x-kubernetes-list-map-keys", "x-kubernetes-list-type", "x-kubernetes-map-type", "x-kubernetes-validations",
    }
)  # fmt: skip
# JSON-Schema features Kubernetes decodes but refuses in a CRD.
_UNSUPPORTED = ("$ref", "$schema", "id", "definitions", "dependencies", "additionalItems", "patternProperties")
_COUNTS = ("maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties")
_STRINGS = ("description", "title", "format")
_BOOLEANS = ("nullable", "exclusiveMinimum", "exclusiveMaximum", "uniqueItems", "x-kubernetes-embedded-resource",
             "x-kubernetes-int-or-string")  # fmt: skip
_COMBINATORS = ("allOf", "anyOf", "oneOf")
_LIST_TYPES = ("atomic", "map", "set")
_MAP_TYPES = ("atomic", "granular")
_EXTENSIONS = ("x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource", "x-kubernetes-int-or-string",
               "x-kubernetes-list-map-keys", "x-kubernetes-list-type", "x-kubernetes-map-type")  # fmt: skip
# The fields of apiextensions.k8s.io/v1 that hold what the CRD says, where a misspelt one (``shortnames``,
# ``additionalPrinterColumn``) would silently do nothing: kube-apiserver refuses them with strict field
# validation, kubectl's default since 1.27.
_SPEC_FIELDS = frozenset({"group", "names", "scope", "versions", "conversion", "preserveUnknownFields"})
_NAMES_FIELDS = frozenset({"kind", "listKind", "plural", "singular", "shortNames", "categories"})
_VERSION_FIELDS = frozenset({
    "name", "served", "storage", "deprecated", "deprecationWarning", "schema", "subresources",
    "additionalPrinterColumns", "selectableFields",
})
_DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")  # RFC 1035: at most 63 characters

_MESSAGE_LIMIT = 400

# Root: an object; a field: a typed structural node; nested: inside a value validation (allOf/...).
ROOT, FIELD, NESTED = "root", "field", "nested"


def crd_name(crd: Any) -> str:
    """``metadata.name`` to name the CRD in messages, also when the CRD is too malformed to have one."""
    metadata = crd.get("metadata") if isinstance(crd, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else ""


def first_problem(crd: Any) -> str | None:
    """The first problem of ``crd`` as one short line (``None`` when it is fine); more are counted, not
    listed: one mistake often breaks several rules, and the first one is where to start."""
    problems = crd_problems(crd)
    if not problems:
        return None
    first = str(problems[0])
    if len(first) > _MESSAGE_LIMIT:
        first = first[: _MESSAGE_LIMIT - 1] + "…"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{first}{more}"


def crd_problems(crd: Any) -> list[FieldError]:
    """Every problem of ``crd``, sorted by path. Value checks (defaults, enums) run only on a schema whose
    shape is sound: the object validator cannot read a malformed one."""
    if not isinstance(crd, dict):
        return [FieldError(".", "a CustomResourceDefinition must be a mapping")]
    problems = list(_shape(crd))
    if not problems:
        problems = list(_values(crd))
    return sorted_errors(problems)


# ---------------------------------------------------------------------------------------------------
# The CRD around the schemas
# ---------------------------------------------------------------------------------------------------


def _shape(crd: dict[str, Any]) -> Iterator[FieldError]:
    if not isinstance(crd.get("metadata", {}), dict):
        yield FieldError("metadata", "must be a mapping")
    spec = crd.get("spec")
    if spec is not None and not isinstance(spec, dict):
        yield FieldError("spec", f"must be a mapping, got {_quoted(spec)}")
    if not isinstance(spec, dict):
        return  # resource_from_crd: "spec is required"
    yield from _unknown_fields(spec, _SPEC_FIELDS, "spec")
    yield from _group(spec.get("group"))
    yield from _names(spec.get("names"))
    if spec.get("preserveUnknownFields") is True:
        yield FieldError("spec.preserveUnknownFields", "Invalid value: true: must be false in apiextensions.k8s.io/v1")
    yield from _versions(spec.get("versions"))


def _unknown_fields(mapping: dict[str, Any], known: frozenset[str], path: str) -> Iterator[FieldError]:
    for key in mapping:
        if key not in known:
            yield FieldError(f"{path}.{key}", "unknown field (field names are case-sensitive)")


def _group(group: Any) -> Iterator[FieldError]:
    if group is not None and not isinstance(group, str):
        yield FieldError("spec.group", f"must be a string, got {_quoted(group)}")
    elif isinstance(group, str) and group and "." not in group:
        yield FieldError("spec.group", f"Invalid value: {_quoted(group)}: should be a domain with at least one dot")


def _names(names: Any) -> Iterator[FieldError]:
    if names is None:
        return  # resource_from_crd: "spec.names.kind is required"
    if not isinstance(names, dict):
        yield FieldError("spec.names", f"must be a mapping, got {_quoted(names)}")
        return
    yield from _unknown_fields(names, _NAMES_FIELDS, "spec.names")
    for key in ("kind", "plural", "singular", "listKind"):
        if key in names and not isinstance(names[key], str):
            yield FieldError(f"spec.names.{key}", f"must be a string, got {_quoted(names[key])}")
    for key in ("plural", "singular"):
        value = names.get(key)
        if isinstance(value, str) and value and not _DNS_LABEL.fullmatch(value):
            yield FieldError(f"spec.names.{key}", f"Invalid value: {_quoted(value)}: must be a lowercase DNS label")
    for key in ("kind", "listKind"):  # kube-apiserver: a DNS label once lowercased
        value = names.get(key)
        if isinstance(value, str) and value and not _DNS_LABEL.fullmatch(value.lower()):
            yield FieldError(
                f"spec.names.{key}",
                f"Invalid value: {_quoted(value)}: may have mixed case, but should otherwise be a DNS label",
            )
    for key in ("shortNames", "categories"):
        if key in names and not _string_list(names[key]):
            yield FieldError(f"spec.names.{key}", "must be a list of strings")


def _versions(versions: Any) -> Iterator[FieldError]:
    if versions is None:
        return  # resource_from_crd: "spec.versions must have at least one version"
    if not isinstance(versions, list):
        yield FieldError("spec.versions", f"must be a list of versions, got {_quoted(versions)}")
        return
    seen: set[str] = set()
    for i, version in enumerate(versions):
        path = f"spec.versions[{i}]"
        if not isinstance(version, dict):
            yield FieldError(path, "must be a mapping with name, served, storage and schema")
            continue
        yield from _unknown_fields(version, _VERSION_FIELDS, path)
        name = version.get("name")
        if name is not None and not isinstance(name, str):
            yield FieldError(f"{path}.name", f"must be a string, got {_quoted(name)}")
        elif name in seen:
            yield FieldError(f"{path}.name", f"Duplicate value: {_quoted(name)}")
        elif isinstance(name, str) and name and not _DNS_LABEL.fullmatch(name):
            yield FieldError(f"{path}.name", f"Invalid value: {_quoted(name)}: must be a lowercase DNS label")
        seen.add(str(name))
        for key in ("served", "storage"):
            if key in version and not isinstance(version[key], bool):
                yield FieldError(f"{path}.{key}", f"must be a boolean, got {_quoted(version[key])}")
        yield from _subresources(version.get("subresources"), f"{path}.subresources")
        yield from _version_schema(version.get("schema"), f"{path}.schema")


def _subresources(subresources: Any, path: str) -> Iterator[FieldError]:
    if subresources is None:
        return
    if not isinstance(subresources, dict):
        yield FieldError(path, "must be a mapping")
    elif subresources.get("status") is not None and not isinstance(subresources["status"], dict):
        yield FieldError(f"{path}.status", "must be a mapping")


def _version_schema(schema: Any, path: str) -> Iterator[FieldError]:
    root = schema.get("openAPIV3Schema") if isinstance(schema, dict) else None
    if schema is not None and not isinstance(schema, dict):
        yield FieldError(path, f"must be a mapping with openAPIV3Schema, got {_quoted(schema)}")
    elif root is None:
        yield FieldError(f"{path}.openAPIV3Schema", "Required value: schemas are required")
    else:
        yield from _node(root, f"{path}.openAPIV3Schema", ROOT)


def _string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


# ---------------------------------------------------------------------------------------------------
# One schema node
# ---------------------------------------------------------------------------------------------------


def _node(node: Any, path: str, where: str) -> Iterator[FieldError]:
    if not isinstance(node, dict):
        yield FieldError(path, f"must be a schema (a mapping), got {_quoted(node)}")
        return
    yield from _keywords(node, path)
    yield from _simple_values(node, path)
    yield from _nested_generics(node, path) if where == NESTED else _type(node, path, where)
    yield from _extensions(node, path)
    yield from _object_keywords(node, path, where)
    yield from _array_keywords(node, path, where)
    yield from _value_validations(node, path)


def _keywords(node: dict[str, Any], path: str) -> Iterator[FieldError]:
    for key in node:
        if key in _UNSUPPORTED:
            yield FieldError(f"{path}.{key}", f"Forbidden: {key} is not supported")
        elif key not in _KEYWORDS:
            yield FieldError(f"{path}.{key}", "unknown field (schema keywords are case-sensitive)")


def _simple_values(node: dict[str, Any], path: str) -> Iterator[FieldError]:
    """Keywords whose value has a fixed JSON type (Kubernetes would fail to decode anything else)."""
    for key in _COUNTS:
        value = node.get(key)
        if key in node and (not _is_int(value) or value < 0):
            yield FieldError(f"{path}.{key}", "must be >= 0" if _is_int(value) else "must be an integer >= 0")
    for key in _STRINGS:
        if key in node and not isinstance(node[key], str):
            yield FieldError(f"{path}.{key}", f"must be a string, got {_quoted(node[key])}")
    for key in _BOOLEANS:
        if key in node and not isinstance(node[key], bool):
            yield FieldError(f"{path}.{key}", f"must be a boolean, got {_quoted(node[key])}")
    for key in ("minimum", "maximum"):
        if key in node and not _is_number(node[key]):
            yield FieldError(f"{path}.{key}", f"must be a number, got {_quoted(node[key])}")
    if "multipleOf" in node and not (_is_number(node["multipleOf"]) and node["multipleOf"] > 0):
        yield FieldError(f"{path}.multipleOf", f"Invalid value: {_quoted(node['multipleOf'])}: must be > 0")
    if node.get("uniqueItems") is True:
        yield FieldError(
            f"{path}.uniqueItems", "Forbidden: uniqueItems cannot be set to true (use x-kubernetes-list-type: set)"
        )
    if "enum" in node and not isinstance(node["enum"], list):
        yield FieldError(f"{path}.enum", f"must be a list of values, got {_quoted(node['enum'])}")
    if "required" in node and not _string_list(node["required"]):
        yield FieldError(f"{path}.required", f"must be a list of field names, got {_quoted(node['required'])}")
    if "pattern" in node:
        yield from _pattern(node["pattern"], f"{path}.pattern")


def _type(node: dict[str, Any], path: str, where: str) -> Iterator[FieldError]:
    declared = node.get("type")
    int_or_string = node.get("x-kubernetes-int-or-string") is True
    if declared is None or declared == "":
        if where == ROOT:
            yield FieldError(f"{path}.type", "Required value: must be object at the root")
        elif not int_or_string and node.get("x-kubernetes-preserve-unknown-fields") is not True:
            yield FieldError(f"{path}.type", "Required value: must not be empty for specified fields")
    elif not isinstance(declared, str):
        yield FieldError(f"{path}.type", f"must be one type name (a string), got {_quoted(declared)}")
    elif declared not in SCHEMA_TYPES:
        supported = ", ".join(_quoted(t) for t in SCHEMA_TYPES)
        yield FieldError(f"{path}.type", f"Unsupported value: {_quoted(declared)}: supported values: {supported}")
    elif where == ROOT and declared != "object":
        yield FieldError(f"{path}.type", f"Invalid value: {_quoted(declared)}: must be object at the root")
    elif int_or_string:
        yield FieldError(f"{path}.type", "Forbidden: must be empty if x-kubernetes-int-or-string is true")


def _nested_generics(node: dict[str, Any], path: str) -> Iterator[FieldError]:
    """Inside allOf/anyOf/oneOf/not only value validations may stand: they constrain, never declare."""
    for key in ("type", "default", "nullable", *_EXTENSIONS, "x-kubernetes-validations"):
        if key in node:
            yield FieldError(f"{path}.{key}", "Forbidden: must not be set inside allOf, anyOf, oneOf or not")


def _extensions(node: dict[str, Any], path: str) -> Iterator[FieldError]:
    preserve = node.get("x-kubernetes-preserve-unknown-fields")
    if preserve is not None and preserve is not True:
        yield FieldError(f"{path}.x-kubernetes-preserve-unknown-fields", "must be true or undefined")
    if node.get("x-kubernetes-embedded-resource") is True and node.get("type") != "object":
        yield FieldError(f"{path}.type", "must be object if x-kubernetes-embedded-resource is true")
    map_type = node.get("x-kubernetes-map-type")
    if map_type is not None and map_type not in _MAP_TYPES:
        yield FieldError(f"{path}.x-kubernetes-map-type", _unsupported(map_type, _MAP_TYPES))
    rules = node.get("x-kubernetes-validations")
    if rules is not None and not (isinstance(rules, list) and all(_is_rule(r) for r in rules)):
        yield FieldError(f"{path}.x-kubernetes-validations", "must be a list of mappings with a rule (a string)")
    yield from _list_type(node, path)


def _list_type(node: dict[str, Any], path: str) -> Iterator[FieldError]:
    list_type, keys = node.get("x-kubernetes-list-type"), node.get("x-kubernetes-list-map-keys")
    where = f"{path}.x-kubernetes-list-type"
    if list_type is None:
        if keys:
            yield FieldError(where, "Required value: must be map if x-kubernetes-list-map-keys is non-empty")
        return
    if list_type not in _LIST_TYPES:
        yield FieldError(where, _unsupported(list_type, _LIST_TYPES))
    elif node.get("type") != "array":
        yield FieldError(where, f"Invalid value: {_quoted(list_type)}: must only be used with type array")
    elif list_type == "map":
        yield from _list_map_keys(node, keys, f"{path}.x-kubernetes-list-map-keys")
    elif keys:
        yield FieldError(where, "Required value: must be map if x-kubernetes-list-map-keys is non-empty")


def _list_map_keys(node: dict[str, Any], keys: Any, path: str) -> Iterator[FieldError]:
    if not keys:
        yield FieldError(path, "Required value: must not be empty if x-kubernetes-list-type is map")
        return
    if not _string_list(keys):
        yield FieldError(path, f"must be a list of field names, got {_quoted(keys)}")
        return
    items = node.get("items")
    if not isinstance(items, dict) or items.get("type") != "object":
        yield FieldError(f"{path[: path.rfind('.')]}.items.type", "must be object if x-kubernetes-list-type is map")
        return
    props: dict[str, Any] = items["properties"] if isinstance(items.get("properties"), dict) else {}
    required = items["required"] if _string_list(items.get("required")) else []
    for i, key in enumerate(keys):
        key_schema = props.get(key)
        if key in keys[:i]:
            yield FieldError(f"{path}[{i}]", f"Invalid value: {_quoted(key)}: must not be listed twice")
        elif not isinstance(key_schema, dict):
            yield FieldError(f"{path}[{i}]", f"Invalid value: {_quoted(key)}: must name a property of the items")
        elif key_schema.get("type") in ("array", "object"):
            yield FieldError(f"{path}[{i}]", f"Invalid value: {_quoted(key)}: must name a scalar property")
        elif key_schema.get("nullable") is True:
            yield FieldError(f"{path}[{i}]", f"Invalid value: {_quoted(key)}: a key cannot be nullable")
        elif key not in required and "default" not in key_schema:
            # Without it two entries could both lack the key, and the list would have no identity for them.
            yield FieldError(f"{path}[{i}]", f"Invalid value: {_quoted(key)}: a key must be required or have a default")


def _object_keywords(node: dict[str, Any], path: str, where: str) -> Iterator[FieldError]:
    child = NESTED if where == NESTED else FIELD
    props, additional = node.get("properties"), node.get("additionalProperties")
    if props is not None:
        if not isinstance(props, dict):
            yield FieldError(f"{path}.properties", f"must be a mapping of field name to schema, got {_quoted(props)}")
        else:
            for key, sub in props.items():
                yield from _node(sub, f"{path}.properties.{key}", child)
    if additional is None or (isinstance(additional, bool) and additional):
        return
    if additional is False:
        yield FieldError(f"{path}.additionalProperties", "Forbidden: additionalProperties cannot be set to false")
    elif props:
        yield FieldError(
            f"{path}.additionalProperties", "Forbidden: additionalProperties and properties are mutual exclusive"
        )
    else:
        yield from _node(additional, f"{path}.additionalProperties", child)


def _array_keywords(node: dict[str, Any], path: str, where: str) -> Iterator[FieldError]:
    items = node.get("items")
    if items is None:
        if node.get("type") == "array":
            yield FieldError(f"{path}.items", "Required value: must be specified for type array")
    elif isinstance(items, list):
        yield FieldError(f"{path}.items", "Forbidden: items must be a schema object and not an array")
    else:
        yield from _node(items, f"{path}.items", NESTED if where == NESTED else FIELD)


def _value_validations(node: dict[str, Any], path: str) -> Iterator[FieldError]:
    for key in _COMBINATORS:
        branches = node.get(key)
        if branches is None or _int_or_string_any_of(node, key):
            continue
        if not isinstance(branches, list):
            yield FieldError(f"{path}.{key}", "must be a list of schemas")
            continue
        for i, branch in enumerate(branches):
            yield from _node(branch, f"{path}.{key}[{i}]", NESTED)
    if "not" in node:
        yield from _node(node["not"], f"{path}.not", NESTED)


def _int_or_string_any_of(node: dict[str, Any], key: str) -> bool:
    """``anyOf: [{type: integer}, {type: string}]`` beside x-kubernetes-int-or-string is what generators
    write, and Kubernetes accepts it."""
    branches = node.get(key)
    return (
        key == "anyOf"
        and node.get("x-kubernetes-int-or-string") is True
        and isinstance(branches, list)
        and all(isinstance(b, dict) and set(b) == {"type"} and b["type"] in ("integer", "string") for b in branches)
    )


def _is_rule(rule: Any) -> bool:
    return isinstance(rule, dict) and isinstance(rule.get("rule"), str)


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _unsupported(value: Any, supported: tuple[str, ...]) -> str:
    return f"Unsupported value: {_quoted(value)}: supported values: {', '.join(map(render_value, supported))}"


# ---------------------------------------------------------------------------------------------------
# Patterns: RE2, the syntax Kubernetes (Go's regexp) accepts
# ---------------------------------------------------------------------------------------------------

_GROUP_PREFIXES = (
    ("?=", "look-ahead (?=...)"),
    ("?!", "negative look-ahead (?!...)"),
    ("?<=", "look-behind (?<=...)"),
    ("?<!", "negative look-behind (?<!...)"),
    ("?>", "atomic group (?>...)"),
    ("?(", "conditional group (?(...)"),
    ("?#", "comment group (?#...)"),
    ("?P=", "backreference (?P=...)"),
)
_FLAGS = re.compile(r"\?([a-zA-Z]*)(?:-([a-zA-Z]*))?[:)]")
_RE2_FLAGS = frozenset("imsU")
_REPEAT = re.compile(r"\{(\d+)(?:,(\d*))?\}")
_RE2_MAX_REPEAT = 1000


def _pattern(pattern: Any, path: str) -> Iterator[FieldError]:
    if not isinstance(pattern, str):
        yield FieldError(path, f"must be a string, got {_quoted(pattern)}")
        return
    problem = re2_problem(pattern)
    if problem:
        yield FieldError(path, f"Invalid value: {_quoted(pattern)}: must be a valid RE2 regular expression: {problem}")


def re2_problem(pattern: str) -> str | None:
    """Why Go's regexp (RE2 syntax) would refuse ``pattern``, or why choreo cannot run it; ``None`` if fine.

    Python's ``re`` checks the syntax both share; the Perl features RE2 leaves out on purpose (it
    guarantees linear time) are found by a scan that skips escapes and character classes."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return str(exc)
    except (OverflowError, RecursionError):
        return "too complex"
    return _perl_only(pattern)


def _perl_only(pattern: str) -> str | None:
    i, in_class = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            problem = _escape(pattern[i + 1 : i + 2], in_class)
            if problem:
                return problem
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class, i = True, _class_start(pattern, i)
        else:
            problem = _regex_group(pattern, i) if char == "(" else _quantifier(pattern, i)
            if problem:
                return problem
        i += 1
    return None


def _class_start(pattern: str, i: int) -> int:
    """The index of the last character that opens a class: a ``]`` right after ``[`` or ``[^`` is a
    literal member, not the end of the class."""
    if pattern[i + 1 : i + 2] == "^":
        i += 1
    if pattern[i + 1 : i + 2] == "]":
        i += 1
    return i


def _escape(char: str, in_class: bool) -> str | None:
    if char and char in "123456789":
        return f"backreference \\{char} is not supported"
    if char == "Z" and not in_class:
        return "\\Z is not supported (RE2 spells the end of text \\z)"
    return None


def _regex_group(pattern: str, i: int) -> str | None:
    rest = pattern[i + 1 :]
    for prefix, what in _GROUP_PREFIXES:
        if rest.startswith(prefix):
            return f"{what} is not supported"
    flags = _FLAGS.match(rest)
    if flags:
        unknown = sorted(set(flags.group(1) + (flags.group(2) or "")) - _RE2_FLAGS)
        if unknown:
            return f"flag {unknown[0]} is not supported (RE2 knows i, m, s and U)"
    return None


def _quantifier(pattern: str, i: int) -> str | None:
    char = pattern[i]
    if char == "{":
        repeat = _REPEAT.match(pattern, i)
        counts = [int(n) for n in repeat.groups() if n] if repeat else []
        if any(n > _RE2_MAX_REPEAT for n in counts):
            return f"repeat count {max(counts)} is over RE2's limit of {_RE2_MAX_REPEAT}"
        if repeat and pattern[repeat.end() : repeat.end() + 1] == "+":
            return "possessive quantifier }+ is not supported"
    elif char in "*+?" and pattern[i + 1 : i + 2] == "+":
        return f"possessive quantifier {char}+ is not supported"
    return None


# ---------------------------------------------------------------------------------------------------
# Values: defaults and enums must be valid where they stand
# ---------------------------------------------------------------------------------------------------


def _values(crd: dict[str, Any]) -> Iterator[FieldError]:
    for i, version in enumerate((crd.get("spec") or {}).get("versions") or []):
        root: dict[str, Any] = version["schema"]["openAPIV3Schema"]  # the shape checks found them all there
        yield from _node_values(root, f"spec.versions[{i}].schema.openAPIV3Schema")


def _node_values(node: dict[str, Any], path: str, correlatable: bool = True) -> Iterator[FieldError]:
    """``correlatable``: an update has an old value for this node to hand a rule's ``oldSelf`` (every node but
    those below the items of a list that is not a list-map)."""
    if node.get("x-kubernetes-validations"):
        yield from _rules(node, path, correlatable)
    bare = {k: v for k, v in node.items() if k not in ("default", "enum", "x-kubernetes-validations")}
    if "default" in node:
        yield from _relative(f"{path}.default", check_value(bare, node["default"]))
    for i, value in enumerate(node.get("enum") or []):
        yield from _relative(f"{path}.enum[{i}]", check_value(bare, value))
    for key, sub in (node.get("properties") or {}).items():
        yield from _node_values(sub, f"{path}.properties.{key}", correlatable)
    if isinstance(node.get("additionalProperties"), dict):
        yield from _node_values(node["additionalProperties"], f"{path}.additionalProperties", correlatable)
    if isinstance(node.get("items"), dict):
        by_key = correlatable and node.get("x-kubernetes-list-type") == "map"
        yield from _node_values(node["items"], f"{path}.items", by_key)


def _rules(node: dict[str, Any], path: str, correlatable: bool) -> Iterator[FieldError]:
    """Each CEL rule must compile (and its messageExpression), with a known reason and a fieldPath to a field
    the schema declares, as kube-apiserver checks when a CRD is created (choreo.apiserver.celrules)."""
    from choreo.apiserver import celrules  # loads the CEL library: only for the CRDs that have rules

    for i, entry in enumerate(node["x-kubernetes-validations"]):
        where = f"{path}.x-kubernetes-validations[{i}]"
        for key, message in celrules.rule_problems(entry, correlatable):
            yield FieldError(f"{where}.{key}" if key else where, message)
        field_path = entry.get("fieldPath") if isinstance(entry, dict) else None
        steps = celrules.parse_field_path(field_path) if isinstance(field_path, str) else None
        if steps is not None and not _declares(node, steps):
            problem = "fieldPath must be a valid path: does not refer to a valid field"
            yield FieldError(f"{where}.fieldPath", f"Invalid value: {_quoted(field_path)}: {problem}")


def _declares(node: dict[str, Any], steps: list[str]) -> bool:
    """Whether the field ``steps`` lead to from ``node`` is declared (a property, or any key of a map)."""
    for step in steps:
        props, additional = node.get("properties"), node.get("additionalProperties")
        if isinstance(props, dict) and isinstance(props.get(step), dict):
            node = props[step]
        elif isinstance(additional, dict):
            node = additional
        else:
            return False
    return True


def _relative(path: str, errors: list[FieldError]) -> Iterator[FieldError]:
    for error in errors:
        yield FieldError(path if error.path == "." else f"{path}{error.path}", error.message)
