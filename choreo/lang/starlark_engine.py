"""Runs Starlark reconcilers (spec §4.1) on the ``starlark-pyo3`` interpreter.

Users write ``reconcile(self)`` in Starlark; this module is the bridge between that code and the
controller runtime: it parses the file once, evaluates it with Choreo's builtins predeclared (acting on
the running call's ``ReconcileClient``) once, or per call when its top-level code has effects, resolves
``load()`` against the project's libraries, passes data into and out of the interpreter as JSON text,
enforces the time and call-depth limits of ``choreo.lang.limits`` (memory is bounded by the worker process
the reconcile runs in), and turns the value built by ``reconcile_result`` into a ``ReconcileOutput``. Every
failure becomes one ``ReconcileError`` line that names the file and, where the interpreter knows it,
the line and column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
import starlark

from choreo.errors import ReconcileError
from choreo.lang import starlark_format
from choreo.lang.base import ReconcileClient, ReconcileOutput
from choreo.lang.builtins import (
    EX_RESULT_PARAMS,
    HEAD_RESULT_PARAMS,
    RESULT_ERROR_PREFIX,
    BuiltinError,
    all_builtins,
)
from choreo.lang.limits import Budget, Limits, PrintBound
from choreo.lang.starlark_rewrite import Rewritten, rewrite
from choreo.loader.project import Library
from choreo.store import json_value

PRELUDE_FILE = "<choreo prelude>"
LOG_HOOK = "_choreo_log"
ENTRY = "choreo_reconcile_entry"  # exported (no leading underscore) so that it can be called
ENTRY_TEXT = "choreo_reconcile_text"  # the same, given the object as JSON text

# Builtins that take data out of Starlark. Their arguments leave the interpreter as one JSON text
# (``json.encode``, native) instead of value by value (starlark-pyo3 calls Python's json.loads for every
# key and scalar, the largest cost of a reconcile); the prelude wraps each of them, the Python side
# (``_json_adapter``) decodes. The result of reconcile(self) leaves the same way (``ENTRY``).
# The encoder would silently turn a NaN or an infinite float into null and an int or bool key into a
# string, so the values are checked in Starlark first (``_choreo_check``): a cheap scan of their text,
# and only when that sees something suspicious (Starlark's NaN equals itself, so it is recognised by its
# text; a key not in quotes), a walk that names the offending path. Values that are not data (functions,
# ranges) make the encoder fail, reported at the user's line.
_DATA_BUILTINS = (
    "client_apply", "client_create", "client_update", "client_update_status",
    "reconcile_result", "add_finalizer", "del_finalizer",
)
# Builtins that read only the type of the object they are given: their arguments leave as one JSON text
# too (a reconcile often hands client_get a whole object for its apiVersion and kind), unchecked. When the
# call is positional and the object is data the encoder takes (``_choreo_is_data``, a walk several times
# cheaper than encoding), only its apiVersion and kind leave (``_choreo_typed``); otherwise the whole
# arguments, for the encoder and the builtin to report what is wrong. Builtin -> (object position, count).
_READ_BUILTINS = {"client_get": (2, 3), "client_list": (0, 2)}
# reconcile_result's dict holds the object it was given: the Python side checks the arguments and returns
# the other fields, and the prelude copies the object in Starlark (``_choreo_copy``) rather than have it
# come back through the interpreter's per-value conversion, several times slower for a whole object. The
# copy is what the JSON round trip gave: arguments that passed the check and the encoder hold only dicts
# with string keys, lists, tuples (lists after JSON) and scalars.
# A valid call (arguments bound and typed as the builtin wants, the object only data) is recognised and
# answered in the prelude (``_choreo_result_fields``): encoding the object and handing it to Python cost
# two thirds of a Link's reconcile_result (~0.12 ms). Any other call takes the way through Python, whose
# encoder and checks report what is wrong, as before.
_RESULT = "reconcile_result"
# Builtins that take no objects (the IP helpers, get_resource ...) are called from user code directly,
# not through a prelude function: an error they raise is then reported at the user's line and column.
#
# Data enters the interpreter as JSON text too: the for-object, and the resource of a data builtin's
# successful result (``_choreo_answer`` puts it back into the result dict). starlark-pyo3's conversion of a
# Python value calls Python's json.dumps for every key and scalar; Starlark's json.decode (native) builds
# the same values from one text. A value that text would not carry exactly (``_json_text``) takes the
# conversion, as before.


def _json_wrapper(name: str, *, checked: bool) -> str:
    """The prelude's ``name``: its arguments (checked first) handed to ``_choreo_<name>`` as one JSON text.

    Always two statements: the compiler may inline a function whose body is a single ``return`` into
    its caller, and an error raised there would then be reported at a prelude line."""
    check = f'_choreo_check("{name}", _choreo_arguments(args, kwargs))' if checked else "pass"
    return f"""
