"""The ``-s`` stage: for every device (Node), merge its Config snippets, validate them, write the results.

It runs once the reconcilers are quiet. Each device is processed on its own, so one broken device never
hides another; every problem names the device, the YANG data path, the message and the Config resource
(with the reconciler and intent object behind it) that produced the offending data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from choreo.plugin_api import (
    APIServer,
    ChoreoError,
    Folder,
    FoundFile,
    ProjectPaths,
    StageContext,
    StageResult,
    natural_key,
    read_text,
)
from yang.libyang_adapter import SchemaContext, YangFailure
from yang.merge import RUNNING_PRIORITY, Merged, Problem, Snippet, Source, merge_device
from yang.outputs import remove_files, write_files, write_reports
from yang.profiles import ProfileError, Profiles, compile_profile, load_profiles
from yang.records import save_record
from yang.snippets import coerce

STAGE = "schema"
NODE = ("infra.kuid.dev", "Node")
CONFIG = ("config.sdcio.dev", "Config")
RUNNING = ("config.sdcio.dev", "RunningConfig")
CONFIG_API_VERSION = "config.sdcio.dev/v1alpha1"
LABEL_TARGET = "config.sdcio.dev/targetName"
LABEL_NAMESPACE = "config.sdcio.dev/targetNamespace"
LABEL_FINAL = "config.sdcio.dev/finalconfig"
MANAGER = "inputfileloader"
DEFAULT_PRIORITY = 10
FINAL_PRIORITY = 10
RUNNING_CONFIGS = "runningconfigs"


@dataclass
class DeviceReport:
    """What the stage found for one device."""

    name: str
    namespace: str
    profile: str = ""
    problems: list[Problem] = field(default_factory=list)
    merged: Merged | None = None
    configs: int = 0

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


def run_stage(context: StageContext) -> StageResult:
    result = StageResult(STAGE)
    api, root = context.api, context.root
    try:
        profiles = load_profiles(root)
        running = running_configs(root)
    except ChoreoError as err:
        result.errors.append(str(err))
        return result
    nodes = _list(api, NODE)
    nodes.sort(key=lambda n: (n["metadata"].get("namespace", ""), natural_key(n["metadata"]["name"])))
    configs = _list(api, CONFIG)
    if nodes and api.registry.get(*CONFIG) is None:
        result.errors.append("the project must provide the Config and RunningConfig CRDs (config.sdcio.dev) for -s")
        return result
    by_target: dict[str, list[dict[str, Any]]] = {}
    for config in configs:
        target = (config["metadata"].get("labels") or {}).get(LABEL_TARGET)
        if target is not None:
            by_target.setdefault(target, []).append(config)
    reports: list[DeviceReport] = []
    for node in nodes:  # in natural order (leaf2 before leaf10), progress reported after each device
        configs_of = _node_configs(by_target, node)
        reports.append(_device(api, profiles, node, configs_of, running.get(node["metadata"]["name"]), context))
        context.progress("validate", len(reports), len(nodes))
    out_dir = _out_dir(root, context.options.get("out"))
    for report in reports:
        if report.valid and report.merged is not None:
            write_files(out_dir, report.name, report.merged)
        else:
            remove_files(out_dir, report.name)
    write_reports(context.options.get("reports") or {}, reports)
    result.lines.extend(_summary(reports, out_dir))
    for report in reports:
        result.errors.extend(report.error_lines())
    return result


def _node_configs(by_target: dict[str, list[dict[str, Any]]], node: dict[str, Any]) -> list[dict[str, Any]]:
    """Configs labelled with the Node's name or its ``spec.node`` (reference templates use the latter), except
    the final config the stage itself writes for the device."""
    names = dict.fromkeys([node["metadata"]["name"], (node.get("spec") or {}).get("node")])
    return [config for name in names if name for config in by_target.get(name, []) if not _is_final(config, node)]


def _is_final(config: dict[str, Any], node: dict[str, Any]) -> bool:
    meta = config["metadata"]
    return (meta.get("labels") or {}).get(LABEL_FINAL) == "true" or meta["name"] == node["metadata"]["name"]


def _out_dir(root: Path, option: Any) -> Path:
    """``--out`` as the user gave it, else the project's ``out/`` — which must not lead outside the project."""
    if option:
        return Path(option).resolve()
    ProjectPaths(root).locate("out")
    return root / "out"


