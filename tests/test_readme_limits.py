"""The README's "Limits" section states the defaults the code has, and the ways to change them that exist.

Users size their projects by that table; a default changed in code (or a variable renamed) without the
README would mislead them. Each row is read from the README and compared with the code's value, written
the way the README writes it.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from choreo import messages
from choreo.cli.main import cli
from choreo.lang import limits as engine
from choreo.loader import yamlio

README = Path(__file__).resolve().parents[1] / "README.md"


def limits_rows() -> dict[str, tuple[str, str]]:
    """``limit -> (default, change with)`` of every table row in the README's Limits section."""
    text = README.read_text()
    section = text[text.index("\n## Limits\n") :]
    end = section.find("\n## ", 1)
    section = section if end < 0 else section[:end]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("limit", "---"):
            rows[cells[0]] = (cells[1], cells[3])
    return rows


def test_every_limit_row_states_the_code_default_and_its_setting() -> None:
    run_limits, read_limits = engine.Limits(), yamlio.Limits()
    count = f"{read_limits.yaml_nodes:,}".replace(",", " ")
    expected = {
        "time": (f"{run_limits.time:g} s", "`--time-limit SECONDS`"),
        "memory": (engine.format_size(run_limits.memory), f"`{engine.ENVIRONMENT['memory']}="),
        "output size": (engine.format_size(run_limits.output), f"`{engine.ENVIRONMENT['output']}="),
        "call depth": (str(run_limits.depth), f"`{engine.ENVIRONMENT['depth']}="),
        "file size": (engine.format_size(read_limits.file_bytes), f"`{yamlio.LIMIT_VARIABLES['file_bytes']}="),
        "YAML size": (engine.format_size(read_limits.yaml_bytes), f"`{yamlio.LIMIT_VARIABLES['yaml_bytes']}="),
        "YAML nodes": (count, f"`{yamlio.LIMIT_VARIABLES['yaml_nodes']}="),
    }
    rows = limits_rows()
    assert sorted(rows) == sorted(expected)
    for name, (default, setting) in expected.items():
        assert rows[name][0] == default, name
        assert rows[name][1].startswith(setting), name


def test_the_time_limit_options_default_to_the_engines_time_limit() -> None:
    def time_limit_defaults(command: click.Command, ctx: click.Context) -> list[object]:
        found = [p.default for p in command.params if p.name == "time_limit"]
        for name in command.list_commands(ctx) if isinstance(command, click.Group) else ():
            sub = command.get_command(ctx, name)  # a command the group imports when used is loaded here
            assert sub is not None, name
            found += time_limit_defaults(sub, click.Context(sub, info_name=name, parent=ctx))
        return found

    defaults = time_limit_defaults(cli, click.Context(cli, info_name="choreo"))
    assert len(defaults) >= 3 and set(defaults) == {engine.Limits().time}  # run once, server start, run start


def test_the_message_bounds_in_the_readme_are_the_codes() -> None:
    text = README.read_text()
    chars = f"{messages.MAX_CHARS:,}".replace(",", " ")
    assert re.search(rf"at most {messages.MAX_LINES} lines and\s+{chars} characters", text)
    assert re.search(rf"names the first {messages.SHOWN}\b", text)


def test_the_print_bound_states_the_code_values() -> None:
    text = README.read_text()
    section = text[text.index("\n## Limits\n") :]
    paragraph = section[section.index("What a Starlark reconcile prints") :].split("\n\n")[0]
    size = engine.format_size(engine.PRINT_MESSAGE)
    assert f"a message keeps its first {size}" in paragraph
    assert f"print keeps {size} of a\nmessage and {engine.format_size(engine.Limits().output)}" in paragraph
