"""XML snippets keep their valid parts: only the element libyang rejects is dropped, like a JSON/YAML snippet.

libyang parses XML in one go and stops at the first bad element (a bad value, an unknown child, a child in a
leaf). So the text is parsed, the element the error points at is removed from the document, and it is parsed
again, until the rest parses; each removed element is one error with its data path. The document is edited
with ``xml.dom.minidom`` because it keeps every namespace declaration (identityref values such as
``f:fiber`` need the ``xmlns:f`` of their element). When the error cannot be pinned to one element (malformed
XML, a path that matches several elements alike), the snippet fails as a whole, as before.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from xml.dom import minidom
from xml.parsers.expat import ExpatError

from yang.libyang_adapter import (
    UNWRITABLE_ANY,
    DataTree,
    SchemaContext,
    SchemaNode,
    YangFailure,
    YangIssue,
    unwritable_any_text,
)

_UNKNOWN_CHILD = re.compile(r'^Node "([^"]+)" not found as a child of "[^"]+" node')
_UNKNOWN_NAMESPACE = re.compile(r'^No module with namespace "([^"]*)" in the context')
_STEP = re.compile(r"(?:[^/\[\]'\"]|\[(?:[^\]'\"]|'[^']*'|\"[^\"]*\")*\])+")
_PREDICATE = re.compile(r"""\[\s*([^=\]\s]+)\s*=\s*(?:'([^']*)'|"([^"]*)")\s*\]|\[(\d+)\]""")
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_WRAPPER = "choreo-snippet"
MAX_REMOVALS = 1000  # a snippet with more bad elements than this fails as a whole


@dataclass(frozen=True)
class XmlValue:
    """What parses of an XML snippet, as RFC 7951 JSON text, and the errors of the elements that were dropped."""

    json_text: str
    issues: tuple[YangIssue, ...]


def parse_xml_snippet(schema: SchemaContext, text: str) -> XmlValue:
    """Parse ``text``, dropping each element libyang rejects; raises ``YangFailure`` when nothing can be kept."""
    issues: list[YangIssue] = []
    document: minidom.Document | None = None
    current = text
    for _ in range(MAX_REMOVALS + 1):
        try:
            with schema.parse(current, "xml") as tree:
                repeated = [YangIssue(path, f'Duplicate instance of "{_local_name(path_steps(path)[-1])}"')
                            for path in tree.drop_repeated()]
                unwritable = _unwritable_any(tree, current)
                if unwritable is not None:
                    raise YangFailure([unwritable])  # dropped below, as an element libyang rejects
                # an empty container stays: <c/> is data of its module, which -e validates (mandatory children)
                return XmlValue(_json_of(tree.print("json", empty_containers=True)), (*issues, *repeated))
        except YangFailure as failure:
            issue = failure.issues[0]
            if document is None:
                document = _document(text, failure)
            issue, element = _offending(schema, document, issue)
            if element is None:
                raise YangFailure([issue, *issues]) from None
            # as many line breaks in its place: the lines libyang names in later errors stay those of the snippet
            element.parentNode.replaceChild(document.createTextNode("\n" * element.toxml().count("\n")), element)
            issues.append(issue)
            current = "".join(child.toxml() for child in _wrapper(document).childNodes)
    raise YangFailure([YangIssue("/", f"more than {MAX_REMOVALS} elements are not valid"), *issues])


def _unwritable_any(tree: DataTree, text: str) -> YangIssue | None:
    """The first anydata/anyxml node whose content has text libyang would write into JSON unescaped (the JSON every
    snippet becomes): a text or attribute value with a quote, a backslash or a control character."""
    paths = tree.any_paths()
    if not paths:
        return None
    document = _document(text, YangFailure([]))  # libyang has read it: it is well-formed
    for path in paths:
        for element in _elements(_wrapper(document), path_steps(path)):
            for value in _content_texts(element):
                if unwritable_any_text(value):
                    return YangIssue(path, f"anydata/anyxml text {json.dumps(value)} {UNWRITABLE_ANY}")
    return None


def _content_texts(element: Any) -> list[str]:
    """The text values in an element's content: text that is not only whitespace, and attribute values."""
    texts = [value for _name, value in element.attributes.items()] if element.attributes else []
    for child in element.childNodes:
        if child.nodeType in (child.TEXT_NODE, child.CDATA_SECTION_NODE) and child.data.strip():
            texts.append(child.data)
        elif child.nodeType == child.ELEMENT_NODE:
            texts += _content_texts(child)
    return texts


