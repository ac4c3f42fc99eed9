"""The ``run list``, ``run diff`` and ``run deps`` commands: reading recorded runs and their snapshots.

They only read recorded runs, so they work from any process after a run (snapshots are persisted, unlike
the reference's): from the project's state folder, or from the addressed server's ``/choreo/v1/runs``
endpoints — both behind ``History``. ``register`` adds them to the ``run`` group of ``choreo.cli.main``.
Flag spellings of both reference versions are accepted (HEAD ``--show-choreo-apis``, EX ``-i``...).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import IO, Any, Protocol

import click

from choreo.apiserver.server import APIServer
from choreo.cli.common import addressable, echo_lines, local_only_error, project_api
from choreo.cli.exits import FAILED
from choreo.errors import ChoreoError
from choreo.plugins import SCHEMA, load_plugin
from choreo.results import deps as deps_mod
from choreo.results import diff as diff_mod
from choreo.results import graphviz
from choreo.results import topology as topology_mod
from choreo.results.inventory import Item, current_inventory, visible
from choreo.results.record import RunRecord
from choreo.results.runs import list_lines, resolve_run, runs_newest_first
from choreo.results.snapshot import has_snapshot, load_snapshot
from choreo.server.client import ServerClient


class History(Protocol):
    """Recorded runs, their snapshots and the current objects: of a project folder or of a server."""

    def runs(self) -> list[RunRecord]:
        """Newest first."""
        ...

    def has_snapshot(self, run_id: str) -> bool: ...

    def snapshot(self, run_id: str) -> list[Item] | None: ...

    def current(self) -> list[Item]: ...


class LocalHistory:
    def __init__(self, api: APIServer) -> None:
        self.api = api

    def runs(self) -> list[RunRecord]:
        return runs_newest_first(self.api.records)

    def has_snapshot(self, run_id: str) -> bool:
        return has_snapshot(self.api.records, run_id)

    def snapshot(self, run_id: str) -> list[Item] | None:
        return load_snapshot(self.api.records, run_id)

    def current(self) -> list[Item]:
        return current_inventory(self.api)


class ServerHistory:
    def __init__(self, client: ServerClient) -> None:
        self.client = client

    @cached_property
    def _runs(self) -> list[tuple[RunRecord, bool]]:
        return self.client.runs()

    def runs(self) -> list[RunRecord]:
        return [run for run, _ in self._runs]

    def has_snapshot(self, run_id: str) -> bool:
        return any(run.id == run_id and snapshot for run, snapshot in self._runs)

    def snapshot(self, run_id: str) -> list[Item] | None:
        return self.client.snapshot(run_id) if self.has_snapshot(run_id) else None

    def current(self) -> list[Item]:
        return self.client.inventory()


@contextmanager
def history(client: ServerClient | None, directory: str | None) -> Iterator[History]:
    if client is not None:
        if directory is not None:
            raise local_only_error(f"project folder {directory}", client)
        yield ServerHistory(client)
        return
    with project_api(directory) as api:
        yield LocalHistory(api)


def _recorded_runs(source: History) -> list[RunRecord]:
    runs = source.runs()
    if not runs:
        raise ChoreoError("no run recorded yet: run `choreo run` first")
    return runs


def _snapshot(source: History, run: RunRecord) -> list[Item]:
    items = source.snapshot(run.id)
    if items is None:
        why = "it failed, and a failed run changes no object" if run.failure else "it was recorded by an older choreo"
        raise ChoreoError(f"run {run.id} has no snapshot ({why})")
    return items


def _split_project(args: tuple[str, ...], project: str | None, max_runs: int) -> tuple[str | None, list[str]]:
    """``[DIR] [RUN]...``: the first argument is the project folder when it names a folder or looks like a
    path (run ids never contain ``/``)."""
    runs = list(args)
    if project is None and runs and (Path(runs[0]).is_dir() or "/" in runs[0]):
        project = runs.pop(0)
    if len(runs) > max_runs:
        raise ChoreoError(f"too many arguments: expected [DIR] and at most {max_runs} run id(s), got {' '.join(args)}")
    return project, runs


def _diff_pair(source: History, wanted: list[str]) -> tuple[list[Item], list[Item]]:
    """(old, new) inventories: 2 runs as given; 1 run against the snapshot before it; 0: latest two."""
    runs = _recorded_runs(source)
    if len(wanted) == 2:
        return _snapshot(source, resolve_run(runs, wanted[0])), _snapshot(source, resolve_run(runs, wanted[1]))
    with_snapshots = [run for run in runs if source.has_snapshot(run.id)]
    if not with_snapshots:
        raise ChoreoError("no run has a snapshot yet: run `choreo run` first")
    new_run = resolve_run(runs, wanted[0]) if wanted else with_snapshots[0]
    older = [run for run in runs[runs.index(new_run) + 1 :] if source.has_snapshot(run.id)]
    old = _snapshot(source, older[0]) if older else []
    return old, _snapshot(source, new_run)


_CHOREO_APIS = click.option(
    "-i", "--show-choreo-apis", "--show-choreoAPIs", "--show-choreo", "show_choreo_apis", is_flag=True,
    help="Include the built-in kinds (CRDs, Reconcilers, Libraries, UpstreamRefs).",
)
_PROJECT = click.option("-C", "--project", default=None, help="Project folder (default: . or the first argument).")


@click.command("list")
@click.argument("directory", required=False)
@addressable("directory")
def run_list(client: ServerClient | None, directory: str | None) -> None:
    """List recorded runs, newest first: id, start time, outcome."""
    with history(client, directory) as source:
        echo_lines(list_lines(source.runs()))


class DiffError(click.ClickException):
    """An error of ``run diff``: exit 2, since exit 1 means "there are differences" (as ``kubectl diff``)."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.message}", err=True)


