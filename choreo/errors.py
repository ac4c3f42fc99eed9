"""The error hierarchy every layer raises, so the CLI can turn any user mistake into one clear line.

Each error carries a ``reason`` (Kubernetes-style: NotFound, Conflict, Invalid, ...) that the HTTP
server maps to a status code, and a ``message`` that already names the file or resource at fault.
"""

from __future__ import annotations


class ChoreoError(Exception):
    """Base class of every error meant for a user: its ``str`` is the one-line message shown."""

    reason = "InternalError"
    code = 500
    prefix = "error: "  # what the command line writes before the message

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_from_server(self) -> ChoreoError:
        """This error introduced as kubectl introduces an API's answer: ``Error from server (NotFound): ...``
        (the API of a project folder is choreo's own, in the process, but the words are the same)."""
        self.prefix = f"Error from server ({self.reason}): "
        return self

    def __str__(self) -> str:
        return self.message


class NotFound(ChoreoError):
    reason = "NotFound"
    code = 404


class AlreadyExists(ChoreoError):
    reason = "AlreadyExists"
    code = 409


class Forbidden(ChoreoError):
    """A request the API never grants, whoever asks (deleting the ``default`` namespace)."""

    reason = "Forbidden"
    code = 403


class Conflict(ChoreoError):
    """A stale write (resourceVersion mismatch) or a server-side apply field conflict."""

    reason = "Conflict"
    code = 409


class Invalid(ChoreoError):
    """The object breaks its schema or the metadata rules.

    ``causes`` are the (field path, message) pairs behind the message and ``target`` the object's
    (group, kind, name) when known: the HTTP server returns them as Kubernetes Status details, which
    kubectl prints field by field."""

    reason = "Invalid"
    code = 422

    def __init__(
        self, message: str, *, causes: list[tuple[str, str]] | None = None, target: tuple[str, str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.causes = causes or []
        self.target = target


class BadRequest(ChoreoError):
    reason = "BadRequest"
    code = 400


class LoadError(ChoreoError):
    """The project folder cannot be loaded (bad YAML, bad reconciler config, missing code ...)."""

    reason = "LoadError"
    code = 400


class ReconcileError(ChoreoError):
    """User reconciler code failed (syntax error, runtime error, step limit, bad result)."""

    reason = "ReconcileError"
    code = 500
