"""``choreo explain``: the fields of a kind, as ``kubectl explain`` shows them.

Why: a network engineer writing a Link or an IPClaim by hand wants to know which fields it has, which are
required, what values an enum allows — without starting a server to ask kubectl. kubectl answers from the
server's OpenAPI v3 document of the kind's group version; this module answers from the same document, built
from the project's kinds (``openapi_v3``, what a server of the project would publish) or fetched from a
server when one is addressed, and writes the text kubectl 1.27 and later write for it:

- a header (GROUP, KIND, VERSION), then for ``KIND.FIELD.FIELD`` the field with its type (and its enum);
- DESCRIPTION: the descriptions down the field's schema (the array's, then its items' ...), each line
  wrapped at 76 columns on spaces and indented by four;
- FIELDS: the fields of the object the schema holds (through arrays and maps), sorted, each with its type,
  ``-required-``, its first four enum values and its description; ``--recursive``: every field below, by
  name and type only.

Types read as kubectl names them: ``<[]Object>``, ``<map[string]string>``, a referenced object type by its
name (``<ObjectMeta>``), a referenced scalar type by its type (a ``Time`` is a ``<string>``).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import click

from choreo.apiserver.registry import APIResource, KindNames, Registry, resolve_kind
from choreo.cli import completion
from choreo.cli.branchview import branch_project, require_checked_out, wanted_branch
from choreo.cli.common import addressable, project_dir
from choreo.errors import ChoreoError, NotFound
from choreo.server.client import ResourceInfo, ServerClient
from choreo.server.discovery import version_priority
from choreo.server.openapi_docs import openapi_v3

Doc = dict[str, Any]
WIDTH = 76  # a description's lines, before their indent of four
SHOWN_ENUM = 4  # values of an enum shown in a field list; more end in ", ...."
_SPACES = re.compile(r"[^\S\u00a0]+|[\S\u00a0]+")  # runs of spaces, runs of anything else (a no-break space too)


class SchemaSource(Protocol):
    """Where the kinds and their OpenAPI v3 documents come from: the project, or a server."""

    def kinds(self) -> Sequence[KindNames]: ...
    def preferred_version(self, kind: KindNames) -> str: ...
    def document(self, group: str, version: str) -> Doc | None: ...


class ProjectSchemas:
    """The document a server of the project would publish, built from the project's kinds."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def kinds(self) -> Sequence[APIResource]:
        return self.registry.resources()

    def preferred_version(self, kind: KindNames) -> str:
        assert isinstance(kind, APIResource)  # one of self.kinds()
        return sorted(kind.served_versions, key=version_priority)[0]

    def document(self, group: str, version: str) -> Doc | None:
        return openapi_v3(self.registry, group, version)


class ServerSchemas:
    """The server's discovery and its ``/openapi/v3`` documents."""

    def __init__(self, client: ServerClient) -> None:
        self.client = client

    def kinds(self) -> Sequence[KindNames]:
        return self.client.resources()

    def preferred_version(self, kind: KindNames) -> str:
        assert isinstance(kind, ResourceInfo)  # one of self.kinds(): discovery's preferred version
        return kind.version

    def document(self, group: str, version: str) -> Doc | None:
        where = f"apis/{group}/{version}" if group else f"api/{version}"
        try:
            found = self.client.request("GET", f"/openapi/v3/{where}")
        except NotFound:
            return None
        return found if isinstance(found, dict) else None


# ------------------------------------------------------------------------------------------------ schemas


@dataclass(frozen=True)
class Schemas:
    """One document's named schemas, and how to read a schema that refers to one of them."""

    named: dict[str, Doc]

    def resolve(self, schema: Doc) -> tuple[Doc, str]:
        """The schema ``schema`` stands for and the name it refers to (``""``: none); a ``$ref`` alone or
        wrapped in a one-item ``allOf``, as kube-apiserver publishes a reference with a description."""
        ref = schema.get("$ref")
        if ref is None and isinstance(schema.get("allOf"), list) and len(schema["allOf"]) == 1:
            ref = schema["allOf"][0].get("$ref")
        if not isinstance(ref, str):
            return schema, ""
        name = ref.rpartition("/")[2]
        return self.named.get(name, {}), name

    def type_name(self, schema: Doc) -> str:
        target, ref = self.resolve(schema)
        kind = target.get("type")
        if ref and kind in (None, "object"):
            return ref.rpartition(".")[2]
        if kind == "array":
            return "[]" + self.type_name(target.get("items") or {})
        if kind == "object" and isinstance(target.get("additionalProperties"), dict):
            return "map[string]" + self.type_name(target["additionalProperties"])
        return str(kind) if kind and kind != "object" else "Object"

    def chain(self, schema: Doc) -> list[tuple[Doc, str]]:
        """``schema`` resolved, then the items of an array or the values of a map, down to what is neither
        (the last one holds the fields a field list shows); each with the name it was referred to by."""
        found = [self.resolve(schema)]
        while True:
            last = found[-1][0]
            inner = last.get("items") if last.get("type") == "array" else last.get("additionalProperties")
            if not isinstance(inner, dict) or len(found) > 32:
                return found
            found.append(self.resolve(inner))


