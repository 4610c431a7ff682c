"""Autouse here too: no crmbridge/CRM settings from the environment, an empty cwd."""

from tests.integration.conftest import _isolated  # noqa: F401
