"""Reading a kubeconfig for ``choreo run start --kubeconfig``: broken credentials are one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from choreo.errors import ChoreoError
from choreo.server.remote import kube_client


def _kubeconfig(path: Path, server: str, user: dict) -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
    }))
    return path


def test_token_file_is_read_next_to_the_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("s3cret\n")
    client = kube_client(str(_kubeconfig(tmp_path / "kc", "http://127.0.0.1:1", {"tokenFile": "token"})))
    assert client.token == "s3cret"


@pytest.mark.parametrize(("server", "user", "needle"), [
    ("http://127.0.0.1:1", {"tokenFile": "missing-token"}, "missing-token"),
    ("https://127.0.0.1:1", {"client-certificate-data": "!!not base64!!"}, "cannot use its credentials"),
])
def test_broken_credentials_are_one_line_naming_the_file(tmp_path: Path, server: str, user: dict, needle: str) -> None:
    path = _kubeconfig(tmp_path / "kc", server, user)
    with pytest.raises(ChoreoError) as err:
        kube_client(str(path))
    message = str(err.value)
    assert message.startswith(f"{path}: context 'c': cannot use its credentials") and needle in message
    assert "\n" not in message
