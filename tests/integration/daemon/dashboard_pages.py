"""The dashboard's test data and page reading, shared by the ASGI and the browser tests.

The store is the report's hand-computed week (:mod:`tests.integration.report.week47`)
plus live state: two hot leads, a sync cycle and outbox rows.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update

from benchmarks.weekly_report import score_row
from crmbridge.config import CrmbridgeConfig, parse_config
from crmbridge.store.repository import Store
from crmbridge.store.tables import ContactRow, OutboxRow, ScoreRow, SyncRunRow
from tests.integration.helpers import cli
from tests.integration.report.week47 import CONFIG, NOW, NOW_TEXT, at, seed

UI_TOKEN = "ui-token-3b9f0d6e"
WEEK = "2026-W47"


def config_text(url: str, language: str = "en") -> str:
    """The report's configuration with the dashboard switched on."""
    return CONFIG.format(url=url, language=language) + f'\n[daemon]\nui_token = "{UI_TOKEN}"\n'


def config_for(url: str, language: str = "en") -> CrmbridgeConfig:
    """:func:`config_text` parsed."""
    return parse_config(config_text(url, language)).config


def seed_live(store: Store) -> None:
    """The report's week, then what only the dashboard shows."""
    seed(store)
    with store.session() as session:
        hot = [
            {**score_row(5, "sql", "entered", at(11, 24, 9), 91), "is_current": True, "hot": True},
            {**score_row(1, "sql", "stayed", at(11, 25, 8), 88), "is_current": True, "hot": True},
        ]
        for row in hot:
            row["model_version"] = "v1"
        session.execute(insert(ScoreRow.__table__), hot)  # type: ignore[attr-defined]
        contacts = ContactRow.__table__  # type: ignore[attr-defined]
        session.execute(
            update(contacts)
            .where(contacts.c.id == 5)
            .values(handoff={"hot_since": "2026-11-24T09:00:00Z", "owner_id": "o2"})
        )
        session.execute(
            update(contacts)
            .where(contacts.c.id == 1)
            .values(handoff={"hot_since": "2026-11-25T08:30:00Z", "objection": {"class": "trust"}})
        )
        session.execute(
            insert(SyncRunRow.__table__),  # type: ignore[attr-defined]
            [
                {
                    "started_at": at(11, 25, 11, 55),
                    "finished_at": at(11, 25, 11, 56),
                    "status": "ok",
                    "read": 12,
                    "stored": 12,
                    "scored": 7,
                    "changed": 3,
                    "written": 3,
                    "failed": 0,
                    "duration_s": 4.25,
                    "errors": {},
                }
            ],
        )
        session.execute(
            insert(OutboxRow.__table__),  # type: ignore[attr-defined]
            [
                {
                    "connector": "hubspot",
                    "crm_id": str(n),
                    "target": "crmbridge_score",
                    "value": {"v": n},
                    "idempotency_key": f"k{n}",
                    "status": status,
                }
                for n, status in enumerate(["pending", "pending", "done", "dead"])
            ],
        )
        session.commit()


def json_report(url: str, tmp_path: Path, language: str = "en") -> dict[str, Any]:
    """``crmbridge report --week 2026-W47 --json`` on the same store and configuration."""
    path = tmp_path / f"crmbridge-{language}.toml"
    path.write_text(config_text(url, language), "utf-8")
    result = cli(url, "report", "--config", str(path), "--now", NOW_TEXT, "--week", WEEK, "--json")
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


class PageTables(HTMLParser):
    """Every ``<table data-table>`` of a page as records (column → raw value), and the
    number of ``<svg>`` charts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[dict[str, Any]]] = {}
        self.charts = 0
        self._table: str | None = None
        self._row: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "svg":
            self.charts += 1
        elif tag == "table" and found.get("data-table"):
            self._table = found["data-table"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = {}
        elif tag == "td" and self._row is not None and found.get("data-column"):
            self._row[str(found["data-column"])] = json.loads(str(found["data-value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self._table is not None and self._row:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None


def read_page(html: str) -> PageTables:
    """The tables and chart count of a dashboard page."""
    parser = PageTables()
    parser.feed(html)
    return parser


__all__ = ["NOW", "UI_TOKEN", "WEEK", "config_for", "json_report", "read_page", "seed_live"]
