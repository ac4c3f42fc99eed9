"""Errors raised by the allocation engines; their text is the reference's wording, shown to users as is."""

from __future__ import annotations


class AllocationError(Exception):
    """An allocation cannot be made (conflict, no parent, exhausted space ...)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        # the other claims that lost values in the refused attempt (a claim that looks for a new value lets
        # its old one go first): whoever refuses the claim re-evaluates them as after a release
        self.dependents: list[str] = []

    def __str__(self) -> str:
        return self.message


class ClaimSyntaxError(AllocationError):
    """A claim or index spec is malformed (the reference's syntax validation)."""

    def __init__(self, details: list[str]) -> None:
        super().__init__("; ".join(details))
        self.details = details
