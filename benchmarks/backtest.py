"""``crmbridge backtest --demo``: 5,000 generated leads with outcomes, replayed with the
example model and a model B, measured, and rendered as the command does it (terminal
tables, JSON, the HTML page with the lift chart). Target: ≤ 5 s for the whole run.

    python -m benchmarks.backtest                 # 5,000 leads
    python -m benchmarks.backtest --leads 50000   # a larger history

Figures: benchmarks/results/backtest.json.
"""

from __future__ import annotations

import argparse
import io
import os
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console

from benchmarks.report import publish
from crmbridge.backtest.compare import model_b
from crmbridge.backtest.demo_history import LEADS, demo_leads
from crmbridge.backtest.export import backtest_json
from crmbridge.backtest.html import render_html
from crmbridge.backtest.run import SalesCapacity, run_backtest
from crmbridge.backtest.view import tables
from crmbridge.config import load_config
from crmbridge.i18n import Texts
from crmbridge.report.terminal import grid
from crmbridge.scoring.engine import ScoringEngine

TARGET_S = 5.0
RESULTS = Path(__file__).parent / "results" / "backtest.json"


def main() -> None:
    """Run once and publish the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=LEADS)
    args = parser.parse_args()
    config = load_config(None).config
    engine = ScoringEngine(config.scoring, config.bant, config.lifecycle)
    what_if = model_b(config.scoring, {"points": {"Pricing page visit": 25}}, "benchmark")
    other = ScoringEngine(what_if, config.bant, config.lifecycle)
    texts = Texts("en", ZoneInfo("UTC"))

    started = time.perf_counter()
    leads = list(demo_leads(args.leads))
    generated = time.perf_counter()
    result = run_backtest("demo", leads, [("A", engine), ("B", other)], SalesCapacity(4, 25))
    measured = time.perf_counter()
    console = Console(file=io.StringIO(), width=160)
    for table in tables(result, texts):
        console.print(grid(table, texts))
    backtest_json(result, texts)
    page = render_html(result, texts)
    rendered = time.perf_counter()

    total = rendered - started
    publish(
        {
            "benchmark": "backtest",
            "leads": result.leads,
            "events": sum(len(lead.events) for lead in leads),
            "models": 2,
            "generate_s": round(generated - started, 3),
            "replay_and_metrics_s": round(measured - generated, 3),
            "render_s": round(rendered - measured, 3),
            "total_s": round(total, 3),
            "target_s": TARGET_S,
            "within_target": total <= TARGET_S,
            "top_decile_lift": round(result.models[0].deciles[0].lift or 0, 3),
            "html_bytes": len(page.encode()),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        RESULTS,
    )


if __name__ == "__main__":
    main()
