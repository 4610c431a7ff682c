"""Fault injection: answer a seeded fraction of API requests with a 5xx, add latency.

The draw sequence depends only on ``fault_seed`` and the number of draws, so a test
that sends the same requests sees the same failures. Settings are read from the shared
:class:`~crmbridge_hubspot.sandbox.config.SandboxConfig` on every request.
"""

from __future__ import annotations

import random
import threading

from crmbridge_hubspot.sandbox.config import SandboxConfig

FAULT_MESSAGES = {
    500: "internal error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class FaultInjector:
    """Decides, request by request, whether to fail and how."""

    def __init__(self, config: SandboxConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._seed = config.fault_seed
        self._rng = random.Random(config.fault_seed)

    @property
    def latency_s(self) -> float:
        """Delay to add before answering, in seconds."""
        return max(0, self._config.latency_ms) / 1000

    def draw(self) -> int | None:
        """A status to fail with, or None. Reseeds when ``fault_seed`` changed."""
        rate = self._config.fault_rate
        statuses = self._config.fault_statuses
        with self._lock:
            if self._config.fault_seed != self._seed:
                self._seed = self._config.fault_seed
                self._rng = random.Random(self._seed)
            if rate <= 0 or not statuses:
                return None
            roll = self._rng.random()
            pick = self._rng.randrange(len(statuses))
        return statuses[pick] if roll < rate else None

    def reseed(self) -> None:
        """Restart the draw sequence from ``fault_seed``."""
        with self._lock:
            self._seed = self._config.fault_seed
            self._rng = random.Random(self._seed)


def fault_message(status: int) -> str:
    """The message in an injected error body."""
    return FAULT_MESSAGES.get(status, "internal error")
