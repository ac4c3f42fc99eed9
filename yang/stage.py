"""The ``-s`` stage: for every device (Node), merge its Config snippets, validate them, write the results.

It runs once the reconcilers are quiet. Each device is processed on its own, so one broken device never
hides another; every problem names the device, the YANG data path, the message and the Config resource
(with the reconciler and intent object behind it) that produced the offending data.

A valid device whose inputs are unchanged since the last run and whose outputs are intact keeps its verdict
without being merged or validated again (``yang.fingerprint`` says what its inputs are); ``full`` in the
stage context redoes every device, with the same results.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from choreo.plugin_api import (
    ChoreoError,
    Folder,
    FoundFile,
    Head,
    ObjectAPI,
    ProjectPaths,
    StageContext,
    StageResult,
    capped,
    natural_key,
)
from yang import stage_fixpoint
from yang.data_text import Decoded, decode_value, read_data
from yang.fingerprint import code_version, digest, file_digest, portable
from yang.kinds import CONFIG, LABEL_FINAL, LABEL_NAMESPACE, LABEL_TARGET, NODE, RUNNING
from yang.libyang_adapter import SchemaContext, YangFailure
from yang.memory import ObjectRef, Remembered, StageMemory, chain_step
from yang.merge import RUNNING_PRIORITY, Merged, Problem, Snippet, Source, merge_device
from yang.outputs import FileWriter, files_intact, remove_files, remove_written, write_reports
from yang.profile_cache import SchemaDigests, compile_profile, schema_digests
from yang.profiles import ProfileError, Profiles, load_profiles
from yang.records import (
    device_key,
    fingerprints,
    forget_device,
    keep_fingerprint,
    kept_fingerprint,
    save_record,
    settle_previous,
)
from yang.snippets import coerce, storable

STAGE = "schema"
CONFIG_API_VERSION = "config.sdcio.dev/v1alpha1"
MANAGER = "inputfileloader"
DEFAULT_PRIORITY = 10
FINAL_PRIORITY = 10
RUNNING_CONFIGS = "runningconfigs"
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # how a lone surrogate, which the store cannot hold, is written

ConfigRef = tuple[str, str, Head]
"""A Config as the stage finds it: namespace, name and head (``ObjectAPI.head``). Only a device that is merged
again reads its Configs whole: finding which are a device's, and whether they changed, needs only their heads."""


@dataclass(frozen=True)
class Device:
    """One Node and the inputs of its result: its Config snippets (each with its source) and running config."""

    node: dict[str, Any]
    sourced: list[tuple[ConfigRef, Source]]
    running_file: FoundFile | None

    @property
    def name(self) -> str:
        return str(self.node["metadata"]["name"])

    @property
    def namespace(self) -> str:
        return str(self.node["metadata"].get("namespace", ""))

    @property
    def target(self) -> tuple[str, str]:
        """The (provider, version) its schema profile is chosen by."""
        spec = self.node.get("spec") or {}
        return str(spec.get("provider", "")), str(spec.get("version", ""))


@dataclass
class DeviceReport:
    """What the stage found for one device."""

    name: str
    namespace: str
    profile: str = ""
    problems: list[Problem] = field(default_factory=list)
    merged: Merged | None = None  # until its files are written
    configs: int = 0
    leaves: int = 0
    reused: bool = False  # unchanged since the last run: neither merged nor validated again
    written: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, name, resourceVersion) written
    settled: bool = False  # its stored previous config is its current one
    schema_error: str = ""  # why its schema profile does not compile: the profile's error, not the device's

    @property
    def valid(self) -> bool:
        return not self.problems

    def error_lines(self) -> list[str]:
        return [format_problem(self.name, p) for p in self.problems]


