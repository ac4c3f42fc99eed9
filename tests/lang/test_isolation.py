"""Tests of running reconciles in a worker process (``choreo.lang.isolation``) and of ``choreo.lang.limits``.

What must hold: user code that exhausts memory or never stops ends in one ``ReconcileError`` naming the
file, this process carries on (the next reconcile works), and everything else behaves exactly as
in-process: client calls and their errors, print output, the result.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from choreo.errors import ChoreoError, Conflict, LoadError, NotFound, ReconcileError
from choreo.lang.base import ChildRules, ReconcileOutput
from choreo.lang.isolation import IsolatedEngine
from choreo.lang.limits import KiB, Limits, MiB, format_size, json_size, json_size_over
from choreo.lang.starlark_engine import StarlarkReconciler
from tests.lang.test_jinja import DIR, OBJ, config
from tests.lang.test_starlark import OK, POD, SOURCE, FakeClient

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="isolation needs os.fork")

SMALL = Limits(time=5.0, memory=64 * MiB, output=64 * KiB)


def starlark(code: str, limits: Limits = SMALL, log: Any = None) -> IsolatedEngine:
    return IsolatedEngine(StarlarkReconciler("demo", code, SOURCE, {}, limits=limits), SOURCE, limits, log)


def reconcile(engine: IsolatedEngine, client: Any = None) -> ReconcileOutput:
    return engine.reconcile(dict(POD), client or FakeClient())


def failure(engine: IsolatedEngine, client: Any = None) -> str:
    with pytest.raises(ReconcileError) as err:
        reconcile(engine, client)
    return str(err.value)


# --- memory: the process survives --------------------------------------------------------------------

BOMBS = [
    "x = [0] * 1000000000",
    "x = list(range(1000000000))",
    's = "ab"\n    for i in range(40):\n        s = s + s',
    "y = 2\n    for i in range(40):\n        y = y * y",
    'x = ",".join([str(i) for i in range(100000000)])',
    "x = sorted(range(1000000000))",
]


@pytest.mark.parametrize("bomb", BOMBS)
def test_memory_bombs_end_in_the_memory_limit_and_the_next_reconcile_works(bomb: str) -> None:
    engine = starlark(f"def reconcile(self):\n    {bomb}\n" + OK)
    assert failure(engine) == f"{SOURCE}: reconciler exceeded the memory limit of 64 MiB"
    fine = starlark("def reconcile(self):\n" + OK)
    assert reconcile(fine).obj == POD


class _Recording(FakeClient):
    """A client whose children are made in the worker (``ChildRules``), as the runtime's is."""

    def __init__(self) -> None:
        super().__init__([POD])
        self.children = 0

    def child_rules(self) -> ChildRules:
        owner = {"apiVersion": "v1", "kind": "Pod", "name": "p1", "uid": "u1", "controller": True}
        return ChildRules(owner, {("example.com", "Out"): "default"})

    def record_child(self, child: dict[str, Any]) -> None:
        self.children += 1


def test_children_made_without_end_are_the_memory_limit() -> None:
    # The children gather in the worker until its next message; measuring one with orjson when no memory
    # is left crashes the worker (SIGSEGV) instead of raising: still the memory limit, not a crash.
    code = (
        "def reconcile(self):\n    for i in range(100000000):\n"
        '        client_create({"apiVersion": "example.com/v1alpha1", "kind": "Out",'
        ' "metadata": {"name": "o%d" % i}, "spec": {"x": "y" * 1000}})\n' + OK
    )
    client = _Recording()
    # a time limit the memory limit comes well before, also on a loaded machine (64 000 children take ~1 s)
    patient = Limits(time=120.0, memory=SMALL.memory, output=SMALL.output)
    assert failure(starlark(code, patient), client) == f"{SOURCE}: reconciler exceeded the memory limit of 64 MiB"
    assert client.children == 0
    assert reconcile(starlark("def reconcile(self):\n" + OK)).obj == POD


_AFTER_A_PANIC = """
import os, sys
os.environ["RUST_BACKTRACE"] = "1"
from tests.lang.test_isolation import starlark, failure
from tests.lang.test_starlark import OK, fails
fails("def reconcile(self):\\n    x = list(range(1000000000))\\n" + OK)  # an in-process panic: Rust reads the setting
print(failure(starlark("def reconcile(self):\\n    x = [0] * 1000000000\\n" + OK)))
"""


