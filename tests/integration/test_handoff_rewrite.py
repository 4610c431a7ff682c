"""Rewriting stored hand-off states (a step turned on for the leads already qualifying)
never loses what a drain saved for the same contact meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from crmbridge.records import ContactRecord
from crmbridge.store.handoff_state import handoff_state, save_handoff_state
from crmbridge.store.repository import Store
from crmbridge.store.selection import everyone, rewrite_handoff
from crmbridge.store.tables import ContactRow

NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)


def stored_contacts(store: Store, count: int, *, hot: bool = True) -> list[int]:
    records = [
        ContactRecord(crm="fake", id=str(100 + n), email=f"lead{n}@example.com", updated_at=NOW)
        for n in range(count)
    ]
    store.store_page("fake", "contacts", records, None, ())
    with store.session() as session:
        ids = list(session.scalars(select(ContactRow.id).order_by(ContactRow.id)))
        for contact_id in ids if hot else ():
            save_handoff_state(session, contact_id, {"hot_since": "2026-12-01T09:00:00+00:00"})
        session.commit()
    return [int(i) for i in ids if i is not None]


def test_a_state_saved_meanwhile_is_kept_and_the_rewrite_applied_to_it(store: Store) -> None:
    first, second = stored_contacts(store, 2)
    given: list[Any] = []

    def waive(state: Any) -> dict[str, Any]:
        given.append(state)
        if len(given) == 1:
            # A drain forgets an enrollment of the first contact between the rewrite's
            # read and its update.
            with store.session() as drain:
                saved = dict(handoff_state(drain, first))
                save_handoff_state(drain, first, {**saved, "enrolled": {}})
                drain.commit()
        return {**(state or {}), "assignment_waived": True}

    assert rewrite_handoff(store, everyone(), waive) == 2
    with store.session() as session:
        assert handoff_state(session, first) == {
            "hot_since": "2026-12-01T09:00:00+00:00",
            "enrolled": {},
            "assignment_waived": True,
        }
        assert handoff_state(session, second) == {
            "hot_since": "2026-12-01T09:00:00+00:00",
            "assignment_waived": True,
        }
    # The first contact's change was computed again from what the drain saved.
    assert given[1] == {"hot_since": "2026-12-01T09:00:00+00:00", "enrolled": {}}


def test_a_contact_without_state_yet_is_rewritten(store: Store) -> None:
    (contact,) = stored_contacts(store, 1, hot=False)
    assert rewrite_handoff(store, everyone(), lambda s: {**(s or {}), "waived": True}) == 1
    with store.session() as session:
        assert handoff_state(session, contact) == {"waived": True}
