"""CLI commands of the schema plug-in: ``choreo config show|blame`` and ``choreo schema tree|lint``.

The core CLI never imports ``yang``; it adds these click groups through the ``choreo.commands`` entry
point group. libyang is imported only inside the commands, so ``choreo --help`` stays fast.
"""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import yaml

from choreo.plugin_api import ChoreoError, NotFound, ObjectAPI, natural_key, stale_outputs, stored_api

_PROJECT = click.option("-C", "--project", "directory", default=None, help="Project folder (default: .).")


def _root(directory: str | None) -> Path:
    root = Path(directory or ".").resolve()
    if not root.is_dir():
        raise ChoreoError(f"{directory}: project folder does not exist")
    return root


def _with_api(root: Path, action: Any) -> Any:
    """Run ``action(api)`` over the project's stored state."""
    with stored_api(root, run_hint=" -s") as api:
        return action(api)


def _record(root: Path, device: str) -> dict[str, Any]:
    from yang.records import find_record, records

    def lookup(api: Any) -> tuple[dict[str, Any] | None, list[str]]:
        found = find_record(api, device)
        return found, [] if found is not None else sorted(r["device"] for r in records(api))

    record, known = _with_api(root, lookup)
    if record is not None:
        return record
    if not known:
        raise NotFound(f"device {device!r} has no final config: no device has one yet; run `choreo run -s` first")
    close = difflib.get_close_matches(device, known, n=3)
    hint = f"did you mean {', '.join(close)}?" if close else f"the last run has {len(known)}: {', '.join(known[:5])}"
    more = ", ..." if not close and len(known) > 5 else ""
    raise NotFound(f"device {device!r} has no final config ({hint}{more})")


def _failed(record: dict[str, Any]) -> str:
    """The reason a device has no final config ("" when it has one): it failed validation in the last run."""
    if record.get("valid", True):
        return ""
    errors = record.get("errors")
    count = f" with {errors} error(s)" if errors else ""
    return (f"device {record['device']} failed validation in the last run{count}: it has no final config "
            "(see `choreo run result`)")


# ----------------------------------------------------------------------------------------- config


@click.group("config")
def config() -> None:
    """Final device configs written by ``choreo run -s``."""