def test_a_worker_that_prints_a_backtrace_before_dying_is_still_the_memory_limit() -> None:
    """Rust reads its backtrace setting once per process, at the first panic: with ``RUST_BACKTRACE=1`` and one
    panic in choreo, every worker forked later writes a long backtrace after its allocation failure (setting
    the variable in the worker is too late). The failure is the memory limit all the same."""
    import subprocess

    done = subprocess.run([sys.executable, "-c", _AFTER_A_PANIC], capture_output=True, text=True, timeout=120,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{SOURCE}: reconciler exceeded the memory limit of 64 MiB"


def test_python_memory_error_in_a_template_is_the_memory_limit() -> None:
    from choreo.lang.jinja_engine import JinjaReconciler

    jinja = JinjaReconciler(config({"main.jinja2": "\n{{ 'x' * 1000000000 }}"}), limits=SMALL)
    engine = IsolatedEngine(jinja, f"{DIR}/main.jinja2", SMALL)
    with pytest.raises(ReconcileError, match=f"^{DIR}/main.jinja2:2: reconciler exceeded the memory limit of 64 MiB$"):
        engine.reconcile(dict(OBJ), FakeClient())  # type: ignore[arg-type]


# --- time: stopped even where the engine cannot check -------------------------------------------------


def test_a_loop_no_engine_check_reaches_is_stopped_at_the_time_limit() -> None:
    from choreo.lang.jinja_engine import JinjaReconciler

    # No call inside the loops: only the worker's deadline can stop this.
    main = "{% set r = range(100000) %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}"
    limits = Limits(time=0.3)
    engine = IsolatedEngine(JinjaReconciler(config({"main.jinja2": main}), limits=limits), "main.jinja2", limits)
    started = time.monotonic()
    with pytest.raises(ReconcileError, match=r"^main\.jinja2: reconciler exceeded the time limit of 0\.3s$"):
        engine.reconcile(dict(OBJ), FakeClient())  # type: ignore[arg-type]
    assert time.monotonic() - started < 3


# --- output size ---------------------------------------------------------------------------------------


def test_an_object_written_over_the_size_limit_is_refused_before_it_reaches_the_client() -> None:
    client = FakeClient()
    code = (
        'def reconcile(self):\n    client_create({"apiVersion": "v1", "kind": "ConfigMap",'
        ' "metadata": {"name": "big", "namespace": "ns"}, "data": {"x": "y" * 100000}})\n' + OK
    )
    message = failure(starlark(code), client)
    assert message == f"{SOURCE}: reconciler exceeded the output size limit of 64 KiB (ConfigMap ns/big is 97.8 KiB)"
    assert client.calls == []


def test_a_returned_object_over_the_size_limit_is_refused() -> None:
    code = 'def reconcile(self):\n    self["status"] = {"x": "y" * 100000}\n' + OK
    assert failure(starlark(code)).endswith("output size limit of 64 KiB (Pod default/p1 is 97.8 KiB)")


def test_a_rendered_child_or_for_object_over_the_size_limit_is_refused() -> None:
    """A template's child is recorded by choreo, after the same checks as a create_child call."""
    from choreo.lang.jinja_engine import JinjaReconciler

    aliases = ", ".join(f"a{i}: *text" for i in range(10))  # small as text, large as an object
    main = "apiVersion: config.sdcio.dev/v1alpha1\nkind: Config\nmetadata: {name: x}\n"
    main += "data: {text: &text '{{ spec.text }}', " + aliases + "}\n"
    engine = IsolatedEngine(JinjaReconciler(config({"main.jinja2": main}), limits=SMALL), "main.jinja2", SMALL)
    client = FakeClient()
    with pytest.raises(ReconcileError, match=r"output size limit of 64 KiB \(Config x is 107\.\d KiB\)$"):
        engine.reconcile({**OBJ, "spec": {"text": "y" * 10000}}, client)
    assert client.calls == []
    big_self = {**OBJ, "spec": {"text": "short"}, "status": {"x": "y" * 100000}}
    with pytest.raises(ReconcileError, match=r"\(Interface default/node1.e1-1 is 97\.8 KiB\)$"):
        engine.reconcile(big_self, client)


# --- everything else as in-process ---------------------------------------------------------------------


def test_a_template_records_the_child_it_renders_as_in_process() -> None:
    from choreo.lang.jinja_engine import JinjaReconciler
    from tests.lang.test_jinja import CHILD

    jinja = JinjaReconciler(config({"main.jinja2": CHILD}))
    in_process, isolated = FakeClient(), FakeClient()
    expected = jinja.reconcile(dict(OBJ), in_process)  # type: ignore[arg-type]
    engine = IsolatedEngine(jinja, "main.jinja2", Limits())
    assert engine.reconcile(dict(OBJ), isolated) == expected == ReconcileOutput(obj=OBJ)  # type: ignore[arg-type]
    assert isolated.calls == in_process.calls == [("create_child", {**isolated.calls[0][1]})]
    assert isolated.calls[0][1]["metadata"]["name"] == "node1.e1-1"


def test_client_calls_results_errors_and_print_cross_the_process_boundary() -> None:
    client = FakeClient([POD])
    client.fail["apply"] = Conflict("conflict on apply")
    logs: list[str] = []
    code = (
        "def reconcile(self):\n"
        '    got = client_get("p1", "default", self)\n'
        '    missing = client_get("nope", "default", self)\n'
        '    updated = client_update(self)\n'
        '    print("got", got["resource"]["metadata"]["name"], missing["error"], updated["error"])\n'
        '    self["status"] = {"items": len(client_list(self, None)["resource"]["items"])}\n' + OK
    )
    output = reconcile(starlark(code, log=logs.append), client)
    assert logs == ['got p1 pods "nope" not found conflict on apply']
    assert output.obj == {**POD, "status": {"items": 1}}
    assert [call[0] for call in client.calls] == ["get", "get", "apply", "list"]


def test_print_goes_to_the_client_log_without_an_engine_log() -> None:
    client = FakeClient()
    reconcile(starlark('def reconcile(self):\n    print("hello")\n' + OK), client)
    assert client.logs == ["hello"]


def test_print_is_cut_per_message_and_per_reconcile_in_the_worker() -> None:
    """A huge print reaches choreo cut to 64 KiB with a marker, and a reconcile's prints stop at the output
    limit (64 KiB here, a line break counted for each), the rest counted on one line; the next reconcile
    prints afresh. Empty messages count too."""
    logs: list[str] = []
    engine = starlark(
        'def reconcile(self):\n    print("x" * 10000000)\n    for i in range(1000):\n        print("line", i)\n'
        + OK,
        log=logs.append,
    )
    reconcile(engine)
    rule = "print keeps 64 KiB of a message and 64 KiB of a reconcile"
    assert logs == [
        "x" * 65535 + f"... [9.5 MiB (9934465 B) of this message dropped: {rule}]",
        f"[print: 1000 more messages of this reconcile dropped, 7.7 KiB (7890 B): {rule}]",
    ]
    logs.clear()
    reconcile(engine)
    assert len(logs) == 2 and logs[1].startswith("[print: 1000 more messages")
    logs.clear()
    reconcile(starlark('def reconcile(self):\n    for i in range(100000):\n        print("")\n' + OK, log=logs.append))
    assert logs == [""] * 65536 + [f"[print: {100000 - 65536} more messages of this reconcile dropped, 0 B: {rule}]"]
    logs.clear()
    code = 'def reconcile(self):\n    print("é" * 40000)\n    print("ok")\n' + OK
    reconcile(starlark(code, limits=replace(SMALL, output=MiB), log=logs.append))
    rule = "print keeps 64 KiB of a message and 1 MiB of a reconcile"
    assert logs == ["é" * 32768 + f"... [14.1 KiB (14464 B) of this message dropped: {rule}]", "ok"]


def test_reconcile_errors_keep_the_worker() -> None:
    engine = starlark("def reconcile(self):\n    return {}['x']\n")
    first = failure(engine)
    assert first.startswith(f"{SOURCE}:2:") and "x" in first
    assert failure(engine) == first


def test_a_client_error_escaping_the_engine_is_raised_as_the_original() -> None:
    class Refusing(FakeClient):
        def create_child(self, obj: dict[str, Any]) -> dict[str, Any]:
            raise self.error

    from choreo.lang.jinja_engine import JinjaReconciler

    main = "apiVersion: config.sdcio.dev/v1alpha1\nkind: Config\nmetadata: {name: x}\n"
    engine = IsolatedEngine(JinjaReconciler(config({"main.jinja2": main})), "main.jinja2", Limits())
    client = Refusing()
    client.error = NotFound("gone")  # type: ignore[attr-defined]
    with pytest.raises(NotFound) as err:
        engine.reconcile(dict(OBJ), client)  # type: ignore[arg-type]
    assert err.value is client.error  # type: ignore[attr-defined]


def test_a_bug_in_the_client_is_raised_in_choreo_and_the_worker_discarded() -> None:
    class Broken(FakeClient):
        def get(self, *args: Any) -> dict[str, Any]:
            raise KeyError("bug")

    engine = starlark('def reconcile(self):\n    client_get("p1", "default", self)\n' + OK)
    with pytest.raises(KeyError):
        reconcile(engine, Broken())
    assert reconcile(engine).obj == POD


class _Crashing:
    """An engine that ends its own process the way a native crash would."""

    def __init__(self, stderr: str, sig: int) -> None:
        self.stderr = stderr
        self.sig = sig

    def reconcile(self, obj: dict[str, Any], client: Any) -> ReconcileOutput:
        sys.stderr.write(self.stderr)
        sys.stderr.flush()
        os.kill(os.getpid(), self.sig)
        time.sleep(5)
        raise AssertionError("not reached")


_PANIC = (
    "thread '<unnamed>' panicked at src/eval.rs:10:5:\nindex out of bounds\nstack backtrace:\n"
    + "".join(f"  {n}: starlark::eval::frame{n}\n             at src/eval.rs:{n}:1\n" for n in range(200))
    + "note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.\n"
)  # a Rust panic as a worker writes it when the backtrace setting it inherited says so: longer than the tail


@pytest.mark.parametrize(
    ("stderr", "sig", "message"),
    [
        ("memory allocation of 8000000000 bytes failed\n", signal.SIGABRT, "exceeded the memory limit of 512 MiB"),
        ("segfault here\n", signal.SIGSEGV, "the reconcile's worker process was killed by SIGSEGV: segfault here"),
        (_PANIC, signal.SIGABRT, "the reconcile's worker process was killed by SIGABRT: index out of bounds"),
    ],
)
def test_a_worker_that_dies_is_reported_and_replaced(stderr: str, sig: int, message: str) -> None:
    engine = IsolatedEngine(_Crashing(stderr, sig), "x.star", Limits())
    with pytest.raises(ReconcileError, match=f"^x.star: .*{message}$"):
        engine.reconcile(dict(POD), FakeClient())  # type: ignore[arg-type]
    assert reconcile(starlark("def reconcile(self):\n" + OK)).obj == POD


class _GrowingThenCrashing:
    """An engine that takes ``grow`` bytes and then crashes, as native code that does not check an allocation
    does when the memory limit is reached (orjson: SIGSEGV)."""

    def __init__(self, grow: int) -> None:
        self.grow = grow

    def reconcile(self, obj: dict[str, Any], client: Any) -> ReconcileOutput:
        taken = bytearray(self.grow)
        taken[::4096] = b"x" * len(range(0, self.grow, 4096))  # a byte in every page: resident
        os.kill(os.getpid(), signal.SIGSEGV)
        time.sleep(5)
        raise AssertionError(f"not reached ({len(taken)})")


@pytest.mark.parametrize(
    ("grow", "message"),
    [
        (40 * MiB, "reconciler exceeded the memory limit of 64 MiB"),  # grew by most of its budget
        (1 * MiB, "the reconcile's worker process was killed by SIGSEGV"),  # a crash, whatever its cause
    ],
)
def test_a_crash_after_the_worker_grew_by_half_its_budget_is_the_memory_limit(grow: int, message: str) -> None:
    engine = IsolatedEngine(_GrowingThenCrashing(grow), "x.star", SMALL)
    with pytest.raises(ReconcileError, match=f"^x.star: {message}$"):
        engine.reconcile(dict(POD), FakeClient())  # type: ignore[arg-type]
    assert reconcile(starlark("def reconcile(self):\n" + OK)).obj == POD


def test_an_engine_bug_in_the_worker_is_one_line() -> None:
    class Buggy:
        def reconcile(self, obj: dict[str, Any], client: Any) -> ReconcileOutput:
            raise TypeError("engine bug")

    engine = IsolatedEngine(Buggy(), "x.star", Limits())
    with pytest.raises(ReconcileError, match=r"^x\.star: the reconcile's worker process exited with code 1: TypeError"):
        engine.reconcile(dict(POD), FakeClient())  # type: ignore[arg-type]


# --- limits --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, Limits(time=3.0)),
        ({"CHOREO_MEMORY_LIMIT": "2G"}, Limits(time=3.0, memory=2 * 1024 * MiB)),
        ({"CHOREO_MEMORY_LIMIT": "256MiB", "CHOREO_OUTPUT_LIMIT": "100k"}, Limits(3.0, 256 * MiB, 100 * KiB)),
        ({"CHOREO_OUTPUT_LIMIT": "4096", "CHOREO_DEPTH_LIMIT": "50"}, Limits(time=3.0, output=4096, depth=50)),
    ],
)
def test_limits_from_the_environment(environ: dict[str, str], expected: Limits) -> None:
    assert Limits.from_environment(environ, time=3.0) == expected


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CHOREO_MEMORY_LIMIT": "lots"}, "CHOREO_MEMORY_LIMIT='lots': expected a size such as 512M or 2G"),
        ({"CHOREO_OUTPUT_LIMIT": "0"}, "CHOREO_OUTPUT_LIMIT='0': expected a size"),
        ({"CHOREO_DEPTH_LIMIT": "10M"}, "CHOREO_DEPTH_LIMIT='10M': expected a positive whole number"),
    ],
)
def test_bad_limits_in_the_environment_are_load_errors(environ: dict[str, str], message: str) -> None:
    with pytest.raises(LoadError, match=f"^{message}"):
        Limits.from_environment(environ)


