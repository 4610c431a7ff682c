"""Fault injection: failed answers, stalled connections and added latency.

Three ways to fail a request, all limited to the paths in ``fault_paths`` (prefixes;
none means every API path):

- ``fault_next``: the next matching requests get these statuses, in order, then the
  API answers normally again (e.g. ``[423]`` to check that one retry follows a lock);
- ``stall_rate``: a seeded share of matching requests is held without an answer for
  ``stall_s`` seconds (a connection that accepted and went silent), then answered
  late; setting ``stall_rate`` to 0 lets the held ones go at once;
- ``fault_rate``: a seeded share answers one of ``fault_statuses``.

The answers look like HubSpot's: JSON with a ``category`` from HubSpot's own
applications (423 ``LOCKED``, 477 ``MIGRATION_IN_PROGRESS`` with ``Retry-After``
seconds, 500, 503; an injected 429 is the daily limit's, ``policyName: DAILY``), an
HTML page from the gateways in front of them (502 and 504) and from the CDN edge
(521–526), which the client has to read without JSON.

A batch update's answer can also lose a record (``batch_drop_next``): the record is
written, but the answer names it neither among its ``results`` nor its ``errors``.

The draw sequence depends only on ``fault_seed`` and the number of draws, so a test
that sends the same requests sees the same failures. Settings are read from the shared
:class:`~crmbridge_hubspot.sandbox.config.SandboxConfig` on every request.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from starlette.responses import HTMLResponse, Response

from crmbridge_hubspot.sandbox.config import SandboxConfig
from crmbridge_hubspot.sandbox.wire import HubSpotError, HubSpotJSON, rate_limit_body

#: JSON errors HubSpot's applications answer: status → (category, message). HubSpot
#: documents 423 and 477 by their status (and the 477's ``Retry-After``) only; no body
#: of either is published or found in recorded traffic, so these bodies take HubSpot's
#: general error shape and a client must not rely on their words.
JSON_FAULTS = {
    423: (
        "LOCKED",
        "The object is locked by other updates in progress; wait at least 2 seconds "
        "between requests to it.",
    ),
    477: (
        "MIGRATION_IN_PROGRESS",
        "This account is being migrated between data hosting locations.",
    ),
    500: ("INTERNAL_ERROR", "internal error"),
    503: ("SERVICE_UNAVAILABLE", "Service Unavailable"),
}
#: HTML pages of the gateways (502, 504) and of the CDN edge (521–526).
HTML_FAULTS = {
    502: "502 Bad Gateway",
    504: "504 Gateway Time-out",
    521: "api.hubapi.com | 521: Web server is down",
    522: "api.hubapi.com | 522: Connection timed out",
    523: "api.hubapi.com | 523: Origin is unreachable",
    524: "api.hubapi.com | 524: A timeout occurred",
    525: "api.hubapi.com | 525: SSL handshake failed",
    526: "api.hubapi.com | 526: Invalid SSL certificate",
}
#: An injected 429 is the daily limit's (the 10-second one comes from the limiter).
DAILY_LIMIT = "You have reached your daily limit."
#: Statuses the sandbox can inject (``fault_statuses``, ``fault_next``).
STATUSES = frozenset(JSON_FAULTS) | frozenset(HTML_FAULTS) | {429}
#: How often a held request looks whether stalls were switched off.
_STALL_POLL_S = 0.05


@dataclass(frozen=True, slots=True)
class Fault:
    """What to do to one request: answer ``status``, or hold it (``stall``)."""

    status: int | None = None
    stall: bool = False


class FaultInjector:
    """Decides, request by request, whether to fail and how."""

    def __init__(self, config: SandboxConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._seed = config.fault_seed
        self._rng = random.Random(config.fault_seed)
        self._script: tuple[int, ...] = config.fault_next
        self._queue: deque[int] = deque(config.fault_next)

    @property
    def latency_s(self) -> float:
        """Delay to add before answering, in seconds."""
        return max(0, self._config.latency_ms) / 1000

    def applies_to(self, path: str) -> bool:
        """Whether faults may touch ``path`` (``fault_paths``: prefixes; none = all)."""
        prefixes = self._config.fault_paths
        return not prefixes or any(path.startswith(prefix) for prefix in prefixes)

    def draw(self, path: str = "") -> Fault | None:
        """The fault for a request to ``path``, or None. Reseeds when ``fault_seed``
        changed; reloads the scripted statuses when ``fault_next`` was set again."""
        config = self._config
        if not self.applies_to(path):
            return None
        rate, statuses = config.fault_rate, config.fault_statuses
        with self._lock:
            if config.fault_seed != self._seed:
                self._seed = config.fault_seed
                self._rng = random.Random(self._seed)
            if config.fault_next is not self._script:
                self._script = config.fault_next
                self._queue = deque(config.fault_next)
            if self._queue:
                return Fault(status=self._queue.popleft())
            # Only draws when stalls are on, so a seed gives the same 5xx as before.
            if config.stall_rate > 0 and self._rng.random() < config.stall_rate:
                return Fault(stall=True)
            if rate <= 0 or not statuses:
                return None
            roll = self._rng.random()
            pick = self._rng.randrange(len(statuses))
        return Fault(status=statuses[pick]) if roll < rate else None

    async def hold(self) -> None:
        """Keep a stalled request waiting ``stall_s``, or until stalls are switched off."""
        deadline = time.monotonic() + self._config.stall_s
        while self._config.stall_rate > 0 and time.monotonic() < deadline:
            await asyncio.sleep(min(_STALL_POLL_S, max(0.0, deadline - time.monotonic())))

    def drop_result(self, results: list[Any]) -> list[Any]:
        """A batch update's results, less the last one while ``batch_drop_next`` lasts
        (each answer it touches counts it down by one)."""
        config = self._config
        with self._lock:
            if not results or config.batch_drop_next <= 0:
                return results
            config.update({"batch_drop_next": config.batch_drop_next - 1})
        return results[:-1]

    def reseed(self) -> None:
        """Restart the draw sequence from ``fault_seed`` (and the scripted statuses)."""
        with self._lock:
            self._seed = self._config.fault_seed
            self._rng = random.Random(self._seed)
            self._queue = deque(self._config.fault_next)


def fault_message(status: int) -> str:
    """The message (or page title) of an injected error."""
    if status == 429:
        return DAILY_LIMIT
    if status in HTML_FAULTS:
        return HTML_FAULTS[status]
    return JSON_FAULTS.get(status, JSON_FAULTS[500])[1]


def fault_response(status: int, config: SandboxConfig) -> Response:
    """The injected answer, shaped as HubSpot's application, gateway or edge sends it."""
    if status in HTML_FAULTS:
        title = HTML_FAULTS[status]
        page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
        return HTMLResponse(page, status_code=status)
    if status == 429:
        spent = {"X-HubSpot-RateLimit-Daily-Remaining": "0"}
        return HubSpotJSON(rate_limit_body(DAILY_LIMIT, "DAILY"), status_code=429, headers=spent)
    category, message = JSON_FAULTS.get(status, JSON_FAULTS[500])
    headers = {"Retry-After": str(config.fault_retry_after_s)} if status == 477 else None
    return HubSpotJSON(
        HubSpotError(status, category, message).body(), status_code=status, headers=headers
    )
