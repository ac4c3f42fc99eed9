"""choreo and libyang's own CLI (``yanglint -t config -e``, Debian libyang2-tools, the same libyang 2.1.30)
agree: same verdict on the same RFC 7951 data and modules, yanglint's (first) error path among choreo's,
and choreo's outputs (JSON, bare XML) validate in yanglint. ``-e`` is what choreo does too: only modules
with data in the input are validated."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.yang.schemas import GOOD, MODULES, routing_context
from yang.libyang_adapter import YangFailure
from yang.merge import Snippet, Source, is_under, merge_device
from yang.outputs import config_json
from yang.stage import decode_value

pytestmark = pytest.mark.skipif(shutil.which("yanglint") is None, reason="yanglint (libyang2-tools) is not installed")
_LOCATION = re.compile(r'Data location "(.*?)"')
PORT = "/fx-net:network/port[name='e1']"

CASES: dict[str, object] = {
    "valid port": {"fx-net:network": {"port": [{"name": "e1", "mtu": 1500, "fx-route:weight": 2}]}},
    "valid special types": {"fx-route:routing": {"cost": "-5", "ratio": "2.50", "passive": [None], "tag": "5"}},
    "uint16 as a string": {"fx-net:network": {"port": [{"name": "e1", "mtu": "1500"}]}},
    "list as an object": {"fx-net:network": {"port": {"name": "e1"}}},
    "leaf-list as a string": {"fx-net:system": {"ntp-server": "a"}},
    "out of range": {"fx-net:network": {"port": [{"name": "e1", "mtu": 10}]}},
    "dangling leafref": {"fx-net:network": {"link": [{"id": "l1", "port": "e9", "label": "x"}]}},
    "must on a default leaf": {"fx-route:routing": {"group": [{"name": "g1"}]}},
    "duplicate entry": {"fx-net:network": {"port": [{"name": "e1"}, {"name": "e1"}]}},
    "augment without its prefix": {"fx-net:network": {"port": [{"name": "e1", "weight": 1}]}},
    "int64 as a number": {"fx-route:routing": {"cost": 5}},
    "missing mandatory leaf": {"fx-net:network": {"link": [{"id": "l1"}]}},
    "when not satisfied": {"fx-net:network": {"port": [{"name": "e1", "kind": "fx-net:copper", "fiber-mode": "x"}]}},
    "unknown member": {"fx-net:network": {"port": [{"name": "e1", "colour": "red"}]}},
    "must on a default added back": {"fx-route:routing": {"sub": [{"index": 99, "type": "fx-route:routed",
                                                                   "arp": {"timeout": 5}}]}},
}
"""Each case is data (written as JSON) or the text of a file: JSON, or XML when it starts with ``<``."""
CASES.update({
    "lone surrogate": '{"fx-net:system": {"hostname": "\\ud800"}}',
    "union member as a string": {"fx-route:routing": {"sub": [{"index": 1, "type": "fx-route:routed",
                                                               "vlan": "10"}]}},
    "union member as a number": {"fx-route:routing": {"sub": [{"index": 1, "type": "fx-route:routed", "vlan": 10}],
                                                      "vlans": [10, "any"], "tag": 5}},
    "union enum as a number": {"fx-route:routing": {"vlans": [10, 11, "12"]}},
    "union string member as a string": {"fx-route:routing": {"tag": "5"}},
    "leaf given twice, plain and qualified": '{"fx-net:network": {"port": [{"name": "e1", "mtu": 1500, '
                                             '"fx-net:mtu": 1600}]}}',
    "container given twice": '{"fx-net:network": {"shared": {"x": "1"}, "fx-net:shared": {"x": "2"}}}',
    "list key given twice": '{"fx-net:network": {"port": [{"name": "e1", "fx-net:name": "e2"}]}}',
    "list given twice": '{"fx-net:network": {"port": [{"name": "e1"}], "fx-net:port": [{"name": "e2"}]}}',
    "XML leaf given twice": '<network xmlns="urn:choreo:test:fx-net"><port><name>e1</name><mtu>1500</mtu>'
                            '<mtu>1600</mtu></port></network>',
    "XML container given twice": '<system xmlns="urn:choreo:test:fx-net"/><system xmlns="urn:choreo:test:fx-net"/>',
    "XML empty container with a mandatory leaf": '<settings xmlns="urn:choreo:test:fx-mand"/>',
    "JSON empty container with a mandatory leaf": {"fx-mand:settings": {}},
    "XML container with its mandatory leaf": '<settings xmlns="urn:choreo:test:fx-mand"><mode>a</mode></settings>',
    "null for a leaf": '{"fx-net:system": {"hostname": null}}',
    "null for a container": '{"fx-net:system": null}',
    "null for a list": '{"fx-net:network": {"port": null}}',
    "null for an empty leaf": '{"fx-route:routing": {"passive": null}}',
    "delete operation on an entry with a bad value": '{"fx-net:network": {"port": [{"name": "e1", "mtu": 10, '
                                                     '"@": {"ietf-netconf:operation": "delete"}}]}}',
    "metadata of a member that is not there": '{"fx-net:network": {"port": [{"name": "e1", '
                                              '"@mtu": {"ietf-netconf:operation": "delete"}}]}}',
    "metadata without a module": '{"fx-net:network": {"port": [{"name": "e1", "mtu": 1500, '
                                 '"@mtu": {"operation": "delete"}}]}}',
    "metadata the module does not define": '{"fx-net:network": {"port": [{"name": "e1", "mtu": 1500, '
                                           '"@mtu": {"fx-net:colour": "red"}}]}}',
    "list given twice with one entry in both": '{"fx-net:network": {"port": [{"name": "e1"}], '
                                               '"fx-net:port": [{"name": "e1"}]}}',
})


def yanglint(data: Path) -> tuple[bool, str]:
    """yanglint's verdict on ``data`` and the data path of its error ("" when valid or without a path)."""
    files = [str(m.file or GOOD / f"{m.name}.yang") for m in MODULES]
    done = subprocess.run(["yanglint", "-D", "-p", str(GOOD), "-e", "-t", "config", *files, str(data)],
                          capture_output=True, text=True, timeout=60, check=False)
    location = _LOCATION.search(done.stderr)
    return done.returncode == 0, location.group(1) if location else ""


