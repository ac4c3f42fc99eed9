"""The one way choreo runs ``git``: checked values, fixed options, allowed transports only.

Why: repository URLs, refs and branch names come from project files written by other people (upstream
refs, schema profiles) and from requests to the server (``server apply URL DIR REF [BRANCH]``). Passed to
``git`` as they are, a value such as ``--upload-pack=touch /tmp/pwned`` is read as an option and runs a
command, and a URL such as ``ext::sh -c ...`` makes git itself run one. So every git command of choreo
goes through ``run_git``, and every value from outside goes through ``check_url``/``check_ref``/
``check_branch`` first:

- URLs: ``https://``, ``ssh://``, ``git://`` and ``file://`` URLs, scp-style ``user@host:path`` (ssh) and
  absolute local paths (git's file transport). Anything else — ``http://``, ``ext::``, ``fd::``, transport
  helpers, relative paths, a value starting with ``-``, control characters — is refused.
- refs and branches: git's ``check-ref-format`` rules, and never a leading ``-``.
- every command runs with ``protocol.allow=never`` plus the four allowed transports (in the config and
  in ``GIT_ALLOW_PROTOCOL``, which also binds submodules and redirects), hooks switched off, no terminal
  prompt, and a time limit; callers put values after ``--`` or ``--end-of-options``.
- every command ends with what waits for it: at its time limit, on Ctrl-C, and when a server that stops
  abandons the work it belongs to (``choreo.abandon``: a clone or fetch hanging on a network is not
  awaited).

The user's own git configuration (credentials, proxies, SSH keys) still applies.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import signal
import subprocess
import tarfile
import time
from collections.abc import Sequence
from pathlib import Path

from choreo import abandon
from choreo.errors import ChoreoError

ALLOWED_SCHEMES = ("https", "ssh", "git", "file")
GIT_TIMEOUT_SECONDS = 600
KILL_AFTER_SECONDS = 5  # a git command told to end (SIGTERM) and still going is killed (SIGKILL)

_SCHEME_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)$", re.S)
_SCP_URL = re.compile(r"^(?:[A-Za-z0-9._~-]+@)?(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(?P<path>[^/].*|/.*)$")
_SAFETY_CONFIG = (
    "protocol.allow=never",
    *(f"protocol.{scheme}.allow=always" for scheme in ALLOWED_SCHEMES),
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "submodule.recurse=false",
)
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


class GitError(ChoreoError):
    """A git value was refused or a git command failed; ``str`` is one line without the file at fault."""

    reason = "BadRequest"
    code = 400


def check_url(url: str) -> str:
    """``url`` when it names a repository through an allowed transport; ``GitError`` saying why not."""
    if not isinstance(url, str) or not url:
        raise GitError("the repository URL is empty")
    if url != url.strip() or any(ord(c) < 0x20 or c == "\x7f" for c in url):
        raise GitError(f"{url!r} is not a repository URL: it contains spaces or control characters at an end")
    if url.startswith("-"):
        raise GitError(f"{url!r} is not a repository URL: it starts with '-'")
    match = _SCHEME_URL.match(url)
    if match:
        scheme = match["scheme"].lower()
        if scheme not in ALLOWED_SCHEMES:
            raise GitError(f"{url!r}: the {scheme}:// transport is not allowed (allowed: {_allowed()})")
        host = match["rest"].split("/", 1)[0].rpartition("@")[2]
        if host.startswith("-"):
            raise GitError(f"{url!r} is not a repository URL: its host starts with '-'")
        return url
    if "::" in url:
        raise GitError(
            f"{url!r}: git transport helpers (<transport>::<address>) are not allowed (allowed: {_allowed()})"
        )
    if url.startswith("/"):
        return url
    scp = _SCP_URL.match(url)
    if scp and not scp["host"].startswith("-"):
        return url
    raise GitError(f"{url!r} is not a repository URL ({_allowed()}, user@host:path or an absolute path)")


def check_ref(ref: str, *, what: str = "ref") -> str:
    """``ref`` when git accepts it as a tag, branch or commit name (``check-ref-format`` rules)."""
    if not isinstance(ref, str) or not ref:
        raise GitError(f"the {what} is empty")
    problem = _ref_problem(ref)
    if problem:
        raise GitError(f"{ref!r} is not a valid git {what}: {problem}")
    return ref


def check_branch(branch: str) -> str:
    """``branch`` when it is a valid branch name (a ref name that is not ``HEAD``)."""
    check_ref(branch, what="branch name")
    if branch == "HEAD":
        raise GitError("'HEAD' is not a valid git branch name")
    return branch


def _ref_problem(ref: str) -> str:
    if ref.startswith("-"):
        return "it starts with '-'"
    if _REF_FORBIDDEN.search(ref):
        return "it contains a space, a control character or one of ~ ^ : ? * [ \\"
    if ".." in ref or "@{" in ref or "//" in ref or ref == "@":
        return "it contains '..', '@{' or '//', or is '@'"
    if ref.startswith("/") or ref.endswith(("/", ".", ".lock")):
        return "it starts with '/' or ends with '/', '.' or '.lock'"
    if any(part.startswith(".") or part.endswith(".lock") for part in ref.split("/")):
        return "a component starts with '.' or ends with '.lock'"
    return ""


def _allowed() -> str:
    return ", ".join(f"{scheme}://" for scheme in ALLOWED_SCHEMES)


def run_git(
    args: Sequence[str],
    *,
    what: str,
    cwd: Path | None = None,
    check: bool = True,
    timeout: float = GIT_TIMEOUT_SECONDS,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git ARGS`` with the safety settings; with ``check`` a failure is a ``GitError`` ``what: reason``.

    ``args`` are fixed options chosen by choreo plus values already checked; values go after ``--`` (or
    ``--end-of-options``) wherever git accepts it.
    """
    command = ["git"]
    for setting in _SAFETY_CONFIG:
        command += ["-c", setting]
    env = {
        **os.environ,
        "GIT_ALLOW_PROTOCOL": ":".join(ALLOWED_SCHEMES),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
        "LC_ALL": "C",
    }
    result = _run_stoppable([*command, *args], cwd=cwd, env=env, timeout=timeout, what=what)
    if check and result.returncode != 0:
        raise GitError(f"{what}: {failure_reason(result.stderr.decode(errors='replace'))}")
    return result


