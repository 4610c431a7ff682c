"""While HubSpot's daily limit is used up, one call every so often finds out whether the
limit was raised during the day (an API limit increase), and an answered call ends the
stop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crmbridge import clock
from crmbridge.errors import RateLimited, RetryLater
from crmbridge_hubspot.account_stops import (
    DAILY_PROBE,
    AccountStops,
    daily_limit_error,
    daily_reset,
)

START = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    moment = [START]
    monkeypatch.setattr(clock, "now", lambda: moment[0])
    return moment


def _stopped(stops: AccountStops) -> bool:
    try:
        stops.check()
    except RateLimited:
        return True
    return False


def test_a_daily_stop_lets_one_probe_through_every_interval(now: list[datetime]) -> None:
    stops = AccountStops()
    stops.stop(daily_reset(START, "Europe/Madrid"), daily_limit_error("x", "Europe/Madrid"))
    assert _stopped(stops)
    now[0] = START + DAILY_PROBE - timedelta(seconds=1)
    assert _stopped(stops)
    now[0] = START + DAILY_PROBE
    assert not _stopped(stops), "the probe goes through"
    assert _stopped(stops), "one probe per interval, not every call"
    now[0] = START + 2 * DAILY_PROBE
    assert not _stopped(stops)


def test_an_answered_call_ends_the_daily_stop(now: list[datetime]) -> None:
    stops = AccountStops()
    stops.stop(daily_reset(START, None), daily_limit_error("x", None))
    assert _stopped(stops)
    stops.lift_daily()
    assert not _stopped(stops)
    assert stops.until is None


def test_a_migration_stop_has_no_probe_and_is_not_lifted_by_an_answer(
    now: list[datetime],
) -> None:
    stops = AccountStops()
    stops.stop(START + timedelta(hours=2), RetryLater("moving", retry_after=7200))
    now[0] = START + 10 * DAILY_PROBE
    stops.lift_daily()
    with pytest.raises(RetryLater):
        stops.check()
