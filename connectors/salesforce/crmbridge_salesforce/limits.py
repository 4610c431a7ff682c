"""The org's daily API request limit, and the share of it crmbridge allows itself.

Salesforce reports ``Sforce-Limit-Info: api-usage=N/M`` on REST answers: N requests
used of M in the last 24 hours, counted over the whole org (every integration and
every crmbridge replica). crmbridge counts its own calls of the last 24 hours too and
sends no write once they reach ``api_share`` of M; replicas on one store count their
calls together there (:attr:`ApiBudget.shared`), so the share is theirs together.
When Salesforce refuses a call with ``REQUEST_LIMIT_EXCEEDED`` (a 403, no Retry-After)
writes stop until a later call finds the budget open again; the outbox keeps them meanwhile (a
:class:`~crmbridge.errors.RateLimited` postpones rows without counting an attempt).
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from crmbridge.connector import DailyCount
from crmbridge.errors import CrmbridgeError, RateLimited
from crmbridge.logging import get_logger
from crmbridge_salesforce.errors import DAILY, LIMIT_PROBE_S

log = get_logger(connector="salesforce")

_USAGE = re.compile(r"api-usage=(\d{1,12})/(\d{1,12})")
DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class Usage:
    """The org's API requests in the last 24 hours, as Salesforce last reported them."""

    used: int
    limit: int


def parse_limit_info(header: str | None) -> Usage | None:
    """``api-usage=N/M`` of a ``Sforce-Limit-Info`` header (``None`` when absent)."""
    if not header:
        return None
    found = _USAGE.search(header[:500])
    if found is None:
        return None
    used, limit = int(found.group(1)), int(found.group(2))
    return Usage(used, limit) if limit > 0 else None


class ApiBudget:
    """What crmbridge may still spend of the org's daily requests (thread-safe).

    Alone it counts this process's calls; with :attr:`shared` set (the daemon sets it
    on Postgres) every replica's calls count against the one share.
    """

    def __init__(
        self,
        share: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.share = share
        self._clock = clock
        self._lock = threading.Lock()
        self._calls: deque[float] = deque()
        self.usage: Usage | None = None
        #: While set, writes wait: Salesforce refused a call for the daily limit.
        self._stopped_until = 0.0
        self._stop_reason = ""
        #: Every replica's count; set by the daemon when replicas share a store.
        self.shared: DailyCount | None = None

    def observe(self, header: str | None) -> None:
        """Count one answered call and adopt the usage its header reports."""
        now = self._clock()
        usage = parse_limit_info(header)
        with self._lock:
            self._calls.append(now)
            while self._calls and now - self._calls[0] >= DAY_S:
                self._calls.popleft()
            if usage is not None:
                self.usage = usage
                if self._stopped_until and usage.used < usage.limit:
                    # A call went through: the org's budget is open again.
                    self._stopped_until = 0.0
                    log.info("salesforce.api_limit_resumed", used=usage.used, limit=usage.limit)
        if self.shared is not None:
            try:
                self.shared.add()
            except Exception as exc:  # the store down must not fail a call that was made
                log.warning("salesforce.api_count_unshared", error=type(exc).__name__)

    @property
    def own_calls(self) -> int:
        """crmbridge's calls of the last 24 hours: every replica's when shared, else
        this process's (and this process's when the store cannot say)."""
        with self._lock:
            mine = len(self._calls)
        if self.shared is not None:
            try:
                return max(mine, self.shared.total())
            except Exception as exc:  # the store down: this process's count still holds
                log.warning("salesforce.api_count_unshared", error=type(exc).__name__)
        return mine

    @property
    def allowance(self) -> int | None:
        """The most calls crmbridge allows itself in 24 hours (unknown before an answer)."""
        return None if self.usage is None else max(1, int(self.usage.limit * self.share))

    def refused(self, error: CrmbridgeError) -> None:
        """Note a refused call: ``REQUEST_LIMIT_EXCEEDED`` stops writes for a while."""
        if isinstance(error, RateLimited) and error.policy == DAILY:
            with self._lock:
                self._stopped_until = self._clock() + error.retry_after
                self._stop_reason = error.message
            log.warning("salesforce.api_limit_exceeded", detail=error.message)

    def admit_write(self) -> None:
        """Raise :class:`~crmbridge.errors.RateLimited` when no write may be sent now."""
        now = self._clock()
        with self._lock:
            left = self._stopped_until - now
            reason = self._stop_reason
        if left > 0:
            raise RateLimited(
                f"writes to Salesforce are paused for {left:.0f} s: {reason}",
                retry_after=left,
                policy=DAILY,
            )
        allowance = self.allowance
        if allowance is not None and self.own_calls >= allowance:
            raise RateLimited(
                f"crmbridge used its share ({self.share:.0%}) of the org's daily API "
                f"requests ({allowance} of {self.usage.limit if self.usage else '?'}); "
                "writes resume as older calls leave the 24-hour window",
                retry_after=LIMIT_PROBE_S,
                policy=DAILY,
            )