def _json_of(printed: str) -> str:
    """libyang's JSON print of a parsed XML snippet, made JSON where libyang 2.1 gets it wrong: a text value in XML
    anydata/anyxml content that is a proper prefix of ``true`` or ``false`` (``t``, ``fals``) it takes for a
    boolean and prints bare (``"n": t``); it is the string it was in XML, as libyang reads it."""
    try:
        json.loads(printed)
    except json.JSONDecodeError:
        return _BARE_WORD.sub(lambda found: found.group(1) or f'"{found.group(2)}"', printed)
    return printed


_BARE_WORD = re.compile(r'("(?:[^"\\]|\\.)*")|\b(t|tr|tru|f|fa|fal|fals)\b')
"""A JSON string (kept as it is), or a bare word that is a proper prefix of ``true``/``false`` (to be quoted)."""


def _document(text: str, failure: YangFailure) -> minidom.Document:
    body = _DECLARATION.sub(lambda found: "\n" * found.group().count("\n"), text, count=1)  # lines stay
    try:
        return minidom.parseString(f"<{_WRAPPER}>{body}</{_WRAPPER}>")
    except ExpatError:
        raise failure from None  # not well-formed: libyang's message says where


def _wrapper(document: minidom.Document) -> Any:
    """The element the snippet's top-level elements were parsed in (a snippet may have several)."""
    return document.documentElement


def _offending(schema: SchemaContext, document: minidom.Document, issue: YangIssue) -> tuple[YangIssue, Any]:
    """The issue (its path made to name the rejected node itself) and the element to drop, or None."""
    path = issue.path
    unknown = _UNKNOWN_CHILD.match(issue.message)
    if unknown is not None:
        path = f"{path.rstrip('/')}/{unknown.group(1)}"
        issue = YangIssue(path, issue.message, issue.schema_location, issue.line)
    namespace = _UNKNOWN_NAMESPACE.match(issue.message)
    if namespace is not None and not path:  # a top-level element of a module the profile does not have
        top = [e for e in _child_elements(_wrapper(document)) if e.namespaceURI == namespace.group(1)]
        if len(top) != 1:
            return issue, None
        return YangIssue(f"/{top[0].localName}", issue.message, line=issue.line), top[0]
    steps = path_steps(path)
    if not steps or issue.schema_location:
        return issue, None
    found = _elements(_wrapper(document), steps)
    if len(found) > 1:  # a path without the list key (the key itself is bad): the value the message quotes
        found = [e for e in found if f'"{_text(e)}"' in issue.message]
    if len(found) != 1:
        return issue, None
    element = found[0]
    node = _schema_node(schema, steps)
    if node is not None and node.is_key and element.parentNode is not _wrapper(document):
        element = element.parentNode  # an entry without a valid key cannot stay
    return issue, element


def path_steps(path: str) -> list[str]:
    """The steps of a data path, ``/a:b/c[name='x/y']/d`` -> ``["a:b", "c[name='x/y']", "d"]``."""
    return _STEP.findall(path)


def _local_name(step: str) -> str:
    return step.split("[", 1)[0].rpartition(":")[2]


def _elements(parent: Any, steps: list[str]) -> list[Any]:
    name, predicates = _local_name(steps[0]), _PREDICATE.findall(steps[0])
    candidates = [c for c in _child_elements(parent) if c.localName == name]
    chosen = []
    for position, element in enumerate(candidates, start=1):
        if all(_predicate_holds(element, position, p) for p in predicates):
            chosen.append(element)
    if len(steps) == 1:
        return chosen
    return [found for element in chosen for found in _elements(element, steps[1:])]


def _predicate_holds(element: Any, position: int, predicate: tuple[str, str, str, str]) -> bool:
    key, single, double, index = predicate
    if index:
        return position == int(index)
    wanted = single or double
    if key == ".":
        return _text(element) == wanted
    name = key.rpartition(":")[2]
    return any(c.localName == name and _text(c) == wanted for c in _child_elements(element))


def _child_elements(element: Any) -> list[Any]:
    return [c for c in element.childNodes if c.nodeType == c.ELEMENT_NODE]


def _text(element: Any) -> str:
    return "".join(c.data for c in element.childNodes if c.nodeType == c.TEXT_NODE).strip()


def _schema_node(schema: SchemaContext, steps: list[str]) -> SchemaNode | None:
    children = schema.top_level()
    node = None
    for step in steps:
        found = children.get(_local_name(step), [])
        if not found:
            return None
        node = found[0]
        children = node.children()
    return node
