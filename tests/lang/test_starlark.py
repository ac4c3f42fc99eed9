"""Tests of the Starlark reconciler engine and its builtins (spec §4.1, §7.4)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from choreo.errors import ChoreoError, Conflict, Invalid, NotFound, ReconcileError
from choreo.lang import builtins
from choreo.lang.base import ReconcileOutput
from choreo.lang.builtins import get_subnetname
from choreo.lang.limits import Limits
from choreo.lang.starlark_engine import StarlarkReconciler
from choreo.loader.project import Library

SOURCE = "reconcilers/demo/reconciler.star"
OK = '    return reconcile_result(self, False, 0, "", False)\n'


class FakeClient:
    """Records every call; ``fail`` maps a method name to the error it raises."""

    def __init__(self, objects: list[dict[str, Any]] | None = None) -> None:
        self.objects = objects or []
        self.calls: list[tuple[Any, ...]] = []
        self.logs: list[str] = []
        self.fail: dict[str, ChoreoError] = {}

    def _record(self, method: str, *args: Any) -> None:
        self.calls.append((method, *args))
        if method in self.fail:
            raise self.fail[method]

    def get(self, api_version: str, kind: str, name: str, namespace: str) -> dict[str, Any]:
        self._record("get", api_version, kind, name, namespace)
        for obj in self.objects:
            meta = obj["metadata"]
            if (obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace", "")) == (
                api_version,
                kind,
                name,
                namespace,
            ):
                return obj
        raise NotFound(f'{kind.lower()}s "{name}" not found')

    def list(
        self, api_version: str, kind: str, field_selector: dict[str, str] | None
    ) -> list[dict[str, Any]]:
        self._record("list", api_version, kind, field_selector)
        return [o for o in self.objects if o["apiVersion"] == api_version and o["kind"] == kind]

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        self._record("apply", obj)
        return {**obj, "metadata": {**obj.get("metadata", {}), "resourceVersion": "7"}}

    def create_child(self, obj: dict[str, Any]) -> dict[str, Any]:
        self._record("create_child", obj)
        return {**obj, "metadata": {**obj.get("metadata", {}), "ownerReferences": [{"uid": "u1"}]}}

    def apply_children(self) -> None:
        self._record("apply_children")

    def delete_children(self) -> None:
        self._record("delete_children")

    def log(self, message: str) -> None:
        self.logs.append(message)


POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1", "namespace": "default"}, "spec": {}}


def engine(code: str, libraries: list[Library] | None = None, **kwargs: Any) -> StarlarkReconciler:
    libs = {f"libs/{lib.name}": lib for lib in libraries or []}
    return StarlarkReconciler("demo", code, SOURCE, libs, **kwargs)


def run(
    code: str, obj: dict[str, Any] | None = None, client: FakeClient | None = None, **kw: Any
) -> ReconcileOutput:
    return engine(code, **kw).reconcile(obj if obj is not None else dict(POD), client or FakeClient())


def probe(expr: str, client: FakeClient | None = None, setup: str = "") -> Any:
    """Evaluate ``expr`` inside reconcile and return its value (stored under self["out"])."""
    code = f'def reconcile(self):\n{setup}    self["out"] = {expr}\n' + OK
    out = run(code, client=client)
    assert out.obj is not None
    return out.obj["out"]


def fails(code: str, **kw: Any) -> str:
    with pytest.raises(ReconcileError) as info:
        run(code, **kw)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# --- reconcile_result ----------------------------------------------------------------------------------


def test_head_result_success() -> None:
    code = 'def reconcile(self):\n    self["status"] = {"ok": True}\n'
    code += '    return reconcile_result(self, True, 5, "", False)\n'
    out = run(code)
    assert out == ReconcileOutput(obj={**POD, "status": {"ok": True}}, requeue=True, requeue_after=5)
    assert out.condition_type is None and out.ex_era is False


def test_head_result_with_message() -> None:
    out = run('def reconcile(self):\n    return reconcile_result(self, False, 3, "boom", True)\n')
    assert (out.error, out.fatal, out.requeue_after, out.ex_era) == ("boom", True, 3, False)


def test_ex_result_carries_condition_type() -> None:
    out = run(
        'def reconcile(self):\n    return reconcile_result(self, False, 0, "Ready", "not yet", False)\n'
    )
    assert (out.condition_type, out.ex_era, out.error, out.fatal) == ("Ready", True, "not yet", False)


def test_result_keyword_form() -> None:
    code = (
        "def reconcile(self):\n    return reconcile_result(obj=self, requeue=False, requeueAfter=0,"
        ' conditionType="Ready", msg="", fatal=False)\n'
    )
    out = run(code)
    assert (out.condition_type, out.ex_era, out.error) == ("Ready", True, "")


def test_result_dict_shape_seen_by_starlark() -> None:
    assert probe('reconcile_result({"a": 1}, False, 0, "", False)') == {
        "obj": {"a": 1},
        "requeue": False,
        "requeueAfter": 0,
        "error": None,
        "fatal": False,
    }
    failed = probe('reconcile_result({}, False, 0, "bad", True)')
    assert (failed["error"], failed["fatal"]) == ("reconcile failed bad", True)


def test_the_result_holds_a_copy_of_the_object_as_data() -> None:
    """The object in the result is the object as data at the time of the call (what its JSON gives):
    later changes to either do not show in the other, tuples are lists, each use of a shared value is
    a copy of its own, key order and number types are kept."""
    code = (
        "def reconcile(self):\n"
        '    inner = {"b": (1, 2), "a": [{"y": 1.5, "x": 1000000000000000000000000000000}]}\n'
        '    self["spec"] = {"z": inner, "w": inner}\n'
        '    r = reconcile_result(obj = self, requeue = False, requeueAfter = 0, msg = "", fatal = False)\n'
        '    self["spec"]["z"]["a"][0]["y"] = 99\n'
        '    r["obj"]["spec"]["w"]["b"].append(3)\n'
        '    z = r["obj"]["spec"]["z"]\n'
        '    types = [type(z["b"]), type(z["a"][0]["y"])]\n'
        '    r["obj"]["status"] = {"keys": list(r.keys()) + list(z.keys()), "types": types}\n'
        "    return r\n"
    )
    out = run(code)
    inner = {"b": [1, 2], "a": [{"y": 1.5, "x": 10**30}]}
    assert out.obj == {**POD, "spec": {"z": inner, "w": {**inner, "b": [1, 2, 3]}}, "status": {
        "keys": ["obj", "requeue", "requeueAfter", "error", "fatal", "b", "a"], "types": ["list", "float"]}}
    assert list(out.obj) == [*POD, "status"] and list(out.obj["spec"]["z"]["a"][0]) == ["y", "x"]


@pytest.mark.parametrize(
    "arguments",
    [
        '{"a": (1, [2.5, None])}, True, 5.0, "wait", None',
        '{}, None, None, None, True',
        'obj = {"k": "v"}, fatal = True, msg = "bad", requeueAfter = -3, requeue = False',
        '{"a": 1}, False, 2, "Ready", "", True',
        '{"a": 1}, False, 0, conditionType = "Ready", msg = "no", fatal = True',
    ],
)
def test_valid_results_are_what_the_builtin_makes(arguments: str) -> None:
    """The prelude answers valid calls itself: its dict is the Python builtin's, the object as JSON gives it."""
    got = probe(f"reconcile_result({arguments})")
    args, kwargs = probe(f"(lambda *a, **k: [a, k])({arguments})")
    assert got == builtins.reconcile_result(*args, **kwargs) and list(got) == list(
        builtins.reconcile_result(*args, **kwargs)
    )


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('self, False, 0.5, "", False', "reconcile_result: requeueAfter must be int, got float"),
        ('self, False, True, "", False', "reconcile_result: requeueAfter must be int, got bool"),
        ('self, 1, 0, "", False', "reconcile_result: requeue must be bool or None, got int"),
        ('[], False, 0, "", False', "reconcile_result: obj must be dict, got list"),
        ('self, False, 0, ["x"], False', "reconcile_result: msg must be string or None, got list"),
        ('self, False, 0, 1, "", False', "reconcile_result: conditionType must be string, got int"),
        ('self, False, 0, "", False, True, 1', "reconcile_result: expected 5 arguments"),
        ('self, False, 0, "", fatal = False, nope = 1', "reconcile_result: unexpected keyword argument 'nope'"),
        ('self, False, 0, "", obj = False', "reconcile_result: got multiple values for argument 'obj'"),
        ('{"f": len}, False, 0, "", False', "not supported on type `function`"),
    ],
)
def test_invalid_results_fail_at_the_call_as_the_builtin_says(arguments: str, expected: str) -> None:
    message = fails(f"def reconcile(self):\n    return reconcile_result({arguments})\n")
    assert message.startswith(f"{SOURCE}:2:") and expected in message


