"""Validation of an object's ``metadata``, by the rules Kubernetes applies to ObjectMeta.

A CRD's schema never describes ``metadata`` (the API server owns it), so the rules live here: a
DNS-1123 subdomain name, a namespace exactly when the kind is namespaced, label and annotation keys
that are qualified names, label values of the restricted label alphabet, finalizers that are
qualified names, and owner references that identify their owner with at most one controller.
Messages follow Kubernetes' wording so they read like ``kubectl`` errors.

Beyond Kubernetes, two checks keep server-side apply sound: finalizers (a set) and owner references
(a map keyed by ``uid``) may not repeat an entry. Fields that ObjectMeta does not have are reported
as ``field not declared in schema``, like undeclared fields elsewhere.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from choreo.apiserver.openapi import (
    NOT_DECLARED,
    REQUIRED,
    FieldError,
    child_path,
    index_path,
    render_value,
    sorted_errors,
)

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
QUALIFIED_NAME_MAX = 63
LABEL_VALUE_MAX = 63
ANNOTATIONS_MAX_BYTES = 256 * 1024

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(_LABEL)
_DNS1123_SUBDOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")

SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
NAME_PART_MESSAGE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
QUALIFIED_NAME_MESSAGE = (
    "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character, with an optional DNS subdomain prefix and '/' "
    "(e.g. 'example.com/MyName')"
)
LABEL_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)

OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)
OWNER_REFERENCE_FIELDS = frozenset({"apiVersion", "kind", "name", "uid", "controller", "blockOwnerDeletion"})

_META = ".metadata"


# ---------------------------------------------------------------------------------------------------
# Name rules (each returns the list of reasons a string breaks it; empty when it is fine)
# ---------------------------------------------------------------------------------------------------
#
# The same names, label keys and values and finalizers come by on every write of an object, so the
# reasons are remembered per string (as tuples, which callers cannot change); the public functions
# hand out lists.

_REMEMBERED = 8192


def _too_long(limit: int) -> str:
    return f"must be no more than {limit} characters"


@lru_cache(maxsize=_REMEMBERED)
def _subdomain_reasons(value: str) -> tuple[str, ...]:
    too_long = (_too_long(DNS1123_SUBDOMAIN_MAX),) if len(value) > DNS1123_SUBDOMAIN_MAX else ()
    return too_long if _DNS1123_SUBDOMAIN.fullmatch(value) else (*too_long, SUBDOMAIN_MESSAGE)


@lru_cache(maxsize=_REMEMBERED)
def _label_reasons(value: str) -> tuple[str, ...]:
    too_long = (_too_long(DNS1123_LABEL_MAX),) if len(value) > DNS1123_LABEL_MAX else ()
    return too_long if _DNS1123_LABEL.fullmatch(value) else (*too_long, LABEL_MESSAGE)


@lru_cache(maxsize=_REMEMBERED)
def _qualified_name_reasons(value: str) -> tuple[str, ...]:
    parts = value.split("/")
    if len(parts) > 2:
        return (QUALIFIED_NAME_MESSAGE,)
    reasons = []
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            reasons.append("prefix part must be non-empty")
        else:
            reasons.extend(f"prefix part {reason}" for reason in _subdomain_reasons(prefix))
    name = parts[-1]
    if not name:
        reasons.append("name part must be non-empty")
        return tuple(reasons)
    if len(name) > QUALIFIED_NAME_MAX:
        reasons.append(f"name part {_too_long(QUALIFIED_NAME_MAX)}")
    if not _QUALIFIED_NAME.fullmatch(name):
        reasons.append(NAME_PART_MESSAGE)
    return tuple(reasons)


@lru_cache(maxsize=_REMEMBERED)
def _label_value_reasons(value: str) -> tuple[str, ...]:
    too_long = (_too_long(LABEL_VALUE_MAX),) if len(value) > LABEL_VALUE_MAX else ()
    return too_long if _LABEL_VALUE.fullmatch(value) else (*too_long, LABEL_VALUE_MESSAGE)


def dns1123_subdomain_errors(value: str) -> list[str]:
    return list(_subdomain_reasons(value))


def dns1123_label_errors(value: str) -> list[str]:
    return list(_label_reasons(value))


def qualified_name_errors(value: str) -> list[str]:
    """Kubernetes' ``IsQualifiedName``: ``[prefix/]name``, prefix a DNS-1123 subdomain."""
    return list(_qualified_name_reasons(value))


def label_value_errors(value: str) -> list[str]:
    return list(_label_value_reasons(value))


def is_dns1123_subdomain(value: str) -> bool:
    return isinstance(value, str) and not _subdomain_reasons(value)


def is_dns1123_label(value: str) -> bool:
    return isinstance(value, str) and not _label_reasons(value)


def is_qualified_name(value: str) -> bool:
    return isinstance(value, str) and not _qualified_name_reasons(value)


# ---------------------------------------------------------------------------------------------------
# ObjectMeta
# ---------------------------------------------------------------------------------------------------


