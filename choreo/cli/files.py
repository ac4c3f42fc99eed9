"""Commands that edit the project folder: ``apply`` and ``delete`` (files in ``in/``) and ``dev parse``.

Objects are validated against the project's kinds before anything is written, and each file is written
atomically (temporary file + rename), so a bad object never lands in ``in/``. When a server is addressed,
``apply`` and ``delete`` act on the server's objects instead: every object is checked by a dry run first,
so a bad one changes nothing there either.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import yaml

from choreo.apiserver.server import APIServer
from choreo.cli.common import addressable, project_dir
from choreo.errors import ChoreoError
from choreo.loader.loading import dev_parse, load_project, read_yaml_documents
from choreo.loader.project import InputObject
from choreo.loader.sync import apply_input, register_crds
from choreo.runtime.session import open_state, state_path
from choreo.server.client import ServerClient, Unreachable
from choreo.store.memory import MemoryBackend

Object = dict[str, Any]


def _read_inputs(source: str) -> list[InputObject]:
    if source == "-":
        text = sys.stdin.read()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "stdin.yaml"
            path.write_text(text)
            items = read_yaml_documents(path)
        return [InputObject(i.obj, i.source.replace(str(path), "<stdin>")) for i in items]
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
        return [item for f in files for item in read_yaml_documents(f)]
    if not path.exists():
        raise ChoreoError(f"{source}: no such file or directory")
    return read_yaml_documents(path)


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


def input_file_name(obj: dict[str, Any]) -> str:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0] or "core"
    return f"{group}.{str(obj.get('kind', '')).lower()}.{obj['metadata']['name']}.yaml"


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@click.command("apply")
@click.option("-f", "--filename", "source", required=True, help="File, folder or - for stdin.")
@click.option("-C", "--project", "directory", default=None, help="Project folder (default: .).")
@addressable("directory")
def apply(client: ServerClient | None, source: str, directory: str | None) -> None:
    """Validate objects and write them to the project's in/ folder (picked up by the next run), or apply
    them on the addressed server."""
    if client is not None:
        _apply_remote(client, _read_inputs(source))
        return
    root = project_dir(directory)
    api = _validator(root)
    items = _read_inputs(source)
    for item in items:  # validate everything before writing anything
        apply_input(api, item)
    for item in items:
        obj = item.obj
        _say("applying", obj)
        _write_atomically(root / "in" / input_file_name(obj), yaml.safe_dump(obj, sort_keys=False))


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
@click.option("-f", "--filename", "source", default=None, help="File or folder naming the objects.")
@click.option("-C", "--project", "directory", default=None, help="Project folder (default: .).")
@addressable("directory")
def delete(
    client: ServerClient | None, resource: str | None, name: str | None, source: str | None, directory: str | None
) -> None:
    """Remove objects' files from in/ (RESOURCE NAME, or -f FILE), or the objects on the addressed server."""
    if not source and not (resource and name):
        raise ChoreoError("delete needs RESOURCE NAME or -f FILE")
    if client is not None:
        _delete_remote(client, _targets(source, resource, name, client.resolve))
        return
    root = project_dir(directory)
    api = _validator(root)
    for obj in (item.obj for item in _targets(source, resource, name, api.registry.resolve)):
        path = root / "in" / input_file_name(obj)
        if not path.exists():
            raise ChoreoError(
                f"{path.relative_to(root)}: no such input file for {obj['kind']} {obj['metadata']['name']}"
            )
        _say("deleting", obj)
        path.unlink()


def _targets(
    source: str | None, resource: str | None, name: str | None, resolve: Callable[[str], Any]
) -> list[InputObject]:
    """The objects ``delete`` names: those of ``-f`` SOURCE, or RESOURCE NAME (a kind ``resolve`` finds)."""
    if source:
        return _read_inputs(source)
    kind = resolve(str(resource))
    return [InputObject({"apiVersion": kind.api_version, "kind": kind.kind, "metadata": {"name": name}}, "")]


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
    for path in dev_parse(root):
        click.echo(f"wrote {path.relative_to(root)}")
