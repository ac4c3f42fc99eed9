"""Editing ``in/`` object by object: the one writer behind ``choreo apply`` and ``choreo delete``.

Why: ``in/`` files are the user's source of truth and may hold several documents. An object must only ever
be written to, or removed from, the file that holds it — matched by group, kind, namespace (absent:
``default``) and name — with the file's other documents kept byte for byte, and each file replaced
atomically. Otherwise an object of another namespace overwrites a file of the same name (and the next run
deletes the lost object with its children), or a delete cannot find an object that lives in a shared file.
A new file's name is built from validated Kubernetes names only, so nothing a document says can make choreo
write or remove a file outside ``in/``; the resolved path is checked to be inside ``in/`` before any write
or removal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from choreo.apiserver.metadata import dns1123_label_errors, dns1123_subdomain_errors
from choreo.atomic import write_atomic
from choreo.errors import ChoreoError, Invalid, NotFound
from choreo.loader.files import Folder, FoundFile
from choreo.loader.loading import DEFAULT_NAMESPACE, INPUT, YAML_SUFFIXES
from choreo.loader.paths import resolve_inside
from choreo.loader.yamlio import parse_documents, read_text

_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_KIND_MESSAGE = "a kind must consist of alphanumeric characters and start with a letter"


@dataclass(frozen=True)
class ObjectRef:
    """Which object a document of ``in/`` describes (namespace ``default`` when it names none)."""

    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name} in namespace {self.namespace}"


def object_ref(obj: dict[str, Any], where: str) -> ObjectRef:
    """The identity of ``obj``, every part checked as Kubernetes checks it (``Invalid`` naming ``where``):
    group a DNS subdomain, version a DNS label, kind alphanumeric starting with a letter, name a DNS
    subdomain, namespace a DNS label. Only such names ever become part of a file name."""
    group, _, version = str(obj.get("apiVersion") or "").rpartition("/")
    kind = obj.get("kind")
    metadata = _metadata(obj)
    name, namespace = metadata.get("name"), metadata.get("namespace") or DEFAULT_NAMESPACE
    checks = [
        ("apiVersion group", group, dns1123_subdomain_errors(group) if group else []),
        ("apiVersion version", version, dns1123_label_errors(version)),
        ("kind", kind, [] if isinstance(kind, str) and _KIND.fullmatch(kind) else [_KIND_MESSAGE]),
        ("metadata.name", name, _string_errors(name, dns1123_subdomain_errors)),
        ("metadata.namespace", namespace, _string_errors(namespace, dns1123_label_errors)),
    ]
    prefix = f"{where}: " if where else ""
    for field, value, errors in checks:
        if errors:
            raise Invalid(f"{prefix}{field} {value!r} is invalid: {errors[0]}")
    return ObjectRef(group, str(kind), str(namespace), str(name))


def _string_errors(value: Any, errors: Callable[[str], list[str]]) -> list[str]:
    return errors(value) if isinstance(value, str) else ["must be a string"]


def new_file_name(ref: ObjectRef) -> str:
    """``<group>.<kind>.<name>.yaml`` in the default namespace (the names existing projects have), else
    ``<group>.<kind>.<namespace>_<name>.yaml`` (``_`` is in no Kubernetes name: no two objects share one)."""
    name = ref.name if ref.namespace == DEFAULT_NAMESPACE else f"{ref.namespace}_{ref.name}"
    return f"{ref.group or 'core'}.{ref.kind.lower()}.{name}.yaml"


@dataclass(frozen=True)
class Found:
    """Where an object lives: its file, the file's text, the object's document and how many the file has."""

    file: FoundFile
    text: str
    position: int  # 1-based position of the document in the YAML stream
    documents: int  # non-empty documents of the file


class InputFiles:
    """The ``in/`` folder of one project, edited one object at a time."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.folder = Folder(self.root, INPUT)  # in/ itself must resolve inside the project

    def find(self, ref: ObjectRef) -> Found | None:
        """The document describing ``ref``, wherever it lives in ``in/``."""
        found: list[Found] = []
        for file in self.folder.files(YAML_SUFFIXES):
            text = read_text(file.path, file.source)
            documents = parse_documents(text, file.source)
            for position, doc in documents:
                if isinstance(doc, dict) and _ref_of(doc) == ref:
                    found.append(Found(file, text, position, len(documents)))
        if len(found) > 1:
            raise ChoreoError(f"{found[0].file.source} and {found[1].file.source} both hold {ref}: remove one")
        return found[0] if found else None

    def put(self, obj: dict[str, Any], ref: ObjectRef) -> str:
        """Write ``obj`` where ``ref`` lives (only its document replaced) or to a new file; the file's source."""
        document = yaml.safe_dump(obj, sort_keys=False)
        found = self.find(ref)
        if found is not None:
            self._write(found.file.path, found.file.source, _edit(found, document))
            return found.file.source
        path, source = self.new_file(ref)
        self._write(path, source, document)
        return source

    def check_put(self, ref: ObjectRef) -> None:
        """Raise the error ``put`` of ``ref`` would raise (a new file's name taken, a link leading out of
        ``in/``), writing nothing: to check a batch before any write."""
        found = self.find(ref)
        if found is None:
            self.new_file(ref)
        else:
            self._inside(found.file.path, found.file.source)

    def new_file(self, ref: ObjectRef) -> tuple[Path, str]:
        """The path and source of the new file ``ref`` goes to; an error when a file is already there."""
        path = self.folder.path / new_file_name(ref)
        source = f"{INPUT}/{path.name}"
        if path.exists() or path.is_symlink():
            raise not_overwriting(source, ref)
        return path, source

    def require(self, ref: ObjectRef) -> Found:
        """Like ``find``, but an object in no file is an error naming its kind, namespace and name."""
        found = self.find(ref)
        if found is None:
            raise NotFound(f"{INPUT}/: no such input file for {ref}")
        return found

    def remove(self, ref: ObjectRef) -> str:
        """Remove the document describing ``ref`` (the file when it held nothing else); the file's source."""
        found = self.require(ref)
        path, source = found.file.path, found.file.source
        if found.documents > 1:
            self._write(path, source, _edit(found, None))
        else:
            self._inside(path, source)
            path.unlink()
        return source

    def _inside(self, path: Path, source: str) -> Path:
        """The real path of ``path`` (``path`` itself when new), refused unless it resolves inside ``in/``."""
        where = f"{INPUT}/: choreo changes only files that are in it, a link's target too"
        return resolve_inside(path, [self.folder.real], source, outside=where) or path

    def check_change(self, ref: ObjectRef) -> None:
        """Raise the error changing the file that holds ``ref`` would raise (a link leading out of ``in/``),
        changing nothing: to check a batch before anything is removed."""
        found = self.find(ref)
        if found is not None:
            self._inside(found.file.path, found.file.source)

    def _write(self, path: Path, source: str, text: str) -> None:
        if not self.folder.exists:
            self.folder.path.mkdir()
            self.folder = Folder(self.root, INPUT)
        write_atomic(self._inside(path, source), text)