def test_result_wrong_arity_names_builtin_and_line() -> None:
    message = fails("def reconcile(self):\n    return reconcile_result(self, False)\n")
    assert message.startswith(f"{SOURCE}:2:")
    assert "reconcile_result: expected 5 arguments" in message


def test_user_built_result_dict_is_accepted() -> None:
    out = run('def reconcile(self):\n    return {"obj": self, "error": "x", "fatal": True}\n')
    assert (out.error, out.fatal) == ("x", True)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("return None", "not None"),
        ("return 1", "int"),
        ('return {"obj": 1}', "without an object"),
        ('return {"error": ""}', "without an object"),
        ("return reconcile", "not data"),
    ],
)
def test_bad_return_value(body: str, expected: str) -> None:
    message = fails(f"def reconcile(self):\n    {body}\n")
    assert message.startswith(f"{SOURCE}: ") and expected in message


def test_non_finite_numbers_handed_out_of_starlark_are_errors_naming_line_and_path() -> None:
    """starlark-pyo3 would turn NaN and infinities into None on the way to Python: they must fail loudly."""
    nan = fails('def reconcile(self):\n    self["spec"]["mtu"] = float("nan")\n' + OK)
    assert nan.startswith(f"{SOURCE}:3:") and "reconcile_result: obj.spec.mtu is nan" in nan
    inf = fails(
        'def reconcile(self):\n    x = {"spec": {"l": [1, -float("inf")]}}\n    client_apply(x)\n' + OK
    )
    assert inf.startswith(f"{SOURCE}:3:") and "client_apply: obj.spec.l[1] is -inf" in inf
    keyword = fails('def reconcile(self):\n    self["a"] = 1e999\n    return reconcile_result(obj=self, '
                    'requeue=False, requeueAfter=0, msg="", fatal=False)\n')
    assert "reconcile_result: obj.a is +inf" in keyword


