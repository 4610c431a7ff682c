"""The hand-off is visible before it happens: ``crmbridge plan`` lists the actions the
next cycle would take, ``crmbridge explain`` shows a lead's hand-off, and a connector
that cannot act drops its actions with a note instead of queueing rows that would fail.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from crmbridge.records import CanonicalEvent
from crmbridge.store.repository import Store
from crmbridge.store.tables import ContactRow, OutboxRow
from crmbridge.testing.fake import FakeConnector

from .helpers import (
    NOW,
    cli,
    event,
    example_events,
    example_leads,
    pipeline,
    seed_crm,
)

REPLIER = "lucia.fernandez@agroexport.es"


def ingest(store: Store, events: list[dict[str, Any]]) -> None:
    store.insert_events([CanonicalEvent.model_validate(e) for e in events])


def paused_by_email(crm: FakeConnector) -> dict[str, Any]:
    """crmbridge_sequence_paused as the fake CRM holds it, by email."""
    return {
        record.get("email"): record.get("properties", {}).get("crmbridge_sequence_paused")
        for record in crm.state().values()
    }


@pytest.fixture
def crm(tmp_path: Path) -> FakeConnector:
    return seed_crm(tmp_path / "crm", example_leads())


def test_plan_lists_the_reply_task_and_writes_nothing(
    store: Store, store_url: str, crm: FakeConnector
) -> None:
    ingest(store, example_events())
    pipeline(store, crm).run_once(NOW)
    ingest(store, [event(REPLIER, "email_reply", NOW, "reply-1", source="sales_email")])

    result = cli(store_url, "plan", "--json", "--now", "2026-11-20T13:00:00Z")

    assert result.exit_code == 0, result.output
    changes = json.loads(result.stdout)["changes"]
    mine = {c["property"]: c["new"] for c in changes if c["email"] == REPLIER}
    assert mine["crmbridge_sequence_paused"] == "true"
    assert mine["action:task"].startswith('task "Lucía')
    assert "replied" in mine["action:task"]
    with store.session() as session:
        assert session.exec(select(OutboxRow).where(OutboxRow.kind != "property")).all() == []


def test_a_connector_without_handoff_keeps_the_property_and_drops_the_action(
    store: Store, crm: FakeConnector
) -> None:
    ingest(store, example_events())
    pipe = pipeline(store, crm)
    pipe.run_once(NOW)
    ingest(store, [event(REPLIER, "email_reply", NOW, "reply-1", source="sales_email")])

    cycle = pipe.run_once(NOW)

    assert cycle.ok, cycle.errors
    held = paused_by_email(crm)
    assert held[REPLIER] == "true"
    assert {email for email, paused in held.items() if paused} == {REPLIER}
    with store.session() as session:
        assert session.exec(select(OutboxRow).where(OutboxRow.kind != "property")).all() == []


def test_explain_json_shows_the_first_cycle_handoff(store_url: str) -> None:
    result = cli(store_url, "explain", "--json", "--lead", "ana.garcia@logistica-iberica.es")

    assert result.exit_code == 0, result.output
    (lead,) = json.loads(result.stdout)
    handoff = lead["handoff"]
    assert set(handoff) == {"properties", "actions", "notifications", "notes"}
    # Ana is hot with an unknown timeline: the form's next question is the timeline.
    assert handoff["properties"]["crmbridge_next_question"] == "crmbridge_timeline"


def test_a_damaged_handoff_state_costs_that_lead_its_handoff_not_the_cycle(
    store: Store, crm: FakeConnector
) -> None:
    ingest(store, example_events())
    pipe = pipeline(store, crm)
    pipe.run_once(NOW)
    with store.session() as session:
        row = session.exec(select(ContactRow).where(ContactRow.email == REPLIER)).one()
        row.handoff = {"reply_handled_at": "not a time", "paused": True, "recheck_at": "?"}
        session.add(row)
        session.commit()
    ingest(store, [event(REPLIER, "email_reply", NOW, "reply-2", source="sales_email")])
    ingest(store, [event("ana.garcia@logistica-iberica.es", "email_reply", NOW, "reply-3")])

    cycle = pipe.run_once(NOW)

    assert cycle.ok, cycle.errors
    assert cycle.scored == 2
    held = paused_by_email(crm)
    # The other lead's reply is handled; the damaged one keeps its state for a fix.
    assert held["ana.garcia@logistica-iberica.es"] == "true"
    with store.session() as session:
        row = session.exec(select(ContactRow).where(ContactRow.email == REPLIER)).one()
        assert row.handoff is not None and row.handoff["reply_handled_at"] == "not a time"
