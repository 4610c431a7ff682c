"""``config check`` on a file written for an earlier release: a renamed key is read under
its new name with a note saying what to rename; a renamed operator is an error naming
the new one. The rename tables are data; these tests add one row each."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmbridge import config_upgrades
from crmbridge.config import load_config
from crmbridge.config_upgrades import Renamed
from tests.integration.cli.helpers import example_with, invoke

OLD_POLL = ('poll_interval = "5m"', 'poll_every = "7m"')


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example's secrets, so config check judges only what a test changes."""
    for name in ("HUBSPOT_ACCESS_TOKEN", "HUBSPOT_APP_SECRET", "CRMBRIDGE_INGEST_TOKEN"):
        monkeypatch.setenv(name, f"test-{name.lower()}")


@pytest.fixture
def poll_renamed(monkeypatch: pytest.MonkeyPatch) -> None:
    rename = Renamed("daemon.poll_every", "daemon.poll_interval", "0.9")
    monkeypatch.setattr(config_upgrades, "RENAMED_KEYS", (rename,))


@pytest.mark.usefixtures("poll_renamed")
def test_a_renamed_key_is_read_under_its_new_name_and_config_check_says_so(
    tmp_path: Path,
) -> None:
    path = example_with(tmp_path / "old.toml", OLD_POLL)

    result = invoke("config", "check", str(path))

    assert result.exit_code == 0, result.output
    assert "daemon.poll_every: renamed to daemon.poll_interval in 0.9" in result.stdout
    assert "docs/configuration.md#upgrade-notes" in result.stdout
    assert load_config(path).config.daemon.poll_interval.total_seconds() == 7 * 60


@pytest.mark.usefixtures("poll_renamed")
def test_a_key_set_under_both_names_is_an_error(tmp_path: Path) -> None:
    path = example_with(
        tmp_path / "both.toml",
        ('poll_interval = "5m"', 'poll_interval = "5m"\npoll_every = "7m"'),
    )

    result = invoke("config", "check", str(path))

    assert result.exit_code == 2
    assert 'daemon.poll_every: renamed to "daemon.poll_interval" in 0.9' in result.stderr


def test_without_the_rename_the_old_key_is_unknown(tmp_path: Path) -> None:
    path = example_with(tmp_path / "old.toml", OLD_POLL)

    result = invoke("config", "check", str(path))

    assert result.exit_code == 2
    assert 'unknown key "poll_every"' in result.stderr


def test_a_renamed_operator_is_an_error_naming_the_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config_upgrades, "RENAMED_OPERATORS", {"above_or_at": ("gte", "0.9")})
    path = example_with(
        tmp_path / "op.toml",
        ("numemployees = { gt = 500 }", "numemployees = { above_or_at = 500 }"),
    )

    result = invoke("config", "check", str(path))

    assert result.exit_code == 2
    assert 'unknown operator "above_or_at"' in result.stderr
    assert 'renamed to "gte" in 0.9' in result.stderr
