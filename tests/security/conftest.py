"""The attack tests copy example projects as the end-to-end tests do."""

from tests.e2e.conftest import example  # noqa: F401 - a fixture, shared
