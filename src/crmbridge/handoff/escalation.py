"""What a breached SLA does: tell the owner's manager, and/or give the lead to someone else.

``[sla.escalate]`` chooses. The manager is the ``manager`` of the owner's entry in
``[assignment] owners``; the task for them has the key
``sla-breach:<crm id>:<stage>:<clock start>``, so one breach makes one task. A
reassignment goes to the pool's next available owner (see
:meth:`crmbridge.handoff.assignment.AssignmentStep.reassign`), who gets a task too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from crmbridge.connector import Action
from crmbridge.handoff.assignment import AssignmentStep
from crmbridge.handoff.lead import HandoffPlan, Lead, day_key
from crmbridge.handoff.settings import Escalation, OwnerEntry
from crmbridge.i18n import ENGLISH, N_, Texts


def describe_within(within: timedelta, t: Texts = ENGLISH) -> str:
    """``2 business days``, ``4 business hours``, ``1 business day 4 business hours``."""
    parts = []
    if within.days:
        parts.append(t.plural("{count} business day", "{count} business days", within.days))
    hours, rest = divmod(within.seconds, 3600)
    if hours:
        parts.append(t.plural("{count} business hour", "{count} business hours", hours))
    if rest >= 60:
        parts.append(t(N_("{count} business min"), count=rest // 60))
    return " ".join(parts) or t(N_("no time"))


@dataclass(frozen=True, slots=True)
class Breach:
    """One missed commitment: whose, which stage, since when, by when."""

    stage: str
    owner_id: str
    started_at: datetime
    due_at: datetime
    within: timedelta

    def key(self, kind: str, crm_id: str) -> str:
        """The idempotency key of an escalation action for this breach."""
        return f"{kind}:{crm_id}:{self.stage}:{day_key(self.started_at)}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What escalation planned: a manager told, and/or the new owner."""

    manager: str | None = None
    new_owner: str | None = None

    @property
    def escalated(self) -> bool:
        """Did anything happen beyond recording the breach?"""
        return self.manager is not None or self.new_owner is not None


class Escalator:
    """Plans the escalation of a breached SLA clock."""

    def __init__(
        self,
        settings: Escalation,
        owners: Sequence[OwnerEntry] = (),
        assigner: AssignmentStep | None = None,
    ) -> None:
        self.settings = settings
        self.managers = {entry.id: entry.manager for entry in owners if entry.manager}
        self.names = {entry.id: entry.name for entry in owners if entry.name}
        self.assigner = assigner

    def escalate(self, lead: Lead, plan: HandoffPlan, breach: Breach) -> Outcome:
        """Plan the manager's task and/or the reassignment for ``breach``."""
        manager = self._tell_manager(lead, plan, breach) if self.settings.notify_manager else None
        new_owner = None
        if self.settings.reassign:
            if self.assigner is None or not self.assigner.settings.enabled:
                plan.notes.append(
                    lead.texts(N_("SLA breach: reassignment needs [assignment] enabled"))
                )
            else:
                new_owner = self.assigner.reassign(lead, plan, breach.owner_id)
                if new_owner is None:
                    plan.notes.append(
                        lead.texts(N_("SLA breach: nobody else available to take the lead"))
                    )
                else:
                    plan.actions.append(self._handover_task(lead, breach, new_owner))
        return Outcome(manager, new_owner)

    def _tell_manager(self, lead: Lead, plan: HandoffPlan, breach: Breach) -> str | None:
        manager = self.managers.get(breach.owner_id)
        if manager is None:
            plan.notes.append(
                lead.texts(
                    N_("SLA breach: no manager configured for owner {owner}"),
                    owner=self.names.get(breach.owner_id, breach.owner_id),
                )
            )
            return None
        t, stage = lead.texts, breach.stage.upper()
        body = [
            t(
                N_("Owner {owner} has not contacted {name} ({stage}) within {within}."),
                owner=self.owner_name(breach.owner_id),
                name=lead.name,
                stage=stage,
                within=describe_within(breach.within, t),
            ),
            t(
                N_("Clock started {started}, due {due}."),
                started=t.moment(breach.started_at),
                due=t.moment(breach.due_at),
            ),
            "",
            lead.summary(),
        ]
        plan.actions.append(
            Action(
                "task",
                lead.crm_id,
                breach.key("sla-breach", lead.crm_id),
                {
                    "subject": t(
                        N_("SLA breached: {name} not contacted ({stage})"),
                        name=lead.name,
                        stage=stage,
                    ),
                    "body": "\n".join(body),
                    "due_at": lead.now.isoformat(),
                    "priority": "HIGH",
                    "owner_id": manager,
                },
            )
        )
        return manager

    def owner_name(self, owner_id: str) -> str:
        """The owner as ``[[assignment.owners]]`` names them, else their CRM id."""
        return self.names.get(owner_id, owner_id)

    def _handover_task(self, lead: Lead, breach: Breach, new_owner: str) -> Action:
        t = lead.texts
        body = [
            t(
                N_("{name} was not contacted in time by owner {owner} and is now yours."),
                name=lead.name,
                owner=self.owner_name(breach.owner_id),
            ),
            "",
            lead.summary(),
        ]
        return Action(
            "task",
            lead.crm_id,
            breach.key("sla-reassign", lead.crm_id),
            {
                "subject": t(N_("Reassigned to you: {name} (SLA breached)"), name=lead.name),
                "body": "\n".join(body),
                "due_at": lead.now.isoformat(),
                "priority": "HIGH",
                "owner_id": new_owner,
            },
        )