class _GitProcess:
    """A running git command, ended when asked: SIGTERM first, so that git removes its lock files and a clone
    half made, SIGKILL when it does not end. Working for a server (``own_session``) it runs in a session of
    its own, ended with the processes it started (``ssh``, ``git-remote-https``, ``git-upload-pack``...);
    for a command at a terminal it stays in the terminal's, where ssh can ask for a passphrase and Ctrl-C
    reaches it as before."""

    def __init__(self, command: list[str], cwd: Path | None, env: dict[str, str], *, own_session: bool) -> None:
        self.own_session = own_session
        try:
            self.popen = subprocess.Popen(
                command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL if own_session else None, start_new_session=own_session,
            )
        except FileNotFoundError:
            raise GitError("the git command is not installed") from None
        self.ended_at: float | None = None  # when ``kill`` was first asked

    def kill(self) -> None:
        """End it (``Killable``: a stopping server calls this from its signal handler, in another thread)."""
        if self.ended_at is None:
            self.ended_at = time.monotonic()
            self._signal(signal.SIGTERM)

    def end(self) -> None:
        """End it and wait until it is gone (``communicate``: its output may be left unread)."""
        self.kill()
        self.communicate(time.monotonic() + GIT_TIMEOUT_SECONDS)

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self.own_session:
                os.killpg(self.popen.pid, signum)
            else:
                self.popen.send_signal(signum)

    def communicate(self, deadline: float) -> tuple[bytes, bytes]:
        """Its output once it ended; ``subprocess.TimeoutExpired`` at ``deadline``. A process that was told
        to end and has not within ``KILL_AFTER_SECONDS`` is killed. Once it is gone, its output is waited
        for ``KILL_AFTER_SECONDS`` more, then left unread (``b""``): a process it started in the terminal's
        session (``git-remote-https`` stuck on a network) may hold the pipes open for long after it."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(self.popen.args, 0)
            try:
                return self.popen.communicate(timeout=min(left, 0.2))
            except subprocess.TimeoutExpired:
                if self.ended_at is None:
                    continue
                waited = time.monotonic() - self.ended_at
                if waited > KILL_AFTER_SECONDS:
                    self._signal(signal.SIGKILL)
                if waited > 2 * KILL_AFTER_SECONDS and self.popen.poll() is not None:
                    for pipe in (self.popen.stdout, self.popen.stderr):
                        if pipe is not None:
                            pipe.close()
                    return b"", b""


def _run_stoppable(
    command: list[str], *, cwd: Path | None, env: dict[str, str], timeout: float, what: str
) -> subprocess.CompletedProcess[bytes]:
    """Run ``command``, ended with what waits for it: at its time limit, on any exception (Ctrl-C), and when
    the server work it belongs to is abandoned (``choreo.abandon``: a server told to stop does not wait for
    a clone or fetch, which can hang on a network as long as the time limit)."""
    scope = abandon.current()
    if scope is not None and scope.abandoned:
        raise abandon.Abandoned()
    process = _GitProcess(command, cwd, env, own_session=scope is not None)
    if scope is not None:
        try:
            scope.enter(process)
        except abandon.Abandoned:
            process.end()
            raise
    try:
        stdout, stderr = process.communicate(time.monotonic() + timeout)
    except subprocess.TimeoutExpired:
        process.end()
        raise GitError(f"{what}: git did not finish within {timeout:g}s") from None
    except BaseException:
        process.end()
        raise
    finally:
        if scope is not None:
            scope.leave(process)
    if process.ended_at is not None and scope is not None and scope.abandoned:
        raise abandon.Abandoned()
    return subprocess.CompletedProcess(command, process.popen.returncode, stdout, stderr)


def output(result: subprocess.CompletedProcess[bytes]) -> str:
    """What a git command printed, as text without the final newline."""
    return result.stdout.decode(errors="replace").strip()


def failure_reason(stderr: str) -> str:
    """The first ``fatal:``/``error:`` line of git's output, without the prefix."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        for prefix in ("fatal: ", "error: "):
            if line.startswith(prefix):
                return line[len(prefix) :]
    return lines[0] if lines else "git failed"


