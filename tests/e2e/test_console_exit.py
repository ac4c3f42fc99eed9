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


def test_choreo_alone_prints_its_whole_help() -> None:
    """As kubectl does: on standard output, exit 0, nothing cut (errors are shortened, help is not)."""
    alone = _console("")
    assert (alone.returncode, alone.stderr) == (0, "")
    assert alone.stdout.startswith("Usage: choreo [OPTIONS] COMMAND [ARGS]...")
    assert "more characters" not in alone.stdout and "  version " in alone.stdout


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    """``choreo ... | head -1``: no 'Broken pipe' error, the status click gives (1), whoever notices first."""
    code = textwrap.dedent("""
        import sys
        from choreo.cli.main import console
        sys.argv = ["choreo", "--help"]
        console()
    """)
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:
        assert child.stdout is not None and child.stderr is not None
        child.stdout.close()  # before anything is read: every write fails
        stderr = child.stderr.read().decode()
        assert (child.wait(timeout=60), stderr) == (1, "")
