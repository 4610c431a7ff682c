"""The next question: what the rep should ask a lead to learn the BANT it still lacks.

The four letters are asked in the order a discovery call takes them — need first (a
budget means nothing before a need), then timeline, authority and budget — and only a
letter ``[bant]`` maps to a property, since an unmapped one could never be answered.
The question, written in ``[bridge] language``, goes to ``<prefix>_bant_question``
through the normal diff (so a language change rewrites it) and ends the body of every
task crmbridge creates for the lead (:meth:`crmbridge.handoff.lead.Lead.summary`).
It is asked for hot leads and for those in ``[profiling.bant] stages``; ``""`` (the
property cleared) otherwise, and once every mapped letter qualifies.
"""

from __future__ import annotations

from crmbridge.handoff.lead import HandoffPlan, Lead
from crmbridge.handoff.settings import BantQuestionSettings
from crmbridge.i18n import N_, Texts
from crmbridge.scoring.model import BantModel
from crmbridge.scoring.types import BantResult

#: Each letter's question, in the order they are asked.
QUESTIONS: tuple[tuple[str, str], ...] = (
    ("need", N_("What problem do you need to solve, and what happens if it stays unsolved?")),
    ("timeline", N_("By when do you need a solution in place?")),
    ("authority", N_("Who else takes part in the decision, and who has the final say?")),
    ("budget", N_("Is there a budget set aside for this, and roughly how much?")),
)


def asked_letters(model: BantModel) -> tuple[str, ...]:
    """The letters a question can be asked for: those ``[bant]`` maps, in asking order."""
    return tuple(letter for letter, _ in QUESTIONS if getattr(model, letter) is not None)


def next_bant_question(bant: BantResult, letters: tuple[str, ...], t: Texts) -> str:
    """The question for the first of ``letters`` that does not qualify, or ``""``."""
    missing = set(bant.missing)
    for letter, question in QUESTIONS:
        if letter in letters and letter in missing:
            return t(question)
    return ""


class BantQuestionStep:
    """Writes the next BANT question to ``<prefix>_bant_question`` and hands it to the
    lead's task bodies."""

    def __init__(self, settings: BantQuestionSettings, model: BantModel, prefix: str) -> None:
        self.settings = settings
        self.letters = asked_letters(model)
        self.property = f"{prefix}_bant_question"

    def plan(self, lead: Lead, plan: HandoffPlan) -> None:
        """Plan the question (empty when the lead is not in sales' hands or knows all)."""
        if not self.settings.enabled:
            return
        score = lead.score
        asked = score.hot or score.stage.stage in self.settings.stages
        question = next_bant_question(score.bant, self.letters, lead.texts) if asked else ""
        lead.bant_question = question
        plan.properties[self.property] = question
