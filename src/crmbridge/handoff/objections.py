"""Objection classification: what sales wrote about a lead → price, trust or authority.

The texts are the configured CRM properties (the feedback reason, the sales notes) and
the ``reason`` of every ``sales_feedback`` event. The verdict is written to
``<prefix>_objection`` (``price|trust|authority|none``) and
``<prefix>_objection_confidence`` (0-100), and kept with its cues in
``lead.state["objection"]`` for ``explain`` and the report. A lead sales never wrote
about is left alone; one whose texts were cleared goes back to ``none``.
"""

from __future__ import annotations

from crmbridge.handoff.lead import HandoffPlan, Lead, is_blank
from crmbridge.handoff.settings import ObjectionSettings
from crmbridge.i18n import N_
from crmbridge.scoring.objection_cues import BUILT_IN
from crmbridge.scoring.objections import ObjectionClassifier

FEEDBACK = "sales_feedback"
STATE_KEY = "objection"


def classifier_for(settings: ObjectionSettings) -> ObjectionClassifier:
    """The classifier of ``[objections]``: a class given in TOML replaces its built-in cues."""
    cues: dict[str, list[tuple[str, float]]] = {
        kind: [(phrase, 1.0) for phrase in phrases] for kind, phrases in BUILT_IN.items()
    }
    for kind, groups in settings.classes.items():
        cues[kind] = [(phrase, group.points) for group in groups for phrase in group.cues]
    return ObjectionClassifier(
        cues, bant_points=settings.bant_authority_points, min_confidence=settings.min_confidence
    )


def objection_texts(lead: Lead, settings: ObjectionSettings) -> list[str]:
    """What sales wrote about the lead, in the CRM and in feedback events."""
    values = [lead.value(name) for name in settings.text_properties]
    values += [event.properties.get("reason") for event in lead.events if event.type == FEEDBACK]
    return [str(value) for value in values if not is_blank(value)]


class ObjectionStep:
    """Classifies the lead's objection and writes it with its confidence."""

    def __init__(self, settings: ObjectionSettings, prefix: str) -> None:
        self.settings = settings
        self.classifier = classifier_for(settings)
        self.kind_property = f"{prefix}_objection"
        self.confidence_property = f"{prefix}_objection_confidence"

    def plan(self, lead: Lead, plan: HandoffPlan) -> None:
        """Classify whenever there is text (or was: a cleared text resets the verdict)."""
        if not self.settings.enabled:
            return
        texts = objection_texts(lead, self.settings)
        if not texts and STATE_KEY not in lead.state:
            return
        verdict = self.classifier.classify(texts, lacks_authority=not lead.score.bant.authority)
        plan.properties[self.kind_property] = verdict.kind
        plan.properties[self.confidence_property] = str(verdict.confidence)
        if lead.state.get(STATE_KEY) != verdict.as_state():
            plan.notes.append(lead.texts(N_("objection: {verdict}"), verdict=verdict.describe()))
        lead.state[STATE_KEY] = verdict.as_state()
