"""Pardot's daily API calls, and the share of them crmbridge allows itself.

Pardot counts every call of the business unit per day (Growth 25,000, Plus 50,000,
Advanced and Premium 100,000) and resets at midnight in the business unit's time
zone; over it, calls fail with code 122. crmbridge counts its own calls over a rolling
24 hours (never fewer than Pardot's calendar day holds) and sends none once they
reach ``api_share`` of ``daily_limit``; after a 122 it sends none for an hour, then
one call finds out whether Pardot's day has turned. Either way the read stops where it
is (its position kept) and the log says when it resumes.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from crmbridge.errors import RateLimited
from crmbridge_salesforce.pardot.errors import PARDOT_DAILY

DAY_S = 86_400.0


class PardotBudget:
    """crmbridge's Pardot calls of the last 24 hours against its allowance (thread-safe)."""

    def __init__(
        self,
        daily_limit: int,
        share: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allowance = max(1, int(daily_limit * share))
        self._clock = clock
        self._calls: deque[float] = deque()
        self._stopped_until = 0.0
        self._reason = ""
        self._lock = threading.Lock()

    def _forget(self, now: float) -> None:
        while self._calls and now - self._calls[0] >= DAY_S:
            self._calls.popleft()

    @property
    def used(self) -> int:
        """Calls made in the last 24 hours."""
        with self._lock:
            self._forget(self._clock())
            return len(self._calls)

    def admit(self) -> None:
        """Count one call about to be sent, or raise :class:`~crmbridge.errors.RateLimited`
        saying in how many seconds calls resume."""
        now = self._clock()
        with self._lock:
            self._forget(now)
            if self._stopped_until > now:
                raise RateLimited(self._reason, retry_after=self._stopped_until - now,
                                  policy=PARDOT_DAILY)  # fmt: skip
            if len(self._calls) >= self.allowance:
                wait = DAY_S - (now - self._calls[0])
                raise RateLimited(
                    f"crmbridge used its share of Pardot's daily API calls ({self.allowance} "
                    "in 24 hours)",
                    retry_after=max(wait, 1.0),
                    policy=PARDOT_DAILY,
                )
            self._calls.append(now)

    def refused(self, error: RateLimited) -> None:
        """Pardot said its daily calls are used up: send nothing until ``retry_after``."""
        with self._lock:
            self._stopped_until = self._clock() + error.retry_after
            self._reason = error.message