def choreo_paths(text: str) -> tuple[bool, list[str]]:
    """choreo's verdict on ``text`` as ``config validate`` reads a file, and the paths of its errors."""
    try:
        decoded = decode_value(routing_context(), text)
    except YangFailure as failure:  # XML libyang cannot parse at all
        return False, [issue.path for issue in failure.issues]
    snippet = Snippet(Source("File", "", "case"), 0, decoded.value, True, text, edits=False)  # a data file
    merged = merge_device(routing_context(), [snippet])
    paths = [issue.path for issue in decoded.issues]  # XML elements libyang rejected (the rest is merged)
    return merged.valid and not paths, paths + [p.path for root in merged.problems for p in [root, *root.follow_ons]]


@pytest.mark.parametrize("case", sorted(CASES))
def test_choreo_and_yanglint_agree_on_the_verdict_and_the_error_path(case, tmp_path):
    case_data = CASES[case]
    text = case_data if isinstance(case_data, str) else json.dumps(case_data, indent=2)
    data = tmp_path / ("data.xml" if text.startswith("<") else "data.json")
    data.write_text(text)
    lint_valid, lint_path = yanglint(data)
    valid, paths = choreo_paths(text)
    assert valid == lint_valid, (paths, lint_path)
    if not valid:
        # yanglint stops at its first error and may name the parent of the node choreo names (a parse error)
        assert any(is_under(p, lint_path) or is_under(lint_path, p) or garbled(p, lint_path) for p in paths), (
            paths, lint_path)


def garbled(path: str, lint_path: str) -> bool:
    """libyang 2.1.30 writes the path of a member given twice in a list entry (or of its metadata, ``@mtu``)
    without the entry's parents (``/fx-net:port[name='e1']/mtu``; for a key, with both keys): the same node when
    the ends agree."""
    end = lint_path.split("/")[-1].lstrip("@")
    return lint_path.startswith("/") and end == path.split("/")[-1] and lint_path.count("/") == 2


@pytest.mark.parametrize("case", ["valid port", "valid special types"])
def test_choreo_outputs_validate_in_yanglint(case, tmp_path):
    value = CASES[case]
    merged = merge_device(routing_context(), [Snippet(Source("File", "", "case"), 0, value, True)])
    assert merged.valid
    (tmp_path / "out.json").write_text(config_json(merged.config))
    (tmp_path / "out.xml").write_text(merged.xml)
    assert yanglint(tmp_path / "out.json") == (True, "")
    assert yanglint(tmp_path / "out.xml") == (True, "")
