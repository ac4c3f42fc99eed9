"""Runaway user code, run through the real CLI: every engine stops at the same limits (time, memory,
output size, call depth) with one line naming the reconciler file and the object, exit 1, no
traceback or interpreter panic, and the store as the last good run left it. Also the missing-value
rules of the template engines (issue 11): false in tests, an error naming template and line when
printed."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import Result, choreo, get_json, store_is_intact

STAR = "reconcilers/greeting/reconciler.star"
GREETING_TASK = "greeting.Greeting.example.com.alice"
OK = '    return reconcile_result(self, False, 0, "", False)\n'
JINJA = "reconcilers/interface/main.jinja2"
GO = "reconcilers/interface/main.tpl"
INTERFACE_TASK = "interface.Interface.device.example.com.node1.e1-1"
NOISE = ("Traceback", "panicked", "RUST_BACKTRACE", "memory allocation of")


def _objects(project: Path) -> list[tuple[str, ...]]:
    """Every stored object, byte for byte."""
    with sqlite3.connect(project / ".choreo" / "choreo.db") as conn:
        return conn.execute("SELECT * FROM objects ORDER BY 1, 2, 3, 4").fetchall()


def _fails(project: Path, *args: str) -> str:
    """Run the project (it has a good state), expect a clean failure; the one message line."""
    before = _objects(project)
    started = time.monotonic()
    result = choreo("run", str(project), *args)
    assert time.monotonic() - started < 60
    line = _one_failure_line(result)
    assert store_is_intact(project)
    assert _objects(project) == before
    return line


def _one_failure_line(result: Result) -> str:
    assert result.code == 1, result.out + result.err
    combined = result.out + result.err
    assert not any(noise in combined for noise in NOISE), combined
    assert result.err == ""
    assert result.out.splitlines()[0] == "execution failed"
    assert len(result.out.strip().splitlines()) == 2, result.out
    return result.out.splitlines()[1]


# --- Starlark --------------------------------------------------------------------------------------------


@pytest.fixture
def greeting(example) -> Path:
    project: Path = example("greeting")
    assert choreo("run", str(project)).code == 0
    return project


def _starlark_fails(project: Path, body: str, *args: str) -> str:
    (project / STAR).write_text(f"def reconcile(self):\n{body}\n{OK}")
    line = _fails(project, *args)
    assert f"task {GREETING_TASK} message {STAR}" in line
    return line


@pytest.mark.parametrize(
    "bomb",
    [
        "    x = [0] * 1000000000",
        "    x = list(range(1000000000))",
        '    s = "ab"\n    for i in range(40):\n        s = s + s',
        "    y = 2\n    for i in range(40):\n        y = y * y",
        '    x = ",".join([str(i) for i in range(100000000)])',
        "    x = sorted(range(1000000000))",
    ],
)
def test_starlark_memory_bombs_stop_at_the_memory_limit(greeting: Path, bomb: str) -> None:
    line = _starlark_fails(greeting, bomb)
    assert line.endswith(f"{STAR}: reconciler exceeded the memory limit of 512 MiB")


def test_the_memory_limit_comes_from_the_environment(greeting: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHOREO_MEMORY_LIMIT", "32M")
    line = _starlark_fails(greeting, "    x = [0] * 10000000")  # 80 MB
    assert line.endswith("reconciler exceeded the memory limit of 32 MiB")


def test_a_bad_limit_in_the_environment_is_one_error(greeting: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHOREO_DEPTH_LIMIT", "deep")
    result = choreo("run", str(greeting))
    assert result.code == 1
    assert result.err.strip() == "error: CHOREO_DEPTH_LIMIT='deep': expected a positive whole number"


def test_a_huge_object_stops_at_the_output_size_limit_quickly(greeting: Path) -> None:
    started = time.monotonic()
    line = _starlark_fails(greeting, '    self["status"] = {"blob": "x" * 10000000}')
    assert line.endswith("reconciler exceeded the output size limit of 1.5 MiB (Greeting default/alice is 9.5 MiB)")
    assert time.monotonic() - started < 15


def test_a_huge_child_stops_at_the_output_size_limit(greeting: Path) -> None:
    body = (
        '    client_create({"apiVersion": "example.com/v1alpha1", "kind": "Message",'
        ' "metadata": {"name": "big", "namespace": "default"}, "spec": {"text": "x" * 2000000}})'
    )
    assert _starlark_fails(greeting, body).endswith("(Message default/big is 1.9 MiB)")


def test_starlark_recursion_stops_at_the_depth_limit(greeting: Path) -> None:
    line = _starlark_fails(greeting, "    return f(self)\ndef f(self):\n    return f(self)")
    assert line.endswith(f"{STAR}:4:12: reconciler exceeded the call depth limit of 1000")


def test_starlark_stops_at_the_time_limit(greeting: Path) -> None:
    # small ints only: a growing sum allocates, and could reach the memory limit first on a fast machine
    endless = "    n = 0\n    for i in range(1000000000000):\n        n = i % 7"
    line = _starlark_fails(greeting, endless, "--time-limit", "1")
    assert line.endswith(f"{STAR}:3:5: reconciler exceeded the time limit of 1s")  # where it was looping


# --- templates ---------------------------------------------------------------------------------------------

@pytest.fixture
def templates(example):
    def make(engine: str) -> Path:
        project: Path = example(f"config-templates/{engine}")
        assert choreo("run", str(project)).code == 0
        return project

    return make


def _template_fails(project: Path, entry: str, text: str, *args: str) -> str:
    (project / entry).write_text(text)
    line = _fails(project, *args)
    assert f"task {INTERFACE_TASK} message {entry}" in line
    return line


RUNAWAY = {
    "jinja2": {
        "loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "exponential": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
        "recursion": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
        "output": "{% for i in range(100000) %}{% for j in range(100) %}0123456789{% endfor %}{% endfor %}",
    },
    "gotemplate": {
        "loops": "{{ range 100000 }}{{ range 100000 }}{{ end }}{{ end }}",
        "exponential": '{{ define "f" }}{{ if . }}{{ template "f" (slice . 1) }}{{ template "f" (slice . 1) }}'
        '{{ end }}{{ end }}{{ template "f" "' + "x" * 60 + '" }}',
        "recursion": '{{ define "f" }}{{ template "f" . }}{{ end }}{{ template "f" . }}',
        "output": "{{ range 100000 }}{{ range 100 }}0123456789{{ end }}{{ end }}",
    },
}
EXPECTED = {
    "loops": "reconciler exceeded the time limit of 1s",
    "exponential": "reconciler exceeded the time limit of 1s",
    "recursion": "reconciler exceeded the call depth limit of 1000",
    "output": "reconciler exceeded the output size limit of 1.5 MiB",
}


@pytest.mark.parametrize("engine", sorted(RUNAWAY))
@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_runaway_templates_stop_at_the_same_limits(templates, engine: str, case: str) -> None:
    project = templates(engine)
    entry = JINJA if engine == "jinja2" else GO
    line = _template_fails(project, entry, RUNAWAY[engine][case], "--time-limit", "1")
    assert line.endswith(EXPECTED[case])


# --- missing values in templates (issue 11) ----------------------------------------------------------------

JINJA_OPTIONAL = """apiVersion: config.sdcio.dev/v1alpha1
kind: Config
metadata:
  name: interface.{{ metadata.name }}
  namespace: {{ metadata.namespace }}
