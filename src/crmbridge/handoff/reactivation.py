"""Reactivation and archive: what happens when the stage machine says a lead went quiet.

The stage machine moves a lead to ``reactivation`` (transition ``went_quiet``) after
``[lifecycle] reactivation_after_days`` without engagement, and to ``archived``
(``no_response``) after ``archive_after_days`` more. On entering ``reactivation`` the
lead is enrolled in ``[reactivation] sequence_id`` (never twice, never while paused by a
reply); on entering ``archived`` it is added to ``archive_list_id``, the quarterly-contact
list. The stage property itself (``crmbridge_stage``) is written by the scoring, which
takes the lead out of the active pipeline's views.

The entry is remembered in ``state["quiet"]`` (stage and instant), so replays and later
cycles never act twice; re-engagement clears it, so a later quiet spell counts anew.
"""

from __future__ import annotations

from crmbridge.clock import parse_instant
from crmbridge.connector import Action
from crmbridge.handoff.lead import HandoffPlan, Lead, OwnerPool, day_key
from crmbridge.handoff.settings import ReactivationSettings
from crmbridge.handoff.triggers import Enrollment

QUIET_STAGES = ("reactivation", "archived")


def entered(lead: Lead) -> bool:
    """Did this scoring move the lead into its (quiet) stage?"""
    stage = lead.score.stage.stage
    if lead.previous.stage != stage:
        return True
    # A first scoring (no previous score) that lands on a quiet stage says so too.
    return lead.score.stage.transition in ("went_quiet", "no_response")


class ReactivationStep:
    """Plans the reactivation enrollment and the archive list membership."""

    def __init__(self, settings: ReactivationSettings, owners: OwnerPool | None = None) -> None:
        self.settings = settings
        self.enrollment = Enrollment(owners or OwnerPool(), settings.sender_email)

    def plan(self, lead: Lead, plan: HandoffPlan) -> None:
        """Act once on entering ``reactivation`` or ``archived``."""
        stage = lead.score.stage.stage
        quiet = lead.state.get("quiet") or {}
        if stage not in QUIET_STAGES:
            lead.state.pop("quiet", None)
            return
        if quiet.get("stage") == stage:
            if quiet.get("waiting"):
                self._retry(lead, plan, quiet)
            return
        if not entered(lead):
            # Already quiet before crmbridge watched (e.g. the hand-off was just turned
            # on): acting now would sweep every old lead at once.
            return
        since = lead.now
        record = {"stage": stage, "since": since.isoformat()}
        if stage == "reactivation":
            if not self._enroll(lead, plan, day_key(since)):
                record["waiting"] = "enroll"
        else:
            self._archive(lead, plan, day_key(since))
        lead.state["quiet"] = record

    def _retry(self, lead: Lead, plan: HandoffPlan, quiet: dict[str, str]) -> None:
        """An enrollment that waited for an owner is planned once one is there."""
        since = quiet.get("since")
        stamp = day_key(parse_instant(since) if since else lead.now)
        if self._enroll(lead, plan, stamp):
            lead.state["quiet"] = {k: v for k, v in quiet.items() if k != "waiting"}

    def _enroll(self, lead: Lead, plan: HandoffPlan, stamp: str) -> bool:
        sequence = self.settings.sequence_id
        if sequence is None:
            plan.notes.append("went quiet → reactivation (no sequence configured)")
            return True
        key = f"reactivation:{lead.crm_id}:{stamp}"
        if lead.state.get("paused"):
            # A lead who replied is handled by a person: the reply step's task says so.
            plan.notes.append(f"went quiet → reactivation; not enrolled in {sequence} (paused)")
            return True
        return self.enrollment.plan(lead, plan, sequence, key, "went quiet")

    def _archive(self, lead: Lead, plan: HandoffPlan, stamp: str) -> None:
        list_id = self.settings.archive_list_id
        if list_id is None:
            plan.notes.append("no response → archived (no archive list configured)")
            return
        key = f"archive:{lead.crm_id}:{stamp}"
        plan.actions.append(Action("list_add", lead.crm_id, key, {"list_id": list_id}))
        plan.notes.append(f"no response → archived, added to list {list_id}")
