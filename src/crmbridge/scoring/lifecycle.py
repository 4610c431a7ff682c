"""The lifecycle stage machine.

The ladder ``subscriber → lead → mql → sql → opportunity → customer`` only moves
forward on its own. Three side states take a lead off the ladder and back, each through
one named transition (see :data:`TRANSITIONS`); nothing else ever lowers a stage.
"""

from __future__ import annotations

from dataclasses import dataclass

from crmbridge.i18n import N_
from crmbridge.scoring.model import LADDER, STAGES, LifecycleModel
from crmbridge.scoring.text import normalize_text
from crmbridge.scoring.types import StageDecision

RANK = {stage: index for index, stage in enumerate(LADDER)}

#: Every transition the machine can take, with the rule behind it (shown by ``explain``,
#: translated there).
TRANSITIONS: dict[str, str] = {
    "entered": N_("first scoring: the stage the signals call for"),
    "advanced": N_("signals call for a higher ladder stage"),
    "unchanged": N_("signals call for the same stage"),
    "held": N_("signals call for a lower stage; the ladder never moves back on its own"),
    "sales_feedback": N_(
        "sales marked the lead not ready (e.g. not qualified, bad timing) → nurture"
    ),
    "requalified": N_("engaged again after the feedback, or a later feedback says go on"),
    "went_quiet": N_("no engagement for reactivation_after_days → reactivation"),
    "no_response": N_("no engagement for archive_after_days more → archived"),
    "reengaged": N_("engagement after reactivation or archive → the stage the signals call for"),
}

#: Transitions allowed to land on a lower ladder rank than the previous stage had.
EXPLICIT = frozenset({"sales_feedback", "requalified", "went_quiet", "no_response", "reengaged"})


@dataclass(frozen=True, slots=True)
class StageSignals:
    """What the engine learned that matters for the stage."""

    target: str
    inactive_days: float | None
    feedback_status: str | None
    engaged_after_feedback: bool


class StageMachine:
    """Decide the next stage from the previous one and the current signals."""

    def __init__(self, model: LifecycleModel) -> None:
        self._model = model
        self._nurture = frozenset(normalize_text(s) for s in model.nurture_feedback)

    def decide(self, previous: str | None, signals: StageSignals) -> StageDecision:
        """The next stage. ``previous`` is what the CRM/store last held (``None`` if new)."""
        prev = previous if previous in STAGES else None
        target = signals.target
        if target in ("opportunity", "customer") or prev in ("opportunity", "customer"):
            return self._climb(prev, target)
        quiet = self._quiet_stage(prev, signals.inactive_days)
        if quiet is not None:
            return quiet
        if prev in ("reactivation", "archived"):
            if signals.inactive_days is None:  # no engagement at all: nothing to re-engage
                return StageDecision(prev, "unchanged")
            return StageDecision(self._after_feedback(target, signals), "reengaged")
        feedback_nurture = self._wants_nurture(signals)
        if feedback_nurture:
            return StageDecision("nurture", "unchanged" if prev == "nurture" else "sales_feedback")
        if prev == "nurture":
            return StageDecision(target, "requalified")
        return self._climb(prev, target)

    def _climb(self, prev: str | None, target: str) -> StageDecision:
        if prev is None:
            return StageDecision(target, "entered")
        if prev not in RANK:  # a side state: only the CRM's own opportunity/customer get here
            return StageDecision(target, "advanced")
        if RANK[target] > RANK[prev]:
            return StageDecision(target, "advanced")
        return StageDecision(prev, "unchanged" if target == prev else "held")

    def _quiet_stage(self, prev: str | None, inactive_days: float | None) -> StageDecision | None:
        if inactive_days is None:
            return None
        react = self._model.reactivation_after_days
        if inactive_days >= react + self._model.archive_after_days:
            transition = {"archived": "unchanged", "reactivation": "no_response"}.get(
                prev or "", "went_quiet"
            )
            return StageDecision("archived", transition)
        if inactive_days >= react:
            if prev in ("archived", "reactivation"):
                return StageDecision(prev, "unchanged")
            return StageDecision("reactivation", "went_quiet")
        return None

    def _wants_nurture(self, signals: StageSignals) -> bool:
        status = signals.feedback_status
        return (
            status is not None
            and normalize_text(status) in self._nurture
            and not signals.engaged_after_feedback
        )

    def _after_feedback(self, target: str, signals: StageSignals) -> str:
        return "nurture" if self._wants_nurture(signals) else target
