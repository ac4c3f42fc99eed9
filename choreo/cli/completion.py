"""Shell completion: subcommands, kinds, object names (bash, zsh, fish), through click's own machinery.

Why: ``choreo run <TAB>`` should offer ``once``, ``result``, ``diff``… and project folders; ``choreo get
<TAB>`` the kinds; ``choreo get greeting <TAB>`` the stored greetings. Click does the shell side
(``choreo completion bash|zsh|fish`` prints the script); the callbacks here know the names. They read
the project the command would read (``-C``) or the addressed server, and a completion never fails:
anything that goes wrong offers nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from click.shell_completion import CompletionItem, get_completion_class

from choreo.apiserver.registry import resolve_kind
from choreo.cli.common import project_api
from choreo.errors import ChoreoError
from choreo.server.client import ServerClient

SHELLS = ("bash", "zsh", "fish")


@contextmanager
def _kinds_and_lister(ctx: click.Context) -> Iterator[tuple[list[Any], Callable[[Any], list[str]]]]:
    """The kinds the command would see and a function listing the object names of one kind."""
    client = ServerClient.addressed(ctx.params.get("server_url"))
    if client is not None and ctx.params.get("directory") is None:
        yield client.resources(), lambda kind: [o["metadata"]["name"] for o in client.list(kind)]
        return
    with project_api(ctx.params.get("directory")) as api:
        yield api.registry.resources(), lambda kind: [o["metadata"]["name"] for o in api.list(kind.group, kind.kind)]


def _offer(words: list[str], incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(w) for w in sorted(set(words)) if w.startswith(incomplete)]


def kinds_then_names(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """``get``'s arguments: kinds (and categories, ``TYPE/NAME``) first, then names of the kind given."""
    typed = list(ctx.params.get("resources") or ())
    try:
        with _kinds_and_lister(ctx) as (kinds, names_of):
            if "/" in incomplete:
                wanted, _, _ = incomplete.partition("/")
                kind = _find(kinds, wanted)
                return _offer([f"{wanted}/{n}" for n in names_of(kind)], incomplete) if kind else []
            if not typed:
                words = [k.plural for k in kinds] + [c for k in kinds for c in k.categories]
                return _offer(words, incomplete)
            kind = _find(kinds, typed[0])
            return _offer(names_of(kind), incomplete) if kind is not None and "/" not in typed[0] else []
    except Exception:  # a completion offers nothing rather than printing a traceback into the shell
        return []


def _find(kinds: list[Any], name: str) -> Any:
    try:
        return resolve_kind(kinds, name)
    except ChoreoError:
        return None


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion_command(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL: eval "$(choreo completion bash)" (see README)."""
    root = ctx.find_root()
    script_class = get_completion_class(shell)
    assert script_class is not None  # SHELLS are the ones click ships
    click.echo(script_class(root.command, {}, "choreo", "_CHOREO_COMPLETE").source())
