"""Events in the store, on SQLite and PostgreSQL: deduplication, identity resolution
(events before their contact, emails in any case), and the ingestor's per-line verdicts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from crmbridge.ingest import Ingestor
from crmbridge.records import CanonicalEvent, ContactRecord
from crmbridge.scoring import ScoringEngine
from crmbridge.store.repository import Store
from crmbridge.store.tables import ContactRow, EventRow
from crmbridge.sync.rescore import Rescorer
from crmbridge.sync.writeback import own_property_names

from .helpers import NOW, event, example_config

OWN = own_property_names("crmbridge")


def canonical(payload: dict[str, Any]) -> CanonicalEvent:
    return CanonicalEvent.model_validate(payload)


def contact(crm_id: str, email: str | None, **properties: Any) -> ContactRecord:
    return ContactRecord(
        crm="hubspot",
        id=crm_id,
        email=email,
        properties=properties,
        updated_at=datetime(2026, 11, 19, 12, tzinfo=UTC),
    )


def store_contacts(store: Store, *records: ContactRecord, cursor: str = "c") -> None:
    store.store_page("hubspot", "contacts", list(records), cursor, OWN)


def settle(store: Store) -> None:
    """Score everything due, which leaves every contact clean (not dirty)."""
    config = example_config()
    engine = ScoringEngine(config.scoring, config.bant, config.lifecycle)
    Rescorer(store, engine, "crmbridge").run(NOW)
    assert dirty_ids(store) == set()


def dirty_ids(store: Store) -> set[str]:
    with store.session() as session:
        query = select(ContactRow.crm_id).where(col(ContactRow.dirty).is_(True))
        return set(session.exec(query))


def links(store: Store) -> dict[str, str | None]:
    """Each stored event's dedupe key → the crm_id of the contact it is linked to."""
    with store.session() as session:
        ids = {row.id: row.crm_id for row in session.exec(select(ContactRow))}
        return {
            row.dedupe_key: ids.get(row.contact_id) if row.contact_id else None
            for row in session.exec(select(EventRow))
        }


# -- deduplication ---------------------------------------------------------------------


def test_events_are_deduplicated_by_event_id(store: Store) -> None:
    first = event("ana@acme.es", "page_view", "2026-11-18T10:00:00Z", "ev-1", url="/pricing")
    same_id = event("ana@acme.es", "email_open", "2026-11-19T10:00:00Z", "ev-1")
    other = event("ana@acme.es", "page_view", "2026-11-18T10:00:00Z", "ev-2", url="/pricing")

    result = store.insert_events([canonical(first), canonical(same_id), canonical(other)])
    again = store.insert_events([canonical(same_id), canonical(other)])

    assert (result.inserted, result.duplicates) == (2, 1)
    assert (again.inserted, again.duplicates) == (0, 2)
    assert store.event_count() == 2
    with store.session() as session:
        kept = session.exec(select(EventRow).where(EventRow.dedupe_key == "ev-1")).one()
    assert kept.type == "page_view"  # the first one stays


def test_events_without_id_are_deduplicated_by_content(store: Store) -> None:
    original = {
        "type": "page_view",
        "occurred_at": "2026-11-18T10:00:00Z",
        "contact": {"email": "ana@acme.es"},
        "properties": {"url": "https://acme.es/pricing", "ref": "ad"},
    }
    # The same instant in another zone, the email in capitals, keys in another order.
    restated = {
        "type": "page_view",
        "occurred_at": "2026-11-18T11:00:00+01:00",
        "contact": {"email": "  ANA@Acme.ES "},
        "properties": {"ref": "ad", "url": "https://acme.es/pricing"},
    }
    different = {**original, "properties": {"url": "https://acme.es/pricing", "ref": "mail"}}
    later = {**original, "occurred_at": "2026-11-18T10:00:01Z"}

    first = store.insert_events([canonical(original)])
    second = store.insert_events([canonical(restated), canonical(different), canonical(later)])

    assert (first.inserted, first.duplicates) == (1, 0)
    assert (second.inserted, second.duplicates) == (2, 1)
    assert store.event_count() == 3


# -- identity resolution ---------------------------------------------------------------


def test_event_emails_match_contacts_case_insensitively_and_trimmed(store: Store) -> None:
    store_contacts(store, contact("101", " Ana.Garcia@Logistica-Iberica.ES"))
    settle(store)

    store.insert_events(
        [
            canonical(event("  ANA.GARCIA@logistica-iberica.es\t", "page_view", NOW, "ev-1")),
            canonical(event("someone.else@acme.es", "page_view", NOW, "ev-2")),
        ]
    )

    assert links(store) == {"ev-1": "101", "ev-2": None}
    assert dirty_ids(store) == {"101"}


def test_events_of_an_unknown_email_are_kept_and_linked_when_the_contact_appears(
    store: Store,
) -> None:
    store_contacts(store, contact("101", "ana@acme.es"))
    settle(store)
    early = [
        canonical(event("Jorge@Norte.es", "page_view", "2026-11-10T10:00:00Z", "ev-1")),
        canonical(event("jorge@norte.es", "meeting_booked", "2026-11-11T10:00:00Z", "ev-2")),
    ]

    result = store.insert_events(early)

    assert result.inserted == 2
    assert links(store) == {"ev-1": None, "ev-2": None}
    assert dirty_ids(store) == set()

    store_contacts(store, contact("102", "JORGE@norte.es "), cursor="c2")

    assert links(store) == {"ev-1": "102", "ev-2": "102"}
    assert dirty_ids(store) == {"102"}


