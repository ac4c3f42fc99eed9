"""``choreo get`` and ``choreo api-resources``: the reads, with kubectl's habits.

Why: people who know ``kubectl get`` should not have to learn another one. So: ``-n NS`` (default
``default``) and ``-A``; ``-l`` label selectors; ``KIND[,KIND|CATEGORY...] [NAME...]`` or ``TYPE/NAME...``;
``-o wide|name|yaml|json|jsonpath=…|custom-columns=…``; tables with the CRD's printer columns; "No
resources found in NS namespace." when there is nothing. The same command reads the local store or a
server (``addressable``): only ``ObjectSource`` differs, the selection and printing are shared.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import click
from click.core import ParameterSource

from choreo.apiserver import ssa
from choreo.apiserver.registry import APIResource, KindNames, resolve_kind
from choreo.apiserver.server import APIServer
from choreo.cli import completion, printers, watching
from choreo.cli.branchview import branch_project, require_checked_out, wanted_branch
from choreo.cli.common import addressable, allocator_crds, echo_lines, project_api, project_dir
from choreo.cli.exits import FAILED
from choreo.errors import BadRequest, ChoreoError, NotFound
from choreo.messages import shorten
from choreo.plugins import INTERNAL_RECONCILERS
from choreo.results import kubectl_text
from choreo.server.client import ResourceInfo, ServerClient
from choreo.server.discovery import VERBS
from choreo.server.query import Predicate, field_selector, label_selector

if TYPE_CHECKING:  # the loader is imported when a command needs it
    from choreo.loader.project import Project

Object = dict[str, Any]
CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")
FORMATS = ("wide", "name", "yaml", "json", "jsonpath=TEMPLATE", "jsonpath-as-json=TEMPLATE", "go-template=TEMPLATE",
           "custom-columns=SPEC", "jsonpath-file=FILE", "go-template-file=FILE", "custom-columns-file=FILE")
_INLINE = ("jsonpath", "jsonpath-as-json", "go-template", "custom-columns")  # the formats that carry their argument
_ALIASES = {"template": "go-template", "templatefile": "go-template-file"}  # kubectl's other names
_KUBECTL_FORMATS = ("custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,"
                    "jsonpath-file,name,template,templatefile,wide,yaml")


class Kind(KindNames, Protocol):
    """What ``get`` needs of a kind: an ``APIResource`` locally, a ``ResourceInfo`` from a server."""

    @property
    def categories(self) -> Sequence[str]: ...
    @property
    def namespaced(self) -> bool: ...
    @property
    def api_version(self) -> str: ...


class ObjectSource(Protocol):
    """Where ``get`` reads kinds and objects: the project's store or a server."""

    def kinds(self) -> Sequence[Kind]: ...
    def objects(self, kind: Kind, namespace: str | None, fields: str | None = None) -> list[Object]: ...
    def columns(self, kind: Kind) -> list[printers.Column]: ...
    def changes(
        self, kind: Kind, namespace: str | None, fields: str | None, labels: str | None
    ) -> Iterator[Object]:
        """The objects ``objects`` listed last for this kind and namespace, as they change from then on."""
        ...


