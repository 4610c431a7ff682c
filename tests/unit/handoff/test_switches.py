"""Steps turned on, or triggers added, on an installation that already has leads: a
waived lead gets no owner until it qualifies anew, and an added trigger meets every
lead already scored as a baseline (no mass enrolment)."""

from __future__ import annotations

from datetime import timedelta

from crmbridge.handoff.assignment import WAIVED, AssignmentStep
from crmbridge.handoff.lead import HandoffPlan, PreviousScore
from crmbridge.handoff.triggers import TriggerStep, trigger_mark
from crmbridge.scoring.types import Event

from .helpers import NOW, config, lead, pool

TRIGGERS = config(
    """
[[triggers]]
name = "Hot → list"
then = { add_to_list = "7" }
[triggers.when]
hot = true

[[triggers]]
name = "Webinar → list"
then = { add_to_list = "8" }
[triggers.when]
event = { type = "webinar_attended" }
"""
)


def webinar(days_ago: int) -> Event:
    return Event("webinar_attended", NOW - timedelta(days=days_ago), {}, f"w{days_ago}")


def added_step() -> TriggerStep:
    marks = [trigger_mark(t) for t in TRIGGERS.triggers]
    return TriggerStep(TRIGGERS.triggers, TRIGGERS.reactivation, added=marks)


def test_an_added_trigger_meets_a_scored_lead_as_a_baseline_then_fires_on_what_is_new() -> None:
    step = added_step()
    old = lead(events=[webinar(3)])
    old.previous = PreviousScore(total=120, hot=True, stage="sql")
    first = HandoffPlan()
    step.plan(old, first)
    assert first.actions == []

    later = lead(events=[webinar(3), webinar(1)], state=old.state)
    later.previous = old.previous
    second = HandoffPlan()
    step.plan(later, second)
    assert [(a.kind, a.payload["list_id"]) for a in second.actions] == [("list_add", "8")]


def test_an_added_trigger_fires_for_a_lead_scored_for_the_first_time() -> None:
    plan = HandoffPlan()
    added_step().plan(lead(events=[webinar(3)]), plan)
    assert sorted(a.payload["list_id"] for a in plan.actions) == ["7", "8"]


def test_a_kept_trigger_fires_as_before() -> None:
    old = lead()
    old.previous = PreviousScore(total=120, hot=True, stage="sql")
    plan = HandoffPlan()
    TriggerStep(TRIGGERS.triggers, TRIGGERS.reactivation).plan(old, plan)
    assert [a.payload["list_id"] for a in plan.actions] == ["7"]


def test_a_waived_lead_gets_an_owner_only_once_it_qualifies_anew() -> None:
    settings = config("[assignment]\nenabled = true\n").assignment
    step = AssignmentStep(settings, pool("11"))
    waived = lead(state={WAIVED: True})
    plan = HandoffPlan()
    step.plan(waived, plan)
    assert plan.properties == {}

    cooled = lead(hot=False, stage="mql", state=waived.state)
    step.plan(cooled, HandoffPlan())
    assert WAIVED not in cooled.state
    again = lead(state=cooled.state)
    plan = HandoffPlan()
    step.plan(again, plan)
    assert plan.properties == {"hubspot_owner_id": "11"}
