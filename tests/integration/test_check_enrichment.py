"""``crmbridge check`` reads the enrichment file, so a bad one is found before a form fill."""

from __future__ import annotations

from pathlib import Path

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