def _errors_exit_2(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with its user errors turned into ``DiffError``s (one ``error:`` line, exit 2)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except ChoreoError as exc:
            raise DiffError(str(exc)) from exc
        except BrokenPipeError:
            raise  # the reader went away: not a diff error (``main`` stops quietly)
        except OSError as exc:
            raise DiffError(f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc)) from exc

    return wrapper


@click.command("diff")
@_errors_exit_2
@click.argument("args", nargs=-1, metavar="[DIR] [RUN] [RUN]")
@_PROJECT
@click.option("--all", "show_all", is_flag=True, help="List unchanged objects (=) too, not only the changed ones.")
@click.option("-a", "-p", "--patch", "--show-diff-details", "--show-details", "show_details", is_flag=True,
              help="Print a unified YAML diff under every modified object (-a as the reference, -p as git).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing: the exit status tells whether anything changed.")
@click.option("-m", "--show-managed-fields", "--show-managedFields", "show_managed_fields", is_flag=True,
              help="Compare and show managed fields and resourceVersion too.")
@_CHOREO_APIS
@click.option("-c", "--show-final-config", "final_config", is_flag=True,
              help="Diff each device's final config against its running config or the previous run (needs -s "
                   "runs; lists every device, exit 0 unless an error).")
@addressable("final_config")
def run_diff(
    client: ServerClient | None,
    args: tuple[str, ...],
    project: str | None,
    show_all: bool,
    show_details: bool,
    quiet: bool,
    show_managed_fields: bool,
    show_choreo_apis: bool,
    final_config: bool,
) -> None:
    """Compare two runs' snapshots (default: the latest with the one before; RUN = run id or unique prefix).

    With one RUN: that run against the run before it. With two: from the first to the second. Prints the
    objects that changed (~ modified, + added, - removed; = unchanged with --all), then a count of each.

    Exit status, as kubectl diff and diff(1): 0 nothing changed, 1 something changed, 2 an error."""
    directory, wanted = _split_project(args, project, max_runs=2)
    if final_config:
        with project_api(directory) as api:
            lines = load_plugin(SCHEMA).final_config_diff(api)
        echo_lines([] if quiet else lines)
        return
    with history(client, directory) as source:
        old, new = _diff_pair(source, wanted)
    changes = diff_mod.diff_inventories(
        visible(old, show_choreo_apis), visible(new, show_choreo_apis), show_managed_fields=show_managed_fields
    )
    if not quiet:
        echo_lines(diff_mod.render(changes, show_all=show_all, show_details=show_details,
                                   show_managed_fields=show_managed_fields))
        click.echo(diff_mod.summary(changes))
    if diff_mod.has_differences(changes):
        sys.exit(FAILED)