@pytest.mark.parametrize(
    ("result", "field"),
    [
        ('{"obj": {"spec": {"mtu": float("nan")}}}', "obj.spec.mtu is nan"),
        ('{"obj": self, "requeueAfter": float("inf")}', "requeueAfter is +inf"),
        ('{"obj": {"l": [1, {"x": -float("inf")}]}}', "obj.l[1].x is -inf"),
    ],
)
def test_non_finite_numbers_in_a_hand_built_result_are_errors_naming_the_field(result: str, field: str) -> None:
    message = fails(f"def reconcile(self):\n    return {result}\n")
    assert message == f"{SOURCE}: fail: reconcile(self): {field}: objects hold only finite numbers"


def test_keys_that_are_not_strings_are_errors_naming_the_path() -> None:
    """The JSON encoder would silently turn an int or bool key into a string."""
    message = fails('def reconcile(self):\n    self["spec"] = {1: "a"}\n' + OK)
    assert message.startswith(f"{SOURCE}:3:") and "reconcile_result: obj.spec has a non-string key 1" in message
    created = fails('def reconcile(self):\n    client_create({"metadata": {True: 1}})\n' + OK)
    assert created.startswith(f"{SOURCE}:2:") and "client_create: obj.metadata has a non-string key True" in created
    returned = fails('def reconcile(self):\n    return {"obj": {"a": {None: 1}}}\n')
    assert returned == f"{SOURCE}: fail: reconcile(self): obj.a has a non-string key None: object keys are strings"


def test_text_that_looks_like_a_non_finite_number_is_data() -> None:
    assert probe('"nan, +inf"') == "nan, +inf"
    assert probe('{"nan": ": nan", "x": 1.5}') == {"nan": ": nan", "x": 1.5}
    assert probe('{"a: b": "c: d", "e": [": 1", "2: "]}') == {"a: b": "c: d", "e": [": 1", "2: "]}


def test_reads_take_the_type_of_any_data_and_refuse_what_is_not_data() -> None:
    """client_get and client_list read only apiVersion and kind, whatever else the object holds; an object
    that is not data fails at the call as the encoder says."""
    client = FakeClient()
    got = probe('client_get("a", "b", {"apiVersion": "v1", "kind": "Pod", 1: 2.5, "s": (float("nan"), {})})', client)
    listed = probe('client_list({"apiVersion": "v1", "kind": "Pod", "x": [{"y": None}]}, None)', client)
    assert got == {"resource": None, "error": 'pods "a" not found', "fatal": False}
    assert listed["resource"] == {"apiVersion": "v1", "kind": "PodList", "items": []}
    assert client.calls == [("get", "v1", "Pod", "a", "b"), ("list", "v1", "Pod", None)]
    function = fails('def reconcile(self):\n    return client_get("a", "b", {"kind": "Pod", "x": [len]})\n')
    assert function == f"{SOURCE}:2: Operation `serde::serialize` not supported on type `function`"


