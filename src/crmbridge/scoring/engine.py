"""The scoring engine: pure functions of (contact, events, model, now, previous stage).

No I/O and no clock: the same inputs always give the same :class:`Score`. Rules are
compiled once when the engine is built; :meth:`ScoringEngine.score` only runs closures.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crmbridge.i18n import N_, translations
from crmbridge.scoring.bant import BantEvaluator
from crmbridge.scoring.conditions import CompiledWhen, compile_when
from crmbridge.scoring.lifecycle import StageMachine, StageSignals
from crmbridge.scoring.model import BantModel, LifecycleModel, ScoringModel
from crmbridge.scoring.text import to_text
from crmbridge.scoring.types import BantResult, Contact, Contribution, Event, Score

_DAY = 86400.0
#: Notes about unreadable event values kept per lead (one bad sender can send thousands).
_MAX_EVENT_NOTES = 5
#: How a BANT letter is named in a reason.
BANT_LETTERS = {
    "budget": N_("budget"),
    "authority": N_("authority"),
    "need": N_("need"),
    "timeline": N_("timeline"),
}


def round_points(value: float) -> int:
    """Round half away from zero, so +0.5 and -0.5 behave alike."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


@dataclass(frozen=True, slots=True)
class _Fit:
    name: str
    when: CompiledWhen
    points: float


@dataclass(frozen=True, slots=True)
class _Engagement:
    index: int
    name: str
    where: CompiledWhen
    points: float
    max_points: float | None
    group: str | None
    window_days: float | None
    half_life_days: float | None
    numeric_where: bool = False


@dataclass(slots=True)
class _Tally:
    raw: float = 0.0
    events: int = 0
    decayed: bool = False


