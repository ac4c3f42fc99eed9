"""Git option injection: no URL, ref or branch from a project file or a request reaches git as an option.

Every attack carries a payload that would create a marker file if git ran it (``--upload-pack=touch M``,
``ext::sh -c touch% M``); each test asserts the clear refusal and that the marker was never created.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from choreo.git import GitError, check_branch, check_ref, check_url, run_git
from choreo.server.workspace import ContextSpec, Workspace
from tests.e2e.conftest import choreo
from tests.server.harness import ServerProcess
from yang.profiles import ProfileError, load_profiles


def payloads(marker: Path) -> list[str]:
    """Values that run ``touch MARKER`` when git reads them as an option or a transport."""
    return [
        f"--upload-pack=touch {marker}",
        f"-u touch {marker}",
        f"ext::sh -c touch% {marker}",
        f"--config=core.sshCommand=touch {marker}",
    ]


def make_repo(path: Path) -> Path:
    git = ["git", "-C", str(path), "-c", "user.email=t@t", "-c", "user.name=t"]
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    (path / "proj").mkdir()
    (path / "proj" / "README").write_text("x\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    subprocess.run([*git, "tag", "v1"], check=True)
    return path


# --------------------------------------------------------------------------------------- the checks


@pytest.mark.parametrize(
    "url",
    ["https://example.org/r.git", "ssh://git@example.org/r.git", "git://example.org/r.git", "file:///srv/r.git",
     "git@example.org:org/r.git", "/srv/repos/r.git"],
)
def test_allowed_urls(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("--upload-pack=touch /tmp/x", "it starts with '-'"),
        ("-oProxyCommand=x", "it starts with '-'"),
        ("ext::sh -c touch% /tmp/x", "transport helpers"),
        ("fd::17", "transport helpers"),
        ("http://example.org/r.git", "the http:// transport is not allowed"),
        ("ftp://example.org/r.git", "the ftp:// transport is not allowed"),
        ("ssh://-oProxyCommand=x/r.git", "its host starts with '-'"),
        ("relative/path", "is not a repository URL"),
        ("..", "is not a repository URL"),
        (" https://example.org/r.git", "spaces or control characters"),
        ("https://example.org/r.git\n--upload-pack=x", "spaces or control characters"),
        ("", "empty"),
    ],
)
def test_refused_urls(url: str, why: str) -> None:
    with pytest.raises(GitError, match=why.replace("(", r"\(").replace(")", r"\)")):
        check_url(url)


@pytest.mark.parametrize("ref", ["v1", "v1.2.0", "release/2024-10", "0123abc", "a" * 40])
def test_allowed_refs(ref: str) -> None:
    assert check_ref(ref) == ref


@pytest.mark.parametrize(
    "ref",
    ["--upload-pack=x", "-b", "a..b", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b", "/a", "a/", "a.",
     "a.lock", "a/.b", "@", "a@{1}", "a//b", "a\nb", ""],
)
def test_refused_refs(ref: str) -> None:
    with pytest.raises(GitError):
        check_ref(ref)


def test_head_is_no_branch_name() -> None:
    with pytest.raises(GitError, match="'HEAD' is not a valid git branch name"):
        check_branch("HEAD")


def test_run_git_refuses_transports_even_for_unchecked_values(tmp_path: Path) -> None:
    """Defence in depth: a URL that skipped the checks still cannot make git run a command."""
    marker = tmp_path / "pwned"
    run_git(["init", "-q", "--", str(tmp_path / "r")], what="init")
    result = run_git(
        ["-C", str(tmp_path / "r"), "fetch", "-q", "--", f"ext::sh -c touch% {marker}", "main"],
        what="fetch", check=False,
    )
    assert result.returncode != 0
    assert b"transport 'ext' not allowed" in result.stderr
    assert not marker.exists()


# ---------------------------------------------------------------------------------- upstream refs


REF = """apiVersion: choreo.kform.dev/v1alpha1
kind: UpstreamRef
metadata: {{name: up}}
spec:
  url: '{url}'
  ref: {{type: tag, name: '{tag}'}}
