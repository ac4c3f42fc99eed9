"""A project cannot make choreo read, write or remove files outside it.

Attacks: ``apply``/``delete`` with path separators or ``..`` in apiVersion, kind, name or namespace; symbolic
links out of every project folder (to a file, to a folder, the folder itself), to ``/etc/passwd`` and in
loops; schema profile paths that are absolute or climb out. Each is refused with a one-line error naming
the path inside the project, without a traceback, and the file outside is neither created, read (its
content appears in no output and not in the store) nor deleted. Links that stay inside the project, folders
the user trusts through ``CHOREO_TRUSTED_PATHS`` and pyang's IETF modules keep working.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.e2e.conftest import EXAMPLES, Result, choreo, get_json
from tests.e2e.conftest import no_addressed_server as no_addressed_server  # autouse: no server from the machine

SECRET = "s3cret-outside-the-project"
PASSWD = Path("/etc/passwd")
FIXTURE_MODELS = Path(__file__).resolve().parents[1] / "yang" / "fixtures" / "good"
FOLDERS = ("in", "crds", "libs", "reconcilers", "refs", "runningconfigs", "schemas")
# Where a file link goes in each folder, and the project/run that reads it.
FILE_LINKS = {
    "in": "in/leak.yaml",
    "crds": "crds/leak.yaml",
    "libs": "libs/leak.star",
    "reconcilers": "reconcilers/greeting/leak.star",
    "refs": "refs/leak.yaml",
    "runningconfigs": "runningconfigs/leaf1.json",
    "schemas": "schemas/leak.yaml",
}
SCHEMA_FOLDERS = ("runningconfigs", "schemas")  # read by the -s stage of the fabric example

OUTSIDE_OBJECT = f"""apiVersion: example.com/v1alpha1
kind: Greeting
metadata:
  name: eve
spec:
  name: {SECRET}
"""
EXTRA_SCHEMA = """apiVersion: inv.sdcio.dev/v1alpha1
kind: Schema
metadata: {{name: fx}}
spec:
  provider: fx.example
  version: "1"
  repositories:
  - path: {path}
    schema: {{models: [fx-net.yang]}}
"""


@pytest.fixture(autouse=True)
def untrusted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHOREO_TRUSTED_PATHS", raising=False)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder next to the project whose files hold a secret: a YAML object, JSON, Starlark, YANG models."""
    folder = tmp_path / "outside"
    shutil.copytree(FIXTURE_MODELS, folder / "models")
    (folder / "secret.yaml").write_text(OUTSIDE_OBJECT)
    (folder / "secret.json").write_text(f'{{"{SECRET}": 1}}')
    (folder / "secret.star").write_text(f'SECRET = "{SECRET}"\n')
    (folder / "dir").mkdir()
    (folder / "dir" / "secret.yaml").write_text(OUTSIDE_OBJECT)
    return folder


def project(tmp_path: Path, name: str = "greeting") -> Path:
    target = tmp_path / "project"
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns(".choreo"))
    return target


def project_for(tmp_path: Path, folder: str) -> Path:
    return project(tmp_path, "fabric" if folder in SCHEMA_FOLDERS else "greeting")


def run(root: Path) -> Result:
    schema_args = ("-r", "-s") if (root / "schemas").exists() or (root / "schemas").is_symlink() else ()
    return choreo("run", str(root), *schema_args)


def link(at: Path, target: Path) -> Path:
    at.parent.mkdir(parents=True, exist_ok=True)
    at.symlink_to(target)
    return at


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def stored(root: Path) -> bytes:
    state = root / ".choreo"
    return b"".join(p.read_bytes() for p in state.glob("choreo.db*")) if state.is_dir() else b""


def assert_refused(result: Result, root: Path, names: str, secret: str = SECRET) -> None:
    """Exit non-zero, one line naming ``names`` and no traceback; ``secret`` nowhere in output or store."""
    output = result.out + result.err
    assert result.code not in (0, 70), output
    assert "Traceback" not in output and "internal error" not in output
    lines = [line for line in output.splitlines() if names in line]
    assert len(lines) == 1, output
    if result.err:
        assert result.err.strip().splitlines() == lines, result.err
    assert secret not in output
    assert secret.encode() not in stored(root)


# ------------------------------------------------------------------------------------ apply and delete