@pytest.mark.parametrize("call", ["client_list(d, None)", 'reconcile_result(d, False, 0, "", False)'])
def test_an_object_holding_itself_fails_at_the_call(call: str) -> None:
    cycle = fails(f'def reconcile(self):\n    d = {{"kind": "Pod"}}\n    d["d"] = [d]\n    return {call}\n')
    assert cycle == f"{SOURCE}:4: Cycle detected when serializing value of type `dict` to JSON"


def test_function_passed_to_builtin() -> None:
    message = fails("def reconcile(self):\n    return client_update(lambda: 1)\n")
    assert message.startswith(f"{SOURCE}:2:") and "function" in message


def test_missing_reconcile() -> None:
    assert fails("x = 1\n") == f"{SOURCE}: reconciler.star must define reconcile(self)"


# --- values --------------------------------------------------------------------------------------------


def test_numbers_and_none_round_trip() -> None:
    obj = {"i": 1, "f": 2.5, "whole": 3.0, "n": None, "l": [1, None, {"x": 0}], "b": True}
    code = (
        "def reconcile(self):\n"
        '    self["types"] = [type(self["i"]), type(self["f"]), type(self["whole"]), type(self["n"])]\n'
        '    self["sum"] = self["i"] + 1\n'
        '    self["tuple"] = (1, "a")\n'
        '    return reconcile_result(self, False, 0, "", False)\n'
    )
    out = run(code, obj=obj)
    assert out.obj == {**obj, "types": ["int", "float", "float", "NoneType"], "sum": 2, "tuple": [1, "a"]}
    assert type(out.obj["i"]) is int and type(out.obj["whole"]) is float and out.obj["n"] is None
    assert obj == {"i": 1, "f": 2.5, "whole": 3.0, "n": None, "l": [1, None, {"x": 0}], "b": True}


def test_values_keep_their_order_and_exact_numbers_both_ways() -> None:
    obj = {"z": 1, "a": {"y": [2**70, -(2**64), 0.1, 1e22, -0.0, 5e-324], "b": "é\u2028\"\\\n"}, "m": None}
    code = (
        "def reconcile(self):\n"
        '    self["keys"] = [k for k in self] + [k for k in self["a"]]\n'
        '    self["copy"] = client_update(self["a"])["resource"]\n'
        '    self["big"] = self["a"]["y"][0] + 1\n'
        + OK
    )
    client = FakeClient()
    out = run(code, obj=obj, client=client)
    assert out.obj is not None
    assert out.obj["keys"] == ["z", "a", "m", "y", "b"] and list(out.obj) == ["z", "a", "m", "keys", "copy", "big"]
    assert client.calls == [("apply", obj["a"])] and out.obj["a"] == obj["a"]
    assert out.obj["big"] == 2**70 + 1 and type(out.obj["a"]["y"][2]) is float


@pytest.mark.parametrize(
    ("code", "line"),
    [
        ('X = [1]\ndef reconcile(self):\n    X.append(2)\n' + OK, "3:5"),
        ('D = {"a": 1}\ndef reconcile(self):\n    D["b"] = 2\n' + OK, "3:5"),
        ('def reconcile(self):\n    t = (1, 2)\n    t[0] = 3\n' + OK, "3:5"),
    ],
)
def test_modifying_a_frozen_value_says_so(code: str, line: str) -> None:
    assert fails(code) == (
        f"{SOURCE}:{line}: cannot modify a frozen value: a module's global values are frozen once it is"
        " loaded, and a tuple always is (change a copy: list(x), dict(x))"
    )


def test_floats_print_as_go_starlark_prints_them() -> None:
    # go.starlark.net: the shortest text that reads back as the same number (starlark-rust keeps 7 digits)
    value = probe('[str(1234567.5), repr(123456789.125), str(1e-5), str(5e-324), str(2.0), str(1e6), str(0.1)]')
    assert value == ["1.2345675e+06", "1.23456789125e+08", "1e-05", "5e-324", "2.0", "1e+06", "0.1"]
    assert probe('[str(float("nan")), str(float("-inf")), str([1234567.5, "e+1", (1.5,), {"k": 1e-5}])]') == [
        "nan", "-inf", '[1.2345675e+06, "e+1", (1.5,), {"k": 1e-05}]']
    assert probe('[str("e+"), str(["e+", 1]), repr("a"), str(7), str(None)]') == ["e+", '["e+", 1]', '"a"', "7", "None"]
    client = FakeClient()
    run('def reconcile(self):\n    print(1234567.5, [2.5e-7])\n' + OK, client=client)
    assert client.logs == ["1.2345675e+06 [2.5e-07]"]