def {name}(*args, **kwargs):
    {check}
    return _choreo_answer(_choreo_{name}(_choreo_encode([args, kwargs])))
"""


def _read_wrapper(name: str, at: int, count: int) -> str:
    """The prelude's ``name`` for a ``_READ_BUILTINS`` builtin (two statements, as ``_json_wrapper``)."""
    return f"""
def {name}(*args, **kwargs):
    pass
    return _choreo_answer(_choreo_{name}(_choreo_encode(_choreo_typed(args, kwargs, {at}, {count}))))
"""


# The builtin range() is kept under another name before ``range`` is redefined below.
_PRELUDE_ALIASES = (
    "_choreo_range = range\n_choreo_encode = json.encode\n_choreo_decode = json.decode\n"
    "_choreo_str = str\n_choreo_repr = repr\n"
)
# print() goes to the reconciler log instead of the process stdout. range() accepts any int: the
# interpreter's own range is limited to 32 bits, so a huge loop would fail at once with an unpacking
# error instead of running into the time limit; clamping only affects calls that would otherwise fail.
_PRELUDE = f"""
def _choreo_answer(answer):
    # A data builtin's result: the JSON text of a successful result's resource, or the whole result.
    if type(answer) == "string":
        return {{"resource": _choreo_decode(answer), "error": None, "fatal": False}}
    return answer

def _choreo_clamp(n):
    if type(n) == "int":
        return max(-2147483648, min(n, 2147483647))
    return n

def range(*args):
    return _choreo_range(*[_choreo_clamp(a) for a in args])

def print(*args, sep = " "):
    {LOG_HOOK}(sep.join([str(a) for a in args]))

_CHOREO_MARKS = (": nan", "[nan", ", nan", "(nan", "+inf", "-inf")

def _choreo_suspect(text):
    if text.count(": ") != text.count('": '):
        return True
    if "nan" not in text and "inf" not in text:
        return False
    return len([m for m in _CHOREO_MARKS if m in text]) > 0

def _choreo_check(where, roots):
    # The interpreter's own repr: the marks looked for are its, and the prelude's repr (go.starlark.net's text)
    # writes most objects again string by string (any "e-" in a name), which cost every write a second walk.
    if not _choreo_suspect(_choreo_repr(roots)):
        return None
    stack = list(roots)
    for _ in _choreo_range(2147483647):
        if not stack:
            return None
        path, value = stack.pop()
        kind = type(value)
        if kind == "float" and (str(value) == "nan" or value == _CHOREO_INF or value == -_CHOREO_INF):
            fail("%s: %s is %s: objects hold only finite numbers" % (where, path, value))
        elif kind == "dict":
            for k in value:
                if type(k) != "string":
                    fail("%s: %s has a non-string key %r: object keys are strings" % (where, path, k))
            stack.extend([("%s.%s" % (path, k), v) for k, v in value.items()])
        elif kind == "list" or kind == "tuple":
            stack.extend([("%s[%d]" % (path, i), v) for i, v in enumerate(value)])
    return None

def _choreo_arguments(args, kwargs):
    named = [("obj" if i == 0 else "argument %d" % (i + 1), a) for i, a in enumerate(args)]
    return named + list(kwargs.items())

_CHOREO_SCALARS = ("string", "int", "float", "bool", "NoneType")

def _choreo_is_data(value):
    # True when json.encode takes value as it is: dicts with string keys, lists, tuples, scalars
    # (a value too large or holding itself is left to the encoder).
    stack = [value]
    for _ in _choreo_range(100000):
        if not stack:
            return True
        item = stack.pop()
        kind = type(item)
        if kind == "dict":
            for k in item:
                if type(k) != "string":
                    return False
            stack.extend(item.values())
        elif kind == "list" or kind == "tuple":
            stack.extend(item)
        elif kind not in _CHOREO_SCALARS:
            return False
    return False

def _choreo_typed(args, kwargs, at, count):
    # [args, kwargs], the object at position at reduced to its type when the builtin would see the same.
    if kwargs or len(args) != count or type(args[at]) != "dict" or not _choreo_is_data(args[at]):
        return [args, kwargs]
    typed = {{"apiVersion": args[at].get("apiVersion"), "kind": args[at].get("kind")}}
    return [args[:at] + (typed,) + args[at + 1:], kwargs]

def _choreo_copy(value, steps = 2147483647):
    # The copy JSON would give of a dict (a list for a tuple); None if a value in it is not data or it has
    # more than steps values (a value holding itself has no end).
    out = [None]
    stack = [(value, out, 0)]
    for _ in _choreo_range(steps):
        if not stack:
            return out[0]
        source, target, key = stack.pop()
        kind = type(source)
        if kind == "dict":
            copied = {{k: None for k in source}}
            stack.extend([(v, copied, k) for k, v in source.items()])
        elif kind == "list" or kind == "tuple":
            copied = [None] * len(source)
            stack.extend([(v, copied, i) for i, v in enumerate(source)])
        elif kind in _CHOREO_SCALARS:
            copied = source
        else:
            return None
        target[key] = copied
    return None

_CHOREO_HEAD = {HEAD_RESULT_PARAMS!r}
_CHOREO_EX = {EX_RESULT_PARAMS!r}

def _choreo_bound(args, kwargs):
    # reconcile_result's arguments by name, as builtins.bind_args binds them; None when they do not bind.
    given = len(args) + len(kwargs)
    names = _CHOREO_EX if given == len(_CHOREO_EX) else _CHOREO_HEAD
    if given != len(names):
        return None
    bound = dict(zip(names, args))
    for k, v in kwargs.items():
        if k not in names or k in bound:
            return None
        bound[k] = v
    return bound

def _choreo_result_fields(args, kwargs):
    # What builtins.reconcile_result returns for a valid call; None for any other (Python says why).
    bound = _choreo_bound(args, kwargs)
    if bound == None or type(bound["obj"]) != "dict":
        return None
    msg, fatal, requeue, after = bound["msg"], bound["fatal"], bound["requeue"], bound["requeueAfter"]
    if type(msg) not in ("string", "NoneType") or type(fatal) not in ("bool", "NoneType"):
        return None
    if type(requeue) not in ("bool", "NoneType"):
        return None
    if type(after) == "NoneType":
        after = 0
    elif type(after) == "float" and after == int(after):
        after = int(after)
    elif type(after) != "int":
        return None
    if "conditionType" in bound and type(bound["conditionType"]) != "string":
        return None
    obj = _choreo_copy(bound["obj"], 100000)
    if obj == None:
        return None
    msg = msg or ""
    result = {{
        "obj": obj,
        "requeue": requeue == True,
        "requeueAfter": after,
        "error": {RESULT_ERROR_PREFIX!r} + msg if msg else None,
        "fatal": fatal == True if msg else False,
    }}
    if "conditionType" in bound:
        result["conditionType"] = bound["conditionType"]
    return result

def {_RESULT}(*args, **kwargs):
    _choreo_check("{_RESULT}", _choreo_arguments(args, kwargs))
    return _choreo_result_fields(args, kwargs) or _choreo_checked_result(args, kwargs)

def _choreo_checked_result(args, kwargs):
    fields = _choreo_{_RESULT}(_choreo_encode([args, kwargs]))
    result = {{"obj": _choreo_copy(kwargs["obj"] if "obj" in kwargs else args[0])}}
    result.update(fields)
    return result

def _choreo_result(value):
    _choreo_check("reconcile(self)", value.items() if type(value) == "dict" else [("result", value)])
    return _choreo_encode(value)
""" + "".join(_json_wrapper(name, checked=True) for name in _DATA_BUILTINS if name != _RESULT) + "".join(
    _read_wrapper(name, at, count) for name, (at, count) in _READ_BUILTINS.items()
)
# Evaluated after the reconciler's own code, in its module: ENTRY calls reconcile(self) and encodes its
# result; ENTRY_TEXT does the same with the object given as JSON text (``_json_text``). The call spreads
# its argument list so that the compiler cannot inline reconcile(self): an error inside an inlined
# function would be reported at the line of ENTRY instead of the user's.
_EPILOGUE = f"""
def {ENTRY}(self):
    return _choreo_result(reconcile(*[self]))

def {ENTRY_TEXT}(text):
    return _choreo_result(reconcile(*[_choreo_decode(text)]))
"""

