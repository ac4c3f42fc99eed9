"""YAML in and out for project files, with the same data model as the reference's sigs.k8s.io/yaml.

Why a module of its own: every project folder (crds/, in/, refs/, reconciler configs) is read through
the same rules — multi-document files, CRLF normalised, empty documents skipped, duplicate mapping
keys refused, one clear ``<file>:<line>: ...`` error instead of a parser traceback — and ``dev parse``
must write YAML that is byte-for-byte stable. Values keep their JSON type: timestamps stay strings (as
Go's YAML-to-JSON does) and mapping keys are always strings, so loaded objects can be served as JSON
unchanged.

Project files come from other people, so reading is bounded (``Limits``): a file's size is checked before
it is read, a YAML stream's size before it is parsed, and a document's size after alias expansion before
it is built — a "billion laughs" of nested aliases is refused in milliseconds instead of exhausting time
and memory later, and a recursive alias (an anchor used inside itself) is refused outright.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import yaml

from choreo.environment import positive_count
from choreo.errors import LoadError
from choreo.filestamp import FileStamp, file_stamp, is_racy
from choreo.loader.project import InputObject

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_STR, _SEQ, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
_INT = "tag:yaml.org,2002:int"
_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """How much one project file may make the reader do; each overridable by an environment variable.

    ``file_bytes``: any file read (code, running configs, YAML); ``yaml_bytes``: one YAML stream (a file
    or a template's output) — libyaml builds ~100 000 nodes a second here, so 8 MiB is seconds, not
    minutes; ``yaml_nodes``: one document once its aliases are expanded (what the rest of choreo copies,
    validates and stores), which plain documents within ``yaml_bytes`` never reach.
    """

    file_bytes: int = 64 * _MiB
    yaml_bytes: int = 8 * _MiB
    yaml_nodes: int = 1_000_000

    @classmethod
    def current(cls) -> Limits:
        """The defaults, overridden by ``CHOREO_FILE_SIZE_LIMIT`` etc. (read at each use, so tests can set them;
        parsed once per distinct setting: every rendered template's output is read through here)."""
        return _limits_for(tuple(os.environ.get(variable) for variable in LIMIT_VARIABLES.values()))


@functools.lru_cache(maxsize=8)
def _limits_for(_settings: tuple[str | None, ...]) -> Limits:
    """``Limits`` for the environment's current values of ``LIMIT_VARIABLES`` (the cache key)."""
    default = Limits()
    return Limits(**{
        name: positive_count(variable, getattr(default, name), error=LoadError)
        for name, variable in LIMIT_VARIABLES.items()
    })


LIMIT_VARIABLES = {
    "file_bytes": "CHOREO_FILE_SIZE_LIMIT",
    "yaml_bytes": "CHOREO_YAML_SIZE_LIMIT",
    "yaml_nodes": "CHOREO_YAML_NODE_LIMIT",
}


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping names the same key twice (the YAML spec requires unique keys)."""


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader (libyaml when available) producing JSON-compatible data, refusing duplicate keys.

    PyYAML lets the last of two equal keys win, so ``name:`` twice silently changes an object's identity;
    like yamllint and Kubernetes' strict decoding we reject it. Keys brought in by a ``<<`` merge may be
    overridden, as YAML intends: only the mapping's own keys must be unique.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._own_pairs: dict[yaml.MappingNode, list[tuple[yaml.Node, yaml.Node]]] = {}
        # Without a "*" there is no alias, and a document's size is already bounded by the stream's.
        self._node_limit = Limits.current().yaml_nodes if "*" in stream else 0

    def construct_document(self, node: yaml.Node) -> Any:
        """Refuse a document whose aliases expand beyond the node limit (or into themselves) first.

        A document of plain JSON-like data is built by ``_build_plain``; anything else it meets (a merge,
        a duplicate or non-string key, a rare tag, nesting deeper than Python's recursion allows, a value
        its tag refuses) makes it give up, and PyYAML's own constructor (with the checks of this class)
        builds the document from scratch, so results and errors are that constructor's.
        """
        if self._node_limit:
            _check_expansion(node, self._node_limit)
        with suppress(Exception):  # not an error yet: the general constructor builds it or says what is wrong
            return _build_plain(self, node, {})
        return super().construct_document(node)

    def resolve(self, kind: type[yaml.Node], value: str, implicit: tuple[bool, bool]) -> str:
        """PyYAML's tag resolution without its per-scalar overhead (there are no path resolvers here)."""
        if kind is yaml.ScalarNode:
            if implicit[0]:
                for tag, pattern in _IMPLICIT_RESOLVERS.get(value[:1], ()):
                    if pattern.match(value):
                        return tag
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP

    def descend_resolver(self, current_node: yaml.Node | None, current_index: Any) -> None:
        """Nothing to track without path resolvers (PyYAML's version checks that for every node)."""

    def ascend_resolver(self) -> None:
        """See ``descend_resolver``."""

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        """Remember a mapping's own pairs before ``<<`` merges put the merged ones in front of them."""
        own = node.value
        super().flatten_mapping(node)
        if node.value is not own:  # merged pairs were prepended (a new list); ``own`` lost its "<<" keys
            self._own_pairs.setdefault(node, own)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        if not all(isinstance(key, str) for key in mapping):
            mapping = {_json_key(key): value for key, value in mapping.items()}
        pairs: list[tuple[yaml.Node, yaml.Node]] = node.value
        if len(mapping) != len(pairs):  # rare: a duplicate, or merged keys overridden
            self._check_unique_keys(self._own_pairs.get(node, pairs))
        return mapping

    def _check_unique_keys(self, pairs: list[tuple[yaml.Node, yaml.Node]]) -> None:
        """Raise ``DuplicateKeyError`` at the second of two own keys equal as JSON keys."""
        first: dict[str, yaml.Node] = {}
        for key_node, _ in pairs:
            key = _json_key(self.construct_object(key_node))
            if key in first:
                line = first[key].start_mark.line + 1
                problem = f'duplicate key "{key}" (first at line {line})'
                raise DuplicateKeyError(None, None, problem, key_node.start_mark)
            first[key] = key_node


class _NotPlain(Exception):
    """Raised by ``_build_plain`` for what it leaves to the general constructor."""


def _build_plain(loader: _Loader, node: yaml.Node, built: dict[yaml.Node, Any]) -> Any:
    """``node`` as Python data, for documents made only of string-keyed mappings, lists and the scalar types
    JSON knows — what project files are. PyYAML's constructor does the same with a few Python calls per
    node (generators, recursion guards, a duplicate check by re-counting); this is one call per node.
    ``built`` maps each collection node to its object, so an alias shares it as it does with PyYAML.
    """
    kind = type(node)
    if kind is yaml.ScalarNode:
        if node.tag == _STR:
            return node.value
        if node.tag == _INT and node.value.isascii() and node.value.isdigit() and node.value[0] != "0":
            return int(node.value)  # a plain decimal (a leading 0 is octal in YAML 1.1): PyYAML's answer, cheaper
        return _SCALAR_CONSTRUCTORS[node.tag](loader, node)  # KeyError for other tags: not plain
    if node in built:
        return built[node]
    if kind is yaml.MappingNode and node.tag == _MAP:
        mapping: dict[str, Any] = {}
        built[node] = mapping
        for key_node, value_node in node.value:
            if type(key_node) is not yaml.ScalarNode or key_node.tag != _STR or key_node.value in mapping:
                raise _NotPlain  # "<<" merges, non-string and duplicate keys
            mapping[key_node.value] = _build_plain(loader, value_node, built)
        return mapping
    if kind is yaml.SequenceNode and node.tag == _SEQ:
        sequence: list[Any] = []
        built[node] = sequence
        sequence.extend(_build_plain(loader, item, built) for item in node.value)
        return sequence
    raise _NotPlain


def _check_expansion(root: yaml.Node, limit: int) -> None:
    """Raise ``ConstructorError`` when the tree, aliases expanded, has more than ``limit`` nodes or a cycle.

    Sizes are computed once per distinct collection node (post-order, iteratively: no recursion limit; a
    scalar counts one), so the check costs the composed graph, not its expansion. A node met again while
    its own subtree is still open is reachable from itself: a recursive alias.
    """
    sizes: dict[yaml.Node, int] = {}  # nodes compare by identity
    open_nodes: set[yaml.Node] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            open_nodes.discard(node)
            size = sizes[node] = 1 + sum(sizes.get(child, 1) for child in _children(node))
            if size > limit:
                problem = f"document too large: aliases expand it to over {limit} nodes ({_limit_hint('yaml_nodes')})"
                raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark)
        elif node in open_nodes:
            raise yaml.constructor.ConstructorError(None, None, "recursive alias", node.start_mark)
        elif node not in sizes:
            open_nodes.add(node)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node) if type(child) is not yaml.ScalarNode)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if type(node) is yaml.MappingNode:
        return [part for pair in node.value for part in pair]
    if type(node) is yaml.SequenceNode:
        return node.value  # type: ignore[no-any-return]
    return []


