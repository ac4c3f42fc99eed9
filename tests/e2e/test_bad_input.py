"""Every user mistake ends in one clear line naming the file or resource, a non-zero exit, no
traceback, and a store that still holds the previous good state."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import choreo, get_json, store_is_intact

RECONCILER_DIR = Path("reconcilers") / "greeting"


def _good_state(example) -> Path:
    project: Path = example("greeting")
    assert choreo("run", str(project)).code == 0
    return project


def _assert_clean_failure(project: Path, result, *needles: str) -> str:
    assert result.code != 0
    combined = result.out + result.err
    assert "Traceback" not in combined
    if result.err.strip():
        lines = result.err.strip().splitlines()
        assert len(lines) == 1, result.err
        line = lines[0]
    else:
        assert result.out.splitlines()[0] == "execution failed"
        line = result.out.splitlines()[1]
        assert len(result.out.strip().splitlines()) == 2
    for needle in needles:
        assert needle in line, line
    assert store_is_intact(project)
    # the previous good state is still readable and complete
    names = [g["metadata"]["name"] for g in get_json(project, "greetings")["items"]]
    assert names == ["alice", "bob"]
    return line


def _write(project: Path, relative: str, text: str) -> None:
    path = project / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_invalid_yaml(example) -> None:
    project = _good_state(example)
    _write(project, "in/broken.yaml", "apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata: [a\n")
    line = _assert_clean_failure(project, choreo("run", str(project)), "in/broken.yaml", "invalid YAML")
    assert ":4" in line or ":3" in line  # line number of the problem


def test_unknown_kind_in_input(example) -> None:
    project = _good_state(example)
    _write(project, "in/x.yaml", "apiVersion: example.com/v1alpha1\nkind: Farewell\nmetadata: {name: x}\n")
    _assert_clean_failure(project, choreo("run", str(project)), "in/x.yaml", "unknown kind Farewell")


def test_schema_violation_in_input(example) -> None:
    project = _good_state(example)
    source = project / "in" / "example.com.greeting.bob.yaml"
    source.write_text(source.read_text() + "  language: xx\n")
    line = _assert_clean_failure(project, choreo("run", str(project)), "in/example.com.greeting.bob.yaml",
                                 ".spec.language")
    assert '"xx"' in line
    # nothing of the failed load was kept: bob still has his old spec
    assert "language" not in get_json(project, "greetings", "bob")["spec"] or \
        get_json(project, "greetings", "bob")["spec"]["language"] == "en"


def _break_code(project: Path, code: str) -> None:
    (project / RECONCILER_DIR / "reconciler.star").write_text(code)


def test_starlark_syntax_error(example) -> None:
    project = _good_state(example)
    _break_code(project, "def reconcile(self)\n    return None\n")
    _assert_clean_failure(project, choreo("run", str(project)), "reconcilers/greeting/reconciler.star")


def test_starlark_runtime_error(example) -> None:
    project = _good_state(example)
    _break_code(project, "def reconcile(self):\n    x = {}\n    return x['missing']\n")
    line = _assert_clean_failure(project, choreo("run", str(project)), "reconcilers/greeting/reconciler.star:3")
    assert "greeting.Greeting.example.com.alice" in line


def test_starlark_infinite_loop_is_stopped(example) -> None:
    project = _good_state(example)
    _break_code(project, "def reconcile(self):\n    n = 0\n    for i in range(1000000000000):\n"
                         "        n += i\n    return reconcile_result(self, False, 0, '', False)\n")
    _assert_clean_failure(project, choreo("run", str(project), "--time-limit", "0.5"),
                          "reconcilers/greeting/reconciler.star", "time limit")


def test_missing_library(example) -> None:
    project = _good_state(example)
    _break_code(project, 'load("nowhere.star", "f")\ndef reconcile(self):\n    return f(self)\n')
    _assert_clean_failure(project, choreo("run", str(project)), "reconcilers/greeting/reconciler.star",
                          "nowhere.star")


def test_library_load_cycle(example) -> None:
    project = _good_state(example)
    _write(project, "crds/a.star", 'load("b.star", "g")\ndef f():\n    return g()\n')
    _write(project, "crds/b.star", 'load("a.star", "f")\ndef g():\n    return f()\n')
    _break_code(project, 'load("a.star", "f")\ndef reconcile(self):\n    return f()\n')
    _assert_clean_failure(project, choreo("run", str(project)), "cycle")


def test_reconciler_config_without_code(example) -> None:
    project = _good_state(example)
    (project / RECONCILER_DIR / "reconciler.star").unlink()
    _assert_clean_failure(project, choreo("run", str(project)), "reconcilers/greeting/config.yaml", "no code")


COUNTER_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: counters.example.com}
spec:
  group: example.com
  names: {kind: Counter, plural: counters, singular: counter}
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object}
          status:
            type: object
            properties:
              count: {type: integer}
"""

PLAYER = """\
apiVersion: choreo.kform.dev/v1alpha1
kind: Reconciler
metadata: {{name: {me}}}
spec:
  for: {{group: example.com, version: v1alpha1, kind: Counter, selector: {{match: {{metadata.name: {me}}}}}}}
  watches:
  - {{group: example.com, version: v1alpha1, kind: Counter, selector: {{match: {{metadata.name: {other}}}}}}}
"""

PLAYER_CODE = """\
def reconcile(self):
    kind = get_resource("example.com/v1alpha1", "Counter")["resource"]
    other = client_get("{other}", "default", kind)["resource"]
    self["status"] = {{"count": other.get("status", {{}}).get("count", 0) + 1}}
    return reconcile_result(self, False, 0, "", False)
"""


def test_two_reconcilers_undoing_each_other_is_a_reported_loop(example) -> None:
    project = _good_state(example)
    _write(project, "crds/example.com_counters.yaml", COUNTER_CRD)
    for me, other in (("ping", "pong"), ("pong", "ping")):
        _write(project, f"in/{me}.yaml",
               f"apiVersion: example.com/v1alpha1\nkind: Counter\nmetadata: {{name: {me}}}\nspec: {{}}\n")
        _write(project, f"reconcilers/{me}/config.yaml", PLAYER.format(me=me, other=other))
        _write(project, f"reconcilers/{me}/reconciler.star", PLAYER_CODE.format(other=other))
    result = choreo("run", str(project), "--max-reconciles", "20")
    line = _assert_clean_failure(project, result, "reconcile loop")
    assert "ping on Counter.example.com default/ping" in line
    assert "pong on Counter.example.com default/pong" in line
