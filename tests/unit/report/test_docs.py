"""The ``[report]`` example of docs/report.md is a valid configuration."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crmbridge.config import parse_config

DOC = Path(__file__).resolve().parents[3] / "docs" / "report.md"


def test_the_documented_report_settings_are_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "a-password")
    (block,) = re.findall(r"```toml\n(.*?)```", DOC.read_text("utf-8"), re.S)

    report = parse_config(block, base_dir=tmp_path).config.report

    assert report.enabled and report.folder == tmp_path / "reports"
    assert report.smtp is not None and report.smtp.password is not None
    assert report.smtp.password.get_secret_value() == "a-password"
    assert report.email_to == ["sales@acme.es", "marketing@acme.es"]