def format_problem(device: str, problem: Problem) -> str:
    """One error: ``device: path: message [from sources]``; its follow-ons (errors that only exist because the
    stage removed this error's data to look further) on indented lines below it, not counted as errors."""
    where = f"{problem.path}: " if problem.path else ""
    origin = f" [from {'; '.join(s.describe(problem.line) for s in problem.sources)}]" if problem.sources else ""
    follow = "".join(f"\n    follow-on: {f.path}: {f.message}" for f in problem.follow_ons)
    return f"{device}: {where}{problem.message}{origin}{follow}"


def run_stage(context: StageContext, memory: StageMemory | None = None) -> StageResult:
    """The stage; ``memory`` (kept by a long-running process between passes, ``yang.memory``) lets it look
    only at the devices changed since its last pass."""
    result = StageResult(STAGE)
    api, root = context.api, context.root
    memory = memory if memory is not None else StageMemory(indexed=False)  # this pass's alone: no index needed
    revision, looked_at = memory.begin(api), time.time_ns()
    try:
        profiles = load_profiles(root)
        running = running_configs(root)
    except ChoreoError as err:
        result.errors.append(str(err))
        return result
    if api.registry.get(*CONFIG) is None and _list(api, NODE):
        result.errors.append("the project must provide the Config and RunningConfig CRDs (config.sdcio.dev) for -s")
        return result
    out_dir = _out_dir(root, context.options.get("out"))
    writes_running = api.registry.get(*RUNNING) is not None
    schemas = schema_digests(profiles, root)
    setting = (out_dir, profiles, schemas, writes_running)
    out = portable(out_dir, root)
    inputs = stage_fixpoint.inputs_digest(schemas, running, out, writes_running) if context.last_pass else None
    standing = None if inputs is None or context.full else _all_standing(api, context, inputs, out_dir)
    if standing is not None:
        _report(context, result, standing, out_dir)
        return result
    changed = memory.changed_devices(api, setting, running, context.full)
    if changed is None:  # every device is looked at
        memory.clear()
        nodes, gone = _list(api, NODE), set(fingerprints(api))
    else:
        changed.update(key for key, device in memory.devices.items()
                       if device.entry is not None and not files_intact(out_dir, device.name, device.entry["files"]))
        found = {key: _node(api, key) for key in changed}
        nodes, gone = [node for node in found.values() if node is not None], {k for k, n in found.items() if n is None}
    nodes.sort(key=lambda n: (n["metadata"].get("namespace", ""), natural_key(n["metadata"]["name"])))
    looked = _look_at(api, context, profiles, schemas, running, out_dir, out, nodes, memory)
    gone.difference_update(looked)
    _forget_removed(api, gone, out_dir, memory)
    reports = [looked.get(key) or _stands(api, key, memory) for key in memory.ordered()]
    _report(context, result, reports, out_dir)
    memory.finish(api, setting, revision, running, looked_at)
    if context.last_pass:
        stage_fixpoint.remember(api, inputs if all(r.valid for r in reports) else None)
    return result


def _report(context: StageContext, result: StageResult, reports: list[DeviceReport], out_dir: Path) -> None:
    write_reports(context.options.get("reports") or {}, reports)
    result.lines.extend(_summary(reports, out_dir))
    result.errors.extend(_errors(reports))


def _errors(reports: list[DeviceReport]) -> list[str]:
    """Every device's error lines, but a schema profile that does not compile is one error, where its first
    device is, naming the devices that use it: the mistake is in one file, however many devices it stops."""
    broken: dict[str, list[DeviceReport]] = {}  # a profile's error -> the reports of its devices
    for report in reports:
        if report.schema_error:
            broken.setdefault(report.schema_error, []).append(report)
    errors: list[str] = []
    for report in reports:
        if not report.schema_error:
            errors.extend(report.error_lines())
        elif broken[report.schema_error][0] is report:
            names = capped((r.name for r in broken[report.schema_error]), ", ")
            errors.append(f"{names}: {report.schema_error}")
    return errors