class LocalSource:
    def __init__(self, api: APIServer, *, watchable: bool = True) -> None:
        self.api = api
        self.watchable = watchable  # another branch's files, read into memory, never change
        self._listed_at: dict[tuple[str, str, str | None], int] = {}

    def kinds(self) -> Sequence[APIResource]:
        return self.api.registry.resources()

    def objects(self, kind: Kind, namespace: str | None, fields: str | None = None) -> list[Object]:
        """The objects of a kind; ``fields``: a field selector, checked against the kind's schema as the API
        server checks it (``metadata.name``, ``metadata.namespace`` or a scalar field the schema declares)."""
        self._listed_at[(kind.group, kind.kind, namespace)] = self.api.events.current_revision()
        objects = self.api.list(kind.group, kind.kind, namespace)
        if not fields:
            return objects
        selected = self._fields(kind, fields)
        return [o for o in objects if selected(o)]

    def _fields(self, kind: Kind, fields: str | None) -> Predicate:
        resource = self.api.registry.get(kind.group, kind.kind)
        return field_selector(fields, resource.schema_for(resource.storage_version) if resource is not None else None)

    def changes(self, kind: Kind, namespace: str | None, fields: str | None, labels: str | None) -> Iterator[Object]:
        if not self.watchable:
            raise ChoreoError("-w follows the project's store or a server: another branch's files do not change")
        by_fields, by_labels = self._fields(kind, fields), label_selector(labels)

        def selected(obj: Object) -> bool:
            here = namespace is None or (obj.get("metadata") or {}).get("namespace") == namespace
            return here and by_fields(obj) and by_labels(obj)

        since = self._listed_at.get((kind.group, kind.kind, namespace), self.api.events.current_revision())
        return watching.local_changes(self.api, kind.group, kind.kind, since,
                                      lambda: [o for o in self.objects(kind, namespace) if selected(o)], selected)

    def columns(self, kind: Kind) -> list[printers.Column]:
        resource = self.api.registry.get(kind.group, kind.kind)
        return printers.printer_columns(self.api, kind, resource.storage_version if resource else "")


class ServerSource:
    def __init__(self, client: ServerClient) -> None:
        self.client = client
        self._listed_at: dict[tuple[str, str, str | None], str] = {}

    def kinds(self) -> Sequence[ResourceInfo]:
        return self.client.resources()

    def objects(self, kind: Kind, namespace: str | None, fields: str | None = None) -> list[Object]:
        assert isinstance(kind, ResourceInfo)
        objects, self._listed_at[(kind.group, kind.kind, namespace)] = self.client.list_at(kind, namespace,
                                                                                           fields=fields)
        return objects

    def changes(self, kind: Kind, namespace: str | None, fields: str | None, labels: str | None) -> Iterator[Object]:
        assert isinstance(kind, ResourceInfo)
        query = {name: value for name, value in (("fieldSelector", fields), ("labelSelector", labels)) if value}
        since = self._listed_at.get((kind.group, kind.kind, namespace), "")

        by_labels = label_selector(labels)

        def relist() -> tuple[list[Object], str]:
            objects, version = self.client.list_at(kind, namespace, fields=fields)
            return [o for o in objects if by_labels(o)], version

        return watching.server_changes(self.client, kind, namespace, since, query, relist)

    def columns(self, kind: Kind) -> list[printers.Column]:
        assert isinstance(kind, ResourceInfo)
        return printers.printer_columns(self, kind, kind.version)

    def try_get(self, group: str, kind: str, namespace: str, name: str) -> Object | None:
        """A CRD of the server (what printer columns are read from), or None."""
        crds = self.client.resolve(f"customresourcedefinitions.{CRD[0]}")
        try:
            return self.client.request("GET", self.client.path(crds, None, name))
        except NotFound:
            return None


@contextmanager
def object_source(client: ServerClient | None, directory: str | None) -> Iterator[ObjectSource]:
    """The server's objects, the project's stored ones, or (``-b BRANCH``) those of another branch's files."""
    branch = wanted_branch()
    if client is not None:
        if branch is not None:
            require_checked_out(client, None, branch, "get")
        yield ServerSource(client)
        return
    with branch_project(directory, branch) as elsewhere:
        if elsewhere is not None:
            yield LocalSource(memory_api(elsewhere, with_objects=True), watchable=False)
            return
    with project_api(directory) as api:
        yield LocalSource(api)


def type_name(kind: Kind) -> str:
    return f"{kind.kind.lower()}.{kind.group}" if kind.group else kind.kind.lower()


def resolve_kinds(kinds: Sequence[Kind], names: str) -> list[Kind]:
    """``greetings,messages`` or a category (``kuid``): the kinds meant, in the order given."""
    found: list[Kind] = []
    for name in (n for n in names.split(",") if n):
        try:
            matches = [resolve_kind(kinds, name)]
        except NotFound:
            matches = [k for k in kinds if name in k.categories]
            if not matches:
                raise
        found.extend(m for m in matches if m not in found)
    if not found:
        raise ChoreoError(f"{names!r}: name a kind (plural, kind or short name) or a category")
    return found


