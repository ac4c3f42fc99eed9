"""Schema profiles: which YANG modules (and features) describe a device, from ``schemas/*.yaml``.

A project names its schemas with the reference's ``inv.sdcio.dev/v1alpha1 Schema`` kind: ``spec.provider``
and ``spec.version`` (matched against a Node's ``spec.provider`` / ``spec.version``) and
``spec.repositories[]``. A repository is a git repository pinned to a tag or commit (``repoURL``, ``kind``,
``ref``; cloned once into ``.choreo/schemas``) or a local folder (``path``, relative to the project; our
extension). ``dirs[]`` (``src`` → ``dst``) place repository folders in the schema tree; ``schema.models``
are the files/folders whose modules are implemented, ``schema.includes`` the search folders for imports,
``schema.excludes`` regular expressions of paths to skip. Our extensions: ``spec.modules`` (module names
found on the search path) and ``spec.features`` (module → features; default: all features of the
implemented modules). The IETF/IANA modules installed with pyang are on every profile's search path.
Every folder and module file a profile names must resolve inside the project, a folder in
``$CHOREO_TRUSTED_PATHS``, pyang's IETF/IANA modules or the repository's clone (``choreo.loader.paths``).

Compiling is the costly step (SR Linux: ~0.7 s): ``yang.profile_cache`` compiles each profile once per
process and content of its module files.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from choreo.plugin_api import (
    Folder,
    GitError,
    LoadError,
    ProjectPaths,
    check_ref,
    check_url,
    read_yaml_documents,
    run_git,
)
from yang.libyang_adapter import ModuleSource

SCHEMA_API_VERSION = "inv.sdcio.dev/v1alpha1"
SCHEMA_KIND = "Schema"
CLONE_DIR = Path(".choreo") / "schemas"
PINNED_KINDS = ("tag", "commit")


def standard_module_dirs() -> list[Path]:
    """The IETF and IANA modules pyang installs under ``<prefix>/share/yang/modules``."""
    base = Path(sys.prefix) / "share" / "yang" / "modules"
    return [base / "ietf", base / "iana"]


class ProfileError(LoadError):
    """A schema profile cannot be read, fetched or compiled."""


@dataclass(frozen=True)
class Profile:
    """One resolved schema profile."""

    name: str  # metadata.name of the Schema
    source: str  # file it came from
    provider: str
    version: str
    search_dirs: tuple[Path, ...]
    modules: tuple[ModuleSource, ...]
    features: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def label(self) -> str:
        return f"{self.provider} {self.version}"

    def fingerprint(self) -> str:
        """What the profile is made of (folders, modules, features): the key of what is kept per profile."""
        return self._fingerprint

    @cached_property
    def _fingerprint(self) -> str:  # looked up on every stage pass: computed once
        text = repr((self.search_dirs, self.modules, self.features))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Profiles:
    """All profiles of a project, looked up by provider and version."""

    by_target: dict[tuple[str, str], Profile] = field(default_factory=dict)
    by_name: dict[str, Profile] = field(default_factory=dict)

    def resolve(self, provider: str, version: str) -> Profile | None:
        return self.by_target.get((provider, version))

    def named(self, name: str) -> Profile:
        if name in self.by_name:
            return self.by_name[name]
        for profile in self.by_name.values():
            if name in (profile.label, f"{profile.provider}/{profile.version}"):
                return profile
        known = ", ".join(sorted(self.by_name)) or "none"
        raise ProfileError(f"schema profile {name!r} not found (profiles: {known})")


def load_profiles(root: Path, folder: str = "schemas") -> Profiles:
    """Read ``<root>/<folder>/*.yaml`` (an absent folder means no profiles)."""
    profiles = Profiles()
    paths = ProjectPaths(root, standard_module_dirs())
    for file in Folder(root, folder, paths).files((".yaml", ".yml")):
        for item in read_yaml_documents(file.path, root):
            profile = _profile(paths, item.obj, item.source)
            if profile is None:
                continue
            key = (profile.provider, profile.version)
            if key in profiles.by_target:
                other = profiles.by_target[key].source
                raise ProfileError(f"{item.source}: provider {profile.label} is already defined in {other}")
            profiles.by_target[key] = profile
            profiles.by_name[profile.name] = profile
    return profiles


def _profile(paths: ProjectPaths, obj: dict[str, Any], source: str) -> Profile | None:
    if obj.get("apiVersion") != SCHEMA_API_VERSION or obj.get("kind") != SCHEMA_KIND:
        return None
    spec, metadata = obj.get("spec"), obj.get("metadata")
    if spec is None:
        raise ProfileError(f"{source}: spec is required")
    if not isinstance(spec, dict):
        raise ProfileError(f"{source}: spec must be a mapping")
    provider, version = _text(spec, "provider", source), _text(spec, "version", source)
    name = str((metadata or {}).get("name") or f"{provider}-{version}")
    search: list[Path] = []
    modules: list[ModuleSource] = []
    repositories = spec.get("repositories")
    if repositories is None and spec.get("repoURL"):
        repositories = [spec]  # the older single-repository form
    for index, repo in enumerate(repositories or []):
        where = f"{source}: spec.repositories[{index}]"
        _repository(paths, repo, where, search, modules)
    for index, module in enumerate(_list(spec, "modules", f"{source}: spec")):
        if not isinstance(module, str) or not module:
            got = f"got {type(module).__name__}" if module != "" else "got an empty string"
            raise ProfileError(f"{source}: spec.modules[{index}] must be a module name, {got}")
        modules.append(ModuleSource(module))
    if not modules:
        raise ProfileError(f"{source}: the schema implements no module (spec.repositories[].schema.models or modules)")
    search.extend(standard_module_dirs())
    return Profile(name, source, provider, version, tuple(_unique(search)), tuple(modules), _features(spec, source))


def _repository(paths: ProjectPaths, repo: Any, where: str, search: list[Path], modules: list[ModuleSource]) -> None:
    if not isinstance(repo, dict):
        raise ProfileError(f"{where}: must be a mapping")
    base, paths = _checkout(paths, repo, where)
    placed = _placements(paths, base, repo, where)
    schema = repo.get("schema") or {}
    excludes = [_regex(p, f"{where}.schema.excludes") for p in _list(schema, "excludes", where + ".schema")]
    for include in _list(schema, "includes", where + ".schema"):
        target = _place(paths, placed, str(include), f"{where}.schema.includes")
        search.extend(_folders(paths, target.parent if target.is_file() else target))
    for model in _list(schema, "models", where + ".schema"):
        target = _place(paths, placed, str(model), f"{where}.schema.models")
        search.extend(_folders(paths, target.parent if target.is_file() else target))  # checks every link first
        files = [target] if target.is_file() else sorted(p for p in target.rglob("*.yang") if p.is_file())
        for file in files:
            if not any(p.search(file.as_posix()) for p in excludes) and not _is_submodule(file, where):
                modules.append(ModuleSource(file.stem.split("@")[0], file))


_SUBMODULE = re.compile(r"\A(?:\s|//[^\n]*\n|/\*.*?\*/)*submodule\b", re.S)


