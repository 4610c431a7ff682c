"""The report's charts as inline SVG (matplotlib): funnel, score histogram, time to
first contact by owner, and the conversion and MQL trend.

Figures are made without pyplot, so no GUI backend is ever loaded (a server or a
container has no display) and nothing global is left behind between reports.

Text stays text in the SVG (searchable, small); matplotlib escapes it, so a name from
the configuration cannot inject markup into the page.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from crmbridge.i18n import Texts
from crmbridge.report.collect import Report
from crmbridge.report.view import STAGES, TITLES, bucket_label, owner_label
from crmbridge.store.report_queries import BUCKET, FUNNEL

CURRENT = "#2563eb"
PREVIOUS = "#cbd5e1"
ACCENT = "#ea580c"
#: Owners drawn in the time-to-contact chart (the slowest first would need more room).
MAX_OWNERS = 20


def figure_svg(draw: Callable[[Axes], None], height: float = 3.2) -> str:
    """Draw on a fresh figure and return it as an ``<svg>`` element."""
    # Labels come from the CRM (owner names): "$...$" must stay text, not be parsed as
    # a formula (a malformed one raised and stopped the page and the weekly report).
    with rc_context({"svg.fonttype": "none", "font.size": 9, "text.parse_math": False}):
        figure = Figure(figsize=(6.4, height))
        axes = figure.add_subplot()
        draw(axes)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def funnel(report: Report, t: Texts) -> str:
    """Leads reaching each stage, this period against the previous one."""
    labels = [t(STAGES[stage]) for stage in FUNNEL]
    now = [report.current.funnel.get(stage, 0) for stage in FUNNEL]
    before = [report.previous.funnel.get(stage, 0) for stage in FUNNEL]

    def draw(axes: Axes) -> None:
        rows = range(len(labels))
        axes.barh([r + 0.2 for r in rows], before, 0.4, color=PREVIOUS, label=t("Previous period"))
        axes.barh([r - 0.2 for r in rows], now, 0.4, color=CURRENT, label=t("This period"))
        axes.set_yticks(list(rows), labels)
        axes.invert_yaxis()
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_title(t(TITLES["funnel"]), loc="left")
        axes.legend(frameon=False)

    return figure_svg(draw)


def scores(report: Report, t: Texts) -> str:
    """Leads per score bucket at the end of the period."""
    lows = list(range(0, 100, BUCKET))
    counts = [report.current.score_histogram.get(low, 0) for low in lows]

    def draw(axes: Axes) -> None:
        axes.bar([bucket_label(low) for low in lows], counts, color=CURRENT)
        axes.set_title(t(TITLES["scores"]), loc="left")
        axes.set_xlabel(t("Score"))
        axes.set_ylabel(t("Leads"))
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))

    return figure_svg(draw)


def owners(report: Report, t: Texts) -> str:
    """Median and 90th-percentile time to first contact per owner, with the MQL SLA."""
    shown = list(report.current.owners.items())[:MAX_OWNERS]
    names = [owner_label(report, owner_id, t) for owner_id, _ in shown]
    median = [_hours(timing.median) for _, timing in shown]
    p90 = [_hours(timing.p90) for _, timing in shown]
    sla = report.targets.get("mql")

    def draw(axes: Axes) -> None:
        rows = range(len(names))
        axes.barh([r + 0.2 for r in rows], p90, 0.4, color=PREVIOUS, label=t("90th percentile"))
        axes.barh([r - 0.2 for r in rows], median, 0.4, color=CURRENT, label=t("Median"))
        if sla is not None:
            axes.axvline(_hours(sla), color=ACCENT, linestyle="--", label=t("MQL SLA"))
        axes.set_yticks(list(rows), names)
        axes.invert_yaxis()
        axes.set_xlabel(t("Business hours"))
        axes.set_title(t(TITLES["owners"]), loc="left")
        axes.legend(frameon=False)

    return figure_svg(draw, height=max(2.4, 0.9 + 0.35 * len(names)))


def trend(report: Report, t: Texts) -> str:
    """MQLs per period (bars) and both MQL→SQL conversions (lines, right axis)."""
    labels = [point.period.label for point in report.trend]
    mqls = [point.mqls for point in report.trend]
    period = [_percent(point.period_conversion) for point in report.trend]
    cohort = [_percent(point.cohort_conversion) for point in report.trend]

    def draw(axes: Axes) -> None:
        axes.bar(labels, mqls, color=PREVIOUS, label=t("MQLs"))
        axes.set_ylabel(t("MQLs"))
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.tick_params(axis="x", labelrotation=30)
        rates = axes.twinx()
        rates.plot(labels, period, marker="o", color=CURRENT, label=t("Conversion (period)"))
        rates.plot(labels, cohort, marker="s", color=ACCENT, label=t("Conversion (cohort)"))
        rates.set_ylim(0, 100)
        rates.set_ylabel("%")
        rates.spines["top"].set_visible(False)
        axes.set_title(t(TITLES["trend"]), loc="left")
        handles = axes.get_legend_handles_labels()
        more = rates.get_legend_handles_labels()
        axes.legend(handles[0] + more[0], handles[1] + more[1], frameon=False, fontsize=8)

    return figure_svg(draw, height=3.6)


def _hours(value: timedelta | None) -> float:
    return 0.0 if value is None else value.total_seconds() / 3600


def _percent(value: float | None) -> float:
    return float("nan") if value is None else value * 100


def charts(report: Report, t: Texts) -> list[str]:
    """Every chart, in the page's order."""
    return [funnel(report, t), scores(report, t), owners(report, t), trend(report, t)]