@dataclass
class Request:
    """What the user asked for: kinds with the names wanted of each (none: all of them)."""

    wanted: list[tuple[Kind, list[str]]]
    single: bool  # exactly one object named: -o yaml|json print it instead of a List


def parse_request(kinds: Sequence[Kind], args: Sequence[str], command: str = "get") -> Request:
    if not args:
        if command == "get":  # kubectl's lines, naming choreo's commands
            click.echo('You must specify the type of resource to get. Use "choreo api-resources" for a complete '
                       "list of supported resources.\n", err=True)
            raise ChoreoError('Required resource not specified.\nUse "choreo explain <resource>" for a detailed '
                              "description of that resource (e.g. choreo explain reconcilers).\nSee 'choreo get -h' "
                              "for help and examples")
        raise ChoreoError(f'You must specify the type of resource to {command}. Use "choreo api-resources" for a '
                          "complete list of supported resources.")
    if any("/" in a for a in args):
        if not all("/" in a for a in args):
            raise ChoreoError("there is no need to give a kind with TYPE/NAME: give all arguments as TYPE/NAME")
        wanted: list[tuple[Kind, list[str]]] = []
        for arg in args:
            kind_name, _, name = arg.partition("/")
            for kind in resolve_kinds(kinds, kind_name):
                entry = next((w for w in wanted if w[0] is kind), None)
                if entry is None:
                    wanted.append(entry := (kind, []))
                entry[1].append(name)
        return Request(wanted, single=len(args) == 1)
    names = list(args[1:])
    return Request([(kind, names) for kind in resolve_kinds(kinds, args[0])], single=len(names) == 1)


@dataclass
class Selection:
    """The objects asked for, one block per kind, and the API's errors in kubectl's words: a kind whose list
    was refused (a bad selector), a name asked for that is not there. kubectl prints what it found, then one
    line for each error, and exits 1."""

    blocks: list[printers.Block]
    errors: list[ChoreoError]


def check_selectors(request: Request, labels: str | None, fields: str | None, all_namespaces: bool,
                    args: Sequence[str]) -> None:
    """kubectl's refusals of names given with a selector or -A."""
    if any(names for _kind, names in request.wanted):
        if any("/" in a for a in args) and (labels or fields):
            raise ChoreoError("selectors and the all flag cannot be used when passing resource/name arguments")
        if labels or fields:
            raise ChoreoError("name cannot be provided when a selector is specified")
        if all_namespaces:
            raise ChoreoError("a resource cannot be retrieved by name across all namespaces")


def select(
    source: ObjectSource, request: Request, namespace: str | None, labels: str | None, fields: str | None = None
) -> Selection:
    """The objects asked for, one block per kind, by namespace then name (as kubectl lists them)."""
    blocks, errors = [], []
    for kind, names in request.wanted:
        where = namespace if kind.namespaced else None
        try:
            matches = label_selector(labels)
            objects = [o for o in source.objects(kind, where, fields) if matches(o)]
        except BadRequest as error:  # kubectl's words around the API's answer
            errors.append(BadRequest(f'Unable to find "{_group_version_resource(kind)}" that match label selector '
                                     f'"{labels or ""}", field selector "{fields or ""}": {error}').as_from_server())
            continue
        if names:
            by_name = {o["metadata"]["name"]: o for o in objects}
            errors.extend(_not_found(source, kind, where, n) for n in names if n not in by_name)
            objects = [by_name[n] for n in names if n in by_name]
        else:
            objects.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        blocks.append(printers.Block(type_name(kind), source.columns(kind), objects))
    return Selection(blocks, errors)


def _group_version_resource(kind: Kind) -> str:
    return f"{kind.group}/{kind.api_version.rpartition('/')[2]}, Resource={kind.plural}"


def _not_found(source: ObjectSource, kind: Kind, namespace: str | None, name: str) -> ChoreoError:
    """kubectl's NotFound for a name: the namespace's own when it is not ``default`` and no Namespace object
    has its name (kubectl asks the API for it after a miss)."""
    if namespace not in (None, "default"):
        namespaces = resolve_kinds(source.kinds(), "namespaces")[0]
        if not any(n["metadata"]["name"] == namespace for n in source.objects(namespaces, None)):
            return NotFound(f'namespaces "{namespace}" not found').as_from_server()
    resource = f"{kind.plural}.{kind.group}" if kind.group else kind.plural
    return NotFound(f'{resource} "{name}" not found').as_from_server()


