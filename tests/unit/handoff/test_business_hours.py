"""Business-time arithmetic: deadlines skip nights, weekends, holidays and follow DST.

Examples first (what an SLA of "4h" or "2d" means to a rep in Madrid), then properties
that hold for any calendar: a deadline is never outside business hours, never earlier
for a later start or a longer duration, and ``elapsed`` undoes ``add``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmbridge.handoff.business_hours import BusinessCalendar, zone_or_utc
from crmbridge.handoff.settings import SlaSettings

MADRID = ZoneInfo("Europe/Madrid")
OFFICE = BusinessCalendar(MADRID)  # Monday to Friday, 09:00-18:00


def madrid(year: int, month: int, day: int, hour: int) -> datetime:
    """A Madrid wall-clock time as an aware instant."""
    return datetime(year, month, day, hour, tzinfo=MADRID)


@pytest.mark.parametrize(
    ("start", "within", "due"),
    [
        (madrid(2026, 11, 24, 10), timedelta(hours=4), madrid(2026, 11, 24, 14)),
        # 2 h left on Tuesday, 2 h on Wednesday morning.
        (madrid(2026, 11, 24, 16), timedelta(hours=4), madrid(2026, 11, 25, 11)),
        # Friday afternoon → Monday.
        (madrid(2026, 11, 27, 16), timedelta(hours=4), madrid(2026, 11, 30, 11)),
        # Saturday: the clock starts on Monday at opening.
        (madrid(2026, 11, 28, 12), timedelta(hours=4), madrid(2026, 11, 30, 13)),
        # At night: the next morning.
        (madrid(2026, 11, 24, 22), timedelta(hours=1), madrid(2026, 11, 25, 10)),
        # "2d": two business days of the day's length (9 h), same time of day.
        (madrid(2026, 11, 23, 10), timedelta(days=2), madrid(2026, 11, 25, 10)),
        (madrid(2026, 11, 26, 10), timedelta(days=2), madrid(2026, 11, 30, 10)),
        # A deadline can fall exactly on closing time.
        (madrid(2026, 11, 24, 9), timedelta(hours=9), madrid(2026, 11, 24, 18)),
        # Zero: the next opening.
        (madrid(2026, 11, 24, 20), timedelta(0), madrid(2026, 11, 25, 9)),
    ],
)
def test_deadlines_in_madrid(start: datetime, within: timedelta, due: datetime) -> None:
    assert OFFICE.add_business_time(start, within) == due
    assert OFFICE.elapsed_business_time(start, due) == OFFICE.to_business(within)


def test_holidays_are_skipped() -> None:
    calendar = BusinessCalendar(MADRID, holidays=frozenset({date(2026, 12, 8)}))
    # Monday 7 Dec 16:00 + 4 h: 2 h on Monday, Tuesday 8 is a holiday, 2 h on Wednesday.
    assert calendar.add_business_time(madrid(2026, 12, 7, 16), timedelta(hours=4)) == madrid(
        2026, 12, 9, 11
    )
    assert calendar.elapsed_business_time(madrid(2026, 12, 7, 9), madrid(2026, 12, 9, 9)) == (
        timedelta(hours=9)
    )


def test_daylight_saving_moves_the_office_clock() -> None:
    # Spring forward on Sunday 29 March 2026: Friday 17:00 CET + 2 h = Monday 10:00 CEST.
    due = OFFICE.add_business_time(madrid(2026, 3, 27, 17), timedelta(hours=2))
    assert due == datetime(2026, 3, 30, 8, tzinfo=UTC)
    # Fall back on Sunday 25 October 2026: Friday 17:00 CEST + 2 h = Monday 10:00 CET.
    due = OFFICE.add_business_time(madrid(2026, 10, 23, 17), timedelta(hours=2))
    assert due == datetime(2026, 10, 26, 9, tzinfo=UTC)


def test_a_window_across_the_dst_change_lasts_what_the_clock_says() -> None:
    # Open every day 00:00-06:00: the spring-forward night has 5 real hours, the
    # fall-back night 7.
    nights = BusinessCalendar(MADRID, opens=time(0), closes=time(6), weekdays=frozenset(range(7)))
    spring = nights.elapsed_business_time(madrid(2026, 3, 29, 0), madrid(2026, 3, 29, 12))
    autumn = nights.elapsed_business_time(madrid(2026, 10, 25, 0), madrid(2026, 10, 25, 12))
    assert (spring, autumn) == (timedelta(hours=5), timedelta(hours=7))
    # Saturday 05:00 + 4 h: 1 h on Saturday, then Sunday 00:00-02:00 CET (2 h), the
    # clock jumps to 03:00 CEST, one more hour: 04:00 CEST.
    due = nights.add_business_time(madrid(2026, 3, 28, 5), timedelta(hours=4))
    assert due == madrid(2026, 3, 29, 4) == datetime(2026, 3, 29, 2, tzinfo=UTC)


def test_from_settings_uses_the_sla_table_and_falls_back_to_the_bridge_zone() -> None:
    sla = SlaSettings(
        business_hours="08:00-15:00",
        business_days=["mon", "tue", "wed", "thu"],
        holidays=[date(2026, 12, 25)],
    )
    calendar = BusinessCalendar.from_settings(sla, "Europe/Madrid")
    assert calendar.zone == MADRID
    assert calendar.day_length == timedelta(hours=7)
    assert calendar.weekdays == frozenset({0, 1, 2, 3})
    assert not calendar.is_business_day(date(2026, 12, 25))
    # Thursday 14:00 + 2 h: 1 h on Thursday, Friday is off, 1 h on Monday.
    assert calendar.add_business_time(madrid(2026, 11, 26, 14), timedelta(hours=2)) == madrid(
        2026, 11, 30, 9
    )
    assert zone_or_utc("Not/AZone") == ZoneInfo("UTC")


# -- properties ----------------------------------------------------------------------------

ZONES = ["Europe/Madrid", "America/New_York", "UTC", "Asia/Kolkata", "Australia/Lord_Howe"]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    """Any sensible calendar: a zone, a daily window, some weekdays, some holidays."""
    opens = draw(st.integers(0, 22 * 4))
    closes = draw(st.integers(opens + 1, 24 * 4 - 1))
    weekdays = draw(st.frozensets(st.integers(0, 6), min_size=1))
    holidays = draw(st.frozensets(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=40))
    return BusinessCalendar(
        ZoneInfo(draw(st.sampled_from(ZONES))),
        opens=time(opens // 4, opens % 4 * 15),
        closes=time(closes // 4, closes % 4 * 15),
        weekdays=weekdays,
        holidays=holidays,
    )


starts = st.datetimes(datetime(2026, 1, 1), datetime(2027, 6, 30), timezones=st.just(UTC))
durations = st.timedeltas(timedelta(0), timedelta(days=15))


@settings(deadline=None)
@given(calendars(), starts, durations)
def test_a_deadline_is_always_in_business_hours(
    calendar: BusinessCalendar, start: datetime, within: timedelta
) -> None:
    due = calendar.add_business_time(start, within)
    assert due >= start
    assert calendar.is_open(due)
    assert due.astimezone(calendar.zone).date() not in calendar.holidays


@settings(deadline=None)
@given(calendars(), starts, durations)
def test_elapsed_undoes_add(calendar: BusinessCalendar, start: datetime, within: timedelta) -> None:
    due = calendar.add_business_time(start, within)
    assert calendar.elapsed_business_time(start, due) == calendar.to_business(within)


@settings(deadline=None)
@given(calendars(), starts, durations, durations, st.timedeltas(timedelta(0), timedelta(days=5)))
def test_deadlines_are_monotonic(
    calendar: BusinessCalendar,
    start: datetime,
    first: timedelta,
    second: timedelta,
    later: timedelta,
) -> None:
    # Ordered as business time: "1d" is one business day (9 h of 09:00-18:00), so it is
    # shorter than "16h" although the configured durations compare the other way.
    short, long = sorted((first, second), key=calendar.to_business)
    assert calendar.add_business_time(start, short) <= calendar.add_business_time(start, long)
    assert calendar.add_business_time(start, short) <= calendar.add_business_time(
        start + later, short
    )


@settings(deadline=None)
@given(st.datetimes(datetime(2026, 3, 20), datetime(2026, 4, 5), timezones=st.just(UTC)))
def test_madrid_spring_forward_keeps_wall_clock_hours(start: datetime) -> None:
    # Every day open, so the DST Sunday itself is a business day: its window is still
    # 09:00-18:00 on the office clock, and a whole business day later is the same time
    # of day whatever the offset did.
    every_day = BusinessCalendar(MADRID, weekdays=frozenset(range(7)))
    due = every_day.add_business_time(start, timedelta(days=1))
    opened = every_day.add_business_time(start, timedelta(0))
    assert due.astimezone(MADRID).time() == opened.astimezone(MADRID).time() or (
        opened.astimezone(MADRID).time() == time(9) and due.astimezone(MADRID).time() == time(18)
    )
