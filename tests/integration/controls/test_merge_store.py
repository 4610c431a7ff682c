"""Folding a merged record into its survivor, in the store, on SQLite and Postgres."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from crmbridge.records import CanonicalEvent, ContactRecord
from crmbridge.store.erasure import follow_merge
from crmbridge.store.repository import Store
from crmbridge.store.tables import ContactRow, EventRow, OutboxRow, ScoreRow

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def _contacts(store: Store, *ids: str) -> None:
    records = [
        ContactRecord(crm="hubspot", id=i, email=f"p{i}@acme.example", properties={}) for i in ids
    ]
    store.store_page("hubspot", "contacts", records, "c1", own_properties=[])
    with store.engine.begin() as connection:  # scored already
        connection.execute(update(ContactRow.__table__).values(dirty=False))  # type: ignore[attr-defined]


def _visit(crm_id: str, n: int) -> CanonicalEvent:
    return CanonicalEvent.model_validate(
        {
            "event_id": f"v-{crm_id}-{n}",
            "type": "page_view",
            "occurred_at": NOW.isoformat(),
            "contact": {"crm": "hubspot", "id": crm_id},
            "properties": {"url": "/pricing"},
        }
    )


def _state(store: Store) -> dict[str, object]:
    with store.session() as session:
        contacts = dict(session.execute(select(ContactRow.crm_id, ContactRow.id)).all())
        events = session.execute(select(EventRow.contact_crm_id, EventRow.contact_id)).all()
        outbox = session.execute(select(OutboxRow.crm_id)).scalars().all()
        dirty = session.execute(select(ContactRow.crm_id).where(ContactRow.dirty)).scalars()
        scores = session.execute(select(ScoreRow.contact_id)).scalars().all()
        return {
            "contacts": contacts,
            "events": sorted(events),
            "outbox": list(outbox),
            "dirty": set(dirty),
            "scores": list(scores),
        }


def test_the_merged_records_history_moves_to_the_survivor(store: Store) -> None:
    _contacts(store, "501", "502")
    store.insert_events([_visit("501", 1), _visit("502", 1), _visit("502", 2)])
    with store.session() as session:
        merged_row = session.execute(
            select(ContactRow.id).where(ContactRow.crm_id == "502")
        ).scalar_one()
        session.add(
            OutboxRow(
                connector="hubspot",
                contact_id=merged_row,
                crm_id="502",
                target="crmbridge_score",
                value={"value": "30"},
                idempotency_key="k-502",
            )
        )
        session.commit()

    with store.engine.begin() as connection:
        folded = follow_merge(connection, "hubspot", "501", ["502", "501"])
    with store.engine.begin() as connection:
        again = follow_merge(connection, "hubspot", "501", ["502"])

    state = _state(store)
    survivor = state["contacts"]["501"]  # type: ignore[index]
    assert (folded, again) == (1, 0)
    assert state["contacts"] == {"501": survivor}
    assert state["events"] == [("501", survivor)] * 3
    assert state["outbox"] == []  # nothing goes to an id that no longer exists
    assert state["dirty"] == {"501"}


def test_a_survivor_never_read_takes_over_the_merged_row(store: Store) -> None:
    _contacts(store, "502")
    store.insert_events([_visit("502", 1)])

    with store.engine.begin() as connection:
        folded = follow_merge(connection, "hubspot", "777", ["502"])

    state = _state(store)
    assert folded == 1
    assert list(state["contacts"]) == ["777"]  # type: ignore[call-overload]
    assert [ref for ref, _ in state["events"]] == ["777"]  # type: ignore[attr-defined]
    assert state["dirty"] == {"777"}
