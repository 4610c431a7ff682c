"""Assignment, notification and the SLA clock end to end: pipeline → HubSpot sandbox.

Every test runs the daemon's cycle (read → score → plan → outbox → write) with the real
HubSpot connector against the sandbox, over a SQLite store, and checks what HubSpot
holds afterwards: the owner field, the tasks associated with the contact, the posts a
Slack-compatible webhook received, and the assignment and SLA records.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

from crmbridge.clock import parse_instant
from crmbridge_hubspot.sandbox.timeutil import iso_ms

from .sandbox_world import USER, Receiver, real_now, world

ASSIGN = """
[assignment]
enabled = true
owners = [{ id = "11", manager = "90" }, { id = "12", available = false }, { id = "13" }]

[notifications]
enabled = true

[notifications.task]
subject = "Hot lead: {name} (score {score})"
due_in = "4h"
priority = "HIGH"
"""


def test_a_hot_lead_gets_an_owner_and_exactly_one_task(tmp_path: Path) -> None:
    with world(tmp_path, ASSIGN) as w:
        hot = w.lead("Hortensia")
        cold = w.lead("Claudio", cio=False)
        now = real_now()
        actions = [w.cycle(now + timedelta(minutes=m)).actions for m in (0, 5, 10, 15)]
        assert actions == [1, 0, 0, 0]  # the task, in the first cycle only
        assert w.owner_of(hot) == "11"
        assert w.owner_of(cold) is None and w.tasks_of(cold) == []
        (task,) = w.tasks_of(hot)
        props = task.properties
        assert props["hs_task_subject"] == "Hot lead: Hortensia Test (score 50)"
        assert props["hs_task_priority"] == "HIGH"
        assert props["hubspot_owner_id"] == "11"
        assert parse_instant(props["hs_timestamp"]) == now + timedelta(hours=4)
        body = props["hs_task_body"]
        assert "Score 50" in body and "BANT - - - -" in body
        assert "+50 CIO of the company" in body
        assert [(a.owner_id, a.strategy) for a in w.assignments()] == [("11", "round_robin")]


def test_round_robin_spreads_ten_hot_leads_over_two_available_owners(tmp_path: Path) -> None:
    with world(tmp_path, ASSIGN) as w:
        now = real_now()
        first = [w.lead(f"First{i}") for i in range(5)]
        w.cycle(now)
        second = [w.lead(f"Second{i}") for i in range(5)]
        # A restarted daemon: a new pipeline, the rotation comes back from the store.
        w.cycle(now + timedelta(minutes=5), w.new_pipeline())
        owners = Counter(w.owner_of(crm_id) for crm_id in first + second)
        assert owners == {"11": 5, "13": 5}
        assert all(len(w.tasks_of(crm_id)) == 1 for crm_id in first + second)


def test_the_territory_wins_and_an_existing_owner_is_kept(tmp_path: Path) -> None:
    territory = (
        ASSIGN
        + """
[[assignment.territories]]
name = "Iberia"
when = { country = "Spain" }
owners = ["90"]
"""
    )
    with world(tmp_path, territory) as w:
        spanish = w.lead("Sofia", country="Spain")
        owned = w.lead("Olga", hubspot_owner_id="13")
        other = w.lead("Pierre", country="France")
        now = real_now()
        w.cycle(now)
        w.cycle(now + timedelta(minutes=5))
        assert (w.owner_of(spanish), w.owner_of(owned), w.owner_of(other)) == ("90", "13", "11")
        assert w.tasks_of(owned)[0].properties["hubspot_owner_id"] == "13"
        strategies = sorted(a.strategy for a in w.assignments())
        assert strategies == ["round_robin", "round_robin:Iberia"]


def test_the_slack_webhook_gets_one_post_per_hot_lead(tmp_path: Path) -> None:
    with Receiver() as slack:
        handoff = ASSIGN.replace(
            "[notifications]\nenabled = true",
            f'[notifications]\nenabled = true\nslack_webhook_url = "{slack.url}"',
        )
        with world(tmp_path, handoff) as w:
            leads = [w.lead(name) for name in ("Uma", "Victor", "Wanda")]
            w.lead("Xavier", cio=False)
            now = real_now()
            for minutes in (0, 5, 10):
                w.cycle(now + timedelta(minutes=minutes))
            assert len(slack.posts) == 3
            texts = sorted(body["text"] for _, body, _ in slack.posts)
            for name, text in zip(("Uma", "Victor", "Wanda"), texts, strict=True):
                assert text.startswith(f"Hot lead: {name} Test")
                assert "Score 50" in text
            keys = [str(headers.get("Idempotency-Key")) for _, _, headers in slack.posts]
            assert sorted(key.split(":")[2] for key in keys) == sorted(leads)
            assert all(key.startswith("hot-notify:slack:") for key in keys)
            assert all(len(w.tasks_of(crm_id)) == 1 for crm_id in leads)


SLA = (
    ASSIGN
    + """
[sla]
enabled = true

[sla.stages]
mql = { within = "4h" }
"""
)


def test_an_sla_breach_makes_one_task_for_the_manager(tmp_path: Path) -> None:
    with world(tmp_path, SLA) as w:
        lead = w.lead("Benito")
        now = real_now()
        w.cycle(now)
        (clock,) = w.clocks()
        assert (clock.stage, clock.owner_id, clock.breached_at) == ("mql", "11", None)
        late = now + timedelta(days=10)
        for hours in (0, 1, 2):
            w.cycle(late + timedelta(hours=hours))
        breach = [t for t in w.tasks_of(lead) if t.properties["hs_task_subject"].startswith("SLA")]
        assert len(breach) == 1
        assert breach[0].properties["hubspot_owner_id"] == "90"
        (clock,) = w.clocks()
        assert clock.breached_at == late and clock.escalated_at == late
        assert clock.contacted_at is None


def test_a_logged_contact_stops_the_clock(tmp_path: Path) -> None:
    with world(tmp_path, SLA) as w:
        lead = w.lead("Carmen")
        now = real_now()
        w.cycle(now)
        called = now + timedelta(minutes=30)
        w.state.update_contacts(
            [(lead, {"notes_last_contacted": iso_ms(called)})], source=USER, as_user=True
        )
        w.cycle(now + timedelta(hours=1))
        for days in (10, 11):
            w.cycle(now + timedelta(days=days))
        (clock,) = w.clocks()
        assert clock.contacted_at == called and clock.breached_at is None
        assert [t.properties["hs_task_subject"] for t in w.tasks_of(lead)] == [
            "Hot lead: Carmen Test (score 50)"
        ]
