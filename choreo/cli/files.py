"""Commands that edit the project folder: ``apply`` and ``delete`` (files in ``in/``) and ``dev parse``.

Objects are validated against the project's kinds before anything is written, and each file is written
atomically (temporary file + rename), so a bad object never lands in ``in/``. An object is written to, or
removed from, the file of ``in/`` that holds it (``choreo.loader.inputfiles``). When a server is addressed,
``apply`` and ``delete`` act on the server's objects instead: every object is checked by a dry run first,
so a bad one changes nothing there either.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from choreo.apiserver.server import APIServer, client_intent
from choreo.cli.common import addressable, project_dir
from choreo.errors import ChoreoError, NotFound
from choreo.loader.inputfiles import DEFAULT_NAMESPACE, InputFiles, ObjectRef, object_ref
from choreo.loader.loading import INPUT, RECONCILERS, dev_parse, load_project, read_yaml_documents
from choreo.loader.project import ORIGIN_ANNOTATION, InputObject
from choreo.loader.reconcilers import CHOREO_API_VERSION
from choreo.loader.sync import apply_input, code_objects, register_crds
from choreo.loader.yamlio import read_stream_objects
from choreo.runtime.state import open_state, state_path
from choreo.server.client import ServerClient, Unreachable
from choreo.store.memory import MemoryBackend

Object = dict[str, Any]
CHOREO_GROUP = CHOREO_API_VERSION.partition("/")[0]  # Reconciler and Library objects


STDIN = "<stdin>"
"""How messages name objects read from standard input (``-f -``)."""


def _read_inputs(source: str, recursive: bool = False) -> list[InputObject]:
    """The objects of a file, of the ``.json``/``.yaml``/``.yml`` files of a folder (and of its subfolders with
    ``recursive``, kubectl's ``-R``), or of standard input (``-``); a list stands for its items."""
    if source.startswith(("http://", "https://")):
        raise ChoreoError(f"{source}: choreo reads no URLs; download the file and apply it from disk")
    if source == "-":
        return _unlisted(read_stream_objects(sys.stdin.buffer, STDIN))
    path = Path(source)
    if path.is_dir():
        found = path.rglob("*") if recursive else path.iterdir()
        files = sorted(p for p in found if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
        return _unlisted([item for f in files for item in read_yaml_documents(f)])
    if not path.exists():
        raise ChoreoError(f"{source}: no such file or directory")
    return _unlisted(read_yaml_documents(path))


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


def _validator(root: Path) -> APIServer:
    """An in-memory API server knowing the project's kinds and those stored by earlier runs
    (plug-in kinds such as the -r allocators' IPIndex)."""
    api = APIServer(MemoryBackend())
    if state_path(root).exists():
        backend = open_state(root)
        try:
            api.register_stored_crds(backend)
        finally:
            backend.close()
    register_crds(api, load_project(root))
    return api


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


@click.command("apply")
@click.argument("path", required=False, type=click.Path())
@click.option("-f", "--filename", "source", default=None, type=click.Path(),
              help="File, folder or - for stdin (same as PATH).")
@recursive_option
@click.option("-C", "--project", "directory", default=None, help="Project folder (default: .).")
@namespace_option
@addressable("directory")
def apply(
    client: ServerClient | None,
    path: str | None,
    source: str | None,
    recursive: bool,
    directory: str | None,
    namespace: str | None,
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
        _apply_remote(client, items)
        return
    root = project_dir(directory)
    api = _validator(root)
    items = [InputObject(obj=_as_written(api, item.obj), source=item.source) for item in items]
    _in_namespace(items, namespace, api.registry.for_object)
    refs = []
    for item in items:  # validate everything before writing anything
        apply_input(api, item)
        refs.append(object_ref(item.obj, item.source))
    files = InputFiles(root)
    for item, ref in zip(items, refs, strict=True):
        _say("applying", item.obj)
        files.put(item.obj, ref)


def _say(verb: str, obj: Object) -> None:
    click.echo(f"{verb} {obj['apiVersion']} {obj['kind']} {obj['metadata']['name']}")


def _apply_remote(client: ServerClient, items: list[InputObject]) -> None:
    for item in items:  # validate everything before changing anything
        with _named_by(item.source):
            client.apply(item.obj, dry_run=True)
    for item in items:
        _say("applying", item.obj)
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
@click.argument("resource", required=False)
@click.argument("name", required=False)
@click.option("-f", "--filename", "source", default=None, type=click.Path(), help="File or folder naming the objects.")
@recursive_option
@click.option("-C", "--project", "directory", default=None, help="Project folder (default: .).")
@namespace_option
@addressable("directory")
def delete(
    client: ServerClient | None,
    resource: str | None,
    name: str | None,
    source: str | None,
    recursive: bool,
    directory: str | None,
    namespace: str | None,
) -> None:
    """Remove objects from the files of in/ that hold them (RESOURCE NAME, or -f FILE): a file that held
    nothing else is removed. Or delete the objects on the addressed server."""
    if not source and not (resource and name):
        raise ChoreoError("delete needs RESOURCE NAME or -f FILE")
    if client is not None:
        targets = _targets(source, recursive, resource, name, namespace, client.resolve, client.for_object)
        _delete_remote(client, targets)
        return
    root = project_dir(directory)
    api = _validator(root)
    targets = _targets(source, recursive, resource, name, namespace, api.registry.resolve, api.registry.for_object)
    refs = [object_ref(item.obj, item.source) for item in targets]
    files = InputFiles(root)
    for item, ref in zip(targets, refs, strict=True):  # check every object is there before removing anything
        if files.find(ref) is None:
            raise _not_an_input(root, api, item.obj, ref)
    for item, ref in zip(targets, refs, strict=True):
        _say("deleting", item.obj)
        files.remove(ref)


def _not_an_input(root: Path, api: APIServer, obj: Object, ref: ObjectRef) -> ChoreoError:
    """Why ``delete`` cannot remove ``ref``: the project file it comes from when that is not in ``in/`` (a
    reconciler's folder, a library, a CRD), else that no input file holds it."""
    project = load_project(root)
    for item in [*project.crds, *project.refs, *code_objects(project)]:
        if object_ref(item.obj, item.source) == ref:
            file = item.source.partition("#")[0]
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


def _targets(
    source: str | None,
    recursive: bool,
    resource: str | None,
    name: str | None,
    namespace: str | None,
    resolve: Callable[[str], Any],
    for_object: Callable[[Object], Any],
) -> list[InputObject]:
    """The objects ``delete`` names: those of ``-f`` SOURCE, or RESOURCE NAME (a kind ``resolve`` finds), in
    ``namespace`` when given."""
    if source:
        targets = _read_inputs(source, recursive)
    else:
        kind = resolve(str(resource))
        obj = {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": {"name": name}}
        targets = [InputObject(obj, "")]
    _in_namespace(targets, namespace, for_object)
    return targets


def _delete_remote(client: ServerClient, targets: list[InputObject]) -> None:
    paths = []
    for item in targets:  # check every object exists before deleting anything
        with _named_by(item.source):
            paths.append(client.object_path(item.obj))
            client.delete_path(paths[-1], dry_run=True)
    for item, path in zip(targets, paths, strict=True):
        _say("deleting", item.obj)
        client.delete_path(path)


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