def export_commit(repo: Path, commit: str, tree: Path) -> None:
    """Write the files of ``commit`` to ``tree`` atomically (a half-written tree is never reused)."""
    archive = run_git(["--git-dir", str(repo), "archive", "--format=tar", commit],
                      what=f"cannot read commit {commit}").stdout
    partial = tree.with_name(f"{tree.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(partial, filter="data")
        os.replace(partial, tree)
    except (tarfile.TarError, OSError) as exc:
        if tree.is_dir():  # another run wrote the same commit meanwhile
            return
        raise GitError(f"cannot write the files of commit {commit} to {tree}: {exc}") from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)


class WorkTree:
    """The git work tree holding a project folder, and the version-control operations choreo performs on it
    for ``branch ...``, ``run commit`` and ``run push`` — each with checked names and fixed options.

    Branch names are checked with ``check_branch``; a push goes only to a remote whose URL ``check_url``
    accepts. Nothing here discards work: a stash keeps what it puts away (``git stash list``), a merge
    that conflicts is aborted, and deleting the checked-out branch is refused.
    """

    def __init__(self, folder: Path) -> None:
        found = run_git(["rev-parse", "--show-toplevel"], cwd=folder, what=str(folder), check=False)
        if found.returncode != 0:
            raise GitError(f"{folder}: not in a git work tree (version control needs the project in a git repository)")
        self.top = Path(output(found))
        self.folder = folder

    def git(self, *args: str, what: str) -> str:
        return output(run_git(args, cwd=self.top, what=what))

    def succeeds(self, *args: str) -> bool:
        return run_git(args, cwd=self.top, what="git", check=False).returncode == 0

    def relative(self, path: Path) -> str:
        """``path`` relative to the top of the work tree (``.`` for the top itself), as a pathspec."""
        return path.resolve().relative_to(self.top.resolve()).as_posix() or "."

    # ---------------------------------------------------------------- branches

    def current_branch(self) -> str | None:
        """The checked-out branch; None when HEAD is detached (a pinned checkout)."""
        found = run_git(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd=self.top, what="git", check=False)
        return output(found) if found.returncode == 0 else None

    def branches(self) -> list[str]:
        listed = self.git("for-each-ref", "--format=%(refname:short)", "refs/heads/", what="listing branches")
        return sorted(listed.splitlines())

    def require_branch(self, name: str) -> str:
        check_branch(name)
        if not self.succeeds("show-ref", "--verify", "--quiet", f"refs/heads/{name}"):
            raise GitError(f"no branch {name} (branches: {', '.join(self.branches()) or 'none'})")
        return name

    def export(self, name: str, tree: Path) -> None:
        """Write the files of branch ``name``'s last commit to the new folder ``tree`` (the work tree is
        untouched)."""
        self.require_branch(name)
        git_dir = Path(self.git("rev-parse", "--absolute-git-dir", what="finding the repository"))
        export_commit(git_dir, f"refs/heads/{name}", tree)

    def log(self, name: str) -> list[str]:
        """``<short hash> <date> <subject>`` per commit of branch ``name``, newest first."""
        self.require_branch(name)
        text = self.git("log", "--format=%h %ad %s", "--date=short", f"refs/heads/{name}", "--", what=f"log of {name}")
        return text.splitlines()

    def create_branch(self, name: str) -> None:
        """A new branch at the checked-out commit (it is not checked out)."""
        check_branch(name)
        if name in self.branches():
            raise GitError(f"branch {name} already exists")
        self.git("branch", "--no-track", "--end-of-options", name, "HEAD", what=f"creating branch {name}")

    def delete_branch(self, name: str) -> None:
        self.require_branch(name)
        if name == self.current_branch():
            raise GitError(f"branch {name} is checked out: check out another branch before deleting it")
        self.git("branch", "--delete", "--force", "--end-of-options", name, what=f"deleting branch {name}")

    def checkout(self, name: str) -> None:
        """Switch to branch ``name``; git refuses when uncommitted changes would be overwritten."""
        self.require_branch(name)
        self.git("switch", "--quiet", "--no-guess", "--end-of-options", name, what=f"checking out {name}")

    def stash(self, keep: str) -> bool:
        """Put uncommitted changes (untracked files included) away in git's stash, except those in folders
        named ``keep`` (choreo's state folder: a server may have its store open there); False when there
        were none."""
        paths = ["--", ".", f":(exclude,glob)**/{keep}/**"]
        if not self.git("status", "--porcelain", "--untracked-files=all", *paths, what="reading the status"):
            return False
        self.git("stash", "push", "--quiet", "--include-untracked", "-m", "choreo branch stash", *paths,
                 what="stashing")
        return True

    def diff(self, source: str, target: str, pathspec: str) -> list[str]:
        """``<status> <path>`` per file under ``pathspec`` that differs from branch ``source`` to ``target``."""
        self.require_branch(source)
        self.require_branch(target)
        text = self.git(
            "diff", "--name-status", "--no-renames", f"refs/heads/{source}", f"refs/heads/{target}", "--", pathspec,
            what=f"diff of {source} and {target}",
        )
        return [" ".join(line.split("\t", 1)) for line in text.splitlines()]

    def merge(self, source: str) -> bool:
        """Merge branch ``source`` into the checked-out branch; False when it had nothing new. A conflict is
        aborted (the work tree left as it was) and reported with the conflicting files."""
        self.require_branch(source)
        if self.succeeds("merge-base", "--is-ancestor", f"refs/heads/{source}", "HEAD"):
            return False
        merged = run_git(
            ["merge", "--no-edit", "--end-of-options", f"refs/heads/{source}"], cwd=self.top, what="merge", check=False
        )
        if merged.returncode != 0:
            conflicts = self.git("diff", "--name-only", "--diff-filter=U", what="listing conflicts").split()
            run_git(["merge", "--abort"], cwd=self.top, what="aborting the merge", check=False)
            detail = f"conflicts in {', '.join(conflicts)}" if conflicts else failure_reason(merged.stderr.decode())
            raise GitError(f"merging {source}: {detail}; nothing was merged")
        return True

    # ---------------------------------------------------------------- commit and push

    def commit(self, pathspec: str, message: str) -> str | None:
        """Commit every change under ``pathspec`` (added, changed and removed files) and nothing else; the
        new commit's short hash, or None when there was nothing to commit."""
        if not message.strip() or "\x00" in message:
            raise GitError("the commit message is empty")
        self.git("add", "--all", "--", pathspec, what=f"adding {pathspec}")
        if self.succeeds("diff", "--cached", "--quiet", "--", pathspec):
            return None
        self.git("commit", "--quiet", "--no-verify", "-m", message, "--only", "--", pathspec, what="commit")
        return self.git("rev-parse", "--short", "HEAD", what="reading the commit")

    def push(self, branch: str) -> str:
        """Push ``branch`` to its remote (its upstream's, else ``origin``) under the same name; returns the
        remote's URL, which must be one ``check_url`` accepts."""
        check_branch(branch)
        remote = check_ref(self._config(f"branch.{branch}.remote") or "origin", what="remote name")
        if not self.succeeds("remote", "get-url", "--", remote):
            raise GitError(f"no remote {remote} to push {branch} to (git remote add {remote} URL)")
        url = check_url(self.git("remote", "get-url", "--push", "--", remote, what="reading the remote"))
        self.git("push", "--quiet", "--no-verify", "--end-of-options", remote,
                 f"refs/heads/{branch}:refs/heads/{branch}", what=f"pushing {branch} to {remote}")
        return url

    def _config(self, key: str) -> str:
        found = run_git(["config", "--get", "--", key], cwd=self.top, what="git config", check=False)
        return output(found) if found.returncode == 0 else ""
