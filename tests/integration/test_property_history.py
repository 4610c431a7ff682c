"""The store records each change of a contact's properties with its time (SQLite and
PostgreSQL): at the CRM's modification time, never later than the read; crmbridge's
own properties and unchanged records leave no row; values are bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from crmbridge.records import ContactRecord
from crmbridge.store.property_history import MAX_VALUE_CHARS, PropertyChange, history_for
from crmbridge.store.repository import Store
from crmbridge.store.tables import PropertyChangeRow

OWN = ("crmbridge_score",)
MODIFIED = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def _page(store: Store, properties: dict[str, Any], at: datetime | None) -> None:
    record = ContactRecord(
        crm="hubspot", id="101", email="ana@acme.example", properties=properties, updated_at=at
    )
    store.store_page("hubspot", "contacts", [record], None, OWN)


def _history(store: Store) -> list[PropertyChange]:
    with store.session() as session:
        (contact,) = store.contacts_after(session, 0, 10)
        return history_for(session, [contact.id]).get(contact.id, [])


def test_changes_are_recorded_at_the_crms_modification_time(store: Store) -> None:
    _page(store, {"jobtitle": "Analyst", "numemployees": "80"}, MODIFIED)
    with store.session() as session:
        (contact,) = store.contacts_after(session, 0, 10)
    assert contact.properties_since == MODIFIED
    assert _history(store) == []

    later = MODIFIED + timedelta(days=20)
    _page(store, {"jobtitle": "CIO", "numemployees": "80", "crmbridge_score": "70"}, later)
    _page(store, {"jobtitle": "CIO", "numemployees": "80", "crmbridge_score": "90"}, later)
    _page(store, {"jobtitle": "CIO", "hs_buying_role": "DECISION_MAKER"}, later + timedelta(1))

    found = sorted(_history(store), key=lambda c: (c.changed_at, c.property))
    assert found == [
        PropertyChange("jobtitle", "Analyst", "CIO", later),
        PropertyChange("hs_buying_role", None, "DECISION_MAKER", later + timedelta(1)),
        PropertyChange("numemployees", "80", None, later + timedelta(1)),
    ]


def test_a_modification_time_in_the_future_or_unknown_is_recorded_as_the_read(
    store: Store,
) -> None:
    before = datetime.now(UTC)
    _page(store, {"jobtitle": "Analyst"}, None)
    _page(store, {"jobtitle": "CIO"}, datetime(2999, 1, 1, tzinfo=UTC))
    after = datetime.now(UTC)
    (change,) = _history(store)
    assert before <= change.changed_at <= after
    with store.session() as session:
        (contact,) = store.contacts_after(session, 0, 10)
    assert before <= contact.properties_since <= change.changed_at


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    old=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=3000),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=5,
    ),
    new=st.text(min_size=1, max_size=3000),
)
def test_any_value_is_recorded_bounded_and_never_stops_the_page(
    store: Store, old: Any, new: str
) -> None:
    with store.session() as session:
        session.execute(delete(PropertyChangeRow.__table__))  # type: ignore[arg-type]
        session.commit()
    _page(store, {"jobtitle": old}, MODIFIED)
    _page(store, {"jobtitle": new}, MODIFIED + timedelta(days=1))
    for change in _history(store):
        for value in (change.old, change.new):
            if isinstance(value, str):
                assert len(value) <= MAX_VALUE_CHARS
            else:
                assert value is None or isinstance(value, bool | int | float)
