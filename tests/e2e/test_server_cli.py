"""The local commands against a real ``choreo server start DIR``: ``get``, ``api-resources``, ``apply``,
``delete``, ``run once|result|list|diff|deps|start|stop``, addressed by ``--server``, ``$CHOREO_SERVER`` or the
config file, print what they print locally; an unreachable server, a bad token or a local-only option is one
clear error line.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import CAROL, Result, choreo
from tests.server.harness import Http, ServerProcess, copy_example, idle, wait_for

READS = [
    ("get", "greetings", "-o", "name"),
    ("get", "greetings,messages", "-A", "-o", "custom-columns=NAME:.metadata.name,NAMESPACE:.metadata.namespace"),
    ("get", "greeting", "alice", "-o", "yaml"),
    ("get", "messages", "-o", "json", "--show-managed-fields"),
    ("get", "greetings", "-n", "default", "-o", "yaml"),
    ("run", "result"),
    ("run", "result", "-o", "raw"),
    ("run", "list"),
    ("run", "diff"),
    ("run", "diff", "-a"),
    ("run", "deps"),
    ("run", "deps", "-o", "dot", "-i"),
]


def write_config(home: Path, **entries: str) -> Path:
    path = home / ".config" / "choreo" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(entries))
    return path


def ok(result: Result) -> str:
    assert result.code == 0, result.err
    return result.out


def same_as_locally(result: Result) -> tuple[int, str]:
    """What a read shows: its exit status (``run diff`` exits 1 when there are differences) and output."""
    assert result.code in (0, 1) and not result.err, result.err
    return result.code, result.out


def one_error_line(result: Result, code: int = 1) -> str:
    """The single ``error: ...`` line of a failed command (``run diff``'s errors exit 2)."""
    assert result.code == code, result.out
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    return lines[0]


def local(project: Path, *args: str) -> Result:
    """``args`` run on the project folder (``-C`` where the command has it, else the folder argument)."""
    if args[0] in ("get", "api-resources", "apply", "delete"):
        return choreo(*args, "-C", str(project))
    return choreo(*args[:2], str(project), *args[2:])


def two_runs(tmp_path: Path) -> tuple[Path, list[str]]:
    """greeting run twice locally, alice's language changed in between; the run ids, newest first."""
    project = copy_example("greeting", tmp_path)
    ok(choreo("run", str(project)))
    source = project / "in" / "example.com.greeting.alice.yaml"
    source.write_text(source.read_text().replace("language: fr", "language: de"))
    ok(choreo("run", str(project)))
    return project, [line.split()[0] for line in ok(choreo("run", "list", str(project))).splitlines()]


@pytest.fixture
def stopped_server(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """A server on greeting after two local runs, loaded but not reconciling (``--no-run``)."""
    project, runs = two_runs(tmp_path)
    server = ServerProcess(str(project), "--address", "127.0.0.1:0", "--no-run")
    try:
        yield server.wait_ready(), project, runs
    finally:
        server.stop()


@pytest.fixture
def running_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    project = copy_example("greeting", tmp_path)
    server = ServerProcess(str(project), "--address", "127.0.0.1:0")
    try:
        url = server.wait_ready()
        wait_for(lambda: idle(Http(url)), "the first reconciles")
        yield url, project
    finally:
        server.stop()


# ------------------------------------------------------------------------------------------ reads


@pytest.mark.parametrize("addressed_by", ["flag", "env", "config"])
def test_reads_print_what_they_print_locally(
    stopped_server, no_addressed_server: Path, monkeypatch, addressed_by: str
) -> None:
    url, project, runs = stopped_server
    reads = [*READS, ("run", "diff", runs[1], runs[0]), ("run", "deps", "--run", runs[1])]
    expected = [same_as_locally(local(project, *args)) for args in reads]
    extra: tuple[str, ...] = ()
    if addressed_by == "flag":
        extra = ("--server", url)
    elif addressed_by == "env":
        monkeypatch.setenv("CHOREO_SERVER", url)
    else:
        write_config(no_addressed_server, server=url)
    for args, want in zip(reads, expected, strict=True):
        assert same_as_locally(choreo(*args, *extra)) == want, args
    assert "~ example.com/v1alpha1, Kind=Greeting alice" in choreo("run", "diff", *extra).out.splitlines()
    assert ok(choreo("run", "list", *extra)).split()[::3] == runs


def test_config_file_under_xdg_config_home_and_token_file(tmp_path: Path, monkeypatch) -> None:
    project, _runs = two_runs(tmp_path)
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    server = ServerProcess(str(project), "--address", "127.0.0.1:0", "--no-run", "--token-file", str(token))
    try:
        url = server.wait_ready()
        greetings, deps, runs = (ok(local(project, *args)) for args in (READS[0], ("run", "deps"), ("run", "list")))
        xdg = tmp_path / "xdg"
        monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
        (xdg / "choreo").mkdir(parents=True)
        (xdg / "choreo" / "config.yaml").write_text(yaml.safe_dump({"server": url, "tokenFile": str(token)}))
        assert ok(choreo(*READS[0])) == greetings
        assert ok(choreo("run", "deps")) == deps
        (xdg / "choreo" / "config.yaml").write_text(yaml.safe_dump({"server": url, "token": "wrong"}))
        assert "bearer token" in one_error_line(choreo("get", "greetings"))
        (xdg / "choreo" / "config.yaml").write_text(yaml.safe_dump({"server": url}))
        assert "bearer token" in one_error_line(choreo("run", "list"))
        monkeypatch.setenv("CHOREO_TOKEN", "s3cret")
        assert ok(choreo("run", "list")) == runs
    finally:
        server.stop()


def test_get_errors_are_the_local_ones(stopped_server) -> None:
    url, project, _runs = stopped_server
    for args in (("get", "greeting", "nobody"), ("get", "greeting", "nobody", "-n", "other"), ("get", "nokind")):
        remote, here = choreo(*args, "--server", url), local(project, *args)
        assert (remote.code, remote.out, remote.err) == (here.code, here.out, here.err), args
        assert remote.code == 1 and len(remote.err.splitlines()) == 1, args


# ------------------------------------------------------------------------------------------ run


def test_run_once_then_result_and_history_on_the_server(stopped_server, no_addressed_server: Path) -> None:
    url, project, runs = stopped_server
    write_config(no_addressed_server, server=url)
    source = project / "in" / "example.com.greeting.alice.yaml"
    source.write_text(source.read_text().replace("language: de", "language: nl"))
    ok(choreo("run", "load"))
    once = ok(choreo("run", "once"))  # alice changed since the local runs; bob's reconcile is theirs, reused
    lines = once.splitlines()
    assert lines[0] == "Run greeting summary" and lines[1].startswith("execution success, time(msec) ")
    assert lines[2:] == ["Reconciler Start Stop Requeue Error", "greeting   1     1    0       0",
                         "reused 1 reconciles whose inputs were unchanged"]
    assert ok(choreo("run", "result", "-o", "resource")).splitlines()[2:] == [
        "Reconciler Resource                           Start Stop Requeue Error",
        "greeting   example.com.Greeting.default.alice 1     1    0       0",
        "reused 1 reconciles whose inputs were unchanged",
    ]
    again = ok(choreo("run")).splitlines()  # `run` alone is `run once`: nothing changed, both are reused
    assert again[2:] == ["Reconciler Start Stop Requeue Error", "reused 2 reconciles whose inputs were unchanged"]
    listed = ok(choreo("run", "list")).split()[::3]
    assert listed[2:] == runs and len(listed) == 4


def test_run_once_output_equals_the_recorded_result(stopped_server) -> None:
    url, _project, _runs = stopped_server
    once = ok(choreo("run", "once", "-o", "raw", "--server", url))
    assert ok(choreo("run", "result", "-o", "raw", "--server", url)) == once


def test_run_stop_start_and_once_while_running(running_server, no_addressed_server: Path) -> None:
    url, _project = running_server
    write_config(no_addressed_server, server=url)
    assert ok(choreo("run", "once")).splitlines()[0] == "Run greeting summary"  # a pass between two reconciles
    assert ok(choreo("server", "get")).splitlines()[1] == "status: Running"
    assert ok(choreo("run", "stop")).splitlines()[1] == "status: Stopped"
    assert ok(choreo("run", "once")).splitlines()[0] == "Run greeting summary"
    assert ok(choreo("run", "start")).splitlines()[1] == "status: Running"


def test_local_only_options_are_refused_with_a_server(stopped_server) -> None:
    url, project, _runs = stopped_server
    cases = {
        ("run", "once", str(project)): f"error: DIRECTORY {project}: only used locally",
        ("run", "once", "-r"): "error: -r/--internal-reconcilers: only used locally",
        ("run", "once", "--out", "x"): "error: --out: only used locally",
        ("get", "greetings", "-C", str(project)): "error: -C/--project: only used locally",
        ("run", "deps", str(project)): f"error: project folder {project}: only used locally",
        ("run", "diff", "-C", str(project)): f"error: project folder {project}: only used locally",
        ("run", "diff", "-c"): "error: -c/--show-final-config: only used locally",
    }
    for args, start in cases.items():
        line = one_error_line(choreo(*args, "--server", url), code=2 if args[:2] == ("run", "diff") else 1)
        assert line.startswith(start), line
        assert line.endswith(f"the server at {url} serves its own project and settings"), line


# ------------------------------------------------------------------------------------------ writes


def test_apply_and_delete_change_the_servers_objects(running_server, no_addressed_server: Path) -> None:
    url, project = running_server
    write_config(no_addressed_server, server=url)
    inputs_before = sorted(p.name for p in (project / "in").iterdir())
    assert ok(choreo("apply", "-f", "-", stdin=CAROL)) == "applying example.com/v1alpha1 Greeting carol\n"
    assert sorted(p.name for p in (project / "in").iterdir()) == inputs_before  # the server's store, not in/

    def carol_message() -> dict | None:
        result = choreo("get", "message", "carol-message", "-o", "json")
        return json.loads(result.out) if result.code == 0 else None

    assert wait_for(carol_message, "the runner to reconcile carol")["spec"]["text"] == "Hallo, Carol!"
    assert ok(choreo("get", "greetings", "-o", "name")).splitlines()[-1] == "greeting.example.com/carol"

    assert ok(choreo("delete", "greeting", "carol")) == "deleting example.com/v1alpha1 Greeting carol\n"
    missing = choreo("get", "greeting", "carol")
    assert (missing.code, missing.err) == (1, 'Error from server (NotFound): greetings.example.com "carol" not found\n')
    # the server's own words, as kube-apiserver's (kubectl prints them as they are)
    assert one_error_line(choreo("delete", "greeting", "carol")) == 'error: greetings.example.com "carol" not found'


def test_apply_is_all_or_nothing_on_the_server(stopped_server, tmp_path: Path) -> None:
    url, project, _runs = stopped_server
    dave = CAROL.replace("carol", "dave").replace("Carol", "Dave")
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"{dave}---\n{CAROL.replace('language: nl', 'language: xx')}")
    line = one_error_line(choreo("apply", "-f", str(bad), "--server", url))
    assert line == (
        f'error: {bad}#2: Greeting.example.com "default/carol" is invalid: .spec.language: Unsupported value: "xx": '
        'supported values: "en", "fr", "nl", "de"'
    )
    assert line.partition("invalid: ")[2] == one_error_line(local(project, "apply", "-f", str(bad))).partition(
        "invalid: "
    )[2]
    assert choreo("get", "greeting", "dave", "--server", url).err.endswith('"dave" not found\n')


def test_delete_by_file_checks_every_object_first(stopped_server, tmp_path: Path) -> None:
    url, project, _runs = stopped_server
    both = tmp_path / "both.yaml"
    both.write_text(CAROL + "---\n" + (project / "in" / "example.com.greeting.bob.yaml").read_text())
    missing = one_error_line(choreo("delete", "-f", str(both), "--server", url))
    assert missing == f'error: {both}#1: greetings.example.com "carol" not found'
    assert ok(choreo("get", "greeting", "bob", "-o", "name", "--server", url)) == "greeting.example.com/bob\n"
    bob = project / "in" / "example.com.greeting.bob.yaml"
    refused = one_error_line(choreo("delete", "-f", str(bob), "--server", url))  # in/ owns bob
    assert refused.endswith("owned by its file: edit the file in/example.com.greeting.bob.yaml instead (the server "
                            "loads the change; objects created through the API can be written here)"), refused
    carol = tmp_path / "carol.yaml"
    carol.write_text(CAROL)
    ok(choreo("apply", "-f", str(carol), "--server", url))
    with_bob = choreo("delete", "greeting/carol", "greeting/bob", "--server", url)  # bob's refusal comes first
    assert (with_bob.code, with_bob.out) == (1, "") and "owned by its file" in with_bob.err
    assert ok(choreo("get", "greeting", "carol", "-o", "name", "--server", url)) == "greeting.example.com/carol\n"
    ok(choreo("run", "once", "--server", url))
    assert ok(choreo("delete", "-f", str(carol), "--server", url)) == "deleting example.com/v1alpha1 Greeting carol\n"
    pending = json.loads(ok(choreo("get", "greeting", "carol", "-o", "json", "--server", url)))
    assert pending["metadata"]["deletionTimestamp"]  # the reconciler's finalizer holds it: nothing runs yet
    ok(choreo("run", "once", "--server", url))
    assert ok(choreo("get", "greetings", "-o", "name", "--server", url)) == (
        "greeting.example.com/alice\ngreeting.example.com/bob\n"
    )


# ------------------------------------------------------------------------------------------ errors


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("args", [("get", "greetings"), ("run", "once"), ("run", "diff"), ("api-resources",)])
def test_server_down_is_one_line(args: tuple[str, ...]) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    line = one_error_line(choreo(*args, "--server", url), code=2 if args == ("run", "diff") else 1)
    assert line.startswith(f"error: cannot reach the server at {url}: "), line


def test_bad_config_file_is_one_line(no_addressed_server: Path) -> None:
    path = write_config(no_addressed_server)
    path.write_text("server: [unclosed\n")
    assert one_error_line(choreo("get", "greetings")).startswith(f"error: {path}:2: invalid YAML")
    path.write_text("server: http://127.0.0.1:1\nserver: http://127.0.0.1:2\n")
    line = one_error_line(choreo("get", "greetings"))
    assert line == f'error: {path}:2: invalid YAML: duplicate key "server" (first at line 1)', line


def test_a_project_folder_with_only_a_configured_server_runs_locally(
    stopped_server, no_addressed_server: Path, example
) -> None:
    url, _project, _runs = stopped_server
    write_config(no_addressed_server, server=url)
    local = example("hello-world")
    result = ok(choreo("run", str(local)))
    assert result.splitlines()[0] == "Run hello-world summary"
    assert (local / ".choreo" / "choreo.db").exists()


def test_delete_by_label_and_ignoring_missing_objects_on_the_server(stopped_server, tmp_path: Path) -> None:
    url, _project, _runs = stopped_server
    team = tmp_path / "team.json"  # a List, as choreo get -o json prints it
    members = [yaml.safe_load(CAROL.replace("carol", name)) for name in ("carol", "dave")]
    for member in members:
        member["metadata"]["labels"] = {"team": "x"}
    team.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": members}))
    assert ok(choreo("apply", "-f", str(team), "--dry-run=server", "--server", url)).count("(server dry run)") == 2
    assert ok(choreo("get", "greetings", "-o", "name", "--server", url)).count("\n") == 2  # alice and bob only
    assert ok(choreo("apply", "-f", str(team), "--server", url)).count("applying") == 2
    tried = ok(choreo("delete", "greetings", "-l", "team=x", "--dry-run", "--server", url))
    assert tried.count("(dry run)") == 2
    assert ok(choreo("get", "greetings", "-o", "name", "--server", url)).count("\n") == 4
    assert ok(choreo("delete", "greetings", "-l", "team=x", "--server", url)) == (
        "deleting example.com/v1alpha1 Greeting carol\ndeleting example.com/v1alpha1 Greeting dave\n")
    ok(choreo("run", "once", "--server", url))  # the reconciler's finalizer lets them go
    assert ok(choreo("get", "greetings", "-o", "name", "--server", url)) == (
        "greeting.example.com/alice\ngreeting.example.com/bob\n")
    ignored = choreo("delete", "greeting/carol", "--ignore-not-found", "--server", url)
    assert (ignored.code, ignored.out, ignored.err) == (0, "", "")
