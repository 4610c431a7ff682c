"""A first cycle scores and writes the pages it has stored while it reads the rest."""

from __future__ import annotations

import math
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
import structlog

from crmbridge.connector.rate_governor import RateGovernor
from crmbridge.records import CanonicalEvent, ContactRef
from crmbridge.testing.fake import FakeConnector
from crmbridge_hubspot.client import is_search
from crmbridge_hubspot.connector import BATCH_LIMIT, SEARCH_LIMIT

from .hubspot_harness import IMPORT, connector_for, pipeline_over, sandbox
from .test_hubspot_connector import NOW, seed_population

#: Two search pages, a search a second (a CRM's search limit, tightened).
CONTACTS = 2 * SEARCH_LIMIT


def test_writes_start_while_the_read_goes_on_in_whole_batches(tmp_path: Path) -> None:
    with sandbox() as server:
        ids = seed_population(server.state, CONTACTS)
        connector = connector_for(server)
        with pipeline_over(connector, tmp_path) as pipeline:
            pipeline.prepare()
            connector.client.search_governor = RateGovernor(1, 1.0, margin=0)
            server.state.reset_observations()
            summary = pipeline.run_once(NOW)
        log = server.state.requests()
        contacts = {contact.id: contact for contact in server.state.contacts()}

    assert summary.ok, summary.errors
    # Contacts written before the read reached its end are read again there (their
    # modification time moved on): an echo of our own writes, never scored again.
    assert summary.read >= CONTACTS
    assert (summary.scored, summary.written) == (CONTACTS, CONTACTS)
    searches = [i for i, r in enumerate(log) if is_search(r.method, r.path)]
    writes = [i for i, r in enumerate(log) if r.path.endswith("/batch/update")]
    # Writing began before the read's last search had been answered...
    assert writes[0] < searches[-1], [(r.method, r.path) for r in log]
    # ...and never spent a call on a part-filled batch while pages were still coming.
    assert len(writes) == math.ceil(CONTACTS / BATCH_LIMIT)
    assert all(contacts[crm_id].properties.get("crmbridge_score") for crm_id in ids)


