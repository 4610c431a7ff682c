"""Fixtures of the unit tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def config_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CRMBRIDGE*/CRM settings nor UNSET_* names from the outer environment, and a
    working directory without a crmbridge.toml: config tests see only what they set."""
    for name in list(os.environ):
        if name.upper().startswith(("CRMBRIDGE", "HUBSPOT_", "SALESFORCE_", "UNSET_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
