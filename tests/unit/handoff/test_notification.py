"""Hot-lead notification on hand-built leads: one task and one post per hot episode."""

from __future__ import annotations

from datetime import timedelta

from crmbridge.handoff.lead import HandoffPlan
from crmbridge.handoff.notification import NotificationStep

from .helpers import NOW, REASONS, config, lead, pool

SLACK = "https://hooks.slack.example/services/T000/B000/secret"


def step(text: str = "", *, assignment: bool = False) -> NotificationStep:
    switch = str(assignment).lower()
    loaded = config(f"[notifications]\nenabled = true\n{text}\n[assignment]\nenabled = {switch}")
    return NotificationStep(loaded.notifications, loaded.assignment, pool("11"))


def test_a_new_hot_lead_gets_one_task_with_score_bant_and_reasons() -> None:
    notify = step(
        '[notifications.task]\nsubject = "Call {name} ({score})"\n'
        'due_in = "2h"\npriority = "MEDIUM"'
    )
    one = lead(properties={"hubspot_owner_id": "11"})
    plan = HandoffPlan()
    notify.plan(one, plan)
    (task,) = plan.actions
    assert task.kind == "task"
    assert task.key == "hot-task:101:20261124T090000Z"
    assert task.payload["subject"] == "Call Ana Pérez (120)"
    assert task.payload["due_at"] == (NOW + timedelta(hours=2)).isoformat()
    assert task.payload["priority"] == "MEDIUM"
    assert task.payload["owner_id"] == "11"
    assert "Score 120" in task.payload["body"] and "BANT B A N -" in task.payload["body"]
    assert all(reason in task.payload["body"] for reason in REASONS)
    assert one.state["hot_since"] == NOW.isoformat()
    assert plan.webhooks == []


def test_later_cycles_plan_nothing_and_a_new_episode_notifies_again() -> None:
    notify = step()
    one = lead(properties={"hubspot_owner_id": "11"})
    notify.plan(one, HandoffPlan())
    for hours in (1, 2, 3):
        again = lead(
            properties={"hubspot_owner_id": "11"}, state=one.state, now=NOW + timedelta(hours=hours)
        )
        plan = HandoffPlan()
        notify.plan(again, plan)
        assert plan.actions == []
    cooled = lead(hot=False, state=one.state, now=NOW + timedelta(days=1))
    notify.plan(cooled, HandoffPlan())
    assert "hot_since" not in cooled.state
    back = lead(
        properties={"hubspot_owner_id": "11"}, state=cooled.state, now=NOW + timedelta(days=2)
    )
    plan = HandoffPlan()
    notify.plan(back, plan)
    assert [a.key for a in plan.actions] == ["hot-task:101:20261126T090000Z"]


def test_webhooks_are_posted_when_their_urls_are_set() -> None:
    notify = step(f'slack_webhook_url = "{SLACK}"\nwebhook_url = "https://hooks.example/crm"')
    plan = HandoffPlan()
    notify.plan(lead(properties={"hubspot_owner_id": "11"}), plan)
    keys = [key for key, _ in plan.webhooks]
    assert keys == [
        "hot-notify:slack:101:20261124T090000Z",
        "hot-notify:webhook:101:20261124T090000Z",
    ]
    slack, generic = (payload for _, payload in plan.webhooks)
    assert (
        slack["channel"] == "slack" and "Owner 11" in slack["text"] and "Score 120" in slack["text"]
    )
    assert generic["channel"] == "webhook"
    assert generic["body"]["score"] == 120 and generic["body"]["owner_id"] == "11"
    assert SLACK not in repr(plan)


def test_waits_for_an_owner_when_assignment_is_on() -> None:
    notify = step(assignment=True)
    one = lead()
    plan = HandoffPlan()
    notify.plan(one, plan)
    assert plan.actions == [] and "no owner yet" in plan.notes[0]
    one.state["owner_id"] = "11"
    plan = HandoffPlan()
    notify.plan(one, plan)
    # The episode started when the lead became hot, not when the owner came.
    assert [a.key for a in plan.actions] == ["hot-task:101:20261124T090000Z"]


def test_a_damaged_hot_since_starts_the_episode_now() -> None:
    one = lead(properties={"hubspot_owner_id": "11"}, state={"hot_since": "yesterday-ish"})
    plan = HandoffPlan()
    step().plan(one, plan)
    assert [a.key for a in plan.actions] == ["hot-task:101:20261124T090000Z"]
