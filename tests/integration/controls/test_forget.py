"""``crmbridge forget``: a person's rows leave every table of the store, on SQLite and
Postgres, and nobody else's do."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlmodel import SQLModel, select

from crmbridge.store.erasure import ERASED_TABLES, KEPT_TABLES
from crmbridge.store.outbox import queue_company_values
from crmbridge.store.repository import Store
from crmbridge.store.tables import (
    AssignmentRow,
    ContactRow,
    EventRow,
    OutboxRow,
    PropertyChangeRow,
    ScoreRow,
    SlaClockRow,
    SyncRunRow,
    WebhookReceiptRow,
)
from tests.integration.helpers import cli, snapshot

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
#: Distinctive, so a scan of every row finds any leftover.
ANA = ("ana.erasure@acme.example", "7301001")
BEN = ("ben.keeps@acme.example", "7302002")


def _person(store: Store, email: str, crm_id: str, tag: str) -> None:
    """One person as a few weeks of crmbridge leave them: every kind of row."""
    with store.session() as session:
        contact = ContactRow(
            crm="hubspot",
            crm_id=crm_id,
            email=email,
            properties={"email": email, "jobtitle": "CIO"},
            crm_values={"crmbridge_score": "40"},
            handoff={"owner": "501"},
        )
        session.add(contact)
        session.flush()
        cid = contact.id
        assert cid is not None
        linked = {"contact_id": cid}
        refs = [
            linked,  # linked to the contact row
            {"contact_email": email},  # a web event before the contact was read
            {"contact_crm": "hubspot", "contact_crm_id": crm_id},  # named by record id
        ]
        for n, ref in enumerate(refs):
            session.add(
                EventRow(
                    dedupe_key=f"{tag}-{n}",
                    type="page_view",
                    occurred_at=NOW - timedelta(days=n),
                    properties={"url": "https://acme.example/pricing"},
                    **ref,
                )
            )
        for current in (False, True):
            session.add(
                ScoreRow(
                    contact_id=cid,
                    is_current=current,
                    model_version="m1",
                    scored_at=NOW,
                    total=40,
                    fit=25,
                    engagement=15,
                    grade="B",
                    hot=False,
                    bant="B - - -",
                    stage="lead",
                    stage_transition="",
                    reasons="+15 pricing page",
                )
            )
        for status, kind in (("pending", "property"), ("done", "task"), ("dead", "property")):
            session.add(
                OutboxRow(
                    connector="hubspot",
                    contact_id=cid if kind == "property" else None,
                    crm_id=crm_id,
                    kind=kind,
                    target="crmbridge_score" if kind == "property" else f"ref-{tag}",
                    value={"value": "55"},
                    idempotency_key=f"{tag}-{status}-{kind}",
                    status=status,
                )
            )
        for old, new in ((None, f"Analyst {email}"), (f"Analyst {email}", "CIO")):
            session.add(
                PropertyChangeRow(
                    contact_id=cid,
                    property="jobtitle",
                    old_value=old,
                    new_value=new,
                    changed_at=NOW,
                )
            )
        session.add(AssignmentRow(contact_id=cid, owner_id="501", strategy="round_robin"))
        session.add(SlaClockRow(contact_id=cid, stage="mql", started_at=NOW, owner_id="501"))
        session.add(WebhookReceiptRow(connector="hubspot", event_id=f"receipt-{tag}"))
        session.commit()


def _mentions(store: Store, *needles: str) -> list[str]:
    found = []
    for table, rows in snapshot(store.engine).items():
        for row in rows:
            text = repr(row)
            if any(needle in text for needle in needles):
                found.append(f"{table}: {text[:120]}")
    return found


def test_every_table_is_either_erased_or_holds_nothing_about_a_person() -> None:
    tables = set(SQLModel.metadata.tables)
    assert tables <= ERASED_TABLES | KEPT_TABLES, tables - (ERASED_TABLES | KEPT_TABLES)


def test_forget_by_email_leaves_no_row_about_the_person(store: Store, store_url: str) -> None:
    _person(store, *ANA, "ana")
    _person(store, *BEN, "ben")
    with store.session() as session:
        session.add(SyncRunRow(started_at=NOW, status="ok"))
        session.commit()
    ben_before = _mentions(store, *BEN)

    result = cli(store_url, "forget", ANA[0].upper(), "--yes", "--json")

    assert result.exit_code == 0, result.output
    removed = json.loads(result.stdout)["removed"]
    assert removed == {
        "contacts": 1,
        "events": 3,
        "scores": 2,
        "outbox": 3,
        "assignments": 1,
        "sla_clocks": 1,
        "contact_companies": 0,
        "property_history": 2,
    }
    assert _mentions(store, *ANA) == []
    assert _mentions(store, *BEN) == ben_before
    counts = {name: len(rows) for name, rows in snapshot(store.engine).items()}
    # Kept: Ben's rows, both webhook receipts (CRM event ids only) and the run history.
    assert counts["contacts"] == 1 and counts["webhook_receipts"] == 2
    assert counts["sync_runs"] == 1
    assert counts["property_history"] == 2  # Ben's


def test_forget_by_record_id_says_what_it_removed_and_a_second_run_finds_nothing(
    store: Store, store_url: str
) -> None:
    _person(store, *ANA, "ana")

    first = cli(store_url, "forget", ANA[1], "--yes")
    again = cli(store_url, "forget", ANA[1], "--yes")

    assert first.exit_code == 0, first.output
    assert "removed 1 contact, 3 events, 2 scores, 3 outbox rows" in first.stdout
    assert "erase them there too" in first.stderr
    assert _mentions(store, *ANA) == []
    assert again.exit_code == 0 and "nothing is stored about" in again.stdout


def test_forget_asks_first_and_refuses_without_a_terminal(store: Store, store_url: str) -> None:
    _person(store, *ANA, "ana")
    before = snapshot(store.engine)

    result = cli(store_url, "forget", ANA[0])

    assert result.exit_code == 1
    assert "--yes" in result.stderr
    assert snapshot(store.engine) == before


def test_forgetting_a_contact_keeps_the_account_score_of_a_company_with_its_id(
    store: Store, store_url: str
) -> None:
    # HubSpot numbers contacts and companies apart: company 7301001 is not Ana.
    _person(store, *ANA, "ana")
    with store.session() as session:
        queued = queue_company_values(
            session, "hubspot", "crmbridge_account_score", {ANA[1]: "85"}, NOW
        )
        session.commit()
    assert queued == 1

    result = cli(store_url, "forget", ANA[0], "--yes")

    assert result.exit_code == 0, result.output
    with store.session() as session:
        left = session.exec(select(OutboxRow).where(OutboxRow.crm_id == ANA[1])).all()
    assert [(row.kind, row.target) for row in left] == [
        ("company_property", "crmbridge_account_score")
    ]
