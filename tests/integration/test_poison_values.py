"""One absurd value never stops a cycle: it is kept as text, read as "not a number", named.

Regression tests for the crash loop where one event with ``"watched_percent": 1`` followed
by 400 zeros made every later cycle raise ``OverflowError`` before any lead was scored,
and for a ``numemployees`` of ``"1"`` + 60,000 spaces + ``"1x"`` that took a minute per
cycle to parse. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text, update

from crmbridge.ingest import Ingestor
from crmbridge.store.repository import Store
from crmbridge.store.tables import ContactRow
from crmbridge.testing.fake import FakeConnector

from .helpers import NOW, cli, example_events, example_leads, pipeline, seed_crm

HUGE = "1" + "0" * 400
ANA = "ana.garcia@logistica-iberica.es"


def raw_event(event_id: str, number_literal: str) -> str:
    """A webinar event whose ``watched_percent`` is the JSON text ``number_literal``."""
    body = {
        "event_id": event_id,
        "type": "webinar_attended",
        "occurred_at": "2026-11-19T10:00:00Z",
        "contact": {"email": ANA},
        "properties": {"watched_percent": 0},
    }
    return json.dumps(body).replace('"watched_percent": 0', f'"watched_percent": {number_literal}')


POISON = {
    "huge": HUGE,
    "past-int-limit": "9" * 5000,
    "overflow": "1e999",
    "minus-overflow": "-1e999",
    "nan": "NaN",
    "infinity": "Infinity",
}


def current_scores(store: Store) -> dict[str, Any]:
    with store.session() as session:
        rows = session.execute(
            text(
                "SELECT c.crm_id, s.detail FROM scores s JOIN contacts c ON c.id = s.contact_id"
                " WHERE s.is_current"
            )
        )
        return {str(crm_id): detail for crm_id, detail in rows}


def notes_of(detail: Any) -> list[str]:
    data = json.loads(detail) if isinstance(detail, str) else detail
    return list(data["notes"])


@pytest.fixture
def crm(tmp_path: Path) -> FakeConnector:
    leads = example_leads()
    for lead in leads:
        if lead["email"] == "jorge.martin@transportes-norte.es":
            lead["properties"]["numemployees"] = "1" + " " * 60_000 + "1x"
        if lead["email"] == "sarah.jones@northwind.co.uk":
            lead["properties"]["numemployees"] = HUGE
    return seed_crm(tmp_path / "crm", leads)


def test_poison_numbers_are_stored_as_text_and_every_lead_is_scored_and_written(
    store: Store, crm: FakeConnector
) -> None:
    lines = [(n, raw_event(name, literal)) for n, (name, literal) in enumerate(POISON.items(), 1)]
    good = [json.dumps(e) for e in example_events()]
    lines += [(len(lines) + i, line) for i, line in enumerate(good, start=1)]

    report = Ingestor(store, max_future_skew=NOW - NOW).ingest_lines(lines, NOW)

    assert report.failed == 0, report.issues
    assert report.ingested == len(lines)
    with store.session() as session:
        kept = dict(session.execute(text("SELECT dedupe_key, properties FROM events")).all())
    stored = {
        key: (json.loads(value) if isinstance(value, str) else value)["watched_percent"]
        for key, value in kept.items()
        if key in POISON
    }
    assert stored == {name: literal.lstrip() for name, literal in POISON.items()}

    summary = pipeline(store, crm).run_once(NOW)

    assert summary.ok, summary.errors
    leads = len(example_leads())
    assert (summary.read, summary.scored, summary.written) == (leads, leads, leads)
    scores = current_scores(store)
    assert len(scores) == leads
    ana = notes_of(scores["101"])
    assert (
        f"webinar_attended event: watched_percent '{HUGE[:39]}…' (401 characters) is not a number"
        in ana
    )
    assert "webinar_attended event: watched_percent 'NaN' is not a number" in ana
    jorge = notes_of(scores["102"])
    assert "numemployees '1 …' (60,003 characters) is not a number" in jorge
    assert all(len(note) < 120 for note in [*ana, *jorge])
    sarah = notes_of(scores["103"])
    assert f"numemployees '{HUGE[:39]}…' (401 characters) is not a number" in sarah


def test_a_lead_that_cannot_be_scored_keeps_its_score_and_the_batch_goes_on(
    store: Store, crm: FakeConnector
) -> None:
    pipe = pipeline(store, crm)
    assert pipe.run_once(NOW).ok
    before = current_scores(store)
    # A stored row no scoring can read (a damaged row, a bug): the properties are a list.
    with store.session() as session:
        session.execute(
            update(ContactRow.__table__)  # type: ignore[attr-defined]
            .where(ContactRow.__table__.c.crm_id == "101")  # type: ignore[attr-defined]
            .values(properties=["not", "a", "table"], dirty=True)
        )
        session.execute(
            update(ContactRow.__table__)  # type: ignore[attr-defined]
            .where(ContactRow.__table__.c.crm_id != "101")  # type: ignore[attr-defined]
            .values(dirty=True)
        )
        session.commit()

    summary = pipe.run_once(NOW, read=False)  # a drain tick: what the store holds

    leads = len(example_leads())
    assert summary.scored == leads - 1
    assert any("1 lead(s) could not be scored" in e and "hubspot:101" in e for e in summary.errors)
    assert current_scores(store)["101"] == before["101"]
    with store.session() as session:
        recheck = session.execute(
            text("SELECT recheck_at FROM contacts WHERE crm_id = '101'")
        ).scalar_one()
    assert recheck is not None  # tried again later, not forgotten


def test_plan_starts_despite_a_poison_event_and_shows_its_lead(
    store: Store, store_url: str, crm: FakeConnector, tmp_path: Path
) -> None:
    assert pipeline(store, crm).run_once(NOW).ok
    events_file = tmp_path / "poison.jsonl"
    events_file.write_text(raw_event("huge", HUGE) + "\n" + raw_event("nan", "NaN") + "\n")
    ingested = cli(store_url, "ingest", str(events_file), "--now", "2026-11-20T10:00:00Z")
    assert ingested.exit_code == 0, ingested.output

    planned = cli(store_url, "plan", "--json", "--now", "2026-11-20T10:00:00Z")

    assert planned.exit_code == 0, planned.output
    changes = json.loads(planned.stdout)["changes"]
    reasons = [
        c["new"] for c in changes if c["crm_id"] == "101" and c["property"].endswith("reasons")
    ]
    assert reasons and "is not a number" in reasons[0], changes
