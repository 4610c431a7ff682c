"""The demo org: about 200 synthetic leads with owners, tasks, emails and a sales cadence.

Deterministic for a given ``rng_seed``. A few leads are converted (their contact and
account exist), some have replied by email (an incoming ``EmailMessage`` related to the
lead through ``EmailMessageRelation``), some are enrolled in the "Inbound follow-up"
sales cadence, and SystemModstamps spread over the last 30 days (several share one
instant, as records written by one transaction do).
"""

from __future__ import annotations

import random
from datetime import timedelta

from crmbridge_salesforce.sandbox.state import OrgState, now_ms

SEEDS = ("demo", "empty")
_FIRST = ("Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Dennis", "Barbara",
          "Ken", "Frances", "Edsger", "Radia", "Tim", "Hedy", "John", "Sophie")  # fmt: skip
_LAST = ("Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Ritchie",
         "Liskov", "Thompson", "Allen", "Dijkstra", "Perlman", "Berners", "Lamarr")  # fmt: skip
_COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka",
              "Tyrell", "Soylent", "Cyberdyne", "Aperture")  # fmt: skip
_TITLES = ("CEO", "CTO", "VP Engineering", "Head of Sales", "Marketing Manager",
           "Software Engineer", "Procurement Lead", "Student", "Director of IT")  # fmt: skip
_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
_INDUSTRIES = ("Technology", "Finance", "Healthcare", "Manufacturing", "Education", None)
_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Not Converted")


def seed_demo(state: OrgState, *, leads: int = 200, rng_seed: int = 7) -> None:
    """Fill ``state`` with the demo org."""
    rng = random.Random(rng_seed)
    users = state.users
    now = now_ms()
    cadence = state.insert("ActionCadence", {"Name": "Inbound follow-up", "State": "Active"})
    for n in range(leads):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        company = f"{rng.choice(_COMPANIES)} {rng.choice(('Inc', 'GmbH', 'Ltd', 'Labs'))}"
        # Leads written together share one SystemModstamp (ties the reader must handle).
        stamp = now - timedelta(minutes=rng.randrange(30 * 24 * 60) // 5 * 5)
        lead_id = state.insert(
            "Lead",
            {
                "FirstName": first,
                "LastName": last,
                "Company": company,
                "Email": f"{first}.{last}.{n}@{company.split()[0].lower()}.example".lower(),
                "Title": rng.choice(_TITLES),
                "Status": rng.choice(_STATUSES),
                "LeadSource": rng.choice(_SOURCES),
                "Industry": rng.choice(_INDUSTRIES),
                "NumberOfEmployees": rng.choice((5, 20, 80, 250, 1200, 8000)),
                "OwnerId": rng.choice((users.rep, users.assignment_owner)),
            },
            modstamp=stamp,
        )
        roll = rng.random()
        if roll < 0.05:
            state.convert_lead(lead_id)
        elif roll < 0.25:
            _reply(state, lead_id, stamp + timedelta(hours=1))
        if rng.random() < 0.3:
            state.insert(
                "ActionCadenceTracker",
                {"ActionCadenceId": cadence, "TargetId": lead_id, "State": "Running",
                 "OwnerId": users.rep},
            )  # fmt: skip


def _reply(state: OrgState, lead_id: str, when: object) -> None:
    lead = state.records["Lead"][lead_id]
    message = state.insert(
        "EmailMessage",
        {"Subject": "Re: Following up", "TextBody": "Sounds interesting, let's talk.",
         "FromAddress": lead["Email"], "ToAddress": "riley.rep@sandbox.example",
         "Incoming": True, "MessageDate": when, "Status": "0"},
    )  # fmt: skip
    state.insert(
        "EmailMessageRelation",
        {"EmailMessageId": message, "RelationId": lead_id, "RelationType": "FromAddress",
         "RelationAddress": lead["Email"]},
    )  # fmt: skip
