"""An XML snippet with a bad element keeps its valid parts: only the rejected element is dropped, and its error
names the data path (not ``/``), the snippet's line and the Config resource, as for JSON and YAML snippets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.e2e.conftest import EXAMPLES, choreo
from tests.yang.conftest import snippet
from tests.yang.schemas import routing_context
from yang.libyang_adapter import YangFailure
from yang.merge import merge_device
from yang.outputs import netconf_data, netconf_payload
from yang.stage import decode_value
from yang.xml_snippets import parse_xml_snippet, path_steps

NET = '<network xmlns="urn:choreo:test:fx-net">'


def kept(fx, text: str) -> tuple[dict, list[tuple[str, int]]]:
    value = parse_xml_snippet(fx, text)
    return json.loads(value.json_text), [(i.path, i.line) for i in value.issues]


def test_each_bad_element_is_dropped_with_its_path_and_line_and_the_rest_is_kept(fx):
    text = (f'<?xml version="1.0"?>\n{NET}\n<port><name>e1</name>\n<enabled>maybe</enabled>\n<mtu>1500</mtu>'
            '<colour>red</colour></port>\n<port><name>E/2</name><mtu>1</mtu></port></network>\n'
            '<system xmlns="urn:choreo:test:fx-net"><hostname>h1</hostname></system>')
    value, issues = kept(fx, text)
    assert value == {"fx-net:network": {"port": [{"name": "e1", "mtu": 1500}]}, "fx-net:system": {"hostname": "h1"}}
    assert issues == [
        ("/fx-net:network/port[name='e1']/enabled", 4),
        ("/fx-net:network/port[name='e1']/colour", 5),
        ("/fx-net:network/port/name", 6),  # a bad key: the whole entry goes
    ]


def test_identity_prefixes_of_kept_elements_survive_the_edit_and_unknown_modules_are_dropped(fx):
    text = (f'{NET}<port xmlns:f="urn:choreo:test:fx-net"><name>e1</name><kind>f:fiber</kind>'
            '<speed>x</speed></port></network><bogus xmlns="urn:example:none"/>')
    value, issues = kept(fx, text)
    assert value == {"fx-net:network": {"port": [{"name": "e1", "kind": "fx-net:fiber"}]}}
    assert [path for path, _ in issues] == ["/fx-net:network/port[name='e1']/speed", "/bogus"]


def test_a_node_given_twice_is_an_error_and_the_first_one_stays(fx):
    """libyang's parse (without validation) keeps both, and its JSON would name the member twice."""
    text = (f"{NET}<port><name>e1</name><mtu>1500</mtu><mtu>1600</mtu></port><port><name>e1</name></port>"
            f'<shared><x>1</x></shared><shared><x>2</x></shared></network>{NET}</network>')
    value, issues = kept(fx, text)
    assert value == {"fx-net:network": {"port": [{"name": "e1", "mtu": 1500}], "shared": {"x": "1"}}}
    assert [path for path, _ in issues] == ["/fx-net:network", "/fx-net:network/port[name='e1']",
                                            "/fx-net:network/shared", "/fx-net:network/port[name='e1']/mtu"]
    assert parse_xml_snippet(fx, text).issues[0].message == 'Duplicate instance of "network"'


def test_an_empty_container_is_data_of_its_module_and_its_error_names_the_snippet():
    """``<settings/>`` is the module's data: its mandatory leaf is missing, as yanglint -e says (libyang's JSON
    printer leaves an empty non-presence container out, which made the module look absent)."""
    decoded = decode_value(routing_context(), '<settings xmlns="urn:choreo:test:fx-mand"/>')
    assert decoded.value == {"fx-mand:settings": {}}
    merged = merge_device(routing_context(), [snippet("a", decoded.value)])
    assert [(p.path, p.message, [s.name for s in p.sources]) for p in merged.problems] == [
        ("/fx-mand:settings/mode", 'Mandatory node "mode" instance does not exist', ["a"])]


def test_xml_that_is_not_well_formed_still_fails_as_a_whole(fx):
    with pytest.raises(YangFailure) as failed:
        parse_xml_snippet(fx, f"{NET}<port><name>e1</name></network>")
    issue = failed.value.issues[0]
    assert "tag mismatch" in issue.message and issue.path == "/fx-net:network/port/name"


def test_path_steps_keep_slashes_inside_predicates():
    assert path_steps("/a:b/c[name='x/y'][k=\"1/2\"]/d") == ["a:b", "c[name='x/y'][k=\"1/2\"]", "d"]


XML_CONFIG = """apiVersion: config.sdcio.dev/v1alpha1
kind: Config
metadata:
  name: leaf1-xml
  namespace: default
  labels: {config.sdcio.dev/targetName: leaf1, config.sdcio.dev/targetNamespace: default}
spec:
  priority: 20
  config:
  - path: /
    value: |
      <interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces">
        <interface><name>ethernet-1/1</name><description>set by XML</description>
          <enabled>sometimes</enabled></interface>
      </interfaces>
"""


def test_the_stage_reports_the_dropped_element_and_merges_the_rest(tmp_path: Path):
    project = tmp_path / "fabric"
    shutil.copytree(EXAMPLES / "fabric", project)
    crd = project / "crds" / "config.sdcio.dev_configs.yaml"  # a value may be text (JSON or XML), not only a mapping
    crd.write_text(crd.read_text().replace("value:\n                      type: object\n", "value:\n"))
    (project / "in" / "config.leaf1-xml.yaml").write_text(XML_CONFIG)
    result = choreo("run", str(project), "-r", "-s")
    assert result.code == 1
    path = "/ietf-interfaces:interfaces/interface[name='ethernet-1/1']/enabled"
    assert (f'  leaf1: {path}: spec.config[0].value: Invalid boolean value "sometimes" '
            "[from Config default/leaf1-xml]") in result.out
    blame = choreo("config", "blame", "leaf1", "-C", str(project))
    assert "set by XML" in blame.out and "Config default/leaf1-xml" in blame.out  # the valid part was merged


def test_leading_blank_lines_and_a_declaration_keep_the_line_numbers(fx):
    text = f'\n\n<?xml version="1.0"?>\n{NET}\n<port><name>e1</name>\n<mtu>1</mtu>\n<speed>x</speed></port></network>'
    decoded = decode_value(fx, text)
    assert [(i.path, i.line) for i in decoded.issues] == [
        ("/fx-net:network/port[name='e1']/mtu", 6), ("/fx-net:network/port[name='e1']/speed", 7)]


def test_the_netconf_payload_keeps_multi_line_values_as_they_are(fx):
    value = {"fx-net:system": {"hostname": "two\nlines\n"}}
    payload = netconf_payload(merge_device(fx, [snippet("a", value)]).xml)
    assert json.loads(parse_xml_snippet(fx, netconf_data(payload)).json_text) == value
