"""The plug-in API is pinned: its names are the whole contract between choreo and its plug-ins."""

from __future__ import annotations

import ast
import pkgutil
import tomllib
from pathlib import Path

import choreo
import choreo.plugin_api

REPO = Path(__file__).resolve().parents[1]
PLUGIN_PACKAGES = ("reconcilers", "yang")


def test_the_plugin_api_names_are_pinned() -> None:
    assert sorted(choreo.plugin_api.__all__) == [
        "BaseHook", "ChoreoError", "FileStamp", "Folder", "FoundFile", "GitError", "Head", "HookHost", "Invalid",
        "JUnitCase", "JUnitFailure", "JUnitSuite", "LoadError", "NotFound", "Object", "ObjectAPI", "Plugin",
        "ProjectPaths", "StageContext", "StageResult", "capped", "check_ref", "check_url", "file_stamp",
        "get_condition", "head_of", "is_dns1123_subdomain", "is_racy", "json_text", "junit_xml", "loaded_from_project",
        "natural_key", "read_single_mapping", "read_text", "read_yaml_documents", "run_git", "set_condition",
        "stale_outputs", "state_path", "stored_api", "utc_now", "write_atomic", "write_report",
    ]
    assert all(hasattr(choreo.plugin_api, name) for name in choreo.plugin_api.__all__)


def _choreo_imports(package: str) -> set[tuple[str, str]]:
    """(file, module) for every import of a ``choreo`` module in a plug-in package, top level or not."""
    found = set()
    for path in sorted((REPO / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            found |= {(str(path.relative_to(REPO)), name) for name in names if name.split(".")[0] == "choreo"}
    return found


def test_plugins_import_nothing_of_choreo_but_the_plugin_api() -> None:
    contract = _plugin_contract()
    for package in contract["source_modules"]:
        assert {module for _file, module in _choreo_imports(package)} <= {"choreo.plugin_api"}, package


def _plugin_contract() -> dict:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    return next(c for c in contracts if c["name"].startswith("plug-ins use only choreo.plugin_api"))


def test_the_import_contract_forbids_every_other_choreo_module() -> None:
    """A module added to choreo later is forbidden to plug-ins too, not silently allowed."""
    modules = {f"choreo.{info.name}" for info in pkgutil.iter_modules(choreo.__path__)}
    forbidden = set(_plugin_contract()["forbidden_modules"])
    assert forbidden == modules - {"choreo.plugin_api", "choreo.__main__"}
