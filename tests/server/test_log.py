"""The server's log lines: JSON objects for collectors, ``key=value`` text for people (the default on a TTY)."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from choreo.server.app import ServerLog


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_json_is_the_default_off_a_terminal() -> None:
    stream = io.StringIO()
    ServerLog(stream)("listening", address="127.0.0.1:1", auth="none")
    line = json.loads(stream.getvalue())
    assert (line["level"], line["event"], line["address"], line["auth"]) == ("info", "listening", "127.0.0.1:1", "none")


def test_text_is_the_default_on_a_terminal_and_quotes_what_needs_it() -> None:
    stream = _Terminal()
    ServerLog(stream)("reconcile-error", level="error", task="greeting.alice", error='bad "x" = 1', n=3)
    _time, level, rest = stream.getvalue().rstrip("\n").split(" ", 2)
    assert level == "ERROR"
    assert rest.strip() == 'reconcile-error task=greeting.alice error="bad \\"x\\" = 1" n=3'


def test_debug_lines_only_when_asked() -> None:
    quiet, loud = io.StringIO(), io.StringIO()
    ServerLog(quiet, fmt="text")("request", level="debug", path="/healthz")
    ServerLog(loud, fmt="text", debug=True)("request", level="debug", path="/healthz")
    assert quiet.getvalue() == "" and loud.getvalue().split()[1:] == ["DEBUG", "request", "path=/healthz"]


def test_server_start_with_text_logs(tmp_path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "choreo.cli.main", "server", "start", str(empty), "--address", "127.0.0.1:0",
         "--log-format", "text"],
        stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stderr is not None
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if " ready " in line or line.rstrip().endswith(" ready"):
                break
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    listening = next(line for line in lines if " listening " in line)
    assert listening.split()[1] == "INFO" and "address=127.0.0.1:" in listening and "auth=none" in listening
    assert not any(line.startswith("{") for line in lines)
