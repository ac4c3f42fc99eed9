"""Results never depend on the store's history: a tightened CRD fails the same on an old store as on a
fresh one (stored objects are validated again when their CRD changes), and client hang-ups are routine."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from choreo.server.http import APIHTTPServer
from tests.corpus.harness import EXAMPLES, Outcome, invoke

GREETINGS_CRD = "crds/example.com_greetings.yaml"
MESSAGES_CRD = "crds/example.com_messages.yaml"


def run(project: Path, home: Path) -> Outcome:
    return invoke(["run", str(project)], {"HOME": str(home), "CHOREO_SERVER": None})


@pytest.mark.parametrize(
    ("crd", "old", "new", "expected"),
    [
        (
            GREETINGS_CRD,
            "name: {type: string, minLength: 1}",
            "name: {type: string, pattern: '^[a-z]+$'}",
            "must match pattern",
        ),
        (MESSAGES_CRD, "text: {type: string}", "text: {type: string, maxLength: 3}", "Too long"),
        (GREETINGS_CRD, "enum: [en, fr, nl, de]", "enum: [en, nl, de]", "Unsupported value"),
    ],
    ids=["input-pattern", "child-max-length", "input-enum"],
)
def test_a_tightened_crd_fails_on_an_old_store_as_on_a_fresh_one(
    tmp_path: Path, crd: str, old: str, new: str, expected: str
) -> None:
    project = tmp_path / "p"
    shutil.copytree(EXAMPLES / "greeting", project)
    assert run(project, tmp_path).code == 0
    path = project / crd
    path.write_text(path.read_text().replace(old, new))
    on_old_store = run(project, tmp_path)
    shutil.rmtree(project / ".choreo")
    on_fresh_store = run(project, tmp_path)
    assert on_old_store.code == on_fresh_store.code == 1
    assert (on_old_store.out, on_old_store.err) == (on_fresh_store.out, on_fresh_store.err)
    assert expected in on_old_store.out + on_old_store.err


def test_an_unchanged_project_keeps_skipping_unchanged_writes(tmp_path: Path) -> None:
    """The re-check only follows a CRD change: a second run of the same project validates nothing again."""
    project = tmp_path / "p"
    shutil.copytree(EXAMPLES / "greeting", project)
    assert run(project, tmp_path).code == 0
    from choreo.apiserver.server import APIServer
    from choreo.loader.loading import load_project
    from choreo.loader.sync import register_crds
    from choreo.store import open_backend

    backend = open_backend(project / ".choreo" / "choreo.db")
    try:
        api = APIServer(backend)
        register_crds(api, load_project(project))
        assert not api._unverified
    finally:
        backend.close()


class _Context:
    def __init__(self) -> None:
        self.logged: list[tuple[str, dict[str, Any]]] = []

    def log(self, event: str, **fields: Any) -> None:
        self.logged.append((event, fields))


@pytest.mark.parametrize("error", [BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset")])
def test_a_client_hanging_up_is_one_debug_line(error: OSError, capsys: pytest.CaptureFixture[str]) -> None:
    server = APIHTTPServer.__new__(APIHTTPServer)  # no socket: only the error handling is exercised
    server.context = _Context()  # type: ignore[assignment]
    try:
        raise error
    except OSError:
        server.handle_error(None, ("127.0.0.1", 5000))
    assert server.context.logged == [  # type: ignore[attr-defined]
        ("client-gone", {"level": "debug", "client": "127.0.0.1", "error": type(error).__name__})
    ]
    assert capsys.readouterr().err == ""
    logging.getLogger(__name__).debug("ok")
