"""Helpers to run a choreo server in tests: in-process (``served``) or as the real CLI (``ServerProcess``)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from choreo.runtime.options import RunOptions
from choreo.server.app import ServerApp, ServerConfig, ServerLog

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WAIT = 60.0


def wait_for(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll ``check`` until it returns something truthy; fail the test naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Http:
    """Raw HTTP calls returning (status code, decoded JSON or text)."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url, self.token = url, token

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", content_type)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, _decode(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _decode(exc.read())


def _decode(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode()


@contextlib.contextmanager
def served(
    root: Path | None,
    *,
    run: bool = False,
    token: str | None = None,
    workspace: Path | None = None,
    log_path: Path | None = None,
    options: RunOptions | None = None,
) -> Iterator[tuple[ServerApp, str]]:
    """An in-process server on a free loopback port; yields the app and its base URL."""
    stream = open(log_path or os.devnull, "w")  # noqa: SIM115 - closed below
    config = ServerConfig(("127.0.0.1", 0), options or RunOptions(), token, root, workspace, run)
    app = ServerApp(config, ServerLog(stream))
    try:
        app.boot()
        host, port = app.listen()
        yield app, f"http://{host}:{port}"
    finally:
        app.shutdown()
        stream.close()


def copy_example(name: str, target: Path) -> Path:
    import shutil

    dest = target / name
    shutil.copytree(EXAMPLES / name, dest, ignore=shutil.ignore_patterns(".choreo"))
    return dest


class ServerProcess:
    """``choreo server start ...`` as a subprocess; its JSON log lines are collected as they come."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.args = args
        self.lines: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "choreo.cli.main", "server", "start", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env={**os.environ, **(env or {})},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.raw.append(line)
            with contextlib.suppress(ValueError):
                self.lines.append(json.loads(line))

    def event(self, name: str) -> dict[str, Any] | None:
        return next((line for line in self.lines if line.get("event") == name), None)

    def wait_ready(self) -> str:
        def ready() -> dict[str, Any] | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}: {''.join(self.raw)}")
            return self.event("ready")

        wait_for(ready, "the server to be ready")
        listening = self.event("listening")
        assert listening is not None
        return f"http://{listening['address']}"

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=WAIT)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=WAIT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.kill()


def git(repo: Path, *args: str) -> str:
    """``git -C repo ARGS``'s output, without the final newline (a failure fails the test)."""
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True)
    return done.stdout.strip()


def commit_all(repo: Path, tag: str) -> str:
    """Commit everything in ``repo`` as ``tag``, tagged so; the commit id."""
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", tag)
    git(repo, "tag", tag)
    return git(repo, "rev-parse", "HEAD")


def greeting_repository(tmp_path: Path) -> Path:
    """A repository holding the greeting example in ``proj``, at tag ``v1`` on branch ``main``."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "t@example.com")
    git(repo, "config", "user.name", "t")
    shutil.copytree(copy_example("greeting", tmp_path / "src"), repo / "proj")
    commit_all(repo, "v1")
    return repo


def idle(http: Http) -> bool:
    code, status = http.call("GET", "/choreo/v1/status")
    return code == 200 and bool(status.get("idle"))


def crd(group: str, kind: str, schema: dict[str, Any], *, scope: str = "Namespaced", **version: Any) -> dict[str, Any]:
    """A one-version (``v1``) CustomResourceDefinition of ``kind`` (plural: lower-case kind + ``s``); ``version``
    adds to the version entry (``subresources``, ``additionalPrinterColumns``)."""
    plural = f"{kind.lower()}s"
    entry = {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}, **version}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {"group": group, "scope": scope, "names": {"kind": kind, "plural": plural}, "versions": [entry]},
    }