def _nested(depth: int) -> Any:
    value: Any = "core"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "value",
    [
        [2**63 - 1, -(2**63), 2**64 - 1, 2**64, -(2**63) - 1, 10**30],  # the decoder's int range and past it
        [1e16, 1e-7, 0.5, 1.0, -0.0, 1.7976931348623157e308, {"n": None}],
        ["é\u2028\x00\U0001f600", "\"quoted\"", "[{"],
        _nested(99),  # JSON text to the decoder
        _nested(150),  # past the decoder's depth: the interpreter's conversion
        [{"i": i} for i in range(150)],  # many containers, shallow
    ],
)
def test_the_for_object_and_client_results_enter_starlark_exactly(value: Any) -> None:
    """Whichever way a value enters the interpreter (JSON text or starlark-pyo3's conversion), Starlark sees
    the same values of the same types, and they come back unchanged."""
    obj = {**POD, "spec": {"v": value}}
    code = (
        "def reconcile(self):\n"
        '    got = client_get("p1", "default", self)["resource"]\n'
        '    self["status"] = {"got": got["spec"]["v"], "same": got == self, "types": [type(self["spec"]["v"])]}\n'
        + OK
    )
    out = run(code, obj=obj, client=FakeClient([obj]))
    assert out.obj is not None
    assert out.obj["status"] == {"got": value, "same": True, "types": ["list"]}
    assert _types(out.obj["status"]["got"]) == _types(value)


@pytest.mark.parametrize(
    "value",
    [
        [2**63 - 1, -(2**63), 2**64 - 1, 2**64, -(2**63) - 1, 10**30],  # past 64 bits: decoded by json, not orjson
        [1e16, 1e-7, 0.5, 1.0, -0.0, 1.7976931348623157e308, None],
        ["é\u2028\x00\U0001f600", "\"quoted\"", "digits 12345678901234567890 in a string"],
    ],
)
def test_values_handed_to_a_builtin_arrive_exactly(value: Any) -> None:
    """A builtin's arguments leave Starlark as one JSON text: every value arrives as the same value of the
    same type (an integer beyond 64 bits stays an integer)."""
    obj = {**POD, "spec": {"v": value}}
    code = (
        "def reconcile(self):\n"
        '    client_create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1"}, '
        '"data": {"v": self["spec"]["v"]}})\n'
        + OK
    )
    client = FakeClient()
    run(code, obj=obj, client=client)
    created = [call[1] for call in client.calls if call[0] == "create_child"]
    assert [c["data"]["v"] for c in created] == [value]
    assert _types(created[0]["data"]["v"]) == _types(value)


def test_a_non_finite_number_handed_into_starlark_is_refused_not_turned_into_none() -> None:
    """The interpreter's conversion refuses NaN and infinities; JSON text would have made them null."""
    obj = {**POD, "spec": {"v": [1.5, float("inf")], "n": None}}
    code = 'def reconcile(self):\n    got = client_get("p1", "default", self)["resource"]\n' + OK
    assert fails(code, client=FakeClient([obj])).startswith(f"{SOURCE}:2: ")
    assert fails(code, obj=obj, client=FakeClient([obj])).startswith(f"{SOURCE}: ")


def _types(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value).__name__


def test_a_module_with_effects_at_the_top_level_runs_them_on_every_call() -> None:
    code = 'found = client_get("p1", "default", {"apiVersion": "v1", "kind": "Pod"})\n'
    code += 'def reconcile(self):\n    self["found"] = found["error"]\n' + OK
    eng = engine(code)
    clients = [FakeClient([POD]), FakeClient()]
    outs = [eng.reconcile(dict(POD), client) for client in clients]
    assert [client.calls for client in clients] == [[("get", "v1", "Pod", "p1", "default")]] * 2
    assert [out.obj["found"] for out in outs if out.obj is not None] == [None, 'pods "p1" not found']


def test_top_level_statements_and_lambda() -> None:
    code = (
        "names = []\nfor n in ['a', 'b']:\n    names.append(n)\nup = lambda s: s.upper()\n"
        'def reconcile(self):\n    self["names"] = [up(n) for n in names]\n'
        '    return reconcile_result(self, False, 0, "", False)\n'
    )
    assert run(code).obj["names"] == ["A", "B"]


# --- client builtins -----------------------------------------------------------------------------------


def test_client_get_found() -> None:
    client = FakeClient([POD])
    result = probe('client_get("p1", "default", get_resource("v1", "Pod")["resource"])', client)
    assert result == {"resource": POD, "error": None, "fatal": False}
    assert client.calls == [("get", "v1", "Pod", "p1", "default")]


def test_client_get_not_found_is_not_fatal() -> None:
    result = probe('client_get("x", "default", {"apiVersion": "v1", "kind": "Pod"})')
    assert result == {"resource": None, "error": 'pods "x" not found', "fatal": False}


