"""Assignment, notification and the SLA clock end to end, on the CRM features only
HubSpot has (its owner property set by hand, Slack posts); what both CRMs share is in
``test_handoff_both_crms.py``.

Every test runs the daemon's cycle (read → score → plan → outbox → write) with the real
HubSpot connector against the sandbox, over a SQLite store, and checks what HubSpot
holds afterwards: the owner field, the tasks associated with the contact, the posts a
Slack-compatible webhook received, and the assignment records.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from .crm_worlds import ASSIGN, HubSpotWorld, hubspot_world, real_now
from .slack_receiver import Receiver


@contextmanager
def world(folder: Path, handoff: str) -> Iterator[HubSpotWorld]:
    """The HubSpot world, configured with ``handoff`` and started."""
    with hubspot_world(folder) as made:
        made.configure(handoff)
        made.start()
        yield made


def test_the_territory_wins_and_an_existing_owner_is_kept(tmp_path: Path) -> None:
    territory = (
        ASSIGN
        + """
[[assignment.territories]]
name = "Iberia"
when = { country = "Spain" }
owners = ["{marta}"]
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
        assert w.tasks_of(owned)[0].owner == "13"
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
