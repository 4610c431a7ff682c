"""Sync health per connector: the last successful cycle, failures by kind, auth and rate limits.

Fed by the daemon after every cycle, read by ``GET /healthz`` and the metrics; both read
the failures' kind (see :mod:`crmbridge.sync.failures`), never their text. A poll
cycle of a connector succeeds when none of its stages failed for that connector (a
record the CRM refused is that record's failure, not the connector's: the metrics
count it, the health does not); only polls count as successes (a drain with nothing to
send never calls the CRM, so it proves nothing), while failures of polls and drains
alike count. A connector is
unhealthy when no cycle has succeeded for ``unhealthy_after_cycles`` poll intervals
(since the start, before the first success).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from crmbridge.daemon import metrics
from crmbridge.sync.failures import ALL_CONNECTORS, FAILURE_KINDS, CycleFailure, FailureKind

AuthState = Literal["unknown", "ok", "failed"]
#: Longest error text kept per connector (the message may quote a CRM's answer).
MAX_ERROR_CHARS = 500


@dataclass
class ConnectorHealth:
    """What the daemon knows about one connector's sync."""

    last_success: datetime | None = None
    last_failure: datetime | None = None
    last_error: str | None = None
    #: Failures since the last successful cycle, by kind.
    consecutive: dict[FailureKind, int] = field(
        default_factory=lambda: dict.fromkeys(FAILURE_KINDS, 0)
    )
    auth: AuthState = "unknown"
    rate_limited_at: datetime | None = None
    #: Whether the latest failure or success was a rate limit (cleared by a success).
    rate_limited: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "last_success": _iso(self.last_success),
            "last_failure": _iso(self.last_failure),
            "last_error": self.last_error,
            "consecutive_failures": dict(self.consecutive),
            "auth": self.auth,
            "rate_limited": self.rate_limited,
            "last_rate_limited": _iso(self.rate_limited_at),
        }


class SyncHealth:
    """Health of every connector of one daemon; thread-safe."""

    def __init__(
        self,
        connectors: Iterable[str],
        *,
        poll_interval: timedelta,
        unhealthy_after_cycles: int,
        started_at: datetime,
    ) -> None:
        self.poll_interval = poll_interval
        self.unhealthy_after_cycles = unhealthy_after_cycles
        self.started_at = started_at
        self._lock = threading.Lock()
        self._connectors = {name: ConnectorHealth() for name in connectors}

    @property
    def allowed_gap(self) -> timedelta:
        """How long a connector may go without a successful cycle and stay healthy."""
        return self.poll_interval * self.unhealthy_after_cycles

    def authenticated(self, connector: str) -> None:
        """The connector's start-up check passed."""
        with self._lock:
            if connector in self._connectors:
                self._connectors[connector].auth = "ok"

    def record(
        self,
        now: datetime,
        failures: Iterable[CycleFailure],
        *,
        polled: Iterable[str] = (),
        involved: Iterable[str] = (),
    ) -> None:
        """One cycle ended: ``polled`` connectors were read, ``involved`` ones drained.

        A failure naming :data:`ALL_CONNECTORS` counts for every involved connector.
        """
        scope = set(polled) | set(involved)
        failures = list(failures)
        failed: set[str] = set()
        with self._lock:
            for failure in failures:
                if failure.of_record:
                    continue
                names = scope if failure.connector == ALL_CONNECTORS else {failure.connector}
                for name in names & set(self._connectors):
                    failed.add(name)
                    self._fail(self._connectors[name], failure, now)
            for name in set(polled) - failed:
                if name in self._connectors:
                    self._succeed(self._connectors[name], now)
        for failure in failures:
            names = scope if failure.connector == ALL_CONNECTORS else {failure.connector}
            for name in names:
                metrics.record_cycle_failure(name, failure.kind)
        for name in set(polled) - failed:
            metrics.set_last_success(name, now)

    @staticmethod
    def _fail(health: ConnectorHealth, failure: CycleFailure, now: datetime) -> None:
        health.consecutive[failure.kind] += 1
        health.last_failure = now
        health.last_error = f"{failure.stage}: {failure.message}"[:MAX_ERROR_CHARS]
        if failure.kind == "auth":
            health.auth = "failed"
        health.rate_limited = failure.kind == "rate_limited"
        if health.rate_limited:
            health.rate_limited_at = now

    @staticmethod
    def _succeed(health: ConnectorHealth, now: datetime) -> None:
        health.last_success = now
        health.consecutive = dict.fromkeys(FAILURE_KINDS, 0)
        health.auth = "ok"
        health.rate_limited = False

    def stale(self, now: datetime) -> list[str]:
        """Connectors with no successful cycle within the allowed gap."""
        with self._lock:
            return sorted(
                name
                for name, health in self._connectors.items()
                if now - (health.last_success or self.started_at) > self.allowed_gap
            )

    def report(self, now: datetime) -> dict[str, Any]:
        """Per connector details, and the connectors that are stale."""
        stale = set(self.stale(now))
        with self._lock:
            details = {
                name: {**health.as_dict(), "healthy": name not in stale}
                for name, health in sorted(self._connectors.items())
            }
        return {
            "connectors": details,
            "unhealthy_after_s": self.allowed_gap.total_seconds(),
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None
