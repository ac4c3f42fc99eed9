"""Commands that edit the project folder: ``apply`` and ``delete`` (files in ``in/``) and ``dev parse``.

Objects are validated against the project's kinds before anything is written, and each file is written
atomically (temporary file + rename), so a bad object never lands in ``in/``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
import yaml

from choreo.apiserver.server import APIServer
from choreo.errors import ChoreoError
from choreo.loader.loading import dev_parse, load_project, read_yaml_documents
from choreo.loader.project import InputObject
from choreo.loader.sync import apply_input, register_crds
from choreo.runtime.session import open_state, state_path
from choreo.store.memory import MemoryBackend


def _project(directory: str | None) -> Path:
    root = Path(directory or ".").resolve()
    if not root.is_dir():
        raise ChoreoError(f"{directory}: project folder does not exist")
    return root


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
            for crd in backend.list("apiextensions.k8s.io", "CustomResourceDefinition"):
                if api.registry.get(crd["spec"]["group"], crd["spec"]["names"]["kind"]) is None:
                    api.register_crd(crd, source=f"stored CustomResourceDefinition {crd['metadata']['name']}")
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
def apply(source: str, directory: str | None) -> None:
    """Validate objects and write them to the project's in/ folder (picked up by the next run)."""
    root = _project(directory)
    api = _validator(root)
    items = _read_inputs(source)
    for item in items:  # validate everything before writing anything
        apply_input(api, item)
    for item in items:
        obj = item.obj
        click.echo(f"applying {obj['apiVersion']} {obj['kind']} {obj['metadata']['name']}")
        _write_atomically(root / "in" / input_file_name(obj), yaml.safe_dump(obj, sort_keys=False))


@click.command("delete")
@click.argument("resource", required=False)
@click.argument("name", required=False)
@click.option("-f", "--filename", "source", default=None, help="File or folder naming the objects.")
@click.option("-C", "--project", "directory", default=None, help="Project folder (default: .).")
def delete(resource: str | None, name: str | None, source: str | None, directory: str | None) -> None:
    """Remove objects' files from in/ (RESOURCE NAME, or -f FILE)."""
    root = _project(directory)
    api = _validator(root)
    if source:
        targets = [i.obj for i in _read_inputs(source)]
    elif resource and name:
        kind = api.registry.resolve(resource)
        targets = [{"apiVersion": kind.api_version, "kind": kind.kind, "metadata": {"name": name}}]
    else:
        raise ChoreoError("delete needs RESOURCE NAME or -f FILE")
    for obj in targets:
        path = root / "in" / input_file_name(obj)
        if not path.exists():
            raise ChoreoError(
                f"{path.relative_to(root)}: no such input file for {obj['kind']} {obj['metadata']['name']}"
            )
        click.echo(f"deleting {obj['apiVersion']} {obj['kind']} {obj['metadata']['name']}")
        path.unlink()


@click.group("dev")
def dev() -> None:
    """Developer helpers."""


@dev.command("parse")
@click.argument("directory", required=False)
def parse(directory: str | None) -> None:
    """Write Reconciler/Library objects for the flat layout into in/."""
    root = _project(directory)
    for path in dev_parse(root):
        click.echo(f"wrote {path.relative_to(root)}")