def test_client_list_shape() -> None:
    client = FakeClient([POD])
    result = probe('client_list({"apiVersion": "v1", "kind": "Pod"}, {"spec.x": "y"})', client)
    assert result == {
        "resource": {"apiVersion": "v1", "kind": "PodList", "items": [POD]},
        "error": None,
        "fatal": False,
    }
    assert client.calls == [("list", "v1", "Pod", {"spec.x": "y"})]
    assert probe('client_list({"apiVersion": "v1", "kind": "Pod"}, None)["error"]') is None


def test_client_list_passes_selector_values_as_given() -> None:
    client = FakeClient([POD])
    probe('client_list({"apiVersion": "v1", "kind": "Pod"}, {"spec.on": True, "spec.n": 2, "spec.l": [1]})', client)
    assert client.calls == [("list", "v1", "Pod", {"spec.on": True, "spec.n": 2, "spec.l": [1]})]


@pytest.mark.parametrize("name", ["client_update", "client_update_status"])
def test_client_update_applies(name: str) -> None:
    client = FakeClient()
    result = probe(f"{name}(self)", client)
    assert result["resource"]["metadata"]["resourceVersion"] == "7"
    assert (result["error"], result["fatal"]) == (None, False)
    assert client.calls == [("apply", POD)]


def test_client_create_records_child() -> None:
    client = FakeClient()
    child = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    result = probe(f"client_create({child!r})", client)
    assert result["resource"]["metadata"]["ownerReferences"] == [{"uid": "u1"}]
    assert client.calls == [("create_child", child)]


@pytest.mark.parametrize(
    ("name", "method"), [("client_apply", "apply_children"), ("client_delete", "delete_children")]
)
def test_client_apply_and_delete(name: str, method: str) -> None:
    client = FakeClient()
    assert probe(f"{name}()", client) == {"resource": None, "error": None, "fatal": False}
    assert client.calls == [(method,)]


@pytest.mark.parametrize(
    ("error", "fatal"),
    [(Invalid("spec.x: field not declared in schema"), True), (Conflict("conflict"), False)],
)
def test_client_errors_are_mapped(error: ChoreoError, fatal: bool) -> None:
    client = FakeClient()
    client.fail["apply"] = error
    assert probe("client_update(self)", client) == {"resource": None, "error": str(error), "fatal": fatal}
    client.fail["apply_children"] = error
    assert probe("client_apply()", client)["fatal"] is fatal


def test_client_builtin_wrong_argument_count() -> None:
    message = fails('def reconcile(self):\n    x = 1\n    return client_get("a")\n')
    assert message.startswith(f"{SOURCE}:3:")
    assert "client_get: expected 3 arguments (name, namespace, obj), got 1" in message


def test_client_builtin_wrong_argument_type() -> None:
    assert "client_update: obj must be dict, got string" in fails(
        'def reconcile(self):\n    client_update("x")\n'
    )


# --- object helpers ------------------------------------------------------------------------------------


def test_get_resource() -> None:
    assert probe('get_resource("example.com/v1", "Thing")') == {
        "resource": {"apiVersion": "example.com/v1", "kind": "Thing"},
        "error": None,
        "fatal": False,
    }


def test_finalizers_return_modified_copies() -> None:
    setup = (
        '    added = add_finalizer(self, "f1")["resource"]\n'
        '    again = add_finalizer(added, "f1")["resource"]\n'
        '    both = add_finalizer(again, "f2")["resource"]\n'
        '    removed = del_finalizer(both, "f1")["resource"]\n'
        '    empty = del_finalizer(removed, "f2")["resource"]\n'
    )
    expr = '[self["metadata"], added["metadata"], again["metadata"], both["metadata"], '
    expr += 'removed["metadata"], empty]'
    original, added, again, both, removed, empty = probe(expr, setup=setup)
    assert "finalizers" not in original
    assert added["finalizers"] == again["finalizers"] == ["f1"]
    assert both["finalizers"] == ["f1", "f2"]
    assert removed["finalizers"] == ["f2"]
    assert "finalizers" not in empty["metadata"] and empty["kind"] == "Pod"
    assert probe('del_finalizer({}, "x")') == {"resource": {"metadata": {}}, "error": None, "fatal": False}


def test_is_conditionready() -> None:
    setup = (
        '    self["status"] = {"conditions": [{"type": "Ready", "status": "True"},'
        ' {"type": "Synced", "status": "False"}]}\n'
    )
    expr = '[is_conditionready(self, "Ready"), is_conditionready(self, "Synced"), '
    expr += 'is_conditionready({}, "Ready")]'
    assert probe(expr, setup=setup) == [True, False, False]