_SPAN = re.compile(r"(?P<file>.+):(?P<line>\d+):(?P<column>\d+)")
_FRAME = re.compile(r"^\s*\* (?P<file>.+):(?P<line>\d+), in ")
# Python exceptions raised inside builtins show up as "<class name>: <message>".
_EXCEPTION_PREFIXES = (f"{BuiltinError.__name__}: ", "StarlarkError: ")
_STACK_OVERFLOW = "Starlark call stack overflow"
# Panics of the interpreter that mean "this value is too big to allocate" (a list of 10^9 elements,
# a string past 4 GiB); any other panic is reported as what it says.
_SIZE_PANICS = ("out of memory", "must not exceed", "capacity overflow")


class _Abort(Exception):
    """Unwinds the interpreter after a failure was recorded on the ``_Call``."""


def _dialect() -> starlark.Dialect:
    """Starlark as go.starlark.net accepts it plus top-level statements, recursion and load()."""
    dialect = starlark.Dialect.extended()
    dialect.enable_def = True
    dialect.enable_lambda = True
    dialect.enable_load = True
    dialect.enable_top_level_stmt = True
    dialect.enable_keyword_only_arguments = True
    dialect.enable_f_strings = False
    return dialect


def _parse(
    source: str, code: str, dialect: starlark.Dialect, columns: dict[str, Rewritten] | None = None
) -> starlark.AstModule:
    """``code`` parsed; user code (given ``columns``) first rewritten for go.starlark.net's ``%`` and
    ``format``, its column map kept under ``source`` for the errors to come."""
    if columns is not None:
        rewritten = rewrite(code)
        columns[source] = rewritten
        code = rewritten.code
    try:
        return starlark.parse(source, code, dialect)
    except starlark.StarlarkError as exc:
        raise ReconcileError(condense_error(str(exc), source, columns)) from None


