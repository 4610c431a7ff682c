"""The store records each change of a contact's properties with its time (SQLite and
PostgreSQL): at the CRM's modification time, never later than the read; crmbridge's
own properties and unchanged records leave no row; values are bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from crmbridge.backtest.outcomes import Outcome
from crmbridge.backtest.stored import stored_leads
from crmbridge.config import example_config_text, parse_config
from crmbridge.records import ContactRecord
from crmbridge.store.erasure import follow_merge
from crmbridge.store.property_history import (
    MAX_VALUE_CHARS,
    PropertyChange,
    history_for,
    note_read,
    read_since,
)
from crmbridge.store.repository import Store
from crmbridge.store.tables import PropertyChangeRow
from crmbridge.sync.pipeline import Pipeline
from tests.integration.helpers import NOW, example_leads, pipeline, seed_crm

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


def test_a_merged_records_history_goes_and_the_survivors_stays(store: Store) -> None:
    for crm_id in ("501", "502"):
        for title, day in (("Analyst", 1), ("CIO", 2)):
            record = ContactRecord(
                crm="hubspot",
                id=crm_id,
                email=f"p{crm_id}@acme.example",
                properties={"jobtitle": title},
                updated_at=MODIFIED + timedelta(days=day),
            )
            store.store_page("hubspot", "contacts", [record], None, OWN)
    with store.session() as session:
        ids = {c.crm_id: c.id for c in store.contacts_after(session, 0, 10)}
    with store.engine.begin() as connection:
        assert follow_merge(connection, "hubspot", "501", ["502"]) == 1
    with store.session() as session:
        history = history_for(session, list(ids.values()))
    assert list(history) == [ids["501"]]
    assert [c.new for c in history[ids["501"]]] == ["CIO"]


def test_a_property_read_from_a_later_cycle_is_unknown_before_not_empty(store: Store) -> None:
    """A rule added on `industry`: the store learns each contact's industry when it is
    read again, which says nothing of its industry before."""
    first_note, later_note = MODIFIED, MODIFIED + timedelta(days=30)
    with store.session() as session:
        note_read(session, "hubspot", ["jobtitle"], first_note)
        session.commit()
    _page(store, {"jobtitle": "CIO"}, MODIFIED)
    with store.session() as session:
        note_read(session, "hubspot", ["jobtitle", "industry"], later_note)
        note_read(session, "hubspot", ["jobtitle", "industry"], later_note + timedelta(1))
        session.commit()
        assert read_since(session, "hubspot") == {"industry": later_note}
    learned_at = later_note + timedelta(days=5)
    _page(store, {"jobtitle": "CIO", "industry": "Logistics"}, learned_at)

    def replayed(closed_at: datetime) -> tuple[dict[str, Any], bool]:
        outcome = Outcome("ana@acme.example", True, True, closed_at)
        with store.session() as session:
            (lead,) = stored_leads(store, session, [outcome]).leads
        return dict(lead.contact.properties), lead.properties_as_of is not None

    before = replayed(MODIFIED + timedelta(days=10))
    after = replayed(learned_at + timedelta(days=1))
    assert before == ({"jobtitle": "CIO", "industry": "Logistics"}, False)
    assert after == ({"jobtitle": "CIO", "industry": "Logistics"}, True)


def test_the_pipeline_dates_the_properties_a_changed_model_starts_reading(
    store: Store, tmp_path: Path
) -> None:
    crm = seed_crm(tmp_path / "crm", example_leads())
    assert pipeline(store, crm).run_once(NOW).ok
    with store.session() as session:
        assert read_since(session, "hubspot") == {}
    text = example_config_text() + (
        '\n[[scoring.fit]]\nname = "Logistics"\npoints = 10\nwhen = { industry = "Logistics" }\n'
    )
    config = parse_config(text, source="test").config
    before = datetime.now(UTC)
    assert Pipeline(store, config, {crm.name: crm}).run_once(NOW).ok
    with store.session() as session:
        (noted,) = read_since(session, "hubspot").items()
    assert noted[0] == "industry" and noted[1] >= before
