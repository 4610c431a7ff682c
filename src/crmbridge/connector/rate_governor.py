"""Client-side pacing so a connector stays inside the CRM's advertised request budget.

The governor keeps the instants of its recent requests and makes a caller wait when
one more would exceed ``max_requests`` in any rolling ``interval``. What the CRM says
in its rate-limit headers tightens the budget (never loosens it past the configured
one), and a 429 pauses every caller for the time the CRM asked.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class GovernorStats:
    """How much the governor held callers back."""

    requests: int = 0
    waits: int = 0
    waited_s: float = 0.0


class RateGovernor:
    """A rolling-window limiter shared by every call of one connector (thread-safe)."""

    def __init__(
        self,
        max_requests: int,
        interval_s: float,
        *,
        margin: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_requests < 1 or interval_s <= 0:
            raise ValueError("a rate budget needs max_requests >= 1 and interval_s > 0")
        self.configured = max_requests
        self.max_requests = max_requests
        self.interval_s = interval_s
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.stats = GovernorStats()
        #: Set by the daemon on Postgres: the budget all replicas share (blocks when full).
        self.shared: Callable[[], None] | None = None

    @property
    def budget(self) -> int:
        """Requests allowed per window: the smaller of configured and advertised, less a margin."""
        return max(1, min(self.configured, self.max_requests) - self.margin)

    def acquire(self) -> None:
        """Block until one more request fits in the window, then count it."""
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and now - self._sent[0] >= self.interval_s:
                    self._sent.popleft()
                wait = self._paused_until - now
                if wait <= 0 and len(self._sent) < self.budget:
                    self._sent.append(now)
                    self.stats.requests += 1
                    break
                if wait <= 0:
                    wait = self.interval_s - (now - self._sent[0])
            self.stats.waits += 1
            self.stats.waited_s += max(wait, 0.0)
            self._sleep(max(wait, 0.001))
        if self.shared is not None:
            self.shared()

    def observe(
        self, *, maximum: int | None, remaining: int | None, interval_ms: int | None
    ) -> None:
        """Adopt what the CRM advertised in its rate-limit headers."""
        with self._lock:
            if interval_ms:
                self.interval_s = max(self.interval_s, interval_ms / 1000)
            if maximum:
                self.max_requests = maximum
            if remaining is not None and remaining <= self.margin:
                # The CRM counts requests we did not see (other apps, replicas): wait a window.
                self._paused_until = max(self._paused_until, self._clock() + self.interval_s)

    def pause(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` (the CRM answered 429)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