# The interpreter's terse messages, said the way go.starlark.net says them.
_CLEARER = {
    "Immutable": "cannot modify a frozen value: a module's global values are frozen once it is loaded, and a"
    " tuple always is (change a copy: list(x), dict(x))",
}


def condense_error(text: str, source: str, columns: Mapping[str, Rewritten] | None = None) -> str:
    """One line ``<file>:<line>:<col>: <message>`` from the interpreter's multi-line diagnostic (``columns``:
    the rewritten files' column maps, to name the column of the code as written)."""
    lines = text.splitlines()
    message = _error_message(lines)
    while message.startswith(_EXCEPTION_PREFIXES):
        message = message.split(": ", 1)[1]
    return f"{_error_location(lines, columns) or source}: {_CLEARER.get(message, message)}"


def _error_message(lines: list[str]) -> str:
    start = next((i for i, line in enumerate(lines) if line.startswith("error: ")), None)
    if start is None:
        return next((line.strip() for line in lines if line.strip()), "unknown error")
    parts = [lines[start].removeprefix("error: ").strip()]
    for line in lines[start + 1 :]:
        if line.lstrip().startswith("-->") or not line.strip():
            break
        parts.append(line.strip())
    return " ".join(parts)


def _error_location(lines: list[str], columns: Mapping[str, Rewritten] | None = None) -> str | None:
    """The innermost position in user code: the ``-->`` span (its column as written), else the last
    traceback frame."""
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("--> ") and not stripped[4:].startswith(PRELUDE_FILE):
            span = _SPAN.fullmatch(stripped[4:])
            rewritten = columns.get(span["file"]) if span and columns else None
            if span is None or rewritten is None:
                return stripped[4:]
            column = rewritten.column(int(span["line"]), int(span["column"]))
            return f"{span['file']}:{span['line']}:{column}"
    frames = [m for m in map(_FRAME.match, lines) if m and m["file"] != PRELUDE_FILE]
    return f"{frames[-1]['file']}:{frames[-1]['line']}" if frames else None