# A picture of more objects than this is hard to read however it is laid out: say how to narrow it.
_BUSY_PICTURE = 1000


@click.command("deps")
@click.argument("directory", required=False)
@_PROJECT
@click.option("-o", "--output", "fmt", type=click.Choice(deps_mod.FORMATS + graphviz.PICTURES), default="tree",
              show_default=True, help="svg and png are drawn by Graphviz's dot program.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Write to FILE instead of standard output.")
@click.option("--topology", is_flag=True,
              help="The network instead: Nodes as devices, Links between their endpoints (tree: one line per Link).")
@click.option("--root", "roots", multiple=True, metavar="[KIND/]NAME",
              help="Only this object and what it owns (repeatable); with --topology a device and its network.")
@click.option("--kind", "kinds", multiple=True, metavar="KIND[,KIND]",
              help="Only objects of these kinds (Kind or Kind.group); an object left out passes what it owns "
                   "to its nearest shown owner.")
@click.option("--depth", type=click.IntRange(min=0), default=None,
              help="Levels shown below the top (0: the top only); with --topology, links away from --root.")
@click.option("--run", "run_id", default=None, metavar="RUN", help="Use this run's snapshot, not the current state.")
@_CHOREO_APIS
@addressable()
def run_deps(
    client: ServerClient | None,
    directory: str | None,
    project: str | None,
    fmt: str,
    out_file: str | None,
    topology: bool,
    roots: tuple[str, ...],
    kinds: tuple[str, ...],
    depth: int | None,
    run_id: str | None,
    show_choreo_apis: bool,
) -> None:
    """Show which object owns which, as a tree (reference format), Graphviz DOT, SVG or PNG, or a Mermaid
    flowchart; or, with --topology, the network of Nodes and Links."""
    if fmt == "png" and out_file is None and sys.stdout.isatty():
        raise ChoreoError("-o png is binary: give --out FILE or redirect the output")
    kinds = tuple(kind.strip() for value in kinds for kind in value.split(",") if kind.strip())
    with history(client, project or directory) as source:
        items = _snapshot(source, resolve_run(_recorded_runs(source), run_id)) if run_id else source.current()
    shown = visible(items, show_choreo_apis)
    text_fmt = "dot" if fmt in graphviz.PICTURES else fmt
    if topology:
        if kinds:
            raise ChoreoError("--kind does not apply to --topology, which shows the Nodes and Links")
        network = topology_mod.select(topology_mod.build(shown), roots, depth)
        size, lines = len(network.all_devices()), topology_mod.render(network, text_fmt)
    else:
        forest = deps_mod.select(deps_mod.build_forest(shown), deps_mod.Selection(roots, kinds, depth))
        fills = graphviz.colours(deps_mod.kind_key(item) for item in shown)
        size, lines = sum(1 for _ in deps_mod.walk(forest)), deps_mod.render(forest, text_fmt, fills)
    if fmt != "tree" and size > _BUSY_PICTURE:
        click.echo(f"note: {size} objects in one picture; --root, --kind and --depth narrow it", err=True)
    _write(lines, fmt, out_file)


def _write(lines: list[str], fmt: str, out_file: str | None) -> None:
    """Text as lines, pictures through Graphviz; to ``out_file`` or standard output."""
    if fmt not in graphviz.PICTURES:
        if out_file is None:
            echo_lines(lines)
        else:
            Path(out_file).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        return
    data, warnings = graphviz.picture("\n".join([*lines, ""]), fmt)
    if warnings:
        click.echo(f"graphviz: {warnings}", err=True)
    if out_file is None:
        sys.stdout.buffer.write(data)
    else:
        Path(out_file).write_bytes(data)