def _list(api: APIServer, group_kind: tuple[str, str]) -> list[dict[str, Any]]:
    if api.registry.get(*group_kind) is None:
        return []
    items = api.list(*group_kind)
    return sorted(items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))


def _summary(reports: list[DeviceReport], out_dir: Path) -> list[str]:
    lines = ["running config validator ..."]
    for report in reports:
        if report.valid and report.merged is not None:
            leaves = len(report.merged.owners)
            lines.append(f"  {report.name}: valid ({report.profile}, {leaves} leaves from {report.configs} config(s))")
        else:
            lines.append(f"  {report.name}: {len(report.problems)} error(s)")
    valid = sum(1 for r in reports if r.valid)
    failed = len(reports) - valid
    lines.append(f"schema: {len(reports)} device(s), {valid} valid, {failed} failed; configs in {out_dir}")
    return lines


# ------------------------------------------------------------------------------------------ one device


def _device(
    api: APIServer,
    profiles: Profiles,
    node: dict[str, Any],
    configs: list[dict[str, Any]],
    running_file: FoundFile | None,
    ctx: StageContext,
) -> DeviceReport:
    meta = node["metadata"]
    report = DeviceReport(meta["name"], meta.get("namespace", ""))
    spec = node.get("spec") or {}
    provider, version = str(spec.get("provider", "")), str(spec.get("version", ""))
    profile = profiles.resolve(provider, version)
    if profile is None:
        report.problems.append(Problem("/", f"no schema profile for provider {provider!r} version {version!r} "
                                            f"(Node {report.namespace}/{report.name}; add one under schemas/)"))
        return report
    report.profile = profile.label
    try:
        schema = compile_profile(profile)
    except ProfileError as err:
        report.problems.append(Problem("/", str(err)))
        return report
    report.configs = len(configs)
    snippets = [s for config in configs for s in _snippets(schema, source_of(api, config), config, report)]
    decoded = _running(running_file, report, schema)
    running_value = decoded.value if decoded is not None else None
    running = None
    if decoded is not None and running_file is not None:
        origin = Source("RunningConfig", report.namespace, report.name, file=running_file.source)
        running = Snippet(origin, RUNNING_PRIORITY, decoded.value, decoded.strict, decoded.text)
    try:
        merged = merge_device(schema, snippets, running)
    except YangFailure as failure:  # libyang itself failed (not the data): still this device's problem only
        report.problems.extend(Problem(issue.path or "/", issue.message) for issue in failure.issues)
        return report
    report.merged = merged
    report.problems.extend(merged.problems)
    running_leaves = coerce(schema, running_value).leaves if running_value is not None else None
    _write_resources(api, node, merged, running_value, running_leaves, report)
    save_record(api, report, profile, merged, running_leaves)
    ctx.log(f"schema: {report.name}: {len(merged.owners)} leaves, {len(report.problems)} problem(s)")
    return report


def source_of(api: APIServer, config: dict[str, Any]) -> Source:
    """The Config resource plus the reconciler (field manager) and the intent chain (owners) behind it."""
    meta = config["metadata"]
    managers = [e.get("manager", "") for e in meta.get("managedFields") or []]
    reconciler = next((m for m in managers if m and m != MANAGER), "")
    return Source("Config", meta.get("namespace", ""), meta["name"], reconciler, " <- ".join(_owner_chain(api, config)))


