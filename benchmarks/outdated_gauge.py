"""The ``crmbridge_rescore_outdated`` gauge on a large store: what one count costs, and
what a scrape costs once the count is kept between scrapes.

The store is filled directly (bulk inserts): CONTACTS contacts, each with one current
score, half of them from the previous model version (a rescore half done). Figures:
the count itself (best of 5), a scrape that finds a fresh count (best of 20), against
the 50 ms a scrape may take.

    python -m benchmarks.outdated_gauge                       # SQLite, 1,000,000 contacts
    python -m benchmarks.outdated_gauge --contacts 10000      # smaller
    python -m benchmarks.outdated_gauge --database-url postgresql+psycopg://…/empty_db
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from benchmarks.report import best_of, publish
from benchmarks.weekly_report import contact_row, score_row
from crmbridge.daemon.metrics import OutdatedCollector
from crmbridge.store.repository import Store
from crmbridge.store.selection import count_selected, outdated
from crmbridge.store.tables import ContactRow, ScoreRow

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)
OLD, NEW = "model-old", "model-new"
BATCH = 20_000
TARGET_MS = 50.0


def _rows(contacts: int, first: int) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    end = first + contacts
    for start in range(first, end, BATCH):
        ids = range(start, min(start + BATCH, end))
        yield (
            [contact_row(cid, NOW) for cid in ids],
            [
                {
                    **score_row(cid, "mql", "advanced", NOW, 50),
                    "is_current": True,
                    "model_version": OLD if cid % 2 else NEW,
                }
                for cid in ids
            ],
        )


def fill(store: Store, contacts: int, first: int = 1) -> None:
    """``contacts`` contacts (ids from ``first``) with a current score each, every
    other one outdated (from the model ``OLD``; ``NEW`` is the running one)."""
    contact_table = ContactRow.__table__  # type: ignore[attr-defined]
    score_table = ScoreRow.__table__  # type: ignore[attr-defined]
    for people, scores in _rows(contacts, first):
        with store.session() as session:
            session.execute(insert(contact_table), people)
            session.execute(insert(score_table), scores)
            session.commit()


def _scrape(collector: OutdatedCollector) -> float:
    [family] = collector.collect()
    return float(family.samples[0].value)


def run(contacts: int, url: str | None) -> dict[str, Any]:
    """Fill a store, then time the count and a scrape."""
    with tempfile.TemporaryDirectory() as folder:
        database = url or f"sqlite:///{Path(folder) / 'outdated.db'}"
        store = Store.open(database, bulk=True)
        started = time.perf_counter()
        fill(store, contacts)
        filled_s = time.perf_counter() - started
        counted = count_selected(store, outdated(NEW))
        count_s = best_of(lambda: count_selected(store, outdated(NEW)), 5)
        collector = OutdatedCollector(store, NEW)
        first = time.perf_counter()
        scraped = _scrape(collector)
        first_s = time.perf_counter() - first
        scrape_s = best_of(lambda: _scrape(collector), 20)
        store.engine.dispose()
    assert counted == scraped == contacts // 2, (counted, scraped)
    return {
        "benchmark": "outdated_gauge",
        "database": "postgresql" if url else "sqlite",
        "contacts": contacts,
        "outdated": counted,
        "fill_s": round(filled_s, 1),
        "count_ms": round(count_s * 1000, 1),
        "first_scrape_ms": round(first_s * 1000, 1),
        "scrape_ms": round(scrape_s * 1000, 3),
        "target_ms": TARGET_MS,
        "scrape_within_target": scrape_s * 1000 <= TARGET_MS,
        "load_average": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    """Run with the command-line sizes and publish the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None, help="an empty, migrated store")
    args = parser.parse_args()
    result = run(args.contacts, args.database_url)
    name = "outdated_gauge_postgresql.json" if args.database_url else "outdated_gauge.json"
    publish(result, Path(__file__).parent / "results" / name)


if __name__ == "__main__":
    main()
