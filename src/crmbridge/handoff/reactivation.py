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

A model edit (``reactivation_after_days`` lowered, say) can move a whole back catalogue
of silent leads into ``reactivation`` or ``archived`` at once. Those leads did not go
quiet now, the model's view of them changed: they are counted as already quiet, like
the leads that were quiet before crmbridge watched. Only a lead whose quiet moment under
the edited model falls after its last scoring and within :data:`MODEL_EDIT_GRACE` of now
is acted on (the spell that started anyway during that cycle), so the enrolments a
model edit causes are bounded by a day's worth of leads going quiet.
"""

from __future__ import annotations

from datetime import timedelta

from crmbridge.clock import parse_instant
from crmbridge.connector import Action
from crmbridge.handoff.lead import HandoffPlan, Lead, OwnerPool, day_key
from crmbridge.handoff.settings import ReactivationSettings
from crmbridge.handoff.triggers import Enrollment
from crmbridge.i18n import N_
from crmbridge.scoring.model import LifecycleModel

QUIET_STAGES = ("reactivation", "archived")
#: How recent a quiet moment must be for a lead a model edit moves to be acted on.
MODEL_EDIT_GRACE = timedelta(days=1)


def entered(lead: Lead) -> bool:
    """Did this scoring move the lead into its (quiet) stage?"""
    stage = lead.score.stage.stage
    if lead.previous.stage != stage:
        return True
    # A first scoring (no previous score) that lands on a quiet stage says so too.
    return lead.score.stage.transition in ("went_quiet", "no_response")


class ReactivationStep:
    """Plans the reactivation enrollment and the archive list membership."""

    def __init__(
        self,
        settings: ReactivationSettings,
        owners: OwnerPool | None = None,
        lifecycle: LifecycleModel | None = None,
    ) -> None:
        self.settings = settings
        #: The stage machine's timings, to tell a lead a model edit moved from one that
        #: went quiet on its own (without them, every move by an edit is a baseline).
        self.lifecycle = lifecycle
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
        if lead.model_changed and not self._went_quiet_lately(lead, stage):
            plan.notes.append(
                lead.texts(
                    N_("moved to {stage} by a model edit: counted as already quiet"), stage=stage
                )
            )
            plan.baselines.append(f"moved to {stage} by the model edit")
            return
        since = lead.now
        record = {"stage": stage, "since": since.isoformat()}
        if stage == "reactivation":
            if not self._enroll(lead, plan, day_key(since)):
                record["waiting"] = "enroll"
        else:
            self._archive(lead, plan, day_key(since))
        lead.state["quiet"] = record

    def _went_quiet_lately(self, lead: Lead, stage: str) -> bool:
        """Did the lead's silence reach ``stage``'s threshold since it was last scored
        and within :data:`MODEL_EDIT_GRACE` of now (as the edited model counts it)?"""
        last, before = lead.score.last_engagement_at, lead.previous.scored_at
        if self.lifecycle is None or last is None or before is None:
            return False
        days = self.lifecycle.reactivation_after_days
        if stage == "archived":
            days += self.lifecycle.archive_after_days
        moment = last + timedelta(days=days)
        return moment > max(before, lead.now - MODEL_EDIT_GRACE)

    def _retry(self, lead: Lead, plan: HandoffPlan, quiet: dict[str, str]) -> None:
        """An enrollment that waited for an owner is planned once one is there."""
        since = quiet.get("since")
        stamp = day_key(parse_instant(since) if since else lead.now)
        if self._enroll(lead, plan, stamp):
            lead.state["quiet"] = {k: v for k, v in quiet.items() if k != "waiting"}

    def _enroll(self, lead: Lead, plan: HandoffPlan, stamp: str) -> bool:
        sequence = self.settings.sequence_id
        if sequence is None:
            plan.notes.append(lead.texts(N_("went quiet → reactivation (no sequence configured)")))
            return True
        key = f"reactivation:{lead.crm_id}:{stamp}"
        if lead.state.get("paused"):
            # A lead who replied is handled by a person: the reply step's task says so.
            plan.notes.append(
                lead.texts(
                    N_("went quiet → reactivation; not enrolled in {sequence} (paused)"),
                    sequence=sequence,
                )
            )
            return True
        return self.enrollment.plan(lead, plan, sequence, key, "went quiet")

    def _archive(self, lead: Lead, plan: HandoffPlan, stamp: str) -> None:
        list_id = self.settings.archive_list_id
        if list_id is None:
            plan.notes.append(lead.texts(N_("no response → archived (no archive list configured)")))
            return
        key = f"archive:{lead.crm_id}:{stamp}"
        plan.actions.append(Action("list_add", lead.crm_id, key, {"list_id": list_id}))
        plan.notes.append(
            lead.texts(N_("no response → archived, added to list {list}"), list=list_id)
        )
