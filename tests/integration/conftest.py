"""Integration tests run with a clean environment, in an empty working directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No crmbridge settings or CRM secrets from the outer environment; no ./crmbridge.toml."""
    for name in list(os.environ):
        upper = name.upper()
        if upper.startswith("CRMBRIDGE_TEST_"):
            continue
        if upper.startswith(("CRMBRIDGE", "HUBSPOT_", "SALESFORCE_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
