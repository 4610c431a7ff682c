"""The report's figures, computed from plain records by pure functions.

Nothing here reads the store or the clock: :mod:`crmbridge.report.collect` gathers the
rows and ``now``; every formula below is written down in docs/report.md.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from crmbridge.report.periods import Period
from crmbridge.scoring.text import normalize_text

#: A feedback reason is shown up to this many characters (CRM text can be long).
REASON_CHARS = 120


class Calendar(Protocol):
    """The business calendar the timings are counted in."""

    def elapsed_business_time(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two instants."""
        ...  # pragma: no cover - protocol

    def to_business(self, duration: timedelta) -> timedelta:
        """A configured duration as business time."""
        ...  # pragma: no cover - protocol


class Reached(Protocol):
    """One lead's first arrival at each funnel stage (see ``report_queries.Milestones``)."""

    @property
    def contact_id(self) -> int:
        """The contact's store id."""
        ...  # pragma: no cover - protocol

    @property
    def created_at(self) -> datetime | None:
        """When crmbridge first stored it."""
        ...  # pragma: no cover - protocol

    @property
    def reached(self) -> dict[str, datetime]:
        """Stage → first arrival at it or higher."""
        ...  # pragma: no cover - protocol


@dataclass(frozen=True, slots=True)
class Timing:
    """Time to first contact of one lead that became MQL (or SQL) in the period."""

    contact_id: int
    #: When it became MQL (or higher): the clock's start.
    since: datetime
    #: ``"sql"`` when it went straight to SQL, else ``"mql"``: whose SLA applies.
    stage: str
    contacted_at: datetime | None
    owner_id: str | None
    #: Business time to contact, or elapsed so far (``now``) when not contacted.
    business: timedelta
    #: The stage's SLA in business time, None when it has none.
    target: timedelta | None

    @property
    def within_sla(self) -> bool | None:
        """True/False when known; None when there is no SLA or it is still running."""
        if self.target is None:
            return None
        if self.contacted_at is not None:
            return self.business <= self.target
        return False if self.business > self.target else None


@dataclass(frozen=True, slots=True)
class OwnerTiming:
    """One owner's times to first contact."""

    contacted: int
    waiting: int
    median: timedelta | None
    p90: timedelta | None
    breaches: int


@dataclass(slots=True)
class Figures:
    """Every figure of one period."""

    new_leads: int = 0
    mqls: int = 0
    sqls: int = 0
    #: SQLs of the period / MQLs of the period (None without MQLs).
    period_conversion: float | None = None
    cohort_size: int = 0
    cohort_converted: int = 0
    cohort_conversion: float | None = None
    #: False while some of the cohort's leads still have days left to reach SQL.
    cohort_complete: bool = True
    contacted: int = 0
    not_contacted: int = 0
    median_contact: timedelta | None = None
    p90_contact: timedelta | None = None
    within_sla: int = 0
    sla_decided: int = 0
    sla_rate: float | None = None
    reactivated: int = 0
    reengaged: int = 0
    archived: int = 0
    funnel: dict[str, int] = field(default_factory=dict)
    score_histogram: dict[int, int] = field(default_factory=dict)
    owners: dict[str, OwnerTiming] = field(default_factory=dict)
    breaches_by_owner: dict[str, int] = field(default_factory=dict)
    disqualifications: dict[str, int] = field(default_factory=dict)
    objections: dict[str, int] = field(default_factory=dict)

    def scalars(self) -> dict[str, float | None]:
        """The figures compared week over week, by key."""
        hours = _hours
        return {
            "new_leads": self.new_leads,
            "mqls": self.mqls,
            "sqls": self.sqls,
            "period_conversion": self.period_conversion,
            "cohort_conversion": self.cohort_conversion,
            "median_contact_hours": hours(self.median_contact),
            "p90_contact_hours": hours(self.p90_contact),
            "sla_rate": self.sla_rate,
            "not_contacted": self.not_contacted,
            "sla_breaches": sum(self.breaches_by_owner.values()),
            "disqualified": sum(self.disqualifications.values()),
            "reactivated": self.reactivated,
            "reengaged": self.reengaged,
            "archived": self.archived,
        }