def _all_standing(api: ObjectAPI, context: StageContext, inputs: str, out_dir: Path) -> list[DeviceReport] | None:
    """The reports of every device when the last pass left the stage at rest (``yang.stage_fixpoint``) and
    each device's files are as it wrote them; None: look at the devices."""
    if not stage_fixpoint.at_rest(api, inputs):
        return None
    entries = fingerprints(api)
    names = {key: key.partition("/")[::2] for key in entries}
    if any(entry["fingerprint"] is None or not files_intact(out_dir, names[key][1], entry["files"])
           for key, entry in entries.items()):
        return None
    reports = []
    for key in sorted(entries, key=lambda k: (names[k][0], natural_key(names[k][1]))):
        report, _entry = _standing(api, key, entries[key])
        _log_standing(context, report.name)
        reports.append(report)
        context.progress("validate", len(reports), len(entries))
    return reports


def _log_standing(context: StageContext, device: str) -> None:
    context.log(f"schema: {device}: unchanged since the last run, not validated again")


def _look_at(
    api: ObjectAPI,
    context: StageContext,
    profiles: Profiles,
    schemas: SchemaDigests,
    running: dict[str, FoundFile],
    out_dir: Path,
    out: str,
    nodes: list[dict[str, Any]],
    memory: StageMemory,
) -> dict[str, DeviceReport]:
    """Fingerprint ``nodes`` (in order): each whose inputs and outputs are as its kept fingerprint says
    stands as it is, the others are merged and validated; each is remembered with what its inputs are.
    ``out``: ``out_dir`` as fingerprints hold it (``portable``)."""
    candidates = {_key(node): _config_candidates(node, memory) for node in nodes}
    unknown = {target for node in nodes if candidates[_key(node)] is None for target in _targets(node)}
    by_target = _group_by_target(_every_config(api) if unknown else [], unknown)  # one look at every Config's head
    sources = Sources(api)
    reports: dict[str, DeviceReport] = {}
    kept: list[tuple[str, dict[str, Any]]] = []  # fingerprints to keep once their files are written
    with FileWriter() as files:
        for node in nodes:  # in natural order (leaf2 before leaf10), progress reported after each device
            owners: dict[ObjectRef, Any] = {}
            known = candidates[_key(node)]
            configs = _node_configs(by_target if known is None else _group_by_target(
                _configs_named(api, known), set(_targets(node))), node)
            device = Device(node, [(config, sources.of(config, owners)) for config in configs],
                            running.get(node["metadata"]["name"]))
            key = device_key(device.namespace, device.name)
            inputs = _fingerprint(api, schemas, device, out)
            entry = kept_fingerprint(api, key)
            reused = None if context.full else _reused(api, device, entry, inputs, bool(running), out_dir)
            if reused is None:
                report = _device(api, profiles, device, context)
                entry = _outputs(report, inputs, out_dir, files)
                kept.append((key, entry))
                report.merged = None  # its files are being written: the merged tree is not kept for every device
            else:
                report, entry = reused
                _log_standing(context, device.name)
            reports[key] = report
            memory.remember(key, Remembered(
                device.namespace, device.name, entry if entry["fingerprint"] is not None else None, _targets(node),
                frozenset((namespace, name) for namespace, name, _head in configs), owners,
            ))
            context.progress("validate", len(reports), len(nodes))
        files.finish()
    for key, entry in kept:
        keep_fingerprint(api, key, entry)
    return reports


def _outputs(report: DeviceReport, inputs: str | None, out_dir: Path, files: FileWriter) -> dict[str, Any]:
    """Write (or remove) the files of a device just processed; the fingerprint entry that remembers what
    produced them (its files' states filled in by ``files.finish``)."""
    entry: dict[str, Any] = {"fingerprint": None, "out": str(out_dir), "files": {}}
    if report.valid and report.merged is not None:
        entry.update(fingerprint=inputs, profile=report.profile, configs=report.configs, leaves=report.leaves,
                     objects=report.written, settled=report.settled)
        files.write(out_dir, report.name, report.merged, entry)
    else:
        remove_files(out_dir, report.name)
    return entry