def not_overwriting(source: str, ref: ObjectRef) -> ChoreoError:
    """The refusal to write ``ref`` over the file ``source``, which holds other objects."""
    return ChoreoError(f"{source}: holds other objects than {ref}; not overwriting it")


def holds_only(path: Path, source: str, ref: ObjectRef) -> bool:
    """Whether the file at ``path`` (named ``source``) describes ``ref`` and nothing else (a link never does:
    writing through it would change another file)."""
    if path.is_symlink() or not path.is_file():
        return False
    documents = parse_documents(read_text(path, source), source)
    return bool(documents) and all(isinstance(doc, dict) and _ref_of(doc) == ref for _position, doc in documents)


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _ref_of(doc: dict[str, Any]) -> ObjectRef:
    """The identity a document of ``in/`` claims, unchecked (it is only compared)."""
    metadata = _metadata(doc)
    group = str(doc.get("apiVersion") or "").rpartition("/")[0]
    namespace = metadata.get("namespace") or DEFAULT_NAMESPACE
    return ObjectRef(group, str(doc.get("kind")), str(namespace), str(metadata.get("name")))


def _edit(found: Found, document: str | None) -> str:
    """The file's text with the found document replaced by ``document`` (removed when None), the others kept
    as they are written: the file's byte order mark and CRLF line ends, which reading it dropped, go back."""
    start, end, explicit = _document_spans(found.text)[found.position - 1]
    marker = "---\n" if explicit else ""
    replacement = "" if document is None else marker + document
    text = found.text[:start] + replacement + found.text[end:]
    try:
        raw = found.file.path.read_bytes()
    except OSError:
        return text
    if b"\r\n" in raw and raw.count(b"\n") == raw.count(b"\r\n"):
        text = text.replace("\n", "\r\n")
    return "\ufeff" + text if raw.startswith(b"\xef\xbb\xbf") else text


def _document_spans(text: str) -> list[tuple[int, int, bool]]:
    """Each document of a YAML stream as (start, end, starts with ``---``): from its start (the ``---``
    marker, else its first token) to the start of the next document, or the end of the text."""
    starts = [
        (event.start_mark.index, bool(event.explicit))
        for event in yaml.parse(text, Loader=yaml.SafeLoader)  # pure Python: marks count characters
        if isinstance(event, yaml.DocumentStartEvent) and event.start_mark is not None
    ]
    ends = [start for start, _ in starts[1:]] + [len(text)]
    return [(start, end, explicit) for (start, explicit), end in zip(starts, ends, strict=True)]
