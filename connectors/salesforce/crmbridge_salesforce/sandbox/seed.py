"""The demo org: about 200 synthetic leads with owners, emails and a sales cadence, and
their website and email history as canonical events (:func:`demo_events`).

Deterministic for a given ``rng_seed``. A few leads are converted (their contact and
account exist), some have replied by email (an incoming ``EmailMessage`` related to the
lead through ``EmailMessageRelation``), some are enrolled in the "Inbound follow-up"
sales cadence, and SystemModstamps spread over the last 30 days (several share one
instant, as records written by one transaction do).
"""

from __future__ import annotations

import random
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

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


#: Titles of the leads who decide a purchase (the keen ones when their company is large).
DECISION_MAKERS = ("CEO", "CTO", "Director of IT")

#: The site of the synthetic company whose pages the demo leads visit.
SITE = "https://acme.example"
_PAGES = ("/pricing", "/product", "/integrations", "/demo", "/blog/lead-scoring-101",
          "/customers/globex", "/docs/getting-started")  # fmt: skip
_CAMPAIGNS = ("November newsletter", "Product launch", "Webinar invite")
_PERSONAS = (("hot", 0.15, (14, 26)), ("warm", 0.35, (6, 14)), ("cold", 0.35, (1, 5)),
             ("dormant", 0.15, (3, 8)))  # fmt: skip
#: Days of history the demo events cover.
DAYS = 120


def demo_events(
    emails: list[str],
    *,
    rng_seed: int = 7,
    now: datetime | None = None,
    keen: Collection[str] = (),
) -> list[dict[str, Any]]:
    """Website and email events of the demo leads over the last :data:`DAYS` days, as
    canonical events (sorted, with stable ids).

    The leads of ``keen`` (e.g. decision makers at large companies) are as engaged as
    the hot persona: buyers who fit are the ones who research, as in a real funnel.
    """
    rng = random.Random(rng_seed * 31 + 1)
    end = (now or now_ms()).replace(microsecond=0)
    events: list[dict[str, Any]] = []
    for email in emails:
        pick = rng.random()
        persona, counts = _PERSONAS[-1][0], _PERSONAS[-1][2]
        for name, share, span in _PERSONAS:
            if pick < share:
                persona, counts = name, span
                break
            pick -= share
        if email in keen:
            persona, counts = _PERSONAS[0][0], _PERSONAS[0][2]
        first = end - timedelta(days=45 if persona == "hot" else DAYS)
        last = end - timedelta(days=95) if persona == "dormant" else end - timedelta(hours=2)
        seconds = max(1.0, (last - first).total_seconds())
        for _ in range(rng.randint(*counts)):
            moment = first + timedelta(seconds=int(rng.uniform(0, seconds)))
            events.append(_event(rng, email, moment, persona))
    events.sort(key=lambda e: (e["occurred_at"], e["contact"]["email"], e["type"]))
    for number, event in enumerate(events, start=1):
        event["event_id"] = f"sf-demo-{rng_seed}-{number:05d}"
    return events


def _event(rng: random.Random, email: str, moment: datetime, persona: str) -> dict[str, Any]:
    kind = rng.choice(("page_view", "page_view", "page_view", "email_open", "email_click",
                       "content_download", "webinar_attended", "form_submit"))  # fmt: skip
    if kind == "page_view":
        props: dict[str, Any] = {"url": SITE + rng.choice(_PAGES)}
    elif kind in ("email_open", "email_click"):
        props = {"campaign": rng.choice(_CAMPAIGNS)}
        if kind == "email_click":
            props["url"] = SITE + rng.choice(_PAGES)
    elif kind == "content_download":
        props = {"asset_type": "ebook", "asset": "The lead scoring playbook"}
    elif kind == "webinar_attended":
        low = 70 if persona == "hot" else 10
        props = {"webinar": "Scoring in practice", "watched_percent": rng.randint(low, 100)}
    else:
        props = {"form": "contact-sales", "page": f"{SITE}/contact-sales"}
    return {
        "type": kind,
        "occurred_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "contact": {"email": email},
        "properties": props,
    }


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
            reply(state, lead_id, stamp + timedelta(hours=1))
        if rng.random() < 0.3:
            state.insert(
                "ActionCadenceTracker",
                {"ActionCadenceId": cadence, "TargetId": lead_id, "State": "Running",
                 "OwnerId": users.rep},
            )  # fmt: skip


def reply(state: OrgState, lead_id: str, when: datetime) -> None:
    """The lead (or contact) answers a sales email: an incoming message related to it."""
    found = state.find(lead_id)
    assert found is not None
    lead = found[1]
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
