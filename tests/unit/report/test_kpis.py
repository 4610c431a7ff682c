"""The report's formulas on small hand-made records: periods across a daylight-saving
change, a week without MQLs, contact before MQL, percentiles and week over week."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmbridge.handoff.business_hours import BusinessCalendar
from crmbridge.report import kpis
from crmbridge.report.periods import Period, day_range, iso_week, last_full_week

MADRID = ZoneInfo("Europe/Madrid")


@dataclass
class Lead:
    contact_id: int
    created_at: datetime | None = None
    reached: dict[str, datetime] = field(default_factory=dict)


def test_a_week_across_the_autumn_clock_change_lasts_169_hours_from_local_midnight() -> None:
    week = iso_week("2026-W43", MADRID)  # Sunday 25 October 2026: 03:00 CEST → 02:00 CET

    assert week.start == datetime(2026, 10, 18, 22, tzinfo=UTC)
    assert week.end == datetime(2026, 10, 25, 23, tzinfo=UTC)
    assert week.end - week.start == timedelta(hours=169)
    # Monday 00:30 in Madrid is still Sunday in UTC: it belongs to the next week.
    assert not week.contains(datetime(2026, 10, 25, 23, 30, tzinfo=UTC))
    assert week.shifted(1).contains(datetime(2026, 10, 25, 23, 30, tzinfo=UTC))
    assert week.shifted(1).label == "2026-W44"


def test_periods_from_options() -> None:
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert last_full_week(now, MADRID).label == "2026-W47"
    month = day_range(date(2026, 11, 1), date(2026, 11, 30), MADRID)
    assert month.days == 30 and month.label == "2026-11-01..2026-11-30"
    assert month.shifted(-1).first == date(2026, 10, 2)
    with pytest.raises(ValueError, match="ISO week"):
        iso_week("2026-W47x", MADRID)
    with pytest.raises(ValueError, match="at most"):
        day_range(date(2025, 1, 1), date(2026, 12, 31), MADRID)


def test_a_week_without_mqls_has_no_conversion_rather_than_zero() -> None:
    week = iso_week("2026-W47", MADRID)
    leads = [Lead(1, reached={"lead": datetime(2026, 11, 17, 9, tzinfo=UTC)})]

    figures = kpis.lead_figures(leads, week, 30, datetime(2027, 1, 1, tzinfo=UTC))

    assert (figures.mqls, figures.sqls) == (0, 0)
    assert figures.period_conversion is None
    assert figures.cohort_conversion is None and figures.cohort_size == 0
    assert figures.funnel["lead"] == 1


def test_cohort_counts_sql_within_the_window_only_and_says_when_it_is_still_open() -> None:
    week = iso_week("2026-W47", MADRID)
    mql = datetime(2026, 11, 17, 9, tzinfo=UTC)
    leads = [
        Lead(1, reached={"mql": mql, "sql": mql + timedelta(days=30)}),
        Lead(2, reached={"mql": mql, "sql": mql + timedelta(days=31)}),
        Lead(3, reached={"mql": mql}),
        Lead(4, reached={"mql": mql - timedelta(days=14), "sql": mql}),  # MQL in W45
    ]
    assert kpis.cohort(leads, week, 30, datetime(2026, 12, 1, tzinfo=UTC)) == (3, 1, False)
    assert kpis.cohort(leads, week, 30, datetime(2027, 1, 1, tzinfo=UTC)) == (3, 1, True)
    figures = kpis.lead_figures(leads, week, 30, datetime(2027, 1, 1, tzinfo=UTC))
    assert figures.sqls == 1 and figures.mqls == 3
    assert figures.period_conversion == pytest.approx(1 / 3)


def test_contact_before_mql_is_no_contact_and_times_skip_weekends_and_holidays() -> None:
    calendar = BusinessCalendar(zone=MADRID, holidays=frozenset({date(2026, 11, 20)}))
    week = iso_week("2026-W47", MADRID)
    thursday = datetime(2026, 11, 19, 16, 30, tzinfo=UTC)  # 17:30 in Madrid
    leads = [Lead(1, reached={"mql": thursday}), Lead(2, reached={"mql": thursday})]
    first = {
        1: datetime(2026, 11, 23, 8, 30, tzinfo=UTC),  # Monday 09:30 after a holiday Friday
        2: thursday - timedelta(hours=1),  # before the MQL: not a contact
    }
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)

    found = kpis.timings(
        leads, week, first, {1: [("o1", thursday)]}, calendar, {"mql": timedelta(days=2)}, now
    )

    one, two = found
    assert one.business == timedelta(hours=1) and one.owner_id == "o1"
    assert one.target == timedelta(hours=18) and one.within_sla is True
    assert two.contacted_at is None and two.owner_id is None
    assert two.business == timedelta(hours=4, minutes=30)  # waiting, not yet overdue
    assert two.within_sla is None


def test_nearest_rank_percentiles() -> None:
    hours = [timedelta(hours=h) for h in (6, 1, 3, 2)]
    assert kpis.percentile(hours, 0.5) == timedelta(hours=2)
    assert kpis.percentile(hours, 0.9) == timedelta(hours=6)
    assert kpis.percentile([], 0.5) is None
    assert kpis.percentile(hours[:1], 0.9) == timedelta(hours=6)


def test_week_over_week_changes() -> None:
    now, before = kpis.Figures(mqls=6, period_conversion=0.5), kpis.Figures(mqls=4)
    changes = kpis.week_over_week(now, before)
    assert changes["mqls"].delta == 2 and changes["mqls"].relative == 0.5
    assert changes["period_conversion"].delta is None
    assert kpis.Change(3, 0).relative is None


def test_feedback_reasons_objections_and_moves() -> None:
    feedback = [
        {"status": "Not_Qualified", "reason": "  No budget "},
        {"status": "bad_timing"},
        {"status": "contacted", "reason": "called"},
        {"status": "not_qualified", "reason": "x" * 500},
    ]
    reasons = kpis.disqualifications(feedback, "status", ["not_qualified", "bad_timing"])
    assert reasons == {"No budget": 1, "bad_timing": 1, "x" * kpis.REASON_CHARS: 1}
    states = [
        {"objection": {"class": "price"}},
        {"objection": {"class": "none"}},
        {},
        {"objection": 3},
    ]
    assert kpis.objections(states) == {"price": 1}
    moved = {
        ("reactivation", "went_quiet"): 2,
        ("archived", "no_response"): 1,
        ("archived", "went_quiet"): 1,
        ("mql", "reengaged"): 3,
        ("archived", "unchanged"): 9,
    }
    assert kpis.moves(moved) == (2, 3, 2)


def test_owner_at_a_moment() -> None:
    t0 = datetime(2026, 11, 16, 9, tzinfo=UTC)
    given = [("o1", t0), ("o2", t0 + timedelta(hours=2))]
    assert kpis.owner_at(given, t0 + timedelta(hours=1)) == "o1"
    assert kpis.owner_at(given, t0 + timedelta(hours=3)) == "o2"
    assert kpis.owner_at(given, t0 - timedelta(hours=1)) == "o1"
    assert kpis.owner_at([], t0) is None


def test_period_label_of_a_week_not_starting_monday() -> None:
    assert Period(date(2026, 11, 17), date(2026, 11, 23), MADRID).label == "2026-11-17..2026-11-23"


@given(st.text(max_size=40))
def test_any_week_text_is_a_week_or_a_value_error(text: str) -> None:
    try:
        week = iso_week(text, MADRID)
    except ValueError:
        return
    assert week.days == 7 and week.label == text.strip()
    assert week.shifted(-8).start < week.end  # the trend's periods exist


@given(st.integers(0, 9999), st.integers(0, 99))
def test_weeks_of_any_year_and_number(year: int, number: int) -> None:
    try:
        week = iso_week(f"{year:04d}-W{number:02d}", MADRID)
    except ValueError as exc:
        assert str(exc)
        return
    assert week.end + timedelta(days=365) > week.start


def test_time_to_contact_across_the_clock_change_counts_office_hours_as_the_clock_shows() -> None:
    calendar = BusinessCalendar(zone=MADRID)
    week = iso_week("2026-W43", MADRID)
    friday = datetime(2026, 10, 23, 15, tzinfo=UTC)  # 17:00 CEST, an hour before closing
    monday = datetime(2026, 10, 26, 9, tzinfo=UTC)  # 10:00 CET, an hour after opening
    leads = [Lead(1, reached={"mql": friday})]

    (timing,) = kpis.timings(leads, week, {1: monday}, {}, calendar, {}, monday)

    assert timing.business == timedelta(hours=2)
    assert timing.target is None and timing.within_sla is None