def report_errors(selection: Selection) -> None:
    """The API's errors, after what was found, and exit 1 (kubectl's order and status)."""
    if selection.errors:
        for error in selection.errors:
            click.echo(f"{error.prefix}{shorten(str(error))}", err=True)  # a name may be any length
        sys.exit(FAILED)


def older_namespace_form(
    source: ObjectSource, request: Request, args: Sequence[str], namespace: str
) -> tuple[Request, str]:
    """The reference's older ``get RESOURCE NAME NAMESPACE``: with three arguments, the third is read as the
    namespace when no object of the kind has that name in ``namespace`` but NAME is one in that namespace
    (else they stay kubectl's ``KIND NAME NAME``)."""
    if len(args) != 3 or len(request.wanted) != 1 or any("/" in a for a in args):
        return request, namespace
    kind, (name, other) = request.wanted[0][0], request.wanted[0][1]
    if not kind.namespaced or _has_object(source, kind, namespace, other):
        return request, namespace
    if not _has_object(source, kind, other, name):
        return request, namespace
    return Request([(kind, [name])], single=True), other


def _has_object(source: ObjectSource, kind: Kind, namespace: str, name: str) -> bool:
    return any(o["metadata"]["name"] == name for o in source.objects(kind, namespace))


def _check_format(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """The ``-o`` format, a ``-file`` one as the inline format with the file's text; a mistake in kubectl's
    words."""
    if value is None or value in ("wide", "name", "yaml", "json"):
        return value
    kind, _, argument = value.partition("=")
    kind = _ALIASES.get(kind, kind)
    inline = kind.removesuffix("-file")
    if inline not in _INLINE or (kind != inline and inline == "jsonpath-as-json"):
        if value == "completion":  # choreoctl's
            instead = "choreo prints names with -o name; `choreo completion SHELL` completes the shell"
            raise ChoreoError(f"-o completion: {instead}")
        raise ChoreoError(f'unable to match a printer suitable for the output format "{value}", allowed formats '
                          f"are: {_KUBECTL_FORMATS}")
    if not argument:
        if inline == "custom-columns":
            raise ChoreoError("custom-columns format specified but no custom columns given")
        raise ChoreoError("template format specified but no template given")
    if kind == inline:
        return f"{kind}={argument}"
    try:
        text = Path(argument).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = str(getattr(error, "strerror", None) or error)
        what = "template" if inline == "custom-columns" else "--template"
        raise ChoreoError(f"error reading {what} {argument}, open {argument}: {reason[:1].lower()}{reason[1:]}"
                          ) from None
    return f"{inline}={printers.custom_columns_file(text, argument) if inline == 'custom-columns' else text}"


def selection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options that pick objects, the same for ``get`` and ``describe``: -C, -n, -A, -l."""
    for option in reversed((
        click.option("-C", "--project", "directory", default=None, help="Project folder (default: .)."),
        click.option("-n", "--namespace", default="default", show_default=True, help="Namespace of the objects."),
        click.option("-A", "--all-namespaces", is_flag=True, help="Objects of every namespace."),
        click.option("-l", "--selector", "labels", default=None, help="Label selector: a=b,c!=d,e in (f,g),!h."),
        click.option("--chunk-size", type=click.IntRange(min=0), default=None, expose_value=False,
                     help="Accepted for kubectl's sake: choreo reads a kind whole."),
    )):
        command = option(command)
    return command


@click.command("get")
@click.argument("resources", nargs=-1, shell_complete=completion.kinds_then_names)
@selection_options
@click.option("-o", "--output", "fmt", default=None, callback=_check_format, metavar="|".join(FORMATS),
              help="Output format (default: a table with the kind's printer columns).")
@click.option("--show-managed-fields", is_flag=True, help="Keep metadata.managedFields in yaml/json.")
@click.option("--field-selector", "fields", default=None, metavar="SELECTOR",
              help="Field selector: metadata.name=x,spec.node!=leaf1 (fields the kind's schema declares).")
@click.option("--no-headers", is_flag=True, help="Tables without their header line.")
@click.option("--show-labels", is_flag=True, help="A LABELS column last in tables.")
@click.option("--show-kind", is_flag=True, help="TYPE/NAME in the NAME column of a table, also for one kind.")
@click.option("-L", "--label-columns", "label_keys", multiple=True, metavar="KEY[,KEY...]",
              help="A column for each label key (repeatable).")
@click.option("--sort-by", default=None, metavar="JSONPATH",
              help="Sort by a field (.metadata.name, {.spec.vlan}); numbers by value.")
@click.option("--ignore-not-found", is_flag=True, help="A name that is not there is no error (exit 0).")
@click.option("-w", "--watch", is_flag=True, help="After the list, each change as it happens (Ctrl-C ends).")
@click.option("--watch-only", is_flag=True, help="Each change of the kind as it happens, without the list first.")
@addressable("directory")
def get(
    client: ServerClient | None,
    resources: tuple[str, ...],
    directory: str | None,
    namespace: str,
    all_namespaces: bool,
    labels: str | None,
    fmt: str | None,
    show_managed_fields: bool,
    fields: str | None,
    no_headers: bool,
    show_labels: bool,
    show_kind: bool,
    label_keys: tuple[str, ...],
    sort_by: str | None,
    ignore_not_found: bool,
    watch: bool,
    watch_only: bool,
) -> None:
    """Show objects: KIND[,KIND...] [NAME...] or TYPE/NAME... (a kind is its plural, singular, kind or
    short name, optionally .GROUP, or a category such as kuid). The reference's older KIND NAME NAMESPACE
    works too when NAMESPACE names no object of the kind."""
    with object_source(client, directory) as source:
        request = parse_request(source.kinds(), resources)
        if click.get_current_context().get_parameter_source("namespace") != ParameterSource.COMMANDLINE:
            request, namespace = older_namespace_form(source, request, resources, namespace)
        check_selectors(request, labels, fields, all_namespaces, resources)
        if (watch or watch_only) and len(request.wanted) != 1:
            raise ChoreoError("you may only specify a single resource type")  # kubectl's words
        where = None if all_namespaces else namespace
        selection = select(source, request, where, labels, fields)
        if ignore_not_found:
            selection.errors = [e for e in selection.errors if not isinstance(e, NotFound)]
        blocks = selection.blocks
        if not show_managed_fields and fmt in ("yaml", "json"):  # as kubectl: the templates see them
            for block in blocks:
                block.objects = [ssa.strip_managed_fields(o) for o in block.objects]
        if sort_by is not None and (fmt in (None, "wide") or len(blocks) == 1):
            for block in blocks:  # a table for each kind, each sorted
                block.objects = printers.sorted_by(block.objects, sort_by)
        elif sort_by is not None:  # kubectl sorts one list of every kind's objects
            blocks = printers.sorted_across(blocks, sort_by)
        keys = [key for given in label_keys for key in given.split(",") if key]
        extra = printers.label_columns(keys, all_labels=show_labels)
        if watch or watch_only:
            kind, names = request.wanted[0]
            view = Follow(blocks[0], fmt, all_namespaces, extra, no_headers, show_managed_fields)
            view.start(listed=not watch_only)
            for obj in source.changes(kind, where if kind.namespaced else None, fields, labels):
                if not names or obj["metadata"]["name"] in names:
                    view.changed(obj)
            return
    objects = [o for block in blocks for o in block.objects]
    if fmt not in (None, "wide") and ((selection.errors and request.single) or (ignore_not_found and not objects)):
        report_errors(selection)  # kubectl prints no List around nothing for the one object asked for
        return
    text = _render(blocks, printers.document(objects, request.single), fmt, all_namespaces, extra, no_headers,
                   show_kind)
    click.echo(text, nl=False)
    report_errors(selection)
    if not objects and fmt in (None, "wide") and not ignore_not_found:  # kubectl's line under its tables only
        namespaced = all(kind.namespaced for kind, _ in request.wanted) and not all_namespaces
        say_nothing_found(namespace if namespaced else None)


def say_nothing_found(namespace: str | None) -> None:
    """kubectl's line on stderr when no object matched (``get``, ``describe``): it names the namespace when
    every kind asked for lives in one and -A was not given."""
    click.echo(shorten(f"No resources found in {namespace} namespace.") if namespace else "No resources found",
               err=True)  # -n may be any length


class Follow:
    """What ``-w``/``--watch-only`` print: the list (a table, or each object in the output's form), then a line
    (or document) for each change, flushed at once for a reader at the other end of a pipe."""

    def __init__(self, block: printers.Block, fmt: str | None, every: bool, extra: Sequence[printers.Column],
                 no_headers: bool, managed_fields: bool) -> None:
        self.block, self.fmt, self.headers = block, fmt, not no_headers
        self.managed_fields = managed_fields or fmt not in ("yaml", "json")
        self.rows = printers.TableRows(block, fmt == "wide", every, extra, several=False)
        self.table_started = False  # kubectl writes a table's header with its first row
        self.documents = 0  # YAML documents written: a --- goes between two

    def start(self, *, listed: bool) -> None:
        if self.fmt in (None, "wide") and listed:
            self._echo(self.rows.table(self.block.objects, self.headers))
            self.table_started = True
        elif listed:
            for obj in self.block.objects:
                self._echo(self._lines(obj))

    def changed(self, obj: Object) -> None:
        if self.fmt in (None, "wide") and not self.table_started:
            self._echo(self.rows.table([obj], self.headers))
            self.table_started = True
            return
        self._echo(self._lines(obj if self.managed_fields else ssa.strip_managed_fields(obj)))

    def _lines(self, obj: Object) -> list[str]:
        kind, _, argument = (self.fmt or "").partition("=")
        if kind == "jsonpath":
            return [printers.jsonpath.render(argument, obj)]
        if kind == "go-template":
            return [printers.go_template(argument, obj)]
        if self.fmt in ("yaml", "json"):
            self.documents += 1
            separator = ["---"] if self.fmt == "yaml" and self.documents > 1 else []
            return [*separator, printers.dump(obj, self.fmt).rstrip()]
        if self.fmt == "name":
            return [printers.object_name(self.block, obj)]
        if kind == "custom-columns":
            return printers.custom_columns(argument, [obj], headers=False)
        return [self.rows.line(obj)]

    @staticmethod
    def _echo(lines: Sequence[str]) -> None:
        for line in lines:
            click.echo(line)
        sys.stdout.flush()


def _render(
    blocks: list[printers.Block], doc: Object, fmt: str | None, every: bool, extra: Sequence[printers.Column] = (),
    no_headers: bool = False, show_kind: bool = False,
) -> str:
    """The text ``-o fmt`` prints for ``blocks`` (``doc``: the object or List of yaml/json/jsonpath)."""
    kind, _, argument = (fmt or "").partition("=")
    if kind == "jsonpath":  # exactly the template's text, as kubectl prints it
        return printers.jsonpath.render(argument, doc)
    if kind == "jsonpath-as-json":
        return "".join(f"{kubectl_text.json_text(values)}\n" for values in printers.jsonpath.values(argument, doc))
    if kind == "go-template":
        return printers.go_template(argument, doc)
    if fmt in ("yaml", "json"):
        return printers.dump(doc, fmt).rstrip() + "\n"
    if kind == "custom-columns":
        lines = printers.custom_columns(argument, doc["items"] if doc.get("kind") == "List" else [doc],
                                        headers=not no_headers)
    elif fmt == "name":
        lines = [printers.object_name(block, o) for block in blocks for o in block.objects]
    else:
        lines = printers.tables(blocks, wide=fmt == "wide", namespaces=every, extra=extra, headers=not no_headers,
                                show_kind=show_kind)
    return "".join(f"{line}\n" for line in lines)


# ----------------------------------------------------------------------------------------- api-resources


@click.command("api-resources")
@click.option("-C", "--project", "directory", default=None, help="Project folder (default: .).")
@click.option("-o", "--output", "fmt", default=None, metavar="wide|name",
              help="wide: with VERBS and CATEGORIES; name: PLURAL.GROUP lines.")
@click.option("--api-group", default=None, help="Only the kinds of this group ('' for the core group).")
@click.option("--namespaced", type=click.BOOL, default=None, help="true: only namespaced kinds; false: only others.")
@click.option("--categories", default=None, help="Only the kinds in all of these categories (a,b).")
@click.option("--verbs", multiple=True, metavar="VERB[,VERB...]", help="Only the kinds that take all these verbs.")
@click.option("--sort-by", default=None, metavar="name|kind", help="Sort by name or kind.")
@click.option("--no-headers", is_flag=True, help="The table without its header line.")
@click.option("--cached", is_flag=True, help="Accepted for kubectl's sake: choreo reads the kinds anew every time.")
@addressable("directory")
def api_resources(
    client: ServerClient | None, directory: str | None, fmt: str | None, api_group: str | None,
    namespaced: bool | None, categories: str | None, verbs: tuple[str, ...], sort_by: str | None,
    no_headers: bool, cached: bool,
) -> None:
    """List the kinds the project registers, the built-in allocators' (-r) included (the server's kinds,
    when addressed), as kubectl api-resources does."""
    if fmt not in (None, "wide", "name"):
        raise ChoreoError(f"--output {fmt} is not available")  # kubectl's words, as the two below
    if sort_by not in (None, "name", "kind"):
        raise ChoreoError("--sort-by accepts only name or kind")
    branch = wanted_branch()
    if client is not None:
        if branch is not None:
            require_checked_out(client, None, branch, "api-resources")
        resources: Sequence[APIResource | ResourceInfo] = client.resources()
    else:
        with branch_project(directory, branch) as elsewhere:
            resources = memory_api(elsewhere or project_dir(directory), with_objects=False).registry.resources()
    wanted = set(filter(None, (categories or "").split(",")))
    taken = {verb for given in verbs for verb in given.split(",") if verb}
    chosen = [r for r in resources if (api_group is None or r.group == api_group)
              and (namespaced is None or r.namespaced == namespaced)
              and wanted <= set(r.categories) and taken <= set(VERBS)]
    # kubectl lists the core group first, then the groups and their kinds as discovery gives them
    chosen.sort(key=lambda r: (r.group != "", r.group, r.plural))
    if sort_by:
        chosen.sort(key=lambda r: r.plural if sort_by == "name" else r.kind)
    if fmt == "name":
        echo_lines([f"{r.plural}.{r.group}" if r.group else r.plural for r in chosen])
        return
    header = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND", *(["VERBS", "CATEGORIES"] if fmt else [])]
    rows = [] if no_headers else [header]
    for r in chosen:
        rows.append([r.plural, ",".join(r.short_names), r.api_version, str(r.namespaced).lower(), r.kind,
                     *([",".join(VERBS), ",".join(r.categories)] if fmt else [])])
    echo_lines(printers.kubectl_table(rows))


def memory_api(
    root: Path, *, with_objects: bool = False, stored_kinds: bool = False, project: Project | None = None
) -> APIServer:
    """An in-memory API knowing the kinds a run of the project at ``root`` can use (built-in, the allocators'
    (``-r``) and the project's; ``stored_kinds``: first those the project's store registered in earlier runs,
    such as another plug-in's) and, ``with_objects``, holding what a load of it stores. ``project``: the
    project at ``root`` when the caller has loaded it already."""
    from choreo.loader.loading import load_project
    from choreo.loader.sync import register_crds, sync_project
    from choreo.runtime.state import open_state, state_path
    from choreo.store.memory import MemoryBackend

    api = APIServer(MemoryBackend())
    if stored_kinds and state_path(root).exists():
        backend = open_state(root)
        try:
            api.register_stored_crds(backend)
        finally:
            backend.close()
    plugin_crds = allocator_crds()
    for crd in plugin_crds:
        api.register_crd(crd, source=f"plug-in {INTERNAL_RECONCILERS}")
    project = project or load_project(root)
    if with_objects:
        sync_project(api, project, plugin_crds)
    else:
        register_crds(api, project)
    return api
