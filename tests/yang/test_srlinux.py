"""Reference-style SR Linux 24.10.3 snippets merge and validate; bad values and missing references are reported.

Uses the vendor models in ../shared/yang (or $CHOREO_SHARED_YANG) in place; skipped when they are absent.
"""

from __future__ import annotations

import pytest

from tests.yang.conftest import shared_yang, snippet
from yang.merge import merge_device
from yang.profile_cache import compile_profile
from yang.profiles import load_profiles

SRL = shared_yang() / "srlinux-24.10.3"
pytestmark = pytest.mark.skipif(not SRL.is_dir(), reason=f"SR Linux models not found in {SRL}")

SCHEMA = f"""apiVersion: inv.sdcio.dev/v1alpha1
kind: Schema
metadata: {{name: srl-24.10.3}}
spec:
  provider: srl.nokia.sdcio.dev
  version: 24.10.3
  repositories:
  - path: {SRL}
    dirs: [{{src: srlinux-yang-models, dst: .}}]
    schema:
      models: [srl_nokia/models]
      includes: [ietf, openconfig/extensions, openconfig/openconfig-extensions.yang]
      excludes: [.*tools.*]
"""


@pytest.fixture(scope="module")
def srl(tmp_path_factory):
    root = tmp_path_factory.mktemp("srl")
    (root / "schemas").mkdir()
    (root / "schemas" / "srl.yaml").write_text(SCHEMA)
    with pytest.MonkeyPatch.context() as env:  # the models are used in place, outside the project: trust them
        env.setenv("CHOREO_TRUSTED_PATHS", str(shared_yang()))
        return compile_profile(load_profiles(root).resolve("srl.nokia.sdcio.dev", "24.10.3"))


def interface(name: str, admin: object = "enable", **ipv4: object) -> dict:
    sub = {"index": 0, "admin-state": "enable"}
    if ipv4:
        sub["ipv4"] = ipv4
    if name.startswith("ethernet"):
        sub["type"] = "routed"
    return {"interface": [{"name": name, "description": f"{name} by choreo", "admin-state": admin,
                           "subinterface": [sub]}]}


def test_interface_and_subinterface_snippets_merge_and_validate(srl):
    snippets = [
        snippet("system0", interface("system0", **{"address": [{"ip-prefix": "10.255.0.1/32"}]})),
        snippet("e1", interface("ethernet-1/1", **{"address": [{"ip-prefix": "10.0.0.0/31"}]})),
        snippet("e2", interface("ethernet-1/2", **{"unnumbered": {"admin-state": "enable",
                                                                  "interface": "system0.0"}})),
        snippet("ni", {"network-instance": [{"name": "default", "type": "default",
                                             "interface": [{"name": "ethernet-1/1.0"}, {"name": "ethernet-1/2.0"}]}]}),
    ]
    merged = merge_device(srl, snippets)
    assert merged.valid, merged.problems
    names = [i["name"] for i in merged.config["srl_nokia-interfaces:interface"]]
    assert names == ["ethernet-1/1", "ethernet-1/2", "system0"]  # snippets merge in (priority, name) order
    assert 'xmlns="urn:nokia.com:srlinux:chassis:interfaces"' in merged.xml


def test_bad_admin_state_and_missing_interface_behind_network_instance_are_reported(srl):
    snippets = [
        snippet("e1", interface("ethernet-1/1", admin="up")),
        snippet("ni", {"network-instance": [{"name": "default", "type": "default",
                                             "interface": [{"name": "ethernet-1/9.0"}]}]}),
    ]
    merged = merge_device(srl, snippets)
    by_path = {p.path: p for p in merged.problems}
    admin = by_path["/srl_nokia-interfaces:interface[name='ethernet-1/1']/admin-state"]
    assert 'Invalid enumeration value "up"' in admin.message and admin.sources[0].name == "e1"
    ni = "/srl_nokia-network-instance:network-instance[name='default']"
    missing = by_path[f"{ni}/interface[name='ethernet-1/9.0']/name"]
    assert missing.sources[0].name == "ni"


def test_a_failing_default_must_does_not_hide_three_unrelated_errors(srl):
    """BGP's "one of the address families must be enabled" fails on admin-state, a leaf libyang adds as a
    default: the stage removes the BGP container and goes on to find the other errors of the device."""
    ni = {"name": "default", "type": "default", "interface": [{"name": "ethernet-1/1.0"}, {"name": "ethernet-1/9.0"}],
          "protocols": {"bgp": {"autonomous-system": 65000, "router-id": "10.0.0.1",
                                "group": [{"group-name": "spines"}],
                                "neighbor": [{"peer-address": "10.0.0.2", "peer-group": "spines"}]}}}
    policy = {"policy": [{"name": "p1", "statement": [{"name": "10", "match": {"prefix": {"prefix-set": "missing"}},
                                                         "action": {"policy-result": "accept"}}]}]}
    snippets = [
        snippet("e1", interface("ethernet-1/1", **{"address": [{"ip-prefix": "10.0.0.0/31"}]})),
        snippet("e2", interface("ethernet-1/2", admin="up")),
        snippet("ni", {"network-instance": [ni]}),
        snippet("policy", {"routing-policy": policy}),
    ]
    merged = merge_device(srl, snippets)
    ni_path = "/srl_nokia-network-instance:network-instance[name='default']"
    assert sorted(p.path for p in merged.problems) == sorted([
        f"{ni_path}/protocols/srl_nokia-bgp:bgp/admin-state",
        f"{ni_path}/interface[name='ethernet-1/9.0']/name",
        "/srl_nokia-interfaces:interface[name='ethernet-1/2']/admin-state",
        "/srl_nokia-routing-policy:routing-policy/policy[name='p1']/statement[name='10']/match/prefix/prefix-set",
    ])
    by_path = {p.path: p for p in merged.problems}
    assert by_path[f"{ni_path}/protocols/srl_nokia-bgp:bgp/admin-state"].message == (
        "One of the address families must be enabled")
    assert [s.name for s in by_path[f"{ni_path}/protocols/srl_nokia-bgp:bgp/admin-state"].sources] == ["ni"]