# Timestamps stay plain strings, like Go's YAML-to-JSON conversion of unstructured objects.
# (PyYAML's type stubs omit this class attribute.)
_IMPLICIT_RESOLVERS: dict[str, list[tuple[str, re.Pattern[str]]]] = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()  # type: ignore[attr-defined]
}
_Loader.yaml_implicit_resolvers = _IMPLICIT_RESOLVERS  # type: ignore[attr-defined]
# ``_Loader.resolve`` assumes what holds for PyYAML's safe loader: no path resolvers, no wildcard resolvers.
assert not _BaseLoader.yaml_path_resolvers and None not in _IMPLICIT_RESOLVERS  # type: ignore[attr-defined]


def _refusing_bad_values(construct: Any, type_name: str) -> Any:
    """``construct`` (PyYAML's int, float or bool constructor) raising a marked error for a value its tag
    cannot take (``!!int abc``): PyYAML lets Python's own ``ValueError``/``KeyError`` escape unmarked."""

    def construct_checked(loader: _Loader, node: yaml.ScalarNode) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, KeyError, IndexError) as err:
            shown = node.value if len(node.value) <= 40 else node.value[:40] + "..."
            problem = f"{json.dumps(shown)} is not a valid !!{type_name}"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from err

    return construct_checked


def _not_json(loader: _Loader, node: yaml.Node) -> Any:
    """Values JSON has no type for (PyYAML would make bytes, sets and dates) are refused where they stand."""
    problem = f"!!{node.tag.rpartition(':')[2]} is not supported: project files hold JSON data"
    raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark)


