"""``crmbridge backtest --outcomes`` on leads the pipeline synced into the store (SQLite
and PostgreSQL): an event planted after a deal's close changes nothing, one planted
before it does; outcomes naming no stored lead and refused rows are counted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crmbridge.records import CanonicalEvent
from crmbridge.store.repository import Store
from crmbridge.testing.fake import FakeConnector

from .helpers import NOW, cli, event, example_events, example_leads, pipeline, seed_crm

ANA = "ana.garcia@logistica-iberica.es"
CLOSE = "2026-10-01T09:00:00Z"
OUTCOMES = f"""email,crm_id,outcome,closed_at
{ANA},,won,{CLOSE}
,102,lost,2026-09-20
nobody@example.com,,won,2026-09-01
{ANA.upper()},,lost,2026-09-15
someone@example.com,,maybe,2026-09-01
"""


@pytest.fixture
def crm(tmp_path: Path) -> FakeConnector:
    return seed_crm(tmp_path / "crm", example_leads())


def _backtest(store_url: str, outcomes: Path) -> dict[str, Any]:
    result = cli(store_url, "backtest", "--outcomes", str(outcomes), "--json")
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def _ana(payload: dict[str, Any]) -> dict[str, Any]:
    (row,) = [r for r in payload["models"][0]["scores"] if r["lead"] == ANA]
    return row


def _plant(store: Store, at: str) -> None:
    store.insert_events([CanonicalEvent.model_validate(event(ANA, "meeting_booked", at))])


def test_an_event_after_the_close_is_ignored_and_one_before_it_counts(
    store: Store, store_url: str, crm: FakeConnector, tmp_path: Path
) -> None:
    outcomes = tmp_path / "deals.csv"
    outcomes.write_text(OUTCOMES, "utf-8")
    unsynced = cli(store_url, "backtest", "--outcomes", str(outcomes))
    assert unsynced.exit_code == 1
    assert "none of the 4 outcomes names a lead the store holds" in unsynced.output
    store.insert_events([CanonicalEvent.model_validate(e) for e in example_events()])
    assert pipeline(store, crm).run_once(NOW).ok

    first = _backtest(store_url, outcomes)
    assert (first["leads"], first["won"], first["unmatched_outcomes"]) == (2, 1, 1)
    assert first["refused_rows"] == 1
    assert first["tables"]["refused_rows"] == [
        {"line": 6, "reason": 'outcome \'maybe\' is neither "won" nor "lost"'}
    ]
    ana = _ana(first)
    # Ana has two deals: the won one counts, as of its own close.
    assert (ana["won"], ana["closed_at"]) == (True, "2026-10-01T09:00:00+00:00")
    assert ana["current_properties"] is True

    _plant(store, "2026-10-01T09:00:01Z")
    after = _ana(_backtest(store_url, outcomes))
    assert after["score"] == ana["score"]
    assert after["events_after_close"] == ana["events_after_close"] + 1
    assert after["events_used"] == ana["events_used"]

    _plant(store, "2026-09-30T09:00:00Z")
    before = _ana(_backtest(store_url, outcomes))
    assert before["score"] == ana["score"] + 30
    assert before["events_used"] == ana["events_used"] + 1
