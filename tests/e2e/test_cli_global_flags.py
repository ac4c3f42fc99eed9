"""choreoctl's global flags through the real CLI, before or after the command: ``-b BRANCH`` read-only branch
views (``get``, ``api-resources``) with real git on a local repository, ``--config``, ``--address``, ``-d``,
``-r``/``-n`` where a command has none, the folder flags, and the transport flags choreo answers with a
pointer."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import CAROL, EXAMPLES, choreo
from tests.e2e.test_cli_branches import git, git_identity  # noqa: F401  (the fixture gives git an identity)
from tests.server.harness import ServerProcess


@pytest.fixture
def branched(tmp_path: Path) -> Path:
    """The greeting example as ``proj/`` of a repository on main; branch dev adds Greeting carol, removes
    bob and gives Greetings a field ``spec.title``; main is checked out and has run."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    project = repo / "proj"
    shutil.copytree(EXAMPLES / "greeting", project, ignore=shutil.ignore_patterns(".choreo"))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "greeting")
    git(repo, "switch", "-q", "-c", "dev")
    (project / "in" / "example.com.greeting.carol.yaml").write_text(CAROL)
    bob = [p for p in (project / "in").iterdir() if "bob" in p.read_text()]
    assert len(bob) == 1
    bob[0].unlink()
    crd = project / "crds" / "example.com_greetings.yaml"
    crd.write_text(crd.read_text().replace("              name: {type: string, minLength: 1}\n", (
        "              name: {type: string, minLength: 1}\n"
        "              title: {type: string, description: The title of the greeted one.}\n"), 1))
    assert "spec.title" not in crd.read_text() and "title:" in crd.read_text()
    git(repo, "add", "--all", ".")
    git(repo, "commit", "-q", "-m", "carol in, bob out")
    git(repo, "switch", "-q", "main")
    assert choreo("run", str(project)).code == 0
    return project


def names(result) -> list[str]:
    assert result.code == 0, result.err
    return result.out.split()


def test_get_api_resources_and_explain_read_another_branch_without_touching_the_work_tree(branched: Path) -> None:
    at = ("-C", str(branched))
    status = git(branched, "status", "--porcelain")
    assert names(choreo("get", "greetings", *at, "-o", "name")) == [
        "greeting.example.com/alice", "greeting.example.com/bob"]
    on_dev = ["greeting.example.com/alice", "greeting.example.com/carol"]
    assert names(choreo("get", "greetings", *at, "-b", "dev", "-o", "name")) == on_dev
    assert names(choreo("-b", "dev", "get", "greetings", *at, "-o", "name")) == on_dev  # before the command
    assert names(choreo("get", "greetings", "carol", *at, "--branch=dev", "-o", "jsonpath={.spec.name}")) == ["Carol"]
    # dev has not run: its Messages are not there; the checked-out branch shows the store, results included
    assert choreo("get", "messages", *at, "-b", "dev").err == "No resources found in default namespace.\n"
    assert choreo("get", "messages", *at, "-b", "main", "-o", "name").out == choreo(
        "get", "messages", *at, "-o", "name").out != ""
    kinds = choreo("api-resources", *at, "-b", "dev")
    assert kinds.code == 0 and "greetings" in kinds.out.split() and "ipindices" in kinds.out.split()
    title = choreo("explain", "greetings.spec.title", *at, "-b", "dev")
    assert title.code == 0 and "DESCRIPTION:\n    The title of the greeted one.\n" in title.out, title.err
    assert choreo("explain", "greetings.spec.title", *at).err == (
        'error: field "title" does not exist\n')  # main's CRD has no title (kubectl's words since e07c674)
    assert git(branched, "status", "--porcelain") == status
    assert git(branched, "branch", "--show-current") == "main"

    for command in ("get", "api-resources", "explain"):
        assert "-b, --branch NAME" in choreo(command, "--help").out
    assert "--branch" not in choreo("apply", "--help").out  # hidden where it only names the checked-out branch
    missing = choreo("get", "greetings", *at, "-b", "nope")
    assert (missing.code, missing.err) == (1, "error: no branch nope (branches: dev, main)\n")


def test_a_server_answers_for_its_checked_out_branch_only(branched: Path) -> None:
    server = ServerProcess(str(branched), "--address", "127.0.0.1:0", "--no-run")
    try:
        address = server.wait_ready().removeprefix("http://")
        on_main = choreo("-b", "main", "get", "greetings", "--address", address, "-o", "name")
        assert on_main.out == "greeting.example.com/alice\ngreeting.example.com/bob\n", on_main.err
        for name, command in (("get", ("get", "greetings")), ("api-resources", ("api-resources",)),
                              ("run result", ("run", "result"))):
            other = choreo(*command, "--address", address, "-b", "dev")
            assert (other.code, other.out) == (1, "")
            assert other.err == (
                f"error: -b dev: `choreo {name}` works on the checked-out branch of the server at "
                f"http://{address} (main): `choreo branch checkout dev` first (`choreo get -b`, "
                "`choreo api-resources -b` and `choreo explain -b` read another branch of a project folder (-C DIR))\n")
    finally:
        server.stop()


