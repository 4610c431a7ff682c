"""The report as tables of translated text: what the terminal, the HTML page and the
CSV files show. Labels are marked for the catalog here and translated when shown."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from crmbridge.i18n import N_, Texts
from crmbridge.report.collect import Report
from crmbridge.report.kpis import Change
from crmbridge.store.report_queries import BUCKET, FUNNEL

#: The summary's figures: key → label. The keys are those of ``Figures.scalars``.
SUMMARY = {
    "new_leads": N_("New leads"),
    "mqls": N_("MQLs"),
    "sqls": N_("SQLs"),
    "period_conversion": N_("MQL→SQL conversion (period)"),
    "cohort_conversion": N_("MQL→SQL conversion (cohort, {days} days)"),
    "median_contact_hours": N_("Median time to first contact"),
    "p90_contact_hours": N_("90th percentile time to first contact"),
    "sla_rate": N_("Contacted within the SLA"),
    "not_contacted": N_("MQLs not contacted yet"),
    "sla_breaches": N_("SLA breaches"),
    "disqualified": N_("Disqualified by sales"),
    "reactivated": N_("Moved to reactivation"),
    "reengaged": N_("Re-engaged"),
    "archived": N_("Archived"),
}
RATES = frozenset({"period_conversion", "cohort_conversion", "sla_rate"})
HOURS = frozenset({"median_contact_hours", "p90_contact_hours"})

STAGES = {
    "lead": N_("Lead"),
    "mql": N_("MQL"),
    "sql": N_("SQL"),
    "opportunity": N_("Opportunity"),
    "customer": N_("Customer"),
}
OBJECTIONS = {"price": N_("Price"), "trust": N_("Trust"), "authority": N_("Authority")}

TITLES = {
    "report": N_("Weekly marketing–sales review"),
    "summary": N_("Summary"),
    "funnel": N_("Stage funnel"),
    "owners": N_("Time to first contact by owner"),
    "disqualifications": N_("Disqualification reasons (sales feedback)"),
    "objections": N_("Objections by type"),
    "scores": N_("Score distribution"),
    "trend": N_("Conversion and MQL trend"),
    "definitions": N_("Definitions"),
}


@dataclass(frozen=True, slots=True)
class Table:
    """One table: a file name, its title, columns (key, header) and rows of values
    (``raw``, for CSV/JSON) and of text (``shown``)."""

    name: str
    title: str
    columns: list[tuple[str, str]]
    raw: list[list[object]]
    shown: list[list[str]]


def change_text(key: str, change: Change, t: Texts) -> str:
    """The week-over-week change of one summary figure, in words a reader scans."""
    delta = change.delta
    if delta is None:
        return "—"
    sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
    if key in RATES:
        return t("{sign}{points} pp", sign=sign, points=t.number(round(abs(delta) * 100, 1)))
    if key in HOURS:
        return t("{sign}{hours} h", sign=sign, hours=t.number(round(abs(delta), 1)))
    text = f"{sign}{t.number(abs(delta))}"
    relative = change.relative
    return f"{text} ({sign}{t.percent(abs(relative))})" if relative is not None else text


def value_text(key: str, value: float | None, t: Texts) -> str:
    """One summary figure as shown."""
    if value is None:
        return "—"
    if key in RATES:
        return t.percent(value)
    if key in HOURS:
        return t.hours(timedelta(hours=value))
    return t.number(value)


def summary(report: Report, t: Texts) -> Table:
    """Every scalar figure with the previous period's and the change."""
    raw: list[list[object]] = []
    shown = []
    for key, label in SUMMARY.items():
        change = report.changes[key]
        raw.append([key, change.current, change.previous, change.delta])
        shown.append(
            [
                t(label, days=report.cohort_days),
                value_text(key, change.current, t),
                value_text(key, change.previous, t),
                change_text(key, change, t),
            ]
        )
    columns = [
        ("figure", t("Figure")),
        ("current", t("This period")),
        ("previous", t("Previous period")),
        ("change", t("Change")),
    ]
    return Table("summary", t(TITLES["summary"]), columns, raw, shown)


