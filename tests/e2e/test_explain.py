"""``choreo explain`` writes what ``kubectl explain`` (1.27 and later) writes for a kind or a field: from the
project's kinds, and from a server's OpenAPI v3 documents when one is addressed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from choreo.cli.explain import Schemas, enum_value, explain_text, wrap
from choreo.errors import ChoreoError
from tests.e2e import test_server
from tests.e2e.conftest import choreo
from tests.e2e.test_server import KUBECTLS, kubeconfig
from tests.server.harness import copy_example

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
NAMED: dict[str, Any] = {
    f"{META}.Time": {"type": "string", "description": "A time."},
    f"{META}.Owner": {"type": "object", "description": "An owner.", "required": ["name"],
                      "properties": {"name": {"type": "string", "description": "Its name."},
                                     "since": {"$ref": f"#/components/schemas/{META}.Time", "description": "From."}}},
}
WIDGET: dict[str, Any] = {
    "type": "object",
    "description": "A widget.",
    "required": ["spec"],
    "properties": {
        "spec": {"type": "object", "required": ["size"], "properties": {
            "size": {"type": "integer", "description": "How big."},
            "color": {"type": "string", "enum": ["red", "green", "blue", "cyan", ""], "description": "Its colour."},
            "tags": {"type": "array", "items": {"type": "string"}},
            "byName": {"type": "object", "description": "By name.",
                       "additionalProperties": {"type": "object", "description": "One.",
                                                "properties": {"x": {"type": "boolean"}}}},
            "owners": {"type": "array", "description": "Owners.",
                       "items": {"$ref": f"#/components/schemas/{META}.Owner"}},
            "port": {"x-kubernetes-int-or-string": True},
            "Zed": {"type": "number"},
        }},
    },
}


def _explain(*path: str, recursive: bool = False) -> list[str]:
    text = explain_text(Schemas(NAMED), WIDGET, ("example.com", "v1", "Widget"), path, recursive=recursive)
    return text.split("\n")


def test_descriptions_are_wrapped_at_76_columns_on_spaces_only() -> None:
    words = "one two three four five six seven eight nine ten " * 3
    assert wrap(words.strip()) == [
        "one two three four five six seven eight nine ten one two three four five six",
        "seven eight nine ten one two three four five six seven eight nine ten"]
    assert wrap("See " + "x" * 80 + " then") == ["See", "x" * 80, "then"]  # a long word stands alone
    assert wrap("a  b\n\n  indented\ttab\n") == ["a  b", "", "  indented\ttab", ""]  # lines and spaces kept
    assert wrap("y" * 76 + "   z") == ["y" * 76, "z"]  # the spaces where it breaks go


def test_enum_values_as_kubectl_prints_them() -> None:
    assert [enum_value(v) for v in ("red", "", True, 3, 2.0, 0.5, None)] == [
        "red", '""', "true", "3", "2", "0.5", "<nil>"]


def test_a_kind() -> None:
    assert _explain() == [
        "GROUP:      example.com", "KIND:       Widget", "VERSION:    v1", "",
        "DESCRIPTION:", "    A widget.", "    ",
        "FIELDS:", "  spec\t<Object> -required-", "    <no description>", "", "", ""]


def test_a_field_with_its_fields_types_enums_and_required_ones() -> None:
    assert _explain("spec") == [
        "GROUP:      example.com", "KIND:       Widget", "VERSION:    v1", "",
        "FIELD: spec <Object>", "", "",
        "DESCRIPTION:", "    <empty>",
        "FIELDS:",
        "  Zed\t<number>", "    <no description>", "",  # sorted as bytes: capitals first
        "  byName\t<map[string]Object>", "    By name.", "",
        "  color\t<string>", "  enum: red, green, blue, cyan, ....", "    Its colour.", "",
        "  owners\t<[]Owner>", "    Owners.", "",
        "  port\t<Object>", "    <no description>", "",
        "  size\t<integer> -required-", "    How big.", "",
        "  tags\t<[]string>", "    <no description>", "", "", ""]


def test_a_field_with_an_enum_lists_every_value() -> None:
    assert _explain("spec", "color")[4:13] == [
        "FIELD: color <string>", "ENUM:", "    red", "    green", "    blue", "    cyan", '    ""', "",
        "DESCRIPTION:"]


def test_the_descriptions_down_arrays_maps_and_references() -> None:
    owners = _explain("spec", "owners")
    assert owners[4:] == [
        "FIELD: owners <[]Owner>", "", "",
        "DESCRIPTION:", "    Owners.", "    An owner.", "    ",
        "FIELDS:", "  name\t<string> -required-", "    Its name.", "",
        "  since\t<string>", "    From.", "", "", ""]  # a reference to a string type is a string
    assert _explain("spec", "owners", "since")[4:] == [
        "FIELD: since <string>", "", "", "DESCRIPTION:", "    A time.", "    ", "", ""]  # the type's own words
    assert _explain("spec", "byName", "x")[4:5] == ["FIELD: x <boolean>"]  # through a map's values


def test_recursive_lists_every_field_below_by_name_and_type() -> None:
    assert _explain("spec", recursive=True)[10:] == [
        "  Zed\t<number>",
        "  byName\t<map[string]Object>", "    x\t<boolean>",
        "  color\t<string>", "  enum: red, green, blue, cyan, ....",
        "  owners\t<[]Owner>", "    name\t<string> -required-", "    since\t<string>",
        "  port\t<Object>", "  size\t<integer> -required-", "  tags\t<[]string>", "", ""]


def test_a_field_that_does_not_exist() -> None:
    with pytest.raises(ChoreoError, match=r'^field "nope" does not exist$'):
        _explain("spec", "size", "nope")


# ------------------------------------------------------------------------------------------ the real CLI

REQUESTS = ["greetings", "greetings.spec", "greeting.spec.language", "greetings.example.com.status.conditions",
            "greetings --recursive", "messages.metadata.ownerReferences", "namespaces", "events.involvedObject",
            "customresourcedefinitions --recursive"]
NEWER_KUBECTLS = [k for k in KUBECTLS if int(re.search(r"v1\.(\d+)", subprocess.run(
    [k, "version", "--client"], capture_output=True, text=True).stdout).group(1)) >= 27]  # 1.27 read OpenAPI v3

greeting_server = test_server.greeting_server  # the served greeting example, once idle


def test_the_project_and_its_server_explain_alike(greeting_server) -> None:
    _server, url, project = greeting_server
    for request in REQUESTS:
        local = choreo("explain", *request.split(), "-C", str(project))
        served = choreo("explain", *request.split(), "--server", url)
        assert local.code == served.code == 0, local.err + served.err
        assert local.out == served.out
    language = choreo("explain", "greeting.spec.language", "-C", str(project)).out
    assert "FIELD: language <string>\nENUM:\n    en\n    fr\n    nl\n    de\n" in language


@pytest.mark.parametrize("kubectl_bin", NEWER_KUBECTLS)
def test_explain_writes_what_kubectl_writes(greeting_server, tmp_path: Path, kubectl_bin: str) -> None:
    _server, url, _project = greeting_server
    config = kubeconfig(tmp_path / "kubeconfig", url)
    for request in REQUESTS:
        theirs = subprocess.run([kubectl_bin, "--kubeconfig", str(config), "explain", *request.split()],
                                capture_output=True, text=True, timeout=60)
        ours = choreo("explain", *request.split(), "--server", url)
        assert theirs.returncode == 0 and ours.code == 0, theirs.stderr + ours.err
        assert ours.out == theirs.stdout, request


def test_explain_mistakes_are_one_line_each(tmp_path: Path) -> None:
    project = str(copy_example("greeting", tmp_path))
    heading = "GROUP:      example.com\nKIND:       Greeting\nVERSION:    v1alpha1\n\n"
    cases = {  # kubectl's words; a field that does not exist after the kind's heading, as kubectl writes it
        (): ("", 'error: You must specify the type of resource to explain. Use "choreo api-resources" for a '
                 "complete list of supported resources.\n"),
        ("greetings", "messages"): ("", "error: We accept only this format: explain RESOURCE\n"),
        ("widgets",): ("", 'the server doesn\'t have a resource type "widgets"\n'),
        ("greetings.spec.nope",): (heading, 'error: field "nope" does not exist\n'),
        ("greetings.spec..name",): ("", "error: invalid jsonpath syntax, first node must be field node\n"),
        ("greetings", "--api-version", "example.com/v9"):
            ("", 'error: couldn\'t find resource for "example.com/v9, Resource=greetings"\n'),
        ("greetings", "--api-version", "v1"):  # the core group serves v1, without greetings
            ("", "error: GVR (/v1, Resource=greetings) not found in OpenAPI schema\n"),
    }
    for args, (out, message) in cases.items():
        result = choreo("explain", *args, "-C", project)
        assert (result.code, result.out, result.err) == (1, out, message), args
    assert choreo("explain", "greetings.spec.", "-C", project).out.startswith(heading + "FIELD: spec <Object>")
    assert not (Path(project) / ".choreo").exists()  # explaining reads the project's files, writes nothing
