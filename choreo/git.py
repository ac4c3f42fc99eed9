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

The user's own git configuration (credentials, proxies, SSH keys) still applies.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from choreo.errors import ChoreoError

ALLOWED_SCHEMES = ("https", "ssh", "git", "file")
GIT_TIMEOUT_SECONDS = 600

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
    try:
        result = subprocess.run(
            [*command, *args], cwd=cwd, capture_output=True, env=env, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise GitError("the git command is not installed") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"{what}: git did not finish within {timeout:g}s") from None
    if check and result.returncode != 0:
        raise GitError(f"{what}: {failure_reason(result.stderr.decode(errors='replace'))}")
    return result


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