@pytest.mark.parametrize(
    ("field", "document", "victim"),
    [
        ("apiVersion group", "apiVersion: ../../victim/v1\nkind: x\nmetadata: {name: alice}\n", "victim.x.alice.yaml"),
        ("kind", "apiVersion: example.com/v1alpha1\nkind: k/../../../victim\nmetadata: {name: a}\n",
         "victim.a.yaml"),
        ("metadata.name", "apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata: {name: x/../../../victim}\n",
         "victim.yaml"),
        ("metadata.namespace",
         "apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata: {name: a, namespace: ../../../victim}\n",
         "victim_a.yaml"),
    ],
)
def test_delete_with_a_path_in_its_names_is_refused(tmp_path: Path, field: str, document: str, victim: str) -> None:
    root = project(tmp_path)
    for helper in ("example.com.k", "example.com.greeting.x"):
        (root / "in" / helper).mkdir()  # folders the crafted paths climb through
    target = tmp_path / victim
    target.write_text(SECRET)
    request = tmp_path / "delete.yaml"
    request.write_text(document)
    result = choreo("delete", "-f", str(request), "-C", str(root))
    assert_refused(result, root, f"{request}: {field}")
    assert target.read_text() == SECRET


def test_delete_kind_name_with_a_path_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "in" / "example.com.greeting.x").mkdir()
    target = tmp_path / "victim.yaml"
    target.write_text(SECRET)
    result = choreo("delete", "greeting/x/../../../victim", "-C", str(root))
    assert_refused(result, root, "metadata.name 'x/../../../victim' is invalid")
    mixed = choreo("delete", "greeting", "x/../../../victim", "-C", str(root))  # read as TYPE/NAME, as kubectl
    assert_refused(mixed, root, "there is no need to give a kind with TYPE/NAME")
    assert target.read_text() == SECRET
    namespaced = choreo("delete", "greeting", "alice", "-n", "../../..", "-C", str(root))
    assert_refused(namespaced, root, "metadata.namespace '../../..' is invalid")
    assert (root / "in" / "example.com.greeting.alice.yaml").exists()


@pytest.mark.parametrize(
    ("document", "names"),
    [
        ("apiVersion: ../../victim/v1\nkind: x\nmetadata: {name: a}\n", "unknown kind x"),
        ("apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata: {name: ../../victim}\nspec: {name: A}\n",
         '.metadata.name: Invalid value: "../../victim"'),
        ("apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata: {name: a, namespace: ../..}\nspec: {name: A}\n",
         '.metadata.namespace: Invalid value: "../.."'),
    ],
)
def test_apply_with_a_path_in_its_names_writes_nothing(tmp_path: Path, document: str, names: str) -> None:
    root = project(tmp_path)
    before = snapshot(tmp_path)
    result = choreo("apply", "-f", "-", "-C", str(root), stdin=document)
    assert_refused(result, root, names)
    assert snapshot(tmp_path) == before


def test_apply_and_delete_through_an_in_folder_leading_outside_are_refused(tmp_path: Path, outside: Path) -> None:
    root = project(tmp_path)
    shutil.rmtree(root / "in")
    link(root / "in", outside / "dir")
    before = snapshot(outside)
    carol = "apiVersion: example.com/v1alpha1\nkind: Greeting\nmetadata: {name: carol}\nspec: {name: Carol}\n"
    assert_refused(choreo("apply", "-f", "-", "-C", str(root), stdin=carol), root, "error: in: leads outside")
    assert_refused(choreo("delete", "greeting", "eve", "-C", str(root)), root, "error: in: leads outside")
    assert snapshot(outside) == before


# ------------------------------------------------------------------------------------------- symlinks


@pytest.mark.parametrize("folder", FOLDERS)
def test_a_file_link_leading_outside_is_refused(tmp_path: Path, outside: Path, folder: str) -> None:
    root = project_for(tmp_path, folder)
    at = FILE_LINKS[folder]
    link(root / at, outside / ("secret.json" if at.endswith(".json") else "secret.yaml"))
    assert_refused(run(root), root, f"{at}: leads outside the project folder")
    assert (outside / "secret.yaml").read_text() == OUTSIDE_OBJECT


@pytest.mark.parametrize("folder", FOLDERS)
def test_a_folder_link_leading_outside_is_refused(tmp_path: Path, outside: Path, folder: str) -> None:
    root = project_for(tmp_path, folder)
    link(root / folder / "sub", outside / "dir")
    assert_refused(run(root), root, f"{folder}/sub: leads outside the project folder")
    assert (outside / "dir" / "secret.yaml").read_text() == OUTSIDE_OBJECT


@pytest.mark.parametrize("folder", FOLDERS)
def test_a_project_folder_that_is_a_link_outside_is_refused(tmp_path: Path, outside: Path, folder: str) -> None:
    root = project_for(tmp_path, folder)
    shutil.rmtree(root / folder, ignore_errors=True)
    link(root / folder, outside / "dir")
    assert_refused(run(root), root, f"{folder}: leads outside the project folder")


