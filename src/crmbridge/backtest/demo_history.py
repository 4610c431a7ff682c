"""A generated history of leads with outcomes, for ``crmbridge backtest --demo``.

Deterministic for a seed and independent of the clock: leads are created over 26
weeks from a fixed Monday, each deal closes 2 to 10 weeks later. Each lead has a hidden
fit (its job title and company size) and a hidden interest that sets how much it
engages (pricing visits, downloads, webinars, nurture clicks, replies, a demo). The
chance of winning grows with both, with noise, so a model that rewards fit and
engagement shows a real lift, and one that does not shows none. Some won leads keep
engaging after the close (onboarding): those events must not count.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from crmbridge.backtest.outcomes import Outcome
from crmbridge.backtest.replay import Lead
from crmbridge.scoring.types import Contact, Event

START = datetime(2026, 1, 5, tzinfo=UTC)
LEADS = 5000
SEED = 17

_FITTING_TITLES = ("IT Director", "CIO", "Head of IT", "Director de Sistemas", "CTO")
_OTHER_TITLES = ("Marketing Manager", "Analyst", "Office Manager", "Student", "Consultant")
_SIZES = (20, 80, 250, 600, 1500, 5000)


def demo_leads(count: int = LEADS, seed: int = SEED) -> Iterator[Lead]:
    """``count`` leads with outcomes, the same for the same seed."""
    rng = random.Random(seed)
    for index in range(count):
        yield _lead(rng, index)


def _lead(rng: random.Random, index: int) -> Lead:
    created = START + timedelta(minutes=rng.randrange(26 * 7 * 24 * 60))
    closed = created + timedelta(days=rng.uniform(14, 70))
    fitting_title = rng.random() < 0.3
    size = rng.choice(_SIZES)
    fit = fitting_title and size > 500
    interest = rng.random()
    events = list(_engagement(rng, created, closed, interest))
    chance = 1 / (1 + math.exp(-(-3.0 + 1.6 * fit + 3.2 * interest + rng.gauss(0, 0.6))))
    won = rng.random() < chance
    if won and rng.random() < 0.6:
        events.extend(_onboarding(rng, closed))
    title = rng.choice(_FITTING_TITLES if fitting_title else _OTHER_TITLES)
    email = f"lead{index:05d}@demo{index % 97:02d}.example"
    contact = Contact(
        id=f"demo-{index:05d}",
        properties={"jobtitle": title, "numemployees": size},
        email=email,
        crm="demo",
    )
    # Generated as they were at the close: the demo's properties never change.
    return Lead(contact, events, Outcome(email, True, won, closed, crm="demo"), closed)


def _at(rng: random.Random, first: datetime, last: datetime) -> datetime:
    return first + (last - first) * rng.random()


def _engagement(
    rng: random.Random, created: datetime, closed: datetime, interest: float
) -> Iterator[Event]:
    kinds: tuple[tuple[str, dict[str, object], float], ...] = (
        ("page_view", {"url": "https://example.com/pricing"}, 4.0),
        ("page_view", {"url": "https://example.com/blog/news"}, 3.0),
        ("content_download", {"asset_type": "case_study"}, 2.0),
        ("webinar_attended", {"watched_percent": 95}, 1.0),
        ("email_click", {"url": "https://example.com/case-study/x", "campaign": "nurture-q1"}, 1.5),
        ("email_reply", {}, 1.0),
        ("meeting_booked", {}, 0.6),
    )
    for kind, properties, most in kinds:
        for _ in range(_count(rng, most * interest)):
            yield Event(kind, _at(rng, created, closed), properties)


def _count(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; the means here are small)."""
    limit = math.exp(-mean)
    count, product = 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _onboarding(rng: random.Random, closed: datetime) -> Iterator[Event]:
    after = closed + timedelta(days=30)
    yield Event("webinar_attended", _at(rng, closed, after), {"watched_percent": 100})
    yield Event("meeting_booked", _at(rng, closed, after), {})
    yield Event("page_view", _at(rng, closed, after), {"url": "https://example.com/pricing"})
