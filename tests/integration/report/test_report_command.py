"""``crmbridge report`` on the hand-computed store of :mod:`.week47` (SQLite and
PostgreSQL): every figure of W47 and W46, JSON, CSV and the Spanish text."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

from crmbridge.store.repository import Store
from tests.integration.helpers import cli

from .week47 import CONFIG, NOW_TEXT, seed


def _config(tmp_path: Path, url: str, language: str = "en") -> Path:
    path = tmp_path / "crmbridge.toml"
    path.write_text(CONFIG.format(url=url, language=language), "utf-8")
    return path


def _report(store_url: str, config: Path, *args: str) -> Any:
    result = cli(store_url, "report", "--config", str(config), "--now", NOW_TEXT, *args)
    assert result.exit_code == 0, result.output
    return result


def _rows(document: dict[str, Any], table: str, key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in document["tables"][table]}


def test_every_figure_of_the_week_matches_the_hand_computed_values(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    seed(store)
    config = _config(tmp_path, store_url)

    document = json.loads(_report(store_url, config, "--week", "2026-W47", "--json").stdout)

    assert document["period"]["label"] == "2026-W47"
    assert document["period"]["start"] == "2026-11-15T23:00:00+00:00"
    assert document["previous_period"]["label"] == "2026-W46"
    summary = {
        key: (row["current"], row["previous"])
        for key, row in _rows(document, "summary", "figure").items()
    }
    assert summary["new_leads"] == (4, 2)
    assert summary["mqls"] == (5, 1)
    assert summary["sqls"] == (2, 1)
    assert summary["period_conversion"] == (0.4, 1.0)
    assert summary["cohort_conversion"] == (0.4, 1.0)
    assert summary["median_contact_hours"] == (2.0, 2.0)
    assert summary["p90_contact_hours"] == (6.0, 2.0)
    assert summary["sla_rate"] == (0.6, 1.0)
    assert summary["not_contacted"] == (1, 0)
    assert summary["sla_breaches"] == (1, 1)
    assert summary["disqualified"] == (2, 1)
    assert summary["reactivated"] == (1, 0)
    assert summary["reengaged"] == (1, 0)
    assert summary["archived"] == (1, 0)
    assert _rows(document, "summary", "figure")["mqls"]["change"] == 4

    funnel = {
        stage: (row["count"], row["previous"])
        for stage, row in _rows(document, "funnel", "stage").items()
    }
    assert funnel == {
        "lead": (4, 2),
        "mql": (5, 1),
        "sql": (2, 1),
        "opportunity": (0, 0),
        "customer": (0, 0),
    }

    owners = _rows(document, "time_to_contact_by_owner", "owner")
    assert owners["Ana García"] == {
        "owner": "Ana García",
        "contacted": 2,
        "waiting": 0,
        "median_hours": 1.0,
        "p90_hours": 3.0,
        "sla_breaches": 0,
        "previous_median_hours": 2.0,
    }
    assert owners["Bruno <b>Díaz</b>"]["contacted"] == 1
    assert owners["Bruno <b>Díaz</b>"]["waiting"] == 1
    assert owners["Bruno <b>Díaz</b>"]["sla_breaches"] == 1
    assert owners["(no owner)"]["median_hours"] == 6.0

    reasons = _rows(document, "disqualifications", "reason")
    assert {k: (r["count"], r["previous"]) for k, r in reasons.items()} == {
        "No budget this year": (1, 0),
        "bad_timing": (1, 0),
        "=cmd": (0, 1),
    }
    objections = _rows(document, "objections", "objection")
    assert {k: (r["count"], r["previous"]) for k, r in objections.items()} == {
        "price": (1, 1),
        "trust": (1, 0),
    }
    histogram = {
        k: (r["count"], r["previous"])
        for k, r in _rows(document, "score_distribution", "score").items()
    }
    assert {k: v for k, v in histogram.items() if v != (0, 0)} == {
        "0": (1, 0),
        "20": (0, 1),
        "30": (0, 1),
        "40": (0, 1),
        "50": (2, 0),
        "60": (2, 0),
        "80": (2, 1),
        "90": (1, 0),
    }
    trend = document["tables"]["trend"]
    assert [row["period"] for row in trend][-3:] == ["2026-W45", "2026-W46", "2026-W47"]
    assert trend[-3]["mqls"] == 0
    assert trend[-3]["period_conversion"] is None  # a week without MQLs has no rate
    assert trend[-1]["cohort_conversion"] == 0.4


def test_csv_files_one_per_table_with_formulas_quoted(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    seed(store)
    folder = tmp_path / "csv"

    _report(store_url, _config(tmp_path, store_url), "--week", "2026-W47", "--csv", str(folder))

    names = sorted(path.name for path in folder.iterdir())
    assert names == sorted(
        f"{name}.csv"
        for name in (
            "summary",
            "funnel",
            "time_to_contact_by_owner",
            "disqualifications",
            "objections",
            "score_distribution",
            "trend",
        )
    )
    with (folder / "disqualifications.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    # For people: the headings the page shows; programs read --json's column ids.
    assert rows[0][0] == "Reason" and rows[0][-1] == "Change"
    assert ["'=cmd", "0", "1", "-1"] in rows

    spanish = tmp_path / "es"
    _report(
        store_url, _config(tmp_path, store_url, "es"), "--week", "2026-W47", "--csv", str(spanish)
    )
    with (spanish / "disqualifications.csv").open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header[0] == "Motivo" and header[-1] == "Variación"


def test_the_terminal_report_in_spanish(store: Store, store_url: str, tmp_path: Path) -> None:
    seed(store)

    shown = _report(store_url, _config(tmp_path, store_url, "es"), "--week", "2026-W47").stdout

    assert "Revisión semanal de marketing y ventas" in shown
    assert "Nuevos leads" in shown
    assert "16 nov 2026" in shown
    assert "40\u00a0%" in shown  # the period conversion, written the Spanish way
    assert "Ana García" in shown
    assert "Weekly" not in shown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--week", "2026-47"), "not an ISO week"),
        (("--from", "2026-11-02"), "go together"),
        (("--from", "2026-11-10", "--to", "2026-11-01"), "before --from"),
        (("--week", "2026-W47", "--from", "2026-11-02", "--to", "2026-11-03"), "not both"),
    ],
)
def test_a_bad_period_exits_1_with_the_reason(
    sqlite_store: Store, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    url = str(sqlite_store.engine.url)
    result = cli(url, "report", "--config", str(_config(tmp_path, url)), *args)
    assert result.exit_code == 1
    assert message in result.output


def test_the_html_page_is_self_contained_escaped_and_has_four_charts(
    sqlite_store: Store, tmp_path: Path
) -> None:
    seed(sqlite_store)
    url = str(sqlite_store.engine.url)
    page = tmp_path / "w47.html"

    _report(url, _config(tmp_path, url, "es"), "--week", "2026-W47", "--html", str(page))

    html = page.read_text("utf-8")
    assert html.startswith("<!DOCTYPE html>") and '<html lang="es">' in html
    assert html.count("<svg") == 4
    # Nothing is fetched: no script, stylesheet, image or font from elsewhere.
    for outside in ("<script", "<link", "<img", "src=", "@import"):
        assert outside not in html
    assert not re.search(r"url\((?!#)", html)  # only the charts' own clip paths
    assert not re.search(r"href=\"(?!#)", html)
    # An owner's name from the configuration is text, in the tables and in the charts.
    assert "Bruno <b>" not in html
    assert "Bruno &lt;b&gt;Díaz&lt;/b&gt;" in html
    assert "Embudo por etapa" in html and "Definiciones" in html


def test_an_empty_store_reports_the_last_full_week_with_nothing_in_it(
    sqlite_store: Store, tmp_path: Path
) -> None:
    url = str(sqlite_store.engine.url)

    document = json.loads(_report(url, _config(tmp_path, url), "--json").stdout)

    assert document["period"]["label"] == "2026-W47"  # the week before Wed 25 November
    summary = _rows(document, "summary", "figure")
    assert summary["mqls"]["current"] == 0
    assert summary["period_conversion"]["current"] is None
    assert document["tables"]["time_to_contact_by_owner"] == []
    shown = _report(url, _config(tmp_path, url)).stdout
    assert "Nothing in this period." in shown


def test_a_page_that_cannot_be_written_exits_1_naming_it(
    sqlite_store: Store, tmp_path: Path
) -> None:
    url = str(sqlite_store.engine.url)
    target = tmp_path / "missing" / "w47.html"

    result = cli(url, "report", "--config", str(_config(tmp_path, url)), "--html", str(target))

    assert result.exit_code == 1
    assert f"cannot write {target}" in result.output
