"""Malformed and oversized HTTP requests: a real ``choreo server start`` answers each with a 4xx Kubernetes
Status, logs no traceback, and keeps serving.

Requests go over raw sockets so that the framing itself can be broken (Content-Length, chunked
encoding); each test reads the answer with ``http.client`` and, after it, the server's log (its stderr,
collected by ``ServerProcess``) must hold no traceback and no internal error.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from choreo.server.http import decode_body
from choreo.server.protocol import DEFAULT_MAX_BODY_BYTES
from tests.server.harness import Http, ServerProcess, copy_example, served, wait_for

GV = "/apis/example.com/v1alpha1"
GREETINGS = f"{GV}/namespaces/default/greetings"
MAX_WATCHES = 2
MIB = 1024 * 1024


@dataclass
class Server:
    """``choreo server start`` on a copy of the greeting example, with its log."""

    process: ServerProcess
    url: str

    @property
    def address(self) -> tuple[str, int]:
        parsed = urllib.parse.urlsplit(self.url)
        return str(parsed.hostname), int(parsed.port or 0)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    project = copy_example("greeting", tmp_path_factory.mktemp("http-requests"))
    process = ServerProcess(str(project), "--no-run", "--address", "127.0.0.1:0", "--max-watches", str(MAX_WATCHES))
    try:
        yield Server(process, process.wait_ready())
    finally:
        process.stop()


@pytest.fixture(autouse=True)
def no_traceback_logged(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test using the shared server, its log must show no traceback and no internal error."""
    if "server" not in request.fixturenames:
        yield
        return
    raw = request.getfixturevalue("server").process.raw
    first = len(raw)
    yield
    time.sleep(0.2)  # let the log reader catch up
    logged = "".join(raw[first:])
    assert "Traceback" not in logged
    assert '"internal-error"' not in logged


@pytest.fixture
def address(server: Server) -> tuple[str, int]:
    return server.address


@pytest.fixture
def api(server: Server) -> Http:
    return Http(server.url)


# ----------------------------------------------------------------------------------------------- helpers


class Answer:
    """A response read off a raw socket: status code, headers and the decoded body."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.code = response.status
        self.headers = response.headers
        data = response.read()
        self.body: Any = json.loads(data) if data.startswith(b"{") else data.decode()


def head(method: str, path: str, **headers: str) -> bytes:
    """A request line and headers, ready for a body (or none)."""
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: choreo",
        *(f"{name.replace('_', '-')}: {v}" for name, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def send(address: tuple[str, int], data: bytes) -> Answer:
    """Send ``data`` as it is and read the one answer (the server may answer before ``data`` is complete)."""
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return Answer(response)


def post(address: tuple[str, int], body: bytes, content_type: str = "application/json") -> Answer:
    return send(address, head("POST", GREETINGS, Content_Type=content_type, Content_Length=str(len(body))) + body)


def apply_patch(address: tuple[str, int], body: bytes) -> Answer:
    path = f"{GREETINGS}/alice?fieldManager=test"
    headers = {"Content_Type": "application/apply-patch+yaml", "Content_Length": str(len(body))}
    return send(address, head("PATCH", path, **headers) + body)


def assert_status(answer: Answer, code: int, reason: str, fragment: str) -> None:
    """A Kubernetes Status of ``code``/``reason`` whose message contains ``fragment``."""
    body = answer.body
    assert answer.code == code, body
    assert isinstance(body, dict), body
    assert (body["kind"], body["apiVersion"], body["status"]) == ("Status", "v1", "Failure")
    assert (body["code"], body["reason"]) == (code, reason)
    assert fragment in body["message"], body["message"]


def greeting(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1alpha1", "kind": "Greeting", "metadata": {"name": "x"}, "spec": spec}


def nested_json(levels: int) -> bytes:
    return ('{"a":' * levels + "1" + "}" * levels).encode()


# ----------------------------------------------------------------------------------------------- nesting


def test_deeply_nested_json_body(address: tuple[str, int]) -> None:
    answer = post(address, b"[" * 100_000 + b"]" * 100_000)
    assert_status(answer, 400, "BadRequest", "nests deeper than the limit of 100 levels (--max-body-depth)")


def test_json_nesting_limit_is_exact(address: tuple[str, int]) -> None:
    assert_status(post(address, nested_json(101)), 400, "BadRequest", "limit of 100 levels")
    assert_status(post(address, nested_json(100)), 400, "BadRequest", "no apiVersion or kind")  # past the limit check


@pytest.mark.parametrize(
    "document",
    [
        "spec: " + "[" * 100_000 + "]" * 100_000,  # flow style
        "".join(f"{'  ' * level}k:\n" for level in range(150)),  # block style
    ],
    ids=["flow", "block"],
)
def test_deeply_nested_yaml_body(address: tuple[str, int], document: str) -> None:
    answer = apply_patch(address, document.encode())
    assert_status(answer, 400, "BadRequest", "nests deeper than the limit of 100 levels")


def test_yaml_alias_bomb(address: tuple[str, int]) -> None:
    """A few hundred bytes of anchors and aliases would expand into a billion nodes."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    assert_status(apply_patch(address, "\n".join(lines).encode()), 400, "BadRequest", "YAML alias")


