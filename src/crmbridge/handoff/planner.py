"""The hand-off planner: runs every configured step over a rescored lead.

Order matters and is fixed: enrichment and objections first (they add facts), then
profiling and the next BANT question (before any task, whose body ends with it),
assignment (an owner is needed by what follows), notification of the owner, replies (a
reply pauses automation), the SLA clock, nurture triggers (never while paused) and
reactivation/archive.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from typing import Protocol

from crmbridge.config import CrmbridgeConfig
from crmbridge.handoff.business_hours import zone_or_utc
from crmbridge.handoff.lead import HandoffPlan, Lead, OwnerPool, drop_fired_recheck
from crmbridge.i18n import N_, Texts


def handoff_properties(config: CrmbridgeConfig) -> set[str]:
    """CRM properties the hand-off reads (owner, feedback, texts, profiling, ...)."""
    names: set[str] = {"firstname", "lastname", config.assignment.owner_property}
    if config.assignment.account_owner_property:
        names.add(config.assignment.account_owner_property)
    for territory in config.assignment.territories:
        names.update(territory.when)
    for optional in (config.sla.feedback_property, config.sla.feedback_reason_property):
        if optional:
            names.add(optional)
    names.update(config.objections.text_properties)
    for step in config.profiling.steps:
        names.update(step.ask)
    names.update(config.profiling.hot_only)
    if config.enrichment.enabled:
        names.update(config.enrichment.fields.values())
    for trigger in config.triggers:
        names.update(trigger.when.properties)
    return names


class Step(Protocol):
    """One workflow of the hand-off."""

    def plan(self, lead: Lead, plan: HandoffPlan) -> None:
        """Add what this workflow wants for ``lead`` to ``plan``."""
        ...


class HandoffPlanner:
    """Builds the steps from the configuration and runs them in order."""

    def __init__(
        self,
        config: CrmbridgeConfig,
        owners: OwnerPool | None = None,
        *,
        can_pause: bool = False,
        pause_note: str | None = None,
        can_act: bool = True,
        added_triggers: Collection[str] = (),
    ) -> None:
        # Imported here: each step module imports the lead types from this package.
        from crmbridge.handoff import (
            assignment,
            bant_question,
            enrichment,
            notification,
            objections,
            profiling,
            reactivation,
            replies,
            sla,
            triggers,
        )

        self.config = config
        bridge = config.bridge
        self.texts = Texts(bridge.language, zone_or_utc(bridge.timezone))
        self.owners = owners or OwnerPool()
        self.can_act = can_act
        prefix = config.writeback.prefix
        # One assignment step: an SLA breach reassigns through the same rotation.
        assigner = assignment.AssignmentStep(config.assignment, self.owners)
        self.steps: list[Step] = [
            enrichment.EnrichmentStep(config.enrichment, prefix),
            objections.ObjectionStep(config.objections, prefix),
            profiling.ProfilingStep(config.profiling, prefix),
            bant_question.BantQuestionStep(config.profiling.bant, config.bant, prefix),
            assigner,
            notification.NotificationStep(config.notifications, config.assignment, self.owners),
            replies.ReplyStep(
                config.replies,
                prefix,
                can_pause=can_pause,
                pause_note=pause_note or replies.NO_PAUSE_API,
                status_key=config.lifecycle.feedback_property,
                nurture_statuses=config.lifecycle.nurture_feedback,
            ),
            sla.SlaStep(
                config.sla,
                config.bridge.timezone,
                owners=config.assignment.owners,
                assigner=assigner,
                status_key=config.lifecycle.feedback_property,
                owner_property=config.assignment.owner_property,
            ),
            triggers.TriggerStep(
                config.triggers, config.reactivation, self.owners, added=added_triggers
            ),
            reactivation.ReactivationStep(config.reactivation, self.owners, config.lifecycle),
        ]

    def plan(self, lead: Lead) -> HandoffPlan:
        """Everything the hand-off wants for ``lead`` (``lead.state`` is updated)."""
        plan = HandoffPlan()
        lead.owner_property = self.config.assignment.owner_property
        lead.texts = self.texts
        before = copy.deepcopy(lead.state)
        drop_fired_recheck(lead.state, lead.now)
        for step in self.steps:
            step.plan(lead, plan)
        if plan.actions and not self.can_act:
            # A connector without tasks/sequences/lists: say so rather than queue rows
            # that could only fail.
            kinds = sorted({action.kind for action in plan.actions})
            plan.notes.append(
                lead.texts(
                    N_("not done, the {crm} connector cannot: {kinds}"),
                    crm=lead.crm,
                    kinds=", ".join(kinds),
                )
            )
            plan.actions = []
            # Nothing was done, so nothing is remembered as done (enrolled, notified...).
            lead.state.clear()
            lead.state.update(before)
        return plan
