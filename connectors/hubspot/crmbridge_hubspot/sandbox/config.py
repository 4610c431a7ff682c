"""The sandbox's knobs: tokens and scopes, rate limits, faults, webhooks.

One mutable :class:`SandboxConfig` is shared by the running app; the admin endpoint
``PATCH /_sandbox/config`` changes it at runtime through :meth:`SandboxConfig.update`,
which validates every key first and applies all or nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

DEFAULT_TOKEN = "sandbox-token"
DEFAULT_APP_SECRET = "sandbox-secret"
#: The OAuth app installed in the sandbox (see :mod:`crmbridge_hubspot.sandbox.oauth`).
DEFAULT_CLIENT_ID = "sandbox-client-id"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
DEFAULT_REFRESH_TOKEN = "sandbox-refresh-token"

#: Scopes a full-access sandbox token holds (what ``access-token-info`` reports).
ALL_SCOPES = (
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    "crm.objects.owners.read",
    "crm.lists.read",
    "crm.lists.write",
    "automation.sequences.read",
    "automation.sequences.enrollments.write",
)


def _default_tokens() -> dict[str, frozenset[str] | None]:
    return {DEFAULT_TOKEN: None}


def _default_refresh_tokens() -> dict[str, frozenset[str] | None]:
    return {DEFAULT_REFRESH_TOKEN: None}


@dataclass
class SandboxConfig:
    """Everything about the sandbox that is not CRM data.

    ``tokens`` maps each accepted private-app token to its scopes (``None``: every
    scope); ``refresh_tokens`` does the same for OAuth installs, whose access tokens
    expire after ``access_token_ttl_s`` seconds.
    Rate limits follow a HubSpot Professional private app by default (190 per 10 s,
    650,000 a day, searches 5 per second).
    """

    tokens: dict[str, frozenset[str] | None] = field(default_factory=_default_tokens)
    refresh_tokens: dict[str, frozenset[str] | None] = field(
        default_factory=_default_refresh_tokens
    )
    oauth_client_id: str = DEFAULT_CLIENT_ID
    oauth_client_secret: str = DEFAULT_CLIENT_SECRET
    access_token_ttl_s: int = 1800
    #: An OAuth app's 10-second limit in each account it is installed in.
    oauth_rate_limit_max: int = 100
    app_secret: str = DEFAULT_APP_SECRET
    portal_id: int = 4_200_017
    app_id: int = 3_100_042
    rate_limit_max: int = 190
    rate_limit_interval_ms: int = 10_000
    daily_limit: int = 650_000
    search_per_second: int = 5
    #: 429-rejected requests still occupy the rolling window (see ratelimit.py).
    count_rejected: bool = True
    fault_rate: float = 0.0
    fault_statuses: tuple[int, ...] = (500, 502, 503)
    fault_seed: int = 0
    #: Path prefixes faults and stalls apply to (none: every API path).
    fault_paths: tuple[str, ...] = ()
    #: Statuses the next requests (on ``fault_paths``) get, in order, before any draw.
    fault_next: tuple[int, ...] = ()
    #: ``Retry-After`` seconds of an injected 477 (HubSpot: up to a day).
    fault_retry_after_s: int = 30
    #: Share of requests (on ``fault_paths``) held without an answer for ``stall_s``.
    stall_rate: float = 0.0
    stall_s: float = 300.0
    #: Fail *after* the handler ran: the write is applied but the client sees a 5xx.
    fault_after_handler: bool = False
    #: The next this many batch-update answers each leave out their last record: it is
    #: written, yet named neither in ``results`` nor in ``errors`` (counts down).
    batch_drop_next: int = 0
    latency_ms: int = 0
    #: Search shows each change this long after it is made (ms on the sandbox's clock):
    #: drawn per change, uniform in [min, max] (fixed when equal); 0 and 0 turn it off.
    index_lag_min_ms: int = 0
    index_lag_max_ms: int = 0
    index_lag_seed: int = 0
    lifecycle_forward_only: bool = True
    webhook_url: str | None = None
    webhook_subscriptions: tuple[str, ...] = (
        "contact.creation",
        "contact.propertyChange",
        "contact.deletion",
        "contact.merge",
    )
    #: Properties whose changes are delivered; ``None`` means every property.
    webhook_properties: frozenset[str] | None = None
    webhook_max_attempts: int = 4
    webhook_retry_delay_s: float = 0.5
    webhook_batch_window_s: float = 0.05
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def scopes_of(self, token: str) -> frozenset[str] | None:
        """The token's scopes (``None`` means all); KeyError when unknown."""
        with self._lock:
            return self.tokens[token]

    def knows(self, token: str) -> bool:
        """Whether ``token`` is an accepted bearer token."""
        with self._lock:
            return token in self.tokens

    def refresh_scopes(self, refresh_token: str) -> frozenset[str] | None:
        """The scopes an OAuth refresh token grants (``None``: all); KeyError when unknown."""
        with self._lock:
            return self.refresh_tokens[refresh_token]

    def revoke_refresh_token(self, refresh_token: str) -> bool:
        """Forget an OAuth refresh token; False when it was unknown."""
        with self._lock:
            if refresh_token not in self.refresh_tokens:
                return False
            del self.refresh_tokens[refresh_token]
            return True

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply JSON-ish changes (lists become tuples/sets); ValueError lists bad keys."""
        converted: dict[str, Any] = {}
        problems: list[str] = []
        for key, value in changes.items():
            try:
                converted[key] = _convert(key, value)
            except (TypeError, ValueError) as exc:
                problems.append(f"{key}: {exc}")
        low = converted.get("index_lag_min_ms", self.index_lag_min_ms)
        high = converted.get("index_lag_max_ms", self.index_lag_max_ms)
        if not problems and low > high:
            problems.append(f"index_lag_max_ms: must be at least index_lag_min_ms ({low})")
        if problems:
            raise ValueError("; ".join(problems))
        with self._lock:
            for key, value in converted.items():
                setattr(self, key, value)

    def to_json(self) -> dict[str, Any]:
        """The settings as JSON (tokens shown by prefix only)."""
        out: dict[str, Any] = {}
        for item in fields(self):
            if item.name.startswith("_"):
                continue
            value = getattr(self, item.name)
            if item.name in ("tokens", "refresh_tokens"):
                value = {_mask(t): (sorted(s) if s is not None else None) for t, s in value.items()}
            elif item.name in ("app_secret", "oauth_client_secret"):
                value = _mask(value)
            elif isinstance(value, frozenset):
                value = sorted(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[item.name] = value
        return out


def _mask(secret: str) -> str:
    return secret[:4] + "…" if len(secret) > 4 else "…"


_INTS = {
    "portal_id",
    "app_id",
    "rate_limit_max",
    "oauth_rate_limit_max",
    "rate_limit_interval_ms",
    "daily_limit",
    "search_per_second",
    "fault_seed",
    "fault_retry_after_s",
    "latency_ms",
    "index_lag_min_ms",
    "index_lag_max_ms",
    "index_lag_seed",
    "webhook_max_attempts",
    "batch_drop_next",
}
_STRINGS = {"app_secret", "oauth_client_id", "oauth_client_secret"}
_FLOATS = {"fault_rate", "stall_rate", "stall_s", "webhook_retry_delay_s", "webhook_batch_window_s"}
_BOOLS = {"count_rejected", "fault_after_handler", "lifecycle_forward_only"}


def _convert(key: str, value: Any) -> Any:
    if key in _INTS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError("must be a non-negative integer")
        return value
    if key in _FLOATS:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError("must be a non-negative number")
        if key in ("fault_rate", "stall_rate") and value > 1:
            raise ValueError("must be between 0 and 1")
        return float(value)
    if key in _BOOLS:
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if key == "access_token_ttl_s":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError("must be a whole number of seconds, at least 1")
        return value
    if key in _STRINGS:
        if not isinstance(value, str) or not value:
            raise ValueError("must be a non-empty string")
        return value
    if key == "webhook_url":
        if value is not None and not (isinstance(value, str) and value.startswith("http")):
            raise ValueError("must be an http(s) URL or null")
        return value
    if key == "fault_statuses":
        if not isinstance(value, list) or not all(isinstance(v, int) for v in value) or not value:
            raise ValueError("must be a non-empty list of status codes")
        return tuple(value)
    if key == "fault_next":
        if not isinstance(value, list) or not all(_error_status(v) for v in value):
            raise ValueError("must be a list of error statuses (400-599)")
        return tuple(value)
    if key == "fault_paths":
        if not isinstance(value, list) or not all(
            isinstance(v, str) and v.startswith("/") for v in value
        ):
            raise ValueError('must be a list of path prefixes, e.g. ["/crm/v3/owners"]')
        return tuple(value)
    if key == "webhook_subscriptions":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("must be a list of subscription types")
        return tuple(value)
    if key == "webhook_properties":
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("must be a list of property names or null")
        return frozenset(value)
    if key in ("tokens", "refresh_tokens"):
        if not isinstance(value, dict):
            raise ValueError("must map token to a list of scopes or null")
        tokens: dict[str, frozenset[str] | None] = {}
        for token, scopes in value.items():
            if scopes is not None and not isinstance(scopes, list):
                raise ValueError(f"scopes of {_mask(str(token))} must be a list or null")
            tokens[str(token)] = None if scopes is None else frozenset(map(str, scopes))
        return tokens
    raise ValueError("unknown setting")


def _error_status(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 400 <= value <= 599
