"""``choreo get`` with kubectl's habits, locally and against a server, and ``api-resources`` with the ``-r`` kinds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import choreo
from tests.e2e.test_progress import on_terminal
from tests.server.harness import ServerProcess


def ok(*args: str) -> str:
    result = choreo(*args)
    assert result.code == 0, result.err
    return result.out


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines()]


def cells(text: str) -> list[dict[str, str]]:
    """A table's rows by header, cut where the header's columns begin (a blank cell stays a column)."""
    header, *lines = text.splitlines()
    starts = [i for i, c in enumerate(header) if c != " " and (i == 0 or header[i - 1] == " ")]
    bounds = list(zip(starts, [*starts[1:], None], strict=True))
    names = [header[a:b].strip() for a, b in bounds]
    return [{name: line[a:b].strip() for name, (a, b) in zip(names, bounds, strict=True)} for line in lines]


GREETING = """\
apiVersion: example.com/v1alpha1
kind: Greeting
metadata:
  name: {name}
  namespace: {namespace}
  labels: {{team: {team}}}
spec:
  name: {name}
  language: en
"""


@pytest.fixture
def greetings(example) -> Path:
    """greeting, plus greetings in namespace lab and leaf2/leaf10 in default (labelled)."""
    project: Path = example("greeting")
    for name, namespace, team in (("carol", "lab", "red"), ("dave", "lab", "blue"), ("leaf10", "default", "red"),
                                  ("leaf2", "default", "blue")):
        text = GREETING.format(name=name, namespace=namespace, team=team)
        (project / "in" / f"example.com.greeting.{namespace}.{name}.yaml").write_text(text)
    assert choreo("run", str(project)).code == 0
    return project


def test_table_is_the_default_in_namespace_default(greetings: Path) -> None:
    table = rows(ok("get", "greetings", "-C", str(greetings)))
    assert table[0] == ["NAME", "AGE"]
    assert [row[0] for row in table[1:]] == ["alice", "bob", "leaf10", "leaf2"]  # kubectl's order


def test_all_namespaces_shows_the_namespace_column(greetings: Path) -> None:
    table = rows(ok("get", "greetings", "-A", "-C", str(greetings)))
    assert table[0] == ["NAMESPACE", "NAME", "AGE"]
    assert [row[:2] for row in table[1:]] == [
        ["default", "alice"], ["default", "bob"], ["default", "leaf10"], ["default", "leaf2"],
        ["lab", "carol"], ["lab", "dave"],
    ]
    assert [r[0] for r in rows(ok("get", "greetings", "-n", "lab", "-C", str(greetings)))[1:]] == ["carol", "dave"]


def test_nothing_in_a_namespace_is_said_as_kubectl_says_it(greetings: Path) -> None:
    result = choreo("get", "greetings", "-n", "nope", "-C", str(greetings))
    assert result.code == 0 and result.out == ""
    assert result.err == "No resources found in nope namespace.\n"
    missing = choreo("get", "greeting", "nobody", "-C", str(greetings))
    missing_line = 'Error from server (NotFound): greetings.example.com "nobody" not found\n'
    assert (missing.code, missing.err) == (1, missing_line)


def test_label_selectors(greetings: Path) -> None:
    def names(selector: str) -> list[str]:
        return ok("get", "greetings", "-A", "-l", selector, "-o", "name", "-C", str(greetings)).split()

    assert names("team=red") == ["greeting.example.com/leaf10", "greeting.example.com/carol"]
    assert names("team in (blue),team!=red") == ["greeting.example.com/leaf2", "greeting.example.com/dave"]
    assert names("!team") == ["greeting.example.com/alice", "greeting.example.com/bob"]
    bad = choreo("get", "greetings", "-l", "team==", "-l", "a b", "-C", str(greetings))
    assert bad.code == 1 and bad.err.startswith(
        'Error from server (BadRequest): Unable to find "example.com/v1alpha1, Resource=greetings" that match '
        'label selector "a b", field selector "": unable to parse requirement')  # the last -l, as kubectl


def test_type_name_kind_lists_and_output_formats(greetings: Path) -> None:
    project = str(greetings)
    both = ok("get", "greeting/alice", "message/alice-message", "-o", "name", "-C", project)
    assert both.split() == ["greeting.example.com/alice", "message.example.com/alice-message"]
    listed = ok("get", "greetings,messages", "-C", project)
    assert "greeting.example.com/alice" in listed and "message.example.com/bob-message" in listed
    assert "\n\nNAME" in listed  # one table per kind
    one = yaml.safe_load(ok("get", "greeting/alice", "-o", "yaml", "-C", project))
    assert one["kind"] == "Greeting" and "managedFields" not in one["metadata"]
    many = json.loads(ok("get", "greeting", "alice", "bob", "-o", "json", "-C", project))
    assert many["kind"] == "List" and [i["metadata"]["name"] for i in many["items"]] == ["alice", "bob"]
    template = '{range .items[*]}{.metadata.name}={.spec.language}{"\\n"}{end}'
    assert ok("get", "greetings", "-n", "lab", "-o", f"jsonpath={template}", "-C", project) == "carol=en\ndave=en\n"
    assert ok("get", "greeting", "alice", "-o", "jsonpath={.metadata.labels}", "-C", project) == ""
    columns = ok("get", "greetings", "-o", "custom-columns=WHO:.spec.name,LANG:spec.language", "-C", project)
    assert rows(columns)[:2] == [["WHO", "LANG"], ["Alice", "fr"]]
    bad = choreo("get", "greetings", "-o", "table", "-C", project)
    assert (bad.code, bad.err) == (1, 'error: unable to match a printer suitable for the output format "table", '
                                      "allowed formats are: custom-columns,custom-columns-file,go-template,"
                                      "go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,"
                                      "templatefile,wide,yaml\n")  # kubectl's words
    go = ok("get", "greetings", "-n=lab", "-o=go-template={{range .items}}{{.metadata.name}} {{.x}}\n{{end}}",
            "-C", project)  # kubectl's -X=VALUE; a missing key prints as in Go
    assert go == "carol <no value>\ndave <no value>\n"


def test_printer_columns_show_an_ipclaims_address_and_categories_select_kinds(example) -> None:
    project = example("interface")
    assert choreo("run", str(project), "-r").code == 0
    text = ok("get", "ipclaims", "-C", str(project))
    header = rows(text)[0]
    assert header[:3] == ["NAME", "READY", "INDEX"] and "ADDRESS" in header and "AGE" not in header
    by_name = {row["NAME"]: row for row in cells(text)}
    assert by_name["node1.loopback.ipv4"]["ADDRESS"] == "10.0.0.0/32"
    assert by_name["node1.loopback.ipv4"]["READY"] == "True"
    assert by_name["node1.loopback.ipv4"]["RANGE"] == ""  # a field it has not: blank, as kubectl shows it
    kuid = ok("get", "kuid", "-C", str(project))  # the allocator kinds' category
    assert "ipclaim.ipam.be.kuid.dev/node1.loopback.ipv4" in kuid
    assert "ipindex.ipam.be.kuid.dev/kubenet" in kuid


def test_api_resources_lists_the_allocator_kinds_locally(example) -> None:
    project = example("greeting")
    kinds = {row[-1] for row in rows(ok("api-resources", "-C", str(project)))[1:]}
    assert {"Greeting", "IPClaim", "IPIndex", "VLANClaim", "ASIndex", "GENIDClaim"} <= kinds


@pytest.fixture
def served(greetings: Path) -> Iterator[tuple[str, Path]]:
    server = ServerProcess(str(greetings), "--address", "127.0.0.1:0", "--no-run")
    try:
        yield server.wait_ready(), greetings
    finally:
        server.stop()


def test_against_a_server_get_selects_and_prints_as_locally(served: tuple[str, Path]) -> None:
    url, project = served
    for args in (
        ("get", "greetings", "-A", "-l", "team", "-o", "name"),
        ("get", "greeting/alice", "message/alice-message", "-o", "json"),
        ("get", "greetings", "-n", "lab", "-o", "custom-columns=NAME:.metadata.name,TEAM:.metadata.labels.team"),
        ("get", "greetings,messages", "-o", "jsonpath={.items[*].metadata.name}"),
    ):
        assert ok(*args, "--server", url) == ok(*args, "-C", str(project)), args
    table = rows(ok("get", "greetings", "-A", "--server", url))
    assert table[0] == ["NAMESPACE", "NAME", "AGE"] and table[-1][:2] == ["lab", "dave"]
    nothing = choreo("get", "greetings", "-n", "nope", "--server", url)
    assert nothing.code == 0 and nothing.err == "No resources found in nope namespace.\n"


def test_a_server_from_the_environment_is_named_on_a_terminal(served: tuple[str, Path], monkeypatch) -> None:
    url, _project = served
    monkeypatch.setenv("CHOREO_SERVER", url)
    code, shown = on_terminal("get", "greetings", "-o", "name")
    assert code == 0 and shown.splitlines()[0] == f"server: {url} (from $CHOREO_SERVER)", shown
    assert choreo("get", "greetings", "-o", "name").err == ""  # not a terminal: stderr stays clean for scripts
    code, shown = on_terminal("get", "greetings", "-o", "name", "--server", url)
    assert code == 0 and "server:" not in shown  # named on the command line: nothing to point out


def test_label_columns_show_labels_and_sort_by_as_kubectl(greetings: Path) -> None:
    at = ("-C", str(greetings))
    table = cells(ok("get", "greetings", "-L", "team", "--show-labels", *at))
    assert [(r["NAME"], r["TEAM"], r["LABELS"]) for r in table] == [
        ("alice", "", "<none>"), ("bob", "", "<none>"), ("leaf10", "red", "team=red"), ("leaf2", "blue", "team=blue")]
    assert rows(ok("get", "greetings", "-L", "example.com/team,team", *at))[0] == ["NAME", "AGE", "TEAM", "TEAM"]
    by_team = ok("get", "greetings", "-A", "--sort-by", ".metadata.labels.team", "-o", "name", *at).split()
    assert by_team == [f"greeting.example.com/{name}" for name in (
        "alice", "bob", "leaf2", "dave", "leaf10", "carol")]  # no team first, then blue, red; ties as listed
    by_name = rows(ok("get", "greetings", "--sort-by", "{.spec.name}", *at))
    assert [r[0] for r in by_name[1:]] == ["alice", "bob", "leaf10", "leaf2"]
    missing = choreo("get", "greetings", "--sort-by", ".spec.nothing", *at)
    assert (missing.code, missing.err) == (1, "error: couldn't find any field with path "  # kubectl's words
                                              '"{.spec.nothing}" in the list of objects\n')


def test_field_selector_and_no_headers_as_kubectl(greetings: Path) -> None:
    at = ("-C", str(greetings))
    carol = rows(ok("get", "greetings", "-A", "--field-selector", "spec.name=carol", *at))
    assert [r[:2] for r in carol] == [["NAMESPACE", "NAME"], ["lab", "carol"]]
    names = ok("get", "greetings", "--field-selector", "metadata.name!=alice,spec.language=en", "--no-headers",
               "-o", "custom-columns=N:.metadata.name", *at)
    assert names.split() == ["bob", "leaf10", "leaf2"]  # alice is excluded by name (and speaks fr)
    plain = rows(ok("get", "greetings", "--no-headers", *at))
    assert [r[0] for r in plain] == ["alice", "bob", "leaf10", "leaf2"]  # no NAME line
    undeclared = choreo("get", "greetings", "--field-selector", "spec.colour=red", *at)
    assert undeclared.code == 1 and undeclared.err.startswith(
        "Error from server (BadRequest): Unable to find \"example.com/v1alpha1, Resource=greetings\" that match "
        "label selector \"\", field selector \"spec.colour=red\": invalid field selector 'spec.colour=red': field "
        "label not supported: spec.colour")
