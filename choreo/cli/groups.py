"""Click plumbing of the ``choreo`` command tree: a group with a default subcommand, and plain help texts.

Why: ``choreo run DIR -r -s`` is ``choreo run once DIR -r -s``. A plain click group would neither run
``once`` by default, nor show its options in ``choreo run --help``, nor offer the subcommands (and project
folders) to ``choreo run <TAB>``; ``DefaultGroup`` does all three. Docstrings double as help texts, and
RST literals (````like this````) read well in the code but not in a terminal: ``plain_help`` removes them
from every command, the plug-ins' included.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from click.shell_completion import CompletionItem


class DefaultGroup(click.Group):
    """A group that runs its default subcommand when the first argument is not a subcommand name."""

    default_command = "once"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        completing_a_word = ctx.resilient_parsing and not args  # `choreo run <TAB>`: offer the subcommands
        if not completing_a_word and (not args or (args[0] not in self.commands and args[0] not in ("--help", "-h"))):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [f"[{self.default_command} OPTIONS] [DIRECTORY]", "|", "COMMAND [ARGS]..."]

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        click.Command.format_options(self, ctx, formatter)
        default = self.commands[self.default_command]
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
    command.help = _plain(command.help)
    command.short_help = _plain(command.short_help)
    for param in command.params:
        if isinstance(param, click.Option):
            param.help = _plain(param.help)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            plain_help(sub)
