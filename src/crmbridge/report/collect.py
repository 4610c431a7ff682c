"""Build a :class:`Report`: read the store for a period and the one before it, then run
the formulas of :mod:`crmbridge.report.kpis`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crmbridge.config import CrmbridgeConfig
from crmbridge.handoff.business_hours import BusinessCalendar
from crmbridge.report import kpis
from crmbridge.report.periods import Period
from crmbridge.store import report_queries as queries
from crmbridge.store.lead_links import other_records
from crmbridge.sync.cross_crm import linked_crms
from crmbridge.sync.writeback import score_property

#: Periods shown in the conversion and MQL trend (the report's own period last).
TREND_PERIODS = 8
#: Days a lead of the MQL cohort has to reach SQL.
COHORT_DAYS = 30


@dataclass(frozen=True, slots=True)
class Report:
    """Everything the report shows, before any formatting."""

    period: Period
    previous_period: Period
    current: kpis.Figures
    previous: kpis.Figures
    changes: dict[str, kpis.Change]
    trend: list[kpis.TrendPoint]
    cohort_days: int
    #: SLA per stage in business time (what the timings are held against).
    targets: dict[str, timedelta]
    #: Owner id → the name to show.
    owner_names: dict[str, str]
    generated_at: datetime

    def owner_name(self, owner_id: str) -> str:
        """The owner's configured name, else their id ("" stays "")."""
        return self.owner_names.get(owner_id, owner_id)


def owner_names(config: CrmbridgeConfig) -> dict[str, str]:
    """Owner id → name, from ``[[assignment.owners]]`` entries that have a name."""
    return {owner.id: owner.name for owner in config.assignment.owners if owner.name}


def build_report(
    session: Any,
    config: CrmbridgeConfig,
    period: Period,
    now: datetime,
    *,
    cohort_days: int = COHORT_DAYS,
) -> Report:
    """The report of ``period`` compared with the period before it."""
    calendar = BusinessCalendar.from_settings(config.sla, config.bridge.timezone)
    targets = {stage: sla.within for stage, sla in config.sla.stages.items()}
    previous = period.shifted(-1)
    periods = [period.shifted(offset) for offset in range(1 - TREND_PERIODS, 1)]
    skip = one_record_per_lead(config)
    leads = queries.milestones(session, periods[0].start, now, skip=skip)
    figures = [
        _figures(session, config, leads, p, calendar, targets, now, cohort_days)
        for p in (period, previous)
    ]
    return Report(
        period=period,
        previous_period=previous,
        current=figures[0],
        previous=figures[1],
        changes=kpis.week_over_week(figures[0], figures[1]),
        trend=kpis.trend(leads, periods, cohort_days, now),
        cohort_days=cohort_days,
        targets={stage: calendar.to_business(within) for stage, within in targets.items()},
        owner_names=owner_names(config),
        generated_at=now,
    )


def _figures(
    session: Any,
    config: CrmbridgeConfig,
    leads: list[queries.Milestones],
    period: Period,
    calendar: BusinessCalendar,
    targets: dict[str, timedelta],
    now: datetime,
    cohort_days: int,
) -> kpis.Figures:
    start, end = period.start, period.end
    figures = kpis.lead_figures(leads, period, cohort_days, now)
    mql_ids = [lead.contact_id for lead in leads if period.contains(lead.reached.get("mql"))]
    owners: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for contact_id, owner, at in queries.assignments_of(session, mql_ids):
        owners[contact_id].append((owner, at))
    found = kpis.timings(
        leads, period, queries.first_activities(session, start, end), owners, calendar, targets, now
    )
    kpis.add_timings(figures, found, queries.breaches_by_owner(session, start, end))
    feedback = queries.feedback_in(session, start, end)
    figures.disqualifications = kpis.disqualifications(
        (props for _, props in feedback),
        config.lifecycle.feedback_property,
        config.lifecycle.nurture_feedback,
    )
    states = queries.handoff_states(session, (cid for cid, _ in feedback if cid is not None))
    figures.objections = kpis.objections(states.values())
    skip = one_record_per_lead(config)
    moved = kpis.moves(queries.stage_moves(session, start, end, skip=skip))
    figures.reactivated, figures.reengaged, figures.archived = moved
    figures.score_histogram = queries.score_histogram(session, end, skip=skip)
    return figures


def one_record_per_lead(config: CrmbridgeConfig) -> queries.Skip:
    """The records a count of leads leaves out: a lead held by several CRMs counts
    once, by its home record (see :mod:`crmbridge.sync.lead_merge`); None when records
    are not linked."""
    if not linked_crms(config):
        return None
    owner = config.writeback.owner_of(score_property(config.writeback.prefix))
    return other_records(owner if owner in linked_crms(config) else None)
