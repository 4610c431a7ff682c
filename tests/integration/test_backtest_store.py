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


def _ana_record(title: str, updated_at: str) -> dict[str, Any]:
    (ana,) = [lead for lead in example_leads() if lead["email"] == ANA]
    return {**ana, "properties": {**ana["properties"], "jobtitle": title}, "updated_at": updated_at}


def _sync(store: Store, folder: Path, *leads: dict[str, Any]) -> None:
    # A fresh fake CRM each time: crmbridge's own writes would move the records'
    # modification time to today.
    assert pipeline(store, seed_crm(folder, list(leads))).run_once(NOW).ok


def test_a_property_changed_after_the_close_is_not_used(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    """Ana became IT director (a 50-point fit rule) two weeks after her deal closed: the
    backtest scores her as the analyst she was; the change made before the close of
    Ben's deal counts for him."""
    ben = {**_ana_record("Analyst", "2026-09-01T00:00:00Z"), "id": "901"}
    ben["email"] = "ben@logistica-iberica.es"
    outcomes = tmp_path / "deals.csv"
    outcomes.write_text(
        f"email,outcome,closed_at\n{ANA},won,{CLOSE}\n{ben['email']},lost,{CLOSE}\n", "utf-8"
    )
    _sync(store, tmp_path / "before", _ana_record("Analyst", "2026-09-01T00:00:00Z"), ben)
    as_analyst = _ana(_backtest(store_url, outcomes))
    assert as_analyst["current_properties"] is False

    promoted_ben = {**ben, "properties": {**ben["properties"], "jobtitle": "Directora de IT"}}
    _sync(
        store,
        tmp_path / "after",
        _ana_record("Directora de IT", "2026-10-15T08:00:00Z"),
        {**promoted_ben, "updated_at": "2026-09-20T08:00:00Z"},
    )
    payload = _backtest(store_url, outcomes)
    later = _ana(payload)
    (ben_row,) = [r for r in payload["models"][0]["scores"] if r["lead"] == ben["email"]]

    assert later["score"] == as_analyst["score"]
    assert later["fit"] == as_analyst["fit"]
    assert later["current_properties"] is False
    assert ben_row["fit"] == as_analyst["fit"] + 50
    assert payload["leads_scored_on_current_properties"] == 0
    # Today's score knows the promotion: the backtest did not look ahead.
    with store.session() as session:
        (contact,) = [c for c in store.contacts_after(session, 0, 10) if c.email == ANA]
        assert store.current_scores(session, [contact.id])[contact.id].fit == later["fit"] + 50


def test_a_lead_stored_after_its_close_without_history_is_counted(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    outcomes = tmp_path / "deals.csv"
    outcomes.write_text(f"email,outcome,closed_at\n{ANA},won,{CLOSE}\n", "utf-8")
    _sync(store, tmp_path / "crm", _ana_record("Directora de IT", "2026-10-15T08:00:00Z"))

    payload = _backtest(store_url, outcomes)

    assert _ana(payload)["current_properties"] is True
    assert payload["leads_scored_on_current_properties"] == 1
    assert any("No property history reaches back" in line for line in payload["notes"])
