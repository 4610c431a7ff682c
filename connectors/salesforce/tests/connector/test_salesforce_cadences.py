"""Sales Engagement cadences on the sandbox org: enrollments, a reply's pause or removal
confirmed by the tracker, and an org without Sales Engagement said plainly."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.salesforce.tests.conftest import SandboxHandle
from crmbridge.connector import Action
from crmbridge_salesforce.handoff import SalesforceHandoff

from .salesforce_harness import connector_for


def setup(sandbox: SandboxHandle) -> tuple[str, str]:
    cadence = sandbox.seed("ActionCadence", {"Name": "Inbound", "State": "Active"})
    lead_id = sandbox.seed("Lead", {"LastName": "Ada", "Company": "AE", "Email": "a@x.io"})
    return cadence, lead_id


def trackers(sandbox: SandboxHandle, lead_id: str) -> list[tuple[Any, ...]]:
    state = sandbox.server.state
    with state.lock:
        return [
            (t["ActionCadenceId"], t["State"], t.get("CompletionReason"))
            for t in state.records["ActionCadenceTracker"].values()
            if t["TargetId"] == lead_id
        ]


def handoff_of(sandbox: SandboxHandle, **overrides: Any) -> SalesforceHandoff:
    return connector_for(sandbox.server, sales_engagement=True, **overrides).handoff


def enroll(lead_id: str, cadence: str, owner: str) -> Action:
    return Action(
        "enroll",
        lead_id,
        f"enroll:{lead_id}:{cadence}",
        {"sequence_id": cadence, "owner_id": owner},
    )


def test_a_reply_pauses_the_cadence_once_confirmed_by_its_tracker(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    cadence, lead_id = setup(sandbox)
    handoff = handoff_of(sandbox)
    joining = enroll(lead_id, cadence, sandbox.server.state.users.rep)

    assert not handoff.performed(joining)
    assert handoff.perform(joining).ok
    assert handoff.performed(joining)
    assert handoff.perform(joining).ok, "enrolled already in that cadence: done"
    current = handoff.active_enrollment(lead_id)
    assert current is not None and current.sequence_id == cadence

    pause = Action("pause", lead_id, f"reply-pause:{lead_id}", {})
    assert handoff.can_pause_sequences and not handoff.performed(pause)
    assert handoff.perform(pause).ok
    assert handoff.performed(pause)
    assert handoff.perform(pause).ok, "paused already: nothing more to do"
    assert trackers(sandbox, lead_id) == [(cadence, "Paused", None)]


def test_remove_on_reply_ends_the_enrollment(salesforce_sandbox: SandboxHandle) -> None:
    sandbox = salesforce_sandbox
    cadence, lead_id = setup(sandbox)
    handoff = handoff_of(sandbox, cadence_on_reply="remove")
    assert handoff.perform(enroll(lead_id, cadence, sandbox.server.state.users.rep)).ok

    assert handoff.pause_sequences(lead_id).ok

    assert trackers(sandbox, lead_id) == [(cadence, "Complete", "ManuallyRemoved")]
    assert handoff.active_enrollment(lead_id) is None


def test_an_enrollment_salesforce_refuses_fails_alone(salesforce_sandbox: SandboxHandle) -> None:
    sandbox = salesforce_sandbox
    cadence, lead_id = setup(sandbox)
    other = sandbox.seed("ActionCadence", {"Name": "Outbound", "State": "Active"})
    handoff = handoff_of(sandbox)
    rep = sandbox.server.state.users.rep
    assert handoff.perform(enroll(lead_id, cadence, rep)).ok

    busy = handoff.perform(enroll(lead_id, other, rep))
    unknown = handoff.perform(enroll(lead_id, "7005g000000AbCdAAK", rep))

    assert not busy.ok and busy.retriable and "another cadence" in (busy.error or "")
    assert not unknown.ok
    assert trackers(sandbox, lead_id) == [(cadence, "Running", None)]


@pytest.mark.parametrize("configured", [True, False])
def test_an_org_without_sales_engagement_is_said_plainly(
    salesforce_sandbox: SandboxHandle, configured: bool
) -> None:
    sandbox = salesforce_sandbox
    sandbox.admin.disable_sales_engagement()
    connector = connector_for(sandbox.server, sales_engagement=configured)

    report = connector.check()

    if configured:
        assert not report.ok
        assert any("Sales Engagement is not enabled" in p for p in report.problems)
    else:
        assert report.ok, report.problems
        assert any("Sales Engagement is off" in text for text in report.limitations)
        assert not connector.handoff.can_pause_sequences
        refused = connector.handoff.pause_sequences("00Q5g000004AbCdEAK")
        assert not refused.ok and "sales_engagement" in (refused.error or "")


def test_an_enrollment_by_cadence_name_is_confirmed_by_the_trackers_id(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    cadence, lead_id = setup(sandbox)
    handoff = handoff_of(sandbox)
    # The configuration names the cadence; its tracker holds the cadence's id.
    joining = enroll(lead_id, "Inbound", sandbox.server.state.users.rep)

    assert not handoff.performed(joining)
    assert handoff.perform(joining).ok
    assert handoff.performed(joining)
    assert handoff.perform(joining).ok, "enrolled already in that cadence: done"
    assert trackers(sandbox, lead_id) == [(cadence, "Running", None)]
    other = enroll(lead_id, "No such cadence", sandbox.server.state.users.rep)
    assert not handoff.performed(other)