def _reused(
    api: ObjectAPI,
    device: Device,
    entry: dict[str, Any] | None,
    inputs: str | None,
    with_running: bool,
    out_dir: Path,
) -> tuple[DeviceReport, dict[str, Any]] | None:
    """The report and entry of a device whose inputs and outputs are as the last run left them (None:
    process it)."""
    if entry is None or inputs is None or entry["fingerprint"] != inputs:
        return None
    if not _still_written(api, device.namespace, entry["objects"], with_running):
        return None  # an object the stage wrote was changed or deleted since
    if not files_intact(out_dir, device.name, entry["files"]):
        return None  # a file was deleted or edited: process the device again to rewrite it
    return _standing(api, device_key(device.namespace, device.name), entry)


def _stands(api: ObjectAPI, key: str, memory: StageMemory) -> DeviceReport:
    """The report of a device no change touched since the last pass, which found it standing."""
    remembered = memory.devices[key]
    assert remembered.entry is not None  # a device that did not stand is looked at on every pass
    if remembered.report is None or not remembered.entry["settled"]:  # else the same as the last pass's
        remembered.report, remembered.entry = _standing(api, key, remembered.entry)
    report: DeviceReport = remembered.report
    return report


def _standing(api: ObjectAPI, key: str, entry: dict[str, Any]) -> tuple[DeviceReport, dict[str, Any]]:
    """A device keeps its verdict; its previous config becomes its current one (once), as re-running it would."""
    if not entry["settled"]:
        settle_previous(api, key)
        entry = {**entry, "settled": True}
        keep_fingerprint(api, key, entry)
    namespace, _slash, name = key.partition("/")
    report = DeviceReport(name, namespace, entry["profile"], configs=entry["configs"], leaves=entry["leaves"],
                          reused=True)
    return report, entry


def _forget_removed(api: ObjectAPI, gone: set[str], out_dir: Path, memory: StageMemory) -> None:
    """Devices whose Node is gone: their files in this run's output folder (those still as written) and
    their records go with them. Never the folder a record names: after the project was copied or moved, or
    ``--out`` changed, that is another folder, whose files this run did not write."""
    for key in sorted(gone):
        entry = kept_fingerprint(api, key)
        if entry is not None:
            remove_written(out_dir, key.partition("/")[2], entry["files"])
            forget_device(api, key)
        memory.forget(key)


def _still_written(api: ObjectAPI, namespace: str, objects: list[list[str]], with_running: bool) -> bool:
    """Whether the objects the stage wrote for a device (kind, name, resourceVersion) are stored as it wrote
    them: its final Config, and its RunningConfigs while the project has running configs."""
    for kind, name, version in objects:
        group_kind = CONFIG if kind == "Config" else RUNNING
        if (kind == "RunningConfig" and not with_running) or api.registry.get(*group_kind) is None:
            return False
        head = api.head(*group_kind, namespace, name)
        if head is None or head.version != version:
            return False
        if kind == "Config" and head.labels.get(LABEL_FINAL) != "true":
            return False
    return True


def _node(api: ObjectAPI, key: str) -> dict[str, Any] | None:
    """The Node of device ``key``, as stored (None: gone)."""
    namespace, _slash, name = key.partition("/")
    return api.view(*NODE, namespace, name) if api.registry.get(*NODE) is not None else None


def _targets(node: dict[str, Any]) -> tuple[Any, ...]:
    """The target labels a Node's Configs carry: its name, or its ``spec.node`` (reference templates use it)."""
    names = dict.fromkeys([node["metadata"]["name"], (node.get("spec") or {}).get("node")])
    return tuple(name for name in names if name)


def _key(node: dict[str, Any]) -> str:
    return device_key(node["metadata"].get("namespace", ""), node["metadata"]["name"])