# --- IP helpers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "length", "address", "subnet", "v4"),
    [
        ("10.0.0.1/24", 24, "10.0.0.1", "10.0.0.0-24", True),
        ("10.0.0.1", 32, "10.0.0.1", "10.0.0.1-32", True),
        ("1000::/32", 32, "1000::", "1000---32", False),
        ("1000::1/128", 128, "1000::1", "1000--1-128", False),
        ("1000::1", 128, "1000::1", "1000--1-128", False),
    ],
)
def test_ip_helpers(prefix: str, length: int, address: str, subnet: str, v4: bool) -> None:
    expr = (
        f'[get_prefixlength("{prefix}"), get_address("{prefix}"), get_subnetname("{prefix}"),'
        f' is_ipv4("{prefix}"), isIPv4("{prefix}"), is_ipv6("{prefix}"), isIPv6("{prefix}")]'
    )
    assert probe(expr) == [length, address, subnet, v4, v4, not v4, not v4]
    assert get_subnetname(prefix) == subnet


def test_ip_helper_rejects_bad_prefix() -> None:
    message = fails('def reconcile(self):\n    return isIPv4("10.0.0.300/24")\n')
    assert message.startswith(f"{SOURCE}:2:") and "isIPv4: invalid prefix '10.0.0.300/24'" in message


def test_ip_helper_errors_name_the_line_and_column_of_the_call() -> None:
    """The helpers are called from user code directly, so the interpreter points at the call itself."""
    with pytest.raises(builtins.BuiltinError) as info:
        builtins.get_address("10.0.0.1/33")
    assert fails('def reconcile(self):\n    return get_address("10.0.0.1/33")\n') == f"{SOURCE}:2:12: {info.value}"


# --- load() --------------------------------------------------------------------------------------------

LIB_A = Library(
    "a.star",
    'load("b.star", "double")\nprint("loading a")\ndef quad(n):\n    return double(double(n))\n',
    "libs/a.star",
)
LIB_B = Library("b.star", "def double(n):\n    return 2 * n\n", "libs/b.star")
USE_QUAD = 'load("a.star", "quad")\ndef reconcile(self):\n    self["q"] = quad(3)\n' + OK


def test_load_library_that_loads_another() -> None:
    logs: list[str] = []
    eng = engine(USE_QUAD, [LIB_A, LIB_B], log=logs.append)
    assert eng.reconcile(dict(POD), FakeClient()).obj["q"] == 12
    assert eng.reconcile(dict(POD), FakeClient()).obj["q"] == 12
    assert logs == ["loading a", "loading a"]  # evaluated once per call


def test_library_loaded_twice_in_one_call_is_evaluated_once() -> None:
    lib_c = Library(
        "c.star", 'load("a.star", "quad")\ndef eight(n):\n    return 2 * quad(n)\n', "libs/c.star"
    )
    code = 'load("a.star", "quad")\nload("c.star", "eight")\n' + USE_QUAD.split("\n", 1)[1]
    logs: list[str] = []
    engine(code, [LIB_A, LIB_B, lib_c], log=logs.append).reconcile(dict(POD), FakeClient())
    assert logs == ["loading a"]


def test_load_missing_module() -> None:
    message = fails(USE_QUAD, libraries=[LIB_A])
    assert message == 'libs/a.star: load("b.star"): module b.star not found in library'
    assert fails('load("zz", "x")\n') == f'{SOURCE}: load("zz"): module zz not found in library'


def test_load_cycle() -> None:
    lib_x = Library("x", 'load("y", "b")\na = 1\n', "libs/x.star")
    lib_y = Library("y", 'load("x", "a")\nb = 2\n', "libs/y.star")
    message = fails('load("x", "a")\ndef reconcile(self):\n    return None\n', libraries=[lib_x, lib_y])
    assert message == "libs/y.star: cycle in load graph: x -> y -> x"


def test_error_inside_library_names_library_file() -> None:
    lib = Library("bad", "def f(d):\n    return d['missing']\n", "libs/bad.star")
    code = 'load("bad", "f")\ndef reconcile(self):\n    return f({})\n'
    assert fails(code, libraries=[lib]).startswith("libs/bad.star:2:")
    top = Library("top", "x = {}['k']\n", "libs/top.star")
    assert fails('load("top", "x")\n', libraries=[top]).startswith("libs/top.star:1:")


def test_syntax_error_in_library() -> None:
    lib = Library("broken", "def f(:\n", "libs/broken.star")
    assert fails('load("broken", "f")\n', libraries=[lib]).startswith("libs/broken.star:1:")


