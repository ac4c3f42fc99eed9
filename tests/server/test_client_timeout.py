"""A server that took the request and does not answer in time is said to be so, not to be out of reach: it may
still be doing what it was asked (a ``server apply`` cloning a large repository)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from choreo.server.client import CONTEXT_SWITCH_SECONDS, ServerClient, Unreachable


@pytest.fixture()
def silent_server() -> Iterator[str]:
    """The URL of a listening socket that never answers (the kernel completes the connection in its backlog)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_a_server_that_does_not_answer_in_time_is_not_called_unreachable(silent_server: str) -> None:
    client = ServerClient(silent_server, timeout=0.3)
    with pytest.raises(Unreachable) as raised:
        client.status()
    assert str(raised.value) == (
        f"no answer from the server at {silent_server} within 0.3 s: what it was asked may still be under way "
        "there (`choreo server get` shows its state)"
    )


def test_a_closed_port_is_out_of_reach() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(Unreachable, match=rf"^cannot reach the server at http://127.0.0.1:{port}: "):
        ServerClient(f"http://127.0.0.1:{port}", timeout=0.3).status()


def test_a_context_switch_is_awaited_longer_than_any_other_request(
    monkeypatch: pytest.MonkeyPatch, silent_server: str
) -> None:
    waits: list[float | None] = []

    def recording_open(self: ServerClient, method: str, path: str, body: object = None, **options: object) -> None:
        waits.append(options.get("timeout"))  # type: ignore[arg-type]
        raise Unreachable("stop here")

    monkeypatch.setattr(ServerClient, "open", recording_open)
    with pytest.raises(Unreachable):
        ServerClient(silent_server).apply_context("https://example.com/r.git", ".", "main")
    assert waits == [CONTEXT_SWITCH_SECONDS] and CONTEXT_SWITCH_SECONDS > 2 * 600
