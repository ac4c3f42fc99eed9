"""The console script ends its process without the interpreter's teardown (``choreo.cli.main.console``):
what an ordinary exit does that a user could notice must still happen — exit handlers run, buffered output
is written, the exit status is the command's, a thread still working is waited for."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _console(prelude: str, *args: str) -> subprocess.CompletedProcess[str]:
    code = textwrap.dedent(prelude) + textwrap.dedent(f"""
        import sys
        from choreo.cli.main import console
        sys.argv = ["choreo", *{list(args)!r}]
        console()
        print("not reached")
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)


def test_exit_handlers_run_and_buffered_output_is_written() -> None:
    done = _console("""
        import atexit, sys
        sys.stdout.write("buffered, no newline ")
        atexit.register(lambda: sys.stdout.write("exit handler ran"))
    """, "--version")
    assert done.returncode == 0
    assert done.stdout.startswith("buffered, no newline ")
    assert "version" in done.stdout
    assert done.stdout.endswith("exit handler ran")
    assert "not reached" not in done.stdout


def test_the_exit_status_is_the_commands() -> None:
    usage = _console("", "no-such-command")
    assert usage.returncode == 2
    assert "No such command" in usage.stderr
    failed = _console("", "get", "nodes", "--no-such-flag")
    assert failed.returncode == 2


def test_a_thread_still_working_is_waited_for() -> None:
    done = _console("""
        import threading, time
        threading.Thread(target=lambda: (time.sleep(0.5), print("thread finished", flush=True))).start()
    """, "--version")
    assert done.returncode == 0
    assert "thread finished" in done.stdout