def _config_candidates(node: dict[str, Any], memory: StageMemory) -> set[tuple[str, str]] | None:
    """(namespace, name) of every Config that can be the device's now: those it was made of in the last
    pass and those written since (None: a device new to the memory, or now selected by other labels)."""
    remembered = memory.devices.get(_key(node))
    if remembered is None or remembered.targets != _targets(node):
        return None
    return set(remembered.configs).union(memory.changed_configs)


def _every_config(api: ObjectAPI) -> list[ConfigRef]:
    return [(key.namespace, key.name, head) for key, head in api.heads(*CONFIG)]


def _configs_named(api: ObjectAPI, names: set[tuple[str, str]]) -> list[ConfigRef]:
    """The Configs of ``names`` (namespace, name), those that exist."""
    found = ((namespace, name, api.head(*CONFIG, namespace, name)) for namespace, name in sorted(names))
    return [(namespace, name, head) for namespace, name, head in found if head is not None]


def _group_by_target(configs: list[ConfigRef], targets: set[Any]) -> dict[str, list[ConfigRef]]:
    """The ``configs`` labelled with one of ``targets``, by label, each list sorted by namespace and name."""
    by_target: dict[str, list[ConfigRef]] = {}
    for config in configs if targets else []:
        target = config[2].labels.get(LABEL_TARGET)
        if target is not None and target in targets:
            by_target.setdefault(target, []).append(config)
    for grouped in by_target.values():
        grouped.sort(key=lambda config: config[:2])
    return by_target


def _fingerprint(api: ObjectAPI, schemas: SchemaDigests, device: Device, out: str) -> str | None:
    """The digest of every input of the device's result (see ``yang.fingerprint``); None when one cannot be
    read, or the device has no profile: such a device is always processed (and reports why)."""
    node, file = device.node, device.running_file
    schema = schemas.get(device.target)
    running = (file.source, file_digest(file.path)) if file is not None else None
    if schema is None or (running is not None and running[1] is None):
        return None
    return digest({
        "node": [node["apiVersion"], node["kind"], device.namespace, device.name, node["metadata"].get("uid", ""),
                 node.get("spec")],
        "schema": schema,
        "running": running,
        "configs": [_config_version(config, source) for config, source in device.sourced],
        "out": out,
        "writesRunning": api.registry.get(*RUNNING) is not None,
        "code": code_version(),
    })


def _config_version(config: ConfigRef, source: Source) -> list[str]:
    """A Config as an input: its identity and resourceVersion (which moves with its content) and the reconciler
    and intent chain behind it (which can change while the Config does not)."""
    _namespace, name, head = config
    return [name, head.uid, head.version, source.reconciler, source.intent]


def _node_configs(by_target: dict[str, list[ConfigRef]], node: dict[str, Any]) -> list[ConfigRef]:
    """Configs labelled with the Node's name or its ``spec.node``, except the final config the stage itself
    writes for the device."""
    return [config for name in _targets(node) for config in by_target.get(name, []) if not _is_final(config)]


def _is_final(config: ConfigRef) -> bool:
    """The device's final Config is the one labelled so (the stage writes it): a user's Config of the same name
    is a snippet like any other, and the stage does not write over it (``_write_resources``)."""
    _namespace, _name, head = config
    return head.labels.get(LABEL_FINAL) == "true"


def _out_dir(root: Path, option: Any) -> Path:
    """``--out`` as the user gave it, else the project's ``out/`` — which must not lead outside the project."""
    if option:
        return Path(option).resolve()
    ProjectPaths(root).locate("out")
    return root / "out"


def _list(api: ObjectAPI, group_kind: tuple[str, str]) -> list[dict[str, Any]]:
    """The objects of a kind, sorted: the store's own (``view_list``), only ever read here, also by the merge
    of a device processed again (``yang.snippets`` builds the values it merges afresh and never changes its
    input), so no device's Node or Configs are copied."""
    if api.registry.get(*group_kind) is None:
        return []
    items = api.view_list(*group_kind)
    return sorted(items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))


