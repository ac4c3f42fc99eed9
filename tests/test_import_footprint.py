"""A command line loads what it uses: the HTTP server (``http.server``, watchfiles, the OpenAPI documents),
the HTTP client's TLS stack and the terminal display (rich) are imported by the commands that serve, talk
to a server or draw progress, not by every ``choreo`` invocation (a CI gating one link pays for each);
and the modules of the other commands are imported by those commands, not by ``choreo run``; ``choreo
get`` reads the store without importing the reconcile engine."""

from __future__ import annotations

import json
import subprocess
import sys

OTHER_COMMANDS = (
    "choreo.cli.get", "choreo.cli.files", "choreo.cli.server", "choreo.cli.results", "choreo.cli.branches",
    "choreo.cli.compat", "choreo.cli.completion", "yang.cli",
)
ENGINE = ("choreo.runtime.pipeline", "choreo.runtime.controller", "choreo.lang.engines")
DEFERRED = ("choreo.server.app", "choreo.server.http", "http.server", "watchfiles", "ssl", "urllib.request", "rich")


def _loaded_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(__import__('json').dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out))


def test_the_command_line_does_not_load_the_server_the_tls_stack_or_the_display() -> None:
    assert _loaded_after("import choreo.cli.main") & set(DEFERRED) == set()


def test_the_deferred_modules_are_still_what_serving_and_drawing_use() -> None:
    # The probe above would pass vacuously if these names stopped being imported at all.
    loaded = _loaded_after(
        "import choreo.cli.main\nfrom choreo.cli.progress import _display\nfrom rich.console import Console\n"
        "_display(Console())\nimport choreo.server.app\nfrom choreo.server.client import ServerClient\n"
        "import contextlib\nwith contextlib.suppress(Exception):\n"
        "    ServerClient('http://127.0.0.1:9', timeout=0.1).status()"
    )
    assert set(DEFERRED) <= loaded


def test_the_run_command_does_not_load_the_other_commands() -> None:
    loaded = _loaded_after(
        "import click\nfrom choreo.cli.main import cli\nctx = click.Context(cli, info_name='choreo')\n"
        "run = cli.get_command(ctx, 'run')\nrun.get_command(click.Context(run, parent=ctx), 'once')"
    )
    assert loaded & set(OTHER_COMMANDS) == set()
    assert set(ENGINE) <= loaded  # what the next test probes for is what a run imports


def test_get_does_not_load_the_reconcile_engine() -> None:
    loaded = _loaded_after(
        "import click\nfrom choreo.cli.main import cli\ncli.get_command(click.Context(cli, info_name='choreo'), 'get')"
    )
    assert "choreo.cli.get" in loaded and loaded & set(ENGINE) == set()


def test_a_command_is_loaded_when_it_is_used() -> None:
    # The probe above would pass vacuously if these modules were not where the commands live.
    loaded = _loaded_after(
        "import click\nfrom choreo.cli.main import cli\nctx = click.Context(cli, info_name='choreo')\n"
        "for name in cli.list_commands(ctx):\n    cli.get_command(ctx, name)"
    )
    assert set(OTHER_COMMANDS) <= loaded
