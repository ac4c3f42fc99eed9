"""The long-running server process: serve one project (static mode) or whatever project a client applies
(dynamic mode) over the Kubernetes-compatible HTTP API, with a runner, JSON-lines logs and clean shutdown.

Static mode (``choreo server start DIR``) loads DIR and, unless told not to, starts the continuous runner.
Dynamic mode (``choreo server start`` without DIR) waits for ``choreo server apply URL DIR REF [BRANCH]``:
the repository is cloned into the workspace and checked out; a production context (no branch) starts the
runner, a development context only loads (``choreo run once`` then runs it). Applying another REF switches
(a rollback is just applying the older REF); a switch that fails puts the previous context back at its
commit. A restarted dynamic server serves the saved context as static mode serves its folder: when it does
not load, the store as it is. ``shutdown`` abandons the reconcile in flight (user code may compute until its
time limit; it runs again at the next start), a load, and git cloning or fetching for an apply, stops the
runner, stops serving, and closes the store; everything acknowledged is already committed.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from choreo.abandon import Abandonable, Abandoned
from choreo.apiserver.server import APIServer
from choreo.errors import BadRequest, ChoreoError, NotFound
from choreo.runtime.folder_lock import FolderLock, Holder
from choreo.runtime.session import RunOptions, RunRecord
from choreo.runtime.state import state_folder
from choreo.server.http import APIHTTPServer
from choreo.server.project import ProjectRuntime, stage_json
from choreo.server.protocol import DEFAULT_ADDRESS, Limits, MethodNotAllowed, Unavailable
from choreo.server.versioning import VersionControl, execute
from choreo.server.workspace import ContextSpec, Workspace

Object = dict[str, Any]
NOT_LOADED = "no project is loaded yet: `choreo server apply URL DIR REF` sets one"


class ServerLog:
    """Structured logs on stderr, one line per event (``debug`` lines only when asked).

    ``json``: one JSON object per line, for log collectors; ``text``: ``time level event key=value ...`` for
    people at a terminal. The default follows the stream: text on a terminal, JSON otherwise."""

    def __init__(self, stream: TextIO | None = None, *, debug: bool = False, fmt: str | None = None) -> None:
        self.stream = stream or sys.stderr
        self.debug = debug
        self.fmt = fmt or ("text" if self.stream.isatty() else "json")
        self._lock = threading.Lock()

    def __call__(self, event: str, level: str = "info", **fields: Any) -> None:
        if level == "debug" and not self.debug:
            return
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        if self.fmt == "text":
            pairs = " ".join(f"{key}={_text_value(value)}" for key, value in fields.items())
            line = f"{now} {level.upper():5} {event}" + (f" {pairs}" if pairs else "")
        else:
            line = json.dumps({"time": now, "level": level, "event": event, **fields}, default=str)
        with self._lock:
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except (OSError, ValueError):
                self._gone()

    def _gone(self) -> None:
        """The stream can take no more lines: the terminal the server ran in was closed (the SIGHUP that stops
        it comes with that) or the reader of its pipe ended. The server goes on, or stops as asked, without
        its log: the stream's descriptor is pointed at /dev/null, so that neither this line nor the exit's
        flush fails again (a failure here ended the stop half-way, with exit code 1)."""
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)


def _text_value(value: Any) -> str:
    """A field as ``key=value`` shows it: bare when it is one plain word, else JSON-quoted (one line)."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    plain = text and not any(c.isspace() or c in '"=' for c in text)
    return text if plain else json.dumps(text)


def parse_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ChoreoError(f"--address {address}: expected HOST:PORT (for example {DEFAULT_ADDRESS})")
    return host.strip("[]") or "0.0.0.0", int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class ServerConfig:
    """What ``choreo server start`` was told: where to listen, how to run, and which mode."""

    address: tuple[str, int]
    options: RunOptions
    token: str | None = None
    root: Path | None = None  # static mode project folder
    workspace: Path | None = None  # dynamic mode clones
    run: bool = True  # static mode: start the continuous runner
    limits: Limits = field(default_factory=Limits)  # what one request may ask of the HTTP API
    watch: bool = True  # static mode: load the folder again when it changes (choreo.server.feeder)


class ContextRefused(ChoreoError):
    """``server apply`` named a context that cannot be served (its clone, checkout or project load failed)."""

    reason = "Invalid"
    code = 422