for _tag_name in ("binary", "set", "timestamp"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag_name}", _not_json)
for _scalar_type in ("bool", "int", "float"):
    _tag = f"tag:yaml.org,2002:{_scalar_type}"
    _Loader.add_constructor(_tag, _refusing_bad_values(_Loader.yaml_constructors[_tag], _scalar_type))
_SCALAR_CONSTRUCTORS = {
    tag: _Loader.yaml_constructors[tag]
    for tag in ("tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
}


def _json_key(key: Any) -> str:
    """The string a non-string YAML key becomes in JSON (``true``, ``null``, ``1``)."""
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def read_text(path: Path, source: str, limit: str = "file_bytes") -> str:
    """File content as text: UTF-8 (a BOM is dropped), CRLF turned into LF.

    Files over the ``limit`` (a ``Limits`` field: ``yaml_bytes`` for YAML files) are refused unparsed;
    the read stops one byte past it, so even a file of unknown size (a FIFO, /proc) costs no more.
    """
    most = getattr(Limits.current(), limit)
    try:
        with path.open("rb") as file:
            data = file.read(most + 1)
    except OSError as err:
        raise LoadError(f"{source}: cannot read file: {err.strerror or err}") from err
    return _decoded(data, source, limit)


def _decoded(data: bytes, source: str, limit: str) -> str:
    """``data`` (read up to one byte past the limit) as text, refused when over the limit or not UTF-8."""
    most = getattr(Limits.current(), limit)
    if len(data) > most:
        raise LoadError(f"{source}: file too large (over {_size(most)}; {_limit_hint(limit)})")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise LoadError(f"{source}: not valid UTF-8 (byte {err.start})") from err
    return text.replace("\r\n", "\n")


def parse_documents(text: str, source: str) -> list[tuple[int, Any]]:
    """Every non-empty document of a YAML stream as ``(1-based position in the stream, data)``."""
    limit = Limits.current().yaml_bytes
    if len(text) > limit:  # characters: at least as many bytes, so never looser than a byte count
        raise LoadError(f"{source}: YAML too large (over {_size(limit)}; {_limit_hint('yaml_bytes')})")
    collecting = gc.isenabled()
    gc.disable()  # the reader makes two objects per node, none of them garbage: a large file would pay
    try:  # for full collections over its growing tree again and again (half the time of a 5 MB document)
        documents = list(yaml.load_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as err:
        raise LoadError(_yaml_error_message(err, source)) from err
    except yaml.reader.ReaderError as err:  # a character YAML forbids; its own text spans two lines
        line = text.count("\n", 0, err.position) + 1
        code = err.character if isinstance(err.character, int) else ord(err.character)
        problem = f"unacceptable character #x{code:04x}: {err.reason}"
        raise LoadError(f"{source}:{line}: invalid YAML: {problem}") from err
    except yaml.YAMLError as err:
        raise LoadError(f"{source}: invalid YAML: {str(err).splitlines()[0]}") from err
    finally:
        if collecting:
            gc.enable()
    return [(index, doc) for index, doc in enumerate(documents, start=1) if doc is not None]


KeptFile = list[Any]
"""What a load keeps of one YAML file for the next: ``[stamp or None, digest of its text, its documents as
JSON]``. The stamp (``choreo.filestamp``, written by ``_stamp_text``) is None when it cannot vouch for the
text (it was racy)."""


def _stamp_text(stamp: FileStamp) -> str:
    """A stamp as kept: hexadecimal, so that no nanosecond time makes a run of 19 decimal digits (which would
    make the store decode the whole record the slow way, see ``store._common.decode``)."""
    return ":".join(f"{part:x}" for part in stamp)


def reader_setting() -> str:
    """What, besides the text, decides a stream's documents: the reader's limits. Kept files are valid only
    under the setting they were read with (and with the same choreo code): their keeper checks."""
    return repr(Limits.current())


class ParsedDocuments:
    """The documents of the YAML files a load read before, with each file's stamp and the digest of its text:
    a project file whose stamp vouches for it is not read again, and one whose text did not change is not
    parsed again.

    Why: loading an unchanged project used to cost a parse per file (thousands of small files), then a read,
    decode and digest per file; now it costs a ``stat`` per file and the decoding of the kept documents.
    Exact: the documents are a function of the text and the reader's limits (``reader_setting``, also in the
    digest); ``kept`` must come from the same choreo code and setting (its keeper checks). A file is taken
    without reading it only when its stamp is the one it had when its text was read and that stamp was not
    racy then; anything else reads it. Only documents that JSON holds exactly are kept (no NaN, no integer
    beyond 64 bits); a stream that fails to parse is never kept, so its error is raised again.

    ``kept``: an earlier load's ``kept``, by file source (``KeptFile``); ``kept`` is what this load keeps for
    the next, of the files it read or took. Every reader gets documents decoded afresh: no two share an
    object.
    """

    def __init__(self, kept: Mapping[str, KeptFile] | None = None) -> None:
        self._before = kept or {}
        self._by_digest = {entry[1]: entry[2] for entry in self._before.values()}
        self._looked_at_ns = time.time_ns()  # before any file is stamped or read: see ``choreo.filestamp``
        self.kept: dict[str, KeptFile] = {}

    def file_documents(self, path: Path, source: str) -> tuple[list[tuple[int, Any]], str | None]:
        """The documents of the YAML file at ``path``, and its text when it had to be read (None: taken by its
        stamp)."""
        stamp = file_stamp(path)  # before the read: a change while reading shows in the next stamp
        before = self._before.get(source)
        if stamp is not None and before is not None and before[0] == _stamp_text(stamp):
            self.kept[source] = before
            return _decoded_documents(before[2]), None
        text = read_text(path, source, "yaml_bytes")
        trusted = _stamp_text(stamp) if stamp is not None and not is_racy(stamp, self._looked_at_ns) else None
        return self._parsed(text, source, trusted), text

    def documents(self, text: str, source: str) -> list[tuple[int, Any]]:
        """The documents of the YAML stream ``text`` read from ``source`` (kept without a stamp)."""
        return self._parsed(text, source, None)

    def _parsed(self, text: str, source: str, stamp: str | None) -> list[tuple[int, Any]]:
        """The documents of ``text``, kept for ``source`` with ``stamp`` when JSON holds them."""
        limits = Limits.current()
        if len(text) > limits.yaml_bytes:
            return parse_documents(text, source)  # refused there, with its message
        digest = hashlib.sha256(f"{reader_setting()}\n{text}".encode()).hexdigest()
        encoded = self._by_digest.get(digest)
        if encoded is not None:
            documents = _decoded_documents(encoded)
        else:
            documents = parse_documents(text, source)
            try:
                encoded = orjson.dumps(documents).decode()
            except (orjson.JSONEncodeError, TypeError):
                return documents
            if orjson.loads(encoded) != [list(pair) for pair in documents]:  # NaN and infinities do not survive
                return documents
        self.kept[source] = [stamp, digest, encoded]
        return documents


def _decoded_documents(encoded: str) -> list[tuple[int, Any]]:
    return [(position, doc) for position, doc in orjson.loads(encoded)]


def _size(amount: int) -> str:
    return f"{amount // _MiB} MiB" if amount % _MiB == 0 else f"{amount} bytes"


def _limit_hint(name: str) -> str:
    return f"raise it with ${LIMIT_VARIABLES[name]}"


def _yaml_error_message(err: yaml.MarkedYAMLError, source: str) -> str:
    mark = err.problem_mark or err.context_mark
    line = f":{mark.line + 1}" if mark is not None else ""
    problem = err.problem or err.context or "malformed document"
    return f"{source}{line}: invalid YAML: {problem}"


def document_line(text: str, position: int) -> int | None:
    """1-based line where the document at ``position`` starts (only used to build error messages)."""
    for index, node in enumerate(yaml.compose_all(text, Loader=_Loader), start=1):
        if index == position:
            return node.start_mark.line + 1 if node is not None else None
    return None


def document_source(source: str, position: int, several: bool) -> str:
    """``<file>`` for a single-document file, ``<file>#<n>`` when the file holds several."""
    return f"{source}#{position}" if several else source


def read_yaml_documents(
    path: Path, root: Path | None = None, parsed: ParsedDocuments | None = None
) -> list[InputObject]:
    """The KRM objects of one YAML file, in file order.

    ``source`` of each object is the file path relative to ``root`` (as given when ``root`` is None),
    with ``#<n>`` appended when the file has several documents. Every document must be a mapping
    with a non-empty ``apiVersion`` and ``kind``.
    """
    return file_objects(path, relative_source(path, root), parsed)


def file_objects(path: Path, source: str, parsed: ParsedDocuments | None = None) -> list[InputObject]:
    """``read_yaml_documents`` of a file whose ``source`` is known (a listed folder's ``FoundFile``)."""
    if parsed is None:
        return yaml_objects(read_text(path, source, "yaml_bytes"), source)
    documents, text = parsed.file_documents(path, source)
    return _krm_objects(documents, source, lambda: text if text is not None else read_text(path, source, "yaml_bytes"))


def read_stream_objects(stream: BinaryIO, source: str) -> list[InputObject]:
    """The KRM objects of a YAML stream that is not a file (standard input), read and bounded as a file is."""
    data = stream.read(Limits.current().yaml_bytes + 1)
    return yaml_objects(_decoded(data, source, "yaml_bytes"), source)


def yaml_objects(text: str, source: str, parsed: ParsedDocuments | None = None) -> list[InputObject]:
    """The KRM objects of YAML ``text`` read from ``source`` (see ``read_yaml_documents``); ``parsed``: the
    documents of streams read before, to take instead of parsing the same text again."""
    documents = parse_documents(text, source) if parsed is None else parsed.documents(text, source)
    return _krm_objects(documents, source, lambda: text)


def _krm_objects(documents: list[tuple[int, Any]], source: str, text: Callable[[], str]) -> list[InputObject]:
    """The documents of ``source`` as KRM objects; ``text`` gives the stream's text, for an error's line."""
    several = len(documents) > 1
    objects: list[InputObject] = []
    for position, doc in documents:
        problem = _krm_problem(doc)
        if problem:
            raise LoadError(_document_error(text(), source, position, several, problem))
        objects.append(InputObject(obj=doc, source=document_source(source, position, several)))
    return objects


def read_single_mapping(path: Path, source: str) -> dict[str, Any]:
    """A file that must hold at most one document, a mapping (an empty file is ``{}``)."""
    text = read_text(path, source, "yaml_bytes")
    documents = parse_documents(text, source)
    if len(documents) > 1:
        raise LoadError(f"{source}: expected one YAML document, found {len(documents)}")
    if not documents:
        return {}
    position, doc = documents[0]
    if not isinstance(doc, dict):
        raise LoadError(_document_error(text, source, position, False, _not_mapping(doc)))
    return doc


def _krm_problem(doc: Any) -> str:
    if not isinstance(doc, dict):
        return _not_mapping(doc)
    for key in ("apiVersion", "kind"):
        value = doc.get(key)
        if not isinstance(value, str) or not value:
            return f"{key} is required" if value is None or value == "" else f"{key} must be a string"
    metadata = doc.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):  # every reader takes it for a mapping
        return f"metadata must be a mapping, got {_type_name(metadata)}"
    return ""


def _not_mapping(doc: Any) -> str:
    return f"document must be a mapping, got {_type_name(doc)}"


def _type_name(value: Any) -> str:
    names = {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "number", float: "number"}
    return names.get(type(value), type(value).__name__)


def _document_error(text: str, source: str, position: int, several: bool, problem: str) -> str:
    line = document_line(text, position)
    where = f"{source}:{line}" if line is not None else source
    doc = f" document {position}:" if several else ""
    return f"{where}:{doc} {problem}"


def relative_source(path: Path, root: Path | None) -> str:
    """POSIX path of ``path`` relative to ``root`` (or as given), the form used in every message."""
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return path.as_posix()


# ---------------------------------------------------------------------------------------------
# Output


class _Dumper(yaml.SafeDumper):
    """Pure-Python dumper (same bytes on every machine): sorted keys, block style, literal code."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def analyze_scalar(self, scalar: str) -> Any:
        # PyYAML refuses literal blocks for text containing tabs; YAML allows them in block content,
        # and templates are full of them. Analyse as if tabs were spaces, then keep the real text.
        event_style = getattr(self.event, "style", None)
        if event_style != "|" or "\t" not in scalar:
            return super().analyze_scalar(scalar)
        analysis = super().analyze_scalar(scalar.replace("\t", " "))
        analysis.scalar = scalar
        analysis.allow_flow_plain = analysis.allow_block_plain = False
        analysis.allow_single_quoted = False
        return analysis


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(data: Any) -> str:
    """One YAML document in the sigs.k8s.io/yaml shape: sorted keys, block style, no wrapping."""
    return yaml.dump(
        data,
        Dumper=_Dumper,
        default_flow_style=False,
        sort_keys=True,
        allow_unicode=True,
        width=1 << 30,
        indent=2,
    )
