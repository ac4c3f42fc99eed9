"""choreoctl's global flags (spec §5), accepted before or after any command, each with the reference's meaning
or one line saying what choreo does instead.

Why: a user of the reference types ``choreoctl get greetings -b dev`` or ``choreoctl -d run once``: cobra's
persistent flags go anywhere. A click option belongs to one command, so ``install`` gives every command each
flag it has no option of that spelling for (hidden from its help; ``choreo --help`` lists them), and
``hoist`` moves the ones typed before the command name to the end of the command line.

- ``-d/--debug``: an internal error prints its traceback (as ``CHOREO_DEBUG=1``);
- ``--config FILE``: the config file the CLI reads ``server:`` and the token from;
- ``--address HOST:PORT``: the server (every command that talks to one has it; the others say they do not);
- ``-b/--branch NAME``: ``get`` and ``api-resources`` read the project as on branch NAME
  (``choreo.cli.branchview``); every other command refuses a branch that is not checked out;
- ``-n/--namespace``, ``-r``, ``-s``, ``-o`` (a global flag of the reference's example era): on a command
  without them, ``-n default`` is accepted (it names nothing else); anything else says which commands take them;
- the reference's folder flags (``--apis crds``, ``--input in``, ...): its default is choreo's fixed folder
  and is accepted; another name is refused, naming the folder to rename;
- ``-p/--proxy``, ``--maxRcvMsg``, ``--timeout``, ``--cacheDir``, ``--servername`` (gRPC transport settings):
  refused with what to use instead.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from choreo.cli.branchview import BRANCH_KEY, BRANCH_VIEWS, branch_views, require_checked_out
from choreo.cli.groups import LazyGroup, prepare_all
from choreo.errors import ChoreoError
from choreo.server.client import ServerClient

Apply = Callable[[click.Context, Any], None]


@dataclass(frozen=True)
class GlobalFlag:
    opts: tuple[str, ...]
    help: str
    apply: Apply  # called with the value when the flag is given on the command line
    metavar: str | None = None  # None: a flag without a value

    @property
    def key(self) -> str:
        return "reference_" + self.opts[-1].lstrip("-").lower()


def _command(ctx: click.Context) -> str:
    return ctx.command_path.partition(" ")[2] or ctx.command_path


def _debug(_ctx: click.Context, _value: Any) -> None:
    os.environ["CHOREO_DEBUG"] = "1"


def _config(_ctx: click.Context, value: Any) -> None:
    path = Path(str(value)).expanduser()
    if not path.is_file():
        raise ChoreoError(f"--config {value}: no such file")
    os.environ["CHOREO_CONFIG"] = str(path.resolve())


def _address(ctx: click.Context, value: Any) -> None:
    raise ChoreoError(f"--address {value}: `choreo {_command(ctx)}` does not talk to a server")


def _branch(ctx: click.Context, value: Any) -> None:
    ctx.meta[BRANCH_KEY] = str(value)


def _namespace(ctx: click.Context, value: Any) -> None:
    if value != "default":
        raise ChoreoError(f"-n {value}: `choreo {_command(ctx)}` takes no namespace (get, apply and delete do)")


def _only_for(flag: str, commands: str) -> Apply:
    def refuse(ctx: click.Context, _value: Any) -> None:
        raise ChoreoError(f"{flag}: `choreo {_command(ctx)}` does not take it; {commands} do")

    return refuse


def _folder(flag: str, folder: str) -> Apply:
    def check(_ctx: click.Context, value: Any) -> None:
        if value != folder:
            message = f"choreo reads the project's {folder}/ folder; rename {value} to {folder}"
            raise ChoreoError(f"{flag} {value}: {message}")

    return check


def _instead(flag: str, what: str) -> Apply:
    def refuse(_ctx: click.Context, value: Any) -> None:
        raise ChoreoError(f"{flag} {value}: {what}")

    return refuse


FLAGS = (
    GlobalFlag(("-d", "--debug"), "Internal errors print their traceback.", _debug),
    GlobalFlag(("--config",), "Config file with server: and token: (default ~/.config/choreo/config.yaml).",
               _config, "FILE"),
    GlobalFlag(("--address",), "Server HOST:PORT or URL (commands that talk to a server).", _address, "ADDRESS"),
    GlobalFlag(("-b", "--branch"), "get, api-resources, explain: the project as on git branch NAME; other "
               "commands: "
               "only the checked-out branch.", _branch, "NAME"),
    GlobalFlag(("-n", "--namespace"), "Namespace (get, apply, delete).", _namespace, "NS"),
    GlobalFlag(("-o", "--output"), "Output format (get, api-resources, run, run result, run deps, config show).",
               _only_for("-o", "`choreo get`, `choreo api-resources`, `choreo run`, `choreo run result`, "
                         "`choreo run deps` and `choreo config show`"), "FORMAT"),
    GlobalFlag(("-r", "--internalReconcilers"), "Built-in allocators (run, server start).",
               _only_for("-r", "`choreo run` and `choreo server start`")),
    GlobalFlag(("-s", "--sdc"), "YANG schema stage (run, server start).",
               _only_for("-s", "`choreo run` and `choreo server start`")),
    *(GlobalFlag((f"--{name}",), f"Accepted as {folder} only: choreo's {folder}/ folder.", _folder(f"--{name}", folder),
                 "FOLDER")
      for name, folder in (("apis", "crds"), ("reconcilers", "reconcilers"), ("libraries", "libs"),
                           ("input", "in"), ("refs", "refs"), ("schemas", "schemas"),
                           ("runningConfigs", "runningconfigs"))),
    GlobalFlag(("--db",), "Not settable: the store is the project's .choreo/ folder.",
               _instead("--db", "choreo keeps its store in the project's .choreo/ folder (not settable)"), "FOLDER"),
    GlobalFlag(("--post",), "Not used: choreo has no post-processing folder.",
               _instead("--post", "choreo reads no post-processing folder; run what you need after `choreo run`"),
               "FOLDER"),
    GlobalFlag(("-p", "--proxy"), "Not used: set HTTPS_PROXY/HTTP_PROXY.",
               _instead("-p", "choreo's client talks HTTP to its server: set HTTPS_PROXY or HTTP_PROXY instead"),
               "ADDRESS"),
    GlobalFlag(("--maxRcvMsg",), "Not used: see choreo server start --max-body-bytes.",
               _instead("--maxRcvMsg", "choreo's client has no receive limit; the server limits requests with "
                        "`choreo server start --max-body-bytes N`"), "BYTES"),
    GlobalFlag(("--timeout",), "Not used: a server request waits up to 300 s.",
               _instead("--timeout", "choreo's client connects at once (an unreachable server fails) and waits up "
                        "to 300 s for an answer (`server apply`: an hour); not settable"), "DURATION"),
    GlobalFlag(("--cacheDir",), "Not used: upstream clones live in the project's .choreo/.",
               _instead("--cacheDir", "choreo caches upstream refs in the project's .choreo/ folder (not settable)"),
               "DIR"),
    GlobalFlag(("--servername",), "Not used: TLS checks the host name of --address.",
               _instead("--servername", "choreo's client checks a https:// server's certificate against the host "
                        "name of --address"), "NAME"),
)


NEVER_SUGGESTED = frozenset(
    opt for flag in FLAGS if flag.help.startswith(("Not used", "Not settable")) for opt in flag.opts
)
"""The spellings a mistyped option is never told to be (``Did you mean '--post'?``): choreo refuses them."""


def _option(flag: GlobalFlag, hidden: bool) -> click.Option:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if param.name and ctx.get_parameter_source(param.name) == ParameterSource.COMMANDLINE:
            flag.apply(ctx, value)

    return click.Option(
        [flag.key, *flag.opts], is_flag=flag.metavar is None, metavar=flag.metavar, expose_value=False,
        callback=callback, help=flag.help, hidden=hidden, is_eager=flag.opts[-1] in ("--config", "--debug"),
    )


def install(root: click.Group) -> None:
    """Give ``root`` (shown in its help) and every command below it (hidden, also those loaded later) the
    flags they lack."""
    _add(root, hidden=False)
    for command in list(root.commands.values()):
        prepare_all(command, _install_below)
    if isinstance(root, LazyGroup):
        root.on_load.append(lambda loaded: prepare_all(loaded, _install_below))


def _install_below(command: click.Command) -> None:
    _add(command, hidden=True)
    _check_branch_before(command)


def _add(command: click.Command, hidden: bool) -> None:
    taken = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    for flag in FLAGS:
        if not taken.intersection(flag.opts):
            shown = flag.apply is _branch and command.name in BRANCH_VIEWS  # -b is theirs to read
            command.params.append(_option(flag, hidden and not shown))


def _check_branch_before(command: click.Command) -> None:
    """Make ``command`` refuse a ``-b`` naming another branch than the checked-out one, unless it reads
    other branches itself (``BRANCH_VIEWS``)."""
    if command.callback is None or command.name in BRANCH_VIEWS:
        return
    run = command.callback

    @functools.wraps(run)
    def checked(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        branch = ctx.meta.get(BRANCH_KEY)
        if branch is not None and getattr(ctx, "invoked_subcommand", None) is None:
            if not {"directory", "project"} & ctx.params.keys():
                raise ChoreoError(f"-b {branch}: `choreo {_command(ctx)}` reads no branch ({branch_views()} do)")
            directory = ctx.params.get("directory") or ctx.params.get("project")
            client = ServerClient.addressed(ctx.params.get("server_url")) if directory is None else None
            require_checked_out(client, directory, branch, _command(ctx))
        return run(*args, **kwargs)

    command.callback = checked


def hoist(args: list[str]) -> list[str]:
    """``args`` with the global flags typed before the command name moved behind the command (before a
    ``--``), where the command's own options or the installed ones read them."""
    moved: list[str] = []
    index = 0
    while index < len(args):
        flag = _flag_of(args[index])
        if flag is None:
            break
        takes_value = flag.metavar is not None and "=" not in args[index]
        moved += args[index : index + 1 + takes_value]
        index += 1 + takes_value
    rest = args[index:]
    if not moved or not rest:
        return args
    end = rest.index("--") if "--" in rest else len(rest)
    return [*rest[:end], *moved, *rest[end:]]


def _flag_of(token: str) -> GlobalFlag | None:
    name = token.partition("=")[0] if token.startswith("--") else token
    return next((flag for flag in FLAGS if name in flag.opts), None)
