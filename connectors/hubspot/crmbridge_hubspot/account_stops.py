"""Account-wide stops HubSpot announces: the daily API limit used up, or the account
being moved between data centres (477 with ``Retry-After``).

Until the announced moment every call would fail the same way, so none is sent: each
call ends at once with the error that set the stop, its ``retry_after`` shortened to
what is left. The outbox keeps the writes (a rate limit or a
:class:`~crmbridge.errors.RetryLater` postpones them without counting an attempt) and
the cycle's failure message says when calls resume.

HubSpot resets the daily limit at midnight in the time zone set on the account (its
``/account-info/v3/details`` names it); when crmbridge could not read that zone it asks
again at the next full hour rather than guess a midnight that may be hours off. The
limit can also be raised during the day (an API limit increase): while it is used up,
one call every :data:`DAILY_PROBE` goes through, and any answer that is not the daily
limit ends the stop.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crmbridge import clock
from crmbridge.errors import CrmbridgeError, RateLimited, RetryLater

DAILY = "DAILY"
#: While the daily limit is used up, one call this often finds out whether it was
#: raised: at most 2,880 refused calls a day, a fraction of a percent of any limit.
DAILY_PROBE = timedelta(seconds=30)


def daily_reset(now: datetime, zone: str | None) -> datetime:
    """When the daily limit resets (UTC): the account's next midnight, or the next full
    hour when its time zone is unknown."""
    tz = _zone(zone)
    if tz is None:
        return (now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    local_day = now.astimezone(tz).date() + timedelta(days=1)
    return datetime.combine(local_day, time(0), tzinfo=tz).astimezone(UTC)


def daily_limit_error(what: str, zone: str | None, now: datetime | None = None) -> RateLimited:
    """The error that stops calls until the daily limit resets; its message says when."""
    moment = now or clock.now()
    resume = daily_reset(moment, zone)
    at = f"{resume:%Y-%m-%d %H:%M} UTC"
    tz = _zone(zone)
    if tz is not None:
        when = f"at {at} (midnight {zone}, the HubSpot account's time zone)"
    else:
        when = (
            f"when the HubSpot account's day ends (midnight in its time zone, which crmbridge "
            f"could not read); it tries again at {at}"
        )
    return RateLimited(
        f"HubSpot's daily API limit is used up ({what}): calls and writes resume {when}",
        retry_after=max(1.0, (resume - moment).total_seconds()),
        policy=DAILY,
    )


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


class AccountStops:
    """The stop in force, if any; shared by every thread calling through one client."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: datetime | None = None
        self._error: RateLimited | RetryLater | None = None
        self._probe_at: datetime | None = None

    def stop(self, until: datetime, error: RateLimited | RetryLater) -> None:
        """No call until ``until``; each one ends with ``error`` meanwhile (the later
        of two stops wins)."""
        now = clock.now()
        with self._lock:
            if self._until is None or until >= self._until:
                self._until = until
                self._error = error
                self._probe_at = max(self._probe_at or now, now + DAILY_PROBE)

    def check(self) -> None:
        """Raise the stop's error (with the wait left) while a stop is in force; let a
        probe through now and then while the daily limit is used up."""
        now = clock.now()
        with self._lock:
            until, error = self._until, self._error
            if until is None or error is None:
                return
            left = (until - now).total_seconds()
            if left <= 0:
                self._until = self._error = self._probe_at = None
                return
            if _is_daily(error) and self._probe_at is not None and now >= self._probe_at:
                self._probe_at = now + DAILY_PROBE
                return
        raise _again(error, left)

    def lift_daily(self) -> None:
        """End a daily-limit stop: a call was answered, so the limit is not used up."""
        with self._lock:
            if self._error is not None and _is_daily(self._error):
                self._until = self._error = self._probe_at = None

    @property
    def until(self) -> datetime | None:
        """When the stop in force ends (None: no stop)."""
        with self._lock:
            return self._until


def _is_daily(error: CrmbridgeError) -> bool:
    return isinstance(error, RateLimited) and error.policy == DAILY


def _again(error: CrmbridgeError, left: float) -> RateLimited | RetryLater:
    if isinstance(error, RateLimited):
        return RateLimited(error.message, retry_after=left, policy=error.policy)
    return RetryLater(error.message, retry_after=left, detail=error.detail)