def test_a_merge_read_while_its_contacts_are_scored_waits_for_the_batch(
    tmp_path: Path,
) -> None:
    """A merge the read finds while a rescoring batch holds the merged contacts is
    applied once the batch is committed: nothing is scored or queued for a record id
    that no longer exists.

    The hooks make the interleaving certain: the sandbox holds the read's search until
    the batch is about to store its scores, and the batch then waits until the merge
    has been applied or is waiting for it (as its log line says).
    """
    with sandbox() as server:
        first, second, *_ = seed_population(server.state, 6)
        connector = connector_for(server)
        with pipeline_over(connector, tmp_path) as pipeline:
            pipeline.prepare()
            assert pipeline.run_once(NOW).ok
            merged = server.state.merge_contacts(first, second, source=IMPORT)
            server.state.reset_observations()
            # Both are due again, with a score that changes (a new visit of each).
            pipeline.store.insert_events([_pricing_visit(first), _pricing_visit(second)])

            scoring, folding = threading.Event(), threading.Event()
            cycle_thread = threading.current_thread()

            def hold_search(method: str, path: str) -> None:
                if path.endswith("/contacts/search"):
                    assert scoring.wait(_HOOK_TIMEOUT_S), "the batch never stored a score"

            def batch_writes(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
                first_write = statement.startswith(("UPDATE scores", "INSERT INTO scores"))
                ours = threading.current_thread() is cycle_thread
                if ours and first_write and not scoring.is_set():
                    scoring.set()
                    assert folding.wait(_HOOK_TIMEOUT_S), "the merge was never read"

            def told(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
                if event.get("event") in ("contact.identity_waits", "contact.merged"):
                    folding.set()
                return event

            server.services.on_request = hold_search
            sqlalchemy.event.listen(pipeline.store.engine, "before_cursor_execute", batch_writes)
            try:
                with structlog.testing.capture_logs(processors=[told]) as logs:
                    summary = pipeline.run_once(NOW)
            finally:
                sqlalchemy.event.remove(
                    pipeline.store.engine, "before_cursor_execute", batch_writes
                )
                server.services.on_request = None
            with pipeline.store.engine.connect() as connection:
                stored = _store_rows(connection)
            writes = [r.body for r in server.state.requests() if r.path.endswith("/batch/update")]

    assert summary.ok, summary.errors
    assert [e["event"] for e in logs if e["event"] == "contact.identity_waits"]
    gone = {first, second}
    assert gone.isdisjoint(stored["contacts"]), "a merged-away record is still stored"
    assert merged.id in stored["contacts"]
    assert stored["orphan_scores"] == 0
    assert gone.isdisjoint(stored["outbox"]), "a write queued to a merged-away id"
    assert merged.id in stored["scored"]
    assert not [body for body in writes if any(f'"{i}"' in body for i in gone)]


_HOOK_TIMEOUT_S = 30.0


def _pricing_visit(crm_id: str) -> CanonicalEvent:
    return CanonicalEvent(
        event_id=f"visit-{crm_id}",
        type="page_view",
        occurred_at=NOW - timedelta(hours=1),
        contact=ContactRef(crm="hubspot", id=crm_id),
        properties={"url": "https://example.com/pricing"},
    )


def _store_rows(connection: Any) -> dict[str, Any]:
    """The record ids the store holds, scores, queues writes for, and orphan scores."""
    contacts = dict(connection.execute(sqlalchemy.text("SELECT id, crm_id FROM contacts")).all())
    scored = connection.execute(
        sqlalchemy.text("SELECT contact_id FROM scores WHERE is_current")
    ).scalars()
    outbox = connection.execute(sqlalchemy.text("SELECT crm_id FROM outbox")).scalars()
    return {
        "contacts": set(contacts.values()),
        "scored": {contacts[i] for i in scored if i in contacts},
        "orphan_scores": connection.execute(
            sqlalchemy.text(
                "SELECT count(*) FROM scores WHERE contact_id NOT IN (SELECT id FROM contacts)"
            )
        ).scalar_one(),
        "outbox": set(outbox),
    }


@pytest.mark.parametrize("must_read", [False, True], ids=["overlapped", "read first"])
def test_a_stop_during_the_read_asks_no_connector_for_another_page(
    tmp_path: Path, must_read: bool
) -> None:
    """Stopping while HubSpot's first page is on its way: that page is stored, and
    neither HubSpot nor the connector after it is asked for another."""
    other = FakeConnector(tmp_path / "other", name="other")
    FakeConnector.seed(other.folder, [_fake_contact(i) for i in range(3)])
    stop = threading.Event()

    def stop_at_first_search(method: str, path: str) -> None:
        if path.endswith("/contacts/search"):
            stop.set()

    with sandbox() as server:
        seed_population(server.state, CONTACTS)
        connector = connector_for(server)
        with pipeline_over(connector, tmp_path) as pipeline:
            pipeline.connectors[other.name] = other
            pipeline.prepare()
            server.state.reset_observations()
            server.services.on_request = stop_at_first_search
            summary = pipeline.run_once(NOW, stop=stop, must_read=must_read)
        searches = [r for r in server.state.requests() if is_search(r.method, r.path)]

    assert summary.interrupted
    assert other.read_calls == 0, "the next connector was asked for a page after the stop"
    assert summary.read <= SEARCH_LIMIT, "HubSpot was asked for another page after the stop"
    # The search answered when the stop came (the newest-change probe may precede it).
    assert len(searches) <= 2


def _fake_contact(number: int) -> dict[str, Any]:
    return {
        "id": str(900 + number),
        "email": f"other{number}@example.com",
        "properties": {"jobtitle": "CIO"},
        "updated_at": "2026-11-01T10:00:00Z",
    }
