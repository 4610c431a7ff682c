"""Recording webhook changes on SQLite and PostgreSQL: receipts, dirty flags, events."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import timedelta
from typing import Any

import structlog
from fastapi.testclient import TestClient
from sqlalchemy import event

from crmbridge.connector import WebhookChange
from crmbridge.connector.webhook import Gone
from crmbridge.daemon.http import create_app
from crmbridge.records import CanonicalEvent
from crmbridge.store.identity import bind_account
from crmbridge.store.repository import Store
from crmbridge.store.tables import ContactRow, CursorRow
from crmbridge.store.webhooks import record_changes
from tests.integration.daemon.app_harness import (
    INGEST_TOKEN,
    NOW,
    count,
    dirty_ids,
    events,
    make_config,
    receipts,
    seed_contacts,
)


def reply(crm_id: str) -> CanonicalEvent:
    return CanonicalEvent(
        event_id=f"hubspot:{crm_id}:email_reply:1",
        type="email_reply",
        occurred_at=NOW - timedelta(minutes=1),
        contact={"crm": "hubspot", "id": crm_id},
    )


def test_receipts_replays_and_dirty_marks(store: Store) -> None:
    seed_contacts(store, "hubspot", ["1", "2"])
    changes = [
        WebhookChange("e1", ("1",)),
        WebhookChange("e2", ("2", "3"), (reply("2"),)),
        WebhookChange("e1", ("1",)),  # the same notification twice in one delivery
        WebhookChange("e4"),  # e.g. a deletion: a receipt, nothing else
    ]

    first = record_changes(store, "hubspot", changes, NOW)

    assert (first.accepted, first.replayed, first.events_stored) == (3, 1, 1)
    assert set(first.crm_ids) == {"1", "2", "3"}
    assert first.contacts_marked == 2
    assert dirty_ids(store, "hubspot") == {"1", "2"}
    assert receipts(store) == 3
    # Nothing is noted for "3", which the store does not hold: the next poll reads it.
    assert count(store, CursorRow) == 1  # the seeding page's cursor only

    replay = record_changes(store, "hubspot", changes, NOW + timedelta(seconds=5))
    assert (replay.accepted, replay.replayed, replay.crm_ids) == (0, 4, ())
    assert (receipts(store), events(store)) == (3, 1)

    # Receipts are per connector: the same key from another CRM is new.
    other = record_changes(store, "salesforce", [WebhookChange("e1")], NOW)
    assert other.accepted == 1


def test_a_nul_character_is_reported_not_a_server_error(store: Store) -> None:
    """PostgreSQL cannot store NUL in text; the event is refused, the others stored."""
    app = create_app(store, make_config())
    good = {
        "type": "page_view",
        "occurred_at": "2026-11-19T10:00:00Z",
        "contact": {"email": "a@b.es"},
    }
    bad = good | {"event_id": "x\u0000y"}
    body = "\n".join(json.dumps(e) for e in (good, bad))
    response = TestClient(app).post(
        "/v1/events",
        content=body,
        headers={"Authorization": f"Bearer {INGEST_TOKEN}", "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 202
    result = response.json()
    assert (result["ingested"], result["failed"]) == (1, 1)
    assert result["issues"][0]["line"] == 2
    assert "NUL" in result["issues"][0]["reason"]


def smallest_parameter_limit(store: Store) -> None:
    """SQLite builds before 3.32 bind at most 999 parameters a statement: so will this
    store's connections (PostgreSQL's limit, 65,535, cannot be lowered)."""
    if store.dialect != "sqlite":
        return

    def limit(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)

    event.listen(store.engine, "connect", limit)
    store.engine.dispose()


def test_deliveries_naming_thousands_of_records(store: Store) -> None:
    ids = [str(10_000 + n) for n in range(1_200)]
    seed_contacts(store, "hubspot", ids)
    bind_account(store.engine, "hubspot", "4200017", "HubSpot account 4200017")
    smallest_parameter_limit(store)

    changed = [WebhookChange(f"c{i}", (i,), account="4200017") for i in ids]
    result = record_changes(store, "hubspot", changed, NOW)
    assert (result.accepted, result.contacts_marked) == (1_200, 1_200)
    assert dirty_ids(store, "hubspot") == set(ids)
    replay = record_changes(store, "hubspot", changed, NOW)
    assert (replay.accepted, replay.replayed) == (0, 1_200)

    deleted = [
        WebhookChange(f"d{i}", gone=(i,), gone_because=Gone.DELETED, account="4200017")
        for i in ids[:1_100]
    ]
    record_changes(store, "hubspot", deleted, NOW)
    assert count(store, ContactRow) == 100
    assert receipts(store) == 2_300


def test_a_deletion_waits_for_the_rescoring_batch_holding_contacts(store: Store) -> None:
    """A webhook's deletion is applied once the batch being scored is stored (see
    crmbridge.store.identity_lock); a delivery that only marks contacts never waits."""
    seed_contacts(store, "hubspot", ["501", "502"])
    bind_account(store.engine, "hubspot", "4200017", "HubSpot account 4200017")
    waiting = threading.Event()

    def told(_logger: Any, _name: str, entry: dict[str, Any]) -> dict[str, Any]:
        if entry.get("event") == "contact.identity_waits":
            waiting.set()
        return entry

    gone = [WebhookChange("d501", gone=("501",), gone_because=Gone.DELETED, account="4200017")]
    changed = [WebhookChange("c502", ("502",), account="4200017")]
    with structlog.testing.capture_logs(processors=[told]):
        with store.identity.scoring():
            marking = threading.Thread(target=record_changes, args=(store, "hubspot", changed, NOW))
            marking.start()
            marking.join(timeout=30)
            assert not marking.is_alive(), "a delivery without deletions waited"
            deleting = threading.Thread(target=record_changes, args=(store, "hubspot", gone, NOW))
            deleting.start()
            assert waiting.wait(timeout=30), "the deletion did not wait for the batch"
            assert count(store, ContactRow) == 2
        deleting.join(timeout=30)

    assert not deleting.is_alive()
    assert count(store, ContactRow) == 1
    assert dirty_ids(store, "hubspot") == {"502"}