def test_other_commands_refuse_a_branch_that_is_not_checked_out(branched: Path) -> None:
    before = sorted(p.name for p in (branched / "in").iterdir())
    refused = choreo("apply", "-", "-C", str(branched), "-b", "dev", stdin=CAROL)
    assert (refused.code, refused.out) == (1, "")
    assert refused.err == (
        "error: -b dev: `choreo apply` works on the checked-out branch of the project's repository (main): "
        "`choreo branch checkout dev` first (`choreo get -b`, `choreo api-resources -b` and `choreo explain -b` "
        "read another branch)\n")
    assert sorted(p.name for p in (branched / "in").iterdir()) == before
    assert choreo("run", str(branched), "-b", "dev").err.startswith("error: -b dev: `choreo run once` works on")
    assert choreo("run", str(branched), "-b", "main").code == 0  # the checked-out branch: as without -b
    version = choreo("version", "-b", "dev")
    assert version.err == "error: -b dev: `choreo version` reads no branch (`choreo get -b`, " \
        "`choreo api-resources -b` and `choreo explain -b` do)\n"


def test_config_address_and_debug_have_the_reference_meaning(example, tmp_path: Path) -> None:
    project: Path = example("greeting")
    assert choreo("run", str(project)).code == 0
    config = tmp_path / "choreoctl.yaml"
    config.write_text("server: http://127.0.0.1:9\n")
    local = choreo("get", "greetings", "-C", str(project), "-o", "name")
    assert local.out == "greeting.example.com/alice\ngreeting.example.com/bob\n"
    for args in (("--config", str(config), "get", "greetings"), ("get", "greetings", "--config", str(config)),
                 ("--address", "127.0.0.1:9", "get", "greetings")):
        remote = choreo(*args, cwd=project)
        assert remote.code == 1 and remote.err.startswith("error: cannot reach the server at http://127.0.0.1:9"), args
    assert choreo("--config", str(tmp_path / "none.yaml"), "version").err == (
        f"error: --config {tmp_path / 'none.yaml'}: no such file\n")
    assert choreo("version", "--address", "127.0.0.1:9").err == (
        "error: --address 127.0.0.1:9: `choreo version` does not talk to a server\n")
    for args in (("-d", "get", "greetings"), ("get", "greetings", "--debug")):
        assert choreo(*args, "-C", str(project), "-o", "name").out == local.out


def test_r_s_and_n_go_where_choreo_takes_them(example) -> None:
    project: Path = example("greeting")
    assert choreo("-r", "run", str(project)).code == 0  # -r before the command reaches run once
    assert choreo("get", "ipindices", "-C", str(project)).code == 0  # the allocator kinds are stored
    refused = choreo("get", "greetings", "-r", "-C", str(project))
    assert refused.err == "error: -r: `choreo get` does not take it; `choreo run` and `choreo server start` do\n"
    assert choreo("run", "deps", str(project), "-n", "default").code == 0
    assert choreo("-o", "name", "get", "greetings", "-C", str(project)).out.count("greeting.example.com/") == 2
    no_output = choreo("version", "-o", "yaml")
    assert no_output.err == "error: -o: `choreo version` does not take it; `choreo get`, `choreo api-resources`, " \
        "`choreo run`, `choreo run result`, `choreo run deps` and `choreo config show` do\n"
    other = choreo("run", "deps", str(project), "-n", "team")
    assert other.err == "error: -n team: `choreo run deps` takes no namespace (get, apply and delete do)\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--input", "inputs"), "error: --input inputs: choreo reads the project's in/ folder; rename inputs to in\n"),
        (("--apis", "apis"), "error: --apis apis: choreo reads the project's crds/ folder; rename apis to crds\n"),
        (("--db", "db"), "error: --db db: choreo keeps its store in the project's .choreo/ folder (not settable)\n"),
        (("-p", "proxy:8080"), "error: -p proxy:8080: choreo's client talks HTTP to its server: set HTTPS_PROXY or "
         "HTTP_PROXY instead\n"),
        (("--maxRcvMsg", "100"), "error: --maxRcvMsg 100: choreo's client has no receive limit; the server limits "
         "requests with `choreo server start --max-body-bytes N`\n"),
        (("--timeout", "5s"), "error: --timeout 5s: choreo's client connects at once (an unreachable server fails) "
         "and waits up to 300 s for an answer (`server apply`: an hour); not settable\n"),
        (("--cacheDir", "c"), "error: --cacheDir c: choreo caches upstream refs in the project's .choreo/ folder "
         "(not settable)\n"),
        (("--servername", "s"), "error: --servername s: choreo's client checks a https:// server's certificate "
         "against the host name of --address\n"),
    ],
)
def test_folder_and_transport_flags_accept_choreos_value_or_say_what_to_use(
    example, args: tuple[str, ...], message: str
) -> None:
    project: Path = example("greeting")
    assert choreo("run", str(project), *args).err == message
    assert choreo(*args, "api-resources", "-C", str(project)).err == message
    assert not (project / ".choreo").exists()


def test_folder_flags_with_choreos_folder_names_change_nothing(example) -> None:
    project: Path = example("greeting")
    defaults = ("--apis", "crds", "--input", "in", "--reconcilers", "reconcilers", "--libraries", "libs",
                "--refs", "refs", "--schemas", "schemas", "--runningConfigs", "runningconfigs")
    ran = choreo(*defaults, "run", str(project))
    assert ran.code == 0, ran.err
    assert choreo("get", "messages", "-C", str(project), *defaults, "-o", "name").out.count("message.example.com/") == 2


def test_a_mistyped_option_is_never_told_to_be_one_choreo_refuses() -> None:
    """click suggests the nearest spelling of any option, the reference's refused ones (hidden) too."""
    assert choreo("get", "--bogus").err.strip().endswith("No such option '--bogus'.")
    assert "Did you mean" not in choreo("get", "--time-limit").err
    assert choreo("get", "--outptu").err.strip().endswith("No such option '--outptu'. Did you mean '--output'?")