def _complete_devices(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of DEVICE: the devices with a final config, in natural order (never an error)."""
    from yang.records import records

    try:
        found = _with_api(_root(ctx.params.get("directory")), records)
    except ChoreoError:
        return []
    return sorted((r["device"] for r in found if r["device"].startswith(incomplete)), key=natural_key)


def _warn_if_stale(root: Path) -> None:
    """A run without -s may have changed objects since the final configs were made: say so on stderr."""
    from yang.stage import STAGE

    stale = _with_api(root, lambda api: stale_outputs(api.records, STAGE))
    if stale is not None:
        click.echo(f"warning: {stale.message}", err=True)


@config.command("show")
@click.argument("device", shell_complete=_complete_devices)
@_PROJECT
@click.option("-o", "--output", "fmt", type=click.Choice(["json", "xml", "xml-data", "yaml"]), default="json",
              show_default=True, help="xml: the NETCONF <config> payload (as out/<device>.xml); xml-data: bare data.")
def config_show(device: str, directory: str | None, fmt: str) -> None:
    """Print the final config of DEVICE (RFC 7951 JSON as out/<device>.json, NETCONF XML, bare XML or YAML)."""
    from yang.outputs import config_json, netconf_payload

    root = _root(directory)
    record = _record(root, device)
    if _failed(record):
        raise ChoreoError(_failed(record))
    value = _with_api(root, lambda api: _final_value(api, record))
    _warn_if_stale(root)
    json_text, xml_text = _printed(root, record, value)
    if fmt == "json":
        click.echo(config_json(json.loads(json_text)), nl=False)
    elif fmt == "yaml":
        click.echo(yaml.safe_dump(json.loads(json_text), sort_keys=False, default_flow_style=False).rstrip())
    else:
        click.echo((netconf_payload(xml_text) if fmt == "xml" else xml_text).rstrip())


def _final_value(api: ObjectAPI, record: dict[str, Any]) -> Any:
    from yang.stage import CONFIG

    obj = api.try_get(*CONFIG, record["namespace"], record["device"])
    if obj is None:
        raise NotFound(f"Config {record['namespace']}/{record['device']} not found in the project state")
    return obj["spec"]["config"][0]["value"]


def _printed(root: Path, record: dict[str, Any], value: Any) -> tuple[str, str]:
    """The config as libyang prints it, JSON and XML: the store does not keep member order (keys first), libyang
    restores it, exactly as the stage printed the files."""
    from yang.libyang_adapter import YangFailure
    from yang.profile_cache import compile_profile
    from yang.profiles import load_profiles

    context = compile_profile(load_profiles(root).named(record["profile"]))
    try:
        with context.parse(json.dumps(value)) as tree:
            return tree.print("json"), tree.print("xml")
    except YangFailure as failure:
        raise ChoreoError(f"config of {record['device']} cannot be printed: {failure}") from None


@config.command("blame")
@click.argument("device", shell_complete=_complete_devices)
@click.argument("path", required=False, default="")
@_PROJECT
def config_blame(device: str, path: str, directory: str | None) -> None:
    """Show which Config resource set each leaf of DEVICE's final config (under PATH)."""
    from yang.records import blame_lines

    record = _record(_root(directory), device)
    lines = blame_lines(record, path.rstrip("/"))
    if path and not lines:
        raise NotFound(f"{device}: no leaf under {path}")
    for line in lines:
        click.echo(line)
    if _failed(record):  # the owners of the data that failed: useful to debug, but not a final config
        click.echo(f"warning: {_failed(record)}; these are the leaves it was merged from", err=True)
        sys.exit(1)


@config.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--profile", default=None, help='Schema profile (Schema name, or "PROVIDER VERSION").')
@click.option("--device", default=None, help="Use the profile of this device (from the last `choreo run -s`).")
@_PROJECT
def config_validate(file: str, profile: str | None, device: str | None, directory: str | None) -> None:
    """Validate a standalone data FILE (RFC 7951 .json, .xml, or a YAML snippet) against a profile."""
    from yang.validate import validate_file

    root = _root(directory)
    if (profile is None) == (device is None):
        raise ChoreoError("give exactly one of --profile and --device")
    name = profile if profile is not None else _record(root, str(device))["profile"]
    lines, valid = validate_file(root, name, Path(file))
    for line in lines:
        click.echo(line)
    if not valid:
        sys.exit(1)


# ----------------------------------------------------------------------------------------- schema


@click.group("schema")
def schema() -> None:
    """Inspect schema profiles and lint YANG modules."""


@schema.command("tree")
@click.argument("targets", nargs=-1, required=True, metavar="PROFILE | FILE.yang...")
@click.option("--path", "path", default="", help="Print only the nodes on this schema path (/a/b/c) and below it.")
@click.option("--depth", type=int, default=None, help="Print this many levels (deeper ones as ...).")
@click.option("-p", "--search", "search", multiple=True, help="Folder to find modules FILE.yang imports in.")
@_PROJECT
def schema_tree(targets: tuple[str, ...], path: str, depth: int | None, search: tuple[str, ...],
                directory: str | None) -> None:
    """Print the tree of a schema profile (Schema name, or "PROVIDER VERSION") or of YANG files, as
    `pyang -f tree` prints it."""
    from yang.tree import TreeOptions, tree_lines

    options = TreeOptions.parse(path, depth)
    if all(target.endswith(".yang") for target in targets):
        context, modules = _file_schema(targets, search)
    elif len(targets) == 1:
        from yang.profile_cache import compile_profile
        from yang.profiles import load_profiles

        context = compile_profile(load_profiles(_root(directory)).named(targets[0]))
        modules = list(context.module_names)
    else:
        raise ChoreoError("give one profile, or .yang files")
    for line in tree_lines(context, modules, options):
        click.echo(line)


def _file_schema(files: tuple[str, ...], search: tuple[str, ...]) -> tuple[Any, list[str]]:
    """A schema of the modules in ``files`` with all their features on (libyang, unlike pyang, has the features
    of modules that are only imported off: a module whose nodes need them must be given too)."""
    from yang.libyang_adapter import ModuleSource, SchemaContext, YangFailure
    from yang.profiles import standard_module_dirs

    for file in files:
        if not Path(file).is_file():
            raise ChoreoError(f"{file}: no such file")
    folders = [Path(s) for s in search] + sorted({Path(f).resolve().parent for f in files}) + standard_module_dirs()
    try:
        modules = [ModuleSource(Path(f).stem.split("@")[0], Path(f)) for f in files]
        context = SchemaContext(folders, modules)
    except YangFailure as failure:
        raise ChoreoError(str(failure)) from None
    return context, list(context.module_names)


@schema.command("lint")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-p", "--path", "search", multiple=True, help="Extra folder to find imported modules in.")
def schema_lint(files: tuple[str, ...], search: tuple[str, ...]) -> None:
    """Run pyang's lint rules (RFC 8407) on YANG FILES; non-zero exit when there are errors."""
    from yang.profiles import standard_module_dirs

    for file in files:
        if not Path(file).is_file():
            raise ChoreoError(f"{file}: no such file")
    folders = [*search, *(str(d) for d in standard_module_dirs() if d.is_dir())]
    folders += sorted({str(Path(f).resolve().parent) for f in files})
    command = [sys.executable, "-m", "pyang", "--lint", "--path", ":".join(folders), "--", *files]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    output = (done.stdout + done.stderr).strip()
    if output:
        click.echo(output)
    errors = sum(1 for line in output.splitlines() if ": error:" in line)
    warnings = sum(1 for line in output.splitlines() if ": warning:" in line)
    click.echo(f"{len(files)} file(s): {errors} error(s), {warnings} warning(s)")
    if errors or done.returncode not in (0, 1):
        sys.exit(1)