def _client_error(exc: ChoreoError) -> ChoreoError:
    """A failed context switch as the client's mistake: the repository, ref or project it named is at
    fault, not the server (a 4xx as it is, else 422 with the same message)."""
    return exc if 400 <= exc.code < 500 else ContextRefused(str(exc))


class ServerApp:
    """The server process: the active project runtime, its context (dynamic mode) and the HTTP listener;
    it is the ``ServerContext`` the HTTP layer calls back into."""

    def __init__(self, config: ServerConfig, log: ServerLog) -> None:
        self.config = config
        self.token = config.token
        self.stopping = threading.Event()
        self._log = log
        self.runtime: ProjectRuntime | None = None
        self._activating: ProjectRuntime | None = None  # a context's runtime being brought up (dynamic mode)
        self._git_work = Abandonable()  # the workspace's clones and checkouts: a stop does not wait for them
        self.context: ContextSpec | None = None
        self.context_refused = ""  # why the context saved by an earlier server is not served (dynamic mode)
        self.workspace = Workspace(config.workspace) if config.root is None and config.workspace else None
        self._switch = threading.Lock()
        self._httpd: APIHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._served: FolderLock | None = None  # taken once the address is ours (``bind``)
        self.state_lost = ""  # why ``wait`` stopped serving by itself

    # ---------------------------------------------------------------- ServerContext

    def current_api(self) -> APIServer:
        runtime = self.runtime
        if runtime is None:
            raise self._not_loaded()
        if runtime.api is None and not runtime.reason:
            raise Unavailable("the project folder is being loaded")
        return runtime.serving()  # the store as it is, while the folder does not load

    def unloaded(self) -> Unavailable | None:
        """Why the project's objects are served only as the store holds them (None: its folder is loaded)."""
        runtime = self.runtime
        if runtime is None:
            return self._not_loaded()
        if runtime.api is None:
            return Unavailable(f"the project folder does not load: {runtime.reason}" if runtime.reason
                               else "the project folder is being loaded")
        return None

    def _not_loaded(self) -> Unavailable:
        return Unavailable(f"{self.context_refused}; {NOT_LOADED}" if self.context_refused else NOT_LOADED)

    def log(self, event: str, **fields: Any) -> None:
        self._log(event, **fields)

    def check_write(self, group: str, kind: str, namespace: str, name: str) -> None:
        if self.runtime is not None:
            self.runtime.check_write(group, kind, namespace, name)

    def check_create(self, group: str, kind: str, namespace: str, name: str) -> None:
        if self.runtime is not None:
            self.runtime.check_create(group, kind, namespace, name)

    def check_delete(self, group: str, kind: str, namespace: str, name: str) -> None:
        if self.runtime is not None:
            self.runtime.check_delete(group, kind, namespace, name)

    def control(self, method: str, parts: list[str], body: Any) -> tuple[int, Any]:
        routes: dict[tuple[str, tuple[str, ...]], Callable[[Any], Any]] = {
            ("GET", ("status",)): lambda _b: self.describe(),
            ("POST", ("run", "once")): lambda _b: self._run_once(),
            ("POST", ("run", "start")): lambda _b: self._mode(lambda rt: rt.start()),
            ("POST", ("run", "stop")): lambda _b: self._mode(lambda rt: rt.stop()),
            ("POST", ("run", "load")): lambda _b: self._mode(lambda rt: rt.load()),
            ("GET", ("run", "result")): lambda _b: self._result(),
            ("POST", ("context",)): self._apply_context,
            ("POST", ("versioncontrol",)): self._version_control,
        }
        route = routes.get((method, tuple(parts)))
        if route is None:
            if any(key[1] == tuple(parts) for key in routes):
                raise MethodNotAllowed(f"{method} is not allowed on /choreo/v1/{'/'.join(parts)}")
            raise NotFound(f"no choreo endpoint /choreo/v1/{'/'.join(parts)}")
        return 200, route(body)

    # ---------------------------------------------------------------- control

    def _runtime(self) -> ProjectRuntime:
        if self.runtime is None:
            raise self._not_loaded()
        return self.runtime

    def describe(self) -> Object:
        if self.context is not None:
            info: Object = {"context": self.context.name(), "mode": self.context.mode, "commit": self.context.commit}
        elif self.config.root is not None:
            info = {"context": f"static {self.config.root}", "mode": "static"}
        else:
            info = {"context": "", "mode": "dynamic"}
        if self.runtime is None:
            return {**info, "status": "Stopped", "reason": self.context_refused or "no project applied"}
        return {**info, **self.runtime.describe()}

    def _mode(self, change: Callable[[ProjectRuntime], Any]) -> Object:
        change(self._runtime())
        return self.describe()

    def _run_once(self) -> Object:
        record, stages = self._runtime().once()
        return {"record": record.to_json(), "stages": [stage_json(s) for s in stages]}

    def _result(self) -> Object:
        """The latest pass; while the folder does not load, also why (that pass is an earlier server's, and
        nothing is reconciled until the folder loads)."""
        unloaded = self.unloaded()
        record: RunRecord | None = self._runtime().latest()
        if record is None:
            if unloaded is not None:
                raise unloaded
            raise NotFound("no run recorded yet: run `choreo run once` first")
        retries = [retry.to_json() for retry in self._runtime().retries()]
        said = {"notLoaded": str(unloaded)} if unloaded is not None else {}
        return {"record": record.to_json(), "stages": [], "retries": retries, **said}

    def _apply_context(self, body: Any) -> Object:
        if self.workspace is None:
            raise BadRequest(
                f"this server serves {self.config.root} (static mode): `server apply` needs a server started "
                "without a project folder"
            )
        if not isinstance(body, dict) or not all(isinstance(body.get(k), str) and body[k] for k in ("url", "ref")):
            raise BadRequest("a context needs url, path and ref (strings)")
        spec = ContextSpec(body["url"], str(body.get("path") or "."), body["ref"], str(body.get("branch") or ""))
        with self._switch:
            try:
                self._switch_to(spec)
            except ChoreoError as exc:
                if self.stopping.is_set():
                    raise Unavailable(f"the server is stopping: the switch to {spec.name()} was abandoned") from None
                raise _client_error(exc) from None
        return self.describe()

    def _version_control(self, body: Any) -> Object:
        """``branch ...``, ``run commit``, ``run push`` on the served project's repository (static mode) or
        on the context's clone (production contexts refuse the changing ones); a development context
        follows the branch checked out and its commit, so a restart serves the same."""
        if not isinstance(body, dict):
            raise BadRequest("version control: expected {command, args}")
        with self._switch:
            if self.config.root is not None:
                return {"lines": execute(VersionControl(self.config.root), body.get("command"), body.get("args"))}
            spec = self.context
            if spec is None or self.workspace is None:
                raise self._not_loaded()
            control = VersionControl(self.workspace.project_folder(spec), "" if spec.branch else spec.name())
            lines = execute(control, body.get("command"), body.get("args"))
            branch = control.tree.current_branch()
            head = control.tree.git("rev-parse", "HEAD", what="reading HEAD")
            if spec.branch and branch and (branch, head) != (spec.branch, spec.commit):
                spec.ref, spec.branch, spec.commit = branch, branch, head  # it serves the branch as it is now
                self.workspace.save(spec)
            return {"lines": lines}

    def _switch_to(self, spec: ContextSpec) -> None:
        assert self.workspace is not None
        old, previous = self.runtime, self.context
        if old is not None:
            old.stop()
        try:
            runtime = self._activate(spec, old)
        except ChoreoError as exc:
            if self.stopping.is_set():  # abandoned (logged): the server stops with the previous context saved
                raise
            self._log("context-failed", level="error", context=spec.name(), error=str(exc))
            if previous is not None and old is not None:
                self._restore(previous, old)
            raise
        if old is not None and runtime is not old:
            old.close()
        self.runtime, self.context, self.context_refused = runtime, spec, ""
        self.workspace.save(spec)
        self._log("context", context=spec.name(), mode=spec.mode, commit=spec.commit)

    def _checked_out(self, spec: ContextSpec, bring: Callable[[ContextSpec], Path]) -> Path:
        """``spec``'s project folder, its clone brought there by ``bring`` (``Workspace.checkout`` or
        ``restore``); a stop signal meanwhile ends git at once (``Unavailable``), the workspace left as a
        restart can trust (``choreo.server.workspace``)."""
        try:
            with self._git_work.within():
                return bring(spec)
        except Abandoned:
            self._log("context-abandoned", context=spec.name())
            raise Unavailable(f"the server is stopping: the switch to {spec.name()} was abandoned") from None

    def _activate(self, spec: ContextSpec, old: ProjectRuntime | None) -> ProjectRuntime:
        assert self.workspace is not None
        folder = self._checked_out(spec, self.workspace.checkout)
        reuse = old is not None and old.root == folder
        runtime = old if reuse and old is not None else self._open_runtime(folder)
        self._activating = runtime  # a stop abandons its load (``interrupt``)
        if self.stopping.is_set():
            runtime.abandon()
        try:
            runtime.bring_up(run=not spec.branch)
        except ChoreoError:
            if runtime is not old:
                runtime.close()
            raise
        finally:
            self._activating = None
        return runtime

    def _open_runtime(self, folder: Path) -> ProjectRuntime:
        """A runtime on a context's project folder, holding the folder's lock as a static server holds its own
        (``choreo.runtime.folder_lock``): a static server or a batch run of the clone's folder would write the
        same store. A batch run of it is waited for (a stop ends the wait); a server of it refuses the
        context."""
        lock = FolderLock(folder, state_folder(folder))
        try:
            with self._git_work.within():  # the scope a stop abandons: it ends the wait for a batch run
                self._hold(lock)
        except Abandoned:
            raise Unavailable(f"the server is stopping: {folder} was not served") from None
        try:
            runtime = ProjectRuntime(folder, self.config.options, self._log)
        except BaseException:
            lock.release()
            raise
        runtime.folder_lock = lock  # released when the runtime closes
        return runtime

    def _restore(self, spec: ContextSpec, runtime: ProjectRuntime) -> None:
        """Put the previous context back after a failed switch, at the commit it was served at (best effort,
        logged)."""
        assert self.workspace is not None
        try:
            self._checked_out(spec, self.workspace.restore)
            runtime.bring_up(run=not spec.branch)
        except ChoreoError as exc:
            self._log("context-restore-failed", level="error", context=spec.name(), error=str(exc))

    # ---------------------------------------------------------------- lifecycle

    def boot(self) -> None:
        """Load the static project, or the dynamic context saved by a previous run. A stop signal meanwhile
        (``interrupt``) abandons the load; nothing is served then. A static folder that does not load leaves
        the store served as it is (``ProjectRuntime.serving``) until it does."""
        if self.config.root is not None:
            runtime = ProjectRuntime(self.config.root, self.config.options, self._log)
            self.runtime = runtime  # before its load: ``interrupt`` abandons that too (nothing is served yet)
            if self.stopping.is_set():
                runtime.abandon()
            try:
                runtime.bring_up(run=self.config.run)
            except ChoreoError:  # logged (load-failed): the store is served as it is until the folder loads
                self._serving_stored(runtime, "a save")
            if self.config.watch and not self.stopping.is_set():
                runtime.watch_folder()
        elif self.workspace is not None:
            with self._switch:
                self._serve_saved()

    def _serve_saved(self) -> None:
        """Serve the context an earlier server saved, at the commit it served (``Workspace.restore``: nothing
        is fetched that the clone has). A project folder that does not load leaves its store served as it
        is, as in static mode; a context that cannot be checked out at all is reported (log, ``server
        get``, 503s) and the server waits for ``server apply``. Neither stops the server."""
        assert self.workspace is not None
        saved: ContextSpec | None = None
        try:
            saved = self.workspace.saved()
            if saved is None:
                return
            runtime = self._open_runtime(self._checked_out(saved, self.workspace.restore))
        except ChoreoError as exc:
            if self.stopping.is_set():
                return
            which = f" ({saved.name()})" if saved is not None else ""
            self.context_refused = f"the context saved by the previous server{which} cannot be served: {exc}"
            self._log("context-failed", level="error", error=self.context_refused)
            return
        self.runtime, self.context = runtime, saved  # before its load: ``interrupt`` abandons that too
        if self.stopping.is_set():
            runtime.abandon()
        try:
            runtime.bring_up(run=not saved.branch)
        except ChoreoError:  # logged (load-failed)
            self._serving_stored(runtime, "`choreo run load`")
            return
        self._log("context", context=saved.name(), mode=saved.mode, commit=saved.commit)

    def _serving_stored(self, runtime: ProjectRuntime, retry: str) -> None:
        """Say that the folder did not load at the start, and what is served meanwhile (not after a stop)."""
        if runtime.reason:
            self._log("serving-stored", level="warning", project=str(runtime.root),
                      reason="the project folder does not load: its objects are served as stored, not "
                      "reconciled; only objects created through the API can be changed or deleted "
                      f"until {retry} (or the deletion the refusal asks for) makes it load")

    def bind(self) -> None:
        """Take the address now, before a project is loaded: a busy port is found at once, not after a
        long load (connections wait in the socket's backlog until ``listen`` starts serving)."""
        if self._httpd is not None:
            return
        try:
            self._httpd = APIHTTPServer(self.config.address, self, self.config.limits)
        except OSError as exc:
            host, port = self.config.address
            raise ChoreoError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self._served = self._folder_lock()
        if self._served is not None:
            self._hold(self._served)

    def _hold(self, lock: FolderLock) -> None:
        """Take ``lock`` as this server (at its address once bound): a batch run of the folder is waited for,
        and said so; a file system without locks is warned of (``choreo.runtime.folder_lock``)."""
        folder = str(lock.folder)
        bound = self._httpd.server_address if self._httpd is not None else None
        address = f"{bound[0]!s}:{bound[1]}" if bound is not None else ""

        def waiting(run: Holder) -> None:
            going = f"a choreo run of the folder is going ({run}); serving once it ends"
            self._log("waiting", folder=folder, reason=going)

        if not lock.take("server", address=address, waiting=waiting):
            self._log("unlocked", level="warning", folder=folder,
                      reason="no lock can be taken there: nothing stops a second server on it")

    def _folder_lock(self) -> FolderLock | None:
        """The lock of what this server serves (``choreo.runtime.folder_lock``): the project folder, kept in its
        state folder (none when that folder cannot be made: the load reports why), or the workspace."""
        if self.config.root is not None:
            try:
                return FolderLock(self.config.root, state_folder(self.config.root))
            except (ChoreoError, OSError):
                return None
        return FolderLock(self.workspace.root, self.workspace.root) if self.workspace is not None else None

    def listen(self) -> tuple[str, int]:
        self.bind()
        assert self._httpd is not None
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="choreo-http", daemon=True)
        self._thread.start()
        bound = self._httpd.server_address
        host, port = str(bound[0]), int(bound[1])
        self._log("listening", address=f"{host}:{port}", auth="token" if self.token else "none")
        return host, port

    def wait(self) -> None:
        """Serve until told to stop, or until the state folder is lost (``state_lost``)."""
        while not self.stopping.wait(0.5):
            runtime = self.runtime
            for lock in (self._served, runtime.folder_lock if runtime is not None else None):
                if lock is not None and lock.lost():
                    self.state_lost = (
                        f"{lock.path.parent}: the state folder was deleted or replaced while serving: the store "
                        "this server wrote to went with it (nothing it acknowledged from then on would be kept) "
                        "and another server could take the folder; stopped: start it again"
                    )
                    self._log("state-lost", level="error", folder=str(lock.folder), error=self.state_lost)
                    return

    def interrupt(self) -> None:
        """A stop signal (the handler calls this, in the main thread, wherever that thread was): stop serving, and
        abandon at once what the project's runtime is doing (``ProjectRuntime.abandon``: the reconcile in
        flight, a load of the folder, the stages of a pass), which the main thread itself may be doing (the
        first load). A second signal changes nothing: the stop is under way."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        self._abandon()

    def _abandon(self) -> None:
        """No waiting for user code that may compute until its time limit, nor for a load, the stages or git."""
        self._git_work.abandon()
        for runtime in (self.runtime, self._activating):
            if runtime is not None:
                runtime.abandon()

    def shutdown(self) -> None:
        """Abandon what the project's runtime is doing (the reconcile in flight, a load, the stages), stop serving,
        close the store."""
        self.stopping.set()
        self._log("stopping")
        self._abandon()
        with self._switch:
            if self.runtime is not None:
                self.runtime.stop()
            if self._httpd is not None:
                if self._thread is not None:  # shutdown() waits for serve_forever, which may never have started
                    self._httpd.shutdown()
                self._httpd.server_close()
            if self.runtime is not None:
                self.runtime.close()
            if self._served is not None:
                self._served.release()
        self._log("stopped")
