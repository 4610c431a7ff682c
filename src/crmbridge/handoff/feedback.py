"""Sales feedback read from a CRM property becomes a ``sales_feedback`` event.

Reps record their verdict (contacted, not qualified + reason, bad timing, no budget,
...) in a CRM property; each new verdict is stored as an event, so it drives the stage
machine (not qualified → nurture), stops SLA clocks, and stays for the report. The
event id is built from the verdict and its reason: reading the contact again never
duplicates it.
"""

from __future__ import annotations

from collections.abc import Iterable

from crmbridge.handoff.lead import short_hash
from crmbridge.handoff.settings import SlaSettings
from crmbridge.records import CanonicalEvent, ContactRecord


def feedback_events(
    records: Iterable[ContactRecord], settings: SlaSettings, status_key: str
) -> list[CanonicalEvent]:
    """One event per record whose feedback property holds a verdict."""
    name = settings.feedback_property
    if not name:
        return []
    events = []
    for record in records:
        status = record.properties.get(name)
        if status in (None, "") or record.updated_at is None:
            continue
        reason_name = settings.feedback_reason_property
        reason = record.properties.get(reason_name) if reason_name else None
        properties = {status_key: str(status)}
        if reason not in (None, ""):
            properties["reason"] = str(reason)
        events.append(
            CanonicalEvent(
                event_id=f"{record.crm}:{record.id}:feedback:{short_hash(status, reason)}",
                type="sales_feedback",
                occurred_at=record.updated_at,
                contact={"crm": record.crm, "id": record.id},
                properties=properties,
            )
        )
    return events