class _Current:
    """The reconcile being run, as the builtins see it: they are made once per engine (the modules that
    hold them are kept across calls) and act on the client and log of whichever call is running.

    ``effects`` counts what a module's top-level code could observe or cause (client calls, prints): a
    module whose evaluation had none gives the same values every time, so it is evaluated only once."""

    def __init__(self) -> None:
        self.client: ReconcileClient | None = None
        self.printer: Callable[[str], None] | None = None  # where print() goes
        self.effects = 0
        self.out_of_memory = False  # a builtin ran out of memory during the current call

    def noting_memory(self, builtin: Callable[..., Any]) -> Callable[..., Any]:
        """``builtin``, noting when it runs out of memory: the interpreter turns its ``MemoryError`` into a
        Starlark error at the caller's line, which must still be reported as the memory limit."""

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return builtin(*args, **kwargs)
            except MemoryError:
                self.out_of_memory = True
                raise

        call.__name__ = getattr(builtin, "__name__", "builtin")
        return call

    def _client(self) -> ReconcileClient:
        assert self.client is not None, "builtins are called only while a reconcile runs"
        self.effects += 1
        return self.client

    def get(self, api_version: str, kind: str, name: str, namespace: str) -> dict[str, Any]:
        return self._client().get(api_version, kind, name, namespace)

    def list(self, api_version: str, kind: str, field_selector: dict[str, str] | None) -> list[dict[str, Any]]:
        return self._client().list(api_version, kind, field_selector)

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        return self._client().apply(obj)

    def create_child(self, obj: dict[str, Any]) -> dict[str, Any]:
        return self._client().create_child(obj)

    def apply_children(self) -> None:
        self._client().apply_children()

    def delete_children(self) -> None:
        self._client().delete_children()

    def log(self, message: str) -> None:
        assert self.printer is not None, "print is called only while a reconcile runs"
        self.effects += 1
        self.printer(message)


def _json_adapter(builtin: Callable[..., Any], *, answer: bool = True) -> Callable[[str], Any]:
    """``builtin`` called with arguments that left Starlark as one JSON text (see ``_DATA_BUILTINS``);
    with ``answer``, a successful result's resource goes back as JSON text (``_choreo_answer``)."""

    def call(arguments: str) -> Any:
        args, kwargs = json_value(arguments)
        result = builtin(*args, **kwargs)
        if answer and result.keys() == _OK_KEYS and result["error"] is None and result["fatal"] is False:
            return _json_text(result["resource"]) or result
        return result

    return call


_OK_KEYS = {"resource", "error", "fatal"}  # what builtins.ok_result returns
# Nested lists and dicts Starlark's json.decode takes (it refuses past 127); deeper values are converted.
_DECODE_DEPTH = 100
# Values orjson would write that starlark-pyo3 refuses or converts otherwise go to the conversion.
_EXACT = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
_STRICT = json.JSONEncoder(allow_nan=False, check_circular=False)


