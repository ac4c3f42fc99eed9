"""Runs each reconcile of user code in a worker process, so that no reconcile can take choreo down.

``starlark-pyo3`` allocates natively and has no heap limit: a list of 10^9 elements or a string doubled
40 times makes an allocation fail, and Rust aborts the whole process on that. Templates can be made to
loop for hours without calling anything an in-process check could interrupt. Neither can be stopped
from inside the interpreter, so the evaluation runs in a worker: a child forked from choreo (it
inherits the parsed reconcilers, nothing is re-read) that evaluates one reconcile at a time with its
data segment limited to what it holds plus ``Limits.memory`` (``RLIMIT_DATA``), while choreo waits at
most ``Limits.time`` for it. A worker that aborts or overruns is killed and replaced; choreo reports
the limit and carries on. The engines' own checks (``Budget``) still stop most runaways earlier, with
the same message, keeping the worker.

Every side effect of user code still happens in choreo: the worker's ``ReconcileClient`` sends each
call over a socket and choreo answers it with the real client, checking on the way that no object
written or returned is over ``Limits.output``. Recording a child changes nothing a call could observe
before the children are applied, so a child of a kind choreo sent the rules for (``ChildRules``) is made
in the worker and travels with its next message; choreo records it with the rules applied again (its
owner reference is always choreo's), in the order made. A template's child (``TemplateEngine``) comes
back with the final message. A worker is reused across reconciles (a fork costs a few milliseconds, a
round trip tens of microseconds and two context switches), so the isolation costs little on the hot
path. A worker ends with choreo, also in the middle of a reconcile when choreo is killed (Linux; see
``_Forker``).
Without ``os.fork`` (Windows) reconciles run in-process, bounded only by the engines' checks.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import itertools
import os
import pickle
import queue
import select
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import IO, Any, cast

from choreo import abandon
from choreo.api.objects import clone
from choreo.errors import ChoreoError, Invalid, ReconcileError
from choreo.lang.base import (
    ChildRecorder,
    ChildRules,
    ReconcileClient,
    ReconcileOutput,
    ReconcilerEngine,
    TemplateEngine,
    WaitingWork,
)
from choreo.lang.limits import LimitExceeded, Limits, format_size, json_size_over

try:
    import resource
except ImportError:  # pragma: no cover - not on Unix
    resource = None  # type: ignore[assignment]

AVAILABLE = hasattr(os, "fork")
_HEADER = struct.Struct("!Q")
_CHUNK = 256 * 1024
_WRITES = frozenset({"apply", "create_child"})  # client methods whose argument is an object written
_CALLS = _WRITES | {"get", "list", "apply_children", "delete_children"}
_FRAMES_PER_LEVEL = 25  # Python frames one nested template call may take (Jinja2 macros take about 5)
_STDERR_TAIL = 4096
_BACKTRACE = "\nstack backtrace:\n"  # how Rust begins the backtrace it prints after a panic's message
_OUT_OF_MEMORY = ("memory allocation of", "MemoryError", "out of memory")  # a dead worker ran out of memory
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
STALL_SECONDS = 0.02
"""How long choreo waits for a word from a reconcile's worker before telling the client it stalled
(``WaitingWork.stalled``): most reconciles of the N=1000 fabric take about a millisecond."""

_tokens = itertools.count(1)
_engines: dict[int, weakref.ref[IsolatedEngine]] = {}  # what a forked worker can find by token
_registry_lock = threading.Lock()  # a token is registered by the time a worker may count it as known


class _Gone(Exception):
    """The worker closed its end: it exited or was killed."""


class _Late(Exception):
    """The worker did not answer before the deadline."""


# --- framing: an 8-byte length, then a pickle ------------------------------------------------------


class _Channel:
    """Messages over a socket, read through a buffer so that most take one ``recv``.

    ``receive`` waits until ``deadline`` (``time.monotonic``) when one is given, for ever otherwise."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = bytearray()
        self._outbox = bytearray()
        self._arrivals: select.poll | None = None  # made when first asked (``_take_arrived``)

    def post(self, message: Any) -> None:
        """Send ``message`` with the next ``send``, in the same write."""
        data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
        self._outbox += _HEADER.pack(len(data)) + data

    def send(self, message: Any) -> None:
        data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
        frames = _HEADER.pack(len(data)) + data
        if self._outbox:
            frames, self._outbox = bytes(self._outbox) + frames, bytearray()
        try:
            self.sock.sendall(frames)
        except OSError as exc:
            raise _Gone() from exc

    def receive(
        self,
        deadline: float | None = None,
        meanwhile: Callable[[], bool] | None = None,
        stalled: Callable[[], None] | None = None,
    ) -> Any:
        """The next message. ``meanwhile`` is called again and again, while nothing has arrived, until it
        says nothing is left to do: the waiting side's own work, done while the other side computes. Then
        ``stalled`` is called once if nothing arrives within ``STALL_SECONDS`` (or by ``deadline``)."""
        while True:
            if len(self._buffer) >= _HEADER.size:
                (size,) = _HEADER.unpack_from(self._buffer)
                end = _HEADER.size + size
                if len(self._buffer) >= end:
                    data = bytes(self._buffer[_HEADER.size : end])
                    del self._buffer[:end]
                    return pickle.loads(data)
            if meanwhile is not None:
                if not self._take_arrived() and not meanwhile():
                    meanwhile = None
            elif stalled is not None:
                wait = STALL_SECONDS if deadline is None else min(STALL_SECONDS, deadline - time.monotonic())
                if not self._take_arrived(wait):
                    stalled()
                stalled = None
            else:
                self._fill(deadline)

    def _take_arrived(self, wait: float = 0.0) -> bool:
        """Take what has arrived, waiting at most ``wait`` seconds for it; whether anything had. (A socket
        with a time-out waits even when asked not to: whether there is anything is asked first.)"""
        if self._arrivals is None:
            self._arrivals = select.poll()
            self._arrivals.register(self.sock, select.POLLIN)
        if not self._arrivals.poll(max(int(wait * 1000), 0)):
            return False
        self._fill(None)
        return True

    def _fill(self, deadline: float | None) -> None:
        if deadline is not None:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.0))
        try:
            chunk = self.sock.recv(_CHUNK)
        except TimeoutError:
            raise _Late() from None
        except OSError as exc:
            raise _Gone() from exc
        if not chunk:
            raise _Gone()
        self._buffer += chunk