def test_a_contact_whose_email_changes_collects_the_events_of_its_new_email(
    store: Store,
) -> None:
    store_contacts(store, contact("101", "ana@old.es", jobtitle="CIO"))
    store.insert_events([canonical(event("ana@new.es", "page_view", NOW, "ev-new"))])
    settle(store)
    assert links(store) == {"ev-new": None}

    store_contacts(store, contact("101", "Ana@New.es", jobtitle="CIO"), cursor="c2")

    assert links(store) == {"ev-new": "101"}
    assert dirty_ids(store) == {"101"}


def test_events_naming_a_crm_record_are_linked_when_the_record_arrives(store: Store) -> None:
    by_ref = {
        "event_id": "form-1",
        "type": "form_submit",
        "occurred_at": "2026-11-18T10:00:00Z",
        "contact": {"crm": "hubspot", "id": "555"},
    }
    store.insert_events([canonical(by_ref)])
    assert links(store) == {"form-1": None}

    store_contacts(store, contact("555", None))

    assert links(store) == {"form-1": "555"}


def test_an_echo_of_our_own_properties_does_not_mark_the_contact_dirty(store: Store) -> None:
    store_contacts(store, contact("101", "ana@acme.es", jobtitle="CIO"))
    settle(store)

    echo = contact("101", "ana@acme.es", jobtitle="CIO", crmbridge_score="80")
    result = store.store_page("hubspot", "contacts", [echo], "c2", OWN)

    assert (result.stored, result.changed) == (1, 0)
    assert dirty_ids(store) == set()
    with store.session() as session:
        row = session.exec(select(ContactRow)).one()
    assert row.crm_values == {"crmbridge_score": "80"}
    assert row.properties == {"jobtitle": "CIO"}
    assert store.get_cursor("hubspot", "contacts") == "c2"


# -- the ingestor: per-line verdicts on both backends -----------------------------------


def test_ingestor_keeps_every_good_line_and_reports_each_bad_one(store: Store) -> None:
    good = event("ana@acme.es", "page_view", "2026-11-18T10:00:00Z", "ok-1", url="/pricing")
    lines = [
        json.dumps(good),
        '{"type": "page_view", "occurred_at": ',
        json.dumps({**good, "event_id": "ok-2", "type": "podcast_listened"}),
        json.dumps({k: v for k, v in good.items() if k != "occurred_at"} | {"event_id": "x"}),
        json.dumps({**good, "event_id": "ok-3", "occurred_at": "2026-11-18T10:00:00"}),
        json.dumps({**good, "event_id": "late", "occurred_at": "2026-11-21T10:00:00Z"}),
        "",
        json.dumps({**good, "event_id": "ok-4", "occurred_at": "2026-11-20T10:04:00Z"}),
        json.dumps(good),
    ]
    numbered = [(n, line.encode()) for n, line in enumerate(lines, start=1)]

    report = Ingestor(store, timedelta(minutes=5)).ingest_lines(numbered, NOW)

    assert (report.lines, report.ingested, report.duplicates) == (8, 4, 1)
    assert (report.failed, report.warnings) == (3, 1)
    assert {(i.line, i.severity) for i in report.issues} == {
        (2, "error"),
        (4, "error"),
        (5, "warning"),
        (6, "error"),
    }
    assert dict(report.unknown_types) == {"podcast_listened": 1}
    with store.session() as session:
        stored = {row.dedupe_key: row for row in session.exec(select(EventRow))}
    assert set(stored) == {"ok-1", "ok-2", "ok-3", "ok-4"}
    assert stored["ok-2"].type == "podcast_listened"
    assert stored["ok-3"].occurred_at == datetime(2026, 11, 18, 10, tzinfo=UTC)


def test_ingestor_refuses_unstorable_values_and_keeps_odd_numbers_as_text(store: Store) -> None:
    good = event("ana@acme.es", "page_view", "2026-11-18T10:00:00Z", "ok-1")
    lines = [
        json.dumps({**good, "event_id": "far-past", "occurred_at": "0001-01-01T00:00:00+01:00"}),
        '{"type": "page_view", "occurred_at": "2026-11-18T10:00:00Z",'
        ' "contact": {"email": "a@acme.es"}, "properties": {"visits": NaN}}',
        '{"type": "page_view", "occurred_at": "2026-11-18T10:00:00Z",'
        ' "contact": {"email": "a@acme.es"}, "properties": {"n": {"deep": [1e400]}}}',
        # Longer than the store's columns: PostgreSQL would refuse the whole batch.
        json.dumps({**good, "event_id": "e" * 129}),
        json.dumps({**good, "event_id": "long-type", "type": "t" * 65}),
        json.dumps({**good, "event_id": "long-email", "contact": {"email": "a" * 320 + "@x.es"}}),
        json.dumps({**good, "event_id": "long-crm", "contact": {"crm": "c" * 33, "id": "1"}}),
        json.dumps({**good, "event_id": "long-id", "contact": {"crm": "hubspot", "id": "9" * 65}}),
        json.dumps(good),
    ]
    numbered = [(n, line.encode()) for n, line in enumerate(lines, start=1)]

    report = Ingestor(store, timedelta(minutes=5)).ingest_lines(numbered, NOW)

    errors = [1, 4, 5, 6, 7, 8]
    assert [(i.line, i.severity) for i in report.issues] == [(n, "error") for n in errors]
    assert (report.ingested, report.failed) == (3, 6)
    with store.session() as session:
        kept = [row.properties for row in session.exec(select(EventRow))]
    # NaN and 1e400 are no JSON numbers any database stores: they are kept as text.
    assert {"visits": "NaN"} in kept
    assert {"n": {"deep": ["1e400"]}} in kept
    assert "ok-1" in set(links(store))
