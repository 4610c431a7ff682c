"""A model edit moves leads without their doing anything: the reactivation, archive and
trigger steps count what the edit alone moves as a baseline (no mass enrolment) and
still act on the transitions the leads make themselves."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from crmbridge.handoff.lead import HandoffPlan, Lead, PreviousScore
from crmbridge.handoff.planner import HandoffPlanner
from crmbridge.handoff.triggers import TriggerStep
from crmbridge.scoring.types import Event, StageDecision

from .helpers import NOW, config, lead, pool

CONFIG = config(
    """
[lifecycle]
reactivation_after_days = 30
archive_after_days = 30

[reactivation]
sequence_id = "900"
archive_list_id = "77"

[[triggers]]
name = "Quiet → list"
then = { add_to_list = "5" }
[triggers.when]
stage = { eq = "reactivation" }

[[triggers]]
name = "Webinar while quiet → list"
then = { add_to_list = "6" }
[triggers.when]
stage = { eq = "reactivation" }
event = { type = "webinar_attended" }
"""
)
OLD, NEW = "model-a", "model-b"


def quiet_lead(
    *, silent_days: float, stage: str = "reactivation", before: str = "mql", model: str = OLD
) -> Lead:
    """A lead silent for ``silent_days`` whose rescoring now puts it in ``stage``, last
    scored an hour ago in stage ``before`` by ``model``."""
    found = lead(hot=False, stage=stage, properties={"hubspot_owner_id": "11"})
    found.score = replace(
        found.score,
        stage=StageDecision(stage, "went_quiet"),
        last_engagement_at=NOW - timedelta(days=silent_days),
        model_version=NEW,
    )
    found.previous = PreviousScore(60, False, before, model, NOW - timedelta(hours=1))
    return found


def planned(found: Lead) -> list[tuple[str, str]]:
    plan = HandoffPlanner(CONFIG, pool("11")).plan(found)
    return sorted((a.kind, a.key.split(":")[0]) for a in plan.actions)


def test_leads_a_model_edit_moves_into_reactivation_are_not_enrolled() -> None:
    # Silent for 60 days: quiet long before the edit lowered the threshold to 30.
    assert planned(quiet_lead(silent_days=60)) == []


def test_leads_a_model_edit_moves_into_archive_are_not_added_to_the_list() -> None:
    moved = quiet_lead(silent_days=100, stage="archived", before="reactivation")
    assert planned(moved) == []


def test_a_lead_going_quiet_during_the_cycle_of_the_edit_is_still_enrolled() -> None:
    # 30 days of silence reached ten minutes ago, after its last scoring: a transition
    # it made itself, as it would have without the edit.
    fresh = quiet_lead(silent_days=30 + 10 / 1440)
    assert ("enroll", "reactivation") in planned(fresh)


def test_a_lead_going_quiet_without_a_model_edit_is_enrolled_and_listed() -> None:
    assert planned(quiet_lead(silent_days=60, model=NEW)) == [
        ("enroll", "reactivation"),
        ("list_add", "trigger"),
    ]


def test_a_trigger_a_model_edit_makes_match_is_a_baseline_but_new_events_fire() -> None:
    step = TriggerStep(CONFIG.triggers, CONFIG.reactivation)
    old_webinar = Event("webinar_attended", NOW - timedelta(days=2), {}, "w-old")
    moved = quiet_lead(silent_days=60)
    moved.events = [old_webinar]
    first = HandoffPlan()
    step.plan(moved, first)
    assert first.actions == []
    assert first.baselines == [
        'trigger "Quiet → list" already matched',
        'trigger "Webinar while quiet → list" already matched',
    ]

    # Next cycle (same model now): nothing fires for what was matched; a new webinar does.
    new_webinar = Event("webinar_attended", NOW + timedelta(minutes=5), {}, "w-new")
    later = quiet_lead(silent_days=60, before="reactivation", model=NEW)
    later.events, later.state = [old_webinar, new_webinar], moved.state
    later.now = NOW + timedelta(minutes=10)
    second = HandoffPlan()
    step.plan(later, second)
    assert [a.payload["list_id"] for a in second.actions] == ["6"]


def test_a_trigger_matched_under_the_old_model_too_still_fires() -> None:
    # It matched before the edit (already in reactivation) without having fired yet
    # (waiting), so the edit is not what made it match.
    step = TriggerStep(CONFIG.triggers, CONFIG.reactivation)
    kept = quiet_lead(silent_days=60, before="reactivation")
    plan = HandoffPlan()
    step.plan(kept, plan)
    assert [a.payload["list_id"] for a in plan.actions] == ["5"]
