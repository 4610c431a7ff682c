"""The 10-second rolling window, the daily budget and their headers."""

from __future__ import annotations

from datetime import date

import pytest
from hubspot import HubSpot
from hubspot.crm.owners.exceptions import ApiException

from crmbridge_hubspot.sandbox import SandboxConfig, SandboxServer
from crmbridge_hubspot.sandbox.ratelimit import RateLimiter

from .conftest import TOKEN, body_of


def test_headers_on_normal_responses(client: HubSpot) -> None:
    api = client.crm.owners.owners_api
    _, status, first = api.get_page_with_http_info()
    _, _, second = api.get_page_with_http_info()
    assert status == 200
    assert first["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert first["X-HubSpot-RateLimit-Max"] == "100000"
    assert (
        int(second["X-HubSpot-RateLimit-Remaining"])
        == int(first["X-HubSpot-RateLimit-Remaining"]) - 1
    )
    assert first["X-HubSpot-RateLimit-Daily"] == "650000"
    assert int(second["X-HubSpot-RateLimit-Daily-Remaining"]) == 650_000 - 2
    # The 10-second budget restated per second (100,000 per 10 s in the relaxed config).
    assert first["X-HubSpot-RateLimit-Secondly"] == "10000"
    assert int(second["X-HubSpot-RateLimit-Secondly-Remaining"]) < 10_000


def test_tiny_window_gives_429_with_hubspots_body_and_headers() -> None:
    config = SandboxConfig(rate_limit_max=3)
    with SandboxServer(config=config) as server:
        api = HubSpot(access_token=TOKEN, host=server.url).crm.owners.owners_api
        remaining = [
            api.get_page_with_http_info()[2]["X-HubSpot-RateLimit-Remaining"] for _ in range(3)
        ]
        with pytest.raises(ApiException) as caught:
            api.get_page()
        assert server.state.counters()["rate_limited"] == 1
    assert remaining == ["2", "1", "0"]
    error = caught.value
    assert error.status == 429
    body = body_of(error)
    assert body["status"] == "error"
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert body["correlationId"] and body["requestId"]
    assert error.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert error.headers["X-HubSpot-RateLimit-Max"] == "3"
    assert error.headers["X-HubSpot-RateLimit-Secondly"] == "1"
    assert error.headers["X-HubSpot-RateLimit-Secondly-Remaining"] == "0"


def test_daily_budget_gives_daily_policy() -> None:
    config = SandboxConfig(daily_limit=2)
    with SandboxServer(config=config) as server:
        api = HubSpot(access_token=TOKEN, host=server.url).crm.owners.owners_api
        api.get_page()
        api.get_page()
        with pytest.raises(ApiException) as caught:
            api.get_page()
    body = body_of(caught.value)
    assert body["policyName"] == "DAILY"
    assert body["message"] == "You have reached your daily limit."
    assert caught.value.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.day = date(2026, 11, 20)

    def __call__(self) -> float:
        return self.now


def test_window_rolls_and_rejected_requests_count() -> None:
    clock = _Clock()
    config = SandboxConfig(rate_limit_max=2, rate_limit_interval_ms=10_000)
    limiter = RateLimiter(config, clock=clock, today=lambda: clock.day)
    assert limiter.check("t").allowed and limiter.check("t").allowed
    clock.now += 5
    assert limiter.check("t").policy == "TEN_SECONDLY_ROLLING"
    clock.now += 5.5  # the first two left the window, the rejected one has not
    assert limiter.check("t").allowed
    assert not limiter.check("t").allowed
    assert limiter.check("other-token").allowed, "the window is per token"

    lenient = RateLimiter(
        SandboxConfig(rate_limit_max=2, count_rejected=False), clock=clock, today=lambda: clock.day
    )
    assert lenient.check("t").allowed and lenient.check("t").allowed
    clock.now += 5
    assert not lenient.check("t").allowed
    clock.now += 5.5
    assert lenient.check("t").allowed and lenient.check("t").allowed


def test_daily_budget_resets_at_midnight_and_searches_count() -> None:
    clock = _Clock()
    limiter = RateLimiter(SandboxConfig(daily_limit=3), clock=clock, today=lambda: clock.day)
    assert limiter.check_search().allowed
    # Search answers carry the daily headers only.
    assert limiter.check_search().headers == {
        "X-HubSpot-RateLimit-Daily": "3",
        "X-HubSpot-RateLimit-Daily-Remaining": "1",
    }
    assert limiter.check("t").allowed
    assert limiter.check("t").policy == "DAILY"
    clock.day = date(2026, 11, 21)
    assert limiter.check("t").allowed