def _summary(reports: list[DeviceReport], out_dir: Path) -> list[str]:
    lines = ["running config validator ..."]
    for report in reports:
        if report.valid:
            lines.append(f"  {report.name}: valid ({report.profile}, {report.leaves} leaves from {report.configs} "
                         "config(s))")
        else:
            lines.append(f"  {report.name}: {len(report.problems)} error(s)")
    valid = sum(1 for r in reports if r.valid)
    failed = len(reports) - valid
    lines.append(f"schema: {len(reports)} device(s), {valid} valid, {failed} failed; configs in {out_dir}")
    reused = sum(1 for r in reports if r.reused)
    lines.append(f"schema: {len(reports) - reused} device(s) validated, {reused} unchanged since the last run")
    return lines


# ------------------------------------------------------------------------------------------ one device


def _device(api: ObjectAPI, profiles: Profiles, device: Device, ctx: StageContext) -> DeviceReport:
    node, sourced, running_file = device.node, device.sourced, device.running_file
    report = DeviceReport(device.name, device.namespace)
    provider, version = device.target
    profile = profiles.resolve(provider, version)
    if profile is None:
        report.problems.append(Problem("/", f"no schema profile for provider {provider!r} version {version!r} "
                                            f"(Node {report.namespace}/{report.name}; add one under schemas/)"))
        return report
    report.profile = profile.label
    try:
        schema = compile_profile(profile)
    except ProfileError as err:
        report.schema_error = str(err)
        report.problems.append(Problem("/", report.schema_error))
        return report
    report.configs = len(sourced)
    last = ctx.last_pass
    snippets = [s for config, source in sourced for s in _snippets(schema, source, _read(api, config, last), report)]
    decoded = _running(running_file, report, schema)
    running_value = decoded.value if decoded is not None else None
    running = None
    if decoded is not None and running_file is not None:
        origin = Source("RunningConfig", report.namespace, report.name, file=running_file.source)
        running = Snippet(origin, RUNNING_PRIORITY, decoded.value, decoded.strict, decoded.text, edits=False)
    try:
        merged = merge_device(schema, snippets, running)
    except YangFailure as failure:  # libyang itself failed (not the data): still this device's problem only
        report.problems.extend(Problem(issue.path or "/", issue.message) for issue in failure.issues)
        return report
    report.merged = merged
    report.leaves = len(merged.owners)
    report.problems.extend(merged.problems)
    running_leaves = coerce(schema, running_value).leaves if running_value is not None else None
    if decoded is not None and _SURROGATE_ESCAPE.search(decoded.text):  # reported on its leaf, kept as its escape
        running_value = storable(running_value)
    _write_resources(api, node, merged, running_value, running_leaves, report)
    report.settled = save_record(api, report, profile, merged, running_leaves)
    ctx.log(f"schema: {report.name}: {len(merged.owners)} leaves, {len(report.problems)} problem(s)")
    return report


