"""The plug-in API: everything of choreo that a plug-in (``reconcilers/``, ``yang/``) may use, in one module.

Why: plug-ins are found through entry points and must keep working while choreo's insides change. They
import this module and nothing else of ``choreo`` (an import-linter contract checks it), so the names
below are the whole contract between the core and its plug-ins; ``tests/test_plugin_api.py`` pins them,
as a public API should be pinned. Adding a name is a decision; removing or changing one breaks plug-ins.

What is here, by use:
- the plug-in protocol and the post-reconcile stage: ``Plugin``, ``StageContext``, ``StageResult``;
- objects and admission: ``ObjectAPI`` (the API a plug-in's hooks and stage work on), ``HookHost`` (an
  ``ObjectAPI`` a plug-in installs its hooks into), ``BaseHook``, ``Object``, ``get_condition`` and
  ``set_condition``, ``utc_now``;
  ``Head`` (what ``ObjectAPI.head``/``heads`` tell of an object without reading it whole) and ``head_of``
  (the head of an object at hand, e.g. a watch event's); ``is_dns1123_subdomain`` (whether a text may name
  an object);
- errors a plug-in raises or catches: ``ChoreoError``, ``Invalid``, ``LoadError``, ``NotFound``;
- project files, read the loader's way: ``Folder``/``FoundFile`` (listing a project folder),
  ``loaded_from_project`` (whether the loader applied an object from the project's files),
  ``FileStamp``/``file_stamp``/``is_racy`` (whether a file changed since it was read, from ``stat`` alone),
  ``ProjectPaths`` (paths that must stay inside the project), ``read_text``/``read_yaml_documents``/
  ``read_single_mapping`` (the strict, bounded readers), and safe git (``run_git``, ``check_url``,
  ``check_ref``, ``GitError``);
- a project's stored state: ``stored_api`` (the API over it, for commands), ``state_path``;
- results: ``natural_key`` (device order for people), ``stale_outputs`` (outputs older than the objects),
  ``write_atomic`` (an output file replaced in one step), ``capped`` (a long list in a message: the first
  few, then how many more); the ``--report`` files, in the one form every writer of them uses: ``junit_xml``
  of ``JUnitSuite``/``JUnitCase``/``JUnitFailure``, ``json_text``, ``write_report``.
"""

from __future__ import annotations

from choreo.api.conditions import get_condition, set_condition
from choreo.api.objects import Object
from choreo.apiserver.hooks import BaseHook
from choreo.apiserver.interface import HookHost, ObjectAPI
from choreo.apiserver.metadata import is_dns1123_subdomain
from choreo.apiserver.server import utc_now
from choreo.atomic import write_atomic
from choreo.errors import ChoreoError, Invalid, LoadError, NotFound
from choreo.filestamp import FileStamp, file_stamp, is_racy
from choreo.git import GitError, check_ref, check_url, run_git
from choreo.loader.files import Folder, FoundFile
from choreo.loader.paths import ProjectPaths
from choreo.loader.upstream import loaded_from_project
from choreo.loader.yamlio import read_single_mapping, read_text, read_yaml_documents
from choreo.messages import capped
from choreo.plugins import Plugin, StageContext
from choreo.results.record import StageResult
from choreo.results.reports import JUnitCase, JUnitFailure, JUnitSuite, json_text, junit_xml, write_report
from choreo.results.staleness import stale_outputs
from choreo.results.summary import natural_key
from choreo.runtime.state import state_path, stored_api
from choreo.store.head import Head, head_of

__all__ = [
    "BaseHook",
    "ChoreoError",
    "FileStamp",
    "Folder",
    "FoundFile",
    "GitError",
    "Head",
    "HookHost",
    "Invalid",
    "JUnitCase",
    "JUnitFailure",
    "JUnitSuite",
    "LoadError",
    "NotFound",
    "Object",
    "ObjectAPI",
    "Plugin",
    "ProjectPaths",
    "StageContext",
    "StageResult",
    "capped",
    "check_ref",
    "check_url",
    "file_stamp",
    "get_condition",
    "head_of",
    "is_dns1123_subdomain",
    "is_racy",
    "json_text",
    "junit_xml",
    "loaded_from_project",
    "natural_key",
    "read_single_mapping",
    "read_text",
    "read_yaml_documents",
    "run_git",
    "set_condition",
    "stale_outputs",
    "state_path",
    "stored_api",
    "utc_now",
    "write_atomic",
    "write_report",
]
