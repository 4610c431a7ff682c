"""Report periods: an ISO week or a range of days, in the business time zone.

A period is a run of whole local days; its instants are the local midnights that start
and end it, so a week with a daylight-saving change lasts 167 or 169 hours and still
starts on Monday 00:00 where the team is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
#: A range longer than this is refused (the trend multiplies it).
MAX_DAYS = 366
#: Years a report may cover: the trend and the cohort window reach far before and after.
YEARS = range(1971, 2201)


@dataclass(frozen=True, slots=True)
class Period:
    """Local days ``first`` to ``last`` (both included) in ``zone``."""

    first: date
    last: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        """The UTC instant the period starts (local midnight of ``first``)."""
        return datetime.combine(self.first, time(0), tzinfo=self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The UTC instant the period ends, excluded (local midnight after ``last``)."""
        return datetime.combine(
            self.last + timedelta(days=1), time(0), tzinfo=self.zone
        ).astimezone(UTC)

    @property
    def days(self) -> int:
        """Its length in days."""
        return (self.last - self.first).days + 1

    @property
    def label(self) -> str:
        """``2026-W47`` for an ISO week, else ``2026-11-01..2026-11-30``."""
        year, week, weekday = self.first.isocalendar()
        if weekday == 1 and self.days == 7:
            return f"{year}-W{week:02d}"
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    def shifted(self, periods: int) -> Period:
        """The period of the same length ``periods`` lengths later (negative: earlier)."""
        step = timedelta(days=self.days * periods)
        return Period(self.first + step, self.last + step, self.zone)

    def contains(self, moment: datetime | None) -> bool:
        """Is ``moment`` inside the period?"""
        return moment is not None and self.start <= moment < self.end


def iso_week(text: str, zone: ZoneInfo) -> Period:
    """The ISO week ``YYYY-Www``; ``ValueError`` for anything else."""
    match = _WEEK.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not an ISO week such as 2026-W47")
    year, week = int(match[1]), int(match[2])
    if year not in YEARS:
        raise ValueError(f"{text!r}: the year must be from {YEARS[0]} to {YEARS[-1]}")
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{year} has no ISO week {week}") from None
    return Period(monday, monday + timedelta(days=6), zone)


def day_range(first: date, last: date, zone: ZoneInfo) -> Period:
    """Days ``first`` to ``last``, both included; ``ValueError`` when reversed or too long."""
    if first.year not in YEARS or last.year not in YEARS:
        raise ValueError(f"the days must be from {YEARS[0]} to {YEARS[-1]}")
    if last < first:
        raise ValueError(f"--to {last} is before --from {first}")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValueError(f"a report covers at most {MAX_DAYS} days")
    return Period(first, last, zone)


def last_full_week(now: datetime, zone: ZoneInfo) -> Period:
    """The last ISO week that has ended by ``now`` (local time)."""
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    return Period(monday - timedelta(days=7), monday - timedelta(days=1), zone)


def current_week(now: datetime, zone: ZoneInfo) -> Period:
    """The ISO week ``now`` is in (local time), so far: the dashboard's live review."""
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    return Period(monday, monday + timedelta(days=6), zone)
