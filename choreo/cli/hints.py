"""Hints that save a user a search: which server a command goes to, and that a kind needs ``-r``.

Why: a ``$CHOREO_SERVER`` (or config file) left set sends ``choreo get`` to a server the user may have
forgotten about; on a terminal one stderr line says so before the command runs (scripts and CI, whose
stderr is not a terminal, keep a clean stderr; the errors about a server name it anyway). And an input
object of an allocator kind (IPClaim, VLANIndex, ...) in a run without ``-r`` is an unknown kind: the error
then says that the kind is built in and ``-r`` enables it.
"""

from __future__ import annotations

import os
import re
import sys

import click

from choreo.errors import ChoreoError
from choreo.server.client import ServerClient

_UNKNOWN_KIND = re.compile(r"unknown kind (?P<kind>\S+) \(apiVersion (?P<api_version>[^)\s]+)\)")


def announce_target(client: ServerClient) -> None:
    """Called when a command goes to a server its command line did not name."""
    if sys.stderr.isatty():
        origin = "$CHOREO_SERVER" if os.environ.get("CHOREO_SERVER") else "the config file"
        click.echo(f"server: {client.url} (from {origin})", err=True)


def with_allocator_hint(error: ChoreoError, allocator_kinds: set[tuple[str, str]]) -> ChoreoError:
    """``error`` with "built-in kind: run with -r" added when it is about an allocator kind."""
    found = _UNKNOWN_KIND.search(str(error))
    if found is None or (found["api_version"].rpartition("/")[0], found["kind"]) not in allocator_kinds:
        return error
    return type(error)(f"{error}; {found['kind']} is a built-in kind: run with -r")
