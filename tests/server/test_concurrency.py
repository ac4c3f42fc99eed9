"""Twenty clients writing at once while the runner reconciles: no acknowledged write is ever lost."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.server.harness import Http, copy_example, idle, served, wait_for

CLIENTS = 20
ROUNDS = 5
NS = "/apis/example.com/v1alpha1/namespaces/default"


def _greeting(name: str, who: str) -> dict:
    return {
        "apiVersion": "example.com/v1alpha1",
        "kind": "Greeting",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"name": who},
    }


def _append_token(http: Http, token: str, stale: list[int]) -> None:
    """Optimistic read-modify-write of the shared object, retried on 409 until acknowledged."""
    while True:
        code, shared = http.call("GET", f"{NS}/greetings/shared")
        assert code == 200
        shared["spec"]["name"] += f",{token}"
        code, body = http.call("PUT", f"{NS}/greetings/shared", shared)
        if code == 200:
            return
        assert (code, body["reason"]) == (409, "Conflict"), body
        stale.append(code)


def _client(http: Http, index: int, acked: dict[str, str], stale: list[int], errors: list[str]) -> None:
    try:
        name = f"c{index}"
        for round_ in range(ROUNDS):
            who = f"Client {index} round {round_}"
            code, body = http.call(
                "PATCH",
                f"{NS}/greetings/{name}?fieldManager=client-{index}",
                _greeting(name, who),
                content_type="application/apply-patch+yaml",
            )
            assert code in (200, 201), body
            acked[name] = who
            _append_token(http, f"{index}.{round_}", stale)
    except AssertionError as exc:
        errors.append(f"client {index}: {exc}")


def test_concurrent_clients_lose_no_update(tmp_path: Path) -> None:
    with served(copy_example("greeting", tmp_path), run=True) as (_app, url):
        http = Http(url)
        assert http.call("POST", f"{NS}/greetings", _greeting("shared", "start"))[0] == 201
        acked: dict[str, str] = {}
        stale: list[int] = []
        errors: list[str] = []
        threads = [threading.Thread(target=_client, args=(http, i, acked, stale, errors)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        wait_for(lambda: idle(http), "the runner to reconcile every write")

        _, shared = http.call("GET", f"{NS}/greetings/shared")
        tokens = shared["spec"]["name"].split(",")[1:]
        assert sorted(tokens) == sorted(f"{i}.{r}" for i in range(CLIENTS) for r in range(ROUNDS))
        assert len(acked) == CLIENTS
        for name, who in acked.items():
            _, obj = http.call("GET", f"{NS}/greetings/{name}")
            assert obj["spec"]["name"] == who
            assert obj["status"]["messageRef"] == f"{name}-message"
            _, message = http.call("GET", f"{NS}/messages/{name}-message")
            assert who in message["spec"]["text"]
        # a stale write is refused with 409 whatever the contention happened to be
        old = dict(shared)
        old["metadata"] = {**shared["metadata"], "resourceVersion": "1"}
        code, status = http.call("PUT", f"{NS}/greetings/shared", old)
        assert (code, status["reason"]) == (409, "Conflict")
