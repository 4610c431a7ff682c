"""Sales feedback read from a CRM property becomes a ``sales_feedback`` event.

Reps record their verdict (contacted, not qualified + reason, bad timing, no budget,
...) in a CRM property; each new verdict is stored as an event, so it drives the stage
machine (not qualified → nurture), stops SLA clocks, and stays for the report. The
event id is built from the verdict and its reason: reading the contact again never
duplicates it.

The property may be the CRM's own (Salesforce's Lead ``Status``): ``feedback_values``
then says which of its values are verdicts (``"Unqualified"`` → ``not_qualified``), and
any other value is none. crmbridge only reads that property, never writes it.
"""

from __future__ import annotations

from collections.abc import Iterable

from crmbridge.errors import ConfigProblem
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
    verdicts = {value.strip().casefold(): v for value, v in settings.feedback_values.items()}
    events = []
    for record in records:
        status = record.properties.get(name)
        if status in (None, "") or record.updated_at is None:
            continue
        if verdicts:
            status = verdicts.get(str(status).strip().casefold())
            if status is None:
                continue  # a value of the CRM's that is no verdict (e.g. "Open")
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


def feedback_problems(settings: SlaSettings, owner_property: str) -> list[ConfigProblem]:
    """The property feedback is read from must not be one crmbridge writes."""
    name = settings.feedback_property
    if name and name.casefold() == owner_property.casefold():
        return [
            ConfigProblem(
                "sla.feedback_property",
                f'"{name}" is the owner field crmbridge writes (assignment.owner_property)',
                "read feedback from a field only sales write, such as the lead status",
            )
        ]
    return []