"""


@pytest.mark.parametrize("index", range(4))
def test_upstream_ref_url_cannot_inject(tmp_path: Path, index: int) -> None:
    marker = tmp_path / "pwned"
    project = tmp_path / "project"
    (project / "refs").mkdir(parents=True)
    (project / "refs" / "up.yaml").write_text(REF.format(url=payloads(marker)[index], tag="v1"))
    result = choreo("run", str(project))
    assert result.code != 0
    assert result.err.startswith("error: refs/up.yaml: spec.url: "), result.err
    assert "Traceback" not in result.err
    assert not marker.exists()


def test_upstream_ref_tag_cannot_inject(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    repo = make_repo(tmp_path / "repo")
    project = tmp_path / "project"
    (project / "refs").mkdir(parents=True)
    (project / "refs" / "up.yaml").write_text(REF.format(url=repo.as_uri(), tag=f"--upload-pack=touch {marker}"))
    result = choreo("run", str(project))
    assert result.code != 0
    assert "refs/up.yaml: spec.ref.name: " in result.err and "it starts with '-'" in result.err
    assert not marker.exists()


# -------------------------------------------------------------------------------- schema profiles


PROFILE = """apiVersion: inv.sdcio.dev/v1alpha1
kind: Schema
metadata: {{name: p}}
spec:
  provider: fx.example
  version: "1"
  repositories:
  - repoURL: '{url}'
    kind: tag
    ref: '{ref}'
    schema:
      models: [fx-net.yang]
"""


def _profile_error(project: Path, url: str, ref: str) -> str:
    (project / "schemas").mkdir(parents=True, exist_ok=True)
    (project / "schemas" / "p.yaml").write_text(PROFILE.format(url=url, ref=ref))
    with pytest.raises(ProfileError) as info:
        load_profiles(project).resolve("fx.example", "1")
    return str(info.value)


@pytest.mark.parametrize("index", range(4))
def test_schema_profile_url_cannot_inject(tmp_path: Path, index: int) -> None:
    marker = tmp_path / "pwned"
    message = _profile_error(tmp_path / "project", payloads(marker)[index], "v1")
    assert "cannot fetch" in message
    assert not marker.exists()


def test_schema_profile_ref_cannot_inject(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    repo = make_repo(tmp_path / "repo")
    message = _profile_error(tmp_path / "project", repo.as_uri(), f"--upload-pack=touch {marker}")
    assert "is not a valid git ref: it starts with '-'" in message
    assert not marker.exists()


# ------------------------------------------------------------------------------ server apply (dynamic)


@pytest.mark.parametrize("field", ["url", "ref", "branch"])
def test_workspace_refuses_injection_in_every_field(tmp_path: Path, field: str) -> None:
    marker = tmp_path / "pwned"
    repo = make_repo(tmp_path / "repo")
    values = {"url": str(repo), "ref": "v1", "branch": "dev"}
    for payload in payloads(marker):
        spec = ContextSpec(url=values["url"], path="proj", ref=values["ref"], branch=values["branch"])
        setattr(spec, field, payload)
        with pytest.raises(GitError):
            Workspace(tmp_path / "ws").checkout(spec)
    assert not marker.exists()
    assert not any((tmp_path / "ws").iterdir())  # nothing was cloned


def test_workspace_still_serves_a_good_context(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    folder = Workspace(tmp_path / "ws").checkout(ContextSpec(str(repo), "proj", "v1", "dev"))
    assert (folder / "README").read_text() == "x\n"


def test_server_apply_with_option_like_values_is_a_client_error(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    repo = make_repo(tmp_path / "repo")
    server = ServerProcess("--address", "127.0.0.1:0", "--workspace", str(tmp_path / "ws"))
    try:
        url = server.wait_ready()
        attacks = [
            (f"--upload-pack=touch {marker}", "v1", "", "it starts with '-'"),
            (f"ext::sh -c touch% {marker}", "v1", "", "transport helpers"),
            (str(repo), f"--upload-pack=touch {marker}", "", "is not a valid git ref"),
            (str(repo), "v1", f"--upload-pack=touch {marker}", "is not a valid git branch name"),
        ]
        for repo_url, ref, branch, why in attacks:
            extra = [branch] if branch else []
            result = choreo("server", "apply", "--server", url, "--", repo_url, "proj", ref, *extra)
            assert result.code == 1, result.err
            assert result.err.startswith("error: ") and why in result.err, result.err
        server.terminate()
        assert "Traceback" not in "".join(server.raw)
    finally:
        server.stop()
    assert not marker.exists()
