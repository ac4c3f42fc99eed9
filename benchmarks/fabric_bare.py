"""The bare pipeline of the fabric benchmark: Jinja2 renders the snippets, libyang validates each device.

Same topology, addresses and snippet content as ``choreo run -r -s`` on the generated fabric, without the
framework: no API server, no reconcilers, no allocator (the addresses the allocator hands out — loopbacks
from 10.0.0.0/16 and /31s from 10.1.0.0/16, in name order — are computed directly), no ownership, no
outputs besides the validated config in memory. Run by ``benchmarks/fabric.py`` in its own process:
``python -m benchmarks.fabric_bare N``.
"""

from __future__ import annotations

import ipaddress
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import jinja2
import libyang
import yaml

from benchmarks.fabric import topology

# The IETF and IANA modules pyang installs, as ``yang.profiles.standard_module_dirs`` finds them: named here
# because importing that module would bring choreo's plug-in API, and with it about 50 of choreo's modules
# (5 MiB at this process's peak), into the baseline.
MODULE_DIRS = [Path(sys.prefix) / "share" / "yang" / "modules" / name for name in ("ietf", "iana")]

TEMPLATE = """interfaces:
  interface:
  - name: {{ name }}
    description: "{{ description }}"
    type: {{ type }}
    enabled: true
    ipv4:
{%- if mtu %}
      mtu: {{ mtu }}
{%- endif %}
      address:
      - ip: {{ address }}
        prefix-length: {{ length }}
"""
LOOPBACKS = ipaddress.IPv4Address("10.0.0.0")
P2P = ipaddress.IPv4Address("10.1.0.0")


def interfaces(devices: int) -> list[dict[str, Any]]:
    """The template variables of every interface; addresses in the order the allocator hands them out."""
    names, links = topology(devices)
    out = []
    for i, name in enumerate(sorted(names)):
        out.append({"node": name, "name": "lo0", "description": f"loopback of {name}", "mtu": None,
                    "type": "iana-if-type:softwareLoopback", "address": str(LOOPBACKS + i), "length": 32})
    for i, (link, a, pa, b, pb) in enumerate(sorted(links)):
        for end, (node, port, peer, peer_port) in enumerate(((a, pa, b, pb), (b, pb, a, pa))):
            out.append({"node": node, "name": port, "description": f"to {peer} {peer_port} (link {link})",
                        "mtu": 9000, "type": "iana-if-type:ethernetCsmacd", "address": str(P2P + 2 * i + end),
                        "length": 31})
    return out


def main() -> None:
    devices = int(sys.argv[1])
    template = jinja2.Environment().from_string(TEMPLATE)
    per_device: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for iface in interfaces(devices):
        snippet = yaml.safe_load(template.render(**iface))
        per_device[iface["node"]].extend(snippet["interfaces"]["interface"])
    ctx = libyang.Context(":".join(str(d) for d in MODULE_DIRS))
    for module in ("ietf-interfaces", "ietf-ip", "iana-if-type"):
        ctx.load_module(module).feature_enable_all()
    for items in per_device.values():
        data = {"ietf-interfaces:interfaces": {"interface": [_prefixed(i) for i in items]}}
        tree = ctx.parse_data_mem(json.dumps(data), "json", parse_only=True)
        tree.validate_all(no_state=True)
        tree.first_sibling().print_mem("json", with_siblings=True)
        tree.free()


def _prefixed(item: dict[str, Any]) -> dict[str, Any]:
    out = dict(item)
    out["ietf-ip:ipv4"] = out.pop("ipv4")
    return out


if __name__ == "__main__":
    main()
