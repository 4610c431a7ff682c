"""The environment every test runs in: no crmbridge or CRM setting from outside.

A developer's shell or a CI runner may hold ``CRMBRIDGE__*`` overrides, ``CRMBRIDGE_CONFIG``,
``HUBSPOT_*`` / ``SALESFORCE_*`` secrets, or the ``UNSET_*`` names the config tests use
for "a variable nobody set". A test sees none of them (the autouse ``_isolated`` fixture
of the repository's ``conftest.py``), and neither does a process a test starts with
:func:`clean_environment`. The suite's own switches (``CRMBRIDGE_TEST_*``, such as
``CRMBRIDGE_TEST_POSTGRES=0``) stay.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

#: Names (upper-cased) that configure crmbridge or a CRM, or that config tests need unset.
OUTSIDE_SETTINGS = ("CRMBRIDGE", "HUBSPOT_", "SALESFORCE_", "UNSET_")
#: The test suite's own switches: read by the tests, never by crmbridge.
TEST_SWITCHES = "CRMBRIDGE_TEST_"


def is_outside_setting(name: str) -> bool:
    """Whether ``name`` would let the outer environment change what a test sees."""
    upper = name.upper()
    return upper.startswith(OUTSIDE_SETTINGS) and not upper.startswith(TEST_SWITCHES)


def outside_settings(environ: Mapping[str, str]) -> list[str]:
    """The names in ``environ`` that :func:`is_outside_setting`."""
    return [name for name in environ if is_outside_setting(name)]


def clean_environment() -> dict[str, str]:
    """This process's environment without any crmbridge or CRM setting (for a child)."""
    return {key: value for key, value in os.environ.items() if not is_outside_setting(key)}
