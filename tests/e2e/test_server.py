"""``choreo server start`` as a real process: kubectl, restarts, tokens, run modes, dynamic mode, kubeconfig."""

from __future__ import annotations

import json
import os
import pty
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import choreo, store_is_intact
from tests.server.harness import Http, ServerProcess, commit_all, copy_example, greeting_repository, idle, wait_for

NS = "/apis/example.com/v1alpha1/namespaces/default"
DEBIAN_KUBECTL = Path(__file__).resolve().parents[2] / ".tools" / "kubernetes-client" / "usr" / "bin" / "kubectl"


def _kubectls() -> list[str]:
    """Debian's kubectl (package kubernetes-client, unpacked by ./dev) and the one on PATH, if different."""
    found = [str(DEBIAN_KUBECTL)] if DEBIAN_KUBECTL.exists() else []
    on_path = shutil.which("kubectl")
    if on_path and not any(Path(on_path).resolve() == Path(k).resolve() for k in found):
        found.append(on_path)
    return found


KUBECTLS = _kubectls()


def kubeconfig(path: Path, url: str, token: str | None = None) -> Path:
    user = {"token": token} if token else {}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "choreo", "cluster": {"server": url}}],
        "users": [{"name": "me", "user": user}],
        "contexts": [{"name": "choreo", "context": {"cluster": "choreo", "user": "me", "namespace": "default"}}],
        "current-context": "choreo",
    }
    path.write_text(json.dumps(config))
    return path


@pytest.fixture
def greeting_server(tmp_path: Path):
    project = copy_example("greeting", tmp_path)
    server = ServerProcess(str(project), "--address", "127.0.0.1:0")
    try:
        url = server.wait_ready()
        wait_for(lambda: idle(Http(url)), "the first reconciles")
        yield server, url, project
    finally:
        server.stop()


