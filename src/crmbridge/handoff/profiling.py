"""Progressive profiling: the one field a form should ask a lead for next.

``[profiling]`` lists steps, each for some stages, a score band (``min_score`` ≤ score
< ``max_score``) and/or hot leads, with the fields to ask in order. The answer is the
first field, of the first matching step that still has one, that the lead has not
given; never a ``hot_only`` field (the phone) before the lead is hot; ``""`` when
nothing is left. The rescorer writes it to ``crmbridge_next_question``;
``GET /v1/profile/{email}`` serves the same answer from the store (both call
:func:`next_question`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crmbridge.handoff.lead import HandoffPlan, Lead, is_blank
from crmbridge.handoff.settings import ProfilingSettings
from crmbridge.handoff.settings import ProfilingStep as StepRule
from crmbridge.i18n import N_

#: A property's current value by name.
Lookup = Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a lead stands, as far as profiling cares."""

    stage: str | None
    score: float | None
    hot: bool


def matches(rule: StepRule, standing: Standing) -> bool:
    """Does this profiling step apply to a lead standing here?"""
    if rule.stages and standing.stage not in rule.stages:
        return False
    if rule.hot is not None and rule.hot != standing.hot:
        return False
    if rule.min_score is not None and (standing.score is None or standing.score < rule.min_score):
        return False
    return rule.max_score is None or (
        standing.score is not None and standing.score < rule.max_score
    )


def next_question(settings: ProfilingSettings, standing: Standing, lookup: Lookup) -> str:
    """The next field to ask for, or ``""`` when nothing is left (or profiling is off)."""
    if not settings.enabled:
        return ""
    withheld = set() if standing.hot else set(settings.hot_only)
    for rule in settings.steps:
        if not matches(rule, standing):
            continue
        for name in rule.ask:
            if name not in withheld and is_blank(lookup(name)):
                return name
    return ""


def known_fields(settings: ProfilingSettings, lookup: Lookup) -> list[str]:
    """The profiling fields the lead has already given, in the configured order."""
    names = [name for rule in settings.steps for name in rule.ask] + list(settings.hot_only)
    return [name for name in dict.fromkeys(names) if not is_blank(lookup(name))]


class ProfilingStep:
    """Writes the next question to ``<prefix>_next_question``."""

    def __init__(self, settings: ProfilingSettings, prefix: str) -> None:
        self.settings = settings
        self.property = f"{prefix}_next_question"

    def plan(self, lead: Lead, plan: HandoffPlan) -> None:
        """Plan the next question (facts enriched in this same plan count as given)."""
        if not self.settings.enabled:
            return
        score = lead.score
        standing = Standing(score.stage.stage, score.total, score.hot)

        def lookup(name: str) -> Any:
            planned = plan.properties.get(name)
            return planned if not is_blank(planned) else lead.value(name)

        question = next_question(self.settings, standing, lookup)
        plan.properties[self.property] = question
        if question != (lead.value(self.property) or ""):
            left = question or lead.texts(N_("(nothing left to ask)"))
            plan.notes.append(lead.texts(N_("next form question: {field}"), field=left))
