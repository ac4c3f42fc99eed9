"""``choreo get -w`` as kubectl's: the list, then a line for each change as it happens, from the project's store
(a ``choreo run`` in another process commits it) and from a server; one kind at a time; Ctrl-C ends it."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.e2e.conftest import choreo
from tests.server.harness import Http, ServerProcess, copy_example

GREETINGS = "/apis/example.com/v1alpha1/namespaces/default/greetings"


class Watcher:
    """A ``choreo get ... -w`` process whose output lines are collected as they come."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "choreo.cli.main", "get", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.arrived: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.arrived.put(line.rstrip("\n"))

    def lines(self, count: int, seconds: float = 60) -> list[str]:
        got: list[str] = []
        while len(got) < count:
            try:
                got.append(self.arrived.get(timeout=seconds))
            except queue.Empty:
                raise AssertionError(f"only {got} after {seconds} s") from None
        return got

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=30)


def test_a_watch_of_the_project_store_shows_what_a_run_changes(tmp_path: Path) -> None:
    project = copy_example("greeting", tmp_path)
    assert choreo("run", str(project)).code == 0
    watcher = Watcher("greetings", "-w", "-C", str(project))
    try:
        header, alice, bob = watcher.lines(3)
        assert header.split() == ["NAME", "AGE"] and alice.split()[0] == "alice" and bob.split()[0] == "bob"
        source = project / "in" / "example.com.greeting.alice.yaml"
        source.write_text(source.read_text().replace("language: fr", "language: nl"))
        assert choreo("run", str(project)).code == 0  # another process: its commit is what the watch sees
        assert watcher.lines(1)[0].split()[0] == "alice"
    finally:
        code = watcher.interrupt()
    assert code == 130


def test_a_watch_of_a_server_shows_a_new_object_in_the_output_form_asked(tmp_path: Path) -> None:
    project = copy_example("greeting", tmp_path)
    server = ServerProcess(str(project), "--address", "127.0.0.1:0")
    try:
        url = server.wait_ready()
        watcher = Watcher("greetings", "-w", "-o", "name", "--server", url)
        try:
            assert watcher.lines(2) == ["greeting.example.com/alice", "greeting.example.com/bob"]  # listed
            eve = {"apiVersion": "example.com/v1alpha1", "kind": "Greeting",
                   "metadata": {"name": "eve", "namespace": "default"}, "spec": {"name": "Eve", "language": "en"}}
            assert Http(url).call("POST", GREETINGS, eve)[0] == 201
            assert watcher.lines(1)[0] == "greeting.example.com/eve"
        finally:
            watcher.interrupt()
    finally:
        server.stop()


def test_watch_only_writes_the_header_with_the_first_change_and_yaml_separates_documents(tmp_path: Path) -> None:
    """As kubectl: --watch-only prints nothing until a change comes (then the header with its row), and -o yaml
    writes --- between two documents, not before the first."""
    project = copy_example("greeting", tmp_path)
    assert choreo("run", str(project)).code == 0
    only = Watcher("greetings", "--watch-only", "-C", str(project))
    documents = Watcher("greetings", "-w", "-o", "yaml", "-C", str(project))
    try:
        assert documents.lines(1) == ["apiVersion: example.com/v1alpha1"]
        assert only.arrived.empty()
        source = project / "in" / "example.com.greeting.alice.yaml"
        source.write_text(source.read_text().replace("language: fr", "language: nl"))
        assert choreo("run", str(project)).code == 0
        header, alice = only.lines(2)
        assert header.split() == ["NAME", "AGE"] and alice.split()[0] == "alice"
        between = documents.lines(1)
        while between[-1] != "---":  # before bob's document (the list's second)
            between += documents.lines(1)
    finally:
        only.interrupt()
        documents.interrupt()


def test_a_watch_follows_one_kind(tmp_path: Path) -> None:
    project = copy_example("greeting", tmp_path)
    assert choreo("run", str(project)).code == 0
    both = choreo("get", "greetings,messages", "-w", "-C", str(project))
    assert (both.code, both.err) == (1, "error: you may only specify a single resource type\n")  # kubectl's
