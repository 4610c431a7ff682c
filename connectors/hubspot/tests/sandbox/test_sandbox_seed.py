"""The demo dataset: deterministic, the right size and shape, consistent with its events."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import requests
from hubspot import HubSpot

from crmbridge.records import CanonicalEvent
from crmbridge_hubspot.sandbox import SandboxServer, SandboxState, seed_demo

from .conftest import NOW, TOKEN


def _seeded(rng_seed: int = 7) -> tuple[SandboxState, list[dict[str, object]]]:
    state = SandboxState(clock=lambda: NOW)
    return state, seed_demo(state, rng_seed=rng_seed, now=NOW)


@pytest.fixture(scope="module")
def demo() -> tuple[SandboxState, list[dict[str, object]]]:
    return _seeded()


def test_deterministic_for_a_seed() -> None:
    first_state, first_events = _seeded()
    again_state, again_events = _seeded()
    _, other_events = _seeded(8)
    assert first_events == again_events
    assert [dict(c.properties) for c in first_state.contacts()] == [
        dict(c.properties) for c in again_state.contacts()
    ]
    assert first_events != other_events


def test_size_and_span(demo: tuple[SandboxState, list[dict[str, object]]]) -> None:
    state, events = demo
    assert state.contact_count() == 200
    assert 800 <= len(events) <= 5_000
    moments = [datetime.fromisoformat(str(e["occurred_at"]).replace("Z", "+00:00")) for e in events]
    assert moments == sorted(moments)
    assert NOW - timedelta(days=121) <= moments[0] < NOW - timedelta(days=100)
    assert NOW - timedelta(days=2) < moments[-1] <= NOW
    assert len({e["event_id"] for e in events}) == len(events)
    assert 4 <= len(state.owners()) <= 6
    assert len(state.sequences()) >= 2


def test_events_are_canonical_and_varied(
    demo: tuple[SandboxState, list[dict[str, object]]],
) -> None:
    state, events = demo
    for event in events:
        CanonicalEvent.model_validate(event)
    kinds = Counter(str(e["type"]) for e in events)
    expected = {
        "page_view",
        "content_download",
        "webinar_attended",
        "email_open",
        "email_click",
        "meeting_booked",
        "form_submit",
    }
    assert expected <= set(kinds)
    props = [(e["type"], e["properties"]) for e in events]
    assert any(t == "page_view" and "/pricing" in p["url"] for t, p in props)  # type: ignore[index]
    assets = {p.get("asset_type") for t, p in props if t == "content_download"}  # type: ignore[attr-defined]
    assert {"guide", "case_study"} <= assets
    assert all(0 <= p["watched_percent"] <= 100 for t, p in props if t == "webinar_attended")  # type: ignore[index]
    clicks = [p for t, p in props if t == "email_click"]
    assert any("nurture" in c["campaign"] and "/case-study/" in c["url"] for c in clicks)  # type: ignore[index]
    emails = {c.properties["email"] for c in state.contacts()}
    assert {e["contact"]["email"] for e in events} <= emails  # type: ignore[index]


def test_contacts_look_like_real_b2b_leads(
    demo: tuple[SandboxState, list[dict[str, object]]],
) -> None:
    state, events = demo
    contacts = state.contacts()
    titles = {c.properties.get("jobtitle", "") for c in contacts}
    assert any(t.startswith(("Directora", "Jefa")) for t in titles)
    assert titles & {"CIO", "IT Director", "Director of IT", "Head of IT"}
    assert any(t.startswith(("Director de", "DIRECTOR DE", "Jefe de")) for t in titles)
    sizes = {c.properties.get("numemployees") for c in contacts}
    assert {"1.000", "n/a"} & sizes and any(s and "-" in s for s in sizes)
    budgets = Counter(c.properties.get("crmbridge_budget") for c in contacts)
    assert {"approved", "in_estimation", "depends_on_business_case"} <= set(budgets)
    timelines = {c.properties.get("crmbridge_timeline") for c in contacts}
    assert {"this_quarter", "within_30_days", "next_year"} <= timelines
    roles = {c.properties.get("hs_buying_role") for c in contacts}
    assert "DECISION_MAKER" in roles and any(r and ";" in r for r in roles)
    spanish = sum(c.properties.get("country") == "Spain" for c in contacts)
    assert 80 < spanish < 170
    views = Counter(e["contact"]["email"] for e in events if e["type"] == "page_view")  # type: ignore[index]
    for contact in contacts:
        expected = views.get(contact.properties["email"], 0)
        assert int(contact.properties.get("hs_analytics_num_page_views", "0")) == expected


def test_schema_has_only_the_form_fields(
    demo: tuple[SandboxState, list[dict[str, object]]],
) -> None:
    state, _ = demo
    custom = [p for p in state.contact_properties() if p.name.startswith("crmbridge_")]
    assert sorted(p.name for p in custom) == [
        "crmbridge_budget",
        "crmbridge_need",
        "crmbridge_timeline",
    ]
    assert {p.group_name for p in custom} == {"crmbridge_forms"}
    assert state.group("crmbridge_forms") is not None
    budget = state.contact_property("crmbridge_budget")
    assert budget is not None
    assert budget.option_values() == ["approved", "in_estimation", "depends_on_business_case"]


def test_seeded_data_through_the_sdk_and_admin() -> None:
    state, events = _seeded()
    with SandboxServer(state) as server:
        client = HubSpot(access_token=TOKEN, host=server.url)
        assert len(list(client.crm.contacts.get_all())) == 200
        replied = client.crm.contacts.search_api.do_search(
            public_object_search_request={
                "filterGroups": [
                    {
                        "filters": [
                            {
                                "propertyName": "hs_sales_email_last_replied",
                                "operator": "HAS_PROPERTY",
                            }
                        ]
                    }
                ],
                "properties": ["hs_sales_email_last_replied"],
            }
        )
        assert replied.total == 5
        jsonl = requests.get(f"{server.url}/_sandbox/seed-events?format=jsonl", timeout=5)
    assert jsonl.text.count("\n") == len(events)
    finished = [e for e in state.enrollments() if not e.active]
    assert len(finished) == 3 and {e.finish_reason for e in finished} == {"REPLIED"}
    assert len([e for e in state.enrollments() if e.active]) >= 5
    assert datetime(2026, 1, 1, tzinfo=UTC) < NOW