# --- errors and limits ---------------------------------------------------------------------------------


def test_syntax_error_at_construction() -> None:
    with pytest.raises(ReconcileError) as info:
        engine("def reconcile(self):\n    return (\n\n")
    assert str(info.value).startswith(f"{SOURCE}:")
    assert "\n" not in str(info.value)
    with pytest.raises(ReconcileError, match=r"reconciler\.star:2:5: .*while"):
        engine("def reconcile(self):\n    while True:\n        pass\n")


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("x = 0\n    return 1 // x", "division by zero"),
        ('return self["nope"]', "nope"),
        ("return undefined_name", "undefined_name"),
        ('fail("custom failure")', "custom failure"),
    ],
)
def test_runtime_error_names_file_and_line(body: str, text: str) -> None:
    message = fails(f"def reconcile(self):\n    {body}\n")
    line = 2 + body.count("\n")
    assert message.startswith(f"{SOURCE}:{line}:") and text in message


def test_error_in_nested_function_points_at_failing_line() -> None:
    code = "def helper(d):\n    return d['k']\ndef reconcile(self):\n    return helper({})\n"
    assert fails(code).startswith(f"{SOURCE}:2:")


@pytest.mark.parametrize(
    ("loop", "where"),
    [
        ("for i in range(100000000000):\n        x += 1", "3:5"),
        ("for i in range(100000):\n        for j in range(100000):\n            x += 1", "4:9"),
    ],
)
def test_time_limit_stops_endless_loop_naming_where_it_was(loop: str, where: str) -> None:
    start = time.monotonic()
    message = fails(f"def reconcile(self):\n    x = 0\n    {loop}\n", time_limit=0.5)
    assert message == f"{SOURCE}:{where}: reconciler exceeded the time limit of 0.5s"
    assert time.monotonic() - start < 5


def test_time_limit_applies_to_module_and_library_evaluation() -> None:
    slow = "x = 0\nfor i in range(100000):\n    for j in range(100000):\n        x += 1\n"
    assert "time limit" in fails(slow, time_limit=0.3)
    lib = Library("slow", slow, "libs/slow.star")
    assert fails('load("slow", "x")\n', libraries=[lib], time_limit=0.3) == (
        "libs/slow.star:3:5: reconciler exceeded the time limit of 0.3s"
    )


def test_runaway_recursion_is_stopped_at_the_depth_limit() -> None:
    message = fails("def f(n):\n    return f(n + 1)\ndef reconcile(self):\n    return f(0)\n")
    assert message == f"{SOURCE}:2:12: reconciler exceeded the call depth limit of 1000"


def test_depth_limit_is_configurable() -> None:
    code = "def f(n):\n    return f(n - 1) if n else 0\ndef reconcile(self):\n    f(30)\n" + OK
    run(code)
    assert fails(code, limits=Limits(depth=20)).endswith("reconciler exceeded the call depth limit of 20")


def test_interpreter_panic_on_a_value_too_big_is_the_memory_limit() -> None:
    """The interpreter panics (instead of aborting) on some sizes it cannot represent."""
    message = fails("def reconcile(self):\n    x = list(range(1000000000))\n" + OK)
    assert message == f"{SOURCE}: reconciler exceeded the memory limit of 512 MiB"


# --- print ---------------------------------------------------------------------------------------------


def test_print_goes_to_log() -> None:
    logs: list[str] = []
    code = (
        'print("top", 1)\ndef reconcile(self):\n    print("hello", {"a": None}, [1.5, True], sep="|")\n'
        '    return reconcile_result(self, False, 0, "", False)\n'
    )
    client = FakeClient()
    run(code, client=client, log=logs.append)
    assert logs == ["top 1", 'hello|{"a": None}|[1.5, True]']
    assert client.logs == []


def test_print_without_log_uses_client_log() -> None:
    client = FakeClient()
    run(
        'def reconcile(self):\n    print("via client")\n' + OK,
        client=client,
    )
    assert client.logs == ["via client"]


class _OutOfMemory(FakeClient):
    def create_child(self, obj: dict[str, Any]) -> dict[str, Any]:
        raise MemoryError


def test_a_builtin_running_out_of_memory_is_the_memory_limit() -> None:
    # The interpreter turns the builtin's MemoryError into an error at the caller's line; it is the limit.
    code = (
        "def reconcile(self):\n"
        '    client_create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}})\n' + OK
    )
    message = fails(code, client=_OutOfMemory())
    assert message == f"{SOURCE}: reconciler exceeded the memory limit of {Limits().memory // 2**20} MiB"
    assert run("def reconcile(self):\n" + OK).obj == POD  # the next call starts afresh