def _compare(
    name: str,
    title: str,
    key: tuple[str, str],
    t: Texts,
    rows: Sequence[tuple[str, str, int, int]],
) -> Table:
    """A table of (key, label, this period, previous period) counts, with the change."""
    columns = [
        key,
        ("count", t("This period")),
        ("previous", t("Previous period")),
        ("change", t("Change")),
    ]
    raw: list[list[object]] = [[k, now, before, now - before] for k, _, now, before in rows]
    shown = [
        [label, t.number(now), t.number(before), change_text("", Change(now, before), t)]
        for _, label, now, before in rows
    ]
    return Table(name, t(title), columns, raw, shown)


def _counted(
    current: dict[str, int], previous: dict[str, int], label: Callable[[str], str]
) -> list[tuple[str, str, int, int]]:
    keys = list(current) + [k for k in previous if k not in current]
    return [(k, label(k), current.get(k, 0), previous.get(k, 0)) for k in keys]


def funnel(report: Report, t: Texts) -> Table:
    """Leads reaching each stage."""
    rows = [
        (s, t(STAGES[s]), report.current.funnel.get(s, 0), report.previous.funnel.get(s, 0))
        for s in FUNNEL
    ]
    return _compare("funnel", TITLES["funnel"], ("stage", t("Stage")), t, rows)


def disqualifications(report: Report, t: Texts) -> Table:
    """Reasons sales gave for not-ready feedback."""
    rows = _counted(
        report.current.disqualifications, report.previous.disqualifications, lambda k: k
    )
    return _compare(
        "disqualifications", TITLES["disqualifications"], ("reason", t("Reason")), t, rows
    )


def objections(report: Report, t: Texts) -> Table:
    """Objection classes of the leads sales gave feedback on."""
    rows = _counted(
        report.current.objections,
        report.previous.objections,
        lambda k: t(OBJECTIONS[k]) if k in OBJECTIONS else k,
    )
    return _compare("objections", TITLES["objections"], ("objection", t("Objection")), t, rows)


def bucket_label(low: int) -> str:
    """``0–9``; the last bucket is open: ``90+``."""
    return f"{low}+" if low >= 100 - BUCKET else f"{low}–{low + BUCKET - 1}"


def scores(report: Report, t: Texts) -> Table:
    """Leads per score bucket at the end of each period."""
    rows = [
        (
            str(low),
            bucket_label(low),
            report.current.score_histogram.get(low, 0),
            report.previous.score_histogram.get(low, 0),
        )
        for low in range(0, 100, BUCKET)
    ]
    return _compare("score_distribution", TITLES["scores"], ("score", t("Score")), t, rows)


def owner_label(report: Report, owner_id: str, t: Texts) -> str:
    """An owner by name; leads without one say so."""
    return report.owner_name(owner_id) if owner_id else t("(no owner)")


def owners(report: Report, t: Texts) -> Table:
    """Time to first contact and SLA breaches per owner, with last period's median."""
    columns = [
        ("owner", t("Owner")),
        ("contacted", t("Contacted")),
        ("waiting", t("Waiting")),
        ("median_hours", t("Median")),
        ("p90_hours", t("90th percentile")),
        ("sla_breaches", t("SLA breaches")),
        ("previous_median_hours", t("Median, previous period")),
    ]
    raw: list[list[object]] = []
    shown = []
    for owner_id, timing in report.current.owners.items():
        name = owner_label(report, owner_id, t)
        before = report.previous.owners.get(owner_id)
        earlier = before.median if before is not None else None
        figures = (timing.contacted, timing.waiting, timing.median, timing.p90, timing.breaches)
        raw.append([name, *(v if isinstance(v, int) else _h(v) for v in figures), _h(earlier)])
        shown.append(
            [
                name,
                *(t.number(v) if isinstance(v, int) else t.hours(v) for v in figures),
                t.hours(earlier),
            ]
        )
    return Table("time_to_contact_by_owner", t(TITLES["owners"]), columns, raw, shown)