class Sources:
    """The Config resource plus the reconciler (field manager) and the intent chain (owners) behind it; each
    owner's head is read once per run, however many Configs it owns (heads are all a chain needs)."""

    def __init__(self, api: ObjectAPI) -> None:
        self.api = api
        self._owners: dict[tuple[str, str, str, str], Head | None] = {}

    def of(self, config: ConfigRef, read: dict[ObjectRef, Any] | None = None) -> Source:
        """The source of ``config``; ``read`` gets each object of its owner chain, as ``chain_step`` sees it."""
        namespace, name, head = config
        reconciler = next((m for m in head.managers if m and m != MANAGER), "")
        chain = " <- ".join(self._owner_chain(namespace, head, {} if read is None else read))
        return Source("Config", namespace, name, reconciler, chain)

    def _owner_chain(
        self, namespace: str, head: Head | None, read: dict[ObjectRef, Any], depth: int = 5
    ) -> list[str]:
        """``Kind ns/name`` of the controlling owner, its owner, ... (bounded)."""
        chain: list[str] = []
        while head is not None and len(chain) < depth:
            if head.owner is None:
                break
            _api_version, kind, name = head.owner
            chain.append(f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}")
            ref, head = self._fetch(head.owner, namespace)
            read[ref] = chain_step(head)
        return chain

    def _fetch(self, owner: tuple[Any, Any, Any], namespace: str) -> tuple[ObjectRef, Head | None]:
        """The head of the owner a reference names (None: not stored, or of a kind not served), and where it
        is stored."""
        api_version, kind_name, name = owner
        group, kind = ("" if api_version is None else str(api_version)).rpartition("/")[0], str(kind_name)
        resource = self.api.registry.get(group, kind)
        key = (group, kind, namespace if resource is None or resource.namespaced else "", str(name))
        if key not in self._owners:
            self._owners[key] = self.api.head(group, kind, namespace, key[3]) if resource is not None else None
        return key, self._owners[key]


def _read(api: ObjectAPI, config: ConfigRef, last_pass: bool) -> dict[str, Any]:
    """A Config of a device merged again, read whole (the store's own: only read); an empty one when it was
    deleted since its head was read (a server's next pass sees the deletion). A batch run's last pass is the
    Config's last reader: it is not kept decoded (at N=1000 the 4 800 Configs were 11 MiB of the run's peak)."""
    namespace, name, _head = config
    return api.view(*CONFIG, namespace, name, keep=not last_pass) or {}


def _snippets(schema: SchemaContext, source: Source, config: dict[str, Any], report: DeviceReport) -> list[Snippet]:
    spec = config.get("spec") or {}
    priority = spec.get("priority", DEFAULT_PRIORITY)
    if not isinstance(priority, int) or isinstance(priority, bool):
        report.problems.append(Problem("/", f"spec.priority must be an integer, got {priority!r}", (source,)))
        return []
    snippets = []
    for index, item in enumerate(spec.get("config") or []):
        where = f"spec.config[{index}]"
        if not isinstance(item, dict):
            report.problems.append(Problem("/", f"{where} must be a mapping with path and value", (source,)))
            continue
        path = str(item.get("path") or "/")
        if path != "/":
            report.problems.append(Problem(path, f"{where}.path: only / is supported (got {path})", (source,)))
            continue
        try:
            decoded = decode_value(schema, item.get("value"))
        except ValueError as err:
            report.problems.append(Problem("/", f"{where}.value: {err}", (source,)))
            continue
        except YangFailure as failure:
            report.problems.extend(Problem(i.path or "/", f"{where}.value: {i.message}", (source,), i.line)
                                   for i in failure.issues)
            continue
        dropped = decoded.issues  # XML elements libyang rejected; the rest of the snippet is merged
        report.problems.extend(Problem(i.path, f"{where}.value: {i.message}", (source,), i.line) for i in dropped)
        snippets.append(Snippet(source, priority, decoded.value, decoded.strict, decoded.text))
    return snippets


def running_configs(root: Path) -> dict[str, FoundFile]:
    """``runningconfigs/<device>.json`` by device name, listed (and their links checked) like every project folder."""
    return {file.name.removesuffix(".json"): file for file in Folder(root, RUNNING_CONFIGS).files((".json",))}


def _running(file: FoundFile | None, report: DeviceReport, schema: SchemaContext) -> Decoded | None:
    if file is None:
        return None
    try:
        return decode_value(schema, read_data(file.path, file.source), "json")
    except ChoreoError as err:
        report.problems.append(Problem("/", str(err)))
    except ValueError as err:
        report.problems.append(Problem("/", f"{file.source}: {err}"))
    except YangFailure as failure:
        issues = failure.issues
        report.problems.extend(Problem(i.path or "/", f"{file.source}: {i.message}", line=i.line) for i in issues)
    return None


