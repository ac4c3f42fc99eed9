"""The exit statuses of the ``choreo`` command, named once for every module that ends the process.

Why a module of its own: ``cli.main`` catches what no command handled and ``cli.runs`` ends a run stopped
with Ctrl-C itself; both must give the same status, and ``cli.main`` may not import ``cli.runs`` (commands
are imported only when used). CI scripts test these numbers.
"""

from __future__ import annotations

FAILED = 1
"""A user mistake, or a run, check or comparison that did not pass (the message says which)."""
INTERNAL_ERROR = 70
"""A bug in choreo rather than a mistake of the user's (``EX_SOFTWARE`` of sysexits.h)."""
INTERRUPTED = 130
"""Stopped with Ctrl-C, as a shell reports a process ended by SIGINT."""
PIPE_CLOSED = 1
"""The reader of the output went away (``choreo get ... | head``): nothing is printed, and the status is the
one click gives a command it stops for that reason (most output goes through click)."""