def _json_text(value: Any) -> str | None:
    """``value`` as JSON text that Starlark's ``json.decode`` turns into what starlark-pyo3's conversion of
    ``value`` gives (same types, key order and numbers), or None when no text says the same.

    None for: integers beyond 64 bits (the decoder makes them floats), strings that are not Unicode, keys
    that are not strings, values that are not JSON data (orjson refuses them all); NaN and infinities
    (orjson writes null, the conversion refuses them); nesting deeper than the decoder takes."""
    try:
        data = orjson.dumps(value, option=_EXACT)
    except orjson.JSONEncodeError:
        return None
    if b"null" in data and not _finite(value):
        return None
    if data.count(b"[") + data.count(b"{") > _DECODE_DEPTH and not _shallow(value, _DECODE_DEPTH):
        return None
    return data.decode()


def _finite(value: Any) -> bool:
    """No NaN or infinity in ``value`` (which orjson encoded)."""
    try:
        _STRICT.encode(value)
    except ValueError:
        return False
    return True


def _shallow(value: Any, limit: int) -> bool:
    """``value`` nests at most ``limit`` lists and dicts (tuples are lists in JSON)."""
    level = [value] if isinstance(value, dict | list | tuple) else []
    for _ in range(limit):
        if not level:
            return True
        level = [
            item
            for container in level
            for item in (container.values() if isinstance(container, dict) else container)
            if isinstance(item, dict | list | tuple)
        ]
    return not level