def validate_metadata(obj: dict[str, Any], *, namespaced: bool) -> list[FieldError]:
    """Every way ``obj["metadata"]`` breaks the ObjectMeta rules, sorted by path then message."""
    md = obj.get("metadata")
    if md is None:
        md = {}
    if not isinstance(md, dict):
        return [_invalid(_META, md, "must be of type object")]
    if _plainly_valid(md, namespaced):
        return []
    errors = [
        *_check_name(md),
        *_check_namespace(md, namespaced),
        *_check_labels(md.get("labels")),
        *_check_annotations(md.get("annotations")),
        *_check_finalizers(md.get("finalizers")),
        *_check_owner_references(md.get("ownerReferences")),
        *_check_unknown(md, OBJECT_META_FIELDS, _META),
    ]
    return sorted_errors(errors)


def _plainly_valid(md: dict[str, Any], namespaced: bool) -> bool:
    """True when the rules below find nothing wrong with ``md``, checked without building any message: every
    write validates its request's metadata, nearly always fine. False also for what is merely unusual (a str
    subclass, say): the rules then look at it one by one."""
    if not md.keys() <= OBJECT_META_FIELDS:
        return False
    name, namespace = md.get("name"), md.get("namespace")
    if type(name) is not str or not name or _subdomain_reasons(name):
        return False
    if namespaced:
        if type(namespace) is not str or not namespace or _label_reasons(namespace):
            return False
    elif namespace is not None and namespace != "":
        return False
    labels, annotations = md.get("labels"), md.get("annotations")
    if labels is not None and not _plain_labels(labels):
        return False
    if annotations is not None and not _plain_annotations(annotations):
        return False
    finalizers, references = md.get("finalizers"), md.get("ownerReferences")
    if finalizers is not None and not _plain_finalizers(finalizers):
        return False
    return references is None or _plain_owner_references(references)


def _plain_labels(labels: Any) -> bool:
    if type(labels) is not dict:
        return False
    for key, value in labels.items():
        if type(key) is not str or type(value) is not str:
            return False
        if _qualified_name_reasons(key) or _label_value_reasons(value):
            return False
    return True


def _plain_annotations(annotations: Any) -> bool:
    if type(annotations) is not dict:
        return False
    size = 0
    for key, value in annotations.items():
        if type(key) is not str or type(value) is not str or _qualified_name_reasons(key.lower()):
            return False
        size += len(key.encode()) + len(value.encode())
    return size <= ANNOTATIONS_MAX_BYTES


def _plain_finalizers(finalizers: Any) -> bool:
    if type(finalizers) is not list:
        return False
    for finalizer in finalizers:
        if type(finalizer) is not str or _qualified_name_reasons(finalizer):
            return False
    return len(set(finalizers)) == len(finalizers)


def _plain_owner_references(references: Any) -> bool:
    if type(references) is not list:
        return False
    uids = set()
    controllers = 0
    for ref in references:
        if type(ref) is not dict or not ref.keys() <= OWNER_REFERENCE_FIELDS:
            return False
        api_version, kind, name, uid = ref.get("apiVersion"), ref.get("kind"), ref.get("name"), ref.get("uid")
        if type(api_version) is not str or type(kind) is not str or type(name) is not str or type(uid) is not str:
            return False
        if not (api_version and kind and name and uid):
            return False
        controller, blocking = ref.get("controller"), ref.get("blockOwnerDeletion")
        if controller is not None and type(controller) is not bool:
            return False
        if blocking is not None and type(blocking) is not bool:
            return False
        uids.add(uid)
        controllers += controller is True
    return len(uids) == len(references) and controllers <= 1


# What validate_metadata looks at besides the names of the fields.
_CHECKED = ("name", "namespace", "labels", "annotations", "finalizers", "ownerReferences")


def same_checked_metadata(checked: Any, obj: dict[str, Any]) -> bool:
    """Whether ``obj``'s metadata passes ``validate_metadata`` because ``checked`` (metadata that passed it,
    for the same kind) did: every field the rules look at is the same, and there is no unknown field.

    Why: a write validates the request's metadata to find the object's key, and the object it is about to
    store has, nearly always, the same; comparing is several times cheaper than checking again."""
    md = obj.get("metadata")
    if not isinstance(checked, dict) or not isinstance(md, dict) or not md.keys() <= OBJECT_META_FIELDS:
        return False
    return md is checked or all(md.get(field) == checked.get(field) for field in _CHECKED)


def _invalid(path: str, value: Any, reason: str) -> FieldError:
    return FieldError(path, f"Invalid value: {render_value(value)}: {reason}")


def _not_a(path: str, value: Any, type_name: str) -> FieldError:
    return _invalid(path, value, f"must be of type {type_name}")


def _check_unknown(mapping: dict[Any, Any], known: frozenset[str], path: str) -> list[FieldError]:
    if mapping.keys() <= known:
        return []
    return [FieldError(child_path(path, key), NOT_DECLARED) for key in mapping if key not in known]


