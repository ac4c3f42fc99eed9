"""Commands that edit the project folder: ``apply`` and ``delete`` (files in ``in/``) and ``dev parse``.

Objects are validated against the project's kinds before anything is written, and each file is written
atomically (temporary file + rename), so a bad object never lands in ``in/``. An object is written to, or
removed from, the file of ``in/`` that holds it (``choreo.loader.inputfiles``). When a server is addressed,
``apply`` and ``delete`` act on the server's objects instead: every object is checked by a dry run first,
so a bad one changes nothing there either.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from choreo.api.objects import gvk_of
from choreo.apiserver.server import APIServer, client_intent
from choreo.cli import completion
from choreo.cli.common import addressable, project_dir
from choreo.cli.get import Kind, memory_api, parse_request
from choreo.errors import ChoreoError, NotFound
from choreo.loader.devparse import dev_parse
from choreo.loader.inputfiles import DEFAULT_NAMESPACE, InputFiles, ObjectRef, object_ref
from choreo.loader.loading import INPUT, RECONCILERS, load_project, read_yaml_documents
from choreo.loader.project import ORIGIN_ANNOTATION, InputObject, Project
from choreo.loader.reconcilers import CHOREO_API_VERSION
from choreo.loader.sync import apply_input, code_objects
from choreo.loader.yamlio import read_stream_objects
from choreo.server.client import ResourceInfo, ServerClient, Unreachable
from choreo.server.query import label_selector

Object = dict[str, Any]
CHOREO_GROUP = CHOREO_API_VERSION.partition("/")[0]  # Reconciler and Library objects


STDIN = "<stdin>"
"""How messages name objects read from standard input (``-f -``)."""


def _read_inputs(source: str, recursive: bool = False) -> list[InputObject]:
    """The objects of a file, of the ``.json``/``.yaml``/``.yml`` files of a folder (and of its subfolders with
    ``recursive``, kubectl's ``-R``), or of standard input (``-``); a list stands for its items."""
    if source.startswith(("http://", "https://")):
        raise ChoreoError(f"{source}: choreo reads no URLs; download the file and apply it from disk")
    path = Path(source)
    if source == "-":
        documents = read_stream_objects(sys.stdin.buffer, STDIN)
    elif path.is_dir():
        found = path.rglob("*") if recursive else path.iterdir()
        files = sorted(p for p in found if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
        documents = [item for f in files for item in read_yaml_documents(f)]
    elif path.exists():
        documents = read_yaml_documents(path)
    else:
        raise ChoreoError(f"{source}: no such file or directory")
    return _unlisted(documents)


def _unlisted(items: list[InputObject]) -> list[InputObject]:
    """Each list (``kind: List``, or ``LinkList``, with ``items``: what ``choreo get -o yaml|json`` and kubectl
    print for several objects) replaced by its items, as kubectl reads a file; the items of a typed list
    without apiVersion or kind take the list's."""
    out: list[InputObject] = []
    for item in items:
        kind, members = str(item.obj.get("kind") or ""), item.obj.get("items")
        if not kind.endswith("List") or not isinstance(members, list):
            out.append(item)
            continue
        for position, member in enumerate(members):
            where = f"{item.source}: items[{position}]"
            if not isinstance(member, dict):
                raise ChoreoError(f"{where}: not an object")
            if kind != "List":
                member = {"apiVersion": item.obj.get("apiVersion"), "kind": kind.removesuffix("List"), **member}
            if not member.get("apiVersion") or not member.get("kind"):
                raise ChoreoError(f"{where}: apiVersion and kind are required")
            out.append(InputObject(obj=member, source=where))
    return out


def _as_written(api: APIServer, obj: Object) -> Object:
    """What ``apply`` writes to ``in/`` for ``obj``: its intent, without what a server or a run sets (an object
    read with ``choreo get -o yaml`` and written back carries its uid, resourceVersion, managed fields, status
    and the origin annotation choreo adds when it loads a file)."""
    try:
        resource = api.registry.for_object(obj)
    except ChoreoError:
        return obj  # the apply's validation names the kind
    out = client_intent(obj, resource)
    annotations = out["metadata"].get("annotations")
    if isinstance(annotations, dict) and ORIGIN_ANNOTATION in annotations:
        kept = {k: v for k, v in annotations.items() if k != ORIGIN_ANNOTATION}
        out["metadata"] = {**out["metadata"], "annotations": kept}
        if not kept:
            del out["metadata"]["annotations"]
    return out


def _validator(root: Path, project: Project | None = None) -> APIServer:
    """An in-memory API server knowing the kinds of the project (``project``, when loaded already), of the -r
    allocators and those stored by earlier runs (another plug-in's)."""
    return memory_api(root, stored_kinds=True, project=project)


def _in_namespace(items: list[InputObject], namespace: str | None, for_object: Callable[[Object], Any]) -> None:
    """kubectl's ``-n``: an object of a namespaced kind without a namespace gets it; one naming another is refused.

    ``for_object`` finds an object's kind (local registry or server), which says whether it is namespaced."""
    if namespace is None:
        return
    for item in items:
        metadata = item.obj.get("metadata")
        if not isinstance(metadata, dict):
            continue  # validation names the problem
        given = metadata.get("namespace")
        if given and given != namespace:
            where = f"{item.source}: " if item.source else ""
            raise ChoreoError(f"{where}the object's namespace {given} does not match -n {namespace}")
        if not given and _namespaced(for_object, item.obj):
            metadata["namespace"] = namespace


def _namespaced(for_object: Callable[[Object], Any], obj: Object) -> bool:
    """Whether an object's kind is namespaced (an unknown kind counts as namespaced: validation refuses it)."""
    try:
        return bool(for_object(obj).namespaced)
    except ChoreoError:
        return True


namespace_option = click.option(
    "-n", "--namespace", default=None, help=f"Namespace of objects that name none (default: {DEFAULT_NAMESPACE})."
)


recursive_option = click.option("-R", "--recursive", is_flag=True, help="Also read the subfolders of a folder.")

dry_run_option = click.option(  # a bare --dry-run is --dry-run=client (cli.main.kubectl_spellings)
    "--dry-run", type=click.Choice(["none", "client", "server"]), default="none",
    help="client or server (alone: client): check everything and say what would be done; change nothing.",
)


@click.command("apply")
@click.argument("path", required=False, type=click.Path())
@click.option("-f", "--filename", "source", default=None, type=click.Path(),
              help="File, folder or - for stdin (same as PATH).")
@recursive_option
@click.option("-C", "--project", "directory", default=None, help="Project folder (default: .).")
@namespace_option
@dry_run_option
@addressable("directory")
def apply(
    client: ServerClient | None,
    path: str | None,
    source: str | None,
    recursive: bool,
    directory: str | None,
    namespace: str | None,
    dry_run: str,
) -> None:
    """Validate the objects of PATH (a file, a folder, or - for stdin; or -f PATH) and write each to the file
    of the project's in/ folder that holds it, or to a new file (picked up by the next run); or apply them on
    the addressed server."""
    if path and source:
        raise ChoreoError(f"apply: give the objects once, as PATH or as -f (got {path} and -f {source})")
    if not (path or source):
        raise ChoreoError("apply needs the objects to apply: PATH or -f FILE|DIR|- (stdin)")
    given = str(path or source)
    items = _read_inputs(given, recursive)
    if not items:  # as kubectl: nothing to do is a mistake
        raise ChoreoError(f"{STDIN if given == '-' else given}: no objects to apply")
    if client is not None:
        _in_namespace(items, namespace, client.for_object)
        _apply_remote(client, items, dry_run)
        return
    root = project_dir(directory)
    project = load_project(root)
    api = _validator(root, project)
    items = [InputObject(obj=_as_written(api, item.obj), source=item.source) for item in items]
    _in_namespace(items, namespace, api.registry.for_object)
    refs = []
    for item in items:  # validate everything before writing anything
        apply_input(api, item)
        ref = object_ref(item.obj, item.source)
        elsewhere = _defining_file(project, ref)
        if elsewhere is not None:  # a copy in in/ too would make the project load no more
            raise ChoreoError(f"{item.source}: {ref.kind} {ref.name} comes from {elsewhere}: edit that file instead")
        refs.append(ref)
    files = InputFiles(root)
    for ref in refs:  # every file checked before anything is written or said
        files.check_put(ref)
    for item, ref in zip(items, refs, strict=True):
        _say("applying", item.obj, dry_run)
        if dry_run == "none":
            files.put(item.obj, ref)


def _say(verb: str, obj: Object, dry_run: str) -> None:
    """What is done to ``obj``; ``(dry run)`` when nothing is (``(server dry run)``: the server checked it)."""
    suffix = {"none": "", "client": " (dry run)", "server": " (server dry run)"}[dry_run]
    click.echo(f"{verb} {obj['apiVersion']} {obj['kind']} {obj['metadata']['name']}{suffix}")


def _apply_remote(client: ServerClient, items: list[InputObject], dry_run: str) -> None:
    for item in items:  # validate everything before changing anything (a client dry run too: nothing changes)
        with _named_by(item.source):
            client.apply(item.obj, dry_run=True)
    for item in items:
        _say("applying", item.obj, dry_run)
        if dry_run == "none":
            client.apply(item.obj)


@contextmanager
def _named_by(source: str) -> Iterator[None]:
    """Prefix the server's answer about one input document with the file (and document) it came from, if any."""
    try:
        yield
    except Unreachable:
        raise
    except ChoreoError as exc:
        if not source:
            raise
        raise type(exc)(f"{source}: {exc}") from None


@click.command("delete")
@click.argument("resources", nargs=-1, metavar="[KIND NAME...|TYPE/NAME...]",
                shell_complete=completion.kinds_then_names)
@click.option("-f", "--filename", "source", default=None, type=click.Path(), help="File or folder naming the objects.")
@recursive_option
@click.option("-l", "--selector", "labels", default=None, help="Every object of the kinds with these labels.")
@click.option("--all", "every", is_flag=True, help="Every object of the kinds (in the namespace).")
@click.option("-A", "--all-namespaces", is_flag=True, help="With -l or --all: in every namespace.")
@click.option("--ignore-not-found", is_flag=True, help="An object that does not exist is not an error.")
@click.option("-C", "--project", "directory", default=None, help="Project folder (default: .).")
@namespace_option
@dry_run_option
@addressable("directory")
def delete(
    client: ServerClient | None,
    resources: tuple[str, ...],
    source: str | None,
    recursive: bool,
    labels: str | None,
    every: bool,
    all_namespaces: bool,
    ignore_not_found: bool,
    directory: str | None,
    namespace: str | None,
    dry_run: str,
) -> None:
    """Remove objects from the files of in/ that hold them: KIND NAME..., TYPE/NAME..., KIND -l SELECTOR,
    KIND --all (-A: in every namespace), or those of -f FILE; a file that held nothing else is removed. Or
    delete the objects on the addressed server."""
    wanted = Selection(resources, source, recursive, labels, every, namespace, all_namespaces)
    if client is not None:
        def listed(kind: Kind, where: str | None) -> list[Object]:
            assert isinstance(kind, ResourceInfo)  # one of client.resources()
            return client.list(kind, where)

        targets = wanted.targets(client.resources(), client.for_object, listed)
        _delete_remote(client, targets, ignore_not_found, dry_run)
        return
    root = project_dir(directory)
    project = load_project(root)
    api = _validator(root, project)

    def inputs(kind: Kind, where: str | None) -> list[Object]:
        """The objects of ``kind`` the files of ``in/`` hold (in namespace ``where``), as written there."""
        found = []
        for item in project.inputs:
            gvk, metadata = gvk_of(item.obj), item.obj.get("metadata") or {}
            if (gvk.group, gvk.kind) == (kind.group, kind.kind) and where in (None, metadata.get("namespace") or
                                                                              DEFAULT_NAMESPACE):
                found.append(item.obj)
        return found

    targets = wanted.targets(api.registry.resources(), api.registry.for_object, inputs)
    refs = [object_ref(item.obj, item.source) for item in targets]
    files = InputFiles(root)
    found = []
    for item, ref in zip(targets, refs, strict=True):  # check every object is there before removing anything
        if files.find(ref) is not None:
            found.append((item, ref))
            continue
        problem = _not_an_input(project, api, item.obj, ref)
        if not (ignore_not_found and isinstance(problem, NotFound)):
            raise problem
    for _item, ref in found:  # and that each can be removed, before saying or removing anything
        files.check_change(ref)
    for item, ref in found:
        _say("deleting", item.obj, dry_run)
        if dry_run == "none":
            files.remove(ref)


@dataclass(frozen=True)
class Selection:
    """What ``delete`` was asked to remove: objects by name (``KIND NAME...``, ``TYPE/NAME...``), by label or
    all of their kinds, or those a file names (``-f``)."""

    resources: tuple[str, ...]
    source: str | None
    recursive: bool
    labels: str | None
    every: bool
    namespace: str | None
    all_namespaces: bool = False

    def targets(
        self,
        kinds: Sequence[Kind],
        for_object: Callable[[Object], Any],
        objects: Callable[[Kind, str | None], list[Object]],
    ) -> list[InputObject]:
        """The objects named, as documents of their identity (``objects(kind, namespace)`` lists a kind's
        objects for ``-l`` and ``--all``)."""
        if self.source:
            if self.resources or self.labels is not None or self.every:
                raise ChoreoError("delete -f FILE names the objects itself: give no KIND, NAME, -l or --all with it")
            targets = _read_inputs(self.source, self.recursive)
            _in_namespace(targets, self.namespace, for_object)
            return targets
        if not self.resources:
            raise ChoreoError("delete needs KIND NAME..., TYPE/NAME..., KIND -l SELECTOR, KIND --all or -f FILE")
        request = parse_request(kinds, self.resources)
        named = any(names for _kind, names in request.wanted)
        chosen = self.labels is not None or self.every
        if named and chosen:
            raise ChoreoError("delete: give names, or -l/--all, not both")
        if self.all_namespaces and not chosen:
            raise ChoreoError("delete -A: names are looked up in one namespace (-n NS); -A goes with -l or --all")
        if not named and not chosen:
            raise ChoreoError(f"delete {' '.join(self.resources)}: name the objects, or give -l SELECTOR or --all")
        matches = label_selector(self.labels)
        where = self.namespace or DEFAULT_NAMESPACE
        targets = []
        for kind, names in request.wanted:
            namespace = where if kind.namespaced else None
            located = [(namespace, name) for name in names]
            if not named:
                scope = None if self.all_namespaces else namespace
                found = [o["metadata"] for o in objects(kind, scope) if matches(o)]
                located = sorted(((md.get("namespace") or DEFAULT_NAMESPACE) if kind.namespaced else None, md["name"])
                                 for md in found)
            for namespace, name in located:
                metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
                identity = {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": metadata}
                targets.append(InputObject(identity, ""))
        if not targets:
            click.echo("No resources found", err=True)
        return targets


def _delete_remote(client: ServerClient, targets: list[InputObject], ignore_not_found: bool, dry_run: str) -> None:
    found = []
    for item in targets:  # check every object exists before deleting anything
        with _named_by(item.source):
            path = client.object_path(item.obj)
            try:
                client.delete_path(path, dry_run=True)
            except NotFound:
                if ignore_not_found:
                    continue
                raise
            found.append((item, path))
    for item, path in found:
        _say("deleting", item.obj, dry_run)
        if dry_run == "none":
            client.delete_path(path)


def _defining_file(project: Project, ref: ObjectRef) -> str | None:
    """The project file outside ``in/`` that defines ``ref`` (a CRD, an upstream ref's object, a reconciler's
    or library's file), if one does."""
    for item in [*project.crds, *project.refs, *code_objects(project)]:
        if object_ref(item.obj, item.source) == ref:
            return item.source.partition("#")[0]
    return None


def _not_an_input(project: Project, api: APIServer, obj: Object, ref: ObjectRef) -> ChoreoError:
    """Why ``delete`` cannot remove ``ref``: the project file it comes from when that is not in ``in/`` (a
    reconciler's folder, a library, a CRD), else that no input file holds it."""
    file = _defining_file(project, ref)
    if file is not None:
        folder = Path(file).parent
        if ref.group != CHOREO_GROUP:
            remedy = f"{file}; to delete it, remove it from that file"
        elif ref.kind == "Reconciler" and folder.name != RECONCILERS:
            folder_name = folder.as_posix()
            remedy = f"the reconciler folder {folder_name}/ (its config {file}); to delete it, remove that folder"
        elif ref.kind == "Reconciler":  # the flat layout: the config and code files named after it
            remedy = f"{file}; to delete it, remove that file and its code files ({folder.as_posix()}/{ref.name}.*)"
        else:
            remedy = f"{file}; to delete it, remove that file"
        return ChoreoError(f"{ref.kind} {ref.name} is not in {INPUT}/: it comes from {remedy}")
    namespaced = _namespaced(api.registry.for_object, obj)
    where = f" in namespace {ref.namespace}" if namespaced else ""
    return NotFound(f"{INPUT}/: no such input file for {ref.kind} {ref.name}{where}")


@click.group("dev")
def dev() -> None:
    """Developer helpers."""


@dev.command("parse")
@click.argument("directory", required=False)
def parse(directory: str | None) -> None:
    """Write Reconciler/Library objects for the flat layout into in/."""
    root = project_dir(directory)
    InputFiles(root)  # in/ must resolve inside the project before anything is written to it
    for path in dev_parse(root):
        click.echo(f"wrote {path.relative_to(root)}")
