"""A load of the project folder that the server refused: told where kubectl users look, and tried again when
the object that blocked it goes away.

A refused load (a bad file, a reconciler wired to a kind nobody serves, a file naming an object a client
created through the API) changes nothing and the previous load keeps serving; the server's log says why.
An operator who looks at the cluster instead (``kubectl get events``) sees it too: ``report`` records a
``Warning`` Event with reason ``LoadRefused`` and the refusal's message (the file, and the object when it
names one), through the one path that writes Events (``choreo.server.events``), so that a refusal repeated
by every save counts up one Event. The Event is about the object that blocked the load (``kubectl describe``
of it shows it) or, when the refusal is about no stored object, about the Namespace the Event is kept in.

A file that names an object a client created (``choreo.loader.sync.TakeOverRefused``) loads once that object
is deleted, or no longer belongs to the store (it took an owner, say): nothing in the folder changes then,
so no save would load it. ``Unblocker`` watches the store for that and loads the folder again, the same
load as a save's. That holds for the first load too: a server whose folder does not load at its start serves
the store as it is (``ProjectRuntime.serving``), where a client can delete that object.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from choreo.apiserver.interface import ObjectAPI
from choreo.errors import ChoreoError
from choreo.loader.sync import TakeOverRefused, taken_by_api
from choreo.server.events import DEFAULT_NAMESPACE, WARNING, EventRecorder

Object = dict[str, Any]
Log = Callable[..., None]

LOAD_REFUSED = "LoadRefused"
LOOK_EVERY = 0.5  # seconds between two looks at the object that blocks a load


def report(api: ObjectAPI, error: ChoreoError, log: Log) -> None:
    """Record the refusal ``error`` as a Warning Event (a failure to write it is logged, not raised: the load
    was refused either way)."""
    try:
        regarding = _regarding(api, error)
        EventRecorder(api).record(regarding, type_=WARNING, reason=LOAD_REFUSED, message=str(error), action="Load")
    except Exception as exc:  # the store fails too (it may be why the load was refused): said, and that is all
        log("refusal-report-failed", level="error", error=str(exc) if isinstance(exc, ChoreoError) else repr(exc))


def _regarding(api: ObjectAPI, error: ChoreoError) -> Object:
    """What the Event is about: the stored object that blocked the load, else the Namespace it is kept in."""
    if isinstance(error, TakeOverRefused):
        key = error.key
        stored = api.view(key.group, key.kind, key.namespace, key.name)
        if stored is not None:
            return stored
    namespace = api.view("", "Namespace", "", DEFAULT_NAMESPACE)
    return namespace or {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": DEFAULT_NAMESPACE}}


class Unblocker:
    """A thread that loads the folder again (``retry``) once the object that blocked its last load
    (``blocked``) is deleted or no longer belongs to the store; ``api`` gives the API to look in (the one
    serving, or the store's when no load has succeeded yet)."""

    def __init__(self, api: Callable[[], ObjectAPI], retry: Callable[[TakeOverRefused], None], log: Log) -> None:
        self._api = api
        self._retry = retry
        self._log = log
        self._refusal: TakeOverRefused | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def blocked(self, refusal: TakeOverRefused | None) -> None:
        """The last load was refused by ``refusal`` (None: it loaded, or was refused for another reason)."""
        self._refusal = refusal
        if refusal is None:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._main, name="choreo-unblocker", daemon=True)
            self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def _main(self) -> None:
        # The object must be found gone at two looks in a row. A client that deletes it and waits for it to go
        # (``kubectl delete``) reads it again right after the delete is answered, and if it is still there
        # (a finalizer) lists it a moment later and waits for what it lists to be deleted: a load that brought
        # the file's object back in between would keep kubectl waiting for ever (a week, its default).
        free_since: TakeOverRefused | None = None  # the refusal whose object the last look found gone
        while not self._stop.is_set():
            refusal = self._refusal
            if refusal is None:
                self._wake.wait()
                self._wake.clear()
                continue
            try:
                free = taken_by_api(self._api(), refusal.key) is None
                if free and free_since is refusal and self._refusal is refusal:
                    self._refusal = None
                    self._retry(refusal)  # refused again: ``blocked`` names what blocks it now
                    continue
                free_since = refusal if free else None
            except Exception as exc:  # a bug, or a store closing under it: said, and looked at again later
                self._log("unblocker-error", level="error", error=repr(exc), trace=traceback.format_exc())
            # A look, not a wait for the store's next change: that wakes at every commit of the runner's
            # groups of reconciles, and each look then makes the next group end early (it waits for the store).
            self._stop.wait(LOOK_EVERY)
