"""What a failed run keeps: the same for every kind of reconcile failure — no object changes.

After a good run, the greeting example is broken in one way at a time (an invalid child, a fatal result,
an error from a client call, an exception in the code, a loop) together with an edited input; the failed
run must exit 1, add a failed run record, and leave every stored object byte for byte as it was.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.e2e.conftest import choreo
from tests.e2e.test_bad_input import COUNTER_CRD, PLAYER, PLAYER_CODE

CODE = "reconcilers/greeting/reconciler.star"
SPEC_LINE = '        "spec": {"text": greeting_text(spec.get("language", "en"), spec["name"])},\n'


def _objects(project: Path) -> list[tuple[str, ...]]:
    with sqlite3.connect(project / ".choreo" / "choreo.db") as conn:
        return conn.execute("SELECT grp, kind, namespace, name, body FROM objects ORDER BY 1, 2, 3, 4").fetchall()


def _break(project: Path, old: str, new: str) -> None:
    path = project / CODE
    text = path.read_text()
    assert old in text, f"{old!r} not in {CODE}"
    path.write_text(text.replace(old, new))


FAILURES = {
    "invalid child": (SPEC_LINE, SPEC_LINE.replace('"text"', '"texts"'), "field not declared in schema"),
    "fatal result": (
        "    rsp = client_create(message)\n",
        '    if spec["name"]:\n        return reconcile_result(self, False, 0, "broken on purpose", True)\n'
        "    rsp = client_create(message)\n",
        "broken on purpose",
    ),
    "client error": (
        "    rsp = client_create(message)\n",
        '    got = client_get("nope", "default", {"apiVersion": "example.com/v1alpha1", "kind": "Nope"})\n'
        '    self["spec"]["name"] = "changed"\n'
        '    if got["error"]:\n'
        '        return reconcile_result(self, True, 0, got["error"], True)\n'
        "    rsp = client_create(message)\n",
        "Nope",
    ),
    "exception in code": ("    rsp = client_create(message)\n", "    rsp = client_create(message)\n    x = 1 // 0\n",
                          "division by zero"),
}


def _add_loop(project: Path) -> None:
    """Two reconcilers that undo each other (a loop), added to a project that ran well without them."""
    (project / "crds" / "example.com_counters.yaml").write_text(COUNTER_CRD)
    for me, other in (("ping", "pong"), ("pong", "ping")):
        (project / "in" / f"{me}.yaml").write_text(
            f"apiVersion: example.com/v1alpha1\nkind: Counter\nmetadata: {{name: {me}}}\nspec: {{}}\n")
        (project / "reconcilers" / me).mkdir()
        (project / "reconcilers" / me / "config.yaml").write_text(PLAYER.format(me=me, other=other))
        (project / "reconcilers" / me / "reconciler.star").write_text(PLAYER_CODE.format(other=other))


@pytest.mark.parametrize("failure", [*sorted(FAILURES), "loop"])
def test_a_failed_run_changes_no_object(example, failure: str) -> None:
    project = example("greeting")
    assert choreo("run", str(project)).code == 0
    before = _objects(project)
    if failure == "loop":
        _add_loop(project)
        message = "reconcile loop"
    else:
        old, new, message = FAILURES[failure]
        _break(project, old, new)
    source = project / "in" / "example.com.greeting.alice.yaml"
    source.write_text(source.read_text().replace("language: fr", "language: de"))
    failed = choreo("run", str(project), "--max-reconciles", "20")
    assert failed.code == 1, failed.out + failed.err
    assert "Traceback" not in failed.err
    assert message in failed.out + failed.err
    assert _objects(project) == before
    listed = choreo("run", "list", str(project)).out.splitlines()
    assert len(listed) == 2 and listed[0].endswith(" failure") and listed[1].endswith(" success")
    assert choreo("run", "result", str(project)).code == 1
