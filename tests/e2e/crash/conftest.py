"""Crash trials run with a clean environment, in an empty working directory."""

from tests.integration.conftest import _isolated  # noqa: F401