# --- the worker side -------------------------------------------------------------------------------


class _RemoteClient:
    """The ``ReconcileClient`` inside a worker: every call is answered by choreo's real client.

    A client error comes back as its message and whether it was ``Invalid`` (all the builtins look at);
    ``raised`` remembers which exception stands for which of choreo's, so that one escaping the engine
    is re-raised in choreo as the original.

    Children are made here when choreo sent the rules for their kind (``ChildRules``): recording one
    changes nothing another call could see before the children are applied, so they travel with the
    next message instead of one exchange each, and choreo records them in the same order."""

    def __init__(self, channel: _Channel, rules: ChildRules | None, limit: int) -> None:
        self._channel = channel
        self._rules = rules
        self._limit = limit  # a larger child is sent alone, for choreo to refuse
        self._made: list[tuple[dict[str, Any], int]] = []  # children not sent yet, with json_size_over
        self.raised: dict[int, int] = {}

    def _call(self, method: str, *args: Any) -> Any:
        size = json_size_over(args[0], self._limit) if method in _WRITES else 0
        self.flush()
        self._channel.send(("call", method, args, size))
        reply = self._channel.receive()
        if reply[-1] is not None:  # the rules changed (a kind was registered or removed)
            self._rules = reply[-1]
        if reply[0] == "ok":
            return reply[1]
        _, ref, invalid, message, _ = reply
        error = Invalid(message) if invalid else ChoreoError(message)
        self.raised[id(error)] = ref
        raise error

    def flush(self) -> None:
        """The children made so far go with the next message."""
        if self._made:
            self._channel.post(("children", self._made))
            self._made = []

    def get(self, api_version: str, kind: str, name: str, namespace: str) -> dict[str, Any]:
        return self._call("get", api_version, kind, name, namespace)

    def list(self, api_version: str, kind: str, field_selector: dict[str, str] | None) -> list[dict[str, Any]]:
        return self._call("list", api_version, kind, field_selector)

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        return self._call("apply", obj)

    def create_child(self, obj: dict[str, Any]) -> dict[str, Any]:
        size = json_size_over(obj, self._limit)
        child = self._rules.child(obj) if self._rules is not None and size <= self._limit else None
        if child is None:
            return self._call("create_child", obj)
        self._made.append((child, size))
        return clone(child)

    def apply_children(self) -> None:
        self._call("apply_children")

    def delete_children(self) -> None:
        self._call("delete_children")

    def log(self, message: str) -> None:
        self._channel.send(("log", message))


