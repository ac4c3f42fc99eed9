"""The one error type of the Go template interpreter; its message is a finished ``<file>:<line>...`` line."""

from __future__ import annotations


class TemplateError(Exception):
    """A parse or execution error of a Go template; ``str`` is the one-line message."""
