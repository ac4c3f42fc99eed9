"""``choreo schema tree`` prints what ``pyang -f tree`` prints, for YANG files and for a profile, with the
documented differences only (README, "schema tree").

The fixture modules in fixtures/tree hold one node per marker of the format: optional and mandatory leaves,
keys, presence, choices and cases (aligned with their siblings), anydata/anyxml, status, features (also from
``uses`` and ``augment``), leafrefs (absolute, relative, from another module, behind a typedef), rpcs,
actions, notifications and augments of another module's data, input and notification.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.e2e.conftest import EXAMPLES, choreo
from tests.yang.conftest import FIXTURES, shared_yang
from yang.cli import schema
from yang.profiles import standard_module_dirs

TREE = FIXTURES / "tree"
SRL = shared_yang() / "srlinux-24.10.3" / "srlinux-yang-models"
OPENCONFIG = shared_yang() / "openconfig-5.3.0" / "release" / "models"


def pyang_tree(*args: str, cwd: Path = TREE) -> str:
    done = subprocess.run([sys.executable, "-m", "pyang", "-f", "tree", *args], capture_output=True, text=True,
                          cwd=cwd, check=False, timeout=120)
    assert done.stdout, done.stderr
    return done.stdout


def choreo_tree(*args: str, cwd: Path = TREE) -> str:
    result = choreo("schema", "tree", *args, cwd=cwd)
    assert result.code == 0, result.err
    return result.out


CASES = {
    "every marker": (["tr-base.yang"], []),
    "augment, rpc input and notification sections": (["tr-aug.yang"], []),
    "augmented nodes with their prefix, aligned": (["tr-base.yang", "tr-aug.yang"], []),
    "modules in the other order": (["tr-aug.yang", "tr-base.yang"], []),
    "depth": (["tr-base.yang", "tr-aug.yang"], ["depth", "2"]),
    "path": (["tr-base.yang"], ["path", "/system/server"]),
    "path through a choice and a case": (["tr-base.yang"], ["path", "/system/transport/udp"]),
    "path and depth": (["tr-base.yang"], ["path", "/system/server/state", "depth", "1"]),
    "path to an rpc": (["tr-base.yang"], ["path", "/reboot"]),
    "path into a notification with augmented nodes": (["tr-base.yang", "tr-aug.yang"], ["path", "/rebooted"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_tree_of_yang_files_is_pyangs(case):
    """The command in process (the other tests run the CLI): the same code, faster."""
    files, options = CASES[case]
    pairs = list(zip(options[::2], options[1::2], strict=True))
    pyang_options = [arg for name, value in pairs for arg in (f"--tree-{name}", value)]
    choreo_options = [arg for name, value in pairs for arg in (f"--{name}", value)]
    result = CliRunner().invoke(schema, ["tree", *choreo_options, *(str(TREE / f) for f in files)])
    assert result.exit_code == 0, result.output
    assert result.output == pyang_tree(*pyang_options, *files)


def test_the_tree_of_a_profile_is_pyangs_tree_of_its_modules(tmp_path):
    project = tmp_path / "fabric"
    shutil.copytree(EXAMPLES / "fabric", project)
    ietf, iana = standard_module_dirs()
    files = [str(ietf / "ietf-interfaces.yang"), str(ietf / "ietf-ip.yang"), str(iana / "iana-if-type.yang")]
    expected = pyang_tree("-p", f"{ietf}:{iana}", *files)
    assert choreo_tree("ietf-1.0.0", "-C", str(project)) == expected
    assert "+--rw ip:mtu?" in expected  # the profile's augments are there, prefixed


def test_where_the_tree_differs_from_pyang_keys_come_first_and_actions_after_data():
    lines = choreo_tree("tr-order.yang").splitlines()
    assert lines[3:] == [
        "        +--rw id       string",  # pyang: in the order written (value first)
        "        +--rw value?   string",
        "        +--rw note?    string",  # pyang: the action first, the augmented leaf after it
        "        +---x reset",
    ]
    assert sorted(pyang_tree("tr-order.yang").splitlines()) == sorted(lines)  # the same lines otherwise


def test_a_path_prints_no_augment_sections_and_a_wrong_path_or_depth_is_an_error():
    assert "augment" not in choreo_tree("--path", "/local", "tr-aug.yang")
    assert "augment /tb:rebooted:" in pyang_tree("--tree-path", "/local", "tr-aug.yang")
    missing = choreo("schema", "tree", "--path", "/system/nothing", "tr-base.yang", cwd=TREE)
    assert missing.code == 1 and missing.err == "error: schema path /system/nothing: no such node in tr-base\n"
    depth = choreo("schema", "tree", "--depth", "0", "tr-base.yang", cwd=TREE)
    assert depth.code == 1 and "--depth must be at least 1" in depth.err
    absent = choreo("schema", "tree", "absent.yang", cwd=TREE)
    assert absent.code == 1 and absent.err == "error: absent.yang: no such file\n"


@pytest.mark.skipif(not SRL.is_dir(), reason=f"SR Linux models not found in {SRL}")
def test_the_tree_of_sr_linux_interfaces_is_pyangs():
    files = ["srl_nokia/models/interfaces/srl_nokia-interfaces.yang", "srl_nokia/models/common/srl_nokia-features.yang"]
    expected = pyang_tree("-p", "ietf:openconfig/extensions:srl_nokia/models", *files, cwd=SRL)
    found = choreo_tree("-p", "ietf", "-p", "openconfig/extensions", "-p", "srl_nokia/models", *files, cwd=SRL)
    assert found == expected and len(found.splitlines()) > 250
    assert "+--rw breakout-mode! {srl_nokia-feat:port-breakout}?" in found  # a presence container with a feature


@pytest.mark.skipif(not OPENCONFIG.is_dir(), reason=f"OpenConfig models not found in {OPENCONFIG}")
def test_the_tree_of_openconfig_interfaces_with_ethernet_is_pyangs():
    files = ["interfaces/openconfig-interfaces.yang", "interfaces/openconfig-if-ethernet.yang"]
    third_party = str(OPENCONFIG.parents[1] / "third_party" / "ietf")
    expected = pyang_tree("-p", f".:{third_party}:types:interfaces:vlan", *files, cwd=OPENCONFIG)
    found = choreo_tree("-p", ".", "-p", third_party, *files, cwd=OPENCONFIG)
    assert found == expected and "+--rw oc-eth:ethernet" in found