def _serve(channel: _Channel) -> None:
    """The worker's loop: one reconcile per request until choreo closes its end."""
    memory = _Memory()
    while True:
        try:
            token, obj, rules = channel.receive()
        except _Gone:
            return
        isolated = _engines[token]()
        assert isolated is not None, "an engine in use is alive"
        client = _RemoteClient(channel, rules, isolated.limits.output)
        final = _evaluate(isolated, obj, client, memory)
        if final[0] == "done":  # a failed reconcile's children are never applied: they are not sent either
            client.flush()
        channel.send(final)


def _evaluate(isolated: IsolatedEngine, obj: dict[str, Any], client: _RemoteClient, memory: _Memory) -> tuple[Any, ...]:
    """Run one reconcile under the memory limit; the final message for choreo.

    Sizes of the objects written are measured here, where a structure that is huge as JSON (YAML
    aliases make one from little text) runs into the worker's limits, not into choreo."""
    limits = isolated.limits
    sys.setrecursionlimit(max(1000, limits.depth * _FRAMES_PER_LEVEL))
    memory.limit(limits.memory)
    try:
        engine = isolated.engine
        if isolated.renders_child:  # choreo records the child: no exchange for create_child
            child = cast(TemplateEngine, engine).rendered_child(obj)
            return ("child", child, json_size_over(child, limits.output), json_size_over(obj, limits.output))
        output = engine.reconcile(obj, client)
        return ("done", output, json_size_over(output.obj, limits.output) if output.obj is not None else 0)
    except MemoryError:
        return _limit(limits.memory_exceeded(isolated.source))
    except LimitExceeded as exc:
        return _limit(exc)
    except ChoreoError as exc:
        ref = client.raised.get(id(exc))
        return ("error", str(exc)) if ref is None else ("client-error", ref)
    finally:
        memory.limit(None)


def _limit(exc: LimitExceeded) -> tuple[str, str, str]:
    return ("limit", exc.where, exc.reason)


class _Memory:
    """The worker's memory limit: its data segment may grow by at most a budget from now on.

    ``RLIMIT_DATA`` covers the heap and private anonymous mappings (Linux 4.7+), so an allocation past
    it fails: Python raises ``MemoryError``, Rust aborts the worker; both are reported as the limit.
    Where ``/proc/self/statm`` does not exist the limit is not set (not enforced reliably there)."""

    def __init__(self) -> None:
        self._hard = resource.getrlimit(resource.RLIMIT_DATA)[1] if resource is not None else None
        try:
            self._statm: int | None = os.open("/proc/self/statm", os.O_RDONLY)
        except OSError:
            self._statm = None
        try:
            self._refs: int | None = os.open("/proc/self/clear_refs", os.O_WRONLY)
        except OSError:
            self._refs = None
        self._page = os.sysconf("SC_PAGE_SIZE")

    def limit(self, budget: int | None) -> None:
        """At most ``budget`` more bytes from now; no limit for None. Setting a budget also starts the peak
        of the resident set afresh (``clear_refs``), so that the peak choreo reads when the worker dies
        (``wait4``) is this reconcile's."""
        if resource is None or self._statm is None:
            return
        soft = self._hard
        if budget is not None:
            if self._refs is not None:
                with contextlib.suppress(OSError):
                    os.write(self._refs, b"5")
            data_pages = int(os.pread(self._statm, 256, 0).split()[5])
            soft = data_pages * self._page + budget
            if self._hard != resource.RLIM_INFINITY:
                soft = min(soft, self._hard)
        resource.setrlimit(resource.RLIMIT_DATA, (soft, self._hard))


