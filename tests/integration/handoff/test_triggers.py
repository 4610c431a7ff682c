"""Nurture triggers end to end: ``[[triggers]]`` of the suite's config (see harness.py)
acting on HubSpot through the real connector, cycle after cycle."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from crmbridge.store.tables import ContactRow
from crmbridge_hubspot.sandbox.server import SandboxServer

from .harness import (
    DEMO_SEQUENCE,
    LOGISTICS_SEQUENCE,
    NURTURE_LIST,
    OWNERS,
    PERSONA,
    Bridge,
    LeadSpec,
    add_leads,
    bridge_over,
    enrollments,
    event,
    make_sandbox,
    pricing_visits,
    prop,
    rep_edit,
    reply,
    tasks_by_contact,
)

#: In the past, so the event API's clock never sees an event from the future.
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
CYCLE = timedelta(minutes=5)


@pytest.fixture
def crm() -> Iterator[SandboxServer]:
    with make_sandbox() as server:
        yield server


@pytest.fixture
def bridge(crm: SandboxServer, tmp_path: Path) -> Iterator[Bridge]:
    with bridge_over(crm, tmp_path) as made:
        yield made


def leads(crm: SandboxServer, *specs: LeadSpec) -> list[str]:
    return add_leads(crm.state, specs, T0 - timedelta(days=7))


def test_a_pricing_visit_with_score_70_enrolls_once_in_the_demo_sequence(
    crm: SandboxServer, bridge: Bridge
) -> None:
    engaged, low_fit = leads(crm, LeadSpec(1), LeadSpec(2, jobtitle="Analyst", employees="20"))
    for n in range(3):
        # A new pricing visit before every cycle: each is a new matching event.
        at = T0 + CYCLE * n
        bridge.post_events([*pricing_visits(engaged, at), *pricing_visits(low_fit, at)])
        bridge.cycle(at + timedelta(minutes=1))
    made = enrollments(crm.state)
    assert made[(engaged, DEMO_SEQUENCE)] == 1
    assert sum(n for (crm_id, _), n in made.items() if crm_id == low_fit) == 0
    enrollment = crm.state.active_enrollment(engaged)
    assert enrollment is not None
    # Sent by the owner, as a rep enrolling by hand would.
    assert (enrollment.user_id, enrollment.sender_email) == (OWNERS[0][4], OWNERS[0][1])


def test_a_paused_lead_is_never_enrolled(crm: SandboxServer, bridge: Bridge) -> None:
    replied_first, replied_while_queued = leads(crm, LeadSpec(1), LeadSpec(2))
    reply(crm.state, replied_first, T0 - timedelta(hours=1))
    bridge.cycle(T0)
    bridge.post_events(
        [*pricing_visits(replied_first, T0), *pricing_visits(replied_while_queued, T0)]
    )
    # The enrollment is planned but not yet sent (a drain cut short: shutdown, rate
    # limit, crash) when the lead replies; the next cycle must not send it.
    bridge.plan_only(T0 + CYCLE)
    reply(crm.state, replied_while_queued, T0 + CYCLE)
    bridge.cycle(T0 + 2 * CYCLE)
    bridge.post_events(pricing_visits(replied_first, T0 + 2 * CYCLE))
    bridge.cycle(T0 + 3 * CYCLE)
    assert enrollments(crm.state) == {}
    for crm_id in (replied_first, replied_while_queued):
        assert prop(crm.state, crm_id, "crmbridge_sequence_paused") == "true"
    assert bridge.outbox_depth().get("pending", 0) == 0
    # The dropped enrollment is not remembered as done: once resumed, it may happen.
    with bridge.store.session() as session:
        row = session.exec(select(ContactRow).where(ContactRow.crm_id == replied_while_queued))
        assert not (row.one().handoff or {}).get("enrolled")


def test_an_event_rule_fires_once_per_event(crm: SandboxServer, bridge: Bridge) -> None:
    (lead,) = leads(crm, LeadSpec(1))
    first, second = T0, T0 + CYCLE
    bridge.post_events([event("meeting_booked", lead, first)])
    bridge.cycle(first + timedelta(minutes=1))
    bridge.post_events([event("meeting_booked", lead, second)])
    bridge.cycle(second + timedelta(minutes=1))
    bridge.cycle(second + timedelta(minutes=2))
    subjects = tasks_by_contact(crm.state)[lead]
    assert subjects.count("Prepare the demo with Lead1 Example") == 2


def test_the_logistics_guide_starts_the_logistics_track(crm: SandboxServer, bridge: Bridge) -> None:
    reader, other = leads(crm, LeadSpec(1, jobtitle="Head of Logistics"), LeadSpec(2))
    guide = {"asset_type": "guide", "title": "The Logistics Efficiency Guide 2026"}
    bridge.post_events(
        [
            event("content_download", reader, T0, guide),
            event("content_download", other, T0, {"asset_type": "guide", "title": "Cloud costs"}),
        ]
    )
    bridge.cycle(T0 + CYCLE)
    bridge.cycle(T0 + 2 * CYCLE)
    made = enrollments(crm.state)
    assert made == {(reader, LOGISTICS_SEQUENCE): 1}


def test_add_to_list_and_set_property(crm: SandboxServer, bridge: Bridge) -> None:
    cio, analyst = leads(crm, LeadSpec(1), LeadSpec(2, jobtitle="Analyst"))
    bridge.post_events([event("webinar_attended", analyst, T0, {"watched_percent": 95})])
    bridge.cycle(T0 + CYCLE)
    assert set(crm.state.get_list(NURTURE_LIST).members) == {analyst}  # type: ignore[union-attr]
    assert prop(crm.state, cio, PERSONA) == "it_leader"
    assert prop(crm.state, analyst, PERSONA) is None
    # The rule fired once: a rep's correction stands through later cycles.
    rep_edit(crm.state, cio, {PERSONA: "technical"})
    bridge.post_events(pricing_visits(cio, T0 + CYCLE))
    bridge.cycle(T0 + 2 * CYCLE)
    bridge.cycle(T0 + 3 * CYCLE)
    assert prop(crm.state, cio, PERSONA) == "technical"


def test_a_hot_lead_gets_one_call_task(crm: SandboxServer, bridge: Bridge) -> None:
    (lead,) = leads(crm, LeadSpec(1))
    bridge.post_events([*pricing_visits(lead, T0, count=3), event("meeting_booked", lead, T0)])
    for n in range(1, 4):
        bridge.cycle(T0 + CYCLE * n)
    calls = [s for s in tasks_by_contact(crm.state)[lead] if s.startswith("Call Lead1")]
    assert calls == ["Call Lead1 Example today (score 125)"]


def test_an_enrollment_waits_for_an_owner(crm: SandboxServer, bridge: Bridge) -> None:
    (lead,) = leads(crm, LeadSpec(1, owner=None))
    bridge.post_events(pricing_visits(lead, T0))
    bridge.cycle(T0 + CYCLE)
    assert enrollments(crm.state) == {}
    owner = OWNERS[1]
    rep_edit(crm.state, lead, {"hubspot_owner_id": owner[0]})
    bridge.cycle(T0 + 2 * CYCLE)
    bridge.cycle(T0 + 3 * CYCLE)
    assert enrollments(crm.state) == {(lead, DEMO_SEQUENCE): 1}
    enrollment = crm.state.active_enrollment(lead)
    assert enrollment is not None and enrollment.sender_email == owner[1]