# ----------------------------------------------------------------------------------------------- framing


@pytest.mark.parametrize("length", ["abc", "-5", "0x10", "1e3", "12 34"])
def test_content_length_not_a_number(address: tuple[str, int], length: str) -> None:
    answer = send(address, head("POST", GREETINGS, Content_Type="application/json", Content_Length=length) + b"{}")
    assert_status(answer, 400, "BadRequest", "is not a number of bytes")


def test_conflicting_content_lengths(address: tuple[str, int]) -> None:
    request = f"POST {GREETINGS} HTTP/1.1\r\nHost: c\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{{}}"
    assert_status(send(address, request.encode()), 400, "BadRequest", "conflicting Content-Length")


@pytest.mark.parametrize(
    ("chunks", "fragment"),
    [
        (b"zz\r\n{}\r\n0\r\n\r\n", "invalid chunk size 'zz'"),
        (b"-2\r\n{}\r\n0\r\n\r\n", "invalid chunk size '-2'"),
        (b"2\r\n{}XX0\r\n\r\n", "a chunk is not followed by CRLF"),
        (b"2" * 5000 + b"\r\n", "the chunk size line is too long"),
        (b"2\r\n{}\r\n0\r\n" + b"X-Trailer: y\r\n" * 200 + b"\r\n", "bad trailer section"),
    ],
    ids=["not-hex", "negative", "no-crlf", "long-size-line", "trailer-flood"],
)
def test_bad_chunked_encoding(address: tuple[str, int], chunks: bytes, fragment: str) -> None:
    request = head("POST", GREETINGS, Content_Type="application/json", Transfer_Encoding="chunked") + chunks
    assert_status(send(address, request), 400, "BadRequest", f"bad chunked encoding: {fragment}")


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({"Transfer_Encoding": "gzip"}, "only chunked is accepted"),
        ({"Transfer_Encoding": "gzip, chunked"}, "only chunked is accepted"),
        ({"Transfer_Encoding": "chunked", "Content_Length": "2"}, "both Transfer-Encoding and Content-Length"),
    ],
)
def test_ambiguous_or_unknown_framing(address: tuple[str, int], headers: dict[str, str], fragment: str) -> None:
    answer = send(
        address, head("POST", GREETINGS, Content_Type="application/json", **headers) + b"2\r\n{}\r\n0\r\n\r\n"
    )
    assert_status(answer, 400, "BadRequest", fragment)


def test_chunked_body_is_still_accepted(address: tuple[str, int]) -> None:
    body = json.dumps(greeting(name="Chunky")).encode()
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:])) + b"0\r\n\r\n"
    answer = send(
        address, head("POST", GREETINGS, Content_Type="application/json", Transfer_Encoding="chunked") + chunked
    )
    assert (answer.code, answer.body["spec"]["name"]) == (201, "Chunky")
    assert send(address, head("DELETE", f"{GREETINGS}/x")).code == 200


# ----------------------------------------------------------------------------------------------- media types


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/vnd.kubernetes.protobuf"]
)
def test_unsupported_media_type(address: tuple[str, int], content_type: str) -> None:
    body = b"apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata: {name: x}\nspec: {name: X}\n"
    answer = post(address, body, content_type)
    assert_status(answer, 415, "UnsupportedMediaType", f"unknown format {content_type!r}")


def test_yaml_body_keeps_json_types(address: tuple[str, int]) -> None:
    """Timestamps stay strings (as in kube-apiserver); YAML-only types and non-string keys are refused."""
    document = "apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata: {name: x}\nspec:\n  name: 2024-01-01\n"
    answer = post(address, document.encode(), "application/yaml")
    assert (answer.code, answer.body["spec"]["name"]) == (201, "2024-01-01")
    assert send(address, head("DELETE", f"{GREETINGS}/x")).code == 200
    assert_status(apply_patch(address, b"spec: !!binary aGVsbG8=\n"), 400, "BadRequest", "not valid YAML")
    assert_status(apply_patch(address, b"spec: {1: a}\n"), 400, "BadRequest", "key that is not a string")


