"""``choreo config validate FILE``: one data file checked against a profile, as the ``-s`` stage checks a device.

The counterpart of ``yanglint -t config``: the same merge and validation code as the stage, so a file that
validates here validates as a device's config (``.json`` and ``.xml`` strictly, as RFC 7951 / by libyang, read
as their suffix says, as yanglint reads them; an ``.xml`` also as the NETCONF ``<config>`` payload
``out/<device>.xml`` holds; ``.yaml`` with the YAML leniency of reference snippets).
"""

from __future__ import annotations

from pathlib import Path

from choreo.plugin_api import LoadError, read_single_mapping
from yang.data_text import BOM, Decoded, decode_value, read_data
from yang.libyang_adapter import YangFailure
from yang.merge import Problem, Snippet, Source, merge_device
from yang.outputs import netconf_data
from yang.profile_cache import compile_profile
from yang.profiles import load_profiles
from yang.stage import format_problem

YAML_SUFFIXES = (".yaml", ".yml")
DATA_SUFFIXES = {".json": "json", ".xml": "xml"}  # another suffix: XML when the text starts with "<"


def validate_file(root: Path, profile_name: str, file: Path) -> tuple[list[str], bool]:
    """Report lines for ``file`` and whether it is valid."""
    context = compile_profile(load_profiles(root).named(profile_name))
    try:
        if file.suffix in YAML_SUFFIXES:  # strict and bounded as every project YAML file (duplicate keys, aliases)
            decoded = Decoded(read_single_mapping(file, file.name))
        else:
            text = read_data(file, file.name)
            if not text.removeprefix(BOM):  # yanglint too: "Empty input file" (whitespace is XML without data)
                return [f"{file.name}: the file is empty: no data to validate"], False
            sniffed = "xml" if text.removeprefix(BOM).lstrip().startswith("<") else "json"
            fmt = DATA_SUFFIXES.get(file.suffix, sniffed)
            if fmt == "xml":  # XML may start with a byte order mark (JSON may not: decode_value says so)
                text = netconf_data(text.removeprefix(BOM))
            decoded = decode_value(context, text, fmt)
    except LoadError as err:
        return [str(err)], False
    except ValueError as err:
        return [f"{file.name}: {err}"], False
    except YangFailure as failure:
        return [f"{file.name}: {i.path or '/'}: {i.message}" + (f" (line {i.line})" if i.line else "")
                for i in failure.issues], False
    origin = Source("File", "", file.name, file=str(file))
    merged = merge_device(context, [Snippet(origin, 0, decoded.value, decoded.strict, decoded.text, edits=False)])
    dropped = [Problem(i.path, i.message, (origin,), i.line) for i in decoded.issues]
    problems = [*dropped, *merged.problems]
    lines = [format_problem(file.name, p) for p in problems]
    verdict = "valid" if not problems else f"{len(problems)} error(s)"
    return [*lines, f"{file.name}: {verdict} ({profile_name}, {len(merged.owners)} leaves)"], not problems