def _h(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 2)


def trend(report: Report, t: Texts) -> Table:
    """MQLs, SQLs and both conversions of the last periods."""
    columns = [
        ("period", t("Period")),
        ("mqls", t("MQLs")),
        ("sqls", t("SQLs")),
        ("period_conversion", t("Conversion (period)")),
        ("cohort_conversion", t("Conversion (cohort)")),
    ]
    raw: list[list[object]] = []
    shown = []
    for point in report.trend:
        cohort = t.percent(point.cohort_conversion)
        if not point.cohort_complete and point.cohort_conversion is not None:
            cohort += " *"
        raw.append(
            [
                point.period.label,
                point.mqls,
                point.sqls,
                point.period_conversion,
                point.cohort_conversion,
            ]
        )
        shown.append(
            [
                point.period.label,
                t.number(point.mqls),
                t.number(point.sqls),
                t.percent(point.period_conversion),
                cohort,
            ]
        )
    return Table("trend", t(TITLES["trend"]), columns, raw, shown)


def tables(report: Report, t: Texts) -> list[Table]:
    """Every table of the report, in reading order."""
    return [
        summary(report, t),
        funnel(report, t),
        owners(report, t),
        disqualifications(report, t),
        objections(report, t),
        scores(report, t),
        trend(report, t),
    ]


def heading(report: Report, t: Texts) -> list[str]:
    """The lines under the title: period, comparison, zone, when it was made."""
    period, before = report.period, report.previous_period
    return [
        t(
            "Period {label}: {first} to {last} ({zone})",
            label=period.label,
            first=t.date(period.first),
            last=t.date(period.last),
            zone=str(period.zone),
        ),
        t("Compared with {label}.", label=before.label),
        t("Generated {when}.", when=t.moment(report.generated_at)),
    ]


def definitions(report: Report, t: Texts) -> list[str]:
    """How every figure is computed, with this report's parameters."""
    targets = ", ".join(
        f"{t(STAGES.get(stage, stage))} {t.hours(within)}"
        for stage, within in sorted(report.targets.items())
    )
    return [
        t("New leads: contacts first stored by crmbridge during the period."),
        t(
            "MQLs, SQLs and the funnel: leads whose score first reached that stage (or a "
            "higher one) during the period; a lead that jumps from lead to SQL counts as "
            "an MQL too."
        ),
        t("MQL→SQL conversion (period): SQLs of the period divided by MQLs of the period."),
        t(
            "MQL→SQL conversion (cohort): of the leads that became MQL during the period, "
            "the share that reached SQL within {days} days; marked * while that window "
            "is still open.",
            days=report.cohort_days,
        ),
        t(
            "Time to first contact: from the moment the lead became MQL (or SQL) to the "
            "first sales activity logged after it, counted in business hours only; "
            "activity before that moment does not count. Median and 90th percentile "
            "(nearest rank) over the leads contacted."
        ),
        t(
            "Contacted within the SLA: leads contacted within their stage's SLA, out of "
            "those contacted or already past it. SLA: {targets}.",
            targets=targets or "—",
        ),
        t("SLA breaches: SLA clocks that ran out during the period, by owner."),
        t(
            "Disqualification reasons: sales feedback of the period that marked a lead "
            "not ready, counted by the reason given (the status when there is none)."
        ),
        t("Objections: the objection class of the leads sales gave feedback on."),
        t(
            "Reactivation and archive: leads moved to reactivation, re-engaged, or "
            "archived during the period."
        ),
        t("Score distribution: each lead's latest score at the end of the period."),
    ]