def test_integer_beyond_64_bits(address: tuple[str, int]) -> None:
    answer = post(address, json.dumps(greeting(name="x", size=2**64)).encode())
    assert_status(answer, 400, "BadRequest", "integer beyond 64 bits")


def test_lone_surrogate_escapes_become_the_replacement_character(address: tuple[str, int]) -> None:
    """Half a UTF-16 pair is stored as U+FFFD, as kube-apiserver's JSON decoder does; a whole pair is kept. Its
    YAML decoder refuses every such escape."""
    body = b'{"apiVersion":"example.com/v1alpha1","kind":"Greeting","metadata":{"name":"x",' \
           b'"annotations":{"a":"\\udfff"}},"spec":{"name":"\\ud800\\ud83d\\ude00"}}'
    assert_status(post(address, body, "application/yaml"), 400, "BadRequest", "invalid Unicode character escape")
    answer = post(address, body)
    assert answer.code == 201, answer.body
    assert answer.body["spec"]["name"] == "\ufffd\U0001f600"
    assert answer.body["metadata"]["annotations"] == {"a": "\ufffd"}
    assert send(address, head("DELETE", f"{GREETINGS}/x")).code == 200
    assert decode_body(b'{"k\\udc00": ["\\ud800"]}', "application/json", 5) == {"k\ufffd": ["\ufffd"]}


# ----------------------------------------------------------------------------------------------- selectors


@pytest.mark.parametrize(
    ("selector", "fragment"),
    [
        ("spec.nope=x", "field label not supported: spec.nope"),
        ("metadata.labels=x", "field label not supported: metadata.labels"),
        ("spec=x", "field label not supported: spec"),
        ("foo((!=x", "field label not supported: foo(("),
        ("metadata.name", "expected field=value"),
        ("=alice", "expected field=value"),
        ("metadata.name=a=b", "unescaped character '='"),
        ("metadata.name=a\\x", "invalid escape sequence"),
    ],
)
def test_bad_field_selector(api: Http, selector: str, fragment: str) -> None:
    code, status = api.call("GET", f"{GREETINGS}?fieldSelector={urllib.parse.quote(selector)}")
    assert (code, status["kind"], status["reason"], status["code"]) == (400, "Status", "BadRequest", 400)
    assert fragment in status["message"]


@pytest.mark.parametrize(
    ("selector", "names"),
    [
        ("metadata.name=alice", ["alice"]),
        ("metadata.name==alice,metadata.namespace=default", ["alice"]),
        ("metadata.name!=alice", ["bob"]),
        ("spec.name=Bob", ["bob"]),  # choreo: scalar fields the kind's schema declares
        ("metadata.name=a\\,b", []),
    ],
)
def test_good_field_selector(api: Http, selector: str, names: list[str]) -> None:
    code, listing = api.call("GET", f"{GREETINGS}?fieldSelector={urllib.parse.quote(selector)}")
    assert (code, [item["metadata"]["name"] for item in listing["items"]]) == (200, names)


# ----------------------------------------------------------------------------------------------- body size


def test_body_over_the_limit_by_content_length(address: tuple[str, int]) -> None:
    """A 50 MB upload is refused on its Content-Length: the server answers before the body is sent."""
    request = head("POST", GREETINGS, Content_Type="application/json", Content_Length=str(50 * 1000 * 1000))
    answer = send(address, request + b"[" * 1024)
    assert_status(answer, 413, "RequestEntityTooLarge", f"limit of {DEFAULT_MAX_BODY_BYTES} bytes (--max-body-bytes)")


def test_body_over_the_limit_with_expect_continue(address: tuple[str, int]) -> None:
    request = head(
        "POST", GREETINGS, Content_Type="application/json", Content_Length=str(4 * MIB), Expect="100-continue"
    )
    assert_status(send(address, request), 413, "RequestEntityTooLarge", "--max-body-bytes")


