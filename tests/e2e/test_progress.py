"""Progress on a real terminal (a pty): reconciles done/queued and devices validated while a run works,
nothing extra without a terminal or with -q, Ctrl-C ending the run with exit 130 and one line, and the
terminal closed under a run ending it as SIGTERM does."""

from __future__ import annotations

import os
import pty
import re
import signal
import sys
from pathlib import Path

from tests.e2e.conftest import choreo, store_is_intact

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
GREETING = "apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata:\n  name: g{i}\n  namespace: default\n" \
           "spec:\n  name: G{i}\n  language: en\n"


def on_terminal(*args: str, interrupt_when: bytes | None = None, hang_up: bool = False) -> tuple[int, str]:
    """Run choreo with a pty as its terminal; type Ctrl-C once ``interrupt_when`` has been shown (``hang_up``:
    close the terminal instead, as closing its window does: the kernel sends SIGHUP).
    Returns the exit code and everything shown, escape sequences removed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: choreo, with the pty as its controlling terminal
        # As a shell starts a job in the foreground: Ctrl-C's signal handled by default. The tests may run
        # with it ignored (a non-interactive shell's background job ignores SIGINT), which exec keeps.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.execv(sys.executable, [sys.executable, "-m", "choreo.cli.main", *args])
    shown, typed = b"", False
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
        if interrupt_when is not None and not typed and interrupt_when in ANSI.sub(b"", shown):
            if hang_up:
                break
            os.write(fd, b"\x03")
            typed = True
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), ANSI.sub(b"", shown).decode(errors="replace").replace("\r", "")


def test_a_run_on_a_terminal_shows_reconciles_and_devices_in_natural_order(example) -> None:
    project = example("fabric")
    leaf2 = project / "in" / "infra.kuid.dev.node.leaf2.yaml"
    (project / "in" / "infra.kuid.dev.node.leaf10.yaml").write_text(leaf2.read_text().replace("leaf2", "leaf10"))
    code, shown = on_terminal("run", str(project), "-r", "-s")
    assert code == 0, shown
    assert re.search(r"reconciling .* (\d+)/\1 0 queued", shown), shown
    assert re.search(r"validating devices .* 5/5", shown), shown
    summary = shown[shown.index("Run fabric summary"):]
    assert "reconciling" not in summary  # the progress display is gone before the summary
    devices = [line.split(":")[0].strip() for line in summary.splitlines() if ": valid (" in line]
    assert devices == ["leaf1", "leaf2", "leaf10", "spine1", "spine2"]


def test_quiet_or_no_terminal_shows_no_progress(example) -> None:
    project = example("hello-world")
    code, shown = on_terminal("run", str(project), "-q")
    assert code == 0 and shown == ""
    piped = choreo("run", str(project))
    assert piped.code == 0 and piped.err == "" and piped.out.startswith("Run hello-world summary")


def test_ctrl_c_ends_the_run_with_130_and_keeps_nothing(example) -> None:
    project: Path = example("greeting")
    for i in range(400):
        (project / "in" / f"g{i}.yaml").write_text(GREETING.format(i=i))
    code, shown = on_terminal("run", str(project), interrupt_when=b"reconciling")
    assert code == 130, shown
    last = [line for line in shown.splitlines() if line.strip()][-1]
    assert last == "interrupted: the run was stopped; nothing of it was kept"
    assert "Traceback" not in shown and "execution failed" not in shown
    after = choreo("run", "result", str(project))  # no failed run recorded as this run's result
    assert after.code == 1 and "no run recorded yet" in after.err


def test_closing_the_terminal_of_a_run_ends_it_as_sigterm_does_keeping_the_previous_run(example) -> None:
    """SIGHUP, as SIGTERM, ends a batch run where it is (the signal's default action: no traceback, no line):
    its transaction is never committed, so the store keeps the previous run, whole."""
    project: Path = example("greeting")
    assert choreo("run", str(project), "-q").code == 0
    before = choreo("run", "list", str(project)).out
    for i in range(400):
        (project / "in" / f"g{i}.yaml").write_text(GREETING.format(i=i))
    code, shown = on_terminal("run", str(project), interrupt_when=b"reconciling", hang_up=True)
    assert code == -signal.SIGHUP
    assert "Traceback" not in shown and "error" not in shown
    assert store_is_intact(project)
    assert choreo("run", "list", str(project)).out == before
    assert choreo("get", "greeting", "g0", "-C", str(project)).code == 1  # nothing of the hung-up run kept