@pytest.mark.parametrize(
    ("size", "text"), [(100, "100 B"), (1536, "1.5 KiB"), (3 * MiB // 2, "1.5 MiB"), (512 * MiB, "512 MiB")]
)
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text


@pytest.mark.parametrize(
    ("value", "measured"),
    [
        ({"kind": "Pod", "metadata": {"name": "p1"}, "spec": {"n": [1, 2.5, None, True]}}, False),
        ([float("-inf"), float("inf"), float("nan")], False),  # json writes -Infinity where orjson writes null
        ([9e-6, 1e-5, 1e16, 1e22, -0.0, 5e-324], False),  # finite floats json writes longer than orjson
        (["é\u2028\x00\"\\", {"k": "\U0001f600"}], False),
        ([2**70, -(2**64)], True),  # beyond orjson: measured by json
        ({1: "non-string key"}, True),  # json writes the key as a string, orjson refuses
    ],
)
def test_json_size_over_is_the_size_when_it_may_be_over_the_limit_and_0_when_within(value: Any, measured: bool) -> None:
    size = json_size(value)
    for limit in range(1, 3 * size + 10):
        over = json_size_over(value, limit)
        assert over == size or (over == 0 and size <= limit), (limit, over, size)
    assert json_size_over(value, size - 1) == size
    assert json_size_over(value, 10 * size) == (size if measured else 0)


def test_limit_errors_are_reconcile_errors() -> None:
    error = Limits().time_exceeded("a.star")
    assert isinstance(error, ReconcileError) and isinstance(error, ChoreoError)
    assert str(error.at("b.star:3")) == "b.star:3: reconciler exceeded the time limit of 10s"


# --- choreo's own work while the worker computes --------------------------------------------------------


def test_a_client_with_work_of_its_own_does_it_while_the_worker_computes_and_no_answer_is_lost() -> None:
    class Busy(FakeClient):
        """Has 200 slices of work; each call of ``background`` does one."""

        def __init__(self) -> None:
            super().__init__([POD])
            self.left = 200
            self.slices = 0

        def background(self) -> bool:
            if self.left:
                self.left -= 1
                self.slices += 1
            return self.left > 0

    loop = "    n = 0\n    for i in range(300000):\n        n = n + i\n"
    code = (
        "def reconcile(self):\n" + loop
        + '    got = client_get("p1", "default", self)\n' + loop
        + '    self["status"] = {"name": got["resource"]["metadata"]["name"], "n": n}\n' + OK
    )
    client = Busy()
    output = reconcile(starlark(code), client)
    assert output.obj == {**POD, "status": {"name": "p1", "n": sum(range(300000))}}
    assert [call[0] for call in client.calls] == ["get"]
    assert client.left == 0 and client.slices == 200  # done while the loops ran; not called once done

    idle = Busy()
    idle.left = 0
    assert reconcile(starlark(code), idle).obj == output.obj and idle.slices == 0


# --- a worker ends with choreo -----------------------------------------------------------------------------


class _Pid:
    """An engine that returns its worker's process id, and sleeps first when told to (``nap``)."""

    def __init__(self, nap: float = 0.0, note: str = "") -> None:
        self.nap = nap
        self.note = note

    def reconcile(self, obj: dict[str, Any], client: Any) -> ReconcileOutput:
        if self.note:
            with open(self.note, "w") as f:
                f.write(str(os.getpid()))
        time.sleep(self.nap)
        return ReconcileOutput(obj={**obj, "status": {"pid": os.getpid()}})


_KILLED_MID_RECONCILE = """
import sys, threading
from tests.lang.test_isolation import _Pid, POD, FakeClient
from choreo.lang.isolation import IsolatedEngine
from choreo.lang.limits import Limits
engine = IsolatedEngine(_Pid(nap=120, note=sys.argv[1]), "x.star", Limits(time=300))
thread = threading.Thread(target=engine.reconcile, args=(dict(POD), FakeClient()))  # as a server's runner does
thread.start()
thread.join()
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a parent's death is signalled on Linux")
def test_a_worker_busy_with_a_reconcile_ends_when_choreo_is_killed(tmp_path) -> None:
    """A ``kill -9`` of choreo must not leave its worker computing on for the rest of the time limit."""
    import subprocess

    note = tmp_path / "worker.pid"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_MID_RECONCILE, str(note)], cwd=Path(__file__).parents[2])
    try:
        deadline = time.monotonic() + 30
        while not (note.exists() and note.read_text()) and time.monotonic() < deadline:
            time.sleep(0.02)
        worker = int(note.read_text())
        assert _alive(worker)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 5
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.02)
    gone = not _alive(worker)
    if not gone:
        os.kill(worker, signal.SIGKILL)
    assert gone, "the worker outlived choreo"


def test_a_worker_forked_for_a_thread_that_ended_serves_the_next_reconcile() -> None:
    """Workers are kept in a pool across reconciles; a server's runner thread, which forked some of them,
    ends at every load of the folder: its workers stay (only choreo's end ends them)."""
    import threading

    engine = IsolatedEngine(_Pid(), "x.star", Limits())  # type: ignore[arg-type]
    first: list[int] = []

    def pid() -> int:
        obj = engine.reconcile(dict(POD), FakeClient()).obj
        assert obj is not None
        return int(obj["status"]["pid"])

    thread = threading.Thread(target=lambda: first.append(pid()))
    thread.start()
    thread.join()
    time.sleep(0.2)
    assert pid() == first[0]


def test_an_abandoned_scope_kills_the_reconcile_in_flight_and_refuses_the_next() -> None:
    import threading

    from choreo.abandon import Abandonable, Abandoned

    scope = Abandonable()
    engine = IsolatedEngine(_Pid(nap=60), "x.star", Limits(time=120))  # type: ignore[arg-type]
    raised: list[BaseException] = []

    def run() -> None:
        with scope.within():
            try:
                engine.reconcile(dict(POD), FakeClient())
            except BaseException as exc:
                raised.append(exc)
            try:
                engine.reconcile(dict(POD), FakeClient())
            except BaseException as exc:
                raised.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    scope.abandon()
    thread.join(timeout=10)
    assert not thread.is_alive() and time.monotonic() - started < 5
    assert [type(exc) for exc in raised] == [Abandoned, Abandoned]
    fine = IsolatedEngine(_Pid(), "x.star", Limits())  # type: ignore[arg-type]
    assert fine.reconcile(dict(POD), FakeClient()).obj is not None  # outside the scope: works as before