@pytest.mark.parametrize(
    "chunks",
    [b"%x\r\n" % (4 * MIB), b"".join(b"%x\r\n%s\r\n" % (MIB, b" " * MIB) for _ in range(3)) + b"%x\r\n" % MIB],
    ids=["one-huge-chunk", "many-chunks"],
)
def test_body_over_the_limit_chunked(address: tuple[str, int], chunks: bytes) -> None:
    """Chunks are refused on their declared sizes, before the chunk that crosses the limit is read."""
    request = head("POST", GREETINGS, Content_Type="application/json", Transfer_Encoding="chunked")
    assert_status(send(address, request + chunks), 413, "RequestEntityTooLarge", "--max-body-bytes")


def test_body_at_the_limit_is_read(address: tuple[str, int]) -> None:
    padded = b"[]" + b" " * (DEFAULT_MAX_BODY_BYTES - 2)
    assert_status(post(address, padded), 400, "BadRequest", "must be an object")  # read and decoded whole


def _greeting(name: str, size: int) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1alpha1",
        "kind": "Greeting",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"name": "x" * size},
    }


def test_an_object_over_1_5_mib_is_refused_by_every_kind_of_write(api: Http) -> None:
    """etcd stores no object over 1.5 MiB for kube-apiserver (413), and a reconcile may write none: a body
    under the 3 MiB body limit may still make one, by a create, a replace, a patch or an apply."""
    big = int(1.6 * MIB)
    code, status = api.call("POST", GREETINGS, _greeting("too-big", big))
    assert (code, status["reason"]) == (413, "RequestEntityTooLarge")
    assert 'Greeting.example.com "default/too-big" would be 1.6 MiB as JSON' in status["message"]
    assert "1.5 MiB" in status["message"]
    assert api.call("GET", f"{GREETINGS}/too-big")[0] == 404

    code, stored = api.call("POST", GREETINGS, _greeting("grows", int(1.4 * MIB)))  # under the limit: stored
    assert code == 201
    version = stored["metadata"]["resourceVersion"]
    replaced = {**stored, "spec": {"name": "y" * big}}
    assert api.call("PUT", f"{GREETINGS}/grows", replaced)[0] == 413
    merge = json.dumps({"spec": {"name": "z" * big}}).encode()
    assert api.call("PATCH", f"{GREETINGS}/grows", raw=merge, content_type="application/merge-patch+json")[0] == 413
    applied = json.dumps(_greeting("grows", big)).encode()
    apply_path = f"{GREETINGS}/grows?fieldManager=test&force=true"
    assert api.call("PATCH", apply_path, raw=applied, content_type="application/apply-patch+yaml")[0] == 413
    assert api.call("POST", f"{GREETINGS}?dryRun=All", _greeting("dry", big))[0] == 413
    code, kept = api.call("GET", f"{GREETINGS}/grows")
    assert (code, kept["metadata"]["resourceVersion"]) == (200, version)  # every refused write undone
    assert api.call("DELETE", f"{GREETINGS}/grows")[0] == 200


def test_health_answers_during_a_slow_upload(address: tuple[str, int], api: Http) -> None:
    """One connection per thread: a client trickling its body holds up nobody else."""
    with socket.create_connection(address, timeout=30) as slow:
        slow.sendall(head("POST", GREETINGS, Content_Type="application/json", Content_Length=str(2 * MIB)) + b"[1,")
        for path in ("/healthz", "/livez", "/readyz"):
            assert api.call("GET", path) == (200, "ok")


# ----------------------------------------------------------------------------------------------- watches


@contextlib.contextmanager
def watching(address: tuple[str, int]) -> Iterator[int]:
    """A watch held open for the duration of the block; yields its status code."""
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(head("GET", f"{GREETINGS}?watch=1&timeoutSeconds=60"))
        response = http.client.HTTPResponse(sock)
        response.begin()
        try:
            yield response.status
        finally:
            response.close()  # the socket only closes once its reader is closed too


