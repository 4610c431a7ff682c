"""Business-time arithmetic: opening hours, working days and holidays in an IANA zone.

An SLA such as "contact within 4 business hours" or "within 2 business days" counts
only the time the sales team works. A :class:`BusinessCalendar` turns that into
instants:

- :meth:`BusinessCalendar.add_business_time` — the instant a business
  duration after ``start`` ends; a duration's whole days count as business days of the
  configured day length (09:00-18:00 → 9 h), the rest as business hours, so ``"2d"``
  started Monday 10:00 ends Wednesday 10:00;
- :meth:`BusinessCalendar.elapsed_business_time` — the business time between two instants (the
  reverse: ``elapsed_business_time(start, add_business_time(start, d)) == d``).

Windows are built from local wall-clock times each day, so a daylight-saving change
moves them with the office's clock; time inside a window is counted in real seconds.
All instants given and returned are timezone-aware (returned in UTC).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crmbridge.handoff.settings import WEEKDAYS, SlaSettings

#: However odd the calendar, a computation never walks further than this.
MAX_DAYS = 366 * 20


def zone_or_utc(name: str | None) -> ZoneInfo:
    """The named IANA zone; UTC for an unknown or empty name (never raises)."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """When the sales team works: daily hours, working weekdays, holidays, a zone."""

    zone: ZoneInfo
    opens: time = time(9)
    closes: time = time(18)
    #: ISO weekday numbers minus one (Monday = 0), as ``date.weekday()`` gives them.
    weekdays: frozenset[int] = frozenset(range(5))
    holidays: frozenset[date] = frozenset()

    @classmethod
    def from_settings(cls, settings: SlaSettings, default_zone: str) -> BusinessCalendar:
        """The calendar of ``[sla]`` (its timezone, else ``[bridge].timezone``)."""
        opens, closes = settings.business_hours
        return cls(
            zone=zone_or_utc(settings.timezone or default_zone),
            opens=opens,
            closes=closes,
            weekdays=frozenset(WEEKDAYS.index(day) for day in settings.business_days),
            holidays=frozenset(settings.holidays),
        )

    @property
    def day_length(self) -> timedelta:
        """One business day: the wall-clock length of the daily window."""
        today = date(2000, 1, 3)
        return datetime.combine(today, self.closes) - datetime.combine(today, self.opens)

    def is_business_day(self, day: date) -> bool:
        """A working weekday that is not a holiday."""
        return day.weekday() in self.weekdays and day not in self.holidays

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The UTC instants the local ``day`` opens and closes."""
        start = datetime.combine(day, self.opens, tzinfo=self.zone).astimezone(UTC)
        end = datetime.combine(day, self.closes, tzinfo=self.zone).astimezone(UTC)
        return start, end

    def is_open(self, moment: datetime) -> bool:
        """Is ``moment`` inside business hours (the closing instant included)?"""
        day = moment.astimezone(self.zone).date()
        if not self.is_business_day(day):
            return False
        start, end = self.window(day)
        return start <= moment <= end

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The instant ``duration`` of business time after ``start`` ends.

        A zero or negative duration gives the next instant the office is open (or
        ``start`` itself when it is open): a deadline never falls outside business hours.
        """
        remaining = self.to_business(duration)
        moment = start.astimezone(UTC)
        for day_start, day_end in self._windows_from(moment):
            moment = max(moment, day_start)
            if moment > day_end:
                continue
            available = day_end - moment
            if remaining <= available:
                return moment + max(remaining, timedelta(0))
            remaining -= available
        return moment

    def elapsed_business_time(self, start: datetime, end: datetime) -> timedelta:
        """Business time between ``start`` and ``end`` (zero when ``end`` is earlier)."""
        total = timedelta(0)
        begin, finish = start.astimezone(UTC), end.astimezone(UTC)
        if finish <= begin:
            return total
        for day_start, day_end in self._windows_from(begin):
            if day_start >= finish:
                break
            overlap = min(day_end, finish) - max(day_start, begin)
            if overlap > timedelta(0):
                total += overlap
        return total

    def to_business(self, duration: timedelta) -> timedelta:
        """A configured duration as business time: whole days become business days."""
        return duration.days * self.day_length + (duration - timedelta(days=duration.days))

    def _windows_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The business windows of the local day of ``moment`` and every later day."""
        first = moment.astimezone(self.zone).date()
        for offset in range(MAX_DAYS):
            day = first + timedelta(days=offset)
            if self.is_business_day(day):
                yield self.window(day)
