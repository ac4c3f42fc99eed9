"""Files the stage writes: ``<out>/<device>.json`` (RFC 7951), ``<out>/<device>.xml`` (NETCONF ``<config>``)
and the CI reports (``--report junit=FILE`` / ``json=FILE``: one test case per device, one failure per error).

Kept apart from the stage so the formats are easy to find and to test. Output is byte-stable.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from choreo.plugin_api import (
    ChoreoError,
    JUnitCase,
    JUnitFailure,
    JUnitSuite,
    json_text,
    junit_xml,
    write_atomic,
    write_report,
)
from yang.merge import Merged, Problem

if TYPE_CHECKING:  # the stage imports this module
    from yang.stage import DeviceReport

NETCONF_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"


def netconf_payload(body: str) -> str:
    """The data in a NETCONF ``<config>`` element, as libyang printed it: not indented again, which would add
    spaces to every line of a multi-line string value."""
    inner = body.rstrip("\n") + "\n" if body else ""
    return f'<config xmlns="{NETCONF_NS}">\n{inner}</config>\n'


def netconf_data(text: str) -> str:
    """The data inside a NETCONF ``<config>`` payload (as ``<out>/<device>.xml`` holds it); other text as it is.
    The line breaks stay where they were, so line numbers in messages are those of the file."""
    found = _NETCONF_CONFIG.fullmatch(text)
    return found.group(1) + found.group(2) if found else text


_NETCONF_CONFIG = re.compile(rf'(\s*(?:<\?xml[^>]*\?>\s*)?)<config xmlns="{re.escape(NETCONF_NS)}">(.*)</config>\s*',
                             re.DOTALL)


def config_json(config: dict[str, Any]) -> str:
    """The text of ``<out>/<device>.json`` and of ``choreo config show -o json``: one function, so they match."""
    return json.dumps(config, indent=2) + "\n"


SUFFIXES = (".json", ".xml")

FileState = dict[str, Any]  # {"sha256": ..., "size": ..., "mtimeNs": ...} of a file the stage wrote


class FileWriter:
    """Writes devices' files on a thread of its own, while the stage goes on with the next devices.

    Why: creating a file, writing it and renaming it over the old one are system calls (about 0.4 ms a
    file on the development machine, a tenth of the N=1000 fabric's stage), during which Python lets
    another thread run; the stage's own work (merging, validating) needs the interpreter. ``finish`` waits
    for every file and fills in the states of the entries handed to ``write``; the first failure is raised
    then, as a ``ChoreoError`` naming the file."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="choreo-out")
        self._pending: list[tuple[dict[str, Any], Future[dict[str, FileState]]]] = []

    def __enter__(self) -> FileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True)  # also after a failure: no file is written once the stage has returned

    def write(self, out_dir: Path, device: str, merged: Merged, entry: dict[str, Any]) -> None:
        """Write the device's two files; ``entry["files"]`` gets the state of each (by suffix) at ``finish``,
        to recognise them on later runs."""
        texts = {".json": config_json(merged.config), ".xml": netconf_payload(merged.xml)}
        self._pending.append((entry, self._pool.submit(_write_files, out_dir, device, texts)))

    def finish(self) -> None:
        pending, self._pending = self._pending, []
        for entry, written in pending:
            entry["files"] = written.result()


def _write_files(out_dir: Path, device: str, texts: dict[str, str]) -> dict[str, FileState]:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file of that name, never replaced: it may be the user's
        raise ChoreoError(
            f"{out_dir}: is a file, not a folder for the configs; remove it or choose another with --out"
        ) from None
    except OSError as err:
        raise ChoreoError(f"{out_dir}: cannot create the folder for the configs: {err.strerror or err}") from None
    states = {}
    for suffix, text in texts.items():
        path = out_dir / f"{device}{suffix}"
        _write(path, text)
        written = path.lstat()
        states[suffix] = {"sha256": _sha256(text.encode()), "size": written.st_size, "mtimeNs": written.st_mtime_ns}
    return states


def files_intact(out_dir: Path, device: str, states: dict[str, FileState]) -> bool:
    """Whether the device's files are still the ones the stage wrote: a deleted, edited or replaced one is not."""
    folder = os.fspath(out_dir)  # plain text paths: a server checks every device's files on each pass
    return sorted(states) == sorted(SUFFIXES) and all(
        _intact(os.path.join(folder, f"{device}{suffix}"), state) for suffix, state in states.items()
    )


def remove_written(out_dir: Path, device: str, states: dict[str, FileState]) -> None:
    """Remove the files of a device that is gone, those still as the stage wrote them (never a user's own)."""
    for suffix, state in states.items():
        path = out_dir / f"{device}{suffix}"
        if _intact(path, state):
            path.unlink(missing_ok=True)


def _intact(path: Path | str, state: FileState) -> bool:
    """Size and time first; when the time moved, the content decides."""
    try:
        found = os.lstat(path)
        if not stat.S_ISREG(found.st_mode) or found.st_size != state["size"]:
            return False
        return found.st_mtime_ns == state["mtimeNs"] or _sha256(Path(path).read_bytes()) == state["sha256"]
    except OSError:
        return False


def remove_files(out_dir: Path, device: str) -> None:
    """A failing device must not leave a stale, once-valid config behind: its previous files are removed."""
    for suffix in SUFFIXES:
        (out_dir / f"{device}{suffix}").unlink(missing_ok=True)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write(path: Path, text: str) -> None:
    """Write through a temporary file and a rename: a reader never sees half a config, and a link a project
    left at ``path`` is replaced, never followed (it could point at any file of the user's)."""
    try:
        write_atomic(path, text)
    except OSError as err:
        raise ChoreoError(f"{path}: cannot write: {err.strerror or err}") from None


def write_reports(reports: dict[str, str], devices: list[DeviceReport]) -> None:
    if "junit" in reports:
        write_report("junit", reports["junit"], junit_report(devices))
    if "json" in reports:
        write_report("json", reports["json"], json_text(json_report(devices)))


def json_report(devices: list[DeviceReport]) -> dict[str, Any]:
    return {
        "valid": all(d.valid for d in devices),
        "devices": [
            {
                "name": d.name,
                "namespace": d.namespace,
                "profile": d.profile,
                "valid": d.valid,
                "errors": [_json_problem(p) for p in d.problems],
            }
            for d in devices
        ],
    }


def _json_problem(problem: Problem) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "path": problem.path,
        "message": problem.message,
        "sources": [{"resource": s.ref(), "reconciler": s.reconciler, "intent": s.intent} for s in problem.sources],
    }
    if problem.line:
        entry["line"] = problem.line
    if problem.follow_ons:
        entry["followOns"] = [_json_problem(f) for f in problem.follow_ons]
    return entry


def junit_report(devices: list[DeviceReport]) -> str:
    """A test case per device, a failure per error (its YANG path as the failure's type)."""
    cases = tuple(
        JUnitCase(device.profile or "no-profile", device.name, tuple(
            JUnitFailure(problem.message, line, problem.path or "/")
            for line, problem in zip(device.error_lines(), device.problems, strict=True)
        ))
        for device in devices
    )
    return junit_xml("choreo schema", [JUnitSuite("schema", cases)])
