"""Pause on reply: a lead who answers a sales email is taken out of automation at once.

The first reply not yet handled (an ``email_reply`` event later than the last one
handled) sets ``crmbridge_sequence_paused``, pauses the lead's sequences where the
CRM's API can (an outbox ``pause`` action) and gives the owner a task to take over.
Where the CRM cannot pause through its API, the task says what the owner should check,
in the connector's words (``pause_note``: HubSpot ends the enrollment itself when a
contact replies; Salesforce without Sales Engagement pauses no cadence). Paused
leads are never enrolled by a trigger (see :mod:`crmbridge.handoff.triggers`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from crmbridge.clock import parse_instant
from crmbridge.connector import Action
from crmbridge.handoff.lead import HandoffPlan, Lead, day_key
from crmbridge.handoff.settings import ReplySettings
from crmbridge.i18n import N_
from crmbridge.scoring.text import normalize_text
from crmbridge.scoring.types import Event

REPLY = "email_reply"
#: Longest activity subject quoted in the reply task.
_SUBJECT_SHOWN = 120
#: The reply task's words where the CRM cannot pause and its connector says nothing.
NO_PAUSE_API = N_(
    "crmbridge cannot pause or unenroll sequences in this CRM: check that the lead's "
    "sequence ended."
)


def latest_reply(lead: Lead) -> Event | None:
    """The lead's latest reply, if it ever replied."""
    replies = [event for event in lead.events if event.type == REPLY]
    return max(replies, key=lambda event: event.occurred_at) if replies else None


def _reply_line(lead: Lead, latest: Event) -> str:
    """The task's first line: how the lead answered, in the words the rep expects.

    A reply the CRM knows only as an activity a rep logged (an inbound call, say) is
    not called an email: the rep would look for a message that does not exist.
    """
    t = lead.texts
    replied = latest.occurred_at
    if latest.properties.get("source") != "task":
        return t(
            N_("{name} replied to a sales email on {when}."), name=lead.name, when=t.moment(replied)
        )
    subject = str(latest.properties.get("subject") or "").strip()[:_SUBJECT_SHOWN]
    if not subject:
        return t(
            N_("{name} answered on {when} (an activity logged in the CRM)."),
            name=lead.name,
            when=t.moment(replied),
        )
    return t(
        N_('{name} answered on {when} (an activity logged in the CRM: "{subject}").'),
        name=lead.name,
        when=t.moment(replied),
        subject=subject,
    )


class ReplyStep:
    """Plans the pause, the property and the owner's task for a new reply."""

    def __init__(
        self,
        settings: ReplySettings,
        prefix: str,
        *,
        can_pause: bool,
        pause_note: str = NO_PAUSE_API,
        status_key: str = "status",
        nurture_statuses: Sequence[str] = (),
    ) -> None:
        self.settings = settings
        self.paused_property = f"{prefix}_sequence_paused"
        self.can_pause = can_pause
        self.pause_note = pause_note
        self.status_key = status_key
        self.nurture = {normalize_text(status) for status in nurture_statuses}

    def plan(self, lead: Lead, plan: HandoffPlan) -> None:
        """Handle a reply newer than the last one handled; resume a recycled lead."""
        if not self.settings.enabled:
            return
        latest = latest_reply(lead)
        if latest is None:
            return
        replied = latest.occurred_at
        handled = lead.state.get("reply_handled_at")
        # The same reply can arrive twice, seconds apart: from the email tool through
        # the event API and from the CRM's own "last replied" date.
        if handled and replied <= parse_instant(handled) + self.settings.same_reply_within:
            self._maybe_resume(lead, plan, parse_instant(handled))
            paused = bool(lead.state.get("paused"))
            plan.properties[self.paused_property] = "true" if paused else "false"
            return
        lead.state["reply_handled_at"] = replied.isoformat()
        lead.state["paused"] = True
        plan.properties[self.paused_property] = "true"
        stamp = day_key(replied)
        if self.can_pause:
            plan.actions.append(
                Action("pause", lead.crm_id, f"reply-pause:{lead.crm_id}:{stamp}", {})
            )
        owner = lead.owner_id()
        t = lead.texts
        body = [
            _reply_line(lead, latest),
            t(N_("crmbridge paused their sequences.") if self.can_pause else self.pause_note),
            "",
            lead.summary(),
        ]
        due = max(lead.now, replied) + self.settings.due_in
        plan.actions.append(
            Action(
                "task",
                lead.crm_id,
                f"reply-task:{lead.crm_id}:{stamp}",
                {
                    "subject": lead.fill(self.settings.task_subject),
                    "body": "\n".join(body),
                    "due_at": due.isoformat(),
                    "priority": "HIGH",
                    "owner_id": owner,
                },
            )
        )
        plan.notes.append(
            lead.texts(
                N_("replied {moment} → sequences paused, owner tasked"),
                moment=lead.texts.moment(replied),
            )
        )

    def _maybe_resume(self, lead: Lead, plan: HandoffPlan, handled: datetime) -> None:
        """Automation resumes once the lead is recycled after its reply.

        Recycled means sales sent it to nurture (a nurture verdict given after the
        reply) or it went quiet long enough for reactivation; a later reply pauses it
        again.
        """
        if not lead.state.get("paused"):
            return
        why = None
        if lead.score.stage.transition == "went_quiet":
            why = lead.texts(N_("no engagement since the reply: reactivation"))
        for event in lead.events:
            status = event.properties.get(self.status_key)
            if (
                event.type == "sales_feedback"
                and event.occurred_at > handled
                and status is not None
                and normalize_text(str(status)) in self.nurture
            ):
                why = lead.texts(N_("sales sent the lead to nurture ({status})"), status=status)
        if why is not None:
            lead.state["paused"] = False
            lead.state["resumed_at"] = lead.now.isoformat()
            plan.notes.append(lead.texts(N_("automation resumed: {why}"), why=why))
