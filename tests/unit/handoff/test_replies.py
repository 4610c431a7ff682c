"""Pause on reply, as a step: one task per reply (the same reply seen twice is one),
and automation resumes once sales recycle the lead or it goes quiet."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from crmbridge.handoff.lead import HandoffPlan
from crmbridge.handoff.replies import ReplyStep
from crmbridge.scoring.types import Event, StageDecision

from .helpers import NOW, config, lead

PAUSED = "crmbridge_sequence_paused"


def step() -> ReplyStep:
    cfg = config("")
    return ReplyStep(
        cfg.replies,
        "crmbridge",
        can_pause=False,
        status_key=cfg.lifecycle.feedback_property,
        nurture_statuses=cfg.lifecycle.nurture_feedback,
    )


def reply(at: datetime) -> Event:
    return Event("email_reply", at, {"source": "sales_email"})


def feedback(at: datetime, status: str) -> Event:
    return Event("sales_feedback", at, {"status": status})


def run(state: dict[str, Any], events: list[Event], now: datetime, **score: Any) -> HandoffPlan:
    one = lead(properties={"hubspot_owner_id": "11"}, events=events, state=state, now=now)
    if score:
        one.score = replace(one.score, **score)
    plan = HandoffPlan()
    step().plan(one, plan)
    return plan


def tasks(plan: HandoffPlan) -> list[str]:
    return [a.key for a in plan.actions if a.kind == "task"]


def test_a_reply_pauses_and_tasks_the_owner_once() -> None:
    state: dict[str, Any] = {}
    first = run(state, [reply(NOW)], NOW)
    again = run(state, [reply(NOW)], NOW + timedelta(minutes=5))

    assert first.properties[PAUSED] == "true" and state["paused"] is True
    (task,) = [a for a in first.actions if a.kind == "task"]
    assert task.payload["owner_id"] == "11"
    assert "cannot pause" in task.payload["body"]
    assert tasks(again) == [] and again.properties[PAUSED] == "true"


def test_the_same_reply_seen_twice_seconds_apart_is_one_task() -> None:
    state: dict[str, Any] = {}
    run(state, [reply(NOW)], NOW)
    # The CRM's own "last replied" date, 40 s after the email tool's event.
    echo = run(state, [reply(NOW), reply(NOW + timedelta(seconds=40))], NOW + timedelta(minutes=1))
    later = run(state, [reply(NOW), reply(NOW + timedelta(days=2))], NOW + timedelta(days=2))

    assert tasks(echo) == []
    assert len(tasks(later)) == 1


def test_a_nurture_verdict_after_the_reply_resumes_automation() -> None:
    state: dict[str, Any] = {}
    run(state, [reply(NOW)], NOW)
    contacted = [reply(NOW), feedback(NOW + timedelta(hours=2), "contacted")]
    still = run(state, contacted, NOW + timedelta(hours=3))
    recycled = [*contacted, feedback(NOW + timedelta(days=1), "not_qualified")]
    resumed = run(state, recycled, NOW + timedelta(days=1))

    assert still.properties[PAUSED] == "true"
    assert resumed.properties[PAUSED] == "false" and state["paused"] is False
    assert any("nurture (not_qualified)" in note for note in resumed.notes)
    # A new reply later pauses it again, with a new task.
    paused_again = run(state, [*recycled, reply(NOW + timedelta(days=9))], NOW + timedelta(days=9))
    assert paused_again.properties[PAUSED] == "true" and len(tasks(paused_again)) == 1


def test_a_verdict_from_before_the_reply_does_not_resume() -> None:
    state: dict[str, Any] = {}
    events = [feedback(NOW - timedelta(days=1), "bad_timing"), reply(NOW)]
    run(state, events, NOW)
    plan = run(state, events, NOW + timedelta(days=1))
    assert plan.properties[PAUSED] == "true"


def test_going_quiet_after_the_reply_resumes_for_reactivation() -> None:
    state: dict[str, Any] = {}
    run(state, [reply(NOW)], NOW)
    quiet = StageDecision("reactivation", "went_quiet")
    plan = run(state, [reply(NOW)], NOW + timedelta(days=91), stage=quiet)
    assert plan.properties[PAUSED] == "false" and state["paused"] is False
