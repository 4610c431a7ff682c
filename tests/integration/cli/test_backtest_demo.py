"""``crmbridge backtest --demo``: the generated history shows a real lift, the events
after each close are ignored, and the page, the CSV files and Spanish texts are written."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from crmbridge.backtest.demo_history import demo_leads
from crmbridge.cli import app

#: Small enough for the default suite; the lift is already clear at this size.
LEADS = "600"


def _run(*args: str, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(app, ["backtest", "--demo", "--demo-leads", LEADS, *args], env=env)
    assert result.exit_code == 0, result.output
    return result


def test_the_demo_history_is_the_same_for_a_seed_and_differs_for_another() -> None:
    first = [(lead.contact.email, lead.outcome.won) for lead in demo_leads(50)]
    assert first == [(lead.contact.email, lead.outcome.won) for lead in demo_leads(50)]
    assert first != [(lead.contact.email, lead.outcome.won) for lead in demo_leads(50, seed=3)]


def test_the_demo_shows_a_lift_falling_from_the_top_decile_and_ignores_later_events(
    tmp_path: Path,
) -> None:
    what_if = tmp_path / "b.toml"
    what_if.write_text('[points]\n"Pricing page visit" = 25\n', "utf-8")
    payload = json.loads(
        _run("--json", "--capacity", "20", "--reps", "2", "--model-b", str(what_if)).stdout
    )
    assert payload["leads"] == int(LEADS)
    assert payload["events_after_close_ignored"] > 0
    deciles = payload["tables"]["deciles_a"]
    assert deciles[0]["lift"] > 1.5 > 0.7 > deciles[-1]["lift"]
    assert deciles[-1]["cumulative_gain"] == 1
    assert [m["label"] for m in payload["models"]] == ["A", "B"]
    assert payload["models"][0]["capacity"]["leads_per_week"] == 40
    fitting = payload["models"][0]["capacity"]["threshold"]
    rows = {row["threshold"]: row for row in payload["tables"]["thresholds_a"]}
    assert rows[fitting]["per_week"] <= 40
    lower = [t for t in rows if t < fitting]
    assert all(rows[t]["per_week"] > 40 for t in lower)


def test_the_page_and_the_csv_files_are_written_and_the_texts_follow_the_language(
    tmp_path: Path,
) -> None:
    page = tmp_path / "backtest.html"
    folder = tmp_path / "csv"
    result = _run(
        "--html",
        str(page),
        "--csv",
        str(folder),
        env={"CRMBRIDGE__BRIDGE__LANGUAGE": "es"},
    )
    assert "Lift por decil de puntuación — A" in result.stdout
    assert "solo cuentan los eventos estrictamente anteriores al cierre" in result.stdout
    html = page.read_text("utf-8")
    assert html.startswith("<!DOCTYPE html>") and '<html lang="es">' in html
    assert "<svg" in html and "Sin lift" in html and "<script" not in html
    with (folder / "deciles_a.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    # Files people open are headed in their language (--json keeps stable keys).
    assert len(rows) == 10 and sum(int(r["Leads"]) for r in rows) == int(LEADS)
    assert "Tasa de cierre ganado" in rows[0] and "win_rate" not in rows[0]


def test_without_a_source_or_with_reps_alone_it_exits_1() -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["backtest"]).exit_code == 1
    result = runner.invoke(app, ["backtest", "--demo", "--reps", "3"])
    assert result.exit_code == 1 and "--reps goes with --capacity" in result.output
