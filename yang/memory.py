"""What the ``-s`` stage remembers between the passes of one long-running process, to look again only at the
devices a change touched.

Why: a server records a run each time its reconcilers are quiet, and the stage runs in each. The stored
fingerprints (``yang.fingerprint``, ``yang.records``) already spare a device its merge and validation when
its inputs did not change, but finding that out means reading every Node and Config and computing every
device's fingerprint: at a thousand devices that costs more than everything else of a one-Link change.

So a pass remembers, per device, whether it stands as it is (valid, its fingerprint kept) and which objects
its inputs were read from: the Node, the Configs by their target label and name, the objects of their
owner chains (with the owner each points at), the objects the stage wrote for it and its running config
file. The next pass reads the store's watch events since the revision the previous pass started at and
looks again only at the devices an event (or a changed running config file) touches; each of those goes
through the same steps as in a full pass (fingerprint, compare, merge and validate when it changed). An
untouched device that stood keeps its verdict, as a full pass would find it, after the same check that its
output files are intact.

Anything else that could change a verdict makes the next pass a full one: another API server (the
project was loaded again), other schema profiles or a changed module file of one (``yang.profile_cache``),
another output folder or other served kinds (a stored CustomResourceDefinition), compacted events, more
events than devices, ``--full``, or a pass whose writes did not land (rolled back, or another process ran
the stage on the same store since): each pass stores a token (``PASS_TABLE``) in its transaction, and
memory whose token is not the stored one is not used.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from choreo.plugin_api import (
    ChoreoError,
    FileStamp,
    FoundFile,
    Head,
    ObjectAPI,
    file_stamp,
    head_of,
    is_racy,
    natural_key,
)
from yang.kinds import CONFIG, CRD, LABEL_TARGET, NODE, RUNNING

PASS_TABLE = "schema-pass"
PASS_KEY = "latest"

ObjectRef = tuple[str, str, str, str]  # group, kind, namespace, name


def object_ref(obj: dict[str, Any]) -> ObjectRef:
    meta = obj.get("metadata") or {}
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return group, str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", ""))


def chain_step(head: Head | None) -> tuple[Any, ...] | None:
    """What of an object (``head``: its head) an owner chain depends on: whether it exists, and where the
    chain goes from it (``Head.owner``: its controller, else its first owner)."""
    if head is None:
        return None
    return ("owner", *head.owner) if head.owner else ("end",)


@dataclass
class Remembered:
    """One device as the last pass that looked at it left it."""

    namespace: str
    name: str
    entry: dict[str, Any] | None  # its kept fingerprint entry when it stands as it is, else None (look again)
    targets: tuple[Any, ...]  # the target labels its Configs are selected by
    configs: frozenset[tuple[str, str]]  # (namespace, name) of the Configs it was made of
    owners: dict[ObjectRef, tuple[Any, ...] | None]  # objects of their owner chains, as ``chain_step`` saw them
    report: Any = None  # the stage's report of it while it stands, the same on every pass


@dataclass
class StageMemory:
    """The devices as the last pass left them, indexed by what can touch them, and the moment (store
    revision) that pass started at."""

    indexed: bool = True  # False: a memory for one pass alone, which never asks what touches a device
    api: ObjectAPI | None = None
    setting: Any = None
    revision: int = 0
    token: str = ""
    looked_at_ns: int = 0
    devices: dict[str, Remembered] = field(default_factory=dict)
    running: dict[str, tuple[str, FileStamp | None]] = field(default_factory=dict)  # device name -> file
    changed_configs: set[tuple[str, str]] = field(default_factory=set)  # Configs written since the last pass
    _by_name: dict[str, set[str]] = field(default_factory=dict)
    _by_target: dict[Any, set[str]] = field(default_factory=dict)
    _by_config: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    _by_owner: dict[ObjectRef, set[str]] = field(default_factory=dict)
    _order: list[str] | None = None

    def changed_devices(
        self, api: ObjectAPI, setting: Any, running: dict[str, FoundFile], full: bool
    ) -> set[str] | None:
        """The keys of the devices to look at again since the last pass; None: look at every device. The
        memory is not used again until the pass is done (``finish``): a pass that fails midway leaves none."""
        self.changed_configs = set()
        usable = self.indexed and not full and self.api is api and setting == self.setting and self.token
        token, self.api, self.token = self.token, None, ""
        if not usable:
            return None
        stored = api.records.get_record(PASS_TABLE, PASS_KEY)
        if stored is None or stored.get("token") != token:
            return None  # the last pass's writes did not land, or another process ran the stage since
        try:
            events = api.events.events_since(self.revision)
        except ChoreoError:  # the events were compacted (Gone)
            return None
        if len(events) > max(len(self.devices), 1):
            return None  # a full pass costs less than following each event
        touched: set[str] = set()
        for event in events:
            obj = event.object
            ref = object_ref(obj)
            if ref[:2] == CRD:
                return None  # the served kinds changed
            if ref[:2] == CONFIG:
                self.changed_configs.add(ref[2:])
            touched.update(self._touched_by(obj, None if event.type == "DELETED" else obj))
        touched.update(self._running_changed(running))
        touched.update(key for key, device in self.devices.items() if device.entry is None)
        return touched

    def _touched_by(self, obj: dict[str, Any], now: dict[str, Any] | None) -> set[str]:
        """The devices whose inputs ``obj`` is (or was) among; ``now``: the object as stored now (None: deleted)."""
        ref = object_ref(obj)
        group_kind, namespace, name = ref[:2], ref[2], ref[3]
        touched: set[str] = set()
        if group_kind == NODE:
            touched.add(f"{namespace}/{name}")
        elif group_kind in (CONFIG, RUNNING):  # an object the stage writes for a device is named after it
            touched.update(k for k in (f"{namespace}/{name}", f"{namespace}/{name.removesuffix('.tree')}")
                           if k in self.devices)
        if group_kind == CONFIG:
            touched.update(self._by_config.get((namespace, name), ()))
            target = (obj["metadata"].get("labels") or {}).get(LABEL_TARGET)
            touched.update(self._by_target.get(str(target), ()) if target is not None else ())
        step = chain_step(None if now is None else head_of(now))
        touched.update(key for key in self._by_owner.get(ref, ()) if self.devices[key].owners[ref] != step)
        return touched

    def _running_changed(self, running: dict[str, FoundFile]) -> set[str]:
        """Devices whose running config file appeared, went, or may have changed since the last pass."""
        names = set()
        for name in set(running) | set(self.running):
            file = running.get(name)
            now = (file.source, file_stamp(file.path)) if file is not None else None
            if now != self.running.get(name) or (now is not None and is_racy(now[1], self.looked_at_ns)):
                names.add(name)
        return {key for name in names for key in self._by_name.get(name, ())}

    def ordered(self) -> list[str]:
        """The keys of the devices, in the order people read them (by namespace, then leaf2 before leaf10)."""
        if self._order is None:
            self._order = sorted(self.devices, key=lambda k: (self.devices[k].namespace,
                                                              natural_key(self.devices[k].name)))
        return self._order

    def clear(self) -> None:
        self.devices.clear()
        self._order = None
        for index in (self._by_name, self._by_target, self._by_config, self._by_owner):
            index.clear()

    def remember(self, key: str, device: Remembered) -> None:
        if key in self.devices:
            self._unindex(key)
        else:
            self._order = None
        self.devices[key] = device
        if not self.indexed:
            return
        self._by_name.setdefault(device.name, set()).add(key)
        for target in device.targets:
            self._by_target.setdefault(target, set()).add(key)
        for config in device.configs:
            self._by_config.setdefault(config, set()).add(key)
        for ref in device.owners:
            self._by_owner.setdefault(ref, set()).add(key)

    def forget(self, key: str) -> None:
        if key in self.devices:
            self._unindex(key)
            del self.devices[key]
            self._order = None

    def _unindex(self, key: str) -> None:
        device = self.devices[key]
        _unindex(self._by_name, [device.name], key)
        _unindex(self._by_target, device.targets, key)
        _unindex(self._by_config, device.configs, key)
        _unindex(self._by_owner, device.owners, key)

    @staticmethod
    def begin(api: ObjectAPI) -> int:
        """The revision a pass starts at, taken before it reads anything: later writes are the next pass's
        events."""
        return api.events.current_revision()

    def finish(
        self, api: ObjectAPI, setting: Any, revision: int, running: dict[str, FoundFile], looked_at_ns: int
    ) -> None:
        """The pass is done: store its token (in the pass's transaction) and remember its moment."""
        token = str(uuid.uuid4())
        api.records.put_record(PASS_TABLE, PASS_KEY, {"token": token})
        self.api, self.setting, self.revision, self.token = api, setting, revision, token
        self.looked_at_ns = looked_at_ns
        self.running = {name: (file.source, file_stamp(file.path)) for name, file in running.items()}


def _unindex(index: dict[Any, set[str]], values: Iterable[Any], key: str) -> None:
    for value in values:
        keys = index.get(value)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del index[value]

