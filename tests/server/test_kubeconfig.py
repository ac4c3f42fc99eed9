"""Reading a kubeconfig for ``choreo run start --kubeconfig``: broken credentials are one clear error."""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
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


def _certificate(folder: Path) -> tuple[bytes, bytes]:
    """A self-signed certificate and its key (PEM), made with openssl for the test."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=choreo-test", "-days", "1",
         "-keyout", str(folder / "k.pem"), "-out", str(folder / "c.pem")],
        check=True, capture_output=True,
    )
    return (folder / "c.pem").read_bytes(), (folder / "k.pem").read_bytes()


def test_inline_client_keys_leave_no_file_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = _certificate(tmp_path)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    user = {"client-certificate-data": base64.b64encode(cert).decode(),
            "client-key-data": base64.b64encode(key).decode()}
    path = _kubeconfig(tmp_path / "kc", "https://127.0.0.1:1", user)
    config = json.loads(path.read_text())
    config["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(cert).decode()
    path.write_text(json.dumps(config))
    client = kube_client(str(path))
    assert client.ssl_context is not None
    assert client.ssl_context.cert_store_stats()["x509_ca"] == 1  # the inline authority, read from memory
    assert list(scratch.iterdir()) == []  # the key was written only while it was loaded
