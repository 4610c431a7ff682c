"""The hand-off a lead would get, for ``crmbridge explain`` (no store, no CRM)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from crmbridge.config import CrmbridgeConfig
from crmbridge.handoff.lead import HandoffPlan, Lead, PreviousScore
from crmbridge.handoff.planner import HandoffPlanner
from crmbridge.records import ContactRecord
from crmbridge.scoring.types import Event, Score


def preview(
    config: CrmbridgeConfig,
    contact: ContactRecord,
    events: Sequence[Event],
    score: Score,
    now: datetime,
    previous_stage: str | None,
) -> HandoffPlan:
    """What the hand-off steps plan for this lead seen for the first time.

    No owner pool is read (assignment notes that it would wait for the CRM's owners),
    and the lead has no hand-off history: this is what its first cycle would do.
    """
    planner = HandoffPlanner(config)
    lead = Lead(
        contact_id=0,
        crm=contact.crm,
        crm_id=contact.id,
        email=contact.email,
        properties=contact.properties,
        crm_values={},
        events=events,
        score=score,
        previous=PreviousScore(stage=previous_stage),
        now=now,
        state={},
    )
    return planner.plan(lead)


def as_dict(plan: HandoffPlan) -> dict[str, Any]:
    """JSON-ready form for ``explain --json``."""
    return {
        "properties": dict(plan.properties),
        "actions": [
            {"kind": action.kind, "key": action.key, "what": action.describe()}
            for action in plan.actions
        ],
        "notifications": [payload.get("channel") for _key, payload in plan.webhooks],
        "notes": list(plan.notes),
    }
