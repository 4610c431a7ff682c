"""``crmbridge check`` reads the enrichment file, so a bad one is found before a form fill;
``crmbridge run --once`` never overlaps a running daemon."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crmbridge.store.locks import SqliteGuard

from .helpers import cli


def _config(tmp_path: Path, companies: str) -> Path:
    path = tmp_path / "companies.csv"
    path.write_text(companies, "utf-8")
    config = tmp_path / "crmbridge.toml"
    config.write_text(f'[enrichment]\nenabled = true\npath = "{path}"\n', "utf-8")
    return config


def test_check_reports_an_unreadable_companies_file_with_its_path(
    tmp_path: Path, store_url: str
) -> None:
    config = _config(tmp_path, "domain,industry\nacme.es,Logistics\n")
    (tmp_path / "companies.csv").unlink()

    result = cli(store_url, "--config", str(config), "check")

    assert result.exit_code == 2
    assert "enrichment.path" in result.output
    assert "cannot be read" in result.output


def test_check_accepts_a_good_companies_file(tmp_path: Path, store_url: str) -> None:
    config = _config(tmp_path, "domain,industry,size,country\nacme.es,Logistics,600,Spain\n")

    result = cli(store_url, "--config", str(config), "check")

    assert "enrichment" in result.stdout and "readable" in result.stdout
    assert "[connectors.hubspot] enabled = true" in result.stdout


def test_run_once_is_refused_while_a_daemon_holds_the_sqlite_file(
    tmp_path: Path, store_url: str
) -> None:
    if not store_url.startswith("sqlite"):
        pytest.skip("the lock file guards SQLite only")
    config = tmp_path / "crmbridge.toml"
    config.write_text("[connectors.hubspot]\nenabled = false\n", "utf-8")
    once = ("--config", str(config), "run", "--once")
    daemon = SqliteGuard(store_url)
    daemon.acquire()
    try:
        refused = cli(store_url, *once)
    finally:
        daemon.release()
    alone = cli(store_url, *once, "--json")

    assert refused.exit_code == 2
    assert "another crmbridge daemon is already using this SQLite database" in refused.output
    assert alone.exit_code == 0, alone.output
    assert json.loads(alone.stdout)["actions"] == 0
