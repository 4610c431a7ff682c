"""The SLA clock on hand-built leads: start once, stop on contact, breach and escalate once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from crmbridge.handoff.assignment import AssignmentStep
from crmbridge.handoff.lead import HandoffPlan, Lead
from crmbridge.handoff.sla import SlaStep
from crmbridge.scoring.types import Event

from .helpers import NOW, config, lead, pool

SETUP = """
[bridge]
timezone = "Europe/Madrid"

[sla]
enabled = true
holidays = ["2026-11-25"]

[sla.stages]
sql = { within = "4h" }
mql = { within = "2d" }

[assignment]
enabled = true
owners = [{ id = "11", manager = "90" }, { id = "12" }, { id = "13", manager = "90" }]
"""


def sla(escalate: str = "") -> SlaStep:
    loaded = config(SETUP + (f"\n[sla.escalate]\n{escalate}" if escalate else ""))
    assigner = AssignmentStep(loaded.assignment, pool("11", "12", "13", "90"))
    return SlaStep(
        loaded.sla,
        loaded.bridge.timezone,
        owners=loaded.assignment.owners,
        assigner=assigner,
        status_key=loaded.lifecycle.feedback_property,
    )


def cycle(
    step: SlaStep, state: dict[str, Any], at: datetime, **options: Any
) -> tuple[Lead, HandoffPlan]:
    """One rescoring of the lead at ``at`` (the CRM says owner 11 unless told otherwise)."""
    properties = options.pop("properties", {"hubspot_owner_id": "11"})
    one = lead(properties=properties, state=state, now=at, **options)
    plan = HandoffPlan()
    step.plan(one, plan)
    return one, plan


def test_a_clock_starts_once_per_stage_entry_and_asks_to_be_rechecked() -> None:
    step = sla()
    state: dict[str, Any] = {}
    _, plan = cycle(step, state, NOW)  # Tuesday 10:00 Madrid
    (clock,) = plan.clocks_started
    # 4 business hours from Tuesday 10:00 Madrid: 14:00 (13:00 UTC).
    assert clock == {
        "stage": "sql",
        "owner_id": "11",
        "started_at": NOW,
        "due_at": datetime(2026, 11, 24, 13, tzinfo=UTC),
    }
    assert state["recheck_at"] == "2026-11-24T13:00:00+00:00"
    _, again = cycle(step, state, NOW + timedelta(hours=1))
    assert again.clocks_started == [] and again.clocks_breached == []


def test_mql_days_skip_the_holiday() -> None:
    _, plan = cycle(sla(), {}, NOW, stage="mql")
    # Tuesday 10:00 + 2 business days, Wednesday 25 a holiday: Friday 10:00 Madrid.
    assert plan.clocks_started[0]["due_at"] == datetime(2026, 11, 27, 9, tzinfo=UTC)


def test_no_owner_no_clock_and_a_stage_without_commitment_has_none() -> None:
    step = sla()
    plan = HandoffPlan()
    step.plan(lead(state={}), plan)
    assert plan.clocks_started == [] and "waits for an owner" in plan.notes[0]
    _, plan = cycle(step, {}, NOW, stage="lead")
    assert plan.clocks_started == []


def test_a_logged_activity_after_the_start_stops_the_clock() -> None:
    step = sla()
    state: dict[str, Any] = {}
    cycle(step, state, NOW)
    before = Event("sales_activity", NOW - timedelta(days=3))
    other_rep = Event("sales_activity", NOW + timedelta(hours=1), {"owner_id": "12"})
    call = Event("sales_activity", NOW + timedelta(hours=2), {"source": "last_contacted"})
    _, plan = cycle(step, state, NOW + timedelta(hours=3), events=[before, other_rep, call])
    assert plan.contacted_at == NOW + timedelta(hours=2)
    _, late = cycle(step, state, NOW + timedelta(days=5), events=[before, other_rep, call])
    assert late.clocks_breached == [] and late.actions == [] and late.contacted_at is None


def test_contacted_feedback_stops_it_and_every_feedback_is_kept() -> None:
    step = sla()
    state: dict[str, Any] = {}
    cycle(step, state, NOW)
    feedback = Event("sales_feedback", NOW + timedelta(hours=1), {"status": "contacted"})
    _, plan = cycle(step, state, NOW + timedelta(hours=2), events=[feedback])
    assert plan.contacted_at == NOW + timedelta(hours=1)
    verdict = Event(
        "sales_feedback",
        NOW + timedelta(days=2),
        {"status": "not_qualified", "reason": "no budget"},
    )
    cycle(step, state, NOW + timedelta(days=3), events=[feedback, verdict])
    assert state["feedback"] == {
        "status": "not_qualified",
        "reason": "no budget",
        "at": (NOW + timedelta(days=2)).isoformat(),
    }


def test_a_breach_tells_the_manager_once() -> None:
    step = sla()
    state: dict[str, Any] = {}
    cycle(step, state, NOW)
    due = datetime(2026, 11, 24, 13, tzinfo=UTC)
    _, early = cycle(step, state, due - timedelta(seconds=1))
    assert early.clocks_breached == [] and early.actions == []
    _, plan = cycle(step, state, due)
    (task,) = plan.actions
    assert task.key == "sla-breach:101:sql:20261124T090000Z"
    assert task.payload["owner_id"] == "90"
    assert "SLA breached" in task.payload["subject"]
    assert plan.clocks_breached == [
        {"stage": "sql", "started_at": NOW, "breached_at": due, "escalated_at": due}
    ]
    assert state["sla_clock"]["breached_at"] == due.isoformat()
    for days in (1, 2, 3):
        _, later = cycle(step, state, due + timedelta(days=days))
        assert later.actions == [] and later.clocks_breached == []


def test_a_breach_can_reassign_and_restart_the_clock() -> None:
    step = sla("notify_manager = false\nreassign = true")
    state: dict[str, Any] = {"owner_id": "11"}
    cycle(step, state, NOW)
    _, plan = cycle(step, state, NOW + timedelta(days=1))
    assert plan.properties == {"hubspot_owner_id": "12"}
    assert [a.key for a in plan.actions] == ["sla-reassign:101:sql:20261124T090000Z"]
    assert plan.actions[0].payload["owner_id"] == "12"
    (restarted,) = plan.clocks_started
    assert restarted["owner_id"] == "12" and restarted["started_at"] == NOW + timedelta(days=1)
    assert plan.clocks_breached[0]["escalated_at"] == NOW + timedelta(days=1)


def test_an_owner_without_manager_is_a_note_not_a_crash() -> None:
    step = sla()
    state: dict[str, Any] = {}
    owner = {"hubspot_owner_id": "12"}
    cycle(step, state, NOW, properties=owner)
    _, plan = cycle(step, state, NOW + timedelta(days=1), properties=owner)
    assert plan.actions == []
    assert plan.clocks_breached[0]["escalated_at"] is None
    assert any("no manager configured for owner 12" in note for note in plan.notes)


def test_a_damaged_clock_is_dropped() -> None:
    state: dict[str, Any] = {
        "sla_entry": {"stage": "sql", "at": "x"},
        "sla_clock": {"entered_at": "x"},
    }
    _, plan = cycle(sla(), state, NOW)
    assert plan.clocks_started == [] and "sla_clock" not in state
