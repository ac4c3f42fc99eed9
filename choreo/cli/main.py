"""The ``choreo`` command: kubectl-like verbs over a project folder, or over a running server when one is
addressed (``--server``, ``$CHOREO_SERVER`` or the config file; see ``choreo.cli.common.addressable``).

Every user mistake surfaces as a ``ChoreoError``; ``main`` prints its one-line message to stderr and
exits non-zero, so no command ever shows a traceback for bad input.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

import click

from choreo.cli import reference_flags
from choreo.cli.exits import FAILED, INTERNAL_ERROR, INTERRUPTED, PIPE_CLOSED
from choreo.cli.groups import DefaultGroup, LazyGroup, flag_values, plain_help
from choreo.errors import ChoreoError
from choreo.messages import shorten
from choreo.runtime import collector

# The commands of other modules, imported when used (``LazyGroup``); ``choreo config`` and ``choreo schema``
# come from plug-ins, through the ``choreo.commands`` entry points.
COMMANDS = {
    "get": "choreo.cli.get:get",  # the reads
    "describe": "choreo.cli.describe:describe",
    "explain": "choreo.cli.explain:explain",
    "api-resources": "choreo.cli.get:api_resources",
    "completion": "choreo.cli.completion:completion_command",
    "apply": "choreo.cli.files:apply",  # the writes
    "delete": "choreo.cli.files:delete",
    "dev": "choreo.cli.files:dev",
    "server": "choreo.cli.server:server",
    "deps": "choreo.cli.results:run_deps",  # the reference's older, top-level spelling of `run deps`
    "branch": "choreo.cli.branches:branch",  # version control
    "version": "choreo.cli.compat:version",  # and tui/version upgrade pointing elsewhere
    "tui": "choreo.cli.compat:tui",
}
RUN_COMMANDS = {
    "once": "choreo.cli.runs:run_once",  # the default
    "result": "choreo.cli.runs:run_result",
    "list": "choreo.cli.results:run_list",
    "diff": "choreo.cli.results:run_diff",
    "deps": "choreo.cli.results:run_deps",
    "start": "choreo.cli.server:run_start",
    "stop": "choreo.cli.server:run_stop",
    "load": "choreo.cli.server:run_load",
    "commit": "choreo.cli.branches:run_commit",
    "push": "choreo.cli.branches:run_push",
}


@click.group(
    cls=LazyGroup, lazy=COMMANDS, plugins="choreo.commands", context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(package_name="choreo")
def cli() -> None:
    """choreo turns network intent into validated device configuration."""


@cli.group(cls=DefaultGroup, lazy=RUN_COMMANDS)
def run() -> None:
    """Run a project's reconcilers until quiet (default: run once; its options are listed below)."""


plain_help(cli)
reference_flags.install(cli)  # choreoctl's global flags, on every command
flag_values(cli)  # kubectl's --flag=true|false


OPTIONAL_VALUES = {"--dry-run": "client"}  # kubectl's options whose value is optional, with their default


def kubectl_spellings(args: list[str]) -> list[str]:
    """``args`` (up to a ``--``) with kubectl's spellings as click reads them: ``-o=json`` and ``-n=lab`` as
    ``-o json`` (Go's flag package reads ``-X=VALUE`` as the value VALUE, click would read ``=json``), and
    a bare ``--dry-run`` as ``--dry-run=client`` (kubectl never takes the next argument as its value)."""
    end = args.index("--") if "--" in args else len(args)
    out: list[str] = []
    for arg in args[:end]:
        if len(arg) > 3 and arg[0] == "-" and arg[1].isalpha() and arg[2] == "=":
            out += [arg[:2], arg[3:]]
        elif arg in OPTIONAL_VALUES:
            out.append(f"{arg}={OPTIONAL_VALUES[arg]}")
        else:
            out.append(arg)
    return out + args[end:]


def main() -> None:
    collector.tune()
    try:
        args = reference_flags.hoist(kubectl_spellings(sys.argv[1:]))
        cli.main(args, prog_name="choreo", standalone_mode=False)
    except ChoreoError as exc:  # one mistake, one short message (long lists go to the report files)
        click.echo(f"{exc.prefix}{shorten(str(exc))}", err=True)
        sys.exit(FAILED)
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly, as click does
        _drop_stdout()
        sys.exit(PIPE_CLOSED)
    except OSError as exc:  # a file or folder that cannot be used as asked: name it, no traceback
        click.echo(f"error: {shorten(f'{exc.filename}: {exc.strerror}' if exc.filename else str(exc))}", err=True)
        sys.exit(FAILED)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(INTERRUPTED)
    except click.exceptions.NoArgsIsHelpError as exc:  # ``choreo`` alone: its whole help, as kubectl
        click.echo(exc.ctx.get_help() if exc.ctx is not None else exc.message)
        sys.exit(0)
    except click.ClickException as exc:
        if isinstance(exc, click.exceptions.NoSuchOption) and exc.possibilities:
            kept = [p for p in exc.possibilities if p not in reference_flags.NEVER_SUGGESTED]
            vars(exc)["possibilities"] = kept  # click types it Final, as ``message``
        vars(exc)["message"] = shorten(exc.message)  # click types it Final; shown shortened, usage kept
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED)
    except Exception as exc:  # a bug in choreo, not a user mistake: still one line, details on request
        if os.environ.get("CHOREO_DEBUG"):
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (set CHOREO_DEBUG=1 for the traceback)", err=True)
        sys.exit(INTERNAL_ERROR)


def console() -> None:
    """The ``choreo`` console script: ``main``, then the process ends without the interpreter's teardown.

    Why: a run leaves a large heap (the store's decoded objects, the memo, the allocators' indexes) that
    the interpreter would free object by object on the way out; at N=1000 that is about a tenth of a
    one-Link run, and it grows with the network. Nothing is lost by skipping it: every file choreo writes
    and the store are committed and closed before ``main`` returns. What an ordinary exit does that
    matters is done here, in its order: wait for other non-daemon threads (there are none in a command
    that returns; if there are, the ordinary exit does it), run the ``atexit`` handlers (the reconcile
    workers stop there), flush the standard streams (exit status 120 when that fails, as Python's).
    ``main`` stays an ordinary function, for callers that run commands in their own process."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = _exit_status(exc)
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            code = code or PIPE_CLOSED
        except (OSError, ValueError):
            code = code or 120
    os._exit(code)


def _drop_stdout() -> None:
    """Point standard output at /dev/null: what is still buffered for a reader that went away must not fail
    again at the exit's flush."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _exit_status(exc: SystemExit) -> int:
    """The exit status ``SystemExit`` stands for, its message printed as Python prints it."""
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    print(exc.code, file=sys.stderr)
    return 1


def run_as_module() -> None:
    """``python -m choreo``: like the console script, without the current folder on the import path.

    ``-m`` puts the working directory first on ``sys.path``; in a project folder its ``reconcilers/``
    would then shadow the plug-in package of the same name. Only that first entry goes: the same folder
    named on purpose (``PYTHONPATH``) stays."""
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    console()


if __name__ == "__main__":
    run_as_module()
