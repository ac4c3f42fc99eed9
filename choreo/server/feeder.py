"""The project-folder feeder: a served project folder's edits reach the server without a restart.

``choreo server start DIR`` serves what DIR holds. An operator edits ``in/``, ``crds/``, ``reconcilers/``,
``libs/``, ``refs/`` or ``schemas/`` and expects the server to follow, as a controller's feeder turns a
source of change into work. The feeder watches those folders (inotify through ``watchfiles``, polling
where inotify is not available), gathers a burst of changes (an editor's save, a ``git checkout``) into
one, and hands it to the runtime's ordinary load — the same path as ``choreo run load``: one transaction,
and a bad file is a log line that changes nothing.

Editors and tools leave short-lived files beside the ones they save (vim's ``4913`` probe, ``sed -i``'s
``sedXXXXXX``, an atomic save's temporary name) that watchfiles' default filter does not know. A file that
is gone after its burst and was not there before it is such litter: it is neither loaded nor reported, and
a burst of nothing else loads nothing. The feeder keeps the set of files it has seen under the watched
folders to tell a removed input (reported) from removed litter (dropped).
"""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Callable, Iterable
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
        self._seen: set[str] = set()  # files under the watched folders, relative to root, as last seen

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def relevant(self, change: watchfiles.Change, path: str) -> bool:
        """Whether a change is one of the project's inputs (not the state folder, ``out/`` or editor litter).

        Every commit of the store changes ``.choreo/`` and every ``-s`` pass writes ``out/``: a change under
        a top folder that is not watched, and not a link (which could lead into one that is), is dropped
        by its name, without resolving the path."""
        top = self._top_folder(path)
        if top is not None and top not in WATCHED and not os.path.islink(os.path.join(self.root, top)):
            return False
        try:
            parts = Path(path).resolve().relative_to(self.root).parts
        except ValueError:
            return False
        return bool(parts) and parts[0] in WATCHED and self._default_filter(change, path)

    def _top_folder(self, path: str) -> str | None:
        """The first name of ``path`` below the root, as written (None: not written below the root)."""
        root = str(self.root)
        if not path.startswith(root + os.sep):
            return None
        return path[len(root) + 1 :].partition(os.sep)[0]

    def settled(self, changes: Iterable[tuple[watchfiles.Change, str]]) -> list[str]:
        """The paths of a burst of ``changes`` (absolute) worth a load, relative to the root and sorted: each
        one that exists now, or that was (or held) a file seen before. Brings the set of seen files up to
        date."""
        kept = set()
        for change, path in changes:
            target = Path(path).resolve()
            relative = str(target.relative_to(self.root))
            if target.exists():
                kept.add(relative)
                if change == watchfiles.Change.added or not target.is_dir():  # a folder moved in: its files
                    self._note(target)
            elif relative in self._seen:  # a removed file
                kept.add(relative)
                self._seen.discard(relative)
            else:  # a folder removed or moved away, with the files it held; or litter: none
                held = {seen for seen in self._seen if seen.startswith(relative + "/")}
                if held:
                    kept.add(relative)
                    self._seen -= held
        return sorted(kept)

    def _note(self, target: Path) -> None:
        """Remember ``target`` (a file, or every file under a folder) as seen."""
        files = target.rglob("*") if target.is_dir() else [target]
        self._seen.update(
            str(path.relative_to(self.root)) for path in files
            if path.is_file() and self._default_filter(watchfiles.Change.added, str(path))
        )

    def _look_around(self) -> None:
        """Note the files already under the watched folders (a later removal of one of them is reported)."""
        for folder in WATCHED:
            if (self.root / folder).is_dir():
                self._note(self.root / folder)

    def _main(self) -> None:
        self._look_around()
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
            paths = self.settled(changes)
            if not paths:
                continue
            try:
                self._reload(paths)
            except Exception as exc:  # a bug must not end the watch: the next edit is tried again
                self._log("feed-crashed", level="error", error=repr(exc), trace=traceback.format_exc())
