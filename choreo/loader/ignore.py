"""The ``.ignore`` file: gitignore-like rules that hide files from the project loader.

Why: users keep drafts, backups and alternative versions next to real project files; the reference
(kform ``pkgio/ignore``) lets them hide those with a ``.ignore`` file in the folder being read, and
projects written for it rely on that. Rules (spec §1.2):

- blank lines and ``#`` comments are skipped; ``**`` is rejected;
- a leading ``!`` negates (re-includes); a trailing ``/`` matches directories only;
- a leading ``/`` anchors the pattern to the folder being read; a pattern containing ``/`` matches the
  path relative to that folder; any other pattern matches the base name at any depth;
- globs are fnmatch-style per path segment (``*`` never crosses ``/``); the last matching rule wins;
- everything under an ignored directory is ignored (a negation cannot re-include it).
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from choreo.errors import LoadError
from choreo.loader.yamlio import read_text

IGNORE_FILE = ".ignore"


@dataclass(frozen=True)
class IgnoreRule:
    """One line of a ``.ignore`` file, already split into its parts."""

    pattern: str  # without the leading "!", leading "/" and trailing "/"
    negate: bool = False
    dir_only: bool = False
    whole_path: bool = False  # match the relative path instead of the base name

    def matches(self, relpath: str, is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        if not self.whole_path:
            return fnmatchcase(relpath.rpartition("/")[2], self.pattern)
        parts = relpath.split("/")
        pattern_parts = self.pattern.split("/")
        if len(parts) != len(pattern_parts):
            return False
        return all(fnmatchcase(part, pat) for part, pat in zip(parts, pattern_parts, strict=True))


def parse_rule(line: str) -> IgnoreRule | None:
    """The rule of one line, or None for blank lines and comments. ``**`` must be checked before."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    negate = text.startswith("!")
    if negate or text.startswith(("\\#", "\\!")):
        text = text[1:]
    dir_only = text.endswith("/")
    text = text.rstrip("/")
    anchored = text.startswith("/")
    text = text.lstrip("/")
    if not text:
        return None
    return IgnoreRule(pattern=text, negate=negate, dir_only=dir_only, whole_path=anchored or "/" in text)


class IgnoreRules:
    """The rules of one folder's ``.ignore`` file (no rules when there is none)."""

    def __init__(self, rules: list[IgnoreRule] | None = None) -> None:
        self.rules = list(rules or [])

    @classmethod
    def parse(cls, text: str, source: str) -> IgnoreRules:
        """Rules from the text of a ``.ignore`` file; ``source`` names it in errors."""
        rules: list[IgnoreRule] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if "**" in line and not line.strip().startswith("#"):
                raise LoadError(f"{source}:{number}: '**' is not supported in .ignore patterns")
            rule = parse_rule(line)
            if rule is not None:
                rules.append(rule)
        return cls(rules)

    @classmethod
    def load(cls, folder: Path, source: str) -> IgnoreRules:
        """Rules of ``folder/.ignore``; ``source`` is that file's project-relative path."""
        path = folder / IGNORE_FILE
        if not path.is_file():
            return cls()
        text = read_text(path, source)  # as every project file: "not valid UTF-8 (byte 0)", "cannot read file: ..."
        return cls.parse(text, source)

    def ignored(self, relpath: str, is_dir: bool = False) -> bool:
        """Whether a path (relative to the folder being read, ``/``-separated) is hidden."""
        parts = relpath.strip("/").split("/")
        for depth in range(1, len(parts)):
            if self._last_match("/".join(parts[:depth]), True):
                return True
        return self._last_match("/".join(parts), is_dir)

    def _last_match(self, relpath: str, is_dir: bool) -> bool:
        result = False
        for rule in self.rules:
            if rule.matches(relpath, is_dir):
                result = not rule.negate
        return result

    def __bool__(self) -> bool:
        return bool(self.rules)