class ScoringEngine:
    """A compiled scoring model. Build once, score many contacts."""

    def __init__(
        self,
        scoring: ScoringModel,
        bant: BantModel | None = None,
        lifecycle: LifecycleModel | None = None,
        *,
        language: str = "en",
    ) -> None:
        self.scoring = scoring
        #: The language of the reasons (``[bridge] language``); rule names stay as written.
        self.language = language
        self._ = translations(language).gettext
        self.bant_model = bant or BantModel()
        self.lifecycle_model = lifecycle or LifecycleModel()
        self._fit = tuple(_Fit(r.name, compile_when(r.when), r.points) for r in scoring.fit)
        self._engagement = tuple(
            _Engagement(
                i,
                r.name,
                where,
                r.points,
                r.max_points,
                r.group,
                r.window_days,
                r.half_life_days,
                where.numeric,
            )
            for i, (r, where) in enumerate(
                (rule, compile_when(rule.where)) for rule in scoring.engagement
            )
        )
        by_type: dict[str, list[_Engagement]] = {}
        for rule, source in zip(self._engagement, scoring.engagement, strict=True):
            for event_type in source.event_types:
                by_type.setdefault(event_type, []).append(rule)
        self._by_type = {k: tuple(v) for k, v in by_type.items()}
        self._bant = BantEvaluator.compile(self.bant_model)
        self._stages = StageMachine(self.lifecycle_model)
        self._opportunity = compile_when(self.lifecycle_model.opportunity_when)
        self._customer = compile_when(self.lifecycle_model.customer_when)
        self.version = self._version()

    def _version(self) -> str:
        digest = hashlib.sha256()
        for part in (self.scoring, self.bant_model, self.lifecycle_model):
            digest.update(part.model_dump_json().encode())
        # The reasons are written in this language, so a change rewrites them like a model
        # change; English adds nothing, keeping the versions stored before languages existed.
        if self.language != "en":
            digest.update(f"language={self.language}".encode())
        return digest.hexdigest()[:12]

    def score(
        self,
        contact: Contact,
        events: Iterable[Event],
        now: datetime,
        previous_stage: str | None = None,
    ) -> Score:
        """Score ``contact`` as of ``now``; events after ``now`` are ignored."""
        props = contact.properties
        fit, notes = self._score_fit(props)
        tallies, last_engagement, feedback = self._tally_events(events, now, notes)
        engagement = self._engagement_contributions(tallies)
        fit_points = sum(c.points for c in fit)
        engagement_points = sum(c.points for c in engagement)
        inactivity = self._inactivity(fit_points, engagement_points, last_engagement, now)
        inactivity_points = inactivity.points if inactivity else 0
        total = fit_points + engagement_points + inactivity_points
        bant = self._bant.evaluate(props)
        inactive_days = (now - last_engagement).total_seconds() / _DAY if last_engagement else None
        feedback_status, feedback_at = feedback
        signals = StageSignals(
            target=self._target_stage(props, total, bant, last_engagement is not None),
            inactive_days=inactive_days,
            feedback_status=feedback_status,
            engaged_after_feedback=bool(
                feedback_at and last_engagement and last_engagement > feedback_at
            ),
        )
        decision = self._stages.decide(previous_stage, signals)
        if decision.stage == "mql" and bant.count == 3:
            decision = type(decision)(decision.stage, decision.transition, needs_nurture=True)
            missing = self._(BANT_LETTERS[bant.missing[0]])
            notes.append(self._(N_("BANT 3/4, missing {letter}: nurture")).format(letter=missing))
        contributions = (*fit, *engagement, *((inactivity,) if inactivity else ()))
        return Score(
            contact_id=contact.id,
            total=total,
            fit=fit_points,
            engagement=engagement_points,
            inactivity=inactivity_points,
            grade=self._grade(fit_points),
            hot=total >= self.scoring.hot_threshold,
            bant=bant,
            stage=decision,
            contributions=contributions,
            notes=tuple(notes),
            reasons=self._reasons(contributions, notes),
            last_engagement_at=last_engagement,
            scored_at=now,
            model_version=self.version,
        )

    def _score_fit(self, props: Mapping[str, Any]) -> tuple[list[Contribution], list[str]]:
        hits: list[Contribution] = []
        notes: list[str] = []
        for rule in self._fit:
            if rule.when(props):
                points = round_points(rule.points)
                hits.append(Contribution("fit", rule.name, points, raw_points=rule.points))
            else:
                notes.extend(n for n in rule.when.unreadable(props, self._) if n not in notes)
        return hits, notes

    def _tally_events(
        self, events: Iterable[Event], now: datetime, notes: list[str]
    ) -> tuple[list[_Tally], datetime | None, tuple[str | None, datetime | None]]:
        """Points per rule, the last engagement and sales' latest feedback.

        An event property a rule could not read as a number is named in ``notes``.
        """
        tallies = [_Tally() for _ in self._engagement]
        last: datetime | None = None
        feedback: tuple[str | None, datetime | None] = (None, None)
        by_type = self._by_type
        feedback_key = self.lifecycle_model.feedback_property
        for event in events:
            when = event.occurred_at
            if when > now:
                continue
            if event.type == "sales_feedback" and (feedback[1] is None or when >= feedback[1]):
                status = event.properties.get(feedback_key)
                feedback = (to_text(status) if status is not None else None, when)
            rules = by_type.get(event.type)
            if not rules:
                continue
            age = (now - when).total_seconds() / _DAY
            for rule in rules:
                if not rule.where(event.properties):
                    if rule.numeric_where and len(notes) < _MAX_EVENT_NOTES:
                        for problem in rule.where.unreadable(event.properties, self._):
                            note = self._(N_("{event} event: {problem}")).format(
                                event=event.type, problem=problem
                            )
                            if note not in notes:
                                notes.append(note)
                    continue
                if rule.points > 0 and (last is None or when > last):
                    last = when
                if rule.window_days is not None and age > rule.window_days:
                    continue
                tally = tallies[rule.index]
                if rule.half_life_days is None:
                    tally.raw += rule.points
                else:
                    tally.raw += rule.points * 0.5 ** (age / rule.half_life_days)
                    tally.decayed = True
                tally.events += 1
        return tallies, last, feedback

    def _engagement_contributions(self, tallies: list[_Tally]) -> list[Contribution]:
        group_left = {name: cap.max_points for name, cap in self.scoring.groups.items()}
        out: list[Contribution] = []
        for rule, tally in zip(self._engagement, tallies, strict=True):
            if tally.events == 0:
                continue
            raw = tally.raw
            capped_at = None
            # Whole points never exceed a cap: a cap of 25.5 allows 25, not round(25.5) = 26.
            if rule.max_points is not None and abs(raw) > math.floor(rule.max_points):
                raw = math.copysign(math.floor(rule.max_points), raw)
                capped_at = rule.max_points
            points = round_points(raw)
            detail = self._(N_("decayed")) if tally.decayed else ""
            if rule.group is not None and points > 0:
                left = group_left[rule.group]
                if points > left:
                    points = max(0, math.floor(left))
                    capped_at = self.scoring.groups[rule.group].max_points
                    full = self._(N_("group {group} full")).format(group=rule.group)
                    detail = ", ".join(filter(None, (detail, full)))
                group_left[rule.group] = left - points
            out.append(
                Contribution(
                    "engagement",
                    rule.name,
                    points,
                    raw_points=tally.raw,
                    events=tally.events,
                    capped_at=capped_at,
                    group=rule.group,
                    decayed=tally.decayed,
                    detail=detail,
                )
            )
        return out

    def _inactivity(
        self, fit: int, engagement: int, last_engagement: datetime | None, now: datetime
    ) -> Contribution | None:
        """Points lost to silence: they erode engagement, never fit, and stop at the floor.

        Limiting the loss to the engagement earned keeps the score monotonic: a first
        event can never cost a lead more than it brings.
        """
        model = self.scoring.inactivity
        subtotal = fit + engagement
        if model is None or last_engagement is None:
            return None
        idle_days = (now - last_engagement).total_seconds() / _DAY
        periods = int(idle_days // model.after_days)
        if periods <= 0:
            return None
        raw = periods * model.points
        by_floor = model.floor - subtotal
        by_engagement = -max(engagement, 0)
        allowed = min(0.0, max(by_floor, by_engagement))
        # Whole points never cross the limit: round towards it, not past it.
        points = max(round_points(raw), math.ceil(allowed))
        limited = raw < allowed or points > round_points(raw)
        if points == 0 and not limited:
            return None
        if by_floor >= by_engagement:
            reason = self._(N_("floor {points}")).format(points=f"{model.floor:g}")
        else:
            reason = self._(N_("all engagement lost"))
        detail = reason if limited else ""
        days = periods * model.after_days
        name = self._(N_("{days} days inactive")).format(days=days)
        return Contribution("inactivity", name, points, raw_points=raw, detail=detail)

    def _target_stage(
        self, props: Mapping[str, Any], total: int, bant: BantResult, engaged: bool
    ) -> str:
        if self._customer.items and self._customer(props):
            return "customer"
        if self._opportunity.items and self._opportunity(props):
            return "opportunity"
        if bant.count == 4:
            return "sql"
        if bant.count == 3 or total >= self.scoring.mql_threshold:
            return "mql"
        if total > 0 or engaged:
            return "lead"
        return "subscriber"

    def _grade(self, fit: int) -> str:
        grades = self.scoring.grades
        for letter, bound in (("A", grades.A), ("B", grades.B), ("C", grades.C)):
            if fit >= bound:
                return letter
        return "D"

    def _reasons(
        self, contributions: tuple[Contribution, ...], notes: list[str]
    ) -> tuple[str, ...]:
        scored = [c for c in contributions if c.points != 0]
        top = sorted(scored, key=lambda c: -abs(c.points))[: self.scoring.reasons_shown]
        ordered = sorted(top, key=lambda c: (c.points < 0, -abs(c.points)))
        return tuple(c.describe(self._) for c in ordered) + tuple(notes)
