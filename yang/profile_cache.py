"""What a process keeps of each schema profile's module files: their digest and the compiled libyang context,
both for as long as the files are unchanged.

Why: compiling a profile is the stage's costliest step (SR Linux: ~0.7 s) and digesting its files means
reading every module it can load, so both are done once per process and reused for every device and every
pass. A long-running server (``choreo server start -s``) must still follow an edited module: each pass looks
at the files once (``schema_digests``: one ``stat`` per file, no read; pyang's IETF modules, part of the
installation, once per process), and a file added, removed or changed since the last look makes the
profile's files digested again; a new digest makes the profile compiled again (``compile_profile``), makes
the pass a full one (``yang.memory``) and makes the stage validate the devices of that profile again, and
only those (their fingerprints include it). Equal content compiles to the context already built.

A file changed within ``RACY_NS`` (``choreo.filestamp``) of the last look may change again without its times showing
it, so its profile is digested again at the next look (a second edit in the same clock tick is not missed).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from choreo.plugin_api import FileStamp, file_stamp, is_racy
from yang.fingerprint import digest, file_digest, portable
from yang.libyang_adapter import SchemaContext, YangFailure
from yang.profiles import Profile, ProfileError, Profiles, standard_module_dirs

YANG_SUFFIXES = (".yang", ".yin")

SchemaDigests = dict[tuple[str, str], str | None]  # (provider, version) -> ``profile_digest``
Stamps = tuple[tuple[str, FileStamp | None], ...]  # (path, stamp) of every module file of a profile, sorted


@dataclass(frozen=True)
class _Looked:
    """The module files of a profile as a look found them, and each one's content digest (None: a file could
    not be read)."""

    stamps: Stamps
    contents: tuple[tuple[str, str], ...] | None  # (path, sha256) of every module file, by path
    at_ns: int

    @cached_property  # asked for each device's compiled context
    def content(self) -> str:
        """What the compiled context is kept by: the digest of the files' contents, or for unreadable files
        their stamps (a file made readable again has a new ``ctime``)."""
        return digest(self.contents) if self.contents is not None else "unreadable " + digest(self.stamps)


# Both by the profile's fingerprint (its folders, modules and features): profiles made of the same files
# share them.
_LOOKED: dict[str, _Looked] = {}
_COMPILED: dict[str, tuple[str, SchemaContext | str]] = {}  # (content, the context or why it does not compile)


def profile_digest(profile: Profile, root: Path) -> str | None:
    """The digest of the profile's name, target and features and of the content of every module file it can
    load (its modules and every YANG file of its search folders), as the files are now; None when a file
    cannot be read. The files are read again only when a ``stat`` shows they may have changed. Paths inside
    the project (``root``) count relative to it: the digest is the same wherever the project lies."""
    contents = _look(profile).contents
    if contents is None:
        return None
    described = [profile.name, profile.source, profile.provider, profile.version, profile.features]
    modules = [(m.name, portable(m.file, root) if m.file is not None else "") for m in profile.modules]
    return digest([described, modules, sorted((portable(path, root), sha) for path, sha in contents)])


def schema_digests(profiles: Profiles, root: Path) -> SchemaDigests:
    """Every profile's digest, as its files are now: the one look at them of a stage pass."""
    return {target: profile_digest(profile, root) for target, profile in profiles.by_target.items()}


def compile_profile(profile: Profile) -> SchemaContext:
    """The compiled context of ``profile``'s module files as the last look at them found them (looked at
    now when there was none), built once per content. A profile that does not compile raises the same
    ``ProfileError`` for every device until its files change."""
    key = profile.fingerprint()
    looked = _LOOKED.get(key) or _look(profile)
    kept = _COMPILED.get(key)
    if kept is None or kept[0] != looked.content:
        kept = (looked.content, _compile(profile))
        _COMPILED[key] = kept  # replaces the context of the files before an edit, which is freed
    if isinstance(kept[1], str):
        raise ProfileError(kept[1])
    return kept[1]


def _look(profile: Profile) -> _Looked:
    """The profile's module files as they are now: digested again only when their stamps changed (or may
    have changed unseen, ``is_racy``) since the last look."""
    key = profile.fingerprint()
    now = time.time_ns()
    stamps = module_stamps(profile)
    looked = _LOOKED.get(key)
    if looked is None or looked.stamps != stamps or any(is_racy(s, looked.at_ns) for _p, s in stamps):
        found = [(path, file_digest(Path(path))) for path, _stamp in stamps]
        contents = tuple((path, sha) for path, sha in found if sha is not None)
        readable = len(contents) == len(found)
        looked = _Looked(stamps, contents if readable else None, now)
        _LOOKED[key] = looked
    return looked


def module_stamps(profile: Profile) -> Stamps:
    """Every module file the profile can load, with its stamp: its modules' files and the YANG files of its
    search folders (libyang searches each folder on its own, not recursively). The IETF and IANA modules
    pyang installs are looked at once per process: they are part of the installation, like libyang."""
    installed = standard_module_dirs()
    stamps = dict(stamp for folder in profile.search_dirs
                  for stamp in (_installed_stamps(folder) if folder in installed else _folder_stamps(folder)))
    for module in profile.modules:  # a module's file is in a search folder, unless it is not named *.yang
        if module.file is not None and str(module.file) not in stamps:
            stamps[str(module.file)] = file_stamp(module.file)
    return tuple(sorted(stamps.items()))


@cache
def _installed_stamps(folder: Path) -> Stamps:
    return _folder_stamps(folder)


def _folder_stamps(folder: Path) -> Stamps:
    """The YANG files of one folder and their stamps (none: it is not a readable folder)."""
    try:
        with os.scandir(folder) as entries:
            return tuple((entry.path, file_stamp(entry)) for entry in entries
                         if os.path.splitext(entry.name)[1] in YANG_SUFFIXES and entry.is_file())
    except OSError:
        return ()


def _compile(profile: Profile) -> SchemaContext | str:
    """The compiled context, or why it does not compile (one line naming the schema file and the module)."""
    features = {module: list(names) for module, names in profile.features}
    try:
        return SchemaContext(list(profile.search_dirs), list(profile.modules), features)
    except YangFailure as failure:
        detail = "; ".join(i.message + (f" ({i.path})" if i.path else "") for i in failure.issues[:3])
        return f"{profile.source}: schema {profile.label} does not compile: {detail}"
    except OSError as err:
        return f"{profile.source}: schema {profile.label}: {err}"