def _other_fields(builtin: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """``builtin`` (reconcile_result) returning its dict without the object, which the prelude copies."""

    def call(*args: Any, **kwargs: Any) -> dict[str, Any]:
        result = builtin(*args, **kwargs)
        del result["obj"]
        return result

    return call


def _builtins(current: _Current) -> dict[str, Callable[..., Any]]:
    """The callables a module is given, bound to ``current``; data builtins under their prelude alias."""
    table: dict[str, Callable[..., Any]] = {}
    for name, fn in all_builtins(current).items():
        if name == _RESULT:
            table[f"_choreo_{name}"] = current.noting_memory(_json_adapter(_other_fields(fn), answer=False))
        elif name in _DATA_BUILTINS or name in _READ_BUILTINS:
            table[f"_choreo_{name}"] = current.noting_memory(_json_adapter(fn))
        else:
            table[name] = current.noting_memory(fn)
    table[LOG_HOOK] = current.log
    table.update(starlark_format.BUILTINS)
    return table


@dataclass
class _Call:
    """State of one reconcile call: loaded libraries, deadline, first failure."""

    budget: Budget
    options: starlark.EvalOptions = field(init=False)
    loader: starlark.FileLoader | None = None
    modules: dict[str, starlark.FrozenModule] = field(default_factory=dict)
    loading: list[tuple[str | None, str]] = field(default_factory=list)  # (library name, file) stack
    timed_out: bool = False
    failure: ReconcileError | None = None

    def __post_init__(self) -> None:
        depth = self.budget.limits.depth
        self.options = starlark.EvalOptions(check_cancelled=self.cancelled, max_callstack_size=depth)

    def cancelled(self) -> bool:
        if self.budget.out_of_time():
            self.timed_out = True
        return self.timed_out

    def release(self) -> None:
        """Drop the references the interpreter's objects hold back to this call.

        The eval options and the file loader are native objects holding Python callables that point at
        this call; Python's collector cannot see through them, so without this every reconcile would
        leak its whole call state."""
        self.loader = None
        self.modules.clear()
        self.options = None  # type: ignore[assignment]

    def fail(self, message: str) -> _Abort:
        if self.failure is None:
            self.failure = ReconcileError(message)
        return _Abort(message)


class StarlarkReconciler:
    """A ``ReconcilerEngine`` for one ``reconciler.star``; call ``reconcile`` from one thread at a time.

    The file and its libraries are parsed once. A module (the reconciler's or a library's) is evaluated
    once and kept when its top-level code made no client call and printed nothing (it then cannot
    differ between calls); otherwise it is evaluated again for every call, as the language promises."""

    def __init__(
        self,
        name: str,
        code: str,
        source: str,
        libraries: Mapping[str, Library],
        *,
        limits: Limits | None = None,
        time_limit: float | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        """``time_limit``, when given, replaces the time of ``limits`` (default ``Limits()``)."""
        self.name = name
        self._source = source
        self._limits = limits or Limits()
        if time_limit is not None:
            self._limits = replace(self._limits, time=time_limit)
        self._log = log
        self._libraries = {lib.name: lib for lib in libraries.values()}
        self._dialect = _dialect()
        self._globals = starlark.Globals.standard()
        self._prelude_globals = starlark.Globals.extended_by([starlark.LibraryExtension.Json])
        self._prelude = [
            _parse(PRELUDE_FILE, _PRELUDE_ALIASES, self._dialect),
            _parse(PRELUDE_FILE, starlark_format.PRELUDE, self._dialect),
            _parse(PRELUDE_FILE, _PRELUDE, self._dialect),
        ]
        self._epilogue = _parse(PRELUDE_FILE, _EPILOGUE, self._dialect)
        self._library_asts: dict[str, starlark.AstModule] = {}
        self._columns: dict[str, Rewritten] = {}  # user files' column maps (see starlark_rewrite)
        self._ast = _parse(source, code, self._dialect, self._columns)
        self._current = _Current()
        self._builtins = _builtins(self._current)
        self._kept: starlark.FrozenModule | None = None  # the reconciler's module, once known to be pure
        self._kept_libraries: dict[str, starlark.FrozenModule] = {}

    def reconcile(self, obj: dict[str, Any], client: ReconcileClient) -> ReconcileOutput:
        call = _Call(Budget(self._limits, self._source))
        call.loader = starlark.FileLoader(lambda name: self._load(call, name))
        call.loading.append((None, self._source))
        self._current.client = client
        printer = PrintBound(self._log or client.log, self._limits.output)
        self._current.printer = printer
        self._current.out_of_memory = False
        try:
            module = self._module(call)
            given = _json_text(obj)
            if given is None:
                text = module.call_with(call.options, ENTRY, obj).value
            else:
                text = module.call_with(call.options, ENTRY_TEXT, given).value
        except (starlark.StarlarkError, _Abort) as exc:
            raise self._failure(call, exc, self._source) from None
        except TypeError as exc:  # the object holds something that is not JSON data
            raise ReconcileError(f"{self._source}: cannot pass the object to reconcile(self): {exc}") from None
        except BaseException as exc:  # pyo3 reports an interpreter panic as a BaseException subclass
            if type(exc).__name__ != "PanicException":
                raise
            raise self._panic(str(exc)) from None
        finally:
            printer.close()
            self._current.client = self._current.printer = None
            call.release()
        return self._output(json_value(str(text)))

    # --- evaluation ----------------------------------------------------------------------------------

    def _module(self, call: _Call) -> starlark.FrozenModule:
        """The reconciler's module with ``ENTRY`` defined: the kept one, else evaluated for this call."""
        if self._kept is not None:
            return self._kept
        effects = self._current.effects
        module = self._evaluate(call, self._ast)
        if not _defines(module, "reconcile"):
            raise ReconcileError(f"{self._source}: reconciler.star must define reconcile(self)")
        starlark.eval_with(call.options, module, self._epilogue, self._prelude_globals)
        frozen = module.freeze()
        if self._current.effects == effects:
            self._kept = frozen
        return frozen

    def _evaluate(self, call: _Call, ast: starlark.AstModule) -> starlark.Module:
        """A fresh module with the builtins and prelude, then ``ast`` executed in it."""
        module = starlark.Module()
        for name, fn in self._builtins.items():
            module.add_callable(name, fn)
        for prelude in self._prelude:
            starlark.eval_with(call.options, module, prelude, self._prelude_globals)
        starlark.eval_with(call.options, module, ast, self._globals, call.loader)
        return module

    def _load(self, call: _Call, name: str) -> starlark.FrozenModule:
        """``load(name)``: a library evaluated at most once per call (once for all, when its top-level code
        has no effects); cycles and unknown names fail."""
        kept = self._kept_libraries.get(name) or call.modules.get(name)
        if kept is not None:
            return kept
        importer = call.loading[-1][1]
        chain = [lib for lib, _ in call.loading if lib is not None]
        if name in chain:
            cycle = " -> ".join([*chain[chain.index(name) :], name])
            raise call.fail(f"{importer}: cycle in load graph: {cycle}")
        library = self._libraries.get(name)
        if library is None:
            raise call.fail(f'{importer}: load("{name}"): module {name} not found in library')
        call.loading.append((name, library.source))
        effects = self._current.effects
        try:
            frozen = self._evaluate(call, self._library_ast(call, library)).freeze()
        except starlark.StarlarkError as exc:
            raise call.fail(str(self._failure(call, exc, library.source))) from None
        finally:
            call.loading.pop()
        if self._current.effects == effects:
            self._kept_libraries[name] = frozen
        call.modules[name] = frozen
        return frozen

    def _library_ast(self, call: _Call, library: Library) -> starlark.AstModule:
        ast = self._library_asts.get(library.name)
        if ast is None:
            try:
                ast = _parse(library.source, library.code, self._dialect, self._columns)
            except ReconcileError as exc:
                raise call.fail(str(exc)) from None
            self._library_asts[library.name] = ast
        return ast

    def _failure(self, call: _Call, exc: Exception, source: str) -> ReconcileError:
        """The error to report: a recorded failure, the time limit, or the interpreter's diagnostic."""
        if call.failure is not None:
            return call.failure
        if self._current.out_of_memory:
            return self._limits.memory_exceeded(self._source)
        text = str(exc)
        lines = text.splitlines()
        if call.timed_out:  # where it was when the time ran out (a loop's line), when the interpreter says
            return self._limits.time_exceeded(_error_location(lines, self._columns) or self._source)
        if "serde::serialize" in text and _error_location(lines) is None:  # the result's encoder refused it
            return ReconcileError(
                f"{source}: reconcile(self) returned a value that is not data: {_error_message(lines)}"
            )
        message = condense_error(text, source, self._columns)
        if message.endswith(f": {_STACK_OVERFLOW}"):
            return self._limits.depth_exceeded(message.removesuffix(f": {_STACK_OVERFLOW}"))
        return ReconcileError(message)

    def _panic(self, text: str) -> ReconcileError:
        """An interpreter panic: a value too big to allocate is the memory limit, anything else says so."""
        if any(marker in text for marker in _SIZE_PANICS):
            return self._limits.memory_exceeded(self._source)
        return ReconcileError(f"{self._source}: the Starlark interpreter failed: {_first_line(text)}")

    # --- result --------------------------------------------------------------------------------------

    def _output(self, value: Any) -> ReconcileOutput:
        if not isinstance(value, dict) or not isinstance(value.get("obj"), dict):
            got = "a dict without an object under 'obj'" if isinstance(value, dict) else _kind(value)
            raise ReconcileError(f"{self._source}: reconcile(self) must return reconcile_result(...), not {got}")
        error = value.get("error")
        condition_type = value.get("conditionType")
        return ReconcileOutput(
            obj=value["obj"],
            requeue=bool(value.get("requeue")),
            requeue_after=_seconds(value.get("requeueAfter")),
            error=str(error).removeprefix(RESULT_ERROR_PREFIX) if error else "",
            fatal=bool(value.get("fatal")) and bool(error),
            condition_type=str(condition_type) if condition_type is not None else None,
            ex_era="conditionType" in value,
        )


def _defines(module: starlark.Module, name: str) -> bool:
    try:
        return module[name] is not None
    except starlark.StarlarkError:  # a function: defined, but not convertible to a Python value
        return True


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "unknown error")


def _kind(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def _seconds(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(value)
