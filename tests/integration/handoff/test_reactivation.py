"""Reactivation and archive end to end, with the cycle's ``now`` moved forward (the
``--now`` of ``crmbridge run``): 90 days quiet → stage ``reactivation`` and the
reactivation sequence; 30 more days → ``archived`` and the quarterly-contact list."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crmbridge.store import outbox
from crmbridge_hubspot.sandbox.server import SandboxServer

from .harness import (
    OWNERS,
    QUARTERLY_LIST,
    REACTIVATION_SEQUENCE,
    STAGE,
    Bridge,
    LeadSpec,
    add_leads,
    bridge_over,
    enrollments,
    make_sandbox,
    members,
    pricing_visits,
    prop,
    reply,
)

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
#: The leads' last engagement: one pricing visit (score 65: the demo trigger stays off).
ENGAGED = T0 - timedelta(days=1)
QUIET = ENGAGED + timedelta(days=90, hours=1)
NO_RESPONSE = ENGAGED + timedelta(days=120, hours=1)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[SandboxServer, Bridge, list[str]]]:
    with make_sandbox() as server, bridge_over(server, tmp_path) as bridge:
        quiet, replied = add_leads(
            server.state, [LeadSpec(1), LeadSpec(2, owner=OWNERS[1][0])], T0 - timedelta(days=30)
        )
        bridge.post_events(
            [*pricing_visits(quiet, ENGAGED, 1), *pricing_visits(replied, ENGAGED, 1)]
        )
        reply(server.state, replied, ENGAGED)
        bridge.cycle(T0)
        yield server, bridge, [quiet, replied]


def archive_rows(bridge: Bridge) -> list[str]:
    with bridge.store.session() as session:
        rows = outbox.list_rows(session, outbox.STATUSES, 10_000)
    return [row.crm_id for row in rows if row.kind == "list_add"]


def test_quiet_for_90_days_then_30_more(world: tuple[SandboxServer, Bridge, list[str]]) -> None:
    server, bridge, (quiet, replied) = world
    state = server.state
    assert prop(state, quiet, STAGE) == "mql"

    bridge.cycle(QUIET)
    bridge.cycle(QUIET + timedelta(days=1))
    assert prop(state, quiet, STAGE) == "reactivation"
    assert prop(state, replied, STAGE) == "reactivation"
    # Enrolled once each: the lead who replied has been silent for 90 days since, so
    # the pause that its reply set is over (docs/handoff.md, "Pause on reply").
    assert enrollments(state) == {
        (quiet, REACTIVATION_SEQUENCE): 1,
        (replied, REACTIVATION_SEQUENCE): 1,
    }
    assert prop(state, replied, "crmbridge_sequence_paused") == "false"
    enrollment = state.active_enrollment(quiet)
    assert enrollment is not None and enrollment.sender_email == OWNERS[0][1]
    assert members(state, QUARTERLY_LIST) == set()

    bridge.cycle(NO_RESPONSE)
    bridge.cycle(NO_RESPONSE + timedelta(days=1))
    bridge.cycle(NO_RESPONSE + timedelta(days=40))
    assert prop(state, quiet, STAGE) == "archived"
    assert prop(state, replied, STAGE) == "archived"
    assert members(state, QUARTERLY_LIST) == {quiet, replied}
    assert sorted(archive_rows(bridge)) == sorted([quiet, replied])  # once each
    assert enrollments(state) == {
        (quiet, REACTIVATION_SEQUENCE): 1,
        (replied, REACTIVATION_SEQUENCE): 1,
    }


def test_a_lead_already_archived_when_first_seen_goes_to_the_list(tmp_path: Path) -> None:
    with make_sandbox() as server, bridge_over(server, tmp_path) as bridge:
        (lead,) = add_leads(server.state, [LeadSpec(3)], T0 - timedelta(days=300))
        bridge.post_events(pricing_visits(lead, T0 - timedelta(days=200), 1))
        bridge.cycle(T0)
        bridge.cycle(T0 + timedelta(days=1))
        assert prop(server.state, lead, STAGE) == "archived"
        assert members(server.state, QUARTERLY_LIST) == {lead}
        # It skipped reactivation: no reactivation sequence.
        assert enrollments(server.state) == {}
