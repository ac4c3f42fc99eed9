"""The stage's re-run that has nothing to do: no object written since its last pass, the same schemas,
running configs, out folder and code, every device valid and its files as written.

Why it exists: a batch run starts without the memory a server keeps between passes (``yang.memory``), so
finding out that no device changed meant reading every Node, Config and owner to fingerprint each device:
half of a re-run at N=1000. At the end of a batch pass the stage keeps the store revision it left and the
digest of its other inputs; a later batch pass that finds the store at that revision (the revision moves
with every object write, and a rolled-back write takes it back) and the same digest is in the state the
last pass ended in, so every device it found valid stands, once its files are checked.
"""

from __future__ import annotations

from choreo.plugin_api import FoundFile, ObjectAPI
from yang.fingerprint import code_version, digest, file_digest
from yang.profile_cache import SchemaDigests

TABLE = "schema-fixpoint"
_LAST = "last"


def inputs_digest(
    schemas: SchemaDigests, running: dict[str, FoundFile], out: str, writes_running: bool
) -> str | None:
    """The digest of what a device's verdict depends on besides the store's objects (None: a file cannot
    be read, so the devices are looked at and report it); ``out``: the out folder as ``portable`` gives it."""
    if any(schema is None for schema in schemas.values()):
        return None
    profiles = [[list(target), schema] for target, schema in sorted(schemas.items())]
    files = []
    for name, found in sorted(running.items()):
        content = file_digest(found.path)
        if content is None:
            return None
        files.append([name, found.source, content])
    return digest({"schemas": profiles, "running": files, "out": out, "writesRunning": writes_running,
                   "code": code_version()})


def at_rest(api: ObjectAPI, inputs: str) -> bool:
    """Whether the last pass ended with the store at its current revision and the same ``inputs``."""
    kept = api.records.get_record(TABLE, _LAST)
    return kept == {"revision": api.events.current_revision(), "inputs": inputs}


def remember(api: ObjectAPI, inputs: str | None) -> None:
    """Keep where this pass ended (in the run's transaction); None: it cannot tell, keep nothing."""
    if inputs is None:
        if api.records.get_record(TABLE, _LAST) is not None:
            api.records.delete_record(TABLE, _LAST)
        return
    ended = {"revision": api.events.current_revision(), "inputs": inputs}
    if api.records.get_record(TABLE, _LAST) != ended:
        api.records.put_record(TABLE, _LAST, ended)
