"""``run deps --topology``: the network the intent describes — devices (Nodes) joined by their Links.

The ownership forest answers "what did choreo make from what"; a network engineer first wants the
network itself. Every object of kind ``Node`` is a device; every object of kind ``Link`` joins the
devices its ``spec.endpoints`` name (``[{node: leaf1, port: ethernet-1/1}, ...]``, as infra.kuid.dev
Links do; ``endpoint`` or ``interface`` stand in for ``port``), in the Link's namespace. An endpoint
naming no Node still shows, marked, so a broken intent is visible; a Link or Node whose ``Ready``
condition is ``False`` is drawn in red.

The picture stacks devices in tiers by role, the name without its number (``spine1`` -> ``spine``):
well-known roles top-down (superspine, spine, core, border, leaf, tor, access, server, host), other roles
below by how connected they are. A tier wider than ``ROW`` devices wraps onto further rows, so a
400-device fabric stays a picture of sensible size rather than one row of 380 leaves.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass

from choreo.api.conditions import get_condition
from choreo.errors import ChoreoError
from choreo.results import graphviz
from choreo.results.deps import ref_matches
from choreo.results.inventory import Item, shown_name

ROW = 24  # devices per row of a tier
COLUMN_STEP, ROW_STEP, TIER_GAP = 2.0, 1.0, 2.2  # inches between device centres: in a row, rows, tiers
CHAR_WIDTH = 0.11  # inches, about, of a character of a device's 14-point name
# Ports are written at a Link's ends in pictures of up to PORT_LABELS_MAX Links, at the ends on devices
# with up to PORT_LABELS_PER_DEVICE Links (more would pile up); the tooltip always names them.
PORT_LABELS_MAX, PORT_LABELS_PER_DEVICE = 100, 8
ROLES = ("superspine", "super-spine", "spine", "core", "border", "leaf", "tor", "access", "server", "host")
PORT_KEYS = ("port", "endpoint", "interface")

DeviceKey = tuple[str, str]  # namespace, name


@dataclass(frozen=True)
class End:
    device: DeviceKey
    port: str


@dataclass(frozen=True)
class Link:
    item: Item
    ends: tuple[End, ...]

    @property
    def name(self) -> str:
        return self.item.shown_name


@dataclass
class Topology:
    devices: dict[DeviceKey, Item]  # the Nodes, sorted by namespace and name
    links: list[Link]  # sorted by name

    def shown(self, key: DeviceKey) -> str:
        """A device as the picture names it (``namespace/name`` outside default, as everywhere)."""
        return shown_name({"metadata": {"namespace": key[0], "name": key[1]}})

    def neighbours(self) -> dict[DeviceKey, set[DeviceKey]]:
        adjacent: dict[DeviceKey, set[DeviceKey]] = {key: set() for key in self.all_devices()}
        for link in self.links:
            for end in link.ends:
                adjacent[end.device].update(other.device for other in link.ends if other.device != end.device)
        return adjacent

    def all_devices(self) -> list[DeviceKey]:
        """The Nodes and the devices Links name without a Node, sorted."""
        return sorted(set(self.devices) | {end.device for link in self.links for end in link.ends})


def build(items: list[Item]) -> Topology:
    devices = {_key(item): item for item in items if item.kind == "Node"}
    links = [_link(item) for item in items if item.kind == "Link"]
    return Topology(dict(sorted(devices.items())), sorted(links, key=lambda link: (link.name, link.item.uid)))


def _key(item: Item) -> DeviceKey:
    return (str(item.metadata.get("namespace") or ""), str(item.metadata.get("name") or ""))


def _link(item: Item) -> Link:
    spec = item.obj.get("spec")
    endpoints = spec.get("endpoints") if isinstance(spec, dict) else None
    namespace = _key(item)[0]
    ends = [
        End((namespace, str(ep["node"])), next((str(ep[key]) for key in PORT_KEYS if ep.get(key)), ""))
        for ep in (endpoints if isinstance(endpoints, list) else [])
        if isinstance(ep, dict) and ep.get("node")
    ]
    return Link(item, tuple(ends))


def select(topology: Topology, roots: Sequence[str], depth: int | None) -> Topology:
    """The devices within ``depth`` links of the ``roots`` (all of a root's network without ``depth``;
    everything without ``roots``) and the links among them."""
    if not roots:
        if depth is not None:
            raise ChoreoError("--depth with --topology counts links from a device: give --root too")
        return topology
    start: set[DeviceKey] = set()
    for ref in roots:
        found = {key for key, item in topology.devices.items() if ref_matches(item, ref)}
        if not found:
            raise ChoreoError(f"--root {ref}: no such device (a Node; give NAME or node/NAME)")
        start |= found
    keep = _within(topology.neighbours(), start, depth)
    links = [link for link in topology.links if all(end.device in keep for end in link.ends)]
    return Topology({key: item for key, item in topology.devices.items() if key in keep}, links)


def _within(adjacent: dict[DeviceKey, set[DeviceKey]], start: set[DeviceKey], depth: int | None) -> set[DeviceKey]:
    """Breadth-first from ``start``: the devices at most ``depth`` links away."""
    seen = set(start)
    queue = deque((key, 0) for key in sorted(start))
    while queue:
        key, hops = queue.popleft()
        if depth is not None and hops >= depth:
            continue
        for other in sorted(adjacent[key] - seen):
            seen.add(other)
            queue.append((other, hops + 1))
    return seen


# ------------------------------------------------------------------------------------------ tiers


def role(name: str) -> str:
    """``leaf12`` -> ``leaf``, ``dc1-spine-2`` -> ``dc1-spine``; a name without a number is its own role."""
    return re.sub(r"[-_.]*\d+$", "", name) or name


def tiers(topology: Topology) -> list[list[DeviceKey]]:
    """Devices grouped by role, top tier first, each tier in natural name order (leaf2 before leaf10)."""
    adjacent = topology.neighbours()
    groups: dict[str, list[DeviceKey]] = {}
    for key in topology.all_devices():
        groups.setdefault(role(key[1]), []).append(key)

    def order(name: str) -> tuple[int, float, str]:
        if name.lower() in ROLES:
            return (0, ROLES.index(name.lower()), name)
        members = groups[name]
        return (1, -sum(len(adjacent[key]) for key in members) / len(members), name)

    return [sorted(groups[name], key=_natural) for name in sorted(groups, key=order)]


def _natural(key: DeviceKey) -> tuple[object, ...]:
    return (key[0], *((int(part) if part.isdigit() else part) for part in re.split(r"(\d+)", key[1]) if part))


# ------------------------------------------------------------------------------------------ output


def render_text(topology: Topology) -> list[str]:
    """One line per link (``Link NAME: a PORT -- b PORT``), then the devices without a link."""
    linked = {end.device for link in topology.links for end in link.ends}
    lines = [f"Link {link.name}: " + " -- ".join(_end_text(topology, end) for end in link.ends)
             for link in topology.links]
    lines += [f"Node {item.shown_name}: no link" for key, item in topology.devices.items() if key not in linked]
    return lines


def _end_text(topology: Topology, end: End) -> str:
    missing = "" if end.device in topology.devices else " (no such Node)"
    return " ".join(part for part in (topology.shown(end.device) + missing, end.port) if part)


def render_dot(topology: Topology) -> list[str]:
    """An undirected Graphviz graph: one box per device at its place in the tiers, one line per Link."""
    ids = {key: f"d{i}" for i, key in enumerate(topology.all_devices())}
    places = positions(topology)
    fills = graphviz.colours(role(key[1]) for key in ids)
    lines = [
        "graph topology {",
        # Every device is pinned (pos ...!), so neato only draws the Links: straight lines.
        "  graph " + graphviz.attributes(layout="neato", outputorder="edgesfirst", fontname=graphviz.FONT,
                                          pad=0.3) + ";",
        "  node " + graphviz.attributes(shape="box", style="rounded,filled", fontname=graphviz.FONT, fontsize=14,
                                         width=1.2, height=0.5) + ";",
        "  edge " + graphviz.attributes(color="gray40", penwidth=1.5, fontname=graphviz.FONT, fontsize=10,
                                         labelfontcolor="gray20", labeldistance=2.5, labelangle=0) + ";",
    ]
    for key, node_id in ids.items():
        lines.append(f"  {node_id} " + _device_attributes(topology, key, fills[role(key[1])], places[key]) + ";")
    labelled = _labelled_devices(topology)
    for number, link in enumerate(topology.links):
        lines += _link_lines(topology, link, number, ids, labelled)
    return [*lines, "}"]


def positions(topology: Topology) -> dict[DeviceKey, tuple[float, float]]:
    """Each device's centre in inches, tiers top-down.

    The top tier is in name order; every other device sits under its neighbours above (sorted by their
    mean x, the barycentre heuristic), so Links run mostly downwards instead of across the picture. A
    tier of more than ``ROW`` devices is filled column by column: the devices under one spine stack up."""
    adjacent = topology.neighbours()
    longest = max((len(topology.shown(key)) for key in adjacent), default=0)
    step = max(COLUMN_STEP, longest * CHAR_WIDTH + 0.6)  # long names must not touch
    places: dict[DeviceKey, tuple[float, float]] = {}
    top = 0.0
    for tier in tiers(topology):
        # sorted() is stable: name order among devices under the same place
        ordered = sorted(tier, key=lambda key: _barycentre(adjacent[key], places)) if places else tier
        rows = -(-len(ordered) // ROW)
        columns = -(-len(ordered) // rows)
        for j, key in enumerate(ordered):
            column, row = divmod(j, rows)
            places[key] = ((column - (columns - 1) / 2) * step, top - row * ROW_STEP)
        top -= (rows - 1) * ROW_STEP + TIER_GAP
    return places


def _barycentre(neighbours: set[DeviceKey], places: dict[DeviceKey, tuple[float, float]]) -> float:
    xs = [places[other][0] for other in neighbours if other in places]
    return sum(xs) / len(xs) if xs else 0.0


def _device_attributes(topology: Topology, key: DeviceKey, fill: str, place: tuple[float, float]) -> str:
    pos = f"{place[0]:g},{place[1]:g}!"
    item = topology.devices.get(key)
    if item is None:
        return graphviz.attributes(label=topology.shown(key), tooltip="no such Node", style="rounded,dashed",
                                   color="red", pos=pos)
    spec = item.obj.get("spec")
    fields = [spec.get("provider"), spec.get("version")] if isinstance(spec, dict) else []
    about = " ".join(str(value) for value in fields if value)
    return graphviz.attributes(label=item.shown_name, tooltip=f"{item.label} {about}".strip(), fillcolor=fill,
                               color="red" if _not_ready(item) else "black", pos=pos)


def _labelled_devices(topology: Topology) -> set[DeviceKey]:
    """The devices whose Link ends show their port in the picture."""
    if len(topology.links) > PORT_LABELS_MAX:
        return set()
    ends = Counter(end.device for link in topology.links for end in link.ends)
    return {device for device, count in ends.items() if count <= PORT_LABELS_PER_DEVICE}


def _link_lines(
    topology: Topology, link: Link, number: int, ids: dict[DeviceKey, str], labelled: set[DeviceKey]
) -> list[str]:
    """A two-ended Link is one line; any other Link is a small hub joined to each of its ends."""
    colour = "red" if _not_ready(link.item) else "gray40"
    tooltip = f"Link {link.name}: " + " -- ".join(_end_text(topology, end) for end in link.ends)

    def port(end: End) -> str:
        return end.port if end.device in labelled else ""

    if len(link.ends) == 2:
        tail, head = link.ends
        attrs = graphviz.attributes(tooltip=tooltip, color=colour, taillabel=port(tail), headlabel=port(head))
        return [f"  {ids[tail.device]} -- {ids[head.device]} {attrs};"]
    hub = f"l{number}"
    lines = [f"  {hub} " + graphviz.attributes(shape="point", width=0.08, tooltip=tooltip, color=colour) + ";"]
    lines += [f"  {hub} -- {ids[end.device]} " + graphviz.attributes(tooltip=tooltip, color=colour,
                                                                       headlabel=port(end)) + ";"
              for end in link.ends]
    return lines


def _not_ready(item: Item) -> bool:
    condition = get_condition(item.obj, "Ready")
    return condition is not None and condition.get("status") == "False"


def render_mermaid(topology: Topology) -> list[str]:
    ids = {key: f"d{i}" for i, key in enumerate(topology.all_devices())}
    lines = ["flowchart TB"]
    lines += [f'  {node_id}["{topology.shown(key)}"]' for key, node_id in ids.items()]
    for number, link in enumerate(topology.links):
        if len(link.ends) == 2:
            a, b = link.ends
            lines.append(f"  {ids[a.device]} ---|{link.name}| {ids[b.device]}")
        else:  # a hub, as in the DOT picture
            lines.append(f'  l{number}(("{link.name}"))')
            lines += [f"  l{number} --- {ids[end.device]}" for end in link.ends]
    return lines


def render(topology: Topology, fmt: str) -> list[str]:
    """``topology`` as ``fmt``: ``tree`` (text), ``dot`` or ``mermaid``."""
    if fmt == "tree":
        return render_text(topology)
    return render_dot(topology) if fmt == "dot" else render_mermaid(topology)