def kind_schema(doc: Doc, group: str, version: str, kind: str) -> Doc | None:
    wanted = {"group": group, "version": version, "kind": kind}
    for schema in ((doc.get("components") or {}).get("schemas") or {}).values():
        if wanted in (schema.get("x-kubernetes-group-version-kind") or []):
            return dict(schema)
    return None


# ------------------------------------------------------------------------------------------------ text


def wrap(text: str, width: int = WIDTH) -> list[str]:
    """``text``'s lines, each broken on spaces so that it fits ``width`` where it can: a word longer than
    the width stands on a line of its own; the spaces where a line is broken go, all others stay."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, spaces = "", ""
        for token in _SPACES.findall(paragraph):
            if token[0].isspace() and token[0] != "\u00a0":
                spaces += token
            elif line and len(line) + len(spaces) + len(token) > width:
                lines.append(line)
                line, spaces = token, ""
            else:
                line, spaces = line + spaces + token, ""
        if spaces and len(line) + len(spaces) <= width:
            line += spaces
        lines.append(line)
    return lines


def _indented(text: str, indent: int) -> list[str]:
    return [" " * indent + line for line in wrap(text)]


def enum_value(value: Any) -> str:
    """An enum value as kubectl prints it: strings bare (the empty one as ``""``), JSON's others as Go does."""
    if isinstance(value, str):
        return value or '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, separators=(",", ":"))


def _field_line(schemas: Schemas, name: str, schema: Doc, required: bool, indent: int) -> list[str]:
    pad = " " * indent
    lines = [f"{pad}{name}\t<{schemas.type_name(schema)}>" + (" -required-" if required else "")]
    values = schemas.resolve(schema)[0].get("enum")
    if isinstance(values, list) and values:
        shown = ", ".join(enum_value(v) for v in values[:SHOWN_ENUM])
        lines.append(f"{pad}enum: {shown}" + (", ...." if len(values) > SHOWN_ENUM else ""))
    return lines


def _fields(schemas: Schemas, holder: Doc, recursive: bool, indent: int, seen: frozenset[str]) -> list[str]:
    """The field list of the object schema ``holder``; ``seen``: the named types being listed above, which
    a recursive list does not enter again."""
    properties = holder.get("properties") or {}
    required = set(holder.get("required") or ())
    lines: list[str] = []
    for name in sorted(properties):
        schema = properties[name]
        lines.extend(_field_line(schemas, name, schema, name in required, indent))
        if recursive:
            chain = schemas.chain(schema)
            names = {ref for _s, ref in chain if ref}
            if chain[-1][0].get("properties") and not names & seen:
                lines.extend(_fields(schemas, chain[-1][0], True, indent + 2, seen | names))
        else:
            description = schema.get("description") or ""
            lines.extend(_indented(description, 4) if description else ["    <no description>"])
            lines.append("")
    return lines


class MissingField(ChoreoError):
    """A field path that the kind does not have. kubectl has written the kind's heading on stdout by then."""

    def __init__(self, message: str, heading: str) -> None:
        super().__init__(message)
        self.heading = heading


def explain_text(schemas: Schemas, top: Doc, gvk: tuple[str, str, str], path: Sequence[str], *,
                 recursive: bool = False) -> str:
    """What ``kubectl explain`` writes for the field ``path`` (empty: the kind) of the kind schema ``top``;
    ``MissingField`` for a field that does not exist."""
    group, version, kind = gvk
    lines = [f"GROUP:      {group}"] if group else []
    lines += [f"KIND:       {kind}", f"VERSION:    {version}", ""]
    schema, chain = top, [(top, "")]
    for name in path:
        fields = chain[-1][0].get("properties") or {}
        if name not in fields:
            raise MissingField(f'field "{name}" does not exist', "".join(f"{line}\n" for line in lines))
        schema = fields[name]
        chain = schemas.chain(schema)
    if path:
        lines.append(f"FIELD: {path[-1]} <{schemas.type_name(schema)}>")
        values = chain[0][0].get("enum")
        if isinstance(values, list) and values:
            lines += ["ENUM:", *(f"    {enum_value(v)}" for v in values), ""]
        else:
            lines += ["", ""]
    descriptions = [str(s["description"]) for s, _ref in chain if s.get("description")]
    lines.append("DESCRIPTION:")
    if descriptions:
        lines += _indented("".join(f"{d}\n" for d in descriptions), 4)
    else:
        lines.append("    <empty>")
    holder = chain[-1][0]
    if holder.get("properties"):
        lines.append("FIELDS:")
        lines += _fields(schemas, holder, recursive, 2, frozenset(ref for _s, ref in chain if ref))
    lines.append("")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ command


