"""Real-time notification: the owner of a lead that just became hot is told at once.

A lead becomes hot when its score crosses the hot threshold; ``hot_since`` (in the
lead's state) records when, and is cleared when it cools down, so a lead that comes
back is a new hot episode. For each episode crmbridge plans, once:

- a CRM task for the owner (subject from ``[notifications.task]``, due ``due_in``
  from now, the priority, and the score, BANT and top reasons as its body), key
  ``hot-task:<crm id>:<hot since>``;
- a post to the Slack-compatible incoming webhook and/or the generic webhook, when
  their URLs are set, keys ``hot-notify:slack:…`` / ``hot-notify:webhook:…``.

The keys are deterministic, so the outbox refuses a second copy whatever happens. When
assignment is on and the lead has no owner yet (nobody available), the notification
waits for one.
"""

from __future__ import annotations

from typing import Any

from crmbridge.clock import parse_instant
from crmbridge.connector import Action
from crmbridge.handoff.lead import HandoffPlan, Lead, OwnerPool, day_key
from crmbridge.handoff.settings import AssignmentSettings, NotificationSettings
from crmbridge.i18n import ENGLISH, N_, Texts

HOT_SINCE = "hot_since"
NOTIFIED = "hot_notified"


class NotificationStep:
    """Plans the hot-lead task and webhook posts for the owner."""

    def __init__(
        self,
        settings: NotificationSettings,
        assignment: AssignmentSettings,
        owners: OwnerPool | None = None,
    ) -> None:
        self.settings = settings
        self.assignment = assignment
        self.owners = owners or OwnerPool()

    def plan(self, lead: Lead, plan: HandoffPlan) -> None:
        """Track the hot episode and notify its owner once."""
        if not lead.score.hot:
            lead.state.pop(HOT_SINCE, None)
            return
        since_text = lead.state.setdefault(HOT_SINCE, lead.now.isoformat())
        if not self.settings.enabled or lead.state.get(NOTIFIED) == since_text:
            return
        owner = lead.owner_id(self.assignment.owner_property)
        if owner is None and self.assignment.enabled:
            plan.notes.append(lead.texts(N_("hot, but no owner yet: notification waits for one")))
            return
        try:
            since = parse_instant(str(since_text))
        except ValueError:
            # A state written by hand or damaged: the episode starts again now.
            since = lead.now
            lead.state[HOT_SINCE] = since_text = lead.now.isoformat()
        lead.state[NOTIFIED] = since_text
        stamp = day_key(since)
        plan.actions.append(self.task(lead, owner, f"hot-task:{lead.crm_id}:{stamp}"))
        for channel, url in (
            ("slack", self.settings.slack_webhook_url),
            ("webhook", self.settings.webhook_url),
        ):
            if url is not None:
                key = f"hot-notify:{channel}:{lead.crm_id}:{stamp}"
                plan.webhooks.append((key, self.payload(channel, lead, owner, since)))
        plan.notes.append(
            lead.texts(N_("hot since {moment} → owner notified"), moment=lead.texts.moment(since))
        )

    def task(self, lead: Lead, owner: str | None, key: str) -> Action:
        """The owner's task: what to do, by when, and why the lead is hot."""
        template = self.settings.task
        return Action(
            "task",
            lead.crm_id,
            key,
            {
                "subject": lead.fill(template.subject),
                "body": lead.summary(),
                "due_at": (lead.now + template.due_in).isoformat(),
                "priority": template.priority,
                "owner_id": owner,
            },
        )

    def payload(self, channel: str, lead: Lead, owner: str | None, since: Any) -> dict[str, Any]:
        """The post for ``channel``: a Slack text, or a JSON body for a generic webhook."""
        if channel == "slack":
            t = lead.texts
            lines = [
                t(N_("Hot lead: {name}"), name=lead.name)
                + (f" <{lead.email}>" if lead.email else ""),
                t(N_("Owner: {owner}"), owner=self.owner_name(owner, t)),
                lead.summary(),
            ]
            return {"channel": "slack", "text": "\n".join(lines)}
        score = lead.score
        return {
            "channel": "webhook",
            "body": {
                "event": "lead.hot",
                "crm": lead.crm,
                "crm_id": lead.crm_id,
                "email": lead.email,
                "name": lead.name,
                "owner_id": owner,
                "hot_since": since.isoformat(),
                "score": score.total,
                "grade": score.grade,
                "stage": score.stage.stage,
                "bant": score.bant.letters,
                "reasons": list(score.reasons),
            },
        }

    def owner_name(self, owner_id: str | None, t: Texts = ENGLISH) -> str:
        """The owner as a person reads it in Slack."""
        if owner_id is None:
            return t(N_("nobody yet"))
        owner = self.owners.get(owner_id)
        return (owner.name or owner.email or owner_id) if owner is not None else owner_id
