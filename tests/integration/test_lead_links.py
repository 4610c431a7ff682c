"""Cross-CRM leads in the store: whatever order records arrive in and however their
emails change, the stored links are those of the records as they stand now."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from crmbridge.records import ContactRecord
from crmbridge.scoring.types import Event
from crmbridge.store.repository import Store
from crmbridge.store.tables import ContactRow, LeadLinkRow
from crmbridge.sync.lead_merge import merged_events, merged_properties

CRMS = ("hubspot", "salesforce", "pipedrive")
STEPS = st.lists(
    st.tuples(st.sampled_from(CRMS), st.integers(0, 3), st.none() | st.integers(0, 2)),
    min_size=1,
    max_size=25,
)


def _expected(rows: list[Any]) -> dict[int, int]:
    """Links computed from scratch: one record per CRM, two CRMs at least."""
    people: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        if row.email:
            people[row.email].append(row)
    links: dict[int, int] = {}
    for records in people.values():
        crms = [r.crm for r in records]
        if len(crms) > 1 and len(set(crms)) == len(crms):
            lead = min(r.id for r in records)
            links.update({r.id: lead for r in records})
    return links


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(steps=STEPS)
def test_links_always_match_the_records_as_they_stand(
    store: Store, steps: list[tuple[str, int, int | None]]
) -> None:
    tag = uuid.uuid4().hex[:8]  # each example's own records in the shared store
    for crm, record, person in steps:
        email = None if person is None else f"p{person}-{tag}@acme.es"
        found = ContactRecord(crm=crm, id=f"{tag}-{record}", email=email)
        store.store_page(crm, "contacts", [found], None, [])

    with store.session() as session:
        contacts = ContactRow.__table__  # type: ignore[attr-defined]
        rows = list(session.execute(select(contacts).where(contacts.c.crm_id.like(f"{tag}-%"))))
        ids = [r.id for r in rows]
        links = LeadLinkRow.__table__  # type: ignore[attr-defined]
        stored = dict(
            session.execute(
                select(links.c.contact_id, links.c.lead_id).where(links.c.contact_id.in_(ids))
            ).all()
        )
    assert stored == _expected(rows)


NOW = datetime(2026, 12, 1, tzinfo=UTC)


class _Record:
    def __init__(self, rid: int, crm: str, properties: dict[str, Any], age: int | None) -> None:
        self.id, self.crm, self.properties = rid, crm, properties
        self.crm_updated_at = None if age is None else NOW - timedelta(hours=age)


VALUES = st.none() | st.sampled_from(["", " ", "a", "b", "DECISION_MAKER"])


@given(
    records=st.lists(
        st.tuples(
            st.sampled_from(CRMS),
            st.dictionaries(st.sampled_from(["jobtitle", "hs_buying_role", "x"]), VALUES),
            st.none() | st.integers(0, 5),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_each_property_comes_from_the_newest_record_that_holds_a_value(
    records: list[tuple[str, dict[str, Any], int | None]],
) -> None:
    lead = [_Record(i, crm, props, age) for i, (crm, props, age) in enumerate(records)]

    merged = merged_properties(lead)

    oldest = datetime.min.replace(tzinfo=UTC)
    for name in {n for r in lead for n in r.properties}:
        holders = [r for r in lead if str(r.properties.get(name) or "").strip()]
        if not holders:
            assert not str(merged[name] or "").strip()
            continue
        newest = max(r.crm_updated_at or oldest for r in holders)
        first = sorted(
            (r for r in holders if (r.crm_updated_at or oldest) == newest), key=lambda r: r.crm
        )
        assert merged[name] == first[0].properties[name]


def test_events_of_several_records_are_counted_once() -> None:
    at = NOW - timedelta(days=1)
    visit = Event("page_view", at, {"url": "/pricing"}, "web-1")
    reply = Event("email_reply", at + timedelta(hours=1), {}, "sf-7")

    merged = merged_events([[visit, reply], [visit], []])

    assert merged == [visit, reply]