def _worker_main(sock: socket.socket, errors: IO[bytes]) -> None:
    """The forked child: detach from choreo's state, then serve; never returns.

    It keeps only stdin, stdout, its socket and, as stderr, the file choreo reads when it dies: an
    inherited listening socket, store file or other worker's socket would outlive choreo's use of it."""
    code = 0
    try:
        gc.freeze()  # choreo's objects are not the worker's to collect (their finalizers stay in choreo)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt is choreo's to handle
        os.dup2(errors.fileno(), 2)  # interpreter panics and aborts are read by choreo, not shown
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115 - fd 2 lives as long as the process
        os.closerange(3, sock.fileno())
        os.closerange(sock.fileno() + 1, os.sysconf("SC_OPEN_MAX"))
        os.environ["RUST_BACKTRACE"] = "0"
        _serve(_Channel(sock))
    except BaseException:  # a worker never unwinds into choreo's code: its stack is choreo's
        code = 1
        import traceback  # only a worker that is about to die needs it

        traceback.print_exc()
        sys.stderr.flush()
    finally:
        os._exit(code)


# --- the choreo side -------------------------------------------------------------------------------


class _Worker:
    """A forked worker: its socket, the file its stderr goes to, and the engines it knows."""

    def __init__(self, pid: int, sock: socket.socket, errors: IO[bytes], known: int) -> None:
        self.pid = pid
        self.sock = sock
        self.channel = _Channel(sock)
        self.errors = errors
        self.known = known  # engines with a token up to this existed when it was forked
        self.reusable = False
        self.status: int | None = None  # wait status once reaped (the pid may then be reused)
        self.peak = 0  # once reaped: its largest resident set since its last reconcile began, in bytes
        try:
            self._statm: int | None = os.open(f"/proc/{pid}/statm", os.O_RDONLY)
        except OSError:
            self._statm = None

    def resident(self) -> int:
        """Its resident set now, in bytes (0 where /proc cannot say)."""
        if self._statm is None:
            return 0
        try:
            return int(os.pread(self._statm, 256, 0).split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            return 0

    def kill(self) -> None:
        if self.status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def reap(self) -> int:
        """Wait for the process to end; its wait status."""
        if self.status is None:
            self.sock.close()
            if self._statm is not None:
                os.close(self._statm)
                self._statm = None
            try:
                _, self.status, usage = os.wait4(self.pid, 0)
                self.peak = usage.ru_maxrss * 1024  # KiB on Linux
            except ChildProcessError:
                self.status = 0
        return self.status

    def stderr_size(self) -> int:
        """How much the worker has written to stderr so far."""
        return self.errors.seek(0, os.SEEK_END)

    def stderr_since(self, offset: int) -> tuple[str, str]:
        """The first and the last ``_STDERR_TAIL`` bytes the worker wrote to stderr from ``offset`` on (the
        same text when it is short). An abort writes its reason first; a backtrace may follow it, longer
        than the tail: Rust prints one when its backtrace setting, read once per process and inherited by
        the fork, says so, whatever the worker's environment says by then."""
        end = self.stderr_size()
        self.errors.seek(offset)
        head = self.errors.read(_STDERR_TAIL)
        self.errors.seek(max(end - _STDERR_TAIL, offset))
        return head.decode(errors="replace"), self.errors.read().decode(errors="replace")

    def close(self) -> None:
        self.kill()
        self.reap()
        self.errors.close()


class _Pool:
    """Idle workers, taken by one reconcile at a time and returned when it ended cleanly."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        atexit.register(self.shutdown)

    def shutdown(self) -> None:
        """Stop the idle workers. At exit this comes before choreo frees its objects: while a worker
        lives, every page choreo writes to is first copied (the fork shares them copy-on-write)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()

    @contextlib.contextmanager
    def lease(self, token: int) -> Iterator[_Worker]:
        worker = self._take(token)
        try:
            yield worker
        finally:
            if worker.reusable:
                with self._lock:
                    self._idle.append(worker)
            else:
                worker.close()

    def _take(self, token: int) -> _Worker:
        stale: list[_Worker] = []
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.known >= token:
                    worker.reusable = False
                    break
                stale.append(worker)  # forked before this engine existed
            else:
                worker = None
        for old in stale:
            old.close()
        return worker or self._spawn()

    def _spawn(self) -> _Worker:
        ours, theirs = socket.socketpair()
        errors = tempfile.TemporaryFile()  # noqa: SIM115 - owned by the worker, closed by _Worker.close
        with _registry_lock:
            known = max(_engines, default=0)
        try:
            pid = _FORKER.fork(lambda: _worker_main(theirs, errors))
        finally:
            theirs.close()
        return _Worker(pid, ours, errors, known)


class _Forker:
    """Forks the workers so that they end with choreo, however it ends.

    A worker busy with a reconcile only notices that choreo is gone when it next talks to it: after a
    ``kill -9`` of choreo it would go on computing, for as long as its time limit allows (``--time-limit``
    may be a week). On Linux a worker asks the kernel for ``SIGKILL`` when its parent ends
    (``PR_SET_PDEATHSIG``). The kernel sends it when the *thread* that forked the worker ends, not the
    process, and reconciles run on threads that come and go (a server's runner is restarted by every load
    of the folder, which would kill the workers in the pool): so every worker is forked by one thread that
    lives as long as choreo. Elsewhere workers are forked by the thread that needs one and end when they
    next find their socket closed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: queue.SimpleQueue[tuple[Callable[[], None], list[int | BaseException], threading.Event]]
        self._requests = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._prctl: Callable[..., int] | None = None

    def fork(self, child: Callable[[], None]) -> int:
        """Fork a process that runs ``child`` (which never returns); the child's pid."""
        if not self._start():
            return self._fork(child)
        done: list[int | BaseException] = []
        ready = threading.Event()
        self._requests.put((child, done, ready))
        ready.wait()
        if isinstance(done[0], BaseException):
            raise done[0]
        return done[0]

    def _start(self) -> bool:
        """Start the forking thread once; False where a parent's death cannot be signalled."""
        with self._lock:
            if self._thread is None:
                self._prctl = _prctl()
                if self._prctl is None:
                    return False
                self._thread = threading.Thread(target=self._serve, name="choreo-forker", daemon=True)
                self._thread.start()
            return self._prctl is not None

    def _serve(self) -> None:
        while True:
            child, done, ready = self._requests.get()
            try:
                done.append(self._fork(child))
            except BaseException as exc:  # handed to the thread that asked
                done.append(exc)
            ready.set()

    def _fork(self, child: Callable[[], None]) -> int:
        parent = os.getpid()
        with warnings.catch_warnings():  # Python 3.12+ warns about forking with threads; the worker
            warnings.simplefilter("ignore", DeprecationWarning)  # only uses its own socket and file
            pid = os.fork()
        if pid == 0:
            if self._prctl is not None:
                self._prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
                if os.getppid() != parent:  # choreo ended before the request was made
                    os._exit(0)
            child()
            os._exit(0)  # pragma: no cover - ``child`` never returns
        return pid


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _prctl() -> Callable[..., int] | None:
    """Linux's ``prctl``, or None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return cast(Callable[..., int], ctypes.CDLL(None, use_errno=True).prctl)
    except (OSError, AttributeError, ImportError):
        return None


_FORKER = _Forker()
_POOL = _Pool()


class IsolatedEngine:
    """A ``ReconcilerEngine`` that runs ``engine`` in a worker process under ``limits``.

    ``log`` receives the reconcile's ``print`` output (the client's log when None); ``source`` is the
    file named when the worker has to be stopped without saying where it was."""

    def __init__(
        self,
        engine: ReconcilerEngine,
        source: str,
        limits: Limits,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.engine = engine
        self.source = source
        self.limits = limits
        self.log = log
        # Known once: a check against the runtime-checkable protocol walks its members (~0.2 ms a reconcile)
        self.renders_child = isinstance(engine, TemplateEngine)
        with _registry_lock:
            self.token = next(_tokens)
            _engines[self.token] = weakref.ref(self, _forget(self.token))

    def reconcile(self, obj: dict[str, Any], client: ReconcileClient) -> ReconcileOutput:
        if not AVAILABLE:
            return self.engine.reconcile(obj, client)
        with _POOL.lease(self.token) as worker:
            return _Exchange(self, worker, client).run(obj)


def _forget(token: int) -> Callable[[weakref.ref[IsolatedEngine]], None]:
    """Drop a token from the registry once its engine is gone."""

    def drop(_ref: weakref.ref[IsolatedEngine]) -> None:
        _engines.pop(token, None)

    return drop


class _Exchange:
    """One reconcile as seen from choreo: answer the worker's calls until it sends a final message."""

    def __init__(self, isolated: IsolatedEngine, worker: _Worker, client: ReconcileClient) -> None:
        self.isolated = isolated
        self.limits = isolated.limits
        self.worker = worker
        self.stderr_from = worker.stderr_size()  # what this reconcile's worker writes to stderr comes after
        self.resident_from = worker.resident()
        self.client = client
        self.log = isolated.log or client.log
        self.raised: dict[int, ChoreoError] = {}
        # A client that can record children made by its rules gets them made in the worker.
        self.recorder: ChildRecorder | None = client if hasattr(client, "record_child") else None  # type: ignore[assignment]
        self.rules = self.recorder.child_rules() if self.recorder is not None else None
        # A client with work of its own does it while the worker computes, and hears when the worker stalls.
        self.meanwhile = cast(WaitingWork, client).background if hasattr(client, "background") else None
        self.stalled = cast(WaitingWork, client).stalled if hasattr(client, "stalled") else None

    def run(self, obj: dict[str, Any]) -> ReconcileOutput:
        # The engines stop themselves at the time limit; this bound is for the moments they cannot.
        deadline = time.monotonic() + self.limits.time * 1.1 + 0.1
        scope = abandon.current()  # a server's: it kills the worker when it stops
        if scope is not None:
            scope.enter(self.worker)
        try:
            self.worker.channel.send((self.isolated.token, obj, self.rules))
            while True:
                message = self.worker.channel.receive(deadline, self.meanwhile, self.stalled)
                if message[0] not in ("call", "log", "children"):
                    return self._finish(message, obj)
                if message[0] == "log":
                    self.log(message[1])
                elif message[0] == "children":
                    self._record(message[1])
                else:
                    self._answer(*message[1:])
        except _Late:
            self.worker.kill()
            raise self.limits.time_exceeded(self.isolated.source) from None
        except _Gone:
            if scope is not None and scope.abandoned:
                raise abandon.Abandoned() from None
            raise self._death() from None
        finally:
            if scope is not None:
                scope.leave(self.worker)

    def _answer(self, method: str, args: tuple[Any, ...], size: int) -> None:
        if method not in _CALLS:
            raise ReconcileError(f"{self.isolated.source}: the reconciler's worker asked for {method!r}")
        if method in _WRITES:
            self._check_size(args[0], size)
        try:
            result = getattr(self.client, method)(*args)
        except ChoreoError as exc:
            self.raised[id(exc)] = exc
            self.worker.channel.send(("raise", id(exc), isinstance(exc, Invalid), str(exc), self._changed_rules()))
        else:
            self.worker.channel.send(("ok", result, self._changed_rules()))

    def _changed_rules(self) -> ChildRules | None:
        """The client's child rules when they differ from the worker's (a call registered or removed a kind)."""
        if self.recorder is None:
            return None
        rules = self.recorder.child_rules()
        if rules == self.rules:
            return None
        self.rules = rules
        return rules

    def _record(self, children: list[tuple[dict[str, Any], int]]) -> None:
        """Children the worker made by the client's rules, recorded in the order they were made."""
        if self.recorder is None:
            raise ReconcileError(f"{self.isolated.source}: the reconciler's worker made children without rules")
        for child, size in children:
            self._check_size(child, size)
            self.recorder.record_child(child)

    def _finish(self, message: tuple[Any, ...], obj: dict[str, Any]) -> ReconcileOutput:
        """The worker's final message as the output, or the error it stands for."""
        tag = message[0]
        self.worker.reusable = tag in ("done", "child", "error", "client-error")
        if tag == "done":
            self._check_size(message[1].obj, message[2])
            return message[1]
        if tag == "child":  # what a TemplateEngine's reconcile does once it has the child
            self._check_size(message[1], message[2])
            self.client.create_child(message[1])
            self._check_size(obj, message[3])
            return ReconcileOutput(obj=obj)
        if tag == "limit":
            raise LimitExceeded(message[1], message[2])
        if tag == "client-error":
            raise self.raised[message[1]]
        raise ReconcileError(message[1])

    def _check_size(self, obj: Any, size: int) -> None:
        """No object written or returned is larger than ``Limits.output`` as JSON (``size``: the worker's
        ``json_size_over``, 0 for an object well within)."""
        if size > self.limits.output and isinstance(obj, dict):
            md = obj["metadata"] if isinstance(obj.get("metadata"), dict) else {}
            name = "/".join(str(p) for p in (md.get("namespace"), md.get("name")) if p)
            what = f"{obj.get('kind') or 'object'} {name}".strip()
            raise self.limits.output_exceeded(self.isolated.source, f"{what} is {format_size(size)}")

    def _death(self) -> ReconcileError:
        """Why the worker ended: an allocation it could not make is the memory limit. Some native code
        (orjson) does not check its allocations and crashes instead (SIGSEGV): a crash after the worker
        had grown by half its budget or more is taken for the limit too."""
        status = self.worker.reap()
        head, tail = self.worker.stderr_since(self.stderr_from)
        if any(sign in text for text in (head, tail) for sign in _OUT_OF_MEMORY):
            return self.limits.memory_exceeded(self.isolated.source)
        crashed = os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGSEGV, signal.SIGBUS)
        if crashed and self.resident_from and self.worker.peak - self.resident_from >= self.limits.memory // 2:
            return self.limits.memory_exceeded(self.isolated.source)
        how = _describe_status(status)
        last = _last_word(head, tail)
        said = f": {last}" if last else ""
        return ReconcileError(f"{self.isolated.source}: the reconcile's worker process {how}{said}")


def _last_word(head: str, tail: str) -> str:
    """What a dead worker said last before any backtrace: the last line it wrote, or, when Rust printed a
    backtrace after a panic (its setting is inherited by the fork), the panic's message above it."""
    text = head if _BACKTRACE in head else tail
    said = text.partition(_BACKTRACE)[0]
    return next((line.strip() for line in reversed(said.splitlines()) if line.strip()), "")


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"was killed by {signal.Signals(number).name}"
        except ValueError:
            return f"was killed by signal {number}"
    return f"exited with code {os.waitstatus_to_exitcode(status)}"