@dataclass(frozen=True, slots=True)
class Change:
    """One figure this period, the one before, and the difference (None when unknown)."""

    current: float | None
    previous: float | None

    @property
    def delta(self) -> float | None:
        """current − previous."""
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def relative(self) -> float | None:
        """(current − previous) / previous; None when previous is 0 or unknown."""
        delta = self.delta
        if delta is None or not self.previous:
            return None
        return delta / self.previous


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """MQLs, SQLs and both conversions of one period of the trend."""

    period: Period
    mqls: int
    sqls: int
    period_conversion: float | None
    cohort_conversion: float | None
    cohort_complete: bool


def _hours(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 2)


def ratio(part: int, whole: int) -> float | None:
    """part / whole, None when whole is 0."""
    return part / whole if whole else None


def percentile(values: Sequence[timedelta], share: float) -> timedelta | None:
    """Nearest-rank percentile: the smallest value with at least ``share`` of the values
    at or below it (``share`` 0.5 gives the lower median of an even count)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def week_over_week(current: Figures, previous: Figures) -> dict[str, Change]:
    """Each scalar figure with the previous period's value."""
    before = previous.scalars()
    return {key: Change(value, before[key]) for key, value in current.scalars().items()}


def funnel(leads: Iterable[Reached], period: Period, stages: Sequence[str]) -> dict[str, int]:
    """Leads that first reached each stage (or a higher one) during the period."""
    start, end = period.start, period.end
    counts = dict.fromkeys(stages, 0)
    for lead in leads:
        for stage, at in lead.reached.items():
            if stage in counts and start <= at < end:
                counts[stage] += 1
    return counts


def cohort(
    leads: Iterable[Reached], period: Period, days: int, now: datetime
) -> tuple[int, int, bool]:
    """Of the leads that became MQL in the period, how many reached SQL within ``days``
    of becoming MQL: (size, converted, complete). ``complete`` is False while the
    window of a lead in the cohort is still open at ``now``."""
    window = timedelta(days=days)
    start, end = period.start, period.end
    size = converted = 0
    for lead in leads:
        mql = lead.reached.get("mql")
        if mql is None or not start <= mql < end:
            continue
        size += 1
        sql = lead.reached.get("sql")
        if sql is not None and sql - mql <= window:
            converted += 1
    return size, converted, end + window <= now


def owner_at(assignments: Sequence[tuple[str, datetime]], moment: datetime) -> str | None:
    """The owner given last at or before ``moment``; else the first given after it."""
    before = [owner for owner, at in assignments if at <= moment]
    if before:
        return before[-1]
    return assignments[0][0] if assignments else None


def timings(
    leads: Iterable[Reached],
    period: Period,
    first_activity: Mapping[int, datetime],
    assignments: Mapping[int, Sequence[tuple[str, datetime]]],
    calendar: Calendar,
    targets: Mapping[str, timedelta],
    now: datetime,
) -> list[Timing]:
    """Time to first contact of every lead that became MQL (or SQL) in the period.

    The clock starts when the lead became MQL; a sales activity before that is no
    contact (the lead is judged on what happened after the hand-off). Times count
    business hours only; a lead not contacted counts its wait up to ``now``.
    """
    found = []
    for lead in leads:
        since = lead.reached.get("mql")
        if since is None or not period.contains(since):
            continue
        stage = "sql" if lead.reached.get("sql") == since else "mql"
        contacted = first_activity.get(lead.contact_id)
        if contacted is not None and contacted < since:
            contacted = None
        until = contacted if contacted is not None else max(now, since)
        target = targets.get(stage)
        found.append(
            Timing(
                contact_id=lead.contact_id,
                since=since,
                stage=stage,
                contacted_at=contacted,
                owner_id=owner_at(assignments.get(lead.contact_id, ()), until),
                business=calendar.elapsed_business_time(since, until),
                target=None if target is None else calendar.to_business(target),
            )
        )
    return found


