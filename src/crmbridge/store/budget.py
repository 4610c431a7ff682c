"""A CRM's request budget shared by every replica through the database.

The CRM limits requests in any rolling ``interval``. Replicas count their requests in
fixed slices of ``interval / slices``; a rolling interval overlaps at most ``slices + 1``
of them, so allowing ``limit // (slices + 1)`` per slice keeps every replica together
under the limit whatever the timing, at ``slices / (slices + 1)`` of the full rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import Engine

_UPSERT = text(
    "INSERT INTO rate_budget (connector, slice_start, count) VALUES (:c, :s, 1) "
    "ON CONFLICT (connector, slice_start) DO UPDATE SET count = rate_budget.count + 1 "
    "RETURNING count"
)
_PRUNE = text("DELETE FROM rate_budget WHERE connector = :c AND slice_start < :s")


class SharedBudget:
    """Blocks a caller until its request fits in the replicas' common budget."""

    def __init__(
        self,
        engine: Engine,
        connector: str,
        limit: int | Callable[[], int],
        interval_s: float,
        *,
        slices: int = 4,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.connector = connector
        self.slice_ms = int(interval_s * 1000 / slices)
        # A callable is asked on every request: the CRM's advertised limit may be lower.
        self._limit = limit if callable(limit) else (lambda: limit)
        self._slices = slices
        self._clock = clock
        self._sleep = sleep
        self._taken = 0

    @property
    def per_slice(self) -> int:
        """Requests every replica together may send in one slice."""
        return max(1, self._limit() // (self._slices + 1))

    def take(self) -> None:
        """Count one request, waiting for a later slice while this one is full."""
        while True:
            now_ms = int(self._clock() * 1000)
            start = now_ms - now_ms % self.slice_ms
            with self.engine.begin() as connection:
                count = connection.execute(_UPSERT, {"c": self.connector, "s": start}).scalar()
                self._taken += 1
                if self._taken % 500 == 0:
                    connection.execute(_PRUNE, {"c": self.connector, "s": start - 3_600_000})
            if count is not None and count <= self.per_slice:
                return
            self._sleep((start + self.slice_ms - now_ms) / 1000 + 0.001)


_TOTAL = text(
    "SELECT COALESCE(SUM(count), 0) FROM rate_budget WHERE connector = :c AND slice_start > :s"
)
_ADD = text(
    "INSERT INTO rate_budget (connector, slice_start, count) VALUES (:c, :s, :n) "
    "ON CONFLICT (connector, slice_start) DO UPDATE SET count = rate_budget.count + :n"
)
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


class DailyCount:
    """Requests every replica sent in the last 24 hours, counted per hour in the store.

    For a CRM limiting requests per day (Salesforce): each replica adds its calls and
    reads the total of all of them. The total covers the 24 hours before the current
    hour started, plus that hour: up to one hour more than a day, which errs on the
    side of sending less.
    """

    def __init__(self, engine: Engine, key: str, *, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.key = key
        self._clock = clock
        self._added = 0

    def add(self, calls: int = 1) -> None:
        """Count ``calls`` requests sent now."""
        now_ms = int(self._clock() * 1000)
        start = now_ms - now_ms % HOUR_MS
        with self.engine.begin() as connection:
            connection.execute(_ADD, {"c": self.key, "s": start, "n": calls})
            self._added += 1
            if self._added % 500 == 0:
                connection.execute(_PRUNE, {"c": self.key, "s": start - DAY_MS - HOUR_MS})

    def total(self) -> int:
        """Requests every replica sent in the last 24 hours (and this hour)."""
        now_ms = int(self._clock() * 1000)
        start = now_ms - now_ms % HOUR_MS
        with self.engine.connect() as connection:
            found = connection.execute(_TOTAL, {"c": self.key, "s": start - DAY_MS}).scalar()
        return int(found or 0)
