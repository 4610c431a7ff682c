"""HubSpot's API rate limits: a rolling 10-second window per token, a daily budget per
account, and the search endpoints' own limit of a few requests per second per account.

Non-search responses carry HubSpot's private-app headers ``X-HubSpot-RateLimit-Max``,
``-Remaining``, ``-Interval-Milliseconds``, ``-Daily``, ``-Daily-Remaining``,
``-Secondly`` and ``-Secondly-Remaining``; search responses carry only ``-Daily`` and
``-Daily-Remaining``, as HubSpot sends them. A search refused for its per-second limit
gets HubSpot's search body (see :func:`~crmbridge_hubspot.sandbox.wire.search_rate_limit_body`):
no ``policyName``, so a client must tell it from the 10-second limit by body and headers.

Choice: a request answered 429 still occupies the window (``count_rejected``, on by
default). HubSpot answers "429 for all subsequent API calls" while over the limit and
counts error responses among the day's requests, so a client that keeps retrying
without backing off stays locked out until it pauses for a full window; a well-behaved
client is never affected. Searches count toward the daily budget but not toward the
10-second window, which HubSpot documents as excluding the search API.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from crmbridge.clock import now as wall_clock
from crmbridge_hubspot.sandbox.config import SandboxConfig

TEN_SECONDLY = "TEN_SECONDLY_ROLLING"
DAILY = "DAILY"
SECONDLY = "SECONDLY"
MESSAGES = {
    TEN_SECONDLY: "You have reached your ten_secondly_rolling limit.",
    DAILY: "You have reached your daily limit.",
    SECONDLY: "You have reached your secondly limit.",
}


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a request may proceed, the headers to send, and the policy it broke."""

    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)
    policy: str | None = None

    @property
    def message(self) -> str:
        """HubSpot's message for the broken policy ("" when allowed)."""
        return MESSAGES.get(self.policy or "", "")


def _utc_today() -> date:
    return wall_clock().date()


class RateLimiter:
    """Counts requests against the limits in ``config`` (read on every call, so the
    admin endpoint can change them at runtime). ``clock`` is monotonic seconds."""

    def __init__(
        self,
        config: SandboxConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], date] = _utc_today,
    ) -> None:
        self._config = config
        self._clock = clock
        self._today = today
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}
        self._search: deque[float] = deque()
        self._day = today()
        self._daily_used = 0

    def check(self, token: str, limit: int | None = None) -> Decision:
        """Admit or refuse a non-search request made with ``token``; ``limit`` replaces
        ``rate_limit_max`` (an OAuth app has its own)."""
        config = self._config
        interval_ms = config.rate_limit_interval_ms
        limit = config.rate_limit_max if limit is None else limit
        now = self._clock()
        with self._lock:
            self._roll_day()
            window = self._windows.setdefault(token, deque())
            _prune(window, now - interval_ms / 1000)
            policy: str | None = None
            if self._daily_used >= config.daily_limit:
                policy = DAILY
            elif len(window) >= limit:
                policy = TEN_SECONDLY
            if policy is None or config.count_rejected:
                window.append(now)
                self._daily_used += 1
            # HubSpot states the 10-second budget per second as well (informational: the
            # window is what it enforces).
            secondly = max(1, limit * 1000 // max(interval_ms, 1000))
            last_second = _count_since(window, now - 1.0)
            headers = {
                "X-HubSpot-RateLimit-Max": str(limit),
                "X-HubSpot-RateLimit-Remaining": str(max(0, limit - len(window))),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(interval_ms),
                "X-HubSpot-RateLimit-Secondly": str(secondly),
                "X-HubSpot-RateLimit-Secondly-Remaining": str(max(0, secondly - last_second)),
                **self._daily_headers(),
            }
        return Decision(policy is None, headers, policy)

    def check_search(self) -> Decision:
        """Admit or refuse a search request (account-wide, per second; daily headers only)."""
        config = self._config
        now = self._clock()
        with self._lock:
            self._roll_day()
            _prune(self._search, now - 1.0)
            policy: str | None = None
            if self._daily_used >= config.daily_limit:
                policy = DAILY
            elif len(self._search) >= config.search_per_second:
                policy = SECONDLY
            if policy is None or config.count_rejected:
                self._search.append(now)
                self._daily_used += 1
            headers = self._daily_headers()
        return Decision(policy is None, headers, policy)

    def _daily_headers(self) -> dict[str, str]:
        daily = self._config.daily_limit
        return {
            "X-HubSpot-RateLimit-Daily": str(daily),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, daily - self._daily_used)),
        }

    def reset(self) -> None:
        """Forget every window and the day's usage."""
        with self._lock:
            self._windows.clear()
            self._search.clear()
            self._daily_used = 0

    def usage(self) -> dict[str, Any]:
        """Current window sizes and the day's count (for the admin endpoint)."""
        now = self._clock()
        interval = self._config.rate_limit_interval_ms / 1000
        with self._lock:
            self._roll_day()
            windows = {}
            for token, window in self._windows.items():
                _prune(window, now - interval)
                windows[token[:4] + "…"] = len(window)
            _prune(self._search, now - 1.0)
            return {
                "ten_second_windows": windows,
                "search_last_second": len(self._search),
                "daily_used": self._daily_used,
                "day": self._day.isoformat(),
            }

    def _roll_day(self) -> None:
        today = self._today()
        if today != self._day:
            self._day = today
            self._daily_used = 0


def _count_since(window: deque[float], horizon: float) -> int:
    """Entries after ``horizon``, counted from the newest (the window is in time order)."""
    count = 0
    for sent in reversed(window):
        if sent <= horizon:
            break
        count += 1
    return count


def _prune(window: deque[float], horizon: float) -> None:
    while window and window[0] <= horizon:
        window.popleft()