def test_watch_limit_and_health_under_watch_load(address: tuple[str, int], api: Http) -> None:
    with contextlib.ExitStack() as stack:
        assert [stack.enter_context(watching(address)) for _ in range(MAX_WATCHES)] == [200] * MAX_WATCHES
        refused = send(address, head("GET", f"{GREETINGS}?watch=1&timeoutSeconds=60"))
        assert_status(refused, 429, "TooManyRequests", f"at most {MAX_WATCHES} at once (--max-watches)")
        assert refused.headers["Retry-After"] == "1"
        assert refused.body["details"] == {"retryAfterSeconds": 1}
        for path in ("/healthz", "/livez", "/readyz"):
            assert api.call("GET", path) == (200, "ok")
        assert api.call("GET", GREETINGS)[0] == 200  # reads are not watches

    def watch_again() -> bool:  # closed watches give their slots back
        with watching(address) as status:
            return status == 200

    wait_for(watch_again, "a watch slot to be released", timeout=10)


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("watch=1&resourceVersion=-5", "not a valid resource version"),
        ("watch=1&resourceVersion=99999999999999999999999", "not a valid resource version"),
        ("watch=1&timeoutSeconds=nan", "not a number of seconds"),
        ("watch=1&timeoutSeconds=-1", "not a number of seconds"),
    ],
)
def test_bad_watch_parameters(api: Http, query: str, fragment: str) -> None:
    code, status = api.call("GET", f"{GREETINGS}?{query}")
    assert (code, status["reason"]) == (400, "BadRequest")
    assert fragment in status["message"]


# ----------------------------------------------------------------------------------------------- other mistakes


def test_delete_preconditions_must_be_well_formed(address: tuple[str, int]) -> None:
    for options, fragment in (
        ({"preconditions": "x"}, "must be an object"),
        ({"preconditions": {"resourceVersion": {}}}, "must be a string"),
    ):
        body = json.dumps(options).encode()
        request = head("DELETE", f"{GREETINGS}/alice", Content_Type="application/json", Content_Length=str(len(body)))
        assert_status(send(address, request + body), 400, "BadRequest", fragment)
    assert send(address, head("GET", f"{GREETINGS}/alice")).code == 200  # not deleted


@pytest.mark.parametrize(
    ("request_bytes", "code", "reason"),
    [
        (head("OPTIONS", "/healthz"), 405, "MethodNotAllowed"),
        (head("BREW", "/healthz"), 405, "MethodNotAllowed"),
        (head("GET", "/" + "a" * 70_000), 414, "BadRequest"),
        (head("GET", "/healthz", **{f"X_{i}": "y" for i in range(150)}), 431, "BadRequest"),
        (head("GET", "/healthz", X_Big="y" * 70_000), 431, "BadRequest"),
        (b"GARBAGE\r\n\r\n", 400, "BadRequest"),
        (head("GET", "http://[::1/healthz"), 400, "BadRequest"),
    ],
    ids=["options", "unknown-method", "long-url", "many-headers", "long-header", "garbage", "bad-absolute-url"],
)
def test_malformed_request_line_or_headers(
    address: tuple[str, int], request_bytes: bytes, code: int, reason: str
) -> None:
    answer = send(address, request_bytes)
    assert (answer.code, answer.body["kind"], answer.body["code"], answer.body["reason"]) == (
        code,
        "Status",
        code,
        reason,
    )


# ----------------------------------------------------------------------------------------------- server apply


def _repository(path: Path) -> Path:
    """A git repository with a project whose reconciler does not parse (in ``broken``)."""
    git = ["git", "-C", str(path), "-c", "user.email=t@t", "-c", "user.name=t"]
    path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    copy_example("greeting", path).rename(path / "broken")
    (path / "broken" / "reconcilers" / "greeting" / "reconciler.star").write_text("def reconcile(self:\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    return path


@pytest.mark.parametrize(
    ("context", "code", "reason", "fragment"),
    [
        ({"url": "/nonexistent/repo.git", "ref": "main"}, 400, "BadRequest", "git clone failed"),
        ({"url": "{repo}", "ref": "nope"}, 400, "BadRequest", "no such commit"),
        ({"url": "{repo}", "ref": "main", "path": "missing"}, 400, "BadRequest", "no such folder"),
        ({"url": "{repo}", "ref": "main", "path": "broken"}, 422, "Invalid", "reconciler.star"),
        ({"url": "{repo}"}, 400, "BadRequest", "needs url, path and ref"),
    ],
)
def test_server_apply_failures_are_client_errors(
    tmp_path: Path, context: dict[str, str], code: int, reason: str, fragment: str
) -> None:
    repo = _repository(tmp_path / "repo")
    body = {key: value.format(repo=repo) for key, value in context.items()}
    log = tmp_path / "server.log"
    with served(None, workspace=tmp_path / "workspace", log_path=log) as (_app, url):
        got, status = Http(url).call("POST", "/choreo/v1/context", body)
        assert (got, status["kind"], status["reason"], status["code"]) == (code, "Status", reason, code)
        assert fragment in status["message"]
        assert Http(url).call("GET", "/healthz") == (200, "ok")
    assert "Traceback" not in log.read_text()
