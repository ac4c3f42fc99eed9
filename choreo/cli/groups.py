"""Click plumbing of the ``choreo`` command tree: groups that import their commands when used, a group with
a default subcommand, and plain help texts.

Why: every ``choreo`` process used to import every command's module, and through them most of choreo,
before doing anything: a tenth of a second of each ``choreo run`` (and of each of the suite's CLI tests)
went to commands it did not run. A ``LazyGroup`` knows its subcommands by name and module and imports one
when it is used (a listing, ``--help`` or a completion imports them all); what is done to every command
(``plain_help``, the reference's global flags) is done to a lazy one as it is loaded, through ``on_load``.
A group may also offer the commands plug-ins register under an entry point group.

``choreo run DIR -r -s`` is ``choreo run once DIR -r -s``. A plain click group would neither run ``once``
by default, nor show its options in ``choreo run --help``, nor offer the subcommands (and project folders)
to ``choreo run <TAB>``; ``DefaultGroup`` does all three. Docstrings double as help texts, and RST
literals (````like this````) read well in the code but not in a terminal: ``plain_help`` removes them from
every command, the plug-ins' included.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem

Prepare = Callable[[click.Command], None]


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use: ``lazy`` maps a name to ``"module:attribute"``.
    ``plugins``: an entry point group whose entries are more subcommands (a built-in name wins; an entry
    whose package is not installed is absent). ``on_load`` functions are applied to each command loaded."""

    def __init__(
        self, *args: Any, lazy: Mapping[str, str] | None = None, plugins: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})
        self.plugins = plugins
        self.on_load: list[Prepare] = []

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy, *self._plugin_entries})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            command = self._import(cmd_name)
            if command is None:
                return None
            self.add_command(command, cmd_name)
            for prepare in self.on_load:
                prepare(command)
        return self.commands.get(cmd_name)

    def names(self) -> set[str]:
        """The built-in subcommand names, loaded or not (no plug-in is looked up)."""
        return {*self.commands, *self.lazy}

    def _import(self, name: str) -> click.Command | None:
        target = self.lazy.get(name)
        if target is not None:
            module, _, attribute = target.partition(":")
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command), target
            return command
        entry = self._plugin_entries.get(name)
        if entry is None:
            return None
        try:
            loaded = entry.load()
        except ImportError:
            return None  # the plug-in is not installed: its commands are simply absent
        return loaded if isinstance(loaded, click.Command) else None

    @functools.cached_property
    def _plugin_entries(self) -> dict[str, Any]:
        """The plug-ins' entries by name, read once: a listing, then a lookup of each plug-in command."""
        if self.plugins is None:
            return {}
        from importlib.metadata import entry_points  # only when a plug-in command is looked for

        return {entry.name: entry for entry in entry_points(group=self.plugins)}


def prepare_all(command: click.Command, prepare: Prepare) -> None:
    """Apply ``prepare`` to ``command`` and everything below it, now for what is loaded and on load for the
    rest."""
    prepare(command)
    if isinstance(command, LazyGroup):
        command.on_load.append(lambda loaded: prepare_all(loaded, prepare))
    if isinstance(command, click.Group):
        for sub in list(command.commands.values()):
            prepare_all(sub, prepare)


class DefaultGroup(LazyGroup):
    """A group that runs its default subcommand when the first argument is not a subcommand name."""

    default_command = "once"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        completing_a_word = ctx.resilient_parsing and not args  # `choreo run <TAB>`: offer the subcommands
        if not completing_a_word and (not args or (args[0] not in self.names() and args[0] not in ("--help", "-h"))):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [f"[{self.default_command} OPTIONS] [DIRECTORY]", "|", "COMMAND [ARGS]..."]

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        click.Command.format_options(self, ctx, formatter)
        default = self.get_command(ctx, self.default_command)
        assert default is not None, self.default_command
        sub_ctx = click.Context(default, info_name=self.default_command, parent=ctx)
        options = [p for p in default.get_params(sub_ctx) if isinstance(p, click.Option) and p.name != "help"]
        records = [r for p in options if (r := p.get_help_record(sub_ctx)) is not None]
        with formatter.section(f"Options of {ctx.command_path} {self.default_command} (the default command)"):
            formatter.write_dl(records)
        self.format_commands(ctx, formatter)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """The subcommands, and the folders a default ``once`` would run."""
        return super().shell_complete(ctx, incomplete) + directories(incomplete)


def directories(incomplete: str) -> list[CompletionItem]:
    """Folders whose path starts with ``incomplete`` (hidden ones only when asked for with a dot)."""
    parent, _, start = incomplete.rpartition(os.sep)
    base = Path(parent or ".") if parent or not incomplete.startswith(os.sep) else Path(os.sep)
    try:
        entries = sorted(e.name for e in os.scandir(base) if e.is_dir())
    except OSError:
        return []
    prefix = f"{parent}{os.sep}" if parent or incomplete.startswith(os.sep) else ""
    return [
        CompletionItem(f"{prefix}{name}{os.sep}")
        for name in entries
        if name.startswith(start) and (start.startswith(".") or not name.startswith("."))
    ]


def _plain(text: str | None) -> str | None:
    return text.replace("``", "") if text else text


def plain_help(command: click.Command) -> None:
    """Drop RST literal markup from the help of ``command``, its options and all its subcommands."""
    prepare_all(command, _plain_help_of)


def _plain_help_of(command: click.Command) -> None:
    command.help = _plain(command.help)
    command.short_help = _plain(command.short_help)
    for param in command.params:
        if isinstance(param, click.Option):
            param.help = _plain(param.help)


_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})  # what Go's strconv.ParseBool reads, as kubectl's flags
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def flag_values(command: click.Command) -> None:
    """Let the flags of ``command`` and all its subcommands take a value as kubectl's do: ``--show-labels=true``
    is ``--show-labels``, ``--recursive=false`` leaves the flag off (click takes no value after a flag)."""
    prepare_all(command, _accept_flag_values)


def _accept_flag_values(command: click.Command) -> None:
    flags = {opt for param in command.params if isinstance(param, click.Option) and param.is_flag
             and not param.secondary_opts and param.default is not True for opt in param.opts if opt.startswith("--")}
    if not flags:
        return
    parse = command.parse_args

    def parse_args(ctx: click.Context, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        spelled: list[str] = []
        for arg in args[:end]:
            name, equals, value = arg.partition("=")
            if equals and name in flags and value in _TRUE | _FALSE:
                spelled.extend([name] if value in _TRUE else [])
            else:
                spelled.append(arg)
        return parse(ctx, [*spelled, *args[end:]])

    command.parse_args = parse_args  # type: ignore[method-assign]
