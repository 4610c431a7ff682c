"""Immutable data passed into and out of the scoring engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from crmbridge.i18n import N_

ContributionKind = Literal["fit", "engagement", "inactivity"]


@dataclass(frozen=True, slots=True)
class Contact:
    """A CRM contact/lead as the engine sees it; property names are the CRM's own."""

    id: str
    properties: Mapping[str, Any] = field(default_factory=dict)
    email: str | None = None
    crm: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """A canonical behaviour event (timezone-aware ``occurred_at``)."""

    type: str
    occurred_at: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one rule added to (or took from) the score, with the facts behind it."""

    kind: ContributionKind
    rule: str
    points: int
    raw_points: float = 0.0
    events: int = 0
    capped_at: float | None = None
    group: str | None = None
    decayed: bool = False
    detail: str = ""

    def describe(self, translate: Callable[[str], str] = str) -> str:
        """Plain words for a rep: ``+20 Case-study click in a nurture email (2×)``;
        ``translate`` (the catalog's ``gettext``) words what is not the rule's name."""
        text = f"{self.points:+d} {self.rule}"
        extras = []
        if self.events > 1:
            extras.append(f"{self.events}×")
        if self.capped_at is not None:
            extras.append(translate(N_("capped at {points}")).format(points=f"{self.capped_at:g}"))
        if self.detail:
            extras.append(self.detail)
        return f"{text} ({', '.join(extras)})" if extras else text


@dataclass(frozen=True, slots=True)
class BantResult:
    """Which BANT letters qualify, and the contact's buying-committee role if known."""

    budget: bool = False
    authority: bool = False
    need: bool = False
    timeline: bool = False
    committee_role: str | None = None

    @property
    def count(self) -> int:
        """How many of the four letters qualify."""
        return sum((self.budget, self.authority, self.need, self.timeline))

    @property
    def letters(self) -> str:
        """The CRM form, e.g. ``B A N -``."""
        flags = zip("BANT", (self.budget, self.authority, self.need, self.timeline), strict=True)
        return " ".join(letter if ok else "-" for letter, ok in flags)

    @property
    def missing(self) -> tuple[str, ...]:
        """Names of the letters that do not qualify yet."""
        names = ("budget", "authority", "need", "timeline")
        flags = (self.budget, self.authority, self.need, self.timeline)
        return tuple(name for name, ok in zip(names, flags, strict=True) if not ok)


@dataclass(frozen=True, slots=True)
class StageDecision:
    """The lifecycle stage after this scoring and the transition that led there."""

    stage: str
    transition: str
    needs_nurture: bool = False


@dataclass(frozen=True, slots=True)
class Score:
    """Everything the engine concludes about one contact at one instant."""

    contact_id: str
    total: int
    fit: int
    engagement: int
    inactivity: int
    grade: str
    hot: bool
    bant: BantResult
    stage: StageDecision
    contributions: tuple[Contribution, ...]
    notes: tuple[str, ...]
    reasons: tuple[str, ...]
    last_engagement_at: datetime | None
    scored_at: datetime
    model_version: str

    @property
    def reasons_text(self) -> str:
        """The reasons as the single line written to ``crmbridge_reasons``."""
        return "; ".join(self.reasons)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the ``--json`` output of ``score``)."""
        return {
            "contact_id": self.contact_id,
            "total": self.total,
            "fit": self.fit,
            "engagement": self.engagement,
            "inactivity": self.inactivity,
            "grade": self.grade,
            "hot": self.hot,
            "bant": self.bant.letters,
            "bant_count": self.bant.count,
            "committee_role": self.bant.committee_role,
            "stage": self.stage.stage,
            "stage_transition": self.stage.transition,
            "needs_nurture": self.stage.needs_nurture,
            "reasons": list(self.reasons),
            "notes": list(self.notes),
            "last_engagement_at": _iso(self.last_engagement_at),
            "scored_at": _iso(self.scored_at),
            "model_version": self.model_version,
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None