def _is_submodule(file: Path, where: str) -> bool:
    """Submodules are loaded through their module, never on their own."""
    try:
        with file.open("rb") as handle:
            head = handle.read(4096).decode("utf-8", "replace")
    except OSError as err:
        raise ProfileError(f"{where}.schema.models: cannot read {file}: {err.strerror or err}") from None
    return bool(_SUBMODULE.match(head))


def _checkout(paths: ProjectPaths, repo: dict[str, Any], where: str) -> tuple[Path, ProjectPaths]:
    """The real folder of a local repository, or of a pinned clone of a git repository, with the paths its
    files may resolve into (a clone's own folder added)."""
    if repo.get("path"):
        folder = paths.locate(Path(str(repo["path"])).expanduser(), f"{where}.path")
        if folder is None or not folder.is_dir():
            raise ProfileError(f"{where}.path: folder {repo['path']} does not exist")
        return folder, paths
    root = paths.root
    url = repo.get("repoURL")
    if not url:
        raise ProfileError(f"{where}: repoURL (git) or path (local folder) is required")
    kind, ref = str(repo.get("kind") or "tag"), repo.get("ref")
    if kind not in PINNED_KINDS or not ref:
        raise ProfileError(f"{where}: a git schema must be pinned: kind tag or commit with a ref (got kind {kind})")
    try:  # before any path is made of them: a ref like ../../x must never name a folder outside the clones
        check_url(str(url))
        check_ref(str(ref))
    except GitError as exc:
        raise ProfileError(f"{where}: cannot fetch {url} at {ref}: {exc}") from None
    target = root / CLONE_DIR / f"{_folder_name(str(url))}@{_folder_name(str(ref))}"
    paths.locate(CLONE_DIR, where)  # never clone through a link leading out of the project
    if not (target / ".git").is_dir():
        _clone(str(url), str(ref), target, where)
    clone_paths = paths.allowing(target)
    return clone_paths.locate(target, where) or target, clone_paths