def split_request(kinds: Sequence[KindNames], request: str) -> tuple[KindNames, list[str]]:
    """``links.spec.endpoints`` → the kind ``links`` names and the field path; the longest start that names a
    kind wins, so a kind can be given with its group (``links.infra.kuid.dev.spec``)."""
    parts = request.split(".")
    for end in range(len(parts), 1, -1):
        try:
            kind = resolve_kind(kinds, ".".join(parts[:end]))
        except ChoreoError:
            continue  # a shorter start may name it
        if kind.group == ".".join(parts[1:end]):  # a whole group: the start of one may be a field's name
            return kind, parts[end:]
    return resolve_kind(kinds, parts[0]), parts[1:]


def explain_with(source: SchemaSource, request: str, api_version: str | None, recursive: bool) -> str:
    """kubectl's text for ``request``; a mistake in kubectl's words (a kind it does not know is said without
    ``error:``, as kubectl says it)."""
    try:
        kind, path = split_request(source.kinds(), request)
    except NotFound as error:
        error.prefix = ""
        raise
    if path and not path[-1]:
        path = path[:-1]  # kubectl reads nodes.spec. as nodes.spec
    if any(not name for name in path):
        raise ChoreoError("invalid jsonpath syntax, first node must be field node")  # kubectl's words
    group, version = kind.group, source.preferred_version(kind)
    if api_version:
        group, _, version = api_version.rpartition("/")
        if group and group != kind.group:  # the kind of that name in the group asked for (events.k8s.io's Event)
            with contextlib.suppress(ChoreoError):
                kind = resolve_kind(source.kinds(), f"{request.split('.')[0]}.{group}")
    doc = source.document(group, version)
    if doc is None:
        raise ChoreoError(f'couldn\'t find resource for "{group}/{version}, Resource={kind.plural}"')
    top = kind_schema(doc, group, version, kind.kind) if group == kind.group else None
    if top is None:  # a group and version that are served, without the kind
        raise ChoreoError(f"GVR ({group}/{version}, Resource={kind.plural}) not found in OpenAPI schema")
    schemas = Schemas(dict((doc.get("components") or {}).get("schemas") or {}))
    return explain_text(schemas, top, (group, version, kind.kind), path, recursive=recursive)


@click.command("explain")
@click.argument("resources", nargs=-1, metavar="KIND[.FIELD...]", shell_complete=completion.kinds_then_names)
@click.option("--recursive", is_flag=True, help="Every field below, by name and type.")
@click.option("--api-version", default=None, metavar="GROUP/VERSION",
              help="The kind at this version (default: its preferred one).")
@click.option("-C", "--project", "directory", default=None, help="Project folder (default: .).")
@addressable("directory")
def explain(client: ServerClient | None, resources: tuple[str, ...], recursive: bool, api_version: str | None,
            directory: str | None) -> None:
    """Show the fields of a kind as kubectl explain does: KIND[.FIELD...], with their types, enums and
    descriptions (the server's kinds, when addressed)."""
    if not resources:
        raise ChoreoError('You must specify the type of resource to explain. Use "choreo api-resources" for a '
                          "complete list of supported resources.")
    if len(resources) > 1:
        raise ChoreoError("We accept only this format: explain RESOURCE")
    branch = wanted_branch()
    try:
        if client is not None:
            if branch is not None:
                require_checked_out(client, None, branch, "explain")
            click.echo(explain_with(ServerSchemas(client), resources[0], api_version, recursive), nl=False)
            return
        from choreo.cli.get import memory_api  # the project's kinds, without its store

        with branch_project(directory, branch) as elsewhere:
            registry = memory_api(elsewhere or project_dir(directory), with_objects=False).registry
            click.echo(explain_with(ProjectSchemas(registry), resources[0], api_version, recursive), nl=False)
    except MissingField as error:
        click.echo(error.heading, nl=False)  # kubectl's heading, then its error
        raise