@pytest.mark.parametrize("at", ["in/passwd.yaml", "runningconfigs/leaf1.json"])
def test_a_link_to_etc_passwd_is_never_read(tmp_path: Path, at: str) -> None:
    root = project_for(tmp_path, at.partition("/")[0])
    link(root / at, PASSWD)
    first_line = PASSWD.read_text().splitlines()[0]
    assert_refused(run(root), root, f"{at}: leads outside the project folder", secret=first_line)


def test_a_link_loop_is_a_load_error(tmp_path: Path) -> None:
    root = project(tmp_path)
    link(root / "crds" / "a.yaml", Path("b.yaml"))
    link(root / "crds" / "b.yaml", Path("a.yaml"))
    assert_refused(run(root), root, "crds/a.yaml: symbolic link loop")


def test_a_folder_link_back_up_the_tree_is_a_load_error(tmp_path: Path) -> None:
    root = project(tmp_path)
    link(root / "reconcilers" / "greeting" / "up", Path(".."))
    assert_refused(run(root), root, "reconcilers/greeting/up: symbolic link loop")


def test_a_link_to_nothing_is_a_load_error(tmp_path: Path) -> None:
    root = project(tmp_path)
    link(root / "in" / "gone.yaml", Path("nowhere.yaml"))
    assert_refused(run(root), root, "in/gone.yaml: broken symbolic link")


def test_links_that_stay_inside_the_project_are_followed(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "shared").mkdir()
    (root / "shared" / "carol.yaml").write_text(OUTSIDE_OBJECT.replace("eve", "carol").replace(SECRET, "Carol"))
    link(root / "in" / "carol.yaml", Path("../shared/carol.yaml"))
    shutil.move(root / "reconcilers" / "greeting", root / "shared" / "greeting")
    link(root / "reconcilers" / "greeting", Path("../shared/greeting"))
    result = run(root)
    assert result.code == 0, result.out + result.err
    assert get_json(root, "messages", "carol-message")["spec"]["text"] == "Hello, Carol!"


def test_trusted_paths_allow_a_folder_outside(tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path, "fabric")
    link(root / "in" / "eve.yaml", outside / "secret.yaml")
    (root / "crds" / "greeting.yaml").write_text((EXAMPLES / "greeting/crds/example.com_greetings.yaml").read_text())
    (root / "schemas" / "fx.yaml").write_text(EXTRA_SCHEMA.format(path=outside / "models"))
    assert run(root).code != 0
    monkeypatch.setenv("CHOREO_TRUSTED_PATHS", os.pathsep.join([str(tmp_path / "elsewhere"), str(outside)]))
    result = run(root)
    assert result.code == 0, result.out + result.err
    assert get_json(root, "greetings", "eve")["spec"]["name"] == SECRET


def test_trusted_paths_must_be_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path)
    monkeypatch.setenv("CHOREO_TRUSTED_PATHS", "relative/folder")
    assert_refused(run(root), root, "CHOREO_TRUSTED_PATHS: relative/folder is not an absolute path")


# ------------------------------------------------------------------------------------- schema profiles


@pytest.mark.parametrize("path", ["absolute", "../outside/models", "models/../../outside/models"])
def test_a_schema_path_outside_the_project_is_refused(tmp_path: Path, outside: Path, path: str) -> None:
    root = project(tmp_path, "fabric")
    value = str(outside / "models") if path == "absolute" else path
    (root / "models").mkdir()
    (root / "schemas" / "fx.yaml").write_text(EXTRA_SCHEMA.format(path=value))
    before = snapshot(outside)
    assert_refused(run(root), root, f"schemas/fx.yaml: spec.repositories[0].path: {value}: leads outside")
    assert snapshot(outside) == before


def test_a_schema_module_linked_from_outside_is_refused(tmp_path: Path, outside: Path) -> None:
    root = project(tmp_path, "fabric")
    link(root / "models" / "fx-net.yang", outside / "models" / "fx-net.yang")
    (root / "schemas" / "fx.yaml").write_text(EXTRA_SCHEMA.format(path="models"))
    assert_refused(run(root), root, "models/fx-net.yang: leads outside the project folder")


def test_pyang_ietf_modules_stay_usable(tmp_path: Path) -> None:
    root = project(tmp_path, "fabric")  # its schema names ietf-interfaces, ietf-ip, iana-if-type: pyang's
    result = run(root)
    assert result.code == 0, result.out + result.err
    assert "schema: 4 device(s), 4 valid, 0 failed" in result.out