def _owner_chain(api: APIServer, obj: dict[str, Any], depth: int = 5) -> list[str]:
    """``Kind ns/name`` of the controlling owner, its owner, ... (bounded)."""
    chain: list[str] = []
    namespace = obj["metadata"].get("namespace", "")
    while obj is not None and len(chain) < depth:
        owners = obj["metadata"].get("ownerReferences") or []
        owner = next((o for o in owners if o.get("controller")), owners[0] if owners else None)
        if owner is None:
            break
        chain.append(f"{owner.get('kind')} {namespace}/{owner.get('name')}" if namespace else
                     f"{owner.get('kind')} {owner.get('name')}")
        obj = _fetch(api, owner, namespace)
    return chain


def _fetch(api: APIServer, ref: dict[str, Any], namespace: str) -> Any:
    group = str(ref.get("apiVersion", "")).rpartition("/")[0]
    if api.registry.get(group, str(ref.get("kind"))) is None:
        return None
    return api.try_get(group, str(ref.get("kind")), namespace, str(ref.get("name")))


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
        snippets.append(Snippet(source, priority, decoded.value, decoded.strict, decoded.text))
    return snippets


@dataclass(frozen=True)
class Decoded:
    """A snippet value and how it was written: a mapping (YAML rules), or RFC 7951 JSON / XML text (strict)."""

    value: Any
    strict: bool = False
    text: str = ""  # the JSON text, to point messages at its lines


def decode_value(schema: SchemaContext, value: Any) -> Decoded:
    """A snippet value: a mapping, or text holding JSON or XML (checked as RFC 7951 / by libyang)."""
    if not isinstance(value, str):
        return Decoded(value)
    text = value.strip()
    if text.startswith("<"):
        with schema.parse(text, "xml") as tree:
            return Decoded(json.loads(tree.print("json")), strict=True)
    return Decoded(json.loads(text, object_pairs_hook=_unique_members), strict=True, text=value)


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object naming one member twice is an error (``json`` would silently keep the last)."""
    members: dict[str, Any] = {}
    for key, value in pairs:
        if key in members:
            raise ValueError(f'member "{key}" appears twice in one JSON object')
        members[key] = value
    return members


def running_configs(root: Path) -> dict[str, FoundFile]:
    """``runningconfigs/<device>.json`` by device name, listed (and their links checked) like every project folder."""
    return {file.name.removesuffix(".json"): file for file in Folder(root, RUNNING_CONFIGS).files((".json",))}


def _running(file: FoundFile | None, report: DeviceReport, schema: SchemaContext) -> Decoded | None:
    if file is None:
        return None
    try:
        return decode_value(schema, read_text(file.path, file.source))
    except ChoreoError as err:
        report.problems.append(Problem("/", str(err)))
    except ValueError as err:
        report.problems.append(Problem("/", f"{file.source}: {err}"))
    except YangFailure as failure:
        issues = failure.issues
        report.problems.extend(Problem(i.path or "/", f"{file.source}: {i.message}", line=i.line) for i in issues)
    return None


def _delete_final(api: APIServer, report: DeviceReport) -> None:
    existing = api.try_get(*CONFIG, report.namespace, report.name)
    if existing is not None and (existing["metadata"].get("labels") or {}).get(LABEL_FINAL) == "true":
        try:
            api.delete(*CONFIG, report.namespace, report.name)
        except ChoreoError as err:
            report.problems.append(Problem("/", f"cannot delete the stale final Config {report.name}: {err}"))


def _write_resources(
    api: APIServer,
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
    objects: list[dict[str, Any]] = [final] if report.valid else []
    if not report.valid:
        _delete_final(api, report)
    if running is not None and api.registry.get(*RUNNING) is not None:
        for name, value in ((meta["name"], running), (f"{meta['name']}.tree", running_leaves)):
            objects.append({"apiVersion": CONFIG_API_VERSION, "kind": "RunningConfig",
                            "metadata": {**base, "name": name}, "status": {"value": value}})
    for obj in objects:
        try:
            api.apply(obj, manager=MANAGER)
        except ChoreoError as err:
            report.problems.append(Problem("/", f"cannot write {obj['kind']} {obj['metadata']['name']}: {err}"))