spec:
  priority: 10
  config:
  - path: /
    value:
      interface:
      - name: {{ spec.name }}
{%- if spec.vlanTagging and not spec.untagged %}
        vlan-tagging: true
{%- endif %}
{%- if spec.ipv4 or spec.ipv6 %}
        routed: true
{%- endif %}
        mtu: {{ spec.mtu | default(1500) }}
"""
GO_OPTIONAL = """apiVersion: config.sdcio.dev/v1alpha1
kind: Config
metadata:
  name: interface.{{ .metadata.name }}
  namespace: {{ .metadata.namespace }}
spec:
  priority: 10
  config:
  - path: /
    value:
      interface:
      - name: {{ .spec.name }}
{{- if and .spec.vlanTagging (not .spec.untagged) }}
        vlan-tagging: true
{{- end }}
{{- if or .spec.ipv4 .spec.ipv6 }}
        routed: true
{{- end }}
{{- with .spec.mtu }}
        mtu: {{ . }}
{{- else }}
        mtu: 1500
{{- end }}
"""


@pytest.mark.parametrize(
    ("engine", "entry", "text"), [("jinja2", JINJA, JINJA_OPTIONAL), ("gotemplate", GO, GO_OPTIONAL)]
)
def test_keys_an_object_does_not_have_are_false_in_tests(example, engine: str, entry: str, text: str) -> None:
    project: Path = example(f"config-templates/{engine}")
    (project / entry).write_text(text)
    result = choreo("run", str(project))
    assert result.code == 0, result.out + result.err
    interfaces = {
        c["metadata"]["name"]: c["spec"]["config"][0]["value"]["interface"][0]
        for c in get_json(project, "configs")["items"]
        if c["metadata"]["name"].startswith("interface.")
    }
    assert interfaces == {
        "interface.node1.e1-1": {"name": "ethernet-1/1", "vlan-tagging": True, "mtu": 9000},
        "interface.node2.e1-1": {"name": "ethernet-1/1", "mtu": 1500},
    }


@pytest.mark.parametrize(
    ("engine", "entry", "text", "where"),
    [
        ("jinja2", JINJA, "kind: Config\n\nvlan: {{ spec.vlanId }}\n", f"{JINJA}:3: undefined: "),
        (
            "gotemplate", GO, "kind: Config\n\nvlan: {{ .spec.vlanId }}\n",
            f'{GO}:3:9: executing "main.tpl" at <.spec.vlanId>: no value to print',
        ),
    ],
)
def test_printing_a_missing_key_is_an_error_naming_template_and_line(
    templates, engine: str, entry: str, text: str, where: str
) -> None:
    line = _template_fails(templates(engine), entry, text)
    assert f"message {where}" in line