def _delete_final(api: ObjectAPI, report: DeviceReport) -> None:
    try:
        api.delete(*CONFIG, report.namespace, report.name)
    except ChoreoError as err:
        report.problems.append(Problem("/", f"cannot delete the stale final Config {report.name}: {err}"))


def _delete_stale_running(api: ObjectAPI, node: dict[str, Any], report: DeviceReport) -> None:
    """A device whose running config file is gone keeps no ``RunningConfig`` of an earlier run: the ones this
    stage wrote for it (controlled by the Node) are deleted, anything else of the same name is left alone."""
    uid = node["metadata"].get("uid")
    for name in (report.name, f"{report.name}.tree"):
        existing = api.try_get(*RUNNING, report.namespace, name)
        owners = (existing or {}).get("metadata", {}).get("ownerReferences") or []
        if not any(ref.get("uid") == uid and ref.get("controller") for ref in owners):
            continue
        try:
            api.delete(*RUNNING, report.namespace, name)
        except ChoreoError as err:
            report.problems.append(Problem("/", f"cannot delete the stale RunningConfig {name}: {err}"))


def _write_resources(
    api: ObjectAPI,
    node: dict[str, Any],
    merged: Merged,
    running: Any,
    running_leaves: dict[str, Any] | None,
    report: DeviceReport,
) -> None:
    """The final ``Config <device>`` (only for a valid device: a failed one has none, and the one of an earlier
    good run is deleted, so nothing presents a config that did not validate) and, with a running config,
    ``RunningConfig <device>`` and ``<device>.tree``."""
    meta = node["metadata"]
    owner = {
        "apiVersion": node["apiVersion"], "kind": node["kind"], "name": meta["name"], "uid": meta.get("uid", ""),
        "controller": True,
    }
    base: dict[str, Any] = {"name": meta["name"], "ownerReferences": [owner]}
    if report.namespace:
        base["namespace"] = report.namespace
    final = {
        "apiVersion": CONFIG_API_VERSION, "kind": "Config",
        "metadata": {**base, "labels": {
            LABEL_TARGET: meta["name"], LABEL_NAMESPACE: report.namespace, LABEL_FINAL: "true"}},
        "spec": {"priority": FINAL_PRIORITY, "config": [{"path": "/", "value": merged.config}]},
    }
    existing = api.head(*CONFIG, report.namespace, meta["name"])  # the final Config of an earlier run, or not
    earlier_final = existing is not None and existing.labels.get(LABEL_FINAL) == "true"
    if existing is not None and not earlier_final:
        where = f"{report.namespace}/{meta['name']}" if report.namespace else meta["name"]
        report.problems.append(Problem("/", (
            f"Config {where} has the name of the device's final Config, which the stage does not write over: give "
            "that Config another name")))
    objects: list[dict[str, Any]] = [final] if report.valid else []
    if not report.valid and earlier_final:
        _delete_final(api, report)
    if running is not None and api.registry.get(*RUNNING) is not None:
        if isinstance(running, dict):  # else reported as no mapping of top-level members: no second error to write it
            for name, value in ((meta["name"], running), (f"{meta['name']}.tree", running_leaves)):
                objects.append({"apiVersion": CONFIG_API_VERSION, "kind": "RunningConfig",
                                "metadata": {**base, "name": name}, "status": {"value": value}})
    elif api.registry.get(*RUNNING) is not None:
        _delete_stale_running(api, node, report)
    for obj in objects:
        try:
            stored = api.apply(obj, manager=MANAGER)
            report.written.append((stored["kind"], stored["metadata"]["name"], stored["metadata"]["resourceVersion"]))
        except ChoreoError as err:
            report.problems.append(Problem("/", f"cannot write {obj['kind']} {obj['metadata']['name']}: {err}"))