def _check_name(md: dict[str, Any]) -> list[FieldError]:
    path = child_path(_META, "name")
    name = md.get("name")
    if name is None or name == "":
        return [FieldError(path, f"{REQUIRED}: name is required")]
    if not isinstance(name, str):
        return [_not_a(path, name, "string")]
    return [_invalid(path, name, reason) for reason in _subdomain_reasons(name)]


def _check_namespace(md: dict[str, Any], namespaced: bool) -> list[FieldError]:
    path = child_path(_META, "namespace")
    namespace = md.get("namespace")
    if not namespaced:
        if namespace is None or namespace == "":
            return []
        return [FieldError(path, "Forbidden: not allowed on this type")]
    if namespace is None or namespace == "":
        return [FieldError(path, REQUIRED)]
    if not isinstance(namespace, str):
        return [_not_a(path, namespace, "string")]
    return [_invalid(path, namespace, reason) for reason in _label_reasons(namespace)]


def _check_labels(labels: Any) -> list[FieldError]:
    path = child_path(_META, "labels")
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [_not_a(path, labels, "object")]
    errors = []
    for key, value in labels.items():
        errors.extend(_check_key(path, key, key))
        if not isinstance(value, str):
            errors.append(_not_a(path, value, "string"))
        else:
            errors.extend(_invalid(path, value, reason) for reason in _label_value_reasons(value))
    return errors


def _check_key(path: str, key: Any, checked: Any) -> list[FieldError]:
    """Errors for a label or annotation key (``checked`` is the form the rules apply to)."""
    if not isinstance(key, str):
        return [_not_a(path, key, "string")]
    return [_invalid(path, key, reason) for reason in _qualified_name_reasons(checked)]


def _check_annotations(annotations: Any) -> list[FieldError]:
    path = child_path(_META, "annotations")
    if annotations is None:
        return []
    if not isinstance(annotations, dict):
        return [_not_a(path, annotations, "object")]
    errors = []
    size = 0
    for key, value in annotations.items():
        # Kubernetes lower-cases annotation keys before the qualified-name check.
        errors.extend(_check_key(path, key, key.lower() if isinstance(key, str) else key))
        if not isinstance(value, str):
            errors.append(_not_a(path, value, "string"))
        else:
            size += len(str(key).encode()) + len(value.encode())
    if size > ANNOTATIONS_MAX_BYTES:
        errors.append(FieldError(path, f"Too long: must have at most {ANNOTATIONS_MAX_BYTES} bytes"))
    return errors


def _check_finalizers(finalizers: Any) -> list[FieldError]:
    path = child_path(_META, "finalizers")
    if finalizers is None:
        return []
    if not isinstance(finalizers, list):
        return [_not_a(path, finalizers, "array")]
    errors = []
    seen: set[str] = set()
    for i, finalizer in enumerate(finalizers):
        item_path = index_path(path, i)
        if not isinstance(finalizer, str):
            errors.append(_not_a(item_path, finalizer, "string"))
            continue
        errors.extend(_invalid(item_path, finalizer, reason) for reason in _qualified_name_reasons(finalizer))
        if finalizer in seen:
            errors.append(FieldError(item_path, f"Duplicate value: {render_value(finalizer)}"))
        seen.add(finalizer)
    return errors


def _check_owner_references(refs: Any) -> list[FieldError]:
    path = child_path(_META, "ownerReferences")
    if refs is None:
        return []
    if not isinstance(refs, list):
        return [_not_a(path, refs, "array")]
    errors = []
    seen_uids: set[str] = set()
    controllers = []
    for i, ref in enumerate(refs):
        item_path = index_path(path, i)
        if not isinstance(ref, dict):
            errors.append(_not_a(item_path, ref, "object"))
            continue
        errors.extend(_check_owner_reference(ref, item_path))
        uid = ref.get("uid")
        if isinstance(uid, str) and uid:
            if uid in seen_uids:
                errors.append(FieldError(item_path, f"Duplicate value: {render_value({'uid': uid})}"))
            seen_uids.add(uid)
        if ref.get("controller") is True:
            controllers.append(ref.get("name"))
    if len(controllers) > 1:
        errors.append(_invalid(path, controllers, "Only one reference can have Controller set to true"))
    return errors


def _check_owner_reference(ref: dict[str, Any], path: str) -> list[FieldError]:
    errors = _check_unknown(ref, OWNER_REFERENCE_FIELDS, path)
    for field in ("apiVersion", "kind", "name", "uid"):
        value = ref.get(field)
        if value is None or value == "":
            errors.append(FieldError(child_path(path, field), REQUIRED))
        elif not isinstance(value, str):
            errors.append(_not_a(child_path(path, field), value, "string"))
    for field in ("controller", "blockOwnerDeletion"):
        value = ref.get(field)
        if value is not None and not isinstance(value, bool):
            errors.append(_not_a(child_path(path, field), value, "boolean"))
    return errors
