"""The SLA clock: from hand-off to the owner's first contact, in business time.

When a lead enters a stage with a commitment in ``[sla.stages]`` (e.g. SQL within 4
business hours) and has an owner, a clock starts — once per stage entry. It stops at
the first sign of contact after its start:

- a ``sales_activity`` event: a call, email or meeting logged in the CRM (HubSpot's
  "Last contacted", ``notes_last_contacted``); an event naming another owner does not
  count;
- a ``sales_feedback`` event whose status is in ``contacted_feedback``.

At its due instant the lead is rescored (``recheck_at``); still no contact means a
breach, recorded on the clock and escalated once (see :mod:`crmbridge.handoff.escalation`).
A reassignment starts a new clock for the new owner.

Sales feedback (the latest status and its reason) is also kept in ``state["feedback"]``
for the report's recycle reasons; the stage machine already turns "not qualified" into
nurture.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from crmbridge.clock import parse_instant
from crmbridge.handoff.assignment import AssignmentStep
from crmbridge.handoff.business_hours import BusinessCalendar
from crmbridge.handoff.escalation import Breach, Escalator, describe_within
from crmbridge.handoff.lead import HandoffPlan, Lead, want_recheck
from crmbridge.handoff.settings import OwnerEntry, SlaSettings
from crmbridge.i18n import N_

ACTIVITY = "sales_activity"
FEEDBACK = "sales_feedback"
CLOCK = "sla_clock"
ENTRY = "sla_entry"


class SlaStep:
    """Starts, stops and breaches the time-to-contact clock of a lead."""

    def __init__(
        self,
        settings: SlaSettings,
        bridge_timezone: str,
        *,
        owners: Sequence[OwnerEntry] = (),
        assigner: AssignmentStep | None = None,
        status_key: str = "status",
        owner_property: str = "hubspot_owner_id",
    ) -> None:
        self.settings = settings
        self.calendar = BusinessCalendar.from_settings(settings, bridge_timezone)
        self.escalator = Escalator(settings.escalate, owners, assigner)
        self.status_key = status_key
        self.owner_property = owner_property
        self.contacted_statuses = {status.casefold() for status in settings.contacted_feedback}

    def plan(self, lead: Lead, plan: HandoffPlan) -> None:
        """Keep the feedback, then start, stop or breach the clock."""
        self.remember_feedback(lead)
        if not self.settings.enabled:
            return
        entered_at = self._entry(lead)
        clock = lead.state.get(CLOCK)
        if isinstance(clock, dict) and clock.get("entered_at") != entered_at:
            # The lead moved to another stage: that stage's commitment replaces this one.
            lead.state.pop(CLOCK)
            clock = None
        if not isinstance(clock, dict):
            clock = self.start(lead, plan, entered_at)
            if clock is None:
                return
        if clock.get("contacted_at") or clock.get("breached_at"):
            return
        try:
            started, due = parse_instant(clock["started_at"]), parse_instant(clock["due_at"])
        except (KeyError, TypeError, ValueError):
            lead.state.pop(CLOCK)  # a damaged clock is dropped, never a crash
            return
        contacted = self.first_contact(lead, started, str(clock.get("owner_id") or ""))
        if contacted is not None:
            clock["contacted_at"] = contacted.isoformat()
            plan.contacted_at = contacted
            plan.notes.append(
                lead.texts(
                    N_("SLA {stage}: contacted {moment}"),
                    stage=clock["stage"],
                    moment=lead.texts.moment(contacted),
                )
            )
        elif lead.now >= due:
            self.breach(lead, plan, clock, started, due)
        else:
            want_recheck(lead.state, due)

    def _entry(self, lead: Lead) -> str:
        """When the lead entered its current stage (as first seen by this step)."""
        stage = lead.score.stage.stage
        entry = lead.state.get(ENTRY)
        if not isinstance(entry, dict) or entry.get("stage") != stage:
            entry = {"stage": stage, "at": lead.now.isoformat()}
            lead.state[ENTRY] = entry
        return str(entry.get("at"))

    def start(self, lead: Lead, plan: HandoffPlan, entered_at: str) -> dict[str, Any] | None:
        """Start the clock of the lead's stage, if it has a commitment and an owner."""
        stage = lead.score.stage.stage
        commitment = self.settings.stages.get(stage)
        owner = lead.owner_id(self.owner_property)
        if commitment is None:
            return None
        if owner is None:
            plan.notes.append(lead.texts(N_("SLA {stage}: waits for an owner"), stage=stage))
            return None
        due = self.calendar.add_business_time(lead.now, commitment.within)
        clock = {
            "stage": stage,
            "owner_id": owner,
            "started_at": lead.now.isoformat(),
            "due_at": due.isoformat(),
            "entered_at": entered_at,
        }
        lead.state[CLOCK] = clock
        plan.clocks_started.append(
            {"stage": stage, "owner_id": owner, "started_at": lead.now, "due_at": due}
        )
        plan.notes.append(
            lead.texts(
                N_("SLA {stage}: contact within {within}, by {moment}"),
                stage=stage,
                within=describe_within(commitment.within, lead.texts),
                moment=lead.texts.moment(due),
            )
        )
        return clock

    def first_contact(self, lead: Lead, started: datetime, owner_id: str) -> datetime | None:
        """The first contact by the owner at or after ``started`` (not in the future)."""
        found: list[datetime] = []
        for event in lead.events:
            if not started <= event.occurred_at <= lead.now:
                continue
            if event.type == ACTIVITY:
                by = event.properties.get("owner_id")
                if by in (None, "") or str(by) == owner_id:
                    found.append(event.occurred_at)
            elif event.type == FEEDBACK:
                status = str(event.properties.get(self.status_key) or "").casefold()
                if status in self.contacted_statuses:
                    found.append(event.occurred_at)
        return min(found) if found else None

    def breach(
        self, lead: Lead, plan: HandoffPlan, clock: dict[str, Any], started: datetime, due: datetime
    ) -> None:
        """Record the breach, escalate it, and restart the clock for a new owner."""
        stage = str(clock["stage"])
        commitment = self.settings.stages.get(stage)
        within = commitment.within if commitment is not None else due - started
        breach = Breach(stage, str(clock.get("owner_id") or ""), started, due, within)
        outcome = self.escalator.escalate(lead, plan, breach)
        clock["breached_at"] = lead.now.isoformat()
        lead.state["sla_breaches"] = int(lead.state.get("sla_breaches") or 0) + 1
        plan.clocks_breached.append(
            {
                "stage": stage,
                "started_at": started,
                "breached_at": lead.now,
                "escalated_at": lead.now if outcome.escalated else None,
            }
        )
        plan.notes.append(
            lead.texts(
                N_("SLA {stage}: breached (due {moment})"),
                stage=stage,
                moment=lead.texts.moment(due),
            )
        )
        if outcome.new_owner is not None:
            lead.state.pop(CLOCK)
            self.start(lead, plan, str(clock.get("entered_at")))

    def remember_feedback(self, lead: Lead) -> None:
        """Keep the latest sales feedback (status, reason) for the report."""
        latest = None
        for event in lead.events:
            if event.type != FEEDBACK or event.occurred_at > lead.now:
                continue
            if latest is None or event.occurred_at >= latest.occurred_at:
                latest = event
        if latest is None:
            return
        reason = latest.properties.get("reason")
        lead.state["feedback"] = {
            "status": str(latest.properties.get(self.status_key) or ""),
            "reason": None if reason in (None, "") else str(reason),
            "at": latest.occurred_at.isoformat(),
        }