def by_owner(found: Sequence[Timing], breaches: Mapping[str, int]) -> dict[str, OwnerTiming]:
    """Times to contact and SLA breaches per owner id (``""``: no owner)."""
    owners = sorted({t.owner_id or "" for t in found} | set(breaches))
    result = {}
    for owner in owners:
        mine = [t for t in found if (t.owner_id or "") == owner]
        done = [t.business for t in mine if t.contacted_at is not None]
        result[owner] = OwnerTiming(
            contacted=len(done),
            waiting=len(mine) - len(done),
            median=percentile(done, 0.5),
            p90=percentile(done, 0.9),
            breaches=breaches.get(owner, 0),
        )
    return result


def disqualifications(
    feedback: Iterable[Mapping[str, Any]], status_key: str, statuses: Iterable[str]
) -> dict[str, int]:
    """Feedback whose status says "not ready" (``statuses``), counted by reason (the
    status itself when sales gave no reason), most frequent first."""
    wanted = {normalize_text(status) for status in statuses}
    counts: Counter[str] = Counter()
    for properties in feedback:
        status = str(properties.get(status_key) or "")
        if normalize_text(status) not in wanted:
            continue
        reason = properties.get("reason")
        key = str(reason).strip() if reason not in (None, "") else status
        counts[key[:REASON_CHARS]] += 1
    return dict(counts.most_common())


def objections(states: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Leads per objection class in their hand-off state ("none" is left out)."""
    counts: Counter[str] = Counter()
    for state in states:
        verdict = state.get("objection")
        kind = verdict.get("class") if isinstance(verdict, Mapping) else None
        if isinstance(kind, str) and kind and kind != "none":
            counts[kind] += 1
    return dict(counts.most_common())


def moves(counts: Mapping[tuple[str, str], int]) -> tuple[int, int, int]:
    """(moved to reactivation, re-engaged, archived) from stage moves by (stage, transition)."""
    reactivated = counts.get(("reactivation", "went_quiet"), 0)
    reengaged = sum(n for (_, transition), n in counts.items() if transition == "reengaged")
    archived = sum(
        n
        for (stage, transition), n in counts.items()
        if stage == "archived" and transition in ("went_quiet", "no_response")
    )
    return reactivated, reengaged, archived


def lead_figures(
    leads: Sequence[Reached], period: Period, cohort_days: int, now: datetime
) -> Figures:
    """The figures that come from the leads' milestones alone."""
    figures = Figures()
    figures.funnel = funnel(leads, period, ("lead", "mql", "sql", "opportunity", "customer"))
    start, end = period.start, period.end
    figures.new_leads = sum(
        1 for lead in leads if lead.created_at is not None and start <= lead.created_at < end
    )
    figures.mqls = figures.funnel["mql"]
    figures.sqls = figures.funnel["sql"]
    figures.period_conversion = ratio(figures.sqls, figures.mqls)
    size, converted, complete = cohort(leads, period, cohort_days, now)
    figures.cohort_size, figures.cohort_converted = size, converted
    figures.cohort_conversion = ratio(converted, size)
    figures.cohort_complete = complete
    return figures


def add_timings(figures: Figures, found: Sequence[Timing], breaches: Mapping[str, int]) -> None:
    """Fill the time-to-contact and SLA figures."""
    done = [t.business for t in found if t.contacted_at is not None]
    figures.contacted = len(done)
    figures.not_contacted = len(found) - len(done)
    figures.median_contact = percentile(done, 0.5)
    figures.p90_contact = percentile(done, 0.9)
    decided = [t.within_sla for t in found if t.within_sla is not None]
    figures.sla_decided = len(decided)
    figures.within_sla = sum(1 for ok in decided if ok)
    figures.sla_rate = ratio(figures.within_sla, figures.sla_decided)
    figures.owners = by_owner(found, breaches)
    figures.breaches_by_owner = dict(breaches)


def trend(
    leads: Sequence[Reached], periods: Sequence[Period], cohort_days: int, now: datetime
) -> list[TrendPoint]:
    """MQLs, SQLs and conversions of each of ``periods`` (oldest first)."""
    points = []
    for period in periods:
        figures = lead_figures(leads, period, cohort_days, now)
        points.append(
            TrendPoint(
                period=period,
                mqls=figures.mqls,
                sqls=figures.sqls,
                period_conversion=figures.period_conversion,
                cohort_conversion=figures.cohort_conversion,
                cohort_complete=figures.cohort_complete,
            )
        )
    return points
