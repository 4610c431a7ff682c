"""Replaying the model as of each deal: the score a lead had just before its deal closed.

The cut-off is the deal's close instant: only events that occurred **strictly before**
it count, and the lead is scored with ``now`` at that instant, so windows, decay and
inactivity are those of that day. An event at or after the close (an onboarding
webinar, a renewal call) could only be known afterwards and is ignored: counting it
would credit the model with what the outcome itself caused.

Properties follow the same cut-off where the store's property history reaches back to
the close (:mod:`crmbridge.backtest.as_of`): fit rules read the values the lead had
then. Where it does not (a lead stored before history was recorded, whose values
changed since), they read the oldest values held; :attr:`Replayed.current_properties`
says so per lead and the report counts those leads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from crmbridge.backtest.outcomes import Outcome
from crmbridge.scoring.engine import ScoringEngine
from crmbridge.scoring.types import Contact, Event


@dataclass(frozen=True, slots=True)
class Lead:
    """A lead with its outcome: the contact, its events (any time) and how its deal ended.

    ``properties_as_of`` is the instant the contact's properties describe when they are
    known to be the values at the close (``None``: not known, the oldest values held).
    """

    contact: Contact
    events: Sequence[Event]
    outcome: Outcome
    properties_as_of: datetime | None = None


@dataclass(frozen=True, slots=True)
class Replayed:
    """One lead's score as of its deal's close, and what was left out."""

    lead: str
    won: bool
    closed_at: datetime
    total: int
    fit: int
    engagement: int
    events_used: int
    events_after_close: int
    current_properties: bool


def before_close(events: Iterable[Event], closed_at: datetime) -> tuple[list[Event], int]:
    """The events strictly before ``closed_at`` and how many were left out."""
    kept: list[Event] = []
    left = 0
    for event in events:
        if event.occurred_at < closed_at:
            kept.append(event)
        else:
            left += 1
    return kept, left


def replay(engine: ScoringEngine, leads: Iterable[Lead]) -> list[Replayed]:
    """Score every lead as of its outcome's close instant (see the module's cut-off)."""
    scored: list[Replayed] = []
    for lead in leads:
        closed_at = lead.outcome.closed_at
        events, left = before_close(lead.events, closed_at)
        score = engine.score(lead.contact, events, closed_at)
        scored.append(
            Replayed(
                lead=lead.contact.email or lead.contact.id,
                won=lead.outcome.won,
                closed_at=closed_at,
                total=score.total,
                fit=score.fit,
                engagement=score.engagement,
                events_used=len(events),
                events_after_close=left,
                current_properties=lead.properties_as_of is None,
            )
        )
    return scored
