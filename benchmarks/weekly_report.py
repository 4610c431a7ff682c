"""``crmbridge report`` on a large store: 100,000 leads and 1,000,000 events over a year.

The store is filled directly (bulk inserts, seeded random data): leads created over 52
weeks, about half reaching MQL and a third of those SQL, score rows for each stage
move, page views, e-mail clicks, sales activities and feedback, owners and SLA clocks.
Then the report of the last full week is built and rendered the way the command does
it: terminal tables, JSON, CSV files and the HTML page with its charts. Target: ≤ 10 s
for the whole report.

    python -m benchmarks.weekly_report                    # 100,000 leads, SQLite
    python -m benchmarks.weekly_report --leads 10000      # a quicker run
    python -m benchmarks.weekly_report --database-url postgresql+psycopg://…/empty_db

Figures: benchmarks/results/weekly_report.json (SQLite) and weekly_report_postgresql.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from sqlalchemy import insert

from benchmarks.report import publish
from crmbridge.config import CrmbridgeConfig
from crmbridge.i18n import Texts
from crmbridge.report.collect import build_report
from crmbridge.report.export import report_json, write_csv
from crmbridge.report.html import render_html
from crmbridge.report.periods import last_full_week
from crmbridge.report.terminal import renderables
from crmbridge.store.repository import Store
from crmbridge.store.tables import AssignmentRow, ContactRow, EventRow, ScoreRow, SlaClockRow

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
YEAR = timedelta(days=364)
OWNERS = [f"o{n}" for n in range(12)]
TARGET_S = 10.0
BATCH = 20_000


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def fill(store: Store, leads: int, events: int, seed: int = 47) -> dict[str, int]:
    """Write the data set; returns the row counts."""
    rng = random.Random(seed)
    contacts: list[dict[str, Any]] = []
    scores: list[dict[str, Any]] = []
    activities: list[tuple[int, datetime]] = []
    assignments: list[dict[str, Any]] = []
    clocks: list[dict[str, Any]] = []
    for cid in range(1, leads + 1):
        created = NOW - YEAR * rng.random()
        objection = rng.choice(["price", "trust", "authority", "none"])
        contacts.append(
            {
                **contact_row(cid, created),
                "handoff": {"objection": {"class": objection, "confidence": 70, "cues": []}},
            }
        )
        moves = [("lead", "entered", created)]
        at = created
        if rng.random() < 0.5:
            at += timedelta(hours=rng.expovariate(1 / 72))
            moves.append(("mql", "advanced", at))
            owner = rng.choice(OWNERS)
            assignments.append({"contact_id": cid, "owner_id": owner, "assigned_at": at})
            activities.append((cid, at + timedelta(hours=rng.expovariate(1 / 20))))
            if rng.random() < 0.1:
                clocks.append(
                    {
                        "contact_id": cid,
                        "stage": "mql",
                        "owner_id": owner,
                        "started_at": at,
                        "due_at": at + timedelta(days=2),
                        "breached_at": at + timedelta(days=2),
                    }
                )
            if rng.random() < 0.35:
                at += timedelta(days=rng.expovariate(1 / 12))
                moves.append(("sql", "advanced", at))
        if rng.random() < 0.1:
            at += timedelta(days=90)
            moves.append(("reactivation", "went_quiet", at))
        for stage, transition, when in moves:
            if when < NOW:
                total = {"lead": 30, "mql": 60, "sql": 85, "reactivation": 20}[stage]
                scores.append(score_row(cid, stage, transition, when, total + rng.randint(-20, 15)))
    with store.session() as session:
        for table, rows in (
            (ContactRow, contacts),
            (ScoreRow, scores),
            (AssignmentRow, [{**a, "strategy": "round_robin"} for a in assignments]),
            (SlaClockRow, clocks),
        ):
            for batch in _batches(iter(rows)):
                session.execute(insert(table.__table__), batch)  # type: ignore[union-attr]
        for batch in _batches(_events(rng, leads, events, activities)):
            session.execute(insert(EventRow.__table__), batch)  # type: ignore[attr-defined]
        session.commit()
    return {
        "contacts": len(contacts),
        "scores": len(scores),
        "events": events,
        "assignments": len(assignments),
        "sla_clocks": len(clocks),
    }


def contact_row(cid: int, created: datetime) -> dict[str, Any]:
    """A row of the contacts table: a HubSpot contact with nothing due."""
    return {
        "id": cid,
        "crm": "hubspot",
        "crm_id": str(cid),
        "email": f"lead{cid}@example.com",
        "properties": {},
        "crm_values": {},
        "created_at": created,
        "updated_at": created,
        "dirty": False,
    }


def score_row(cid: int, stage: str, transition: str, when: datetime, total: int) -> dict[str, Any]:
    """A row of the scores table (history, not current) for one stage move."""
    return {
        "contact_id": cid,
        "is_current": False,
        "model_version": "v1",
        "scored_at": when,
        "total": total,
        "fit": 0,
        "engagement": total,
        "grade": "B",
        "hot": False,
        "bant": "",
        "stage": stage,
        "stage_transition": transition,
        "reasons": "",
        "detail": {},
    }


def _events(
    rng: random.Random, leads: int, total: int, activities: list[tuple[int, datetime]]
) -> Iterator[dict[str, Any]]:
    """Sales activities first, then feedback and web events up to ``total``."""
    written = 0
    for cid, when in activities:
        if written == total:
            return
        yield _event(written, cid, "sales_activity", when, {})
        written += 1
    reasons = ["No budget this year", "Bad timing", "Chose a competitor", "Too small"]
    while written < total:
        cid = rng.randint(1, leads)
        when = NOW - YEAR * rng.random()
        if rng.random() < 0.02:
            status = rng.choice(["not_qualified", "bad_timing", "contacted"])
            props = {"status": status, "reason": rng.choice(reasons)}
            yield _event(written, cid, "sales_feedback", when, props)
        else:
            kind = rng.choice(["page_view", "email_click", "form_submit"])
            yield _event(written, cid, kind, when, {"url": "/pricing"})
        written += 1


def _event(n: int, cid: int, kind: str, when: datetime, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "dedupe_key": f"bench:{n}",
        "type": kind,
        "occurred_at": when,
        "contact_id": cid,
        "properties": props,
    }


def run(leads: int, events: int, url: str | None) -> dict[str, Any]:
    """Fill a store, then time the report of the last full week."""
    with tempfile.TemporaryDirectory() as folder:
        database = url or f"sqlite:///{Path(folder) / 'report.db'}"
        store = Store.open(database, bulk=True)
        started = time.perf_counter()
        counts = fill(store, leads, events)
        filled_s = time.perf_counter() - started
        config = CrmbridgeConfig.model_validate(
            {"bridge": {"database_url": database, "timezone": "Europe/Madrid", "language": "es"}}
        )
        texts = Texts("es", ZoneInfo("Europe/Madrid"))
        period = last_full_week(NOW, texts.zone)
        timings: dict[str, float] = {}
        started = time.perf_counter()
        with store.session() as session:
            result = build_report(session, config, period, NOW)
        timings["build_s"] = time.perf_counter() - started
        mark = time.perf_counter()
        console = Console(file=io.StringIO(), width=160)
        for renderable in renderables(result, texts):
            console.print(renderable)
        json.dumps(report_json(result, texts))
        write_csv(result, texts, Path(folder) / "csv")
        timings["terminal_json_csv_s"] = time.perf_counter() - mark
        mark = time.perf_counter()
        page = render_html(result, texts)
        timings["html_s"] = time.perf_counter() - mark
        timings["total_s"] = time.perf_counter() - started
        store.engine.dispose()
    return {
        "benchmark": "weekly_report",
        "database": "postgresql" if url else "sqlite",
        "rows": counts,
        "fill_s": round(filled_s, 1),
        **{key: round(value, 2) for key, value in timings.items()},
        "html_bytes": len(page.encode()),
        "mqls_in_week": result.current.mqls,
        "target_s": TARGET_S,
        "within_target": timings["total_s"] <= TARGET_S,
        "load_average": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    """Run with the command-line sizes and publish the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None, help="an empty, migrated store")
    args = parser.parse_args()
    result = run(args.leads, args.events, args.database_url)
    name = "weekly_report_postgresql.json" if args.database_url else "weekly_report.json"
    path = Path(__file__).parent / "results" / name
    publish(result, path)


if __name__ == "__main__":
    main()