def _folder_name(text: str) -> str:
    """``text`` as one folder name: runs of anything but letters, digits, ``.``, ``_`` and ``-`` become ``-``
    (a ``/`` too), and no name is all dots."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")
    return name if name.strip(".") else f"-{name}-"


def _clone(url: str, ref: str, target: Path, where: str) -> None:
    """A shallow clone of ``url`` at ``ref`` into ``target`` (written under a temporary name, then renamed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        check_url(url)
        check_ref(ref)
        run_git(["init", "-q", "--", str(partial)], what="git init")
        run_git(["-C", str(partial), "fetch", "-q", "--depth", "1", "--", url, ref], what="git fetch")
        run_git(["-C", str(partial), "checkout", "-q", "FETCH_HEAD", "--"], what="git checkout")
    except GitError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise ProfileError(f"{where}: cannot fetch {url} at {ref}: {exc}") from None
    partial.rename(target)


def _placements(paths: ProjectPaths, base: Path, repo: dict[str, Any], where: str) -> list[tuple[str, Path]]:
    """``dirs[]`` as (destination prefix, source folder); default: the repository root at ``.``."""
    dirs = repo.get("dirs") or [{"src": ".", "dst": "."}]
    placed = []
    for index, entry in enumerate(dirs):
        if not isinstance(entry, dict):
            raise ProfileError(f"{where}.dirs[{index}]: must be a mapping with src and dst")
        src_value = str(entry.get("src") or ".")
        src = paths.locate(base / src_value, f"{where}.dirs[{index}].src")
        if src is None or not src.is_dir():
            raise ProfileError(f"{where}.dirs[{index}].src: folder {src_value} does not exist")
        placed.append((str(entry.get("dst") or ".").strip("/"), src))
    return placed


def _place(paths: ProjectPaths, placed: list[tuple[str, Path]], relative: str, where: str) -> Path:
    relative = relative.strip("/")
    for dst, src in placed:
        if dst in ("", "."):
            candidate = src / relative
        elif relative == dst or relative.startswith(dst + "/"):
            candidate = src / relative[len(dst) :].lstrip("/")
        else:
            continue
        found = paths.locate(candidate, where)
        if found is not None:
            return found
    raise ProfileError(f"{where}: {relative} not found in the repository")


def _folders(paths: ProjectPaths, folder: Path) -> list[Path]:
    """A search folder and its sub-folders (libyang searches them non-recursively).

    libyang opens whatever module file it finds there, so no link anywhere below may lead outside."""
    entries = sorted(folder.rglob("*"))
    for entry in entries:
        if entry.is_symlink():
            paths.locate(entry)
    return [folder, *(p for p in entries if p.is_dir() and not p.name.startswith("."))]


def _features(spec: dict[str, Any], source: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    features = spec.get("features") or {}
    if not isinstance(features, dict):
        raise ProfileError(f"{source}: spec.features must map module names to lists of features")
    out = []
    for module, names in sorted(features.items()):
        if not isinstance(names, list):
            raise ProfileError(f"{source}: spec.features.{module} must be a list of feature names")
        out.append((str(module), tuple(str(n) for n in names)))
    return tuple(out)


def _text(spec: dict[str, Any], key: str, source: str) -> str:
    value = spec.get(key)
    if value is None or value == "":
        raise ProfileError(f"{source}: spec.{key} is required")
    if isinstance(value, bool) or not isinstance(value, str | int | float):  # a list would never match a Node
        raise ProfileError(f"{source}: spec.{key} must be a string, got {type(value).__name__}")
    return str(value)


def _regex(pattern: Any, where: str) -> re.Pattern[str]:
    """A profile's regular expression; a broken one is the profile's error, not a crash."""
    try:
        return re.compile(str(pattern))
    except re.error as exc:
        raise ProfileError(f"{where}: invalid regular expression {str(pattern)[:100]!r}: {exc}") from None


def _list(mapping: Any, key: str, where: str) -> list[Any]:
    value = mapping.get(key) if isinstance(mapping, dict) else None
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProfileError(f"{where}.{key} must be a list")
    return value


def _unique(paths: list[Path]) -> list[Path]:
    return list(dict.fromkeys(paths))
