"""Lift, precision, recall and the capacity threshold on data small enough to check by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crmbridge.backtest import metrics

# Ten leads, one per decile; scores 100, 90, ..., 10. Won: the 1st, 2nd and 4th.
SCORES = [100, 90, 80, 70, 60, 50, 40, 30, 20, 10]
WON = [True, True, False, True, False, False, False, False, False, False]


def test_deciles_of_ten_leads_are_one_lead_each_with_lift_over_the_base_rate() -> None:
    rows = metrics.deciles(SCORES, WON)
    assert [r.leads for r in rows] == [1] * 10
    assert [r.won for r in rows] == [1, 1, 0, 1, 0, 0, 0, 0, 0, 0]
    # Base rate 3/10: a decile with its one lead won has a win rate of 1, lift 1/0.3.
    assert rows[0].lift == pytest.approx(10 / 3)
    assert rows[2].lift == 0
    assert [r.cumulative_gain for r in rows[:4]] == pytest.approx([1 / 3, 2 / 3, 2 / 3, 1])
    assert (rows[0].low, rows[0].high) == (100, 100)


def test_twenty_three_leads_make_deciles_of_three_then_two() -> None:
    scores = list(range(23, 0, -1))
    won = [s > 20 for s in scores]  # the top three
    rows = metrics.deciles(scores, won)
    assert [r.leads for r in rows] == [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]
    assert rows[0].won == 3 and rows[0].win_rate == 1
    assert rows[0].lift == pytest.approx(1 / (3 / 23))
    assert (rows[0].low, rows[0].high) == (21, 23)


def test_fewer_than_ten_leads_make_fewer_deciles_and_none_without_wins_has_no_lift() -> None:
    rows = metrics.deciles([5, 3, 1], [False, False, False])
    assert [r.leads for r in rows] == [1, 1, 1]
    assert all(r.lift is None and r.cumulative_gain is None for r in rows)
    assert metrics.deciles([], []) == []


def test_precision_and_recall_at_every_distinct_score() -> None:
    scores = [50, 50, 30, 10]
    won = [True, False, True, False]
    rows = metrics.thresholds(scores, won, weeks=2.0)
    assert [r.threshold for r in rows] == [10, 30, 50]
    by = {r.threshold: r for r in rows}
    assert (by[50].flagged, by[50].won, by[50].precision, by[50].recall) == (2, 1, 0.5, 0.5)
    assert (by[30].flagged, by[30].won) == (3, 2)
    assert by[30].precision == pytest.approx(2 / 3)
    assert by[30].recall == 1
    assert (by[10].flagged, by[10].precision) == (4, 0.5)
    assert by[50].per_week == 1.0


def test_a_threshold_no_lead_scored_exactly() -> None:
    row = metrics.at_threshold([50, 50, 30, 10], [True, False, True, False], 40, weeks=1.0)
    assert (row.flagged, row.won, row.precision, row.recall) == (2, 1, 0.5, 0.5)
    empty = metrics.at_threshold([10], [True], 99, weeks=1.0)
    assert (empty.flagged, empty.precision, empty.recall) == (0, None, 0)


def test_the_capacity_threshold_is_the_lowest_whose_weekly_leads_fit() -> None:
    # 4 weeks: thresholds flag 40, 20, 8 leads → 10, 5, 2 a week.
    scores = [10] * 20 + [30] * 12 + [60] * 8
    won = [False] * 40
    rows = metrics.thresholds(scores, won, weeks=4.0)
    assert [r.per_week for r in rows] == [10.0, 5.0, 2.0]
    assert metrics.capacity(rows, reps=2, per_rep=3, weeks=4.0).threshold == rows[1]
    assert metrics.capacity(rows, reps=1, per_rep=10, weeks=4.0).threshold == rows[0]
    assert metrics.capacity(rows, reps=1, per_rep=1, weeks=4.0).threshold is None


def test_weeks_spanned_is_at_least_one() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert metrics.weeks_spanned([]) == 1.0
    assert metrics.weeks_spanned([start, start + timedelta(days=3)]) == 1.0
    assert metrics.weeks_spanned([start, start + timedelta(days=21)]) == 3.0