def _kubectl(
    kubectl: str, tmp_path: Path, config: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [kubectl, "--kubeconfig", str(config), "--cache-dir", str(tmp_path / "kcache"), *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
    )


def test_debian_kubectl_is_available() -> None:
    assert DEBIAN_KUBECTL.exists(), "./dev setup unpacks Debian's kubernetes-client into .tools/"


@pytest.mark.parametrize("kubectl_bin", KUBECTLS)
def test_kubectl_against_the_server(greeting_server, tmp_path: Path, kubectl_bin: str) -> None:
    _server, url, _project = greeting_server
    config = kubeconfig(tmp_path / "kubeconfig", url)

    def kubectl(*args: str, stdin: str | None = None) -> str:
        result = _kubectl(kubectl_bin, tmp_path, config, *args, stdin=stdin)
        assert result.returncode == 0, result.stderr
        return result.stdout

    resources = kubectl("api-resources")
    assert any(line.split()[:3] == ["greetings", "example.com/v1alpha1", "true"] for line in resources.splitlines())
    assert kubectl("get", "greetings").split()[::2][:3] == ["NAME", "alice", "bob"]
    alice = kubectl("get", "greeting", "alice", "-o", "yaml")
    assert "messageRef: alice-message" in alice and "name: Alice" in alice
    watch = subprocess.Popen(
        [
            kubectl_bin,
            "--kubeconfig",
            str(config),
            "--cache-dir",
            str(tmp_path / "kcache"),
            "get",
            "messages",
            "-w",
            "--request-timeout=8s",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    carol = "apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata:\n  name: carol\nspec:\n  name: Carol\n"
    assert "greeting.example.com/carol serverside-applied" in kubectl("apply", "--server-side", "-f", "-", stdin=carol)
    wait_for(lambda: "carol-message" in kubectl("get", "messages"), "the runner to create carol-message")
    assert 'greeting.example.com "carol" deleted' in kubectl("delete", "greeting", "carol")
    wait_for(lambda: "carol-message" not in kubectl("get", "messages"), "carol-message to be garbage collected")
    watched, _ = watch.communicate(timeout=30)
    assert [line.split()[0] for line in watched.splitlines()].count("carol-message") >= 2  # added, then deleted
    bad = "apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata:\n  name: dan\nspec:\n  name: Dan\n  shoe: 42\n"
    # validating, kubectl refuses the undeclared field: 1.20 itself (from /openapi/v2), later ones through the
    # server (fieldValidation=Strict); with --validate=false the server drops it, as kube-apiserver does
    # (1.20 sends no fieldValidation: Warn, and shows the server's warning; later ones send Ignore)
    strict = _kubectl(kubectl_bin, tmp_path, config, "apply", "--server-side", "-f", "-", stdin=bad)
    assert strict.returncode != 0 and "shoe" in strict.stderr
    result = _kubectl(kubectl_bin, tmp_path, config, "apply", "--server-side", "--validate=false", "-f", "-", stdin=bad)
    assert result.returncode == 0 and "greeting.example.com/dan serverside-applied" in result.stdout
    assert "shoe" not in kubectl("get", "greeting", "dan", "-o", "json")


def _state(url: str) -> dict[str, dict]:
    """Every greeting and message, minus what differs between runs (uids, times, versions)."""
    http = Http(url)
    out = {}
    for plural in ("greetings", "messages"):
        for obj in http.call("GET", f"{NS}/{plural}")[1]["items"]:
            status = {k: v for k, v in (obj.get("status") or {}).items() if k != "conditions"}
            out[f"{plural}/{obj['metadata']['name']}"] = {"spec": obj["spec"], "status": status}
    return out


def _many_greetings(project: Path, count: int) -> None:
    for i in range(count):
        (project / "in" / f"g{i:03}.yaml").write_text(
            f"apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata:\n  name: g{i:03}\n  namespace: default\n"
            f"spec:\n  name: Person {i}\n  language: nl\n"
        )


def _slow_down(project: Path) -> None:
    """Make every reconcile take a little while, so a signal sent early lands in the middle of the run."""
    code = project / "reconcilers" / "greeting" / "reconciler.star"
    busy = "def reconcile(self):\n    spin = 0\n    for i in range(60000):\n        spin += i\n"
    code.write_text(code.read_text().replace("def reconcile(self):\n", busy))


def _stored_messages(project: Path) -> int:
    result = choreo("get", "messages", "-C", str(project), "-o", "json")
    assert result.code == 0, result.err
    return len(json.loads(result.out)["items"])


def test_sigterm_mid_run_then_restart_gives_the_same_results(tmp_path: Path) -> None:
    project = copy_example("greeting", tmp_path / "served")
    _many_greetings(project, 150)
    _slow_down(project)
    reference = copy_example("greeting", tmp_path / "reference")
    _many_greetings(reference, 150)
    _slow_down(reference)

    first = ServerProcess(str(project), "--address", "127.0.0.1:0")
    http = Http(first.wait_ready())  # asked over HTTP, which answers at once, so the run is still going
    wait_for(lambda: http.call("GET", f"{NS}/messages")[1]["items"], "the first reconciles to be stored")
    assert first.terminate() == 0
    assert first.event("stopped") is not None
    assert store_is_intact(project)
    assert 0 < _stored_messages(project) < 152  # the signal really landed in the middle of the run

    second = ServerProcess(str(project), "--address", "127.0.0.1:0")
    url = second.wait_ready()
    try:
        wait_for(lambda: idle(Http(url)), "the restarted run to finish")
        served = _state(url)
    finally:
        assert second.terminate() == 0
    third = ServerProcess(str(reference), "--address", "127.0.0.1:0")
    ref_url = third.wait_ready()
    try:
        wait_for(lambda: idle(Http(ref_url)), "the uninterrupted run to finish")
        assert served == _state(ref_url)
        assert len(served) == 2 * 152
    finally:
        third.stop()


def test_sigterm_during_the_first_load_abandons_it_and_a_restart_loads_the_whole_folder(tmp_path: Path) -> None:
    """A SIGTERM while the server loads the folder it starts on does not wait for the rest of the load: the
    load's transaction is undone (nothing of it stored, nothing served, no run) and the next start loads it
    all."""
    project = copy_example("greeting", tmp_path)
    _many_greetings(project, 4000)  # a load of some length: the signal lands in it
    server = ServerProcess(str(project), "--address", "127.0.0.1:0", "--no-run")
    try:
        wait_for(lambda: (project / ".choreo" / "choreo.db").exists(), "the store to be opened for the load")
        assert server.terminate() == 0
    finally:
        server.stop()
    events = [line["event"] for line in server.lines]
    assert events == ["load-abandoned", "stopping", "stopped"], events
    assert store_is_intact(project)
    assert choreo("get", "greetings", "-C", str(project)).code == 1  # nothing of the load was kept

    again = ServerProcess(str(project), "--address", "127.0.0.1:0", "--no-run")
    try:
        http = Http(again.wait_ready())
        assert len(http.call("GET", f"{NS}/greetings")[1]["items"]) == 4002
    finally:
        assert again.terminate() == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_a_stop_signal_does_not_wait_for_a_reconcile_that_computes_until_its_time_limit(
    tmp_path: Path, signum: signal.Signals
) -> None:
    """A stopping server abandons the reconcile in flight (its worker is killed) instead of waiting up to the
    time limit for it; nothing of it is reported as a failure, and it runs again at the next start. A SIGHUP
    (the terminal of ``choreo server start`` closed) stops it the same way as SIGTERM and Ctrl-C."""
    project = copy_example("greeting", tmp_path)
    code = project / "reconcilers" / "greeting" / "reconciler.star"
    spin = "def reconcile(self):\n    n = 0\n    for i in range(100000):\n        for j in range(100000):\n"
    spin += "            n += 1\n"
    code.write_text(code.read_text().replace("def reconcile(self):\n", spin))
    server = ServerProcess(str(project), "--address", "127.0.0.1:0", "--time-limit", "600")
    try:
        http = Http(server.wait_ready())
        wait_for(lambda: http.call("GET", "/choreo/v1/status")[1].get("reconciles"), "a reconcile to begin")
        server.proc.send_signal(signum)
        assert server.proc.wait(timeout=20) == 0
    finally:
        server.stop()
    server._reader.join(timeout=5)
    assert server.event("reconcile-abandoned") is not None and server.event("stopped") is not None
    assert server.event("reconcile-error") is None
    assert store_is_intact(project)
    again = ServerProcess(str(project), "--address", "127.0.0.1:0", "--no-run")
    try:
        http = Http(again.wait_ready())
        for obj in http.call("GET", f"{NS}/greetings")[1]["items"]:
            assert not (obj.get("status") or {}).get("conditions"), obj  # no Ready=False, no ReconcileFailed
        assert http.call("GET", "/api/v1/namespaces/default/events")[1]["items"] == []
    finally:
        again.stop()


def test_closing_the_terminal_of_a_server_stops_it_as_sigterm_does(tmp_path: Path) -> None:
    """The terminal of ``choreo server start`` closed: the SIGHUP that comes with it stops the server through
    the same path as SIGTERM (exit 0, the store whole), although its log has nowhere to go any more."""
    project = copy_example("greeting", tmp_path)
    pid, fd = pty.fork()
    if pid == 0:  # the server, with the pty as its controlling terminal (its log in text, as a person sees it)
        os.execv(sys.executable, [sys.executable, "-m", "choreo.cli.main", "server", "start", str(project),
                                  "--address", "127.0.0.1:0"])
    shown = b""
    while b" ready " not in shown:
        chunk = os.read(fd, 65536)
        assert chunk, shown
        shown += chunk
    os.close(fd)  # the kernel sends SIGHUP to the server, the terminal's session leader
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, shown
    assert store_is_intact(project)
    assert choreo("get", "greetings", "-C", str(project)).code == 0


def test_a_server_whose_state_folder_is_deleted_stops_instead_of_writing_into_the_void(tmp_path: Path) -> None:
    """``rm -rf .choreo`` under a running server: it kept acknowledging writes into a store nobody can open
    again, and a second server could start on the folder. It stops now, saying why; a folder moved while
    served keeps its lock and its store, and goes on."""
    project = copy_example("greeting", tmp_path / "a")
    server = ServerProcess(str(project), "--address", "127.0.0.1:0")
    try:
        http = Http(server.wait_ready())
        moved = tmp_path / "b"
        project.rename(moved)
        time.sleep(1.5)  # three looks at the lock
        assert server.proc.poll() is None and http.call("GET", f"{NS}/greetings")[0] == 200
        shutil.rmtree(moved / ".choreo")
        assert server.proc.wait(timeout=20) == 1
    finally:
        server.stop()
    server._reader.join(timeout=5)
    lost = server.event("state-lost")
    assert lost is not None and "the state folder was deleted or replaced while serving" in lost["error"]
    assert "error: " in server.raw[-1] and "start it again" in server.raw[-1]


def test_kill_9_loses_nothing_acknowledged(greeting_server) -> None:
    server, url, project = greeting_server
    http = Http(url)
    acked = []
    for i in range(40):
        body = {
            "apiVersion": "example.com/v1alpha1",
            "kind": "Greeting",
            "metadata": {"name": f"k{i}", "namespace": "default"},
            "spec": {"name": f"K {i}"},
        }
        code, _ = http.call("POST", f"{NS}/greetings", body)
        assert code == 201
        acked.append(f"k{i}")
    server.kill()
    assert store_is_intact(project)
    again = ServerProcess(str(project), "--address", "127.0.0.1:0", "--no-run")
    try:
        names = {o["metadata"]["name"] for o in Http(again.wait_ready()).call("GET", f"{NS}/greetings")[1]["items"]}
        assert set(acked) <= names
    finally:
        again.stop()


def test_non_loopback_address_needs_a_token(tmp_path: Path) -> None:
    project = copy_example("hello-world", tmp_path)
    result = choreo("server", "start", str(project), "--address", "0.0.0.0:0")
    assert result.code == 1
    assert result.err.strip().splitlines()[-1] == (
        "error: --address 0.0.0.0:0: listening beyond loopback needs a bearer token (--token-file FILE or CHOREO_TOKEN)"
    )
    token_file = tmp_path / "token"
    token_file.write_text("t0ken\n")
    server = ServerProcess(str(project), "--address", "0.0.0.0:0", "--token-file", str(token_file))
    try:
        port = server.wait_ready().rsplit(":", 1)[1]
        url = f"http://127.0.0.1:{port}"
        code, status = Http(url).call("GET", f"{NS}/helloworlds")
        assert (code, status["reason"]) == (401, "Unauthorized")
        assert Http(url, "t0ken").call("GET", f"{NS}/helloworlds")[0] == 200
        get = choreo("server", "get", "--server", url)
        assert get.code == 1 and "bearer token" in get.err
        env_get = subprocess.run(
            [sys.executable, "-m", "choreo.cli.main", "server", "get", "--server", url],
            capture_output=True,
            text=True,
            env={**os.environ, "CHOREO_TOKEN": "t0ken"},
            timeout=60,
        )
        assert env_get.returncode == 0 and "status: Running" in env_get.stdout
    finally:
        server.stop()


def test_run_stop_start_against_the_server(greeting_server) -> None:
    _server, url, _project = greeting_server
    stopped = choreo("run", "stop", "--server", url)
    assert (stopped.code, stopped.out.splitlines()[1]) == (0, "status: Stopped")
    http = Http(url)
    body = {
        "apiVersion": "example.com/v1alpha1",
        "kind": "Greeting",
        "metadata": {"name": "late", "namespace": "default"},
        "spec": {"name": "Late"},
    }
    assert http.call("POST", f"{NS}/greetings", body)[0] == 201
    assert http.call("GET", f"{NS}/messages/late-message")[0] == 404  # nobody reconciles while stopped
    once = http.call("POST", "/choreo/v1/run/once", {})
    assert once[0] == 200 and once[1]["record"]["failure"] is None
    assert http.call("GET", f"{NS}/messages/late-message")[0] == 200
    started = choreo("run", "start", "--server", url)
    assert (started.code, started.out.splitlines()[1]) == (0, "status: Running")
    http.call("POST", f"{NS}/greetings", {**body, "metadata": {"name": "later", "namespace": "default"}})
    again = http.call("POST", "/choreo/v1/run/once", {})  # while Running: one whole pass, then Running again
    assert again[0] == 200 and again[1]["record"]["failure"] is None
    # "later" was reconciled: by the runner before the pass (which then reuses it) or by the pass itself
    assert http.call("GET", f"{NS}/messages/later-message")[0] == 200
    assert http.call("GET", "/choreo/v1/status")[1]["status"] == "Running"


def test_dynamic_mode_apply_switch_and_rollback(tmp_path: Path) -> None:
    repo = greeting_repository(tmp_path)
    (repo / "proj" / "in" / "carol.yaml").write_text(
        "apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata:\n  name: carol\n  namespace: default\n"
        "spec:\n  name: Carol\n"
    )
    commit_all(repo, "v2")

    workspace = tmp_path / "ws"
    server = ServerProcess("--address", "127.0.0.1:0", "--workspace", str(workspace))
    try:
        url = server.wait_ready()
        http = Http(url)
        assert http.call("GET", "/readyz")[0] == 503
        empty = choreo("server", "get", "--server", url)
        assert empty.out.splitlines() == ["choreoctx: ", "status: Stopped", "reason: no project applied"]
        applied = choreo("server", "apply", str(repo), "proj", "v2", "--server", url)
        assert applied.code == 0, applied.err
        assert applied.out.splitlines()[:2] == [f"choreoctx: {repo} proj v2", "status: Running"]
        wait_for(lambda: http.call("GET", f"{NS}/messages/carol-message")[0] == 200, "carol-message at v2")
        rollback = choreo("server", "apply", str(repo), "proj", "v1", "--server", url)
        assert rollback.code == 0, rollback.err
        wait_for(lambda: http.call("GET", f"{NS}/greetings/carol")[0] == 404, "carol to go at v1")
        wait_for(lambda: http.call("GET", f"{NS}/messages/carol-message")[0] == 404, "carol-message to go at v1")
        bad = choreo("server", "apply", str(repo), "proj", "v9", "--server", url)
        assert (bad.code, bad.err.strip()) == (1, f"error: v9: no such commit, tag or branch in {repo}")
        dev = choreo("server", "apply", str(repo), "proj", "v2", "feature", "--server", url)
        assert dev.out.splitlines()[:2] == [f"choreoctx: {repo} proj v2 (branch feature)", "status: Stopped"]
        branch = subprocess.run(
            ["git", "-C", str(workspace / str(repo).strip("/").replace("/", "-")), "branch", "--show-current"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert branch.stdout.strip() == "feature"
        assert server.terminate() == 0
    finally:
        server.stop()
    restarted = ServerProcess("--address", "127.0.0.1:0", "--workspace", str(workspace))
    try:
        url = restarted.wait_ready()
        assert (
            choreo("server", "get", "--server", url).out.splitlines()[0]
            == f"choreoctx: {repo} proj v2 (branch feature)"
        )
        assert Http(url).call("GET", f"{NS}/greetings/carol")[0] == 200
    finally:
        restarted.stop()


def test_run_start_with_kubeconfig_reconciles_on_another_api_server(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    server = ServerProcess(str(empty), "--address", "127.0.0.1:0", "--token-file", str(_token(tmp_path)))
    project = copy_example("greeting", tmp_path)
    runner = None
    try:
        url = server.wait_ready()
        config = kubeconfig(tmp_path / "kubeconfig", url, token="abc")
        runner = subprocess.Popen(
            [sys.executable, "-m", "choreo.cli.main", "run", "start", "--kubeconfig", str(config), str(project)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        http = Http(url, "abc")
        wait_for(lambda: http.call("GET", f"{NS}/messages/bob-message")[0] == 200, "the remote runner to reconcile")
        _, alice = http.call("GET", f"{NS}/greetings/alice")
        assert alice["status"]["messageRef"] == "alice-message"
        assert {c["type"]: c["status"] for c in alice["status"]["conditions"]} == {"Ready": "True"}
        _, message = http.call("GET", f"{NS}/messages/alice-message")
        assert message["spec"]["text"] == "Bonjour, Alice!"
        runner.terminate()
        assert runner.wait(timeout=30) == 0
    finally:
        if runner is not None and runner.poll() is None:
            runner.kill()
        server.stop()


def _token(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text("abc\n")
    return path


def test_a_folder_is_served_by_one_server_at_a_time(tmp_path: Path) -> None:
    """A second server on a served folder stops at once, naming the first, and so does a local run; once the
    first has ended (even killed), the folder can be served again."""
    project = copy_example("greeting", tmp_path)
    first = ServerProcess(str(project), "--address", "127.0.0.1:0")
    try:
        url = first.wait_ready()
        second = choreo("server", "start", str(project), "--address", "127.0.0.1:0")
        assert second.code == 1
        last = second.err.strip().splitlines()[-1]
        assert last.startswith(f"error: {project}: already served by another choreo server (process {first.proc.pid}, ")
        assert f"listening on {url.removeprefix('http://')} since " in last and last.endswith("; stop it first")
        assert Http(url).call("GET", "/apis/example.com/v1alpha1/namespaces/default/greetings")[0] == 200
        batch = choreo("run", str(project))  # would hold the store's write lock under the server
        assert batch.code == 1
        assert batch.err.strip().splitlines()[-1].endswith(
            f"run it there: `choreo run --server {url}`, or stop the server"
        )
        assert choreo("run", "--server", url).code == 0  # as the message says
        first.kill()  # SIGKILL: no clean-up ran, the kernel dropped the lock
        again = ServerProcess(str(project), "--address", "127.0.0.1:0")
        try:
            again.wait_ready()
        finally:
            again.stop()
    finally:
        first.stop()


def test_a_dynamic_workspace_is_served_by_one_server_at_a_time(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    first = ServerProcess("--workspace", str(workspace), "--address", "127.0.0.1:0")
    try:
        first.wait_ready()
        second = choreo("server", "start", "--workspace", str(workspace), "--address", "127.0.0.1:0")
        assert second.code == 1
        assert second.err.strip().splitlines()[-1].startswith(
            f"error: {workspace}: already served by another choreo server (process {first.proc.pid}, "
        )
    finally:
        first.stop()


def test_a_busy_port_is_reported_before_the_project_is_loaded(tmp_path: Path) -> None:
    """The address is taken first: a busy port is the error even when loading would fail (or take long)."""
    import socket

    project = copy_example("greeting", tmp_path)
    (project / "in" / "broken.yaml").write_text("apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata: [\n")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = choreo("server", "start", str(project), "--address", f"127.0.0.1:{port}")
    assert result.code == 1
    assert result.err.strip().splitlines()[-1] == f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    assert not (project / ".choreo").exists()  # nothing was loaded
