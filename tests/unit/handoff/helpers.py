"""Leads, scores and configurations for the hand-off step tests, built by hand.

A step only reads a :class:`~crmbridge.handoff.lead.Lead`, so the unit tests build one
directly: a score with the fields a rep sees, the CRM's properties, events, state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from crmbridge.config import CrmbridgeConfig, parse_config
from crmbridge.connector import Owner
from crmbridge.handoff.lead import Lead, OwnerPool, PreviousScore
from crmbridge.scoring.types import BantResult, Event, Score, StageDecision

#: A Tuesday, 10:00 in Madrid.
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
REASONS = ("+50 IT director at a company of more than 500 employees", "+30 Demo meeting booked")


def config(text: str) -> CrmbridgeConfig:
    """A configuration from TOML (everything else at its defaults)."""
    return parse_config(text, source="test").config


def score(*, total: int = 120, hot: bool = True, stage: str = "sql") -> Score:
    """A score as the engine would give it, with BANT "B A N -" and two reasons."""
    return Score(
        contact_id="1",
        total=total,
        fit=50,
        engagement=total - 50,
        inactivity=0,
        grade="A",
        hot=hot,
        bant=BantResult(budget=True, authority=True, need=True, timeline=False),
        stage=StageDecision(stage=stage, transition="test"),
        contributions=(),
        notes=(),
        reasons=REASONS,
        last_engagement_at=NOW,
        scored_at=NOW,
        model_version="test",
    )


def lead(
    crm_id: str = "101",
    *,
    hot: bool = True,
    stage: str = "sql",
    properties: Mapping[str, Any] | None = None,
    events: Sequence[Event] = (),
    state: dict[str, Any] | None = None,
    now: datetime = NOW,
) -> Lead:
    """A lead named Ana Pérez with the given score, properties, events and state."""
    return Lead(
        contact_id=int(crm_id) if crm_id.isdigit() else 1,
        crm="hubspot",
        crm_id=crm_id,
        email=f"lead{crm_id}@example.com",
        properties={"firstname": "Ana", "lastname": "Pérez", **(properties or {})},
        crm_values={},
        events=list(events),
        score=score(hot=hot, stage=stage),
        previous=PreviousScore(),
        now=now,
        state={} if state is None else state,
    )


def pool(*ids: str, inactive: Sequence[str] = ()) -> OwnerPool:
    """Owners as the CRM lists them (``inactive`` ones archived)."""
    return OwnerPool(
        tuple(Owner(i, f"owner{i}@example.com", f"Owner {i}", i not in inactive) for i in ids)
    )
