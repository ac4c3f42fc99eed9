"""The project-folder feeder: a served project folder's edits reach the server without a restart.

``choreo server start DIR`` serves what DIR holds. An operator edits ``in/``, ``crds/``, ``reconcilers/``,
``libs/``, ``refs/`` or ``schemas/`` and expects the server to follow, as a controller's feeder turns a
source of change into work. The feeder watches those folders (inotify through ``watchfiles``, polling
where inotify is not available), gathers a burst of changes (an editor's save, a ``git checkout``) into
one, and hands it to the runtime's ordinary load — the same path as ``choreo run load``: one transaction,
and a bad file is a log line that changes nothing.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import watchfiles

Log = Callable[..., None]

WATCHED = ("in", "crds", "reconcilers", "libs", "refs", "schemas")
DEBOUNCE_MS = 300  # the longest a burst of changes is gathered before it is loaded
STEP_MS = 50  # a burst ends once nothing changed for this long
POLL_MS = 200  # how often the polling fallback looks


class FolderFeeder:
    """A thread that calls ``reload(changed paths)`` after each burst of changes under the watched folders."""

    def __init__(self, root: Path, reload: Callable[[list[str]], None], log: Log) -> None:
        self.root = root.resolve()
        self._reload = reload
        self._log = log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="choreo-feeder", daemon=True)
        self._default_filter = watchfiles.DefaultFilter()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def relevant(self, change: watchfiles.Change, path: str) -> bool:
        """Whether a change is one of the project's inputs (not the state folder, ``out/`` or editor litter)."""
        try:
            parts = Path(path).resolve().relative_to(self.root).parts
        except ValueError:
            return False
        return bool(parts) and parts[0] in WATCHED and self._default_filter(change, path)

    def _main(self) -> None:
        try:
            self._watch(polling=False)
        except OSError as exc:  # no inotify (limits, some file systems): look every POLL_MS instead
            self._log("feeder-polling", level="warning", reason=str(exc))
            self._watch(polling=True)
        except Exception as exc:
            self._log("feeder-crashed", level="error", error=repr(exc), trace=traceback.format_exc())

    def _watch(self, *, polling: bool) -> None:
        self._log("feeder-started", folder=str(self.root), watching=",".join(WATCHED), polling=polling)
        changes: Any
        for changes in watchfiles.watch(
            self.root,
            watch_filter=self.relevant,
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            stop_event=self._stop,
            force_polling=polling,
            poll_delay_ms=POLL_MS,
            raise_interrupt=False,
        ):
            paths = sorted({str(Path(path).resolve().relative_to(self.root)) for _change, path in changes})
            try:
                self._reload(paths)
            except Exception as exc:  # a bug must not end the watch: the next edit is tried again
                self._log("feed-crashed", level="error", error=repr(exc), trace=traceback.format_exc())
