"""A process that keeps running (a server's ``-s`` passes) follows edited YANG module files: the devices of the
edited profile are validated again, and only they; a broken or unreadable module is one clear error per device
until it is fixed; unchanged module files are not read again."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from choreo import filestamp
from choreo.apiserver.server import APIServer
from choreo.plugin_api import stored_api
from tests.yang.conftest import FIXTURES
from tests.yang.test_stage_incremental import counts, make_project, outputs, run
from tests.yang.test_stage_memory import Pass
from yang import profile_cache
from yang.profiles import ProfileError, load_profiles

MTU_RANGE = 'range "64..9000";'


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, APIServer]]:
    """The fixture project after one run, its two profiles each with module files of its own in the project
    (``models1``: dev1 and dev2, ``models2``: dev3), and the API over its state, as a server holds it. Files
    are trusted by their times once a look is over (as ``test_stage_memory`` does): here edits are far
    more than a clock tick apart."""
    monkeypatch.setattr(filestamp, "RACY_NS", 0)
    project = tmp_path / "fx"
    for folder in ("models1", "models2"):
        shutil.copytree(FIXTURES / "good", project / folder)
    make_project(project, "models1")
    profile = project / "schemas" / "fx-2.yaml"
    profile.write_text(profile.read_text().replace("path: models1", "path: models2"))
    run(project)
    with stored_api(project) as api:
        yield project, api


def edit(module: Path, old: str, new: str) -> None:
    text = module.read_text()
    assert old in text
    module.write_text(text.replace(old, new))


def test_an_edited_module_revalidates_the_devices_of_its_profile_only(served):
    project, api = served
    passes = Pass(project, api)
    assert counts(passes()) == (0, 3)
    files = outputs(project)
    module = project / "models2" / "fx-net.yang"

    edit(module, MTU_RANGE, 'range "64..999";')  # dev3 sets an mtu of 1500 (the file's size changes)
    tightened = passes()
    assert counts(tightened) == (1, 2) and passes.looked == 3  # every device fingerprinted, dev3 validated
    assert [error.split(": ")[0] for error in tightened.errors] == ["dev3"]
    assert 'value "1500" is out of the allowed range' in tightened.errors[0]
    assert "dev3.json" not in outputs(project) and api.try_get("config.sdcio.dev", "Config", "default", "dev3") is None
    assert counts(passes()) == (1, 2) and passes.looked == 1  # a failing device is looked at on every pass

    edit(module, 'range "64..999";', MTU_RANGE)
    restored = passes()
    assert counts(restored) == (1, 2) and not restored.errors
    assert outputs(project) == files  # byte for byte what the first run wrote
    assert counts(passes()) == (0, 3) and passes.looked == 1  # dev3, for the stage's own writes of that pass
    assert counts(passes()) == (0, 3) and passes.looked == 0


def test_a_broken_module_is_one_error_naming_its_devices_compiled_once_until_it_is_fixed(served, monkeypatch):
    project, api = served
    passes = Pass(project, api)
    passes()
    compiled: list[str] = []
    compile_once = profile_cache.SchemaContext
    monkeypatch.setattr(profile_cache, "SchemaContext", lambda *a, **k: compiled.append("x") or compile_once(*a, **k))
    module = project / "models1" / "fx-net.yang"
    edit(module, MTU_RANGE, 'range "64..9000"')  # a missing ";"

    broken = passes()
    assert counts(broken) == (2, 1) and len(compiled) == 1  # dev1 and dev2 share the profile: compiled once
    [error] = broken.errors  # the mistake is in one file: one error, however many devices use the profile
    assert error.startswith("dev1, dev2: schemas/fx-1.yaml: schema fx.example 1 does not compile:")
    assert f"{module}:" in error and "\n" not in error
    assert sorted(outputs(project)) == ["dev3.json", "dev3.xml"]

    edit(module, 'range "64..9000"', MTU_RANGE)
    fixed = passes()
    assert counts(fixed) == (2, 1) and not fixed.errors and len(compiled) == 2
    assert sorted(outputs(project)) == ["dev1.json", "dev1.xml", "dev2.json", "dev2.xml", "dev3.json", "dev3.xml"]


def test_an_unreadable_module_file_is_one_error_naming_it(served, monkeypatch):
    project, _api = served
    module = (project / "models1" / "fx-net.yang").resolve()
    opened = Path.open

    def unreadable(path: Path, *args, **kwargs):  # running as root, no file mode makes a file unreadable
        if path.resolve() == module:
            raise PermissionError(13, "Permission denied")
        return opened(path, *args, **kwargs)

    monkeypatch.setattr(Path, "open", unreadable)
    with pytest.raises(ProfileError) as err:
        load_profiles(project)
    assert str(err.value) == f"schemas/fx-1.yaml: spec.repositories[0].schema.models: cannot read {module}: " \
                             "Permission denied"


def test_unchanged_module_files_are_looked_at_not_read(tmp_path: Path, monkeypatch):
    project = tmp_path / "fx"
    shutil.copytree(FIXTURES / "good", project / "models")
    make_project(project, "models")
    profiles = load_profiles(project)
    profile, same_files = profiles.resolve("fx.example", "1"), profiles.resolve("fx.example", "2")
    assert profile is not None and same_files is not None
    monkeypatch.setattr(filestamp, "RACY_NS", 0)  # files just written are trusted once their look is over
    read: list[Path] = []
    digest_of = profile_cache.file_digest
    monkeypatch.setattr(profile_cache, "file_digest", lambda path: read.append(path) or digest_of(path))
    first = profile_cache.profile_digest(profile, project)
    files = len(read)
    assert files == len(profile_cache.module_stamps(profile)) > 3  # fx-net.yang, fx-extra.yang, IETF modules
    assert profile_cache.profile_digest(profile, project) == first and len(read) == files  # nothing read again
    context = profile_cache.compile_profile(profile)
    assert profile_cache.compile_profile(same_files) is context  # profiles made of the same files share it

    module = project / "models" / "fx-net.yang"
    edit(module, '"Port name."', '"The name of a port."')
    second = profile_cache.profile_digest(profile, project)
    assert second != first and len(read) == 2 * files
    assert profile_cache.compile_profile(profile) is not context

    module.write_text(module.read_text())  # the same content, new times: read again, compiled context kept
    os.utime(module, ns=(module.stat().st_atime_ns, module.stat().st_mtime_ns + 1_000_000_000))
    context = profile_cache.compile_profile(profile)
    assert profile_cache.profile_digest(profile, project) == second and len(read) == 3 * files
    assert profile_cache.compile_profile(profile) is context
