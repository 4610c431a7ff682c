"""Which of HubSpot's limits a 429 answer stands for, and how long to hold back.

HubSpot has three limits a call can run into, and says which one in different ways:

- the **10-second window** of the private app (``policyName: TEN_SECONDLY_ROLLING``,
  ``X-HubSpot-RateLimit-Remaining: 0``): every call waits for the window to roll;
- the **daily budget** of the account (``policyName: DAILY``,
  ``X-HubSpot-RateLimit-Daily-Remaining: 0``): nothing goes until the day turns;
- the **search limit**, a few CRM searches per second per account: its 429 carries
  ``category: RATE_LIMITS``, the message "You have reached your secondly limit." and
  no ``policyName``, and search answers carry the daily headers only. Only searches
  wait, about a second; writes and reads by id go on.

Reading ``policyName`` alone (and assuming the 10-second window without one) stalls
every write for ten seconds whenever a search goes one over its per-second limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TEN_SECONDLY = "TEN_SECONDLY_ROLLING"
DAILY = "DAILY"
#: The per-second limit of the CRM search endpoints (HubSpot names no policy for it).
SEARCH = "SEARCH_SECONDLY"
#: A per-second limit on other calls (older answers name it ``SECONDLY``).
SECONDLY = "SECONDLY"

TEN_SECONDS = 10.0
ONE_SECOND = 1.0


@dataclass(frozen=True, slots=True)
class RateLimit:
    """What a 429 means: the limit hit and how long to hold back (None: until midnight)."""

    policy: str
    wait_s: float | None

    @property
    def searches_only(self) -> bool:
        """Only searches must wait; every other call may go on."""
        return self.policy == SEARCH


def classify(
    body: Mapping[str, Any], headers: Mapping[str, Any] | None = None, *, search: bool = False
) -> RateLimit:
    """Classify a 429 by its JSON body and headers; ``search`` says the call was a search.

    The body's ``policyName`` wins when there is one; then the message; then the
    headers (a window or a day with nothing remaining). A search refused without any
    of these is the search limit; any other call, the 10-second window (the safe guess:
    it holds every call back).
    """
    policy = str(body.get("policyName") or "").upper()
    message = str(body.get("message") or "").lower()
    asked = _retry_after(headers)
    if policy == DAILY or (not policy and "daily" in message):
        return RateLimit(DAILY, asked)
    if policy == TEN_SECONDLY or (not policy and "ten_secondly" in message):
        return RateLimit(TEN_SECONDLY, asked or _window_s(headers))
    if policy == SECONDLY or (not policy and "secondly" in message):
        return RateLimit(SEARCH if search else SECONDLY, asked or ONE_SECOND)
    if _header_int(headers, "X-HubSpot-RateLimit-Daily-Remaining") == 0:
        return RateLimit(DAILY, asked)
    if _header_int(headers, "X-HubSpot-RateLimit-Remaining") == 0 or not search:
        return RateLimit(TEN_SECONDLY, asked or _window_s(headers))
    return RateLimit(SEARCH, asked or ONE_SECOND)


def _window_s(headers: Mapping[str, Any] | None) -> float:
    interval = _header_int(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
    return interval / 1000 if interval else TEN_SECONDS


def _retry_after(headers: Mapping[str, Any] | None) -> float | None:
    value = _header(headers, "Retry-After")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds > 0 else None


def _header_int(headers: Mapping[str, Any] | None, name: str) -> int | None:
    value = _header(headers, name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """A header by name, whatever its case (the SDK's dicts and ``requests`` differ)."""
    if not headers:
        return None
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if str(k).lower() == wanted), None)
    return None if value is None else str(value).strip()
